"""One benchmark harness for framewatch: ``python -m bench [--quick] [--json PATH]``.

Generates a synthetic news web on 127.0.0.1 (feeds, ~30 kB article pages in five
languages, 20 % near copies, 20-50 ms per request), polls it with framewatch's real
pipeline into SQLite and into PostgreSQL (when FRAMEWATCH_BENCH_DATABASE_URL or
FRAMEWATCH_TEST_DATABASE_URL is set), measures the library floor and a plain sequential
script on the same pages in the same run, an idle all-304 poll cycle, and collects the
per-issue benchmarks (dedup, framing, search, crawl). Prints a table; ``--json`` writes
the whole report. See the README, "Performance".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench.perf import harness, report


def _plan(args: argparse.Namespace) -> harness.Plan:
    quick = args.quick
    return harness.Plan(
        feeds=args.feeds or (24 if quick else 200),
        entries=args.entries or (16 if quick else 50),
        plain_feeds=args.plain_feeds or (5 if quick else 20),
        latency_ms=(args.latency[0], args.latency[1]),
        concurrency=args.concurrency,
        idle_cycles=args.idle_cycles or (3 if quick else 10),
        workers=args.workers,
        inline_pages=args.inline_pages,
        postgres_url=None if args.no_postgres else harness.postgres_url_from_env(),
        issue_benchmarks=args.issue_benchmarks or ("quick" if quick else "full"),
        network_latency_ms=(args.network_latency[0], args.network_latency[1]),
        network_feeds=args.network_feeds if args.network_feeds is not None
        else (12 if quick else 40),
        network_plain_feeds=3 if quick else 6,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (about 2 minutes)")
    parser.add_argument("--json", type=Path, help="write the full report here")
    parser.add_argument("--feeds", type=int, help="feeds (default 200; quick 24)")
    parser.add_argument("--entries", type=int, help="entries per feed (default 50; quick 16)")
    parser.add_argument("--plain-feeds", type=int, help="feeds the plain script reads")
    parser.add_argument("--latency", type=float, nargs=2, default=[20.0, 50.0],
                        metavar=("MIN_MS", "MAX_MS"), help="server delay per request")  # fmt: skip
    parser.add_argument("--concurrency", type=int, default=8, help="framewatch [fetch] concurrency")
    parser.add_argument("--workers", type=int, help="framewatch's worker processes (1: none)")
    parser.add_argument(
        "--inline-pages",
        type=int,
        help="cold start: pages prepared inline before the workers start (default: running)",
    )
    parser.add_argument("--network-latency", type=float, nargs=2, default=[150.0, 400.0],
                        metavar=("MIN_MS", "MAX_MS"),
                        help="server delay of the network-bound comparison")  # fmt: skip
    parser.add_argument("--network-feeds", type=int,
                        help="feeds in the network-bound comparison (0: skip)")  # fmt: skip
    parser.add_argument("--idle-cycles", type=int, help="all-304 poll cycles timed")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--issue-benchmarks", choices=("full", "quick", "none"),
                        help="sizes of the per-issue benchmarks (default: as the run)")  # fmt: skip
    args = parser.parse_args(argv)
    started = time.monotonic()
    result = harness.run(_plan(args), say=lambda text: print(text, file=sys.stderr, flush=True))
    result["harness_wall_s"] = round(time.monotonic() - started, 1)
    print(report.render(result))
    print(f"\n(harness took {result['harness_wall_s']:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
