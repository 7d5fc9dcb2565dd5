"""The API under load: a connection pool sized and timed so that a burst of slow requests
is answered 503 with ``Retry-After`` rather than queueing without end, every query cut
off at a time limit, and ``/healthz`` on a path of its own (its own connection, thread
and time limit), so it answers while the pool is exhausted.

With uvicorn's default 40 worker threads, at most ``POOL_SIZE + POOL_OVERFLOW`` requests
hold a connection; the others wait ``POOL_TIMEOUT_S`` for one, then get 503. A query
running longer than ``QUERY_TIMEOUT_S`` is cut off (503 as well).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy import Engine
from sqlalchemy.pool import NullPool

from storage import migrate
from storage.db import make_engine
from storage.failures import as_storage_error

log = logging.getLogger(__name__)

POOL_SIZE = 8
POOL_OVERFLOW = 4
POOL_TIMEOUT_S = 3.0
QUERY_TIMEOUT_S = 15.0
RETRY_AFTER_S = 5
HEALTH_TIMEOUT_S = 2.0
HEALTH_CACHE_S = 1.0


def api_engine(url: str) -> Engine:
    """The API's read-only engine: a bounded pool and a time limit on every query."""
    pool: dict[str, Any] = {}
    if ":memory:" not in url and "mode=memory" not in url:
        pool = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW,
                "pool_timeout": POOL_TIMEOUT_S}  # fmt: skip
    return make_engine(url, read_only=True, statement_timeout_s=QUERY_TIMEOUT_S, **pool)


class HealthCheck:
    """Asks the store for its schema revision on a connection of its own (no pool), in a
    thread of its own, within ``HEALTH_TIMEOUT_S``; the answer is kept for a second."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url.render_as_string(hide_password=False)
        extra: dict[str, Any] = {"poolclass": NullPool}
        if engine.dialect.name == "postgresql":
            extra["connect_args"] = {"connect_timeout": max(1, int(HEALTH_TIMEOUT_S))}
        self.engine = make_engine(url, read_only=True, statement_timeout_s=HEALTH_TIMEOUT_S,
                                  **extra)  # fmt: skip
        self._limiter: anyio.CapacityLimiter | None = None
        self._answer: tuple[float, str | None, str | None] = (0.0, None, None)

    async def check(self) -> tuple[str | None, str | None]:
        """(schema revision, None) when the store answers, else (None, why not)."""
        at, revision, problem = self._answer
        if time.monotonic() - at < HEALTH_CACHE_S:
            return revision, problem
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(1)
        revision, problem = None, f"the database did not answer within {HEALTH_TIMEOUT_S:g} s"
        with anyio.move_on_after(HEALTH_TIMEOUT_S + 1):
            revision, problem = await anyio.to_thread.run_sync(
                self._ask, limiter=self._limiter, abandon_on_cancel=True
            )
        self._answer = (time.monotonic(), revision, problem)
        return revision, problem

    def _ask(self) -> tuple[str | None, str | None]:
        # The driver's message names the database's host: /healthz needs no token, so
        # it says no more than that the database does not answer.
        try:
            return migrate.current_revision(self.engine), None
        except Exception as exc:
            if as_storage_error(exc) is None:
                log.exception("/healthz: asking the database failed")
            return None, "the database does not answer"

    def close(self) -> None:
        self.engine.dispose()
