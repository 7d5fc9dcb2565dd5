"""Site crawls, each in its own process: start it, enforce the time limit, record the run.

Twisted's reactor cannot be restarted and a crashing spider must not take a long-running
service down, so every crawl is a child process (``python -m spiders.run --job FILE``).
The parent records the run in ``crawl_runs`` before the child starts and again when it
ends, however it ends: ``finished``, ``failed`` (crashed or exited non-zero) or ``killed``
(still running at the time limit; it is asked to stop, then killed). The child reports
its stats in a JSON file every few seconds, so even a killed crawl leaves figures.

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
class CrawlJob:
    """What a crawl process needs; written as JSON for ``python -m spiders.run --job``."""

    site: str
    source_id: int
    settings: dict[str, Any]  # Settings.model_dump(mode="json"), validated again by the child
    stats_path: str
    refresh: bool = False
    soft_limit_s: float = 1800.0  # the child stops itself gracefully after this
    log_level: str = "WARNING"
    config_path: str | None = None  # Settings.source_path, which the dump leaves out

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> CrawlJob:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class ChildReport:
    """The stats a crawl process wrote (see ``spiders.extensions.summarize_stats``)."""

    pages: int = 0
    items: int = 0
    new_articles: int = 0
    duplicates: int = 0
    off_story: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    stop_reason: str | None = None
    elapsed_s: float = 0.0  # spider opened to closed (without the process start)


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
    """When the child should stop itself: before the parent's hard limit, with room to close."""
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
    """Crawl the configured sites (or those named), one process after another, then end
    the batch (:func:`finish_crawls`).

    Setting ``stop`` (the service's shutdown flag) stops the running crawl process and
    starts no further one.
    """
    from ingest.sources.poll import sync_config_sources

    sites = [settings.site(name) for name in names] if names else list(settings.sites)
    source_ids = sync_config_sources(settings, factory, datetime.now(UTC))
    reports = []
    for site in sites:
        if stop is not None and stop.is_set():
            break
        report = crawl_site(
            settings,
            factory,
            site.name,
            source_ids[site.name],
            refresh=refresh,
            time_limit_s=time_limit_s,
            log_level=log_level,
            stop=stop,
        )
        reports.append(report)
        if on_done:
            on_done(report)
    finish_crawls(settings, factory, reports)
    return reports


def finish_crawls(
    settings: Settings, factory: sessionmaker[Session], reports: Sequence[CrawlReport]
) -> int:
    """Each crawl process ends its own batch (``spiders.store.CrawlStore.finish``); a child
    that failed or was killed at its time limit may not have, so its flags are refreshed
    here. New flags."""
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
    limit = time_limit_s or settings.crawl.time_limit_s
    clock = time.monotonic()
    run_id = _start_run(factory, source_id, limit)
    with tempfile.TemporaryDirectory(prefix="framewatch-crawl-") as tmp:
        work = Path(tmp)
        job = CrawlJob(
            site, source_id, settings.model_dump(mode="json"), str(work / "stats.json"),
            refresh, soft_limit(limit), log_level, settings.source_path,
        )  # fmt: skip
        job.write(work / "job.json")
        argv = list(
            command or [sys.executable, "-m", "spiders.run", "--job", str(work / "job.json")]
        )
        try:
            on_start = functools.partial(_note_pid, factory, run_id)
            status, note = _run_child(argv, work / "crawl.log", limit, on_start, stop)
        except BaseException:  # interrupted: the run is closed, the child already stopped
            _record(
                factory, run_id, site, crawls.KILLED, "killed: interrupted", ChildReport(), clock
            )
            raise
        child, tail = _read_report(work / "stats.json"), _log_tail(work / "crawl.log", site)
    status, reason = _judge(status, note, child, tail)
    report = _record(factory, run_id, site, status, reason, child, clock)
    log.info("crawl %s: %s", report.status, report.stop_reason, extra={"source": site})
    return report


def _start_run(factory: sessionmaker[Session], source_id: int, limit_s: float) -> int:
    now = datetime.now(UTC)
    with unit_of_work(factory) as session:
        stale_before = now - timedelta(seconds=limit_s + 2 * KILL_GRACE_S)
        crawls.abandon_stale_runs(session, source_id, stale_before, now)
        return crawls.start_run(session, source_id, now)


def _note_pid(factory: sessionmaker[Session], run_id: int, pid: int) -> None:
    with unit_of_work(factory) as session:
        crawls.set_pid(session, run_id, pid)


def _run_child(
    argv: list[str],
    log_path: Path,
    limit_s: float,
    on_start: Callable[[int], None],
    stop: threading.Event | None,
) -> tuple[str, str | None]:
    """Run the crawl process to its end, the time limit or ``stop``: (status, what happened)."""
    deadline = time.monotonic() + limit_s
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
        )
        try:
            on_start(proc.pid)
            while (code := _wait(proc, deadline)) is None:
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
