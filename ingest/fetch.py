"""HTTP fetching with hard limits: SSRF guard on the connected address, a total deadline,
a body cap counted after decompression, at most ``MAX_REDIRECTS`` hops, conditional GET.

Every fetch of framewatch's own (feeds, article pages) goes through :class:`Fetcher`.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from ingest.errors import (
    BlockedAddress,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    ResponseTooLarge,
)

MAX_REDIRECTS = 10
ALLOWED_SCHEMES = ("http", "https")
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


def is_public_address(address: str) -> bool:
    """True for globally routable unicast addresses; IPv4-mapped IPv6 is judged as IPv4."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself and connects only to public addresses.

    The check happens on the very address the socket connects to, so a DNS answer that
    changes between a check and the connect (rebinding) cannot slip through.
    """

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = [str(info[4][0]) for info in infos]
        blocked = [a for a in addresses if not is_public_address(a)]
        if blocked:
            raise BlockedAddress(host, f"refused non-public address {blocked[0]} for {host}")
        return super().connect_tcp(addresses[0], port, timeout, local_address, socket_options)


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pool._network_backend = _GuardedBackend()  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FetchResult:
    url: str
    final_url: str
    status: int
    body: bytes
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    elapsed_ms: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class Fetcher:
    """A thread-safe HTTP client with framewatch's limits. Close it when done."""

    def __init__(
        self,
        user_agent: str,
        timeout_s: float,
        max_bytes: int,
        allow_private_addresses: bool = False,
        max_connections: int = 32,
    ) -> None:
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=16)
        transport = (
            httpx.HTTPTransport(limits=limits)
            if allow_private_addresses
            else _GuardedTransport(limits=limits)
        )
        self._client = httpx.Client(
            transport=transport,
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            follow_redirects=False,
            trust_env=False,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def fetch(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = "*/*",
    ) -> FetchResult:
        """GET ``url`` following redirects; raises a FetchError subclass on failure."""
        started = time.monotonic()
        deadline = started + self.timeout_s
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            _check_scheme(current)
            outcome = self._fetch_once(url, current, headers, deadline, started)
            if isinstance(outcome, FetchResult):
                return outcome
            current = outcome
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects")

    def _fetch_once(
        self, url: str, current: str, headers: dict[str, str], deadline: float, started: float
    ) -> FetchResult | str:
        """One request: the result, or the absolute URL a redirect points to."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchTimeout(url, f"no complete answer within {self.timeout_s:g}s")
        timeout = httpx.Timeout(remaining, connect=min(remaining, 10.0))
        try:
            with self._client.stream("GET", current, headers=headers, timeout=timeout) as resp:
                if resp.status_code == 304:
                    return self._result(url, current, resp, b"", started)
                if resp.status_code in REDIRECT_CODES:
                    location = resp.headers.get("location", "")
                    if not location:
                        raise FetchError(url, f"HTTP {resp.status_code} redirect without Location")
                    return urljoin(current, location)
                if resp.status_code >= 400:
                    retry = parse_retry_after(resp.headers.get("retry-after"), datetime.now(UTC))
                    raise HTTPStatusError(url, resp.status_code, retry)
                body = self._read_capped(url, resp, deadline)
                return self._result(url, current, resp, body, started)
        except httpx.TimeoutException as exc:
            raise FetchTimeout(url, f"timed out after {self.timeout_s:g}s") from exc
        except httpx.DecodingError as exc:
            raise FetchError(url, f"cannot decode the response body ({exc})") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FetchError(url, f"{type(exc).__name__}: {exc}") from exc

    def _read_capped(self, url: str, resp: httpx.Response, deadline: float) -> bytes:
        declared = resp.headers.get("content-length", "")
        uncompressed = "content-encoding" not in resp.headers
        if uncompressed and declared.isdigit() and int(declared) > self.max_bytes:
            raise ResponseTooLarge(url, f"body of {declared} bytes exceeds {self.max_bytes}")
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_bytes():  # decoded bytes: the cap counts what we would hold
            size += len(chunk)
            if size > self.max_bytes:
                raise ResponseTooLarge(url, f"body exceeds {self.max_bytes} bytes")
            if time.monotonic() > deadline:
                raise FetchTimeout(url, f"body not complete within {self.timeout_s:g}s")
            chunks.append(chunk)
        return b"".join(chunks)

    def _result(
        self, url: str, current: str, resp: httpx.Response, body: bytes, started: float
    ) -> FetchResult:
        return FetchResult(
            url=url,
            final_url=current,
            status=resp.status_code,
            body=body,
            content_type=resp.headers.get("content-type", ""),
            etag=resp.headers.get("etag"),
            last_modified=resp.headers.get("last-modified"),
            elapsed_ms=int((time.monotonic() - started) * 1000),
            headers={k.lower(): v for k, v in resp.headers.items()},
        )


def _check_scheme(url: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise BlockedAddress(url, f"scheme {scheme or '(none)'!r} is not allowed")
