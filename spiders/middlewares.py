"""Downloader middlewares: framewatch's SSRF guard, and retries that back off.

:class:`PublicAddressMiddleware` applies the rule of :func:`ingest.fetch.client.is_public_address`
twice: before a request goes out (every address the host resolves to must be public) and
on the answer (the address Scrapy actually connected to). It runs for robots.txt and every
redirect hop too, and is off when ``fetch.allow_private_addresses`` is set.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from ingest.fetch.client import is_public_address, parse_retry_after
from spiders.reasons import BlockedAddressError

log = logging.getLogger(__name__)

# Retry-After longer than this is not waited for: the page counts as failed this run.
MAX_RETRY_WAIT_S = 120.0


class PublicAddressMiddleware:
    def __init__(self) -> None:
        self._checked: dict[tuple[str, int], str | None] = {}  # (host, port) -> refusal

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PublicAddressMiddleware:
        if crawler.settings.getbool("FRAMEWATCH_ALLOW_PRIVATE_ADDRESSES"):
            raise NotConfigured("private addresses are allowed")
        return cls()

    async def process_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (host, port)
        if key not in self._checked:
            self._checked[key] = await _refusal(host, port)
        if refusal := self._checked[key]:
            raise BlockedAddressError(f"{refusal}: {request.url}")

    def process_response(self, request: Request, response: Response) -> Response:
        address = response.ip_address
        if address is not None and not is_public_address(str(address)):
            raise BlockedAddressError(f"connected to non-public address {address}: {request.url}")
        return response


async def _refusal(host: str, port: int) -> str | None:
    """Why connecting to ``host`` is refused, or None when all its addresses are public."""
    if not host:
        return "no host"
    try:
        addresses = [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        try:
            infos = await asyncio.to_thread(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        except OSError:
            return None  # unresolvable: the download fails with its own DNS error
        addresses = [str(info[4][0]) for info in infos]
    blocked = [a for a in addresses if not is_public_address(a)]
    return f"refused non-public address {blocked[0]} for {host}" if blocked else None


def retry_delay(attempt: int, backoff_s: float, retry_after_s: float | None) -> float | None:
    """Seconds to wait before retry number ``attempt`` (1-based): exponential backoff, at
    least the server's Retry-After; None when the server asks for more than we will wait."""
    if retry_after_s is not None and retry_after_s > MAX_RETRY_WAIT_S:
        return None
    return max(backoff_s * 2 ** (attempt - 1), retry_after_s or 0.0)


def _retry_after(response: Response) -> float | None:
    value = response.headers.get("Retry-After")
    return parse_retry_after(value.decode("latin-1") if value else None, datetime.now(UTC))


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries (RETRY_TIMES, RETRY_HTTP_CODES), waiting before each one:
    FRAMEWATCH_RETRY_BACKOFF_S, doubling, and never less than a Retry-After header."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.backoff_s = settings.getfloat("FRAMEWATCH_RETRY_BACKOFF_S", 1.0)

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        retry_after = _retry_after(response)
        retrying = response.status in self.retry_http_codes and retry_after is not None
        if retrying and retry_delay(1, self.backoff_s, retry_after) is None:
            return response  # asked to come back much later: fail this run
        result = super().process_response(request, response)
        if isinstance(result, Request):
            await self._wait(result, retry_after)
        return result

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await self._wait(result, None)
        return result

    async def _wait(self, retry: Request, retry_after: float | None) -> None:
        delay = retry_delay(retry.meta.get("retry_times", 1), self.backoff_s, retry_after) or 0.0
        if delay > 0:
            log.debug("retrying in %.1fs", delay, extra={"url": retry.url})
            await asyncio.sleep(delay)
