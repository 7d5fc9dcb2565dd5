"""The service through storage outages (issue 20): `framewatch run` as a user runs it, with
PostgreSQL restarted under it (a TCP proxy between the service and the database is cut:
the machine's shared server is never restarted) and with SQLite on a disk that fills up
(a tmpfs, else a file-size limit on the service; ``tests.support.outages`` says which).

Asserted: one service works at a time (a second `run` refuses during and after an
outage; the PostgreSQL lock is held again by the first one), nothing lost or duplicated,
a bounded number of log lines per outage, recovery within a bound, and the outage shown
by `status`, `sources`, /healthz, /metrics, the outage record and the day's digest.
The API's part: 503 with Retry-After when the pool is exhausted or a query runs too
long, never 500, and /healthz answering meanwhile.
"""

from __future__ import annotations

import concurrent.futures
import functools
import json
import os
import resource
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ingest.config.settings import load_settings
from ingest.demo.webfixture import FixtureServer
from ingest.digest.job import gather
from ingest.digest.render import render_markdown
from ingest.web.api import create_app
from ingest.web.limits import POOL_OVERFLOW, POOL_SIZE
from storage import migrate
from storage.db import make_engine, make_session_factory, private_schema
from storage.failures import as_storage_error
from tests.conftest import PG_URL_ENV
from tests.support.outages import (
    GrowingWeb,
    ServiceProcess,
    SmallDisk,
    config_text,
    pg_lock_holders,
    run_cli,
    verdict,
    wait_until,
)
from tests.support.tcpproxy import TcpProxy

MAX_LINES_PER_OUTAGE = 10
RECOVERY_BOUND_S = 20.0  # the backoff cap (10 s), a poll and slack


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[GrowingWeb, FixtureServer]]:
    grown = GrowingWeb(tmp_path / "web").build()
    grown.publish(1)
    with FixtureServer(grown.root) as server:
        yield grown, server


def _pg_base() -> str:
    base = os.environ.get(PG_URL_ENV)
    if not base:
        pytest.skip(f"PostgreSQL outage tests need {PG_URL_ENV}")
    return base


def _status(config: Path) -> tuple[int, dict[str, object]]:
    done = run_cli(config, "status", "--format", "json")
    return done.returncode, json.loads(done.stdout)[0]


def _second_run_refused(config: Path) -> bool:
    done = run_cli(config, "run", timeout=60)
    return done.returncode == 1 and "already running" in done.stderr


def _outage_lines(service: ServiceProcess, start: int, end: int) -> int:
    lines = service.log()[start:end]
    print("\n".join(["outage log:", *lines]))  # shown with -s
    return len(lines)


@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_postgres_restarts_under_a_running_service(
    tmp_path: Path, web: tuple[GrowingWeb, FixtureServer]
) -> None:
    grown, server = web
    direct = make_url(_pg_base())
    with (
        private_schema(_pg_base(), "fwout") as direct_url,
        TcpProxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy,
    ):
        proxied = make_url(direct_url).set(port=proxy.port).render_as_string(hide_password=False)
        config = tmp_path / "fw.toml"
        config.write_text(config_text(grown, server.base_url, proxied))
        assert run_cli(config, "init").returncode == 0
        service = ServiceProcess(config)
        try:
            _postgres_outages(service, proxy, grown, config, direct_url, tmp_path)
        finally:
            code = service.stop()
        assert code == 0, "\n".join(service.log()[-30:])


def _postgres_outages(
    service: ServiceProcess, proxy: TcpProxy, grown: GrowingWeb, config: Path,
    direct_url: str, tmp_path: Path,
) -> None:  # fmt: skip
    assert wait_until(lambda: verdict(direct_url, grown.expected(1)).lost == 0, 90) is not None
    assert pg_lock_holders(direct_url) == 1
    for outage in range(2):
        grown.publish(2 + outage)  # new entries: the cut comes while they are written
        time.sleep(1.2)
        before = len(service.log())
        proxy.cut()
        assert wait_until(lambda: pg_lock_holders(direct_url) == 0, 10) is not None
        assert service.wait_for_line("storage unusable", 20, before) is not None
        code, state = _status(config)
        assert code == 1 and state["running"] is True, state
        assert state["storage"]["usable"] is False and state["storage"]["unusable_since"]  # type: ignore[index]
        assert _second_run_refused(config)
        health_code, health = service.get("/healthz")
        assert health_code == 503 and '"store": "unusable"' in health
        assert "framewatch_store_up 0.0" in service.get("/metrics")[1]
        time.sleep(3)
        proxy.restore()
        back = service.wait_for_line("storage is back", RECOVERY_BOUND_S, before)
        assert back is not None, "\n".join(service.log()[before:])
        assert _outage_lines(service, before, len(service.log())) < MAX_LINES_PER_OUTAGE
    # After the outages: the lock is the first service's again, a second one refuses
    # (this one from another folder, straight to the database, so only that lock counts).
    assert wait_until(lambda: pg_lock_holders(direct_url) == 1, 10) is not None
    other = tmp_path / "other" / "fw.toml"
    other.parent.mkdir()
    other.write_text(config.read_text().replace(_url_in(config), direct_url))
    assert _second_run_refused(other)
    code, state = _status(config)
    assert code == 0 and state["running"] is True and state["storage"]["usable"] is True  # type: ignore[index]
    assert state.get("last_outage")
    found = wait_until(lambda: verdict(direct_url, grown.expected(3)).lost == 0, 60)
    result = verdict(direct_url, grown.expected(3))
    assert found is not None and result.duplicated == 0 and result.unexpected == 0, result


@pytest.mark.postgres
@pytest.mark.timeout(240)
def test_a_service_that_cannot_prove_its_lock_pauses(
    tmp_path: Path, web: tuple[GrowingWeb, FixtureServer]
) -> None:
    """While PostgreSQL is "down", another service (elsewhere) takes the lock: once the
    database is back, the first one must not work until the lock is free again."""
    grown, server = web
    direct = make_url(_pg_base())
    with (
        private_schema(_pg_base(), "fwout") as direct_url,
        TcpProxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy,
    ):
        proxied = make_url(direct_url).set(port=proxy.port).render_as_string(hide_password=False)
        config = tmp_path / "fw.toml"
        config.write_text(config_text(grown, server.base_url, proxied))
        assert run_cli(config, "init").returncode == 0
        service = ServiceProcess(config)
        try:
            assert wait_until(lambda: verdict(direct_url, grown.expected(1)).lost == 0, 90)
            proxy.cut()
            assert service.wait_for_line("storage unusable", 20) is not None
            engine = make_engine(direct_url)
            other = engine.connect()
            taken = other.execute(text(TAKE_LOCK)).scalar()
            other.commit()
            assert taken is True
            grown.publish(2)
            proxy.restore()
            assert service.wait_for_line("another service holds the lock", 30) is not None
            stored = verdict(direct_url, grown.expected(2)).stored
            time.sleep(4)
            assert verdict(direct_url, grown.expected(2)).stored == stored  # no work
            assert service.get("/healthz")[0] == 503
            other.close()  # the other service stops
            engine.dispose()
            assert service.wait_for_line("the service lock is ours again", 30) is not None
            assert wait_until(lambda: verdict(direct_url, grown.expected(2)).lost == 0, 60)
            assert pg_lock_holders(direct_url) == 1
        finally:
            code = service.stop()
        assert code == 0, "\n".join(service.log()[-30:])


@pytest.mark.postgres
@pytest.mark.timeout(180)
def test_a_service_started_while_postgres_is_down_waits_for_it(
    tmp_path: Path, web: tuple[GrowingWeb, FixtureServer]
) -> None:
    grown, server = web
    direct = make_url(_pg_base())
    with (
        private_schema(_pg_base(), "fwout") as direct_url,
        TcpProxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy,
    ):
        proxied = make_url(direct_url).set(port=proxy.port).render_as_string(hide_password=False)
        config = tmp_path / "fw.toml"
        config.write_text(config_text(grown, server.base_url, proxied))
        assert run_cli(config, "init").returncode == 0
        proxy.cut()
        service = ServiceProcess(config)
        try:
            assert service.wait_for_line("storage unusable", 30) is not None
            assert _second_run_refused(config)
            code, state = _status(config)
            assert code == 1 and state["running"] is True, state
            health = json.loads(service.get("/healthz")[1])
            assert health["store"] == "unusable" and health["lock"].startswith("not proven")
            proxy.restore()
            assert service.wait_for_line("framewatch service running", 30) is not None
            assert wait_until(lambda: verdict(direct_url, grown.expected(1)).lost == 0, 90)
            assert pg_lock_holders(direct_url) == 1
        finally:
            code = service.stop()
        assert code == 0, "\n".join(service.log()[-30:])
        lines = service.log()
        assert sum("storage unusable" in line for line in lines) == 1, lines


TAKE_LOCK = "SELECT pg_try_advisory_lock(1180127822, hashtext(current_schema()))"


def _url_in(config: Path) -> str:
    return str(load_settings(config).database.url)


@pytest.mark.timeout(300)
def test_sqlite_on_a_disk_that_fills_up(
    tmp_path: Path, web: tuple[GrowingWeb, FixtureServer]
) -> None:
    grown, server = web
    disk = SmallDisk(tmp_path / "disk")
    print(f"small disk: {disk.mode}")
    try:
        url = f"sqlite:///{disk.folder / 'framewatch.db'}"
        config = tmp_path / "fw.toml"
        config.write_text(config_text(grown, server.base_url, url))
        assert run_cli(config, "init").returncode == 0
        service = ServiceProcess(config, preexec=SmallDisk.preexec)
        try:
            _disk_full(service, disk, (grown, server), config, url)
        finally:
            disk.free(service.pid) if service.popen.poll() is None else None
            code = service.stop()
        assert code == 0, "\n".join(service.log()[-30:])
        engine = make_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        _digest_tells_of_the_outage(config, engine)
        engine.dispose()
    finally:
        disk.close()


def _disk_full(
    service: ServiceProcess, disk: SmallDisk, web: tuple[GrowingWeb, FixtureServer],
    config: Path, url: str,
) -> None:  # fmt: skip
    grown, server = web
    assert wait_until(lambda: verdict(url, grown.expected(1)).lost == 0, 90) is not None
    before = len(service.log())
    disk.fill(service.pid)
    grown.publish(2)
    assert service.wait_for_line("storage unusable", 30, before) is not None, service.log()
    code, state = _status(config)
    assert code == 1 and state["running"] is True, state
    assert state["storage"]["usable"] is False  # type: ignore[index]
    sources = run_cli(config, "sources")
    assert "storage: UNUSABLE since" in sources.stdout, sources.stdout + sources.stderr
    assert _second_run_refused(config)
    assert service.get("/healthz")[0] == 503
    requests = len(server.requests)
    time.sleep(4)  # a few backoff rounds: still one line, and nothing fetched meanwhile
    assert len(server.requests) == requests, [r.path for r in server.requests[requests:]]
    freed = time.monotonic()
    disk.free(service.pid)
    assert service.wait_for_line("storage is back", RECOVERY_BOUND_S, before) is not None
    print(f"recovered {time.monotonic() - freed:.1f} s after the disk was freed")
    assert _outage_lines(service, before, len(service.log())) < MAX_LINES_PER_OUTAGE
    found = wait_until(lambda: verdict(url, grown.expected(2)).lost == 0, 60)
    result = verdict(url, grown.expected(2))
    assert found is not None and result.duplicated == 0 and result.unexpected == 0, result
    assert _second_run_refused(config)


def _digest_tells_of_the_outage(config: Path, engine: object) -> None:
    from zoneinfo import ZoneInfo

    settings = load_settings(config)
    tz = ZoneInfo(settings.schedule.timezone)
    day = datetime.now(UTC).astimezone(tz).date()
    factory = make_session_factory(engine)  # type: ignore[arg-type]
    with factory() as session:
        data = gather(session, settings.active_stories[0].name, day, tz, datetime.now(UTC))
    assert len(data.outages) == 1 and data.outages[0].ended_at is not None
    assert "Storage was unreachable" in render_markdown(data)


def test_a_one_shot_poll_on_a_full_disk_prints_one_line(
    tmp_path: Path, web: tuple[GrowingWeb, FixtureServer]
) -> None:
    grown, server = web
    disk = SmallDisk(tmp_path / "disk")
    try:
        url = f"sqlite:///{disk.folder / 'framewatch.db'}"
        config = tmp_path / "fw.toml"
        config.write_text(config_text(grown, server.base_url, url))
        assert run_cli(config, "init").returncode == 0
        grown.publish(3)
        limit = None
        if disk.mode == "tmpfs":
            disk.fill(os.getpid())
        else:  # the poll's own writes fail past the limit, from its first one
            limit = functools.partial(_limit_files, SmallDisk.FSIZE_LIMIT)
        done = run_cli(config, "poll", timeout=120, preexec=limit)
    finally:
        disk.close()
    assert done.returncode == 1, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith("framewatch: error: ") and "disk" in errors[0], done.stderr


def _limit_files(size: int) -> None:
    SmallDisk.preexec()
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))


# -- the API under load --------------------------------------------------------------------


class _Server:
    def __init__(self, app: object) -> None:
        from tests.support.outages import free_port

        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        assert wait_until(lambda: self.server.started, 10, 0.05) is not None
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def get(self, path: str, timeout: float = 30) -> tuple[int, dict[str, str], float]:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}{path}", timeout=timeout
            ) as r:
                return r.status, dict(r.headers), time.monotonic() - started
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), time.monotonic() - started


@pytest.mark.timeout(120)
def test_api_answers_503_with_retry_after_when_the_pool_is_exhausted(database_url: str) -> None:
    from ingest.config.settings import settings_from_mapping

    engine = make_engine(database_url)
    migrate.upgrade(engine)
    engine.dispose()
    app = create_app(settings_from_mapping({"database": {"url": database_url}}))
    pool_engine = app.state.engine
    held = [pool_engine.connect() for _ in range(POOL_SIZE + POOL_OVERFLOW)]
    try:
        with _Server(app) as server:
            with concurrent.futures.ThreadPoolExecutor(8) as burst:
                answers = list(burst.map(lambda _: server.get("/articles"), range(8)))
            health = server.get("/healthz")
    finally:
        for conn in held:
            conn.close()
        app.state.health.close()
        pool_engine.dispose()
    assert {code for code, _h, _s in answers} == {503}
    assert all(headers.get("retry-after") for _c, headers, _s in answers)
    assert health[0] == 200 and health[2] < 2.0  # its own path: no wait on the pool


@pytest.mark.postgres
@pytest.mark.timeout(180)
def test_a_burst_of_slow_requests_gets_503_never_500(tmp_path: Path) -> None:
    """50 requests at once while every query on articles waits on a lock: each one is
    answered 200 or 503 with Retry-After within the time limits; /healthz answers."""
    with private_schema(_pg_base(), "fwburst") as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        config = tmp_path / "fw.toml"
        config.write_text(f'[database]\nurl = "{url}"\n')
        app = create_app(load_settings(config))
        blocker = engine.connect()
        blocker.execute(text("LOCK TABLE articles IN ACCESS EXCLUSIVE MODE"))
        try:
            with _Server(app) as server, concurrent.futures.ThreadPoolExecutor(50) as burst:
                futures = [burst.submit(server.get, "/articles") for _ in range(50)]
                time.sleep(1)
                health = server.get("/healthz")
                answers = [f.result() for f in futures]
        finally:
            blocker.rollback()
            blocker.close()
            app.state.health.close()
            app.state.engine.dispose()
            engine.dispose()
    codes = [code for code, _h, _s in answers]
    print("CODES", sorted(codes), sorted(round(s, 1) for _c, _h, s in answers), health)
    assert set(codes) <= {200, 503} and 500 not in codes, codes
    assert all(h.get("retry-after") for code, h, _s in answers if code == 503)
    assert max(seconds for _c, _h, seconds in answers) < 30
    assert health[0] == 200 and health[2] < 3.0, health


def test_every_query_is_bounded_in_time(database_url: str) -> None:
    writer = make_engine(database_url)
    with writer.connect():  # the file exists: a read-only engine never creates one
        pass
    writer.dispose()
    engine = make_engine(database_url, read_only=True, statement_timeout_s=0.5)
    endless = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    )
    started = time.monotonic()
    try:
        with engine.connect() as conn, pytest.raises(Exception) as caught:
            conn.execute(text(endless)).scalar()
    finally:
        engine.dispose()
    assert time.monotonic() - started < 5
    assert as_storage_error(caught.value) is not None


# -- the outage's bookkeeping --------------------------------------------------------------


def test_an_outage_is_one_state_with_capped_jittered_backoff() -> None:
    import random

    from ingest.model.errors import StorageError
    from ingest.service.outage import BACKOFF_CAP_S, StoreWatch

    watch = StoreWatch(rng=random.Random(1))
    now = datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert watch.failed(StorageError("database error: refused"), now) is True
    assert [watch.failed(StorageError("again"), now) for _ in range(5)] == [False] * 5
    assert watch.outage is not None and watch.outage.failures == 6
    assert watch.outage.cause == "database error: refused" and watch.outage.last_error == "again"
    delays = [watch.delay(n) for n in range(12)]
    assert all(d <= BACKOFF_CAP_S for d in delays) and delays[-1] >= BACKOFF_CAP_S / 2
    assert delays[0] < delays[3] and len(set(delays[8:])) > 1  # doubling, then jittered
    assert not watch.may_work() and watch.confirm() is None  # no answer yet: still out
    watch.store_answered(now)
    ended = watch.confirm()
    assert ended is not None and ended.ended_at == now and watch.may_work()
    assert watch.failed(StorageError("new"), now) is True  # a later failure: a new outage


def test_connection_errors_are_storage_errors_not_bugs(tmp_path: Path) -> None:
    from sqlalchemy.exc import IntegrityError

    from tests.support.outages import free_port

    refused = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test")
    with pytest.raises(Exception) as caught:
        refused.connect()
    refused.dispose()
    failure = as_storage_error(caught.value)
    assert failure is not None and "\n" not in str(failure) and "refused" in str(failure)
    assert as_storage_error(IntegrityError("INSERT", {}, Exception("duplicate key"))) is None
    assert as_storage_error(ValueError("a bug")) is None
    assert as_storage_error(OSError(28, "No space left on device")) is not None
