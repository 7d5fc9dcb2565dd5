from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from ingest.errors import (
    BlockedAddress,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    ResponseTooLarge,
)
from ingest.fetch import Fetcher, is_public_address, parse_retry_after
from ingest.webfixture import FixtureServer


@pytest.fixture
def fetcher() -> Fetcher:
    with Fetcher(
        "framewatch-test", timeout_s=3, max_bytes=1_000_000, allow_private_addresses=True
    ) as f:
        yield f


def test_fetch_ok_with_validators(web: FixtureServer, fetcher: Fetcher) -> None:
    first = fetcher.fetch(f"{web.base_url}/site/feed.xml")
    assert first.status == 200 and first.etag and first.last_modified
    assert web.base_url.encode() in first.body  # {{BASE}} replaced
    again = fetcher.fetch(f"{web.base_url}/site/feed.xml", etag=first.etag)
    assert again.not_modified and again.body == b""


def test_redirect_chain_is_followed(web: FixtureServer, fetcher: Fetcher) -> None:
    result = fetcher.fetch(f"{web.base_url}/bad/hop1")
    assert result.final_url == f"{web.base_url}/site/feed.xml"


def test_redirect_loop_is_an_error(web: FixtureServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="more than 10 redirects"):
        fetcher.fetch(f"{web.base_url}/bad/loop")


@pytest.mark.parametrize(("path", "status"), [("/nope.xml", 404), ("/bad/500", 500)])
def test_http_errors(web: FixtureServer, fetcher: Fetcher, path: str, status: int) -> None:
    with pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(web.base_url + path)
    assert info.value.status == status


def test_retry_after_is_read(web: FixtureServer, fetcher: Fetcher) -> None:
    with pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(f"{web.base_url}/bad/429")
    assert info.value.status == 429 and info.value.retry_after_s == 3600


def test_huge_body_stops_at_cap(web: FixtureServer, fetcher: Fetcher) -> None:
    with pytest.raises(ResponseTooLarge):
        fetcher.fetch(f"{web.base_url}/bad/huge")


def test_gzip_bomb_counts_decompressed_bytes(web: FixtureServer, fetcher: Fetcher) -> None:
    with pytest.raises(ResponseTooLarge):
        fetcher.fetch(f"{web.base_url}/bad/gzip-bomb")


@pytest.mark.parametrize("path", ["/bad/slow", "/bad/hang"])
def test_total_deadline(web: FixtureServer, path: str) -> None:
    with Fetcher("t", timeout_s=1.5, max_bytes=10_000, allow_private_addresses=True) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchTimeout):
            fetcher.fetch(web.base_url + path)
        assert time.monotonic() - started < 4


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "172.16.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "::ffff:127.0.0.1",
        "fe80::1",
        "fc00::1",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)


def test_public_address() -> None:
    assert is_public_address("93.184.216.34") and is_public_address("2606:2800:220:1::")


def test_guard_refuses_loopback(web: FixtureServer) -> None:
    with Fetcher("t", timeout_s=2, max_bytes=10_000) as guarded:
        for url in (
            f"{web.base_url}/site/feed.xml",
            web.base_url.replace("127.0.0.1", "localhost"),
        ):
            with pytest.raises(BlockedAddress):
                guarded.fetch(url + "/site/feed.xml")
    assert not web.requests_for("/site/feed.xml/site/feed.xml")


def test_only_http_schemes() -> None:
    with Fetcher("t", timeout_s=2, max_bytes=10_000) as guarded, pytest.raises(BlockedAddress):
        guarded.fetch("file:///etc/passwd")


def test_parse_retry_after() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Wed, 01 Jan 2025 00:10:00 GMT", now) == 600
    assert parse_retry_after("soon", now) is None
