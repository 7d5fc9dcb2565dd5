"""What `status` and `sources` say about the store itself, apart from the sources: is a
service running (asked of its lock, which on PostgreSQL falls back on this host's lock
file when the database is down), and is the store usable (the service's state file,
else what opening the store just said)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest.config.settings import Settings
from ingest.model.outages import Outage
from ingest.service.lock import Holder, ServiceLock, service_files
from ingest.service.outage import outage_from_record, read_state
from storage.db import make_engine


@dataclass(frozen=True)
class StoreView:
    """The service (who holds the lock) and the store's state as far as can be told."""

    holder: Holder | None
    known: bool  # False: the database is down and no service runs on this host
    outage: Outage | None  # the service's current outage (None: none it knows of)
    error: str | None = None  # opening the store here failed with this
    paused_by: str | None = None

    @property
    def usable(self) -> bool:
        return self.outage is None and self.error is None

    def running(self) -> str:
        if self.holder is not None:
            paused = f"; paused: the lock is held by {self.paused_by}" if self.paused_by else ""
            return f"running ({self.holder.describe()}{paused})"
        if not self.known:
            return "unknown (the database cannot be reached and no service runs on this host)"
        return "not running"

    def storage(self) -> str:
        if (outage := self.outage) is not None:
            errors = outage.cause
            if outage.last_error != outage.cause:
                errors = f"first {outage.cause}; last {outage.last_error}"
            tries = f"{outage.failures} failed tr{'ies' if outage.failures > 1 else 'y'}"
            return f"UNUSABLE since {_when(outage.started_at)} UTC ({tries}: {errors})"
        if self.error is not None:
            return f"UNUSABLE: {self.error}"
        return "ok"

    def record(self) -> dict[str, Any]:
        outage = self.outage
        return {
            "usable": self.usable,
            "unusable_since": outage.started_at.isoformat() if outage else None,
            "cause": outage.cause if outage else self.error,
            "last_error": outage.last_error if outage else self.error,
            "failures": outage.failures if outage else 0,
        }


def store_view(settings: Settings, error: str | None) -> StoreView:
    """What is known of the service and the store; ``error``: opening the store failed."""
    files = service_files(settings)
    engine = make_engine(settings.database.url)
    try:
        lock = ServiceLock(engine, files)
        holder = lock.holder()
        local = lock.local_holder()
    finally:
        engine.dispose()
    state = read_state(files.with_name(files.name + ".state")) or {}
    live = local is not None and state.get("pid") == local.pid
    outage = outage_from_record(state.get("outage")) if live else None
    known = holder is not None or error is None or engine.dialect.name == "sqlite"
    paused = state.get("paused_by") if live else None
    return StoreView(holder, known, outage, error, paused)


def outage_line(outage: Outage) -> str:
    ended = _when(outage.ended_at) if outage.ended_at else "now"
    return (
        f"{_when(outage.started_at)} to {ended} UTC "
        f"({outage.seconds(outage.ended_at or outage.started_at):.0f} s): {outage.cause}"
    )


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"
