"""The service's steady state: memory over many poll cycles, CPU per idle (all-304) cycle.

    python -m bench.perf.service [--feeds 50] [--cycles 1000] [--json PATH]

50 feeds of the synthetic news web (20 entries each, ``tests.support.synthweb``) are
served on 127.0.0.1; the service's poll path (the same `poll_feeds` call the scheduler
makes) runs cycle after cycle into a SQLite file. After the first cycle every feed
answers 304 Not Modified, so later cycles measure the idle cost.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from ingest.config.settings import settings_from_mapping
from ingest.fetch.client import Fetcher
from ingest.sources.poll import PollOptions, poll_feeds
from storage import migrate
from storage.db import make_engine, make_session_factory
from tests.support import synthweb

ITEMS = 20  # per feed


def _rss_kb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1])
    return 0.0


def run(feeds: int, cycles: int, root: Path) -> dict[str, object]:
    web = synthweb.generate(root, feeds, ITEMS, pages=False)  # the service reads the feeds
    with synthweb.served(root, synthweb.NO_LATENCY, start_method="fork") as base_url:
        urls = [base_url + path for path in web.feeds]
        settings = settings_from_mapping({
            "database": {"url": f"sqlite:///{root / 'bench.db'}"},
            "fetch": {"allow_private_addresses": True, "concurrency": 8},
            "feeds": [{"name": f"f{n}", "url": url} for n, url in enumerate(urls)],
        })  # fmt: skip
        engine = make_engine(settings.database.url)
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        options = PollOptions(sync_sources=False)
        rss: dict[int, float] = {}
        cpu_idle = 0.0
        with Fetcher("bench", 10, 5_000_000, True) as fetcher:
            poll_feeds(settings, factory, fetcher)  # first cycle: 200s, items stored/rejected
            for cycle in range(1, cycles + 1):
                started = time.process_time()
                report = poll_feeds(settings, factory, fetcher, options=options)
                cpu_idle += time.process_time() - started
                assert {f.status for f in report.feeds} == {"not_modified"}, report.feeds[0]
                if cycle in (10, cycles):
                    rss[cycle] = _rss_kb() / 1024
        engine.dispose()
    return {
        "feeds": feeds,
        "cycles": cycles,
        "rss_mb_after_10": round(rss[10], 1),
        f"rss_mb_after_{cycles}": round(rss[cycles], 1),
        "rss_growth_pct": round(100 * (rss[cycles] - rss[10]) / rss[10], 1),
        "idle_cpu_ms_per_feed": round(1000 * cpu_idle / (cycles * feeds), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = run(args.feeds, max(args.cycles, 11), Path(tmp))
    for key, value in report.items():
        print(f"{key:24} {value}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
