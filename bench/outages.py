"""Storage outages under a running service (issue 20): the operator's trial.

    python -m bench.outages --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
                            [--cuts 6] [--cut-seconds 5] [--long-stop 60] [--burst 50]
                            [--json FILE]

`framewatch run` reads a generated news web (``tests.support.outages.GrowingWeb``: new
entries appear before every outage, so each cut comes while they are written) and talks
to PostgreSQL through a TCP proxy (``tests.support.tcpproxy``) in a fresh schema. The
proxy is cut ``--cuts`` times for ``--cut-seconds`` and once for ``--long-stop``
seconds: what a server restart does to the service (sessions reset, connections refused),
without touching the shared server. Meanwhile it counts:

- lock holders: the sessions holding the service's advisory lock, sampled every 0.25 s
  (never more than one), and a second `framewatch run` started during every outage and
  after it (each must refuse);
- what `framewatch status` says during every outage (running, storage unusable);
- the service's log lines per outage, and its recovery time after the proxy is restored;
- /healthz status codes during the outages;
- lost and duplicated entries once every stage is stored;
- with ``--burst N``: N concurrent API requests while every query on ``articles`` waits
  on a lock, by status code, and how long /healthz took meanwhile.

Without ``--database-url`` (or ``$FRAMEWATCH_TEST_DATABASE_URL``) it stops: the SQLite
side (a disk that fills up) is ``tests/test_outages.py``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from ingest.demo.webfixture import FixtureServer
from storage.db import make_engine, private_schema
from tests.support.outages import (
    GrowingWeb,
    ServiceProcess,
    config_text,
    pg_lock_holders,
    run_cli,
    verdict,
    wait_until,
)
from tests.support.tcpproxy import TcpProxy

RECOVERY_WAIT_S = 60.0


@dataclass
class Figures:
    outages: int = 0
    outage_seconds: list[float] = field(default_factory=list)
    log_lines_per_outage: list[int] = field(default_factory=list)
    recovery_s: list[float | None] = field(default_factory=list)  # after the proxy is back
    max_lock_holders: int = 0
    lock_samples: int = 0
    second_runs: int = 0
    second_runs_refused: int = 0
    status_running_during_outage: int = 0
    status_storage_unusable: int = 0
    healthz_codes: dict[str, int] = field(default_factory=dict)
    entries_published: int = 0
    entries_expected: int = 0
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    service_exit: int | None = None
    burst_codes: dict[str, int] = field(default_factory=dict)
    burst_healthz_s: float | None = None


class LockSampler:
    """Counts the lock's holders every 0.25 s in a thread of its own."""

    def __init__(self, url: str, figures: Figures) -> None:
        self.url, self.figures = url, figures
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.done.wait(0.25):
            holders = pg_lock_holders(self.url)
            self.figures.lock_samples += 1
            self.figures.max_lock_holders = max(self.figures.max_lock_holders, holders)

    def __enter__(self) -> LockSampler:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.done.set()
        self.thread.join(10)


def _second_run(config: Path, figures: Figures) -> None:
    done = run_cli(config, "run", timeout=120)
    figures.second_runs += 1
    figures.second_runs_refused += done.returncode == 1 and "already running" in done.stderr


def _during_outage(service: ServiceProcess, config: Path, figures: Figures) -> None:
    done = run_cli(config, "status", "--format", "json")
    state = json.loads(done.stdout)[0] if done.stdout.strip() else {}
    figures.status_running_during_outage += state.get("running") is True
    figures.status_storage_unusable += state.get("storage", {}).get("usable") is False
    code = str(service.get("/healthz")[0])
    figures.healthz_codes[code] = figures.healthz_codes.get(code, 0) + 1
    _second_run(config, figures)


def one_outage(
    service: ServiceProcess, proxy: TcpProxy, config: Path, seconds: float, figures: Figures
) -> None:
    before = len(service.log())
    proxy.cut()
    started = time.monotonic()
    service.wait_for_line("storage unusable", 30, before)
    _during_outage(service, config, figures)
    time.sleep(max(0.0, seconds - (time.monotonic() - started)))
    proxy.restore()
    figures.outage_seconds.append(round(time.monotonic() - started, 1))
    back = service.wait_for_line("storage is back", RECOVERY_WAIT_S, before)
    figures.recovery_s.append(None if back is None else round(back, 1))
    time.sleep(1)  # the first poll after it
    figures.log_lines_per_outage.append(len(service.log()) - before)
    figures.outages += 1


def outages(
    service: ServiceProcess, proxy: TcpProxy, web: GrowingWeb, config: Path,
    plan: list[float], figures: Figures,
) -> None:  # fmt: skip
    for stage, seconds in enumerate(plan, start=2):
        web.publish(stage)  # new entries: the cut comes while they are written
        time.sleep(1.5)
        one_outage(service, proxy, config, seconds, figures)
        print(f"outage {figures.outages}: {figures.outage_seconds[-1]} s, recovered "
              f"{figures.recovery_s[-1]} s after, {figures.log_lines_per_outage[-1]} log lines",
              flush=True)  # fmt: skip


def _burst(url: str, requests: int, folder: Path, figures: Figures) -> None:
    """``requests`` concurrent API calls while every query on articles waits on a lock."""
    import uvicorn

    from ingest.config.settings import load_settings
    from ingest.web.api import create_app
    from tests.support.outages import free_port

    config = folder / "api.toml"
    config.write_text(f'[database]\nurl = "{url}"\n')
    app, port = create_app(load_settings(config)), free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 10, 0.05)
    engine = make_engine(url)
    blocker = engine.connect()
    blocker.execute(text("LOCK TABLE articles IN ACCESS EXCLUSIVE MODE"))
    try:
        with concurrent.futures.ThreadPoolExecutor(requests) as pool:
            futures = [pool.submit(_get, port, "/articles") for _ in range(requests)]
            time.sleep(1)
            started = time.monotonic()
            _get(port, "/healthz")
            figures.burst_healthz_s = round(time.monotonic() - started, 2)
            figures.burst_codes = dict(Counter(str(f.result()) for f in futures))
    finally:
        blocker.rollback()
        blocker.close()
        engine.dispose()
        server.should_exit = True
        thread.join(10)


def _get(port: int, path: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def run(base_url: str, plan: list[float], burst: int, per_stage: int) -> Figures:
    figures = Figures()
    direct = make_url(base_url)
    with (
        tempfile.TemporaryDirectory(prefix="fw-outages-") as tmp,
        private_schema(base_url, "fwbench") as url,
        TcpProxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy,
    ):
        folder = Path(tmp)
        web = GrowingWeb(folder / "web", feeds=3, per_stage=per_stage, stages=len(plan) + 1)
        web.build().publish(1)
        with FixtureServer(web.root) as server:
            proxied = make_url(url).set(port=proxy.port).render_as_string(hide_password=False)
            config = folder / "fw.toml"
            config.write_text(config_text(web, server.base_url, proxied))
            run_cli(config, "init")
            _service_trial(config, proxy, web, url, plan, figures)
        if burst:
            _burst(url, burst, folder, figures)
    return figures


def _service_trial(
    config: Path, proxy: TcpProxy, web: GrowingWeb, url: str, plan: list[float],
    figures: Figures,
) -> None:  # fmt: skip
    service = ServiceProcess(config)
    try:
        with LockSampler(url, figures):
            wait_until(lambda: verdict(url, web.expected(1)).lost == 0, 120)
            outages(service, proxy, web, config, plan, figures)
            other = config.parent / "other" / "fw.toml"
            other.parent.mkdir()
            other.write_text(config.read_text().replace(_proxied_url(config), url))
            _second_run(other, figures)  # after the outages, straight to the database
            wait_until(lambda: verdict(url, web.expected(len(plan) + 1)).lost == 0, 180)
    finally:
        figures.service_exit = service.stop()
    expected = web.expected(len(plan) + 1)
    result = verdict(url, expected)
    figures.entries_published = web.feeds * web.per_stage * (len(plan) + 1)
    figures.entries_expected, figures.stored = len(expected), result.stored
    figures.lost, figures.duplicated = result.lost, result.duplicated + result.unexpected


def _proxied_url(config: Path) -> str:
    from ingest.config.settings import load_settings

    return str(load_settings(config).database.url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("FRAMEWATCH_TEST_DATABASE_URL"))
    parser.add_argument("--cuts", type=int, default=6, help="short outages")
    parser.add_argument("--cut-seconds", type=float, default=5.0)
    parser.add_argument("--long-stop", type=float, default=60.0, help="0: none")
    parser.add_argument("--burst", type=int, default=50, help="concurrent API requests; 0: none")
    parser.add_argument("--entries-per-stage", type=int, default=10, help="per feed and outage")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if not args.database_url:
        sys.exit("bench.outages needs --database-url (PostgreSQL) or FRAMEWATCH_TEST_DATABASE_URL")
    plan = [args.cut_seconds] * args.cuts + ([args.long_stop] if args.long_stop else [])
    # Stopped with SIGTERM: still stop the service, drop the schema and stop the proxy.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    figures = run(args.database_url, plan, args.burst, args.entries_per_stage)
    report: dict[str, Any] = {
        **asdict(figures),
        "minutes": round((time.monotonic() - started) / 60, 1),
    }
    for key, value in report.items():
        print(f"{key:32} {value}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    sys.exit(1 if failed(figures) else 0)


def failed(figures: Figures) -> bool:
    return bool(
        figures.max_lock_holders > 1
        or figures.lost
        or figures.duplicated
        or figures.second_runs_refused < figures.second_runs
        or any(r is None for r in figures.recovery_s)
        or "500" in figures.burst_codes
    )


if __name__ == "__main__":
    main()
