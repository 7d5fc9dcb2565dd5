"""What the storage-outage tests and the operator trial (``python -m bench.outages``) share:
a news web that grows in stages, `framewatch run` as a child process with its log in a
file, a small disk that can be filled and freed, and the store's verdict.

The small disk is real: a tmpfs of a few megabytes when this process may mount one (SQLite
then fails with "database or disk is full"); otherwise the service runs under
``RLIMIT_FSIZE`` lowered from outside with ``prlimit`` (writes past the limit fail with
EFBIG, "disk I/O error"), and raised again to free it. ``FRAMEWATCH_TEST_SMALL_DISK=rlimit``
takes the fallback where mounting would work.
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text

from storage.db import make_engine
from storage.models import Article
from tests.support import synthweb

# -- the news web ------------------------------------------------------------------------


@dataclass
class GrowingWeb:
    """``feeds`` feeds whose entries appear in stages (``publish(n)`` shows the first n
    stages); the pages they link are on disk from the start."""

    root: Path
    feeds: int = 2
    per_stage: int = 6  # entries per feed and stage
    stages: int = 3
    pages: list[synthweb.Page] = field(default_factory=list)

    def build(self) -> GrowingWeb:
        self.pages = synthweb.make_pages(self.feeds * self.per_stage * self.stages, seed=20)
        files = {self._path(p): synthweb.render_page(p, self._path(p)) for p in self.pages}
        synthweb.write_files(self.root, files)
        return self

    @staticmethod
    def _path(page: synthweb.Page) -> str:
        return f"/news/{page.n:05d}.html"

    def feed_pages(self, feed: int, stages: int) -> list[synthweb.Page]:
        """The feed's pages in the first ``stages`` stages (round robin over feeds)."""
        shown = self.pages[: self.feeds * self.per_stage * stages]
        return shown[feed :: self.feeds]

    def publish(self, stages: int) -> None:
        for feed in range(self.feeds):
            items = [synthweb.feed_item(p, self._path(p)) for p in self.feed_pages(feed, stages)]
            body = synthweb.feed_xml(f"f{feed}", reversed(items))
            synthweb.write_files(self.root, {f"/feeds/f{feed}.xml": body})

    def expected(self, stages: int) -> set[str]:
        """Paths of the on-story pages published in the first ``stages`` stages."""
        shown = self.pages[: self.feeds * self.per_stage * stages]
        return {self._path(p) for p in shown if p.on_story}


def config_text(web: GrowingWeb, base_url: str, database_url: str, poll_every: str = "2s") -> str:
    lines = [
        f'[database]\nurl = "{database_url}"\n',
        "[fetch]\nallow_private_addresses = true\ntimeout_s = 5\nconcurrency = 2\n",
        f'[schedule]\npoll_every = "{poll_every}"\n',
    ]
    for feed in range(web.feeds):
        lines.append(f'[[feeds]]\nname = "f{feed}"\nurl = "{base_url}/feeds/f{feed}.xml"\n'
                     "fetch_articles = true\n")  # fmt: skip
    return "\n".join(lines)


# -- the service -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWATCH_")}
    return {**env, "NO_COLOR": "1", "COLUMNS": "200"}


class ServiceProcess:
    """`framewatch --config CONFIG run --metrics-port PORT`, its stderr in a file."""

    def __init__(self, config: Path, preexec: Callable[[], None] | None = None) -> None:
        self.port = free_port()
        self.log_path = config.with_suffix(f".{self.port}.log")
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "ingest", "--config", str(config), "run",
                 "--metrics-port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env=cli_env(), preexec_fn=preexec,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> list[str]:
        return self.log_path.read_text("utf-8", "replace").splitlines()

    def wait_for_line(self, part: str, timeout: float, after: int = 0) -> float | None:
        """Seconds until a log line (past line ``after``) contains ``part``; None if not."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if any(part in line for line in self.log()[after:]):
                return time.monotonic() - started
            if self.popen.poll() is not None:
                return None
            time.sleep(0.1)
        return None

    def get(self, path: str) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return int(answer.status), answer.read().decode()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read().decode()
        except OSError as exc:
            return 0, str(exc)

    def stop(self, timeout: float = 20) -> int | None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return None


def run_cli(
    config: Path, *args: str, timeout: float = 60, preexec: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest", "--config", str(config), *args],
        capture_output=True, text=True, env=cli_env(), timeout=timeout, preexec_fn=preexec,
    )  # fmt: skip


# -- the store's verdict -----------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    lost: int
    duplicated: int
    unexpected: int
    stored: int


def stored_paths(url: str) -> Counter[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            urls = conn.execute(select(Article.canonical_url)).scalars().all()
    finally:
        engine.dispose()
    return Counter("/" + u.split("/", 3)[3] for u in urls)


def verdict(url: str, expected: set[str]) -> Verdict:
    stored = stored_paths(url)
    return Verdict(
        lost=len(expected - set(stored)),
        duplicated=sum(n - 1 for n in stored.values()),
        unexpected=len(set(stored) - expected),
        stored=sum(stored.values()),
    )


def pg_lock_holders(direct_url: str) -> int:
    """Sessions holding a framewatch service lock on this URL's schema."""
    engine = make_engine(direct_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = 1180127822 "
                "AND objid = (hashtext(current_schema())::bigint & 4294967295)::oid"
            )).scalar() or 0)  # fmt: skip
    finally:
        engine.dispose()


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.2) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(step)
    return None


def utcnow() -> datetime:
    return datetime.now(UTC)


def recently(seconds: float) -> datetime:
    return utcnow() - timedelta(seconds=seconds)


# -- a small disk ------------------------------------------------------------------------


class SmallDisk:
    """A folder whose disk can be filled and freed for the service: a tmpfs when
    mounting works here, else a file-size limit on the service process."""

    SIZE = "24m"
    FSIZE_LIMIT = 32 * 1024  # bytes: a write past this offset fails

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        forced = os.environ.get("FRAMEWATCH_TEST_SMALL_DISK")  # "rlimit": try the fallback
        self.mode = "tmpfs" if forced != "rlimit" and self._mount() else "rlimit"
        self._filler = self.folder / "filler.bin"

    def _mount(self) -> bool:
        if shutil.which("mount") is None:
            return False
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.SIZE}", "tmpfs",
                               str(self.folder)], capture_output=True)  # fmt: skip
        return done.returncode == 0

    @staticmethod
    def preexec() -> None:
        """In the service process: a write past the limit fails (EFBIG), not kills it."""
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def fill(self, pid: int) -> None:
        if self.mode == "rlimit":
            hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)[1]
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (self.FSIZE_LIMIT, hard))
            return
        fd = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        block = random.randbytes(1 << 20)
        try:
            for size in (1 << 20, 65536, 4096, 512):  # to the last crumbs
                try:
                    while os.write(fd, block[:size]):
                        pass
                except OSError:
                    continue
        finally:
            os.close(fd)

    def free(self, pid: int) -> None:
        if self.mode == "rlimit":
            hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)[1]
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard, hard))
            return
        self._filler.unlink(missing_ok=True)

    def close(self) -> None:
        if self.mode == "tmpfs":
            subprocess.run(["umount", "-l", str(self.folder)], capture_output=True)


def scratch(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
