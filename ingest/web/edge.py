"""What every HTTP request passes on its way in and out: one access-log line per request
(fixed keys: ``method``, ``path``, ``status``, ``ms``, ``client``) on the
``framewatch.access`` logger, and FastAPI's validation errors as one sentence for the
``{"error": ..., "detail": ...}`` envelope."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

ACCESS_LOGGER = "framewatch.access"
access_log = logging.getLogger(ACCESS_LOGGER)
Middleware = Callable[[Request], Awaitable[Response]]


def validation_detail(errors: Sequence[Any]) -> str:
    """FastAPI's validation errors as one sentence: ``sort (query): Input should be ...``."""
    parts = []
    for error in errors:
        where = [str(part) for part in error.get("loc", ())]
        name = ".".join(where[1:]) or "body"
        place = f" ({where[0]})" if where and where[0] in ("query", "path") else ""
        got = f", got {error['input']!r}" if "input" in error and error["input"] is not None else ""
        parts.append(f"{name}{place}: {error.get('msg', 'invalid')}{got}")
    return "; ".join(parts) or "invalid request"


def install_access_log(app: FastAPI) -> None:
    """One line per request, fixed keys: method, path, status, ms, client."""

    @app.middleware("http")
    async def log_request(request: Request, call_next: Middleware) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            client = request.client.host if request.client else "-"
            elapsed = (time.perf_counter() - started) * 1000
            access_log.info("method=%s path=%s status=%d ms=%.1f client=%s",
                            request.method, _quoted(path), status, elapsed, client)  # fmt: skip


def _quoted(text: str) -> str:
    """A log value: as is when it has no space or quote, else JSON-quoted."""
    return text if text and not any(c in text for c in ' "\\') else json.dumps(text)
