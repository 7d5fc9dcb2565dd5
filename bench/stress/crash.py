"""Crash safety (issue 9, item 6): kill ingestion with SIGKILL at random moments, restart
it until it completes, then compare the store with the expected set.

    python -m bench.stress.crash [--trials 200] [--database-url URL] [--seed 6]
                                 [--modes poll,service,cli]

Each trial starts from an empty database (a fresh SQLite file, or a fresh schema on the
PostgreSQL server given by ``--database-url``) and a generated news web served on
127.0.0.1 (pages of ``tests.support.synthweb``): feeds carrying relevant and irrelevant
articles, the same link in two feeds, exact copies under a second URL and near-copies.
Ingestion runs in a child process and is killed after a random delay (seeded; each delay
is printed with ``-v``), restarted and killed again, up to ``--max-kills`` times, then
run to the end. The modes cycle per trial:

- ``poll``: a forked process runs migrations and ``poll_feeds`` (as `framewatch poll`);
- ``service``: a forked process runs the service (`framewatch run`), restarted after each
  kill; it must start again (no stale lock) and is stopped with SIGTERM once every feed
  has been polled;
- ``cli``: `framewatch init` then `framewatch poll` as a user runs them (slower: the
  interpreter starts for each attempt).

A store is right when every relevant article is stored exactly once (by its text, so a
copy stored under a second URL counts as a duplicate), every irrelevant entry is
remembered and none stored, every (feed, link) sighting is recorded once, every article
has its "new" sighting, story membership, signature with all its LSH bands, event
cluster (with the right size) and the frames, near-duplicate links and flags of an
uninterrupted reference run, every feed is healthy, and the database passes its
integrity checks (SQLite: ``PRAGMA integrity_check``, ``foreign_key_check``, the FTS5
index's own check and the index compared with the articles' folded text; PostgreSQL:
orphan and uniqueness queries).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session

from tests.support import synthweb
from tests.support.synthweb import Page

# -- the generated news web -------------------------------------------------------------


@dataclass
class NewsWeb:
    """Files to serve, and what a correct store holds after reading every feed."""

    files: dict[str, str] = field(default_factory=dict)  # path -> body
    feeds: list[str] = field(default_factory=list)  # feed names, feed path /feeds/NAME.xml
    key_of_path: dict[str, str] = field(default_factory=dict)
    relevant: set[str] = field(default_factory=set)  # text keys to be stored once each
    irrelevant_paths: set[str] = field(default_factory=set)
    carried: set[tuple[str, str]] = field(default_factory=set)  # (feed, path) of relevant items

    def carry(self, feed: str, page: Page, path: str) -> None:
        """``feed`` links ``page`` at ``path``: what the store must then hold. A text's key
        is its page number, so the same text under a second URL is the same key."""
        key = f"p{page.n}"
        self.key_of_path[path] = key
        if page.on_story:
            self.carried.add((feed, path))
            self.relevant.add(key)
        else:
            self.irrelevant_paths.add(path)

    def write(self, root: Path) -> None:
        synthweb.write_files(root, self.files)


def build_web(texts_per_feed: int = 10, feeds: int = 6, seed: int = 1) -> NewsWeb:
    """Feeds whose entries are originals, links shared with the next feed, exact copies
    under a second URL and near-copies; one in four texts is off the story."""
    rng = random.Random(seed)
    web = NewsWeb(feeds=[f"feed{n}" for n in range(feeds)])
    items: dict[str, list[str]] = {name: [] for name in web.feeds}
    start, count = datetime(2025, 9, 1, 8, tzinfo=UTC), texts_per_feed * feeds

    def carry(feed: str, page: Page, path: str) -> None:
        web.files.setdefault(path, synthweb.render_page(page, path))
        items[feed].append(synthweb.feed_item(page, path))
        web.carry(feed, page, path)

    for i in range(count):
        feed, other = web.feeds[i % feeds], web.feeds[(i + 1) % feeds]
        page = synthweb.original(i, rng, i % 4 != 3, start + timedelta(hours=7 * i))
        carry(feed, page, f"/a/{i}.html")
        if i % 5 == 0:
            carry(other, page, f"/a/{i}.html")  # the same link in a second feed
        if page.on_story and i % 9 == 1:
            carry(other, page, f"/c/{i}.html")  # the same text under another URL
        if page.on_story and i % 7 == 2:
            copy = synthweb.copy_of(page, count + i, rng, page.published + timedelta(hours=3))
            carry(other, copy, f"/n/{i}.html")
    for name, entries in items.items():
        web.files[f"/feeds/{name}.xml"] = synthweb.feed_xml(name, entries)
    return web


def config_text(
    feeds: list[str],
    base_url: str,
    database_url: str,
    out_dir: Path,
    timeout_s: int = 10,
    poll_every: str | None = None,
) -> str:
    """A framewatch config reading ``feeds`` (names; /feeds/NAME.xml), pages fetched."""
    lines = [
        f'[database]\nurl = "{database_url}"\n',
        f"[fetch]\nallow_private_addresses = true\ntimeout_s = {timeout_s}\nconcurrency = 4\n",
        f'[digest]\nout_dir = "{out_dir}"\n',
    ]
    if poll_every:
        lines.insert(2, f'[schedule]\npoll_every = "{poll_every}"\n')
    for name in feeds:
        lines.append(
            f'[[feeds]]\nname = "{name}"\nurl = "{base_url}/feeds/{name}.xml"\n'
            "fetch_articles = true\n"
        )
    return "\n".join(lines)


def served(root: Path) -> AbstractContextManager[str]:
    """The news web in its own process: the kills and forks here never touch it."""
    return synthweb.served(root, synthweb.NO_LATENCY, quiet=True, start_method="fork")


# -- databases --------------------------------------------------------------------------


@contextmanager
def fresh_database(base_url: str | None, folder: Path) -> Iterator[str]:
    """An empty database: a new SQLite file, or a new schema dropped afterwards."""
    from storage.db import private_schema

    if base_url is None:
        yield f"sqlite:///{folder / f'fw-{uuid.uuid4().hex[:8]}.db'}"
        return
    with private_schema(base_url, "fwcrash") as url:
        yield url


@contextmanager
def engine_for(url: str) -> Iterator[Engine]:
    from storage.db import make_engine

    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()  # no connection may survive into a forked child


# -- the ingesting child ----------------------------------------------------------------


def warm_up() -> None:
    """Load the pipeline's models (language identifier, MinHash, codebook) once in this
    process, so forked children spend their lives ingesting rather than loading them (the
    `cli` mode keeps the cold start). No database is opened here."""
    import ingest.pipeline.warmup  # noqa: F401  (importing it warms up)


def _quiet() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a child reacts to signals as framewatch does
    # Expected noise of a killed run (skipped scheduler ticks) stays out of the report;
    # errors are still shown.
    logging.disable(logging.WARNING)


def _poll_child(config: str) -> None:
    from ingest.cli.app import make_fetcher
    from ingest.config.settings import load_settings
    from ingest.sources.poll import poll_feeds
    from storage import migrate
    from storage.db import make_engine, make_session_factory

    _quiet()
    settings = load_settings(Path(config))
    engine = make_engine(settings.database.url)
    migrate.upgrade(engine)
    with make_fetcher(settings) as fetcher:
        report = poll_feeds(settings, make_session_factory(engine), fetcher)
    engine.dispose()
    os._exit(1 if report.failed else 0)


def _service_child(config: str, metrics_port: int) -> None:
    from ingest.config.settings import load_settings
    from ingest.service.runner import Service, ServiceOptions
    from storage.db import make_engine

    _quiet()
    settings = load_settings(Path(config))
    engine = make_engine(settings.database.url)
    options = ServiceOptions(metrics_port=metrics_port, tick=timedelta(seconds=1))
    Service(settings, engine, options).run()
    os._exit(0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(port: int) -> bool:
    """The service's /healthz: 200 once a poll of this run has completed."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


class Child:
    """One ingestion attempt; ``kill()`` is SIGKILL, ``stop()`` SIGTERM."""

    def __init__(self, mode: str, config: Path) -> None:
        self.mode = mode
        self.popen: subprocess.Popen[bytes] | None = None
        self.process: Any = None  # a forked multiprocessing.Process
        self.stderr = config.with_suffix(".stderr")
        if mode == "cli":
            env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWATCH_")}
            with self.stderr.open("wb") as err:
                self.popen = subprocess.Popen(
                    [sys.executable, "-m", "ingest", "--config", str(config), "poll",
                     "--format", "json"],
                    stdout=subprocess.DEVNULL, stderr=err, env=env,
                )  # fmt: skip
        else:
            self.metrics_port = free_port()
            target, args = (_poll_child, (str(config),))
            if mode == "service":
                target, args = (_service_child, (str(config), self.metrics_port))  # type: ignore[assignment]
            self.process = multiprocessing.get_context("fork").Process(target=target, args=args)
            self.process.start()

    @property
    def pid(self) -> int:
        return int(self.popen.pid if self.popen is not None else self.process.pid)

    def exit_code(self) -> int | None:
        if self.popen is not None:
            return self.popen.poll()
        code = self.process.exitcode
        return None if code is None else int(code)

    def detail(self) -> str:
        return self.stderr.read_text()[-300:] if self.popen is not None else ""

    def wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (code := self.exit_code()) is not None:
                return code
            time.sleep(0.02)
        return None

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.wait(10)

    def stop(self) -> int | None:
        os.kill(self.pid, signal.SIGTERM)
        return self.wait(20)


def cli_init(config: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWATCH_")}
    subprocess.run(
        [sys.executable, "-m", "ingest", "--config", str(config), "init"],
        check=True, capture_output=True, env=env,
    )  # fmt: skip


# -- checking the store -----------------------------------------------------------------


@dataclass
class StoreCheck:
    lost: int = 0  # expected articles or sightings missing
    duplicated: int = 0  # articles or sightings stored more than once, or stored wrongly
    integrity: list[str] = field(default_factory=list)  # integrity-check failures
    problems: list[str] = field(default_factory=list)  # half-written or stale state
    snapshot: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.integrity or self.problems)


def _key(web: NewsWeb, url: str) -> str:
    path = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else url
    return web.key_of_path.get(path, f"?{url}")


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def check_store(url: str, web: NewsWeb, reference: dict[str, list[Any]] | None) -> StoreCheck:
    """Compare the store with the expected set (and with a reference run's derived state)."""
    result = StoreCheck()
    with engine_for(url) as engine:
        _integrity(engine, result)
        with Session(engine) as session:
            _articles_and_sightings(session, web, result)
            _derived_state(session, web, result)
            result.snapshot = _snapshot(session, web)
    if reference is not None:
        for name, expected in reference.items():
            if result.snapshot.get(name) != expected:
                got = set(map(tuple, result.snapshot.get(name, [])))
                want = set(map(tuple, expected))
                result.problems.append(
                    f"{name} differ from the reference run: missing {sorted(want - got)[:3]}, "
                    f"unexpected {sorted(got - want)[:3]}"
                )
    return result


def _articles_and_sightings(session: Session, web: NewsWeb, result: StoreCheck) -> None:
    from storage.models import Article, SeenEntry, Sighting, Source

    stored = Counter(_key(web, u) for u in session.scalars(select(Article.canonical_url)))
    result.lost += len(web.relevant - set(stored))
    result.duplicated += sum(n - 1 for n in stored.values())
    result.duplicated += sum(n for key, n in stored.items() if key not in web.relevant)
    seen = Counter(_path(u) for u in session.scalars(select(SeenEntry.canonical_url)))
    result.lost += len(web.irrelevant_paths - set(seen))
    result.duplicated += sum(n - 1 for n in seen.values())
    rows = session.execute(
        select(Source.name, Sighting.url).join(Source, Source.id == Sighting.source_id)
    ).all()
    sightings = Counter((name, _path(u)) for name, u in rows)
    result.lost += len(web.carried - set(sightings))
    result.duplicated += sum(n - 1 for n in sightings.values())
    result.duplicated += sum(1 for pair in sightings if pair not in web.carried)


def _derived_state(session: Session, web: NewsWeb, result: StoreCheck) -> None:
    """Nothing half-written: everything the pipeline writes with an article is there."""
    from ingest.pipeline.dedup import BANDS
    from storage.models import (
        Article,
        Cluster,
        FeedState,
        Sighting,
        Signature,
        SignatureBand,
        StoryMembership,
    )

    articles = session.execute(select(Article.id, Article.source_id, Article.cluster_id)).all()
    new_rows = session.execute(
        select(Sighting.article_id, Sighting.source_id).where(Sighting.matched_by == "new")
    )
    new = {(int(a), int(s)) for a, s in new_rows}
    members = set(session.scalars(select(StoryMembership.article_id)))
    signed = set(session.scalars(select(Signature.article_id)))
    band_rows = session.execute(
        select(SignatureBand.article_id, func.count()).group_by(SignatureBand.article_id)
    )
    bands = {int(a): int(n) for a, n in band_rows}
    for article_id, source_id, cluster_id in articles:
        if (article_id, source_id) not in new:
            result.problems.append(f"article {article_id} has no 'new' sighting")
        if article_id not in members:
            result.problems.append(f"article {article_id} belongs to no story")
        if article_id not in signed or bands.get(article_id) != BANDS:
            result.problems.append(f"article {article_id}: signature or LSH bands missing")
        if cluster_id is None:
            result.problems.append(f"article {article_id} has no event cluster")
    sizes = Counter(cluster_id for _a, _s, cluster_id in articles)
    for cluster_id, count in session.execute(select(Cluster.id, Cluster.article_count)).all():
        if sizes.get(cluster_id, 0) != count:
            result.problems.append(
                f"cluster {cluster_id} counts {count}, holds {sizes[cluster_id]}"
            )
    for state in session.scalars(select(FeedState)):
        if state.consecutive_errors or state.last_success_at is None or not state.etag:
            result.problems.append(f"feed {state.source_id} not healthy: {state.last_status}")
    stale = _stale_flags(session)
    if stale:
        result.problems.append(f"flags are stale: recomputing would add/remove {stale}")


def _stale_flags(session: Session) -> tuple[int, int] | None:
    """What recomputing the flags now would change (None: nothing; they are current)."""
    from zoneinfo import ZoneInfo

    from ingest.config.settings import settings_from_mapping
    from ingest.config.stories import BUILTIN_STORIES
    from ingest.flags.rules import compute_flags
    from ingest.framing.codebook import story_codebook
    from storage import frames

    settings = settings_from_mapping({})
    change = (0, 0)
    with session.begin_nested() as savepoint:
        for story in settings.active_stories:
            if story.name not in BUILTIN_STORIES:
                continue
            typical = {f.name: f.typical_of for f in story_codebook(story, None).frames}
            timeline = frames.story_timeline(session, story.name)
            drafts = compute_flags(timeline, typical, ZoneInfo(settings.schedule.timezone))
            added, removed = frames.save_flags(session, story.name, drafts, datetime.now(UTC))
            change = (change[0] + added, change[1] + removed)
        savepoint.rollback()
    return change if change != (0, 0) else None


def _snapshot(session: Session, web: NewsWeb) -> dict[str, list[Any]]:
    """Derived state comparable across runs (article ids differ, text keys do not)."""
    from storage.models import Article, ArticleFrame, Flag

    keys = {i: _key(web, u) for i, u in session.execute(select(Article.id, Article.canonical_url))}
    frame_rows = session.execute(
        select(ArticleFrame.article_id, ArticleFrame.story, ArticleFrame.frame, ArticleFrame.voice)
    ).all()
    links = session.execute(
        select(Article.id, Article.duplicate_of).where(Article.duplicate_of.is_not(None))
    ).all()
    flags = session.execute(select(Flag.kind, Flag.frame, Flag.source, Flag.article_ids)).all()
    return {
        "frames": sorted([keys[a], s, f, v] for a, s, f, v in frame_rows),
        "near-duplicate links": sorted([keys[a], keys.get(d or 0, "?")] for a, d in links),
        "flags": sorted(
            [kind, frame or "", source or "", ",".join(sorted(keys.get(i, "?") for i in ids))]
            for kind, frame, source, ids in flags
        ),
    }


ORPHAN_QUERIES = {
    "sightings without article": "SELECT count(*) FROM sightings s LEFT JOIN articles a "
    "ON a.id = s.article_id WHERE a.id IS NULL",
    "memberships without article": "SELECT count(*) FROM story_memberships m LEFT JOIN "
    "articles a ON a.id = m.article_id WHERE a.id IS NULL",
    "frames without article": "SELECT count(*) FROM article_frames f LEFT JOIN articles a "
    "ON a.id = f.article_id WHERE a.id IS NULL",
    "bands without signature": "SELECT count(*) FROM signature_bands b LEFT JOIN signatures s "
    "ON s.article_id = b.article_id WHERE s.article_id IS NULL",
    "articles sharing a URL": "SELECT count(*) FROM (SELECT canonical_url FROM articles "
    "GROUP BY canonical_url HAVING count(*) > 1) d",
}


def _integrity(engine: Engine, result: StoreCheck) -> None:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            verdict = [row[0] for row in conn.exec_driver_sql("PRAGMA integrity_check")]
            if verdict != ["ok"]:
                result.integrity.append(f"integrity_check: {verdict[:3]}")
            if broken := conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall():
                result.integrity.append(f"foreign_key_check: {broken[:3]}")
            try:  # FTS5's check of its index's own structure
                conn.exec_driver_sql(
                    "INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 0)"
                )
            except Exception as exc:
                result.integrity.append(f"fts integrity-check: {exc}")
            conn.rollback()
            if differ := _fts_differences(conn):
                result.integrity.append(f"fts index differs from the folded articles: {differ}")
        for name, query in ORPHAN_QUERIES.items():
            if count := conn.execute(text(query)).scalar():
                result.integrity.append(f"{name}: {count}")


def _fts_differences(conn: Connection) -> int:
    """Term instances (term, article, column, offset) in which the FTS5 index and the
    articles' folded text differ. FTS5's own ``integrity-check`` with rank 1 compares the
    index with the raw text, which the index's folding (``ł``, ``ё``...) makes differ; this
    compares it with what the triggers index."""
    from storage.search_schema import FOLD_FUNCTION, FTS_TABLE, SQLITE_TOKENIZER

    columns = "title, summary, text"
    folded = ", ".join(f"{FOLD_FUNCTION}({c})" for c in columns.split(", "))
    indexed, refolded = "temp.fw_indexed_terms", "temp.fw_folded_terms"
    try:  # in the transaction (BEGIN IMMEDIATE): rolled back, the temporary tables go too
        for statement in (
            f"CREATE VIRTUAL TABLE temp.fw_folded USING fts5({columns}, "
            f'tokenize="{SQLITE_TOKENIZER}")',
            f"INSERT INTO temp.fw_folded(rowid, {columns}) SELECT id, {folded} FROM articles",
            f"CREATE VIRTUAL TABLE {indexed} USING fts5vocab(main, {FTS_TABLE}, instance)",
            f"CREATE VIRTUAL TABLE {refolded} USING fts5vocab(temp, fw_folded, instance)",
        ):
            conn.exec_driver_sql(statement)
        differ = 0
        for a, b in ((indexed, refolded), (refolded, indexed)):
            query = f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT SELECT * FROM {b})"
            differ += int(conn.exec_driver_sql(query).scalar() or 0)
    finally:
        conn.rollback()
    return differ


# -- trials -----------------------------------------------------------------------------


@dataclass
class Trial:
    number: int
    mode: str
    delays: list[float] = field(default_factory=list)  # kill delays, seconds after start
    kills: int = 0
    partial_kills: int = 0  # kills that left some but not all feeds stored
    restarts: int = 0
    errors: list[str] = field(default_factory=list)  # non-zero exits, refused restarts
    last_attempt_s: float = 0.0  # how long the completing attempt ran
    check: StoreCheck = field(default_factory=StoreCheck)
    seconds: float = 0.0


def _feeds_done(url: str) -> int:
    """Feeds whose poll has been committed (0 when the schema is not there yet)."""
    from storage.models import FeedState

    try:
        with engine_for(url) as engine, Session(engine) as session:
            return session.scalar(
                select(func.count()).select_from(FeedState).where(
                    FeedState.last_success_at.is_not(None))
            ) or 0  # fmt: skip
    except Exception:
        return 0


def _service_done(url: str, feeds: int, child: Child, timeout: float) -> bool:
    """Every feed polled, and this run's first poll (which also catches the flags up with
    what an earlier, killed run stored) has completed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.exit_code() is None:
        if _healthy(child.metrics_port) and _feeds_done(url) == feeds:
            return True
        time.sleep(0.1)
    return False


def run_attempt(
    trial: Trial, url: str, config: Path, feeds: int, delay: float | None, timeout: float
) -> bool:
    """One start of the ingesting process; True when it ran to completion."""
    child = Child(trial.mode, config)
    started = time.monotonic()
    if delay is not None:
        code = child.wait(delay)
        if code is None:
            child.kill()
            trial.kills += 1
            trial.delays.append(round(time.monotonic() - started, 3))
            done = _feeds_done(url)
            trial.partial_kills += 0 < done < feeds
            return False
    if trial.mode == "service":
        if not _service_done(url, feeds, child, timeout):
            code = child.exit_code()
            trial.errors.append(f"service did not poll every feed (exit {code})")
            if code is None:
                child.kill()
            return True
        trial.last_attempt_s = time.monotonic() - started
        code = child.stop()
        if code != 0:
            trial.errors.append(f"service exited {code} on SIGTERM")
        return True
    code = child.wait(timeout)
    trial.last_attempt_s = time.monotonic() - started
    if code is None:
        child.kill()
        trial.errors.append("ingestion did not finish in time")
    elif code != 0:
        trial.errors.append(f"{trial.mode} exited {code} {child.detail()}".strip())
    return True


def run_trial(
    trial: Trial,
    web: NewsWeb,
    env: BenchEnv,
    rng: random.Random,
    reference: dict[str, list[Any]] | None,
) -> Trial:
    started = time.monotonic()
    with fresh_database(env.database_url, env.folder) as url:
        config = env.folder / f"trial-{trial.number}.toml"
        config.write_text(config_text(web.feeds, env.base_url, url, env.folder / "digests"))
        if trial.mode == "cli":
            cli_init(config)
        for attempt in range(env.max_kills + 1):
            delay = None
            if attempt < env.max_kills:
                delay = rng.uniform(0, env.span[trial.mode]) + env.offset.get(trial.mode, 0.0)
            if attempt:
                trial.restarts += 1
            if run_attempt(trial, url, config, len(web.feeds), delay, env.timeout):
                break
        trial.check = check_store(url, web, reference)
    trial.seconds = time.monotonic() - started
    return trial


@dataclass
class BenchEnv:
    base_url: str
    folder: Path
    database_url: str | None
    span: dict[str, float]  # per mode: kills are drawn uniformly from [0, span)
    max_kills: int = 3
    timeout: float = 180.0
    offset: dict[str, float] = field(default_factory=dict)  # added to a mode's kill delays


def calibrate(web: NewsWeb, env: BenchEnv, mode: str) -> dict[str, list[Any]]:
    """An uninterrupted run: its duration bounds the kill delays (for every mode), and its
    derived state (frames, near-duplicate links, flags) is the reference."""
    trial = Trial(0, mode)
    once = BenchEnv(env.base_url, env.folder, env.database_url, env.span, 0, env.timeout)
    run_trial(trial, web, once, random.Random(0), None)
    if trial.errors or not trial.check.ok:
        raise SystemExit(f"reference run failed: {trial.errors} {trial.check}")
    env.span = dict.fromkeys(("poll", "service", "cli"), trial.last_attempt_s * 1.1)
    return trial.check.snapshot


def cold_start_s() -> float:
    """How long the CLI takes to start before it works: `cli` kills are drawn after it."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "ingest", "--version"], check=True, capture_output=True)
    return time.monotonic() - started


def summarize(trials: list[Trial], backend: str) -> dict[str, Any]:
    failures = [t for t in trials if t.errors or not t.check.ok]
    return {
        "backend": backend,
        "trials": len(trials),
        "modes": dict(Counter(t.mode for t in trials)),
        "kills": sum(t.kills for t in trials),
        "kills_mid_ingestion": sum(t.partial_kills for t in trials),
        "restarts": sum(t.restarts for t in trials),
        "lost": sum(t.check.lost for t in trials),
        "duplicated": sum(t.check.duplicated for t in trials),
        "integrity_failures": sum(bool(t.check.integrity) for t in trials),
        "half_written_or_stale": sum(bool(t.check.problems) for t in trials),
        "errors": sum(len(t.errors) for t in trials),
        "failed_trials": [
            {
                "trial": t.number,
                "mode": t.mode,
                "delays": t.delays,
                "errors": t.errors,
                "lost": t.check.lost,
                "duplicated": t.check.duplicated,
                "integrity": t.check.integrity,
                "problems": t.check.problems[:5],
            }
            for t in failures
        ],
    }


def run(
    trials: int,
    database_url: str | None = None,
    seed: int = 6,
    modes: tuple[str, ...] = ("poll", "service"),
    max_kills: int = 3,
    texts_per_feed: int = 2,
    on_trial: Callable[[Trial], None] | None = None,
) -> dict[str, Any]:
    web = build_web(texts_per_feed=texts_per_feed, seed=seed)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="fw-crash-") as tmp:
        folder = Path(tmp)
        web.write(folder / "web")
        with served(folder / "web") as base_url:
            warm_up()
            env = BenchEnv(base_url, folder, database_url, {}, max_kills)
            reference = calibrate(web, env, modes[0])
            if "cli" in modes:
                env.offset["cli"] = cold_start_s()
            done: list[Trial] = []
            try:
                for number in range(1, trials + 1):
                    trial = run_trial(Trial(number, modes[(number - 1) % len(modes)]), web,
                                      env, rng, reference)  # fmt: skip
                    done.append(trial)
                    if on_trial:
                        on_trial(trial)
            except SystemExit:  # stopped (SIGTERM): report the trials that completed
                print(f"stopped after {len(done)} trials", flush=True)
    backend = "postgresql" if database_url else "sqlite"
    report = summarize(done, backend)
    report["seed"] = seed
    report["articles_expected"] = len(web.relevant)
    report["kill_window_s"] = round(env.span[modes[0]], 2)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="PostgreSQL; default SQLite files")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--modes", default="poll,service", help="cycled: poll, service, cli")
    parser.add_argument("--max-kills", type=int, default=3, help="kills per trial at most")
    parser.add_argument("--texts-per-feed", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per trial")
    args = parser.parse_args()
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())

    def show(trial: Trial) -> None:
        if args.verbose or trial.errors or not trial.check.ok:
            print(
                f"trial {trial.number:4} {trial.mode:8} kills at {trial.delays} "
                f"lost {trial.check.lost} dup {trial.check.duplicated} "
                f"integrity {'ok' if not trial.check.integrity else trial.check.integrity} "
                f"{trial.errors or ''} {trial.check.problems[:2] or ''} ({trial.seconds:.1f}s)",
                flush=True,
            )

    # Stopped with SIGTERM: still drop the temporary schema and stop the news web.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    report = run(args.trials, args.database_url, args.seed, modes, args.max_kills,
                 args.texts_per_feed, show)  # fmt: skip
    report["minutes"] = round((time.monotonic() - started) / 60, 1)
    report["load_average"] = [round(x, 2) for x in os.getloadavg()]
    for key, value in report.items():
        if key != "failed_trials":
            print(f"{key:22} {value}")
    for failure in report["failed_trials"]:
        print("FAILED", failure)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    sys.exit(1 if report["failed_trials"] else 0)


if __name__ == "__main__":
    main()
