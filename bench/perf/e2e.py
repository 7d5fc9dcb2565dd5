"""framewatch end to end on the synthetic web: one poll of every feed, then idle cycles.

Runs in a fresh process (``measure_in_child``) so that CPU time, peak memory and imports
are this run's alone. Time per stage is CPU time of the thread doing the work (exclusive
of nested stages), collected by wrapping the pipeline's stage functions for the run; the
pipeline itself is unchanged. Whatever is not in a named stage (poll bookkeeping, the
fetch log, sightings, thread hand-offs) is ``other``.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import resource
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

# (stage, module, attribute): the functions timed. Nested stages count exclusively, e.g.
# language detection inside extraction counts as "language" only.
STAGES: list[tuple[str, str, str]] = [
    ("fetch", "ingest.fetch.client", "Fetcher.fetch"),
    ("parse", "ingest.sources.harvest", "parse_feed"),
    ("extract", "ingest.pipeline.prepare", "extract_article"),
    ("language", "ingest.pipeline.extract", "detect_language"),
    ("language", "ingest.pipeline.normalize", "detect_language"),
    ("normalize", "ingest.pipeline.prepare", "normalize_item"),
    ("relevance", "ingest.pipeline.prepare", "match_article"),
    ("store", "ingest.pipeline.run", "store_article"),
    ("store", "ingest.pipeline.run", "Pipeline.carried"),
    ("dedup", "ingest.pipeline.run", "mark_near_duplicates"),
    ("dedup", "ingest.pipeline.prepare", "make_signature"),
    ("cluster", "ingest.pipeline.run", "assign_cluster"),
    ("cluster", "ingest.pipeline.prepare", "event_terms"),
    ("wire", "ingest.pipeline.run", "assign_wire_story"),
    ("wire", "ingest.pipeline.prepare", "article_wire_features"),
    ("framing", "ingest.pipeline.run", "frame_article"),
    ("framing", "ingest.pipeline.prepare", "read_article"),
    ("flags", "ingest.pipeline.run", "refresh_flags"),
]
# "workers": CPU of the worker processes outside the stages they ran (hand-off, pickling)
STAGE_ORDER = ("fetch", "parse", "extract", "language", "normalize", "relevance", "dedup",
               "cluster", "wire", "store", "framing", "flags", "workers", "other")  # fmt: skip


class StageClock:
    """Thread CPU seconds per stage, exclusive of nested stages."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)
        self._local = threading.local()
        self._lock = threading.Lock()

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            stack: list[float] = self._local.__dict__.setdefault("stack", [])
            started, started_wall = time.thread_time(), time.perf_counter()
            stack.append(0.0)
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.thread_time() - started
                nested = stack.pop()
                if stack:
                    stack[-1] += elapsed
                with self._lock:
                    self.seconds[stage] += elapsed - nested
                    self.wall[stage] += time.perf_counter() - started_wall

        return timed


@contextmanager
def timed_stages(clock: StageClock) -> Iterator[list[str]]:
    """Wrap the stage functions for the duration; yields the ones that were not found."""
    import importlib

    patched: list[tuple[Any, str, Any]] = []
    missing: list[str] = []
    for stage, module_name, attribute in STAGES:
        owner: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = (
            owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
        )
        if original is None:
            missing.append(f"{module_name}.{attribute}")
            continue
        patched.append((owner, name, original))
        setattr(owner, name, clock.wrap(stage, original))
    try:
        yield missing
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


STAGE_DIR_ENV = "FRAMEWATCH_BENCH_STAGE_DIR"
_worker_clock: StageClock | None = None
_worker_patch: Any = None  # the patching context, kept alive (collected, it would unpatch)


def timed_prepare(raw: Any, stories: Any = None, codebook_dir: Any = None) -> Any:
    """``prepare_item`` in a worker process of the poll's Preparer, timed by stage; the
    worker's totals, its whole CPU time and peak memory go to a file the benchmark process
    adds up afterwards (workers are forked by the fork server, not by the measured
    process, so ``getrusage(RUSAGE_CHILDREN)`` there never sees them)."""
    global _worker_clock, _worker_patch
    from ingest.pipeline import prepare as pipeline

    if _worker_clock is None:
        _worker_clock = StageClock()
        _worker_patch = timed_stages(_worker_clock)
        _worker_patch.__enter__()  # for the worker's life
    result = pipeline.prepare_item(raw, stories, codebook_dir)
    folder = os.environ.get(STAGE_DIR_ENV)
    if folder:
        path = Path(folder) / f"{os.getpid()}.json"
        usage = resource.getrusage(resource.RUSAGE_SELF)
        path.write_text(json.dumps({
            "stages": dict(_worker_clock.seconds),
            "cpu_s": usage.ru_utime + usage.ru_stime,  # since the fork: times start at zero
            "max_rss_kb": usage.ru_maxrss,
        }))  # fmt: skip
    return result


@dataclass
class WorkerTotals:
    stages: dict[str, float]
    cpu_s: float
    max_rss_mb: float


def _worker_totals(folder: Path) -> WorkerTotals:
    stages: dict[str, float] = defaultdict(float)
    cpu, rss = 0.0, 0.0
    for path in folder.glob("*.json"):
        record = json.loads(path.read_text())
        for stage, seconds in record["stages"].items():
            stages[stage] += seconds
        cpu += record["cpu_s"]
        rss = max(rss, record["max_rss_kb"] / 1024)
    return WorkerTotals(dict(stages), cpu, rss)


def cpu_seconds() -> float:
    """CPU of this process and its finished children (a process pool's workers)."""
    return _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _settings(db_url: str, base_url: str, feeds: list[str], concurrency: int) -> Any:
    from ingest.config.settings import settings_from_mapping

    return settings_from_mapping({
        "database": {"url": db_url},
        "fetch": {"allow_private_addresses": True, "concurrency": concurrency,
                  "user_agent": "framewatch-bench"},
        "feeds": [{"name": f"bench-{n:03d}", "url": base_url + path, "fetch_articles": True}
                  for n, path in enumerate(feeds)],
    })  # fmt: skip


def run_framewatch(
    db_url: str,
    base_url: str,
    feeds: list[str],
    concurrency: int,
    idle_cycles: int,
    workers: int | None = None,
    inline_pages: int | None = None,
) -> dict[str, Any]:
    """One full poll (everything new) then ``idle_cycles`` polls where every feed is 304.
    ``workers``: processes for the pipeline's pure first step (default: framewatch's own
    choice, one per core; 1 runs it in the writing thread)."""
    from ingest.fetch.client import Fetcher
    from ingest.pipeline import workers as pipeline_workers
    from storage import migrate
    from storage.db import make_engine, make_session_factory

    settings = _settings(db_url, base_url, feeds, concurrency)
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    clock = StageClock()
    worker_dir = Path(tempfile.mkdtemp(prefix="fw-stages-"))  # removed with the child's tmp
    os.environ[STAGE_DIR_ENV] = str(worker_dir)  # inherited by the Preparer's workers
    pipeline_workers.prepare_item = timed_prepare  # type: ignore[assignment]
    # as in the service: one Preparer kept across polls; unless ``inline_pages`` is given,
    # its workers are running already, as they are in a service that has polled before
    preparer = pipeline_workers.Preparer(workers, inline_pages or 0, keep=True)
    _warm_up()
    if inline_pages is None:
        preparer.start()
    with Fetcher("framewatch-bench", 30, 5_000_000, True) as fetcher, preparer:
        first = _first_poll(settings, factory, fetcher, preparer, clock, worker_dir)
        idle = _idle_polls(settings, factory, fetcher, preparer, idle_cycles)
    counts = _counts(engine)
    size = _database_bytes(engine)
    engine.dispose()
    return {
        **_first_poll_figures(first, clock, workers),
        **counts,
        "db_bytes": size,
        **_idle_figures(idle, idle_cycles, len(feeds)),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_worker_mb": round(first.worker_rss_mb, 1),
    }


@dataclass
class FirstPoll:
    """The poll that finds everything new: its report, CPU (the workers' included), wall."""

    report: Any  # ingest.sources.poll.PollReport
    cpu_s: float
    wall_s: float
    unpatched: list[str]  # stage functions not found
    worker_rss_mb: float


def _first_poll(
    settings: Any, factory: Any, fetcher: Any, preparer: Any, clock: StageClock, worker_dir: Path
) -> FirstPoll:
    """The poll timed by stage; the worker processes' stages and CPU are added to ``clock``."""
    from ingest.sources.poll import poll_feeds

    with timed_stages(clock) as missing:
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        report = poll_feeds(settings, factory, fetcher, preparer=preparer)
        cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    workers_seen = _worker_totals(worker_dir)
    cpu += workers_seen.cpu_s
    for stage, seconds in workers_seen.stages.items():
        clock.seconds[stage] += seconds
    clock.seconds["workers"] = max(0.0, workers_seen.cpu_s - sum(workers_seen.stages.values()))
    shutil.rmtree(worker_dir, ignore_errors=True)
    return FirstPoll(report, cpu, wall, missing, workers_seen.max_rss_mb)


def _first_poll_figures(first: FirstPoll, clock: StageClock, workers: int | None) -> dict[str, Any]:
    stages = {name: round(clock.seconds.get(name, 0.0), 3) for name in STAGE_ORDER[:-1]}
    stages["other"] = round(max(0.0, first.cpu_s - sum(stages.values())), 3)
    report = first.report
    return {
        "cpu_s": round(first.cpu_s, 3),
        "wall_s": round(first.wall_s, 3),
        "cores_used": round(first.cpu_s / first.wall_s, 2),
        "workers": workers if workers is not None else os.cpu_count(),
        "stages": stages,
        "stage_wall_s": {k: round(v, 3) for k, v in clock.wall.items()},
        "unpatched_stages": first.unpatched,
        "entries": report.total("entries"),
        "stored": report.total("stored"),
        "duplicates": report.total("duplicates"),
        "irrelevant": report.total("irrelevant"),
        "page_errors": report.total("page_errors"),
        "failed_feeds": [f"{f.name}: {f.error}" for f in report.failed],
        "new_flags": report.new_flags,
    }


@dataclass
class IdlePolls:
    cpu_s: float = 0.0
    wall_s: float = 0.0
    statuses: set[str] = field(default_factory=set)  # the feeds' poll statuses seen


def _idle_polls(settings: Any, factory: Any, fetcher: Any, preparer: Any, cycles: int) -> IdlePolls:
    """``cycles`` polls of the unchanged web (every feed should answer 304)."""
    from ingest.sources.poll import PollOptions, poll_feeds

    idle = IdlePolls()
    options = PollOptions(sync_sources=False)
    for _ in range(cycles):
        started, started_wall = cpu_seconds(), time.perf_counter()
        polled = poll_feeds(settings, factory, fetcher, options=options, preparer=preparer)
        idle.cpu_s += cpu_seconds() - started
        idle.wall_s += time.perf_counter() - started_wall
        idle.statuses |= {f.status for f in polled.feeds}
    return idle


def _idle_figures(idle: IdlePolls, cycles: int, feeds: int) -> dict[str, Any]:
    return {
        "idle_cycles": cycles,
        "idle_statuses": sorted(idle.statuses),
        "idle_cpu_ms_per_feed": round(1000 * idle.cpu_s / max(1, cycles * feeds), 3),
        "idle_wall_ms_per_feed": round(1000 * idle.wall_s / max(1, cycles * feeds), 3),
    }


def _warm_up() -> None:
    """What a long-running service does once (``ingest.pipeline.warmup``: imports, the language
    model, the codebook's compiled patterns; the worker processes' fork server, which
    preloads the same); the floor gets the same: one extraction before its clock."""
    from multiprocessing import forkserver

    import ingest.pipeline.warmup  # noqa: F401  (importing it warms up)
    from ingest.pipeline.workers import worker_context

    worker_context()  # sets what the fork server preloads
    forkserver.ensure_running()


def _counts(engine: Any) -> dict[str, int]:
    with engine.connect() as conn:
        articles = conn.execute(text("SELECT count(*) FROM articles")).scalar_one()
        copies = conn.execute(
            text("SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL")
        ).scalar_one()
        framed = conn.execute(text("SELECT count(DISTINCT article_id) FROM article_frames"))
        return {"articles": articles, "near_copies_linked": copies,
                "articles_with_frames": framed.scalar_one()}  # fmt: skip


def _database_bytes(engine: Any) -> int:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')"
            )).scalar_one())  # fmt: skip
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    path = Path(engine.url.database or "")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def _child(fn: Callable[..., dict[str, Any]], args: tuple[Any, ...], queue: Any) -> None:
    try:
        queue.put(("ok", fn(*args)))
    except BaseException as exc:  # reported in the parent
        import traceback

        queue.put(("error", f"{exc!r}\n{traceback.format_exc()}"))


def measure_in_child(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``fn(*args)`` in a fresh (spawned) process: its own CPU clock and peak memory."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(fn, args, queue))
    process.start()
    status, value = queue.get()
    process.join()
    if status != "ok":
        raise RuntimeError(f"{fn.__name__} failed in its process: {value}")
    return dict(value)


def load_average() -> float:
    return round(os.getloadavg()[0], 2)
