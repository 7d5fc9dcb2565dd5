from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.demo.webfixture import FixtureServer
from ingest.fetch.client import Fetcher, is_public_address, parse_retry_after
from ingest.fetch.decoding import PIECE, DecodingError, decode_stream, decoders_for
from ingest.model.errors import (
    BlockedAddress,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    ResponseTooLarge,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
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


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::",  # 6to4 around 127.0.0.1
        "2002:a9fe:a9fe::",  # 6to4 around the metadata address
        "64:ff9b::127.0.0.1",  # NAT64 around loopback
        "64:ff9b::10.0.0.1",
        "64:ff9b:1::1",  # local-use NAT64
        "::127.0.0.1",  # IPv4-compatible
        "::ffff:0:127.0.0.1",  # IPv4-translated
        "::ffff:10.0.0.1",
        "fec0::1",  # site-local
        "ff02::1",
        "224.0.0.1",
        "255.255.255.255",
        "192.0.0.8",
        "198.18.0.1",
        "2001:db8::1",
        "fe80::1%eth0",
        "not an address",
    ],
)
def test_more_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["2002:5db8:d822::1", "64:ff9b::93.184.216.34", "8.8.8.8"])
def test_public_addresses_inside_ipv6_forms(address: str) -> None:
    assert is_public_address(address)


@pytest.mark.parametrize(
    "encoding", ["gzip", "deflate", "deflate-raw", "br", "gzip,gzip", "gzip,br", "br,deflate-raw"]
)
def test_content_encodings_are_decoded(web: FixtureServer, fetcher: Fetcher, encoding: str) -> None:
    result = fetcher.fetch(f"{web.base_url}/bad/encoded?enc={encoding}")
    assert result.body == (DATA / "site" / "feed.xml").read_bytes()


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/bad/corrupt-gzip", "cannot decode"), ("/bad/unknown-encoding", "unsupported")],
)
def test_undecodable_bodies(web: FixtureServer, fetcher: Fetcher, path: str, reason: str) -> None:
    with pytest.raises(FetchError, match=reason):
        fetcher.fetch(web.base_url + path)


def test_decoders_hand_out_bounded_pieces() -> None:
    bomb = zlib.compress(bytes(50_000_000), 9)
    pieces = decode_stream([bomb], decoders_for("deflate"))
    assert max(len(next(pieces)) for _ in range(100)) <= PIECE
    with pytest.raises(DecodingError, match="nested"):
        decoders_for("gzip, gzip, gzip, gzip, gzip")


def test_name_resolution_counts_against_the_deadline() -> None:
    def slow_dns(host: str, port: int) -> list[str]:
        time.sleep(5)
        return ["93.184.216.34"]

    with Fetcher("t", timeout_s=1, max_bytes=10_000, resolver=slow_dns) as guarded:
        started = time.monotonic()
        with pytest.raises(FetchTimeout):
            guarded.fetch("http://slow-dns.test/feed.xml")
        assert time.monotonic() - started < 2


def test_allow_private_addresses_turns_the_policy_off(web: FixtureServer) -> None:
    with Fetcher(
        "t", 2, 100_000, allow_private_addresses=True, address_allowed=lambda ip, port: False
    ) as open_fetcher:
        assert open_fetcher.fetch(f"{web.base_url}/site/feed.xml").status == 200
