"""Site crawls: all the sites of a run in one crawl process, each run recorded on its own.

Twisted's reactor cannot be restarted and a crashing spider must not take a long-running
service down, so a crawl runs in a child process (``python -m spiders.run --job FILE``):
one process, one Scrapy run, every site of the batch crawled concurrently by its own
spider (politeness is per site: each spider has its own downloader, concurrency,
AutoThrottle and robots.txt). The parent records each site's run in ``crawl_runs`` before
the child starts and again when the site's spider closes (a site that is done is recorded
at once, however long the others take) or, for sites still running, when the process
ends, however it ends: ``finished``, ``failed`` (crashed or exited non-zero) or ``killed``
(still running at the time limit; the process is asked to stop, then killed). Each spider
stops itself before the time limit; the child reports each site's stats in its own JSON
file every few seconds, so even a killed crawl leaves figures.

The scheduler service calls :func:`crawl_sites` / :func:`crawl_site` like the CLI does.
"""

from __future__ import annotations

import functools
import json
import logging
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ingest.config.settings import Settings
from ingest.pipeline.run import Pipeline
from storage import crawls
from storage.db import unit_of_work

log = logging.getLogger(__name__)

# After the time limit, the child gets this long to stop cleanly before it is killed.
KILL_GRACE_S = 5.0
LOG_TAIL_LINES = 200
WAIT_STEP_S = 0.2  # how often the parent checks the stop flag and the time limit


@dataclass(frozen=True)
class SiteJob:
    """One site of a crawl process: its name, its source row and its stats file."""

    site: str
    source_id: int
    stats_path: str


@dataclass(frozen=True)
class CrawlJob:
    """What a crawl process needs; written as JSON for ``python -m spiders.run --job``."""

    sites: tuple[SiteJob, ...]
    settings: dict[str, Any]  # Settings.model_dump(mode="json"), validated again by the child
    refresh: bool = False
    soft_limit_s: float = 1800.0  # each spider stops itself gracefully after this
    log_level: str = "WARNING"
    config_path: str | None = None  # Settings.source_path, which the dump leaves out

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> CrawlJob:
        data = json.loads(path.read_text(encoding="utf-8"))
        sites = tuple(SiteJob(**site) for site in data.pop("sites"))
        return cls(sites, **data)


@dataclass(frozen=True)
class ChildReport:
    """The stats a crawl process wrote for one site (``spiders.extensions.summarize_stats``)."""

    pages: int = 0
    items: int = 0
    new_articles: int = 0
    duplicates: int = 0
    off_story: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    stop_reason: str | None = None
    elapsed_s: float = 0.0  # spider opened to closed (without the process start)
    finish_reason: str | None = None  # set once the site's spider has closed


@dataclass(frozen=True)
class CrawlReport:
    site: str
    run_id: int
    status: str  # finished | failed | killed
    stop_reason: str | None
    pages: int = 0
    items: int = 0
    new_articles: int = 0
    duplicates: int = 0
    off_story: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    duration_ms: int = 0  # the whole run, process start included
    spider_ms: int = 0  # the crawl itself, from the spider's start to its end

    @property
    def failed(self) -> bool:
        return self.status != crawls.FINISHED


def soft_limit(time_limit_s: float) -> float:
    """When a spider should stop itself: before the parent's hard limit, with room to close."""
    return max(1.0, min(time_limit_s * 0.9, time_limit_s - KILL_GRACE_S))


def crawl_sites(
    settings: Settings,
    factory: sessionmaker[Session],
    names: Sequence[str] = (),
    refresh: bool = False,
    time_limit_s: float | None = None,
    log_level: str = "WARNING",
    on_done: Callable[[CrawlReport], None] | None = None,
    stop: threading.Event | None = None,
) -> list[CrawlReport]:
    """Crawl the configured sites (or those named), all at once in one crawl process, then
    end the batch (:func:`finish_crawls`). ``on_done`` hears of each site as it ends.

    Setting ``stop`` (the service's shutdown flag) stops the crawl process; already set,
    nothing is crawled.
    """
    from ingest.sources.poll import sync_config_sources

    sites = [settings.site(name) for name in names] if names else list(settings.sites)
    reports: list[CrawlReport] = []
    if sites and not (stop is not None and stop.is_set()):
        source_ids = sync_config_sources(settings, factory, datetime.now(UTC))
        options = _Options(refresh, time_limit_s or settings.crawl.time_limit_s, log_level)
        batch = [(site.name, source_ids[site.name]) for site in sites]
        reports = crawl_batch(settings, factory, batch, options, on_done=on_done, stop=stop)
    finish_crawls(settings, factory, reports)
    return reports


def finish_crawls(
    settings: Settings, factory: sessionmaker[Session], reports: Sequence[CrawlReport]
) -> int:
    """The crawl process ends its own batch (``spiders.store.CrawlStore.finish``); one that
    failed or was killed at its time limit may not have, so its flags are refreshed here.
    New flags."""
    pipeline = Pipeline.from_settings(settings, factory)
    new_flags = pipeline.finish(datetime.now(UTC), refresh=any(r.failed for r in reports))
    if new_flags:
        log.info("crawls raised %d new flags", new_flags)
    return new_flags


def crawl_site(
    settings: Settings,
    factory: sessionmaker[Session],
    site: str,
    source_id: int,
    *,
    refresh: bool = False,
    time_limit_s: float | None = None,
    log_level: str = "WARNING",
    command: Sequence[str] | None = None,
    stop: threading.Event | None = None,
) -> CrawlReport:
    """One site crawl in a child process, recorded in ``crawl_runs`` whatever happens.

    ``command`` replaces the child's command line (tests use it to simulate a crash).
    """
    settings.site(site)  # unknown names fail before any work
    options = _Options(refresh, time_limit_s or settings.crawl.time_limit_s, log_level)
    [report] = crawl_batch(settings, factory, [(site, source_id)], options, command, stop=stop)
    return report


@dataclass(frozen=True)
class _Options:
    refresh: bool
    limit_s: float
    log_level: str


def crawl_batch(
    settings: Settings,
    factory: sessionmaker[Session],
    sites: Sequence[tuple[str, int]],
    options: _Options,
    command: Sequence[str] | None = None,
    *,
    on_done: Callable[[CrawlReport], None] | None = None,
    stop: threading.Event | None = None,
) -> list[CrawlReport]:
    """``sites`` (name, source id) crawled by one child process; a report per site, in order."""
    clock = time.monotonic()
    run_ids = [_start_run(factory, source_id, options.limit_s) for _name, source_id in sites]
    with tempfile.TemporaryDirectory(prefix="framewatch-crawl-") as tmp:
        work = Path(tmp)
        jobs = tuple(
            SiteJob(name, source_id, str(work / f"stats-{n}.json"))
            for n, (name, source_id) in enumerate(sites)
        )
        CrawlJob(
            jobs, settings.model_dump(mode="json"), options.refresh,
            soft_limit(options.limit_s), options.log_level, settings.source_path,
        ).write(work / "job.json")  # fmt: skip
        argv = list(
            command or [sys.executable, "-m", "spiders.run", "--job", str(work / "job.json")]
        )
        runs = _Runs(factory, list(zip(jobs, run_ids, strict=True)), clock, on_done)
        try:
            on_start = functools.partial(_note_pid, factory, run_ids)
            outcome = _run_child(argv, work / "crawl.log", options.limit_s, on_start, stop,
                                 runs.record_closed)  # fmt: skip
        except BaseException:  # interrupted: the runs are closed, the child already stopped
            runs.record_rest(crawls.KILLED, "killed: interrupted", "")
            raise
        runs.record_closed()
        runs.record_rest(*outcome, _log_tail(work / "crawl.log", ", ".join(j.site for j in jobs)))
    return runs.in_order()


class _Runs:
    """The crawl runs of one crawl process: each recorded once, as soon as its site is done
    (its spider closed) or when the process has ended."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        runs: list[tuple[SiteJob, int]],
        clock: float,
        on_done: Callable[[CrawlReport], None] | None,
    ) -> None:
        self.factory, self.runs, self.clock, self.on_done = factory, runs, clock, on_done
        self.reports: dict[str, CrawlReport] = {}

    def record_closed(self) -> None:
        for job, run_id in self.runs:
            if job.site not in self.reports:
                child = _read_report(Path(job.stats_path))
                if child.finish_reason is not None:
                    self._close(job, run_id, crawls.FINISHED, None, child, "")

    def record_rest(self, status: str, note: str | None, tail: str) -> None:
        for job, run_id in self.runs:
            if job.site not in self.reports:
                self._close(job, run_id, status, note, _read_report(Path(job.stats_path)), tail)

    def _close(
        self, job: SiteJob, run_id: int, status: str, note: str | None, child: ChildReport,
        tail: str,
    ) -> None:  # fmt: skip
        status, reason = _judge(status, note, child, tail)
        report = _record(self.factory, run_id, job.site, status, reason, child, self.clock)
        self.reports[job.site] = report
        log.info("crawl %s: %s", report.status, report.stop_reason, extra={"source": job.site})
        if self.on_done:
            self.on_done(report)

    def in_order(self) -> list[CrawlReport]:
        return [self.reports[job.site] for job, _run_id in self.runs]


def _start_run(factory: sessionmaker[Session], source_id: int, limit_s: float) -> int:
    now = datetime.now(UTC)
    with unit_of_work(factory) as session:
        stale_before = now - timedelta(seconds=limit_s + 2 * KILL_GRACE_S)
        crawls.abandon_stale_runs(session, source_id, stale_before, now)
        return crawls.start_run(session, source_id, now)


def _note_pid(factory: sessionmaker[Session], run_ids: Sequence[int], pid: int) -> None:
    with unit_of_work(factory) as session:
        for run_id in run_ids:
            crawls.set_pid(session, run_id, pid)


def _run_child(
    argv: list[str],
    log_path: Path,
    limit_s: float,
    on_start: Callable[[int], None],
    stop: threading.Event | None,
    on_tick: Callable[[], None] = lambda: None,
) -> tuple[str, str | None]:
    """Run the crawl process to its end, the time limit or ``stop``: (status, what happened).
    ``on_tick`` runs every ``WAIT_STEP_S`` meanwhile."""
    deadline = time.monotonic() + limit_s
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
        )
        try:
            on_start(proc.pid)
            while (code := _wait(proc, deadline)) is None:
                on_tick()
                if stop is not None and stop.is_set():
                    _stop(proc)
                    return crawls.KILLED, "stopped: framewatch is shutting down"
                if time.monotonic() >= deadline:
                    _stop(proc)
                    return (
                        crawls.KILLED,
                        f"killed: still running after the time limit of {limit_s:g}s",
                    )
        except BaseException:  # interrupted: never leave a crawl running behind us
            _stop(proc)
            raise
    if code == 0:
        return crawls.FINISHED, None
    if code < 0:
        return crawls.FAILED, f"crashed: {signal.Signals(-code).name}"
    return crawls.FAILED, f"crashed: exit code {code}"


def _wait(proc: subprocess.Popen[bytes], deadline: float) -> int | None:
    try:
        return proc.wait(timeout=max(0.0, min(WAIT_STEP_S, deadline - time.monotonic())))
    except subprocess.TimeoutExpired:
        return None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Ask the crawl process to stop (Scrapy closes cleanly on SIGTERM), then kill it."""
    proc.terminate()
    try:
        proc.wait(timeout=KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _read_report(path: Path) -> ChildReport:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ChildReport(
            pages=int(data["pages"]),
            items=int(data["items"]),
            new_articles=int(data["new_articles"]),
            duplicates=int(data.get("duplicates", 0)),
            off_story=int(data.get("off_story", 0)),
            errors={str(k): int(v) for k, v in dict(data.get("errors", {})).items()},
            stop_reason=str(data["stop_reason"]),
            elapsed_s=float(data.get("elapsed_s", 0.0)),
            finish_reason=data.get("finish_reason"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return ChildReport()  # no report (yet): a crash before the first one


def _log_tail(path: Path, site: str) -> str:
    """The child's last meaningful log line (an exception's message, usually); the whole
    log goes to this process's log at debug level."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_TAIL_LINES:]
    except OSError:
        return ""
    for line in lines:
        log.debug("crawl process: %s", line, extra={"source": site})
    meaningful = [line.strip() for line in lines if line.strip()]
    return meaningful[-1][:300] if meaningful else ""


def _judge(status: str, note: str | None, child: ChildReport, tail: str) -> tuple[str, str]:
    """The run's final status and the one line that says why it stopped."""
    if status == crawls.FINISHED and child.stop_reason is None:
        status, note = crawls.FAILED, "the crawl process ended without a report"
    elif status == crawls.FINISHED and child.pages == 0 and child.errors:
        problems = ", ".join(f"{kind} {n}" for kind, n in child.errors.items())
        return crawls.FAILED, f"nothing could be fetched ({problems})"
    if status == crawls.FINISHED:
        return status, child.stop_reason or "finished"
    parts = [note or status]
    if status == crawls.FAILED and tail:
        parts.append(tail)
    if child.stop_reason and not child.stop_reason.startswith("still running"):
        parts.append(f"last report: {child.stop_reason}")
    return status, "; ".join(parts)


def _record(
    factory: sessionmaker[Session],
    run_id: int,
    site: str,
    status: str,
    reason: str,
    child: ChildReport,
    clock: float,
) -> CrawlReport:
    duration_ms = int((time.monotonic() - clock) * 1000)
    stats = crawls.RunStats(child.pages, child.items, child.new_articles, child.errors, reason)
    with unit_of_work(factory) as session:
        crawls.finish_run(session, run_id, status, stats, datetime.now(UTC), duration_ms)
    return CrawlReport(
        site=site,
        run_id=run_id,
        status=status,
        stop_reason=reason,
        pages=child.pages,
        items=child.items,
        new_articles=child.new_articles,
        duplicates=child.duplicates,
        off_story=child.off_story,
        errors=dict(child.errors),
        duration_ms=duration_ms,
        spider_ms=int(child.elapsed_s * 1000),
    )
