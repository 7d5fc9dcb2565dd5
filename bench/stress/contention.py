"""Concurrency (issue 9, item 7): one writer, several readers and a one-shot poll at once.

    python -m bench.stress.contention [--minutes 5] [--database-url URL] [--feeds 4] [--json PATH]

On one database, for the whole run and all as subprocesses of the real CLI:

- the writer: `framewatch run` (the service), polling feeds that gain a new entry every
  few seconds on a local server (each new entry's page is fetched, framed and stored);
- the HTTP API: `framewatch serve`, hit continuously by two client threads (searches,
  lists, flags, clusters, digests, article details);
- `framewatch search` runs one after another;
- `framewatch digest` runs one after another (they write the digest record: a second
  writer);
- `framewatch poll`, one-shot, at a third and at two thirds of the run (a third writer);
- with ``--burst N``, a quarter into the run one feed publishes N entries at once, so the
  service's write transaction for that feed is long while the others wait to write.

An error "surfaced to a caller" is any non-zero exit, any output mentioning "database is
locked" or a traceback, any HTTP 5xx or failed connection, and any error line in the
service's log. At the end the feeds stop growing, a last `framewatch poll` catches up,
and the store is compared with the entries the feeds showed: nothing lost, nothing
duplicated (the checks of ``bench.stress.crash``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from bench.stress import crash
from tests.support import synthweb
from tests.support.synthweb import Page

ERROR_MARKERS = ("database is locked", "traceback", "deadlock", "error")
API_PATHS = (
    "/articles?q=belarus*%20AND%20prisoner*",
    "/articles?sort=date&limit=50",
    "/articles?q=%22political%20prisoners%22&sort=date",
    "/flags",
    "/clusters",
    "/digests",
    "/frames/timeline?story=belarus-prisoners",
)


# -- feeds that keep growing ------------------------------------------------------------


@dataclass
class GrowingWeb:
    """Per feed, its entries in the order they appear: (path, page)."""

    entries: dict[str, list[tuple[str, Page]]]
    files: dict[str, str]

    def visible(self, counts: dict[str, int]) -> crash.NewsWeb:
        """What a correct store holds once every feed has been read at these counts."""
        web = crash.NewsWeb(feeds=list(self.entries))
        for feed, entries in self.entries.items():
            for path, page in entries[: counts[feed]]:
                web.carry(feed, page, path)
        return web


def build_growing_web(feeds: int, per_feed: int, seed: int = 7) -> GrowingWeb:
    """Each feed's own pages (one in four off the story), every fifth also carried by the
    next feed a little later (a second sighting of the same link)."""
    rng = random.Random(seed)
    names = [f"grow{n}" for n in range(feeds)]
    entries: dict[str, list[tuple[str, Page]]] = {name: [] for name in names}
    files: dict[str, str] = {}
    start = datetime(2025, 10, 1, 6, tzinfo=UTC)
    for i in range(per_feed):
        for n, name in enumerate(names):
            number = i * feeds + n
            when = start + timedelta(minutes=37 * number)
            page = synthweb.original(number, rng, (i + n) % 4 != 3, when)
            path = f"/g/{n}/{i}.html"
            files[path] = synthweb.render_page(page, path)
            entries[name].append((path, page))
            if i % 5 == 0:
                entries[names[(n + 1) % feeds]].append((path, page))
    return GrowingWeb(entries, files)


def _feed_route(web: GrowingWeb, feed: str, counts: Any, index: int) -> Any:
    def route(h: BaseHTTPRequestHandler) -> None:
        shown = web.entries[feed][: counts[index]]
        body = synthweb.feed_xml(
            feed, (synthweb.feed_item(page, path) for path, page in reversed(shown))
        )
        body = body.replace("{{BASE}}", f"http://{h.headers['Host']}")
        data = body.encode()
        etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        if h.headers.get("If-None-Match") == etag:
            h.send_plain(304, b"", {"ETag": etag})  # type: ignore[attr-defined]
        else:
            h.send_plain(200, data, {"ETag": etag}, "application/rss+xml")  # type: ignore[attr-defined]

    return route


def served_growing(root: Path, web: GrowingWeb, counts: Any) -> AbstractContextManager[str]:
    """The web with each feed showing its first ``counts[i]`` entries (a shared array the
    growing thread raises); forked, as the routes are closures over it."""
    routes = {
        f"/feeds/{feed}.xml": _feed_route(web, feed, counts, index)
        for index, feed in enumerate(web.entries)
    }
    return synthweb.served(root, synthweb.NO_LATENCY, routes, quiet=True, start_method="fork")


def grow(
    counts: Any, per_feed: int, every_s: float, stop: threading.Event, burst: tuple[float, int]
) -> None:
    """One new entry per feed every ``every_s`` seconds, staggered across feeds; after
    ``burst[0]`` seconds the first feed publishes ``burst[1]`` entries at once."""
    feeds, started = len(counts), time.monotonic()
    burst_at, burst_size = burst
    while not stop.wait(every_s / feeds):
        if burst_size and time.monotonic() - started >= burst_at:
            counts[0] = min(per_feed, counts[0] + burst_size)
            burst_size = 0
        index = min(range(feeds), key=lambda i: counts[i])
        if counts[index] < per_feed:
            counts[index] += 1


# -- callers and what they saw ----------------------------------------------------------


@dataclass
class Tally:
    calls: Counter[str] = field(default_factory=Counter)
    errors: list[tuple[float, str, str]] = field(default_factory=list)  # (t, caller, what)
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: float = field(default_factory=time.monotonic)

    def ok(self, caller: str) -> None:
        with self.lock:
            self.calls[caller] += 1

    def error(self, caller: str, what: str) -> None:
        with self.lock:
            self.calls[caller] += 1
            self.errors.append((time.monotonic() - self.started, caller, what[-400:]))


def _surfaced(output: str) -> str | None:
    lowered = output.lower()
    return next((m for m in ERROR_MARKERS if m in lowered), None)


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWATCH_")}
    return {**env, "NO_COLOR": "1", "COLUMNS": "200"}


def run_cli(tally: Tally, caller: str, config: Path, *args: str, timeout: float = 300) -> None:
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "ingest", "--config", str(config), *args],
            capture_output=True, text=True, env=cli_env(), timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        tally.error(caller, f"no answer within {timeout:.0f}s")
        return
    marker = _surfaced(proc.stdout + proc.stderr)
    if proc.returncode != 0 or marker:
        tally.error(caller, f"exit {proc.returncode}: {(proc.stderr or proc.stdout).strip()}")
    else:
        tally.ok(caller)


def loop_cli(
    tally: Tally, caller: str, config: Path, stop: threading.Event, args: Callable[[], list[str]]
) -> None:
    while not stop.is_set():
        run_cli(tally, caller, config, *args())
        stop.wait(0.2)


def hit_api(tally: Tally, base: str, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        path = rng.choice(API_PATHS)
        if rng.random() < 0.2:
            path = f"/articles/{rng.randint(1, 50)}"
        try:
            with urllib.request.urlopen(base + path, timeout=60) as answer:
                body = answer.read().decode("utf-8", "replace")
            if "database is locked" in body.lower():
                tally.error("api", f"{path}: database is locked")
            else:
                tally.ok("api")
        except urllib.error.HTTPError as exc:
            if exc.code >= 500:
                tally.error("api", f"{path}: HTTP {exc.code} {exc.read()[:200]!r}")
            else:
                tally.ok("api")  # a 404 for an id not stored yet is a right answer
        except OSError as exc:
            tally.error("api", f"{path}: {exc}")


def one_shot_polls(tally: Tally, config: Path, seconds: float) -> None:
    """`framewatch poll` beside the service, at a third and at two thirds of the run."""
    started = time.monotonic()
    for third in (1, 2):
        time.sleep(max(0.0, started + third * seconds / 3 - time.monotonic()))
        run_cli(tally, "poll", config, "poll")


def wait_http(url: str, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.3)
    return False


# -- the run ----------------------------------------------------------------------------


@dataclass
class Setup:
    config: Path
    database_url: str
    base_url: str
    folder: Path


def write_config(setup: Setup, feeds: list[str], poll_every: str) -> None:
    setup.config.write_text(crash.config_text(
        feeds, setup.base_url, setup.database_url, setup.folder / "digests", timeout_s=20,
        poll_every=poll_every,
    ))  # fmt: skip


def start(setup: Setup, *args: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ingest", "--config", str(setup.config), *args],
            stdout=out, stderr=subprocess.STDOUT, env=cli_env(),
        )  # fmt: skip


def run(
    seconds: float,
    database_url: str | None = None,
    feeds: int = 4,
    every_s: float = 3.0,
    seed: int = 7,
    burst: int = 0,
) -> dict[str, Any]:
    per_feed = int(seconds / every_s) + 3 + burst
    web = build_growing_web(feeds, per_feed, seed)
    counts = multiprocessing.get_context("fork").Array("i", [2] * feeds)
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="fw-contention-") as tmp:
        folder = Path(tmp)
        synthweb.write_files(folder / "web", web.files)
        with (
            served_growing(folder / "web", web, counts) as base_url,
            crash.fresh_database(database_url, folder) as url,
        ):
            setup = Setup(folder / "fw.toml", url, base_url, folder)
            write_config(setup, list(web.entries), poll_every=f"{max(2, int(every_s))}s")
            run_cli(tally, "init", setup.config, "init")
            report = _contend(setup, tally, seconds, counts, (per_feed, every_s, burst))
            frozen = {feed: counts[i] for i, feed in enumerate(web.entries)}
            run_cli(tally, "final poll", setup.config, "poll", "--force")
            check = crash.check_store(url, web.visible(frozen), None)
            report.update(_stored(url))
    report.update(_summary(tally, seconds, check))
    report["backend"] = "postgresql" if database_url else "sqlite"
    report["entries_published"] = sum(frozen.values())
    return report


def _contend(
    setup: Setup,
    tally: Tally,
    seconds: float,
    counts: Any,
    growth: tuple[int, float, int],  # entries per feed at most, seconds apart, burst size
) -> dict[str, Any]:
    per_feed, every_s, burst = growth
    stop, grown = threading.Event(), threading.Event()
    api_port = crash.free_port()
    service = start(setup, "-v", "run", "--metrics-port", str(crash.free_port()),
                    log=setup.folder / "service.log")  # fmt: skip
    api = start(setup, "serve", "--port", str(api_port), log=setup.folder / "serve.log")
    api_base = f"http://127.0.0.1:{api_port}"
    if not wait_http(api_base + "/digests"):
        tally.error("api", "the API did not start")
    today = datetime.now(UTC).date().isoformat()
    tally.started = time.monotonic()  # the contention starts now: the run's clock too
    workers = [
        threading.Thread(target=grow, args=(counts, per_feed, every_s, grown,
                                            (seconds / 4, burst))),
        threading.Thread(target=hit_api, args=(tally, api_base, stop, 1)),
        threading.Thread(target=hit_api, args=(tally, api_base, stop, 2)),
        threading.Thread(target=loop_cli, args=(tally, "search", setup.config, stop,
                         lambda: ["search", "belarus* AND prisoner*", "--format", "json"])),
        threading.Thread(target=loop_cli, args=(tally, "digest", setup.config, stop,
                         lambda: ["digest", "--date", today, "--format", "md"])),
    ]  # fmt: skip
    workers.append(threading.Thread(target=one_shot_polls, args=(tally, setup.config, seconds)))
    try:
        for worker in workers:
            worker.daemon = True
            worker.start()
        time.sleep(max(0.0, seconds - (time.monotonic() - tally.started)))
    except BaseException:  # interrupted: leave no service or API behind
        for proc in (service, api):
            proc.kill()
        raise
    finally:
        grown.set()
        stop.set()
    for worker in workers:
        worker.join()
    return _stop_servers(tally, setup, service, api)


def _stop_servers(
    tally: Tally, setup: Setup, service: subprocess.Popen[bytes], api: subprocess.Popen[bytes]
) -> dict[str, Any]:
    for name, proc in (("service", service), ("api", api)):
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        if name == "service" and code != 0:
            tally.error("service", f"exit {code} on SIGTERM")
    log = (setup.folder / "service.log").read_text(errors="replace")
    for line in log.splitlines():
        if _surfaced(line):
            tally.error("service", line)
    polls = [line for line in log.splitlines() if " poll: " in line]
    stored = sum(int(line.split(" new articles")[0].rsplit(", ", 1)[1]) for line in polls)
    return {"service_polls": len(polls), "stored_by_service": stored}


def _stored(url: str) -> dict[str, Any]:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from storage.models import Article, Sighting

    with crash.engine_for(url) as engine, Session(engine) as session:
        articles = session.scalar(select(func.count()).select_from(Article))
        sightings = session.scalar(select(func.count()).select_from(Sighting))
    return {"articles_stored": articles, "sightings": sightings}


def _summary(tally: Tally, seconds: float, check: crash.StoreCheck) -> dict[str, Any]:
    minutes = max(1, round(seconds / 60))
    bad_minutes = {min(int(t // 60), minutes - 1) for t, _c, _w in tally.errors}
    return {
        "seconds": round(seconds),
        "calls": dict(tally.calls),
        "errors_surfaced": len(tally.errors),
        "locked_errors": sum("locked" in w.lower() for _t, _c, w in tally.errors),
        "minutes_with_errors": f"{len(bad_minutes)}/{minutes}",
        "lost": check.lost,
        "duplicated": check.duplicated,
        "integrity": check.integrity or "ok",
        "problems": check.problems[:5],
        "error_samples": [f"{t:.0f}s {c}: {w}" for t, c, w in tally.errors[:10]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--database-url", default=None, help="PostgreSQL; default a SQLite file")
    parser.add_argument("--feeds", type=int, default=4)
    parser.add_argument("--every", type=float, default=3.0, help="seconds between new entries")
    parser.add_argument(
        "--burst", type=int, default=0, help="a quarter into the run, one feed publishes this "
        "many entries at once (the service's write transaction for that feed grows long)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up when stopped
    report = run(args.minutes * 60, args.database_url, args.feeds, args.every, burst=args.burst)
    report["burst"] = args.burst
    report["load_average"] = [round(x, 2) for x in os.getloadavg()]
    for key, value in report.items():
        print(f"{key:22} {value}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    failed = report["errors_surfaced"] or report["lost"] or report["duplicated"]
    sys.exit(1 if failed or report["integrity"] != "ok" or report["problems"] else 0)


if __name__ == "__main__":
    main()
