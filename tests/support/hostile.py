"""Hostile inputs and the instruments that watch them (tests, ``bench.stress.hardening``).

- address forms that all name a local or private address, in many spellings;
- a canary: a plain socket server on loopback that counts the connections it accepts;
- a socket spy that records every connection the fetcher tries to open and lets only
  loopback ones through, so even a broken guard could never send a packet elsewhere;
- compression bombs and XML entity attacks built in milliseconds, and the misbehaving
  server routes (:data:`ROUTES`) that serve them to :class:`ingest.demo.webfixture.FixtureServer`;
- a fetch probe that runs one fetch in a fresh interpreter and reports its peak memory.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import brotli

from ingest.fetch import netguard

# Spellings that reach this machine's loopback if nothing refuses them: with the guard off,
# each of these would connect to the canary ({port} is the canary's port).
LOOPBACK_FORMS = (
    "127.0.0.1",
    "127.1",
    "127.0.1",
    "2130706433",
    "0x7f000001",
    "0x7f.1",
    "017700000001",
    "0177.0.0.1",
    "127。0。0。1",
    "0.0.0.0",
    "0",
    "localhost",
    "LOCALHOST",
    "user:pass@127.0.0.1",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "loopback.test",  # a DNS name answering 127.0.0.1 (through the resolver hook)
    "rebind.test",  # a DNS name answering a public address and ::1
)
# Spellings of private, link-local, metadata, multicast and embedded-IPv4 addresses that
# do not lead to loopback: the socket spy (never the network) sees any attempt.
OTHER_FORMS = (
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.169.254",
    "0xa9fea9fe",
    "198.18.0.1",
    "192.0.0.8",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "[fe80::1]",
    "[fe80::1%25lo]",
    "[fd00::1]",
    "[fec0::1]",
    "[ff02::1]",
    "[::ffff:10.0.0.1]",
    "[::ffff:0:127.0.0.1]",
    "[::127.0.0.1]",
    "[64:ff9b::127.0.0.1]",
    "[64:ff9b::a9fe:a9fe]",
    "[2002:7f00:1::]",
    "[2002:a9fe:a9fe::]",
    "[2001:db8::1]",
    "metadata.test",  # a DNS name answering 169.254.169.254 (through the resolver hook)
)
SCHEME_FORMS = (
    "file:///etc/passwd",
    "ftp://127.0.0.1/",
    "gopher://127.0.0.1:70/",
    "data:text/plain,hi",
    "javascript:alert(1)",
)
TEST_NAMES = {
    "loopback.test": ["127.0.0.1"],
    "rebind.test": ["93.184.216.34", "::1"],
    "metadata.test": ["169.254.169.254"],
}


def test_resolver(host: str, port: int) -> list[str]:
    """The system resolver, plus the made-up names above (no DNS server is needed)."""
    if host in TEST_NAMES:
        return TEST_NAMES[host]
    return netguard.system_resolver(host, port)


def form_url(form: str, port: int, path: str = "/feed.xml") -> str:
    return f"http://{form}:{port}{path}"


class Canary:
    """Listens on 127.0.0.1 and ::1 (one port) and counts the connections it accepts."""

    def __init__(self) -> None:
        self.accepted = 0
        self._lock = threading.Lock()
        self._socks = [socket.create_server(("127.0.0.1", 0))]
        self.port = self._socks[0].getsockname()[1]
        with suppress(OSError):  # without IPv6 loopback, IPv6 forms are refused, not counted
            self._socks.append(socket.create_server(("::1", self.port), family=socket.AF_INET6))
        self._stop = threading.Event()

    def __enter__(self) -> Canary:
        for sock in self._socks:
            sock.settimeout(0.1)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for sock in self._socks:
            sock.close()

    def settled(self, quiet_s: float = 0.3) -> int:
        """The count once no connection has arrived for ``quiet_s`` (the backlog drained)."""
        seen = -1
        while seen != self.accepted:
            seen = self.accepted
            time.sleep(quiet_s)
        return seen

    def _serve(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.accepted += 1
            conn.close()


@dataclass
class SocketSpy:
    """Every address the fetcher tried to connect to; only loopback ones were let through."""

    attempts: list[tuple[str, int]] = field(default_factory=list)

    def to_port(self, port: int) -> int:
        return sum(1 for _, p in self.attempts if p == port)

    def outside_loopback(self) -> int:
        return sum(1 for ip, _ in self.attempts if not ipaddress.ip_address(ip).is_loopback)


@contextmanager
def socket_spy() -> Iterator[SocketSpy]:
    spy = SocketSpy()
    real = netguard.open_socket

    def watched(ip: Any, port: int, timeout: float | None, local: str | None) -> socket.socket:
        spy.attempts.append((str(ip), port))
        if not ip.is_loopback:
            raise ConnectionRefusedError("socket spy: only loopback is reachable here")
        return real(ip, port, timeout, local)

    netguard.open_socket = watched  # type: ignore[assignment]
    try:
        yield spy
    finally:
        netguard.open_socket = real


@cache
def gzip_bomb(inflated: int = 10 * 2**30, block: int = 2**20) -> bytes:
    """A gzip body of about inflated/1030 bytes that inflates to ``inflated`` zero bytes.

    Identical fully-flushed deflate blocks are repeated, so it builds in milliseconds. The
    trailer's checksum is left zero: a reader that honours its cap never gets that far.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(block)
    head = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    piece = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush()  # empty last block
    trailer = (0).to_bytes(4, "little") + (inflated % 2**32).to_bytes(4, "little")
    return head + piece * (inflated // block - 1) + final + trailer


@cache
def brotli_bomb(inflated: int = 2 * 10**8) -> bytes:
    return bytes(brotli.compress(bytes(inflated), quality=5))


@cache
def nested_gzip_bomb(inflated: int = 10 * 2**30) -> bytes:
    """``Content-Encoding: gzip, gzip``: a gzip bomb, gzipped again."""
    return zlib.compress(gzip_bomb(inflated), 9, wbits=16 + zlib.MAX_WBITS)


def xml_attacks(callback_url: str) -> dict[str, bytes]:
    """Entity attacks as feeds; ``callback_url`` is where an external entity would point."""
    lols = "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ).replace("&lol0;", "&lol;")
    rss = '<rss version="2.0"><channel><title>t</title><item><title>{}</title>'
    rss += "<link>http://example.org/1</link></item></channel></rss>"
    laughs = f'<!DOCTYPE r [<!ENTITY lol "lol">{lols}]>{rss.format("&lol9;")}'
    texts = {
        "billion laughs": laughs,
        "quadratic blow-up": f'<!DOCTYPE r [<!ENTITY a "{"A" * 900}">]>'
        + rss.format("&a;" * 200_000),
        "external entity (file)": '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + rss.format("&x;"),
        "external entity (http)": f'<!DOCTYPE r [<!ENTITY x SYSTEM "{callback_url}">]>'
        + rss.format("&x;"),
        "parameter entity (http DTD)": f'<!DOCTYPE r [<!ENTITY % d SYSTEM "{callback_url}"> %d;]>'
        + rss.format("x"),
    }
    bodies = {name: text.encode("utf-8") for name, text in texts.items()}
    bodies["billion laughs in UTF-16"] = laughs.encode("utf-16")
    bodies["external entity in UTF-7"] = (
        b'<?xml version="1.0" encoding="utf-7"?><!DOCTYPE r [+ADw-!ENTITY x SYSTEM "'
        + callback_url.encode()
        + b'">]>'
        + rss.format("&x;").encode()
    )
    return bodies


def query_value(h: BaseHTTPRequestHandler, key: str) -> str:
    return parse_qs(urlsplit(h.path).query).get(key, [""])[0]


def _redirect_to(h: BaseHTTPRequestHandler) -> None:
    """``?to=URL``: a redirect to any URL, for the SSRF guard's redirect hops.

    A non-ASCII target goes out as raw UTF-8 bytes, as careless servers send it."""
    location = query_value(h, "to").encode().decode("latin-1")
    h.send_plain(302, b"", {"Location": location})  # type: ignore[attr-defined]


def _trickle(head: bytes, body: bytes, every_s: float) -> Callable[[BaseHTTPRequestHandler], None]:
    """Sends ``head`` at once, then ``body`` one byte every ``every_s`` seconds."""

    def route(h: BaseHTTPRequestHandler) -> None:
        try:
            h.wfile.write(head)
            for byte in body:
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
                time.sleep(every_s)
        except OSError:
            pass
        h.close_connection = True

    return route


def _silent(h: BaseHTTPRequestHandler) -> None:
    time.sleep(60)  # accepts the connection, never answers
    h.close_connection = True


def _encoded_route(
    builder: Callable[[], bytes], encoding: str
) -> Callable[[BaseHTTPRequestHandler], None]:
    def route(h: BaseHTTPRequestHandler) -> None:
        headers = {"Content-Encoding": encoding}
        h.send_plain(200, builder(), headers, "application/rss+xml")  # type: ignore[attr-defined]

    return route


_HEADERS_200 = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 100\r\n\r\n"
ROUTES: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {
    "/bad/redirect": _redirect_to,
    "/bad/slow-headers": _trickle(b"", b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 300, 0.2),
    "/bad/trickle": _trickle(_HEADERS_200, b" " * 100, 1.0),  # a body at 1 byte/s
    "/bad/silent": _silent,
    "/bad/gzip-bomb-10g": _encoded_route(gzip_bomb, "gzip"),
    "/bad/brotli-bomb": _encoded_route(brotli_bomb, "br"),
    "/bad/nested-bomb": _encoded_route(nested_gzip_bomb, "gzip, gzip"),
    "/bad/corrupt-gzip": _encoded_route(lambda: b"\x1f\x8b\x08\x00 not deflate data", "gzip"),
    "/bad/unknown-encoding": _encoded_route(lambda: b"<rss/>", "zstd"),
}


def fetch_probe(url: str, max_bytes: int, timeout_s: float = 20) -> dict[str, Any]:
    """One guarded-off fetch in a fresh interpreter: outcome, seconds and peak RSS growth."""
    args = [sys.executable, "-m", "tests.support.hostile", url, str(max_bytes), str(timeout_s)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s + 30)
    if proc.returncode != 0:
        raise RuntimeError(f"fetch probe failed: {proc.stderr[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def peak_rss_kb() -> int:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited on exec)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _probe_main(url: str, max_bytes: int, timeout_s: float) -> None:
    from ingest.fetch.client import Fetcher
    from ingest.model.errors import FetchError

    with Fetcher("probe", timeout_s, max_bytes, allow_private_addresses=True) as fetcher:
        baseline = peak_rss_kb()
        started = time.monotonic()
        outcome, size = "ok", 0
        try:
            size = len(fetcher.fetch(url).body)
        except FetchError as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        seconds = time.monotonic() - started
        peak = peak_rss_kb()
    report = {"outcome": outcome, "bytes": size, "seconds": round(seconds, 3)}
    report["rss_growth_mb"] = round((peak - baseline) / 1024, 1)
    report["peak_rss_mb"] = round(peak / 1024, 1)
    print(json.dumps(report))


if __name__ == "__main__":
    _probe_main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
