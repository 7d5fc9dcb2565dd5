"""Between the service's jobs and the store: the gate every job passes (store usable, lock
proven), what a storage failure does (one outage, one line), the tries while the store is
out, and the state file and metrics that show it (see ``ingest.service.outage``)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ingest.model.outages import Outage
from ingest.service.lock import ServiceLock
from ingest.service.metrics import ServiceMetrics
from ingest.service.outage import StateFile, StoreWatch, outage_record
from storage import outages
from storage.db import unit_of_work
from storage.failures import as_storage_error

log = logging.getLogger("ingest.service")

LOCK_RETRY_S = 5.0  # how often a paused service asks whether the lock is free again


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _took(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


class Keeper:
    def __init__(
        self,
        factory: sessionmaker[Session],
        lock: ServiceLock,
        state: StateFile,
        metrics: ServiceMetrics,
    ) -> None:
        self.factory, self.lock, self.state, self.metrics = factory, lock, state, metrics
        self.watch = StoreWatch()
        self.paused_by: str | None = None  # another service holds the lock
        self.last_outage: Outage | None = None
        self.started_at = _utcnow()
        self._lock_checked = 0.0
        self._mutex = threading.Lock()

    # -- the gate -----------------------------------------------------------------------

    def may_work(self) -> bool:
        """Before each job: the store usable and the lock still ours (proven now)."""
        if not self.watch.may_work() or self.paused_by is not None:
            return False
        return self._lock_proven()

    def _lock_proven(self) -> bool:
        try:
            held = self.lock.verify()
        except Exception as exc:
            if self.failed(exc):
                return False
            raise
        self.metrics.lock_held.set(1 if held else 0)
        if not held:
            self._pause()
        return held

    def _pause(self) -> None:
        holder = self.lock.holder()
        with self._mutex:
            first = self.paused_by is None
            self.paused_by = holder.describe() if holder else "another process"
            self._lock_checked = time.monotonic()
        if first:
            log.error("another service holds the lock (%s); work paused until it is free",
                      self.paused_by)  # fmt: skip
            self.write_state()

    # -- failures and recovery ----------------------------------------------------------

    def failed(self, exc: BaseException) -> bool:
        """A job's error: True when it is the store failing (the outage takes it over)."""
        failure = as_storage_error(exc)
        if failure is None:
            return False
        self.metrics.store_failures.inc()
        if self._lock_in_store:
            self.metrics.lock_held.set(0)
        if self.watch.failed(failure, _utcnow()):
            log.error("storage unusable: %s; work paused, trying again with backoff", failure)
            self.metrics.store_outages.inc()
        self.metrics.record_store(self.watch.outage)
        self.write_state()
        return True

    def confirm(self) -> None:
        """A job completed: an outage the store has answered since is over."""
        ended = self.watch.confirm()
        if ended is None:
            return
        self.last_outage = ended
        log.warning("storage is back after %s (unusable since %s UTC); work resumed",
                    _took(ended.seconds(_utcnow())),
                    ended.started_at.strftime("%Y-%m-%d %H:%M:%S"))  # fmt: skip
        self.metrics.record_store(None)
        self.write_state()

    def tend(self) -> None:
        """From the main loop: try the store when due; ask for a lost lock now and then."""
        if self.watch.due():
            self._try_store()
        elif self.paused_by is not None and time.monotonic() > self._lock_checked + LOCK_RETRY_S:
            self._try_lock()

    def _try_store(self) -> None:
        outage, now = self.watch.outage, _utcnow()
        try:
            held = self.lock.verify()
            if outage is not None:  # the proof that writes work again
                self.record(outage, now)
        except Exception as exc:
            if not self.failed(exc):
                log.exception("trying the store failed")
            return
        self.watch.store_answered(now)
        if not held:  # the store answers; what stops the work now is the lock
            self.confirm()
            self._pause()
            return
        self.metrics.lock_held.set(1)

    def _try_lock(self) -> None:
        self._lock_checked = time.monotonic()
        try:
            held = self.lock.verify()
        except Exception as exc:
            if not self.failed(exc):
                raise
            return
        if held:
            self.paused_by = None
            self.metrics.lock_held.set(1)
            log.warning("the service lock is ours again; work resumed")
            self.write_state()

    def record(self, outage: Outage, ended_at: datetime) -> None:
        with unit_of_work(self.factory) as session:
            outages.record_outage(session, outage, ended_at)

    # -- what others see ----------------------------------------------------------------

    def write_state(self, service: str = "running") -> None:
        outage = self.watch.outage
        self.state.write(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started_at": self.started_at.isoformat(timespec="seconds"),
                "updated_at": _utcnow().isoformat(timespec="seconds"),
                "service": service,
                "store": "ok" if outage is None else "unusable",
                "outage": outage_record(outage),
                "paused_by": self.paused_by,
                "last_outage": outage_record(self.last_outage),
                "last_outage_ended": self.last_outage.ended_at.isoformat(timespec="seconds")
                if self.last_outage and self.last_outage.ended_at
                else None,
            }
        )

    def health(self) -> dict[str, Any]:
        outage = self.watch.outage
        lock = "held"
        if self.paused_by is not None:
            lock = f"held by {self.paused_by}"
        elif outage is not None and self._lock_in_store:
            lock = "not proven while the store is unusable"
        return {
            "store": "ok" if outage is None else "unusable",
            "store_unusable_since": outage.started_at.isoformat() if outage else None,
            "store_last_error": outage.last_error if outage else None,
            "lock": lock,
        }

    @property
    def _lock_in_store(self) -> bool:
        """The lock lives in the database (PostgreSQL), not only in a file here."""
        return self.lock.engine.dialect.name == "postgresql"
