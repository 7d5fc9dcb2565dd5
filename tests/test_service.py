"""`framewatch run` as a subprocess: polls on schedule, one per database, clean shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from ingest.demo.webfixture import FixtureServer
from ingest.service.lock import ServiceLock
from storage.db import make_engine, make_session_factory
from storage.models import Article, Digest, Sighting
from tests.conftest import DATA, run_cli, write_config

FEED = (DATA / "site" / "feed.xml").read_bytes()
NEW_ENTRY = b"""<item><title>Belarus political prisoner freed after five years</title>
<link>{{BASE}}/site/articles/late.html</link><guid isPermaLink="false">th-2001</guid>
<pubDate>Sun, 14 Sep 2025 09:00:00 GMT</pubDate>
<description>A political prisoner in Belarus was freed on Sunday, Viasna said.</description></item>
</channel>"""


def _start(config: Path, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWATCH_")}
    return subprocess.Popen(
        [sys.executable, "-m", "ingest", "--config", str(config), "run", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _count(url: str, model: type) -> int:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0
    finally:
        engine.dispose()


def _wait_for(check, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.3)
    return False


def _running(url: str) -> bool:
    """The service holds its lock (it installs its signal handlers before taking it)."""
    engine = make_engine(url)
    try:
        return ServiceLock(engine).holder() is not None
    finally:
        engine.dispose()


def _stop(proc: subprocess.Popen[str]) -> tuple[int, float, str]:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=15)
    return code, time.monotonic() - started, proc.stderr.read() if proc.stderr else ""


@pytest.mark.timeout(120)
def test_service_polls_refuses_a_second_instance_and_stops_cleanly(
    fresh_web: FixtureServer, database_url: str, tmp_path: Path
) -> None:
    base = fresh_web.base_url
    config = write_config(
        tmp_path / "fw.toml", database_url,
        [{"name": "herald", "url": f"{base}/site/feed.xml", "fetch_articles": True}],
        extra='\n[schedule]\npoll_every = "2s"\n',
    )  # fmt: skip
    assert run_cli("--config", str(config), "init").code == 0
    port = _free_port()
    service = _start(config, "--metrics-port", str(port))
    try:
        assert _wait_for(lambda: _count(database_url, Article) == 4), "first poll stored nothing"
        # New entry on the server: the service picks it up on a later cycle by itself.
        fresh_web.overrides["/site/feed.xml"] = FEED.replace(b"</channel>", NEW_ENTRY)
        assert _wait_for(lambda: _count(database_url, Sighting) >= 5), "new entry not polled"
        second = run_cli("--config", str(config), "run", timeout=30)
        assert second.code == 1 and "already running" in second.err and "pid" in second.err
        status = run_cli("--config", str(config), "status", "--format", "json")
        assert json.loads(status.out)[0]["running"] is True
        health = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status == 200
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        assert b"framewatch_polls_total" in metrics and b"framewatch_pipeline_seconds" in metrics
    finally:
        code, seconds, log = _stop(service)
    assert code == 0, log[-2000:]
    assert seconds < 10
    assert "received SIGTERM" in log and "poll:" in log
    status = run_cli("--config", str(config), "status", "--format", "json")
    assert json.loads(status.out)[0]["running"] is False
    if database_url.startswith("sqlite"):
        engine = make_engine(database_url)
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        engine.dispose()
    # A restart resumes: feeds are not due yet or answer 304, pages are not fetched again.
    page_requests = len(fresh_web.requests_for("/site/articles/release-52.html"))
    digests = _count(database_url, Digest)
    assert digests >= 1  # the missed digest was written at start
    restarted = _start(config)
    assert _wait_for(lambda: _running(database_url), timeout=60)
    time.sleep(2)
    code, _seconds, _log = _stop(restarted)
    assert code == 0
    assert len(fresh_web.requests_for("/site/articles/release-52.html")) == page_requests
    assert _count(database_url, Digest) == digests  # a restart does not repeat the digest
