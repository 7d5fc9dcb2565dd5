"""The hardening figures of issue 9, measured on this machine.

    python -m bench.stress.hardening [--fuzz-count 3000] [--json PATH]

1. SSRF guard: every address form (loopback, private, link-local, metadata, multicast,
   IPv6 local/mapped/NAT64/6to4, in many spellings, and DNS names answering them) and
   every non-http scheme, through each entry point: a feed URL, a redirect hop and an
   entry link during a poll. A canary on loopback counts the connections that got
   through; a socket spy counts every connection attempted anywhere else.
2. Bounds: compression bombs (bytes sent, size they inflate to, outcome, seconds, peak
   memory growth of the fetching process) and slow servers (seconds until the fetch ends).
3. XML attacks: each refused, with the time and memory the refusal took.
4. Robust parsing: the real-world corpora and a short mutation fuzz (the long run is
   ``python -m bench.stress.fuzz_feeds``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select

from bench.stress import fuzz_feeds
from ingest.config.settings import Settings, load_settings
from ingest.demo.webfixture import FixtureServer
from ingest.fetch.client import Fetcher
from ingest.fetch.netguard import IPAddress
from ingest.model.errors import FetchError, ParseError
from ingest.sources.feeds import parse_feed
from ingest.sources.poll import poll_feeds
from storage import migrate
from storage.db import make_engine, make_session_factory
from storage.models import FetchLog
from tests.support import hostile

ROOT = Path(__file__).resolve().parents[2]
FORMS = hostile.LOOPBACK_FORMS + hostile.OTHER_FORMS
Row = dict[str, Any]


def _only(server: FixtureServer) -> Callable[[IPAddress, int], bool]:
    port = int(server.base_url.rsplit(":", 1)[1])
    return lambda ip, to_port: str(ip) == "127.0.0.1" and to_port == port


def _targets(port: int) -> dict[str, str]:
    urls = {form: hostile.form_url(form, port) for form in FORMS}
    return urls | {url: url for url in hostile.SCHEME_FORMS}


def _refused(fetcher: Fetcher, urls: dict[str, str]) -> tuple[int, dict[str, int]]:
    """How many URLs were refused, by error kind."""
    refused, kinds = 0, dict[str, int]()
    for url in urls.values():
        try:
            fetcher.fetch(url)
        except FetchError as exc:
            refused += 1
            kinds[type(exc).__name__] = kinds.get(type(exc).__name__, 0) + 1
    return refused, kinds


def ssrf_direct_and_redirect(server: FixtureServer) -> list[Row]:
    rows = []
    for entry in ("feed URL", "redirect hop"):
        with hostile.Canary() as canary, hostile.socket_spy() as spy:
            urls = _targets(canary.port)
            if entry == "redirect hop":
                base = f"{server.base_url}/bad/redirect?to="
                urls = {form: base + quote(url, safe="") for form, url in urls.items()}
            policy = _only(server) if entry == "redirect hop" else None
            with Fetcher(
                "bench", 3, 100_000, address_allowed=policy, resolver=hostile.test_resolver
            ) as fetcher:
                refused, kinds = _refused(fetcher, urls)
            rows.append(_ssrf_row(entry, len(urls), refused, kinds, canary, spy))
    return rows


def _ssrf_row(
    entry: str,
    tried: int,
    refused: int,
    kinds: dict[str, int],
    canary: hostile.Canary,
    spy: hostile.SocketSpy,
) -> Row:
    return {
        "entry point": entry,
        "forms": tried,
        "refused": refused,
        "kinds": kinds,
        "canary connections": canary.settled(),
        "other connection attempts": spy.outside_loopback() + spy.to_port(canary.port),
    }


def ssrf_entry_links(server: FixtureServer, workdir: Path) -> Row:
    """Entry links pointing at every form, fetched by a real poll (fetch_articles on)."""
    with hostile.Canary() as canary, hostile.socket_spy() as spy:
        items = "".join(
            f"<item><title>t{i}</title><link>{hostile.form_url(form, canary.port, f'/{i}')}"
            f"</link><guid>g{i}</guid></item>"
            for i, form in enumerate(FORMS)
        )
        server.overrides["/ssrf.xml"] = (
            f"<rss version='2.0'><channel>{items}</channel></rss>".encode()
        )
        config = workdir / "fw.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{workdir / "fw.db"}"\n\n[[feeds]]\nname = "ssrf"\n'
            f'url = "{server.base_url}/ssrf.xml"\nfetch_articles = true\n',
            encoding="utf-8",
        )
        kinds = _poll_page_outcomes(load_settings(config), server)
        refused = sum(n for kind, n in kinds.items() if kind != "ok")
        return _ssrf_row("entry link (poll)", len(FORMS), refused, kinds, canary, spy)


def _poll_page_outcomes(settings: Settings, server: FixtureServer) -> dict[str, int]:
    """Poll once with the guard on; the outcome of every article fetch, from the fetch log."""
    engine = make_engine(settings.database.url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    policy = _only(server)
    with Fetcher("bench", 3, 100_000, address_allowed=policy, resolver=hostile.test_resolver) as f:
        poll_feeds(settings, factory, f)
    with factory() as session:
        query = select(FetchLog.outcome, func.count()).where(FetchLog.kind == "article")
        outcomes = dict(session.execute(query.group_by(FetchLog.outcome)).tuples().all())
    engine.dispose()
    return outcomes


BOMBS = (
    ("gzip 10 GiB", "/bad/gzip-bomb-10g", 10 * 2**30, hostile.gzip_bomb),
    ("brotli 200 MB", "/bad/brotli-bomb", 2 * 10**8, hostile.brotli_bomb),
    ("gzip, gzip 10 GiB", "/bad/nested-bomb", 10 * 2**30, hostile.nested_gzip_bomb),
)


def bombs(server: FixtureServer) -> list[Row]:
    rows = []
    for name, path, inflated, builder in BOMBS:
        for cap in (5_000_000, 20_000_000):
            probe = hostile.fetch_probe(server.base_url + path, cap)
            rows.append(
                {
                    "bomb": name,
                    "bytes sent": len(builder()),
                    "inflates to": inflated,
                    "max_bytes": cap,
                    "outcome": _bomb_outcome(probe["outcome"]),
                    "seconds": probe["seconds"],
                    "peak memory growth MB": probe["rss_growth_mb"],
                }
            )
    return rows


def _bomb_outcome(message: str) -> str:
    kind = message.split(":")[0]
    for words, how in (("decoded", "decoded"), ("as sent", "as sent"), ("body of", "declared")):
        if words in message:
            return f"{kind} ({how} size over the cap)"
    return kind


SLOW = (
    ("body at 1 byte/s", "/bad/trickle"),
    ("headers at 5 bytes/s", "/bad/slow-headers"),
    ("never answers", "/bad/silent"),
    ("redirect loop", "/bad/loop"),
)


def slow_servers(server: FixtureServer, timeout_s: float = 3) -> list[Row]:
    rows = []
    with Fetcher("bench", timeout_s, 5_000_000, allow_private_addresses=True) as fetcher:
        for name, path in SLOW:
            started = time.monotonic()
            try:
                fetcher.fetch(server.base_url + path)
                outcome = "fetched"
            except FetchError as exc:
                outcome = type(exc).__name__
            seconds = round(time.monotonic() - started, 2)
            rows.append(
                {"server": name, "timeout_s": timeout_s, "outcome": outcome, "seconds": seconds}
            )
    return rows


def xml_attacks() -> list[Row]:
    rows = []
    with hostile.Canary() as canary:
        for name, body in hostile.xml_attacks(f"http://127.0.0.1:{canary.port}/x").items():
            tracemalloc.start()
            started = time.perf_counter()
            try:
                parse_feed(body, "http://example.org/feed.xml")
                outcome = "PARSED"
            except ParseError as exc:
                outcome = str(exc).split(":", 1)[1].strip()[:60]
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            rows.append(
                {
                    "attack": name,
                    "bytes": len(body),
                    "refused": outcome,
                    "ms": round(seconds * 1e3, 2),
                    "peak MB": round(peak / 2**20, 2),
                }
            )
        rows.append({"attack": "all of the above", "canary connections": canary.settled(0.1)})
    return rows


def corpora() -> Row:
    files = [p for p in fuzz_feeds.corpora_dir().rglob("*") if p.suffix in fuzz_feeds.FEED_SUFFIXES]
    report = fuzz_feeds.FuzzReport()
    for path in files:
        fuzz_feeds.check_one(path.read_bytes(), report)
    return {
        "corpus files": report.inputs,
        "parsed": report.parsed,
        "rejected with ParseError": report.rejected,
        "escaped exceptions": len(report.escaped),
        "invariant violations": len(report.violations),
        "slowest CPU s": round(report.slowest_cpu_s, 3),
        "slowest wall s": round(report.slowest_s, 3),
    }


def fuzz(count: int) -> Row:
    report = fuzz_feeds.run(count, seed=1, seeds=fuzz_feeds.load_seeds())
    return {
        "mutated inputs": report.inputs,
        "parsed": report.parsed,
        "rejected with ParseError": report.rejected,
        "of which feedparser's own exceptions": report.feedparser_failures,
        "escaped exceptions": len(report.escaped),
        "invariant violations": len(report.violations),
        "slowest CPU s": round(report.slowest_cpu_s, 3),
        "slowest wall s": round(report.slowest_s, 3),
        "seconds": round(report.seconds, 1),
    }


def _print_table(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    if not rows:
        return
    keys = list(dict.fromkeys(k for row in rows for k in row))
    widths = {k: max(len(k), *(len(_cell(r.get(k))) for r in rows)) for k in keys}
    print("  " + "  ".join(k.ljust(widths[k]) for k in keys))
    for row in rows:
        print("  " + "  ".join(_cell(row.get(k)).ljust(widths[k]) for k in keys))


def _cell(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stress.hardening", description=__doc__)
    parser.add_argument("--fuzz-count", type=int, default=3_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    figures: dict[str, list[Row]] = {}
    with FixtureServer(ROOT / "tests" / "data", routes=hostile.ROUTES | _loop()) as server:
        with tempfile.TemporaryDirectory() as tmp:
            ssrf = [*ssrf_direct_and_redirect(server), ssrf_entry_links(server, Path(tmp))]
        figures["SSRF guard: address forms x entry points"] = ssrf
        figures["Compression bombs"] = bombs(server)
        figures["Slow servers (total deadline)"] = slow_servers(server)
    figures["XML attacks"] = xml_attacks()
    figures["Real-world corpora"] = [corpora()]
    title = "Mutation fuzz (short; long run: python -m bench.stress.fuzz_feeds)"
    figures[title] = [fuzz(args.fuzz_count)]
    for title, rows in figures.items():
        _print_table(title, rows)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


def _loop() -> dict[str, Callable[..., None]]:
    def loop(h: Any) -> None:
        h.send_plain(302, b"", {"Location": "/bad/loop"})

    return {"/bad/loop": loop}


if __name__ == "__main__":
    raise SystemExit(main())
