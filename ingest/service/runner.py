"""`framewatch run`: the long-running service.

APScheduler 3 runs the jobs in worker threads; the main thread only waits for a signal.
Every job has ``max_instances=1`` and coalesces missed runs, so an overrunning poll never
piles up. All state that matters lives in the database (feed due times and validators,
crawl runs, digests written), so a restart resumes where the last run stopped.

A store outage (PostgreSQL restarting, a full disk) is one state (``ingest.service.outage``):
the failing job's cycle stops, one line is logged, no job works and no feed is fetched
until the store answers a try again (capped exponential backoff with jitter), and one line
says when it is back. Before each job the service proves it still holds its lock
(``ServiceLock.verify``), re-taking it after a database restart, and pauses while another
service holds it.

Shutdown (SIGTERM / SIGINT): the stop flag is set, so a poll stops between feeds and
applies nothing fetched after the signal; the HTTP client is closed, which cuts in-flight
requests short; crawl processes are asked to stop; the scheduler waits for running jobs,
whose current transaction commits or rolls back whole. The target is an exit within ten
seconds with exit code 0.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from ingest.config.settings import Settings
from ingest.fetch.client import Fetcher
from ingest.model.errors import StorageError
from ingest.pipeline.workers import Preparer
from ingest.service.keeper import Keeper
from ingest.service.lock import AlreadyRunning, ServiceLock, service_files
from ingest.service.metrics import MetricsServer, ServiceMetrics
from ingest.service.outage import StateFile, outage_from_record
from ingest.sources.poll import PollOptions, poll_feeds, sync_config_sources
from storage import maintenance, migrate
from storage.db import make_session_factory, unit_of_work

log = logging.getLogger(__name__)

SHUTDOWN_BUDGET_S = 8.0
MAX_TICK = timedelta(seconds=30)


@dataclass(frozen=True)
class ServiceOptions:
    metrics_port: int | None = None
    tick: timedelta | None = None  # how often due feeds are looked for; default from config


def poll_tick(settings: Settings) -> timedelta:
    """Look for due feeds often enough that each is polled close to its own due time."""
    return max(timedelta(seconds=1), min(settings.schedule.poll_interval / 2, MAX_TICK))


class Service:
    def __init__(self, settings: Settings, engine: Engine, options: ServiceOptions) -> None:
        self.settings = settings
        self.engine = engine
        self.options = options
        self.factory = make_session_factory(engine)
        self.stop_event = threading.Event()
        self.metrics = ServiceMetrics()
        files = service_files(settings)
        self.lock = ServiceLock(engine, files)
        self.state = StateFile(files.with_name(files.name + ".state"))
        self.keeper = Keeper(self.factory, self.lock, self.state, self.metrics)
        self.last_ok: dict[str, float] = {}
        self.flags_stale = True
        f = settings.fetch
        self.fetcher = Fetcher(
            f.user_agent, f.timeout_s, f.max_bytes, f.allow_private_addresses,
            max_connections=max(8, f.concurrency * 2),
        )  # fmt: skip
        # worker processes for the pure part of the pipeline, kept for the service's life
        self.preparer = Preparer(keep=True)
        self.scheduler = BackgroundScheduler(
            timezone=settings.schedule.timezone,
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 3600},
        )

    # -- lifecycle ----------------------------------------------------------------------

    def run(self) -> None:
        """Start, block until a signal, stop. Raises AlreadyRunning if another service runs."""
        self._install_signal_handlers()  # first: a signal during start-up still stops cleanly
        self.lock.acquire_local()
        earlier = self.state.open()
        try:
            if self.options.metrics_port is not None:  # /healthz tells of a store out at start
                self.metrics_server = MetricsServer(
                    self.metrics, self.options.metrics_port, self.health
                )
                self.metrics_server.start()
            if self._open_store(earlier):
                self._start()
                log.info("framewatch service running (%d feeds, %d sites)",
                         len(self.settings.feeds), len(self.settings.sites))  # fmt: skip
                while not self.stop_event.wait(0.5):
                    self.keeper.tend()
                self._shutdown()
        finally:
            if getattr(self, "metrics_server", None) is not None:
                self.metrics_server.stop()
            self.keeper.write_state("stopped")
            self.state.close()
            self.lock.release()

    def _open_store(self, earlier: dict[str, Any] | None) -> bool:
        """Take the lock, migrate and register the sources, waiting out a store that does
        not answer yet; False if stopped meanwhile. Raises AlreadyRunning."""
        left = outage_from_record((earlier or {}).get("outage"))
        while not self.stop_event.is_set():
            try:
                self.lock.acquire()
                migrate.upgrade(self.engine)  # an older database is brought up to date
                sync_config_sources(self.settings, self.factory, datetime.now(UTC))
                for outage in (left, self.keeper.watch.outage):
                    if outage is not None:  # the last run stopped in it, or this start met it
                        self.keeper.record(outage, datetime.now(UTC))
                left = None
                self.keeper.watch.store_answered(datetime.now(UTC))
                self.keeper.confirm()
                self.keeper.write_state()
                return True
            except AlreadyRunning:
                raise
            except Exception as exc:
                if not self.keeper.failed(exc):
                    raise
            while not self.keeper.watch.due() and not self.stop_event.wait(0.2):
                pass
        return False

    def request_stop(self) -> None:
        self.stop_event.set()

    def _start(self) -> None:
        now = datetime.now(UTC)
        tick = self.options.tick or poll_tick(self.settings)
        self._add("poll", self.poll_due, "interval", seconds=tick.total_seconds(), start=now)
        if self.settings.sites:
            interval = self.settings.schedule.crawl_interval
            first = self._next_crawl(now, interval)
            self._add(
                "crawl", self.crawl, "interval", seconds=interval.total_seconds(), start=first
            )
        self._add(
            "maintenance", self.maintain, "interval", hours=24, start=now + timedelta(minutes=1)
        )
        self._schedule_digest(now)
        self.scheduler.start()

    def _schedule_digest(self, now: datetime) -> None:
        hour, minute = (int(part) for part in self.settings.schedule.digest_at.split(":"))
        job = self._guarded("digest", self.digest)
        self.scheduler.add_job(
            job, "cron", id="digest", name="digest", hour=hour, minute=minute,
            timezone=self.settings.schedule.timezone,
        )  # fmt: skip
        # A digest missed while the service was down is written once, now: the job writes
        # only days not written yet, so a restart never repeats one.
        self.scheduler.add_job(job, "date", id="digest-catch-up", run_date=now)

    def _add(
        self, name: str, func: Callable[[], Any], trigger: str, start: datetime, **interval: float
    ) -> None:
        self.scheduler.add_job(
            self._guarded(name, func), trigger, id=name, name=name, next_run_time=start,
            **interval,
        )  # fmt: skip

    def _shutdown(self) -> None:
        log.info("stopping: finishing the current work")
        started = time.monotonic()
        self.fetcher.close()  # cuts in-flight requests short; their results are discarded
        stopper = threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True})
        stopper.start()
        stopper.join(SHUTDOWN_BUDGET_S)
        if stopper.is_alive():
            log.warning("a job is still running after %.0fs; exiting anyway", SHUTDOWN_BUDGET_S)
        self.preparer.close()
        log.info("stopped in %.1fs", time.monotonic() - started)

    def _install_signal_handlers(self) -> None:
        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s", signal.Signals(signum).name)
            self.request_stop()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)

    def healthy(self) -> bool:
        """Healthy while running, the store usable, the lock held and polls completing
        (within three ticks)."""
        tick = (self.options.tick or poll_tick(self.settings)).total_seconds()
        last = self.last_ok.get("poll")
        return (
            not self.stop_event.is_set()
            and self.keeper.watch.outage is None
            and self.keeper.paused_by is None
            and last is not None
            and time.time() - last < 3 * tick + 60
        )

    def health(self) -> dict[str, Any]:
        """/healthz's body: the verdict, then the store's and the lock's state."""
        return {
            "status": "ok" if self.healthy() else "unhealthy",
            **self.keeper.health(),
            "last_poll_ok": self.last_ok.get("poll"),
        }

    # -- jobs ---------------------------------------------------------------------------

    def _guarded(self, name: str, job: Callable[[], Any]) -> Callable[[], None]:
        """A job runs only while the store is usable and the lock proven; a storage
        failure opens an outage, any other error is logged and counted; the service and
        the schedule go on."""

        def run() -> None:
            if self.stop_event.is_set() or not self.keeper.may_work():
                return
            try:
                job()
            except Exception as exc:
                if self.keeper.failed(exc):
                    self.flags_stale = True  # it may have stored articles, not their flags
                else:
                    self.metrics.job_failures.labels(name).inc()
                    log.exception("job %s failed; it runs again at its next time", name)
                return
            self.last_ok[name] = time.time()
            self.keeper.confirm()

        return run

    def poll_due(self) -> None:
        # The first poll after a start or a storage failure recomputes the flags whatever
        # it stores: the last run (or cycle) may have stopped between storing articles and
        # recomputing them.
        options = PollOptions(
            due_only=True, stop=self.stop_event, sync_sources=False,
            refresh_flags=self.flags_stale,
        )  # fmt: skip
        started = time.monotonic()
        report = poll_feeds(
            self.settings, self.factory, self.fetcher, options=options, preparer=self.preparer
        )
        self.flags_stale = False
        self.metrics.record_poll(report)
        if report.feeds:
            log.info(
                "poll: %d feeds, %d new articles, %d duplicates, %d failing (%.1fs)",
                len(report.feeds), report.total("stored"), report.total("duplicates"),
                len(report.failed), time.monotonic() - started,
            )  # fmt: skip

    def crawl(self) -> None:
        from ingest.sources.crawl import crawl_sites

        for report in crawl_sites(self.settings, self.factory, stop=self.stop_event):
            self.metrics.crawls.labels(report.status).inc()

    def digest(self) -> None:
        from ingest.digest.job import run_daily_digest

        written = run_daily_digest(self.settings, self.factory, datetime.now(UTC))
        if written:
            log.info("digest written: %s", ", ".join(str(p) for p in written))

    def maintain(self) -> None:
        with unit_of_work(self.factory) as session:
            removed = maintenance.prune_fetch_log(session, datetime.now(UTC))
        log.info("maintenance: %d old fetch-log rows removed", removed)

    def _next_crawl(self, now: datetime, interval: timedelta) -> datetime:
        """Resume the crawl rhythm across restarts: due one interval after the last crawl."""
        try:
            with unit_of_work(self.factory) as session:
                last = maintenance.last_crawl_started(session)
        except StorageError:
            return now  # the store just went out again: the crawl's gate waits for it
        return now if last is None else max(now, last + interval)
