"""The benchmark harness behind ``python -m bench``: one run, every figure, one report.

Per core: every rate marked "per core" is articles per CPU-second of the measured process
tree (the process plus any worker processes it started; the web server runs in another
process and is not counted; neither is the PostgreSQL server). Wall-clock rates are
articles per elapsed second on this machine (2 cores) and are what the network-bound
comparison with the plain script uses. An "article" is one feed entry whose page was
fetched and went through the path (on-story or not, copy or not).
"""

from __future__ import annotations

import os
import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.perf import baselines, e2e
from storage.db import private_schema
from tests.support import synthweb

PG_ENV = ("FRAMEWATCH_BENCH_DATABASE_URL", "FRAMEWATCH_TEST_DATABASE_URL")


@dataclass(frozen=True)
class Plan:
    feeds: int = 200
    entries: int = 50
    plain_feeds: int = 20  # the sequential script is slow; its rate does not depend on N
    latency_ms: tuple[float, float] = synthweb.LATENCY_MS
    concurrency: int = 8  # framewatch's default [fetch] concurrency
    idle_cycles: int = 5
    workers: int | None = None  # framewatch's default: one process per core
    # None: the workers run already, as in a service that has polled before; N: a cold
    # start that prepares N pages inline while they start (see ingest.pipeline.workers.Preparer)
    inline_pages: int | None = None
    postgres_url: str | None = None
    issue_benchmarks: str = "full"  # full | quick | none
    # The network-bound comparison the issue sets the 5x target for: the same pages served
    # at the round trip of distant news sites, framewatch over ``network_feeds`` feeds and
    # the plain script over ``network_plain_feeds`` (its rate does not depend on N). 0: off.
    network_latency_ms: tuple[float, float] = (150.0, 400.0)
    network_feeds: int = 40
    network_plain_feeds: int = 6


def postgres_url_from_env() -> str | None:
    return next((os.environ[k] for k in PG_ENV if os.environ.get(k)), None)


def machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("model name")), "")  # fmt: skip
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run(plan: Plan, say: Any = print) -> dict[str, Any]:
    report: dict[str, Any] = {"machine": machine(), "plan": _plan_dict(plan)}
    with tempfile.TemporaryDirectory(prefix="framewatch-bench-") as tmp:
        work = Path(tmp)
        say(f"generating {plan.feeds} feeds x {plan.entries} entries ...")
        web = synthweb.generate(work / "web", plan.feeds, plan.entries)
        report["web"] = web.summary()
        with synthweb.served(web.root, plan.latency_ms) as base_url:
            report["sqlite"] = _framewatch(plan, web, base_url, f"sqlite:///{work / 'fw.db'}", say)
            if plan.postgres_url:
                with private_schema(plan.postgres_url, "bench_e2e") as url:
                    report["postgresql"] = _framewatch(plan, web, base_url, url, say)
            say("floor: feedparser + trafilatura on the same bytes ...")
            report["floor"] = _timed(baselines.run_floor, str(web.root), base_url, web.feeds)
            say("stage floor: every stage's library on the same pages ...")
            report["stage_floor"] = _timed(
                baselines.run_stage_floor, base_url, web.feeds, str(work / "stage-floor.db")
            )
            plain_feeds = web.feeds[: plan.plain_feeds]
            say(f"plain sequential script over {len(plain_feeds)} feeds ...")
            report["plain"] = _timed(
                baselines.run_plain, base_url, plain_feeds, str(work / "plain.db")
            )
        if plan.network_feeds:
            report["network_bound_runs"] = _network_bound(plan, web, work, say)
    report["issue_benchmarks"] = _issue_benchmarks(plan.issue_benchmarks, say)
    report.update(headline(report))
    return report


def _plan_dict(plan: Plan) -> dict[str, Any]:
    fields = dict(plan.__dict__)
    if fields.get("postgres_url"):
        fields["postgres_url"] = "set"
    return fields


def _timed(fn: Any, *args: Any) -> dict[str, Any]:
    before = e2e.load_average()
    result = e2e.measure_in_child(fn, *args)
    result["load_average"] = [before, e2e.load_average()]
    return result


def _framewatch(plan: Plan, web: synthweb.Web, base_url: str, url: str, say: Any) -> dict[str, Any]:
    say(f"framewatch into {url.split(':', 1)[0].split('+')[0]} ...")
    result = _timed(
        e2e.run_framewatch,
        url,
        base_url,
        web.feeds,
        plan.concurrency,
        plan.idle_cycles,
        plan.workers,
        plan.inline_pages,
    )
    result["on_story_served"] = web.on_story
    return result


def _network_bound(plan: Plan, web: synthweb.Web, work: Path, say: Any) -> dict[str, Any]:
    """framewatch and the plain script again, on a slow web (wall clock is what counts)."""
    low, high = plan.network_latency_ms
    feeds, plain_feeds = web.feeds[: plan.network_feeds], web.feeds[: plan.network_plain_feeds]
    with synthweb.served(web.root, plan.network_latency_ms) as base_url:
        say(f"network-bound ({low:g}-{high:g} ms): framewatch over {len(feeds)} feeds ...")
        framewatch = _timed(
            e2e.run_framewatch, f"sqlite:///{work / 'fw-network.db'}", base_url, feeds,
            plan.concurrency, 0, plan.workers, plan.inline_pages,
        )  # fmt: skip
        say(f"network-bound: plain script over {len(plain_feeds)} feeds ...")
        plain = _timed(baselines.run_plain, base_url, plain_feeds, str(work / "plain-net.db"))
    return {"latency_ms": [low, high], "framewatch": framewatch, "plain": plain}


def _issue_benchmarks(size: str, say: Any) -> dict[str, Any]:
    """The per-issue benchmarks, each in its own process, reusing their own ``run``."""
    if size == "none":
        return {}
    from bench.perf import crawl, framing

    quick = size == "quick"
    results: dict[str, Any] = {}
    jobs: list[tuple[str, Any, tuple[Any, ...]]] = [
        ("dedup", _dedup, (2_000 if quick else 20_000,)),
        ("framing", framing.run, (100, 600, 3.0) if quick else (300, 600, 10.0)),
        ("search", _search, ([5_000] if quick else [100_000], 3 if quick else 15)),
        # many sites: 100 x 5 pages in the full run; 25 x 5 keeps the quick one (CI) short
        ("crawl", crawl.run, (200 if quick else 1_000, 16, 25 if quick else 100, 5)),
    ]
    for name, fn, args in jobs:
        say(f"per-issue benchmark: {name} {args} ...")
        try:
            results[name] = _timed(fn, *args)
        except Exception as exc:  # one broken benchmark must not lose the others' figures
            results[name] = {"error": str(exc)[-2000:]}
    return results


def _dedup(count: int) -> dict[str, Any]:
    from bench.perf import dedup

    with tempfile.TemporaryDirectory() as tmp:
        return dedup.run(count, Path(tmp) / "dedup.db")


def _search(sizes: list[int], repeats: int) -> dict[str, Any]:
    from bench.perf import search

    databases = {"sqlite", "postgresql"} if postgres_url_from_env() else {"sqlite"}
    return search.run(sizes, repeats, databases)


# --- headline figures and targets --------------------------------------------------------

FLOOR_TARGET = 0.70
STAGE_FLOOR_TARGET = 0.80
SCRAPY_STAGES_TARGET = 0.80
MANY_SITES_TARGET = 3.0  # crawl time within this many times the feeds' poll time
PLAIN_TARGET = 5.0
IDLE_TARGET_MS = 5.0


def headline(report: dict[str, Any]) -> dict[str, Any]:
    main, floor, plain = report["sqlite"], report["floor"], report["plain"]
    pages = main["entries"]
    e2e_rate = pages / main["cpu_s"]
    floor_rate = floor["pages"] / floor["cpu_s"]
    e2e_wall = pages / main["wall_s"]
    plain_wall = plain["pages"] / plain["wall_s"]
    result: dict[str, Any] = {
        "normalisation": "per core = articles per CPU-second of the measured process tree "
        "(server processes excluded); wall = articles per elapsed second on this machine",
        "articles": pages,
        "e2e_articles_per_s": round(e2e_rate, 2),
        "e2e_wall_articles_per_s": round(e2e_wall, 2),
        "e2e_cores_used": main["cores_used"],
        "floor_articles_per_s": round(floor_rate, 2),
        "e2e_vs_floor": round(e2e_rate / floor_rate, 3),
        "plain_articles_per_s": round(plain_wall, 2),
        "plain_cpu_articles_per_s": round(plain["pages"] / plain["cpu_s"], 2),
        # on the web of the main run (20-50 ms): partly CPU-bound for both
        "e2e_vs_plain_fast_web": round(e2e_wall / plain_wall, 2),
        "e2e_vs_plain": round(e2e_wall / plain_wall, 2),  # network-bound, when measured
        "idle_cpu_ms_per_feed": main["idle_cpu_ms_per_feed"],
        "idle_wall_ms_per_feed": main["idle_wall_ms_per_feed"],
        "plain_repoll_wall_ms_per_feed": plain["repoll_wall_ms_per_feed"],
        "plain_repoll_cpu_ms_per_feed": plain["repoll_cpu_ms_per_feed"],
        "peak_rss_mb": main["peak_rss_mb"],
        "db_mb_per_1000_articles": round(main["db_bytes"] / 1e6 / main["articles"] * 1000, 2)
        if main["articles"]
        else None,
        "stages": main["stages"],
        "stages_total_s": main["cpu_s"],
        **_stage_floor(e2e_rate, report.get("stage_floor")),
        **_crawl_figures(report.get("issue_benchmarks", {}).get("crawl")),
    }
    if "network_bound_runs" in report:
        net = report["network_bound_runs"]
        fw_net, plain_net = net["framewatch"], net["plain"]
        result["network_bound"] = {
            "latency_ms": net["latency_ms"],
            "e2e_wall_articles_per_s": round(fw_net["entries"] / fw_net["wall_s"], 2),
            "plain_wall_articles_per_s": round(plain_net["pages"] / plain_net["wall_s"], 2),
            "e2e_cores_used": fw_net["cores_used"],
        }
        result["e2e_vs_plain"] = round(
            result["network_bound"]["e2e_wall_articles_per_s"]
            / result["network_bound"]["plain_wall_articles_per_s"],
            2,
        )
    if "postgresql" in report:
        pg = report["postgresql"]
        result["postgresql_e2e_articles_per_s"] = round(pg["entries"] / pg["cpu_s"], 2)
        result["postgresql_e2e_wall_articles_per_s"] = round(pg["entries"] / pg["wall_s"], 2)
        result["postgresql_db_mb_per_1000_articles"] = (
            round(pg["db_bytes"] / 1e6 / pg["articles"] * 1000, 2) if pg["articles"] else None
        )
    compared = report.get("network_bound_runs", {}).get("framewatch", main)  # the 5x run
    result["targets"] = _targets(result, main, floor, compared) | _new_targets(result)
    return result


def _stage_floor(e2e_rate: float, floor: dict[str, Any] | None) -> dict[str, Any]:
    """The stage floor (every required stage's library on the same pages), per core."""
    if not floor:
        return {"stage_floor_articles_per_s": None, "e2e_vs_stage_floor": None}
    rate = floor["pages"] / floor["cpu_s"]
    return {
        "stage_floor_articles_per_s": round(rate, 2),
        "stage_floor_without_fetch_articles_per_s": round(
            floor["pages"] / floor["cpu_s_without_fetch"], 2
        ),
        "stage_floor_stages": floor["stages"],
        "e2e_vs_stage_floor": round(e2e_rate / rate, 3),
    }


def _crawl_figures(crawl: dict[str, Any] | None) -> dict[str, Any]:
    """The crawl benchmark's headline figures (None when it was not run)."""
    if not crawl or "error" in crawl:
        return {"crawl_pages_per_s": None, "crawl_vs_scrapy_stages": None, "many_sites": None}
    return {
        "crawl_pages_per_s": crawl["crawl_pages_per_s"],
        "crawl_vs_scrapy_stages": crawl["crawl_vs_scrapy_stages"],
        "many_sites": crawl["many_sites"],
    }


def _new_targets(result: dict[str, Any]) -> dict[str, Any]:
    """The stage floor and crawl targets, when measured."""
    targets: dict[str, Any] = {}
    for key, goal in (("e2e_vs_stage_floor", STAGE_FLOOR_TARGET),
                      ("crawl_vs_scrapy_stages", SCRAPY_STAGES_TARGET)):  # fmt: skip
        if result.get(key) is not None:
            targets[key] = {"target": f">= {goal}", "value": result[key],
                            "met": result[key] >= goal}  # fmt: skip
    if result.get("many_sites"):
        times = result["many_sites"]["crawl_vs_poll_time"]
        targets["many_sites_crawl_vs_poll"] = {
            "target": f"<= {MANY_SITES_TARGET}",
            "value": times,
            "met": times <= MANY_SITES_TARGET,
        }
    return targets


def _targets(
    result: dict[str, Any], main: dict[str, Any], floor: dict[str, Any], compared: dict[str, Any]
) -> dict[str, Any]:
    """``main``: the run measured against the floor; ``compared``: the one against the
    plain script (the network-bound run, when there is one)."""
    # framewatch's cost above the floor, per stage: parse and extract minus the floor's own
    stages = dict(main["stages"])
    stages["parse"] = stages.get("parse", 0.0) - floor["stages"]["parse"]
    stages["extract"] = stages.get("extract", 0.0) - floor["stages"]["extract"]
    overhead = max(stages, key=lambda k: stages[k])
    top = max(compared["stages"], key=lambda k: compared["stages"][k])
    cores = os.cpu_count() or 1
    cpu_bound = compared["cores_used"] >= 0.8 * cores
    load = max(compared["load_average"])
    starved = not cpu_bound and load > cores  # other processes held the cores
    return {
        "e2e_vs_floor": {
            "target": f">= {FLOOR_TARGET}", "value": result["e2e_vs_floor"],
            "met": result["e2e_vs_floor"] >= FLOOR_TARGET,
            "held_back_by": f"{overhead} ({stages[overhead]:.2f} CPU s above the floor)",
        },
        "e2e_vs_plain": {
            "target": f">= {PLAIN_TARGET}", "value": result["e2e_vs_plain"],
            "met": result["e2e_vs_plain"] >= PLAIN_TARGET,
            "held_back_by": f"CPU ({top}, all cores busy)" if cpu_bound
            else f"CPU: other processes held the cores (load {load} on {cores}, framewatch "
            f"got {compared['cores_used']}); biggest stage {top}" if starved
            else f"waiting (cores used {compared['cores_used']}); biggest stage {top}",
        },
        "idle_cpu_ms_per_feed": {
            "target": f"< {IDLE_TARGET_MS}", "value": result["idle_cpu_ms_per_feed"],
            "met": result["idle_cpu_ms_per_feed"] < IDLE_TARGET_MS,
        },
    }  # fmt: skip
