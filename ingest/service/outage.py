"""The store as the service sees it: usable, or unusable since when and why.

A store outage is one state, not a stream of errors. The first storage failure of a job
ends that job's cycle and opens the outage (one log line naming the cause); no job works
while it lasts; the service tries the store again after a capped, jittered exponential
backoff (:class:`StoreWatch`), re-taking its lock and writing the outage's row in
``store_outages`` (which is the proof that writes work again). Once the store answered,
the next job that completes closes the outage (one line, with how long it lasted); a job
that fails again first leaves it open, with no new line.

The state is also kept in a small file on this host (:class:`StateFile`), which
`framewatch status` and `sources` read when the store cannot tell them anything, and
which carries an outage the service was stopped in over to its next start.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.model.errors import StorageError
from ingest.model.outages import Outage

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 10.0
STATE_BYTES = 4096  # the state file's fixed size (see StateFile)


class StoreWatch:
    """Outage bookkeeping and the backoff between tries; safe to use from any thread."""

    def __init__(
        self,
        base_s: float = BACKOFF_BASE_S,
        cap_s: float = BACKOFF_CAP_S,
        rng: random.Random | None = None,
    ) -> None:
        self.base_s, self.cap_s = base_s, cap_s
        self.outage: Outage | None = None
        self.answered = False  # the store answered a try; the next completed job confirms
        self._answered_at: datetime | None = None
        self._rng = rng or random.Random()
        self._attempts = 0
        self._next_try = 0.0
        self._mutex = threading.Lock()

    def failed(self, error: StorageError, now: datetime) -> bool:
        """Record a storage failure; True when it begins an outage (log a line then)."""
        with self._mutex:
            self.answered = False
            message = str(error)
            begins = self.outage is None
            if self.outage is None:
                self.outage = Outage(now, None, message, message)
                self._attempts = 0
            else:
                self.outage = replace(
                    self.outage, last_error=message, failures=self.outage.failures + 1
                )
            self._next_try = time.monotonic() + self.delay(self._attempts)
            self._attempts += 1
            return begins

    def delay(self, attempt: int) -> float:
        """Seconds before try ``attempt`` (0-based): doubling up to the cap, each drawn
        from its upper half, so services that lost the store together do not come back
        in step."""
        ceiling = min(self.cap_s, self.base_s * 2 ** min(attempt, 30))
        return ceiling * (0.5 + 0.5 * self._rng.random())

    def due(self) -> bool:
        """Time to try the store again."""
        with self._mutex:
            return (
                self.outage is not None and not self.answered and time.monotonic() >= self._next_try
            )

    def may_work(self) -> bool:
        with self._mutex:
            return self.outage is None or self.answered

    def store_answered(self, now: datetime) -> None:
        with self._mutex:
            if self.outage is not None:
                self.answered, self._answered_at = True, now

    def confirm(self) -> Outage | None:
        """A job completed: an outage the store has answered since is over; returns it."""
        with self._mutex:
            if self.outage is None or not self.answered:
                return None
            ended = replace(self.outage, ended_at=self._answered_at)
            self.outage, self.answered, self._attempts = None, False, 0
            return ended


class StateFile:
    """The service's state on this host as one JSON object in a file of fixed size,
    written in place: rewriting it needs no new disk blocks, so it still works when a
    full disk is the outage being recorded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._mutex = threading.Lock()

    def open(self) -> dict[str, Any] | None:
        """Open (creating it at its full size); returns what an earlier run left."""
        earlier = read_state(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if os.fstat(self._fd).st_size < STATE_BYTES:
                os.pwrite(self._fd, b" " * STATE_BYTES, 0)
        except OSError:  # no room even for this, or a read-only folder: status falls
            self.close()  # back on the store alone
        return earlier

    def write(self, record: dict[str, Any]) -> None:
        data = json.dumps(record, ensure_ascii=False, default=str).encode()
        if len(data) > STATE_BYTES:
            record = {**record, "outage": {**(record.get("outage") or {}), "last_error": ""}}
            data = json.dumps(record, default=str).encode()[:STATE_BYTES]
        with self._mutex:
            if self._fd is None:
                return
            # best effort: the service's own state in memory is what it acts on
            with contextlib.suppress(OSError):
                os.pwrite(self._fd, data.ljust(STATE_BYTES), 0)

    def close(self) -> None:
        with self._mutex:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def read_state(path: Path) -> dict[str, Any] | None:
    """What the state file says, or None (no file, or not readable)."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8", "replace").strip() or "null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def outage_record(outage: Outage | None) -> dict[str, Any] | None:
    if outage is None:
        return None
    return {
        "since": outage.started_at.isoformat(timespec="seconds"),
        "cause": outage.cause,
        "last_error": outage.last_error,
        "failures": outage.failures,
    }


def outage_from_record(record: dict[str, Any] | None) -> Outage | None:
    """The outage a state file records (None when none or unreadable)."""
    if not record:
        return None
    try:
        since = datetime.fromisoformat(str(record["since"])).astimezone(UTC)
        cause, last = str(record.get("cause", "")), str(record.get("last_error", ""))
        return Outage(since, None, cause, last, int(record.get("failures", 1)))
    except (KeyError, ValueError, TypeError):
        return None
