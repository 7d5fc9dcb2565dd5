"""Full-text search at scale: latency of typical queries over 100k and 1M articles.

    python -m bench.perf.search [--sizes 100000,1000000] [--repeats 15]
                           [--databases sqlite,postgresql] [--json PATH] [--keep DIR]

Builds synthetic coverage (English, Russian, Belarusian and Polish articles of about 180
words: a Zipf-distributed filler vocabulary plus story words at realistic rates, 5 %
near-duplicate copies, 90 % in the story, two years of publication dates), bulk-inserted
straight into ``articles`` with the index rebuilt the way ``framewatch reindex`` does it.
Then times each typical query (a page of 20 with its count and snippets, exactly what
``framewatch search`` and ``GET /articles`` do) and reports p50/p95 per query and overall:
wall-clock, and the CPU time of the querying thread (SQLite runs in it) plus, on
PostgreSQL, of the server process answering it (when the server runs on this machine),
which is about what the wall-clock would be on an idle machine; the load average is
printed beside them.
SQLite always; PostgreSQL too when FRAMEWATCH_TEST_DATABASE_URL is set (a private
schema, dropped afterwards). ``--sizes 20000`` is the quick mode (well under a minute).

``--keep DIR`` keeps what it builds and reuses it on the next run (a 1M build takes many
minutes): SQLite files in DIR, PostgreSQL schemas ``bench_keep_<size>``. A kept database
is migrated to the current schema (and analysed) before it is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, insert, text
from sqlalchemy.engine import make_url

from ingest.model.query import parse_query
from storage import migrate, search_schema
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.filters import SearchFilters
from storage.search import search_articles

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
BATCH = 5000
LANGUAGES = ("en", "ru", "be", "pl")
LANGUAGE_SHARE = (0.4, 0.35, 0.15, 0.1)
# Story words and the share of articles (in that language) that contain them.
STORY_WORDS = {
    "en": [("Belarus", 0.7), ("Lukashenko", 0.45), ("political prisoners", 0.3),
           ("pardoned", 0.15), ("hostages", 0.04), ("sanctions", 0.12), ("potash", 0.03),
           ("Russia", 0.25), ("released", 0.3), ("Tsikhanouski", 0.02)],
    "ru": [("Беларусь", 0.6), ("Лукашенко", 0.5), ("политзаключённые", 0.3),
           ("помиловал", 0.12), ("заложники", 0.03), ("санкции", 0.1), ("освобождены", 0.25)],
    "be": [("Беларусь", 0.6), ("Лукашэнка", 0.5), ("палітвязні", 0.35), ("вызвалілі", 0.2),
           ("Ціханоўскі", 0.03)],
    "pl": [("Białoruś", 0.7), ("Łukaszenka", 0.45), ("więźniowie polityczni", 0.3),
           ("zakładnicy", 0.04), ("uwolniła", 0.25)],
}  # fmt: skip
QUERIES: list[tuple[str, dict[str, Any], str]] = [
    ("hostage*", {}, "relevance"),
    ('"political prisoners"', {}, "relevance"),
    ("Лукашенко AND помилов*", {}, "relevance"),
    ("belarus AND NOT russia", {}, "relevance"),
    ("hostage* OR заложник* OR zakładni*", {}, "relevance"),
    ("potash AND sanctions", {}, "relevance"),
    ("палітвязн*", {"languages": ("be",)}, "relevance"),
    ("Tsikhanouski OR Ціханоўскі", {}, "date"),
    ("lukashenko", {"since": T0 + SPAN - timedelta(days=30)}, "date"),
]


def _filler(rng: np.random.Generator, size: int = 30_000) -> np.ndarray:
    latin, cyrillic = "abcdefghiklmnoprstuvwyz", "абвгдежзиклмнопрстуфхцчшыэюяіў"
    words = []
    for i in range(size):
        letters = latin if i % 2 else cyrillic
        words.append("".join(rng.choice(list(letters), size=int(rng.integers(3, 11)))))
    return np.array(words, dtype=object)


class Corpus:
    """Synthetic articles, generated in batches (the same for every database)."""

    def __init__(self, seed: int = 11) -> None:
        self.rng = np.random.default_rng(seed)
        self.words = _filler(self.rng)
        weights = 1.0 / np.arange(1, len(self.words) + 1) ** 1.05
        self.cdf = np.cumsum(weights / weights.sum())

    def _text(self, language: str, length: int) -> str:
        picks = np.searchsorted(self.cdf, self.rng.random(length), side="right")
        words = list(self.words[np.minimum(picks, len(self.words) - 1)])
        for word, share in STORY_WORDS[language]:
            if self.rng.random() < share:
                words.insert(int(self.rng.integers(0, len(words))), word)
        return " ".join(words)

    def rows(self, start: int, count: int, total: int) -> list[dict[str, Any]]:
        rows = []
        for i in range(start, start + count):
            language = LANGUAGES[int(self.rng.choice(4, p=LANGUAGE_SHARE))]
            when = T0 + SPAN * (i / total) + timedelta(minutes=int(self.rng.integers(0, 600)))
            copy = i > 10 and self.rng.random() < 0.05
            rows.append({
                "id": i, "canonical_url": f"https://outlet{i % 40}.example/a/{i}",
                "url": f"https://outlet{i % 40}.example/a/{i}", "source_id": 1 + i % 20,
                "outlet": f"outlet{i % 40}.example", "title": self._text(language, 10),
                "summary": self._text(language, 25), "text": self._text(language, 150),
                "published_at": when, "fetched_at": when, "language": language,
                "duplicate_of": int(self.rng.integers(1, i)) if copy else None,
            })  # fmt: skip
        return rows


_COLUMNS = ("id", "canonical_url", "url", "source_id", "outlet", "title", "summary", "text",
            "published_at", "fetched_at", "language", "duplicate_of")  # fmt: skip


def build(engine: Engine, size: int) -> dict[str, float]:
    """Bulk-insert ``size`` articles. SQLite: triggers off, then the index rebuilt as
    ``framewatch reindex`` does. PostgreSQL: the trigger fills each row of article_search
    and its indexes are created after the load (as one would for a bulk import)."""
    migrate.upgrade(engine)
    corpus, started = Corpus(), time.perf_counter()
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        _sources(conn)
        if postgres:  # the trigger fills article_search; its indexes are built after
            for index in (search_schema.SEARCH_INDEX, search_schema.DATED_INDEX):
                conn.exec_driver_sql(f"DROP INDEX {index}")
        else:
            for name in ("insert", "update", "delete"):
                conn.exec_driver_sql(f"DROP TRIGGER articles_fts_{name}")
    from storage.models import Article, StoryMembership

    for start in range(1, size + 1, BATCH):
        rows = corpus.rows(start, min(BATCH, size + 1 - start), size)
        with engine.begin() as conn:
            conn.execute(insert(Article), rows)
            conn.execute(insert(StoryMembership), [
                {"article_id": r["id"], "story": "belarus-prisoners" if r["id"] % 10 else "other",
                 "matched_terms": [], "matched_at": r["fetched_at"]} for r in rows
            ])  # fmt: skip
    inserted = time.perf_counter()
    with engine.begin() as conn:
        if postgres:
            search_schema.ensure_objects(conn)
        else:
            search_schema.rebuild_index(conn)
    if postgres:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    done = time.perf_counter()
    return {"insert_s": round(inserted - started, 1), "index_s": round(done - inserted, 1)}


def _sources(conn: Any) -> None:
    from storage.models import Source

    conn.execute(insert(Source), [
        {"id": i, "name": f"source{i}", "kind": "feed", "url": f"https://s{i}.example/rss",
         "outlet_group": None, "active": True, "created_at": T0} for i in range(1, 21)
    ])  # fmt: skip


def measure(url: str, repeats: int) -> dict[str, Any]:
    """p50/p95 (ms) of each query, and over all of them, on read-only connections as
    ``framewatch search`` and ``serve`` use."""
    engine = make_engine(url, read_only=True)
    factory = make_session_factory(engine)
    server = _server_cpu(engine)
    per_query: dict[str, Any] = {}
    everything: list[float] = []
    cpu_everything: list[float] = []
    for typed, filters, sort in QUERIES:
        query, times, cpu, hits = parse_query(typed), [], [], 0
        for attempt in range(repeats + 1):
            started, started_cpu, started_server = time.perf_counter(), time.thread_time(), server()
            with unit_of_work(factory) as session:
                page = search_articles(session, query, SearchFilters(**filters), sort, 20)
            if attempt:  # the first run warms the caches
                times.append((time.perf_counter() - started) * 1000)
                used = time.thread_time() - started_cpu + server() - started_server
                cpu.append(used * 1000)
            hits = page.total
        everything += times
        cpu_everything += cpu
        label = typed + "".join(f" --{k} {_shown(v)}" for k, v in filters.items()) + f" [{sort}]"
        per_query[label] = {**_percentiles(times), **_percentiles(cpu, "cpu_"), "matches": hits}
    engine.dispose()
    overall = {**_percentiles(everything), **_percentiles(cpu_everything, "cpu_")}
    return {"overall": overall, "load_average": os.getloadavg()[0], "queries": per_query}


def _server_cpu(engine: Engine) -> Callable[[], float]:
    """The CPU seconds used so far by the PostgreSQL backend serving the bench, when the
    server runs on this machine (its /proc is readable); else always 0. The pool hands
    the single-threaded bench the same connection each time. Clock-tick resolution
    (10 ms): meaningful over the repeats, not for one run."""
    if engine.dialect.name != "postgresql":
        return lambda: 0.0
    with engine.connect() as conn:
        stat = Path(f"/proc/{conn.exec_driver_sql('SELECT pg_backend_pid()').scalar()}/stat")

    def used() -> float:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    return used


def _shown(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    return ",".join(value) if isinstance(value, tuple) else str(value)


def _percentiles(times: list[float], prefix: str = "") -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {f"{prefix}p50_ms": round(statistics.median(ordered), 1),
            f"{prefix}p95_ms": round(p95, 1)}  # fmt: skip


@contextmanager
def sqlite_database(folder: Path, size: int, keep: bool = False) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{folder / f'search-{size}.db'}")
    try:
        yield engine
    finally:
        engine.dispose()
        for path in folder.glob(f"search-{size}.db*") if not keep else ():
            path.unlink()


@contextmanager
def postgres_database(base: str, size: int, keep: bool = False) -> Iterator[Engine]:
    """A private schema on the test PostgreSQL, dropped afterwards unless kept."""
    schema = f"bench_keep_{size}" if keep else f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        if not keep:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _built(engine: Engine, size: int) -> bool:
    """Whether a kept database already holds the ``size`` articles (then brought up to
    date: migrated and analysed)."""
    with engine.connect() as conn:
        has = engine.dialect.has_table(conn, "articles")
        count = conn.exec_driver_sql("SELECT count(*) FROM articles").scalar() if has else 0
    if count != size:
        if has:
            raise SystemExit(f"{engine.url}: an incomplete kept database; remove it")
        return False
    migrate.upgrade(engine)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return True


def run(
    sizes: list[int], repeats: int, databases: set[str], keep: Path | None = None
) -> dict[str, Any]:
    """SQLite; PostgreSQL too when FRAMEWATCH_TEST_DATABASE_URL is set."""
    report: dict[str, Any] = {}
    base = os.environ.get("FRAMEWATCH_TEST_DATABASE_URL")
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            targets: list[tuple[str, Any]] = []
            if "sqlite" in databases:
                targets.append(("sqlite", partial(sqlite_database, folder, size, bool(keep))))
            if base and "postgresql" in databases:
                targets.append(("postgresql", partial(postgres_database, base, size, bool(keep))))
            for name, opened in targets:
                with opened() as engine:
                    reused = keep is not None and _built(engine, size)
                    built = {"insert_s": 0.0, "index_s": 0.0} if reused else build(engine, size)
                    url = engine.url.render_as_string(hide_password=False)
                    report[f"{name}/{size}"] = {**built, **measure(url, repeats)}
                _print(f"{name}/{size}", report[f"{name}/{size}"])
    return report


def _print(label: str, result: dict[str, Any]) -> None:
    o = result["overall"]
    print(f"\n{label}: inserted in {result['insert_s']}s, indexed in {result['index_s']}s; "
          f"load average {result['load_average']:.1f}\n"
          f"  all queries: p50 {o['p50_ms']} ms, p95 {o['p95_ms']} ms "
          f"(CPU p50 {o['cpu_p50_ms']} ms, p95 {o['cpu_p95_ms']} ms)")  # fmt: skip
    for query, f in result["queries"].items():
        print(f"  {f['p50_ms']:>7.1f} {f['p95_ms']:>7.1f} {f['cpu_p50_ms']:>7.1f} "
              f"{f['cpu_p95_ms']:>7.1f}  {f['matches']:>6}  {query}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per query")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="keep and reuse built databases")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    print("  wall-clock ms    CPU ms (this thread + PostgreSQL backend)")
    print("      p50     p95     p50     p95  matches  query")
    report = run(sizes, args.repeats, set(args.databases.split(",")), args.keep)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
