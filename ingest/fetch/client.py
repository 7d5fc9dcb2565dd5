"""HTTP fetching with hard limits: SSRF guard on the connected address, a total deadline,
a body cap counted after decompression, at most ``MAX_REDIRECTS`` hops, conditional GET.

Every fetch of framewatch's own (feeds, article pages, every redirect hop) goes through
:class:`Fetcher`, whose connections all come from :class:`ingest.fetch.netguard.GuardedBackend`:
the address policy is judged on the very address a socket connects to, and the total
deadline holds for every read and write, headers included. Bodies are read raw and
decoded here (:mod:`ingest.fetch.decoding`), a bounded piece at a time, so a compression bomb
stops at ``max_bytes`` without ever being inflated in memory.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from ingest.fetch.decoding import ACCEPT_ENCODING, DecodingError, decode_stream, decoders_for
from ingest.fetch.netguard import (
    AddressPolicy,
    GuardedBackend,
    Resolver,
    allow_all,
    fetch_deadline,
    is_public_address,
    public_only,
    system_resolver,
)
from ingest.model.errors import (
    BlockedAddress,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    ResponseTooLarge,
)

__all__ = ["MAX_REDIRECTS", "FetchResult", "Fetcher", "is_public_address", "parse_retry_after"]

MAX_REDIRECTS = 10
ALLOWED_SCHEMES = ("http", "https")
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, backend: GuardedBackend, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pool._network_backend = backend  # type: ignore[attr-defined]


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
    """A thread-safe HTTP client with framewatch's limits. Close it when done.

    ``allow_private_addresses=True`` turns the SSRF guard off. ``address_allowed`` replaces
    the guard's policy (a test can admit exactly its fixture server's port) and ``resolver``
    the system resolver; both are for tests and tools, the defaults are what runs in service.
    """

    def __init__(
        self,
        user_agent: str,
        timeout_s: float,
        max_bytes: int,
        allow_private_addresses: bool = False,
        max_connections: int = 32,
        *,
        address_allowed: AddressPolicy | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        policy = allow_all if allow_private_addresses else address_allowed or public_only
        self._backend = GuardedBackend(policy, resolver or system_resolver)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=16)
        self._transport = _GuardedTransport(self._backend, limits=limits)
        self._client = httpx.Client(  # builds requests; they are sent on the transport
            transport=self._transport,
            headers={"User-Agent": user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            follow_redirects=False,
            trust_env=False,
        )

    def close(self) -> None:
        self._client.close()
        self._backend.close()

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
        token = fetch_deadline.set(deadline)
        try:
            current = url
            for _hop in range(MAX_REDIRECTS + 1):
                _check_scheme(url, current)
                outcome = self._fetch_once(url, current, headers, deadline, started)
                if isinstance(outcome, FetchResult):
                    return outcome
                current = outcome
        finally:
            fetch_deadline.reset(token)
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
            request = self._client.build_request("GET", current, headers=headers, timeout=timeout)
            response = self._transport.handle_request(request)  # no redirect machinery
            response.request = request
            try:
                return self._answer(url, current, response, deadline, started)
            finally:
                response.close()
        except BlockedAddress as exc:
            hop = "" if current == url else f" (redirected to {current})"
            reason = str(exc).removesuffix(f": {exc.url}")
            raise BlockedAddress(url, f"{reason}{hop}") from exc
        except httpx.TimeoutException as exc:
            raise FetchTimeout(url, f"timed out after {self.timeout_s:g}s") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FetchError(url, f"{type(exc).__name__}: {exc}") from exc

    def _answer(
        self, url: str, current: str, resp: httpx.Response, deadline: float, started: float
    ) -> FetchResult | str:
        if resp.status_code == 304:
            return self._result(url, current, resp, b"", started)
        if resp.status_code in REDIRECT_CODES:
            location = resp.headers.get("location", "")
            if not location:
                raise FetchError(url, f"HTTP {resp.status_code} redirect without Location")
            try:
                return urljoin(current, location.strip())
            except ValueError as exc:
                raise FetchError(url, f"unusable redirect Location {location[:200]!r}") from exc
        if resp.status_code >= 400:
            retry = parse_retry_after(resp.headers.get("retry-after"), datetime.now(UTC))
            raise HTTPStatusError(url, resp.status_code, retry)
        body = self._read_capped(url, resp, deadline)
        return self._result(url, current, resp, body, started)

    def _read_capped(self, url: str, resp: httpx.Response, deadline: float) -> bytes:
        """The decoded body, read raw and decoded here so the cap also bounds memory."""
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise ResponseTooLarge(url, f"body of {declared} bytes exceeds {self.max_bytes}")
        try:
            decoders = decoders_for(resp.headers.get("content-encoding", ""))
            chunks: list[bytes] = []
            size = 0
            for piece in decode_stream(self._raw(url, resp, deadline), decoders):
                size += len(piece)  # decoded bytes: the cap counts what we would hold
                if size > self.max_bytes:
                    raise ResponseTooLarge(url, f"body exceeds {self.max_bytes} bytes decoded")
                chunks.append(piece)
        except DecodingError as exc:
            raise FetchError(url, f"cannot decode the response body ({exc})") from exc
        return b"".join(chunks)

    def _raw(self, url: str, resp: httpx.Response, deadline: float) -> Iterator[bytes]:
        """Network chunks as sent (still encoded), within the deadline and the byte cap."""
        size = 0
        for chunk in resp.iter_raw():
            size += len(chunk)
            if size > self.max_bytes:
                raise ResponseTooLarge(url, f"body exceeds {self.max_bytes} bytes as sent")
            if time.monotonic() > deadline:
                raise FetchTimeout(url, f"body not complete within {self.timeout_s:g}s")
            yield chunk

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


def _check_scheme(url: str, current: str) -> None:
    try:
        scheme = urlsplit(current).scheme.lower()
    except ValueError as exc:
        raise FetchError(url, f"unusable URL {current[:200]!r}") from exc
    if scheme not in ALLOWED_SCHEMES:
        hop = "" if current == url else f" (redirected to {current[:200]})"
        raise BlockedAddress(url, f"scheme {scheme or '(none)'!r} is not allowed{hop}")
