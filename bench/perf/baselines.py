"""What framewatch is measured against, on the same synthetic web in the same run.

* **floor**: the libraries alone on the bytes framewatch fetched — feedparser on each
  feed, trafilatura on each page (text plus the metadata framewatch needs: title, author,
  date), one thread, no network, no storage. No ingestion can cost less per page.
* **stage floor** (:func:`run_stage_floor`): every stage framewatch requires, each done by
  its library (or, where there is none, by framewatch's own function called directly) on
  the same pages in one tight loop: the HTTP client's GET of each feed and page, feedparser,
  trafilatura with framewatch's options, py3langid on the same prefix, framewatch's
  relevance, shingles with a datasketch MinHash (same permutations) and an in-memory
  MinHashLSH insert and query, framewatch's framing and cluster terms, and a raw SQLite
  INSERT with its FTS5 index committed per 100 rows. framewatch's cost above it is
  orchestration: IPC, ORM, commits, bookkeeping.
* **plain**: the straightforward script one would write first — for each feed in turn,
  GET it, parse it, then for each entry GET its page, extract it with trafilatura and
  INSERT it into SQLite (``INSERT OR IGNORE`` on the URL, one commit per feed). No
  concurrency, no conditional requests, no relevance, dedup or framing.

Both run in their own process (see ``bench.perf.e2e.measure_in_child``) and count CPU seconds
the same way as the framewatch run.
"""

from __future__ import annotations

import resource
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.perf.e2e import cpu_seconds

PLACEHOLDER = b"{{BASE}}"


def _bytes(root: Path, path: str, base_url: str) -> bytes:
    return (root / path.lstrip("/")).read_bytes().replace(PLACEHOLDER, base_url.encode())


def run_floor(root: str, base_url: str, feeds: list[str]) -> dict[str, Any]:
    """feedparser + trafilatura on bytes in memory; ``base_url`` as the pages were served."""
    import feedparser
    from trafilatura import bare_extraction

    folder = Path(root)
    feed_bytes = [_bytes(folder, path, base_url) for path in feeds]
    links = [
        str(entry.link)
        for body in feed_bytes
        for entry in feedparser.parse(body).entries  # resolve links outside the clock
    ]
    pages = [_bytes(folder, "/" + link.split("/", 3)[3], base_url) for link in links]
    bare_extraction(pages[0], url=links[0], with_metadata=True)  # imports and first-use setup
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    parse_cpu, entries = 0.0, 0
    for body in feed_bytes:
        entries += len(feedparser.parse(body).entries)
    parse_cpu = cpu_seconds() - cpu0
    texts = 0
    for link, page in zip(links, pages, strict=True):
        document = bare_extraction(page, url=link, with_metadata=True)
        texts += bool(getattr(document, "text", None))
    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    return {
        "entries": entries,
        "pages": len(pages),
        "pages_with_text": texts,
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3),
        "stages": {"parse": round(parse_cpu, 3), "extract": round(cpu - parse_cpu, 3)},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


# trafilatura as framewatch calls it (ingest.pipeline.extract), with the metadata the
# stages after it need (title, date)
EXTRACT_OPTIONS: dict[str, Any] = {
    "fast": True, "favor_precision": True, "include_comments": False, "include_tables": False,
    "include_images": False, "include_links": False, "deduplicate": False,
    "with_metadata": True,
}  # fmt: skip
LANGUAGE_PREFIX = 1_500  # ingest.pipeline.normalize._SAMPLE_CHARS
FTS_SCHEMA = (
    "CREATE TABLE articles (id INTEGER PRIMARY KEY, url TEXT UNIQUE, title TEXT, text TEXT, "
    "language TEXT, signature BLOB, fetched_at REAL)",
    "CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, content='articles', "
    "content_rowid='id')",
)


class _Clock:
    """CPU seconds of this thread per stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def __call__(self, stage: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds[stage] += time.thread_time() - started


def run_stage_floor(base_url: str, feeds: list[str], db_path: str) -> dict[str, Any]:
    """The stage floor on the pages of ``feeds`` (see the module's docstring)."""
    import httpx

    floor = StageFloor(db_path)
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    with httpx.Client(timeout=30) as client:
        links = [link for path in feeds for link in floor.feed(client, base_url + path)]
        for link in links:
            floor.page(client, link)
    floor.db.commit()
    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    stages = {k: round(v, 3) for k, v in sorted(floor.clock.seconds.items())}
    return {
        "pages": len(links),
        "stored": floor.stored,
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3),
        "stages": stages,
        "cpu_s_without_fetch": round(cpu - stages.get("fetch", 0.0), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


class StageFloor:
    """The libraries and framewatch's pure functions, warmed up, and a SQLite file."""

    def __init__(self, db_path: str) -> None:
        from datasketch import MinHashLSH
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        from ingest.config.settings import builtin_story
        from ingest.framing.codebook import story_codebook
        from ingest.pipeline import dedup

        self.stories = [builtin_story("belarus-prisoners")]
        self.codebook = story_codebook(self.stories[0])
        self.identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self.permutations = dedup._permutations()
        self.lsh = MinHashLSH(num_perm=dedup.NUM_PERM, params=(dedup.BANDS, dedup.ROWS))
        self.db = sqlite3.connect(db_path)
        for statement in FTS_SCHEMA:
            self.db.execute(statement)
        self.clock = _Clock()
        self.stored = 0
        self._warm_up()

    def _warm_up(self) -> None:
        from trafilatura import bare_extraction

        from ingest.framing.reading import read_article
        from ingest.pipeline.clusters import event_terms
        from ingest.pipeline.relevance import match_article

        text = "Belarus freed political prisoners after talks with a US envoy in Minsk. " * 9
        bare_extraction(f"<html><body><p>{text}</p></body></html>", **EXTRACT_OPTIONS)
        self.identifier.classify(text)
        match_article(self.stories, "Belarus", text)
        read_article(self._article("http://x/", "Belarus", text, "en"), self.codebook)
        event_terms("Belarus", text)
        self._minhash(text)

    def feed(self, client: Any, url: str) -> list[str]:
        import feedparser

        body = self.clock("fetch", lambda: client.get(url).content)
        return [str(e.link) for e in self.clock("parse", feedparser.parse, body).entries]

    def page(self, client: Any, link: str) -> None:
        self.process(link, self.clock("fetch", lambda: client.get(link).content))

    def process(self, link: str, body: bytes) -> None:
        """Every stage after the download, on one page."""
        from trafilatura import bare_extraction

        from ingest.framing.reading import read_article
        from ingest.pipeline.clusters import event_terms
        from ingest.pipeline.relevance import match_article

        doc = self.clock("extract", bare_extraction, body, url=link, **EXTRACT_OPTIONS)
        title, text = (getattr(doc, "title", None) or ""), (getattr(doc, "text", None) or "")
        language, _p = self.clock("language", self.identifier.classify, text[:LANGUAGE_PREFIX])
        if not self.clock("relevance", match_article, self.stories, title, text):
            return
        minhash = self.clock("dedup", self._minhash, text, link)
        self.clock("framing", read_article, self._article(link, title, text, language),
                   self.codebook)  # fmt: skip
        self.clock("cluster", event_terms, title, text)
        self.clock("store", self._store, link, title, text, language, minhash)

    def _minhash(self, text: str, key: str | None = None) -> bytes:
        import zlib

        from datasketch import MinHash

        from ingest.pipeline import dedup

        minhash = MinHash(
            num_perm=dedup.NUM_PERM, seed=dedup.SEED, permutations=self.permutations,
            scheme=dedup.SCHEME, hashfunc=zlib.crc32,
        )  # fmt: skip
        minhash.update_batch(list(dedup.text_shingles(text)))
        if key is not None:
            self.lsh.query(minhash)
            self.lsh.insert(key, minhash)
        return bytes(minhash.hashvalues.tobytes())

    def _store(self, url: str, title: str, text: str, language: str, signature: bytes) -> None:
        cursor = self.db.execute(
            "INSERT INTO articles (url, title, text, language, signature, fetched_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (url, title, text, language, signature, time.time()),
        )
        self.db.execute(
            "INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)",
            (cursor.lastrowid, title, text),
        )
        self.stored += 1
        if self.stored % 100 == 0:
            self.db.commit()

    @staticmethod
    def _article(url: str, title: str, text: str, language: str) -> Any:
        from ingest.model.items import Article

        now = datetime.now(UTC)
        return Article(url, url, "floor", "floor", now, title, "", text, language=language)


def run_plain(base_url: str, feeds: list[str], db_path: str) -> dict[str, Any]:
    """The sequential script: fetch feed, fetch each page, extract, insert."""
    import feedparser
    import httpx
    from trafilatura import bare_extraction

    db = sqlite3.connect(db_path)
    db.execute(
        "CREATE TABLE IF NOT EXISTS articles (url TEXT PRIMARY KEY, title TEXT, author TEXT, "
        "published TEXT, text TEXT, fetched_at REAL)"
    )
    bare_extraction(b"<html><body><p>warm up</p></body></html>", with_metadata=True)
    stored = pages = 0
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    with httpx.Client(timeout=30) as client:
        for path in feeds:
            parsed = feedparser.parse(client.get(base_url + path).content)
            for entry in parsed.entries:
                response = client.get(str(entry.link))
                pages += 1
                doc = bare_extraction(response.content, url=str(entry.link), with_metadata=True)
                if doc is None or not doc.text:
                    continue
                cursor = db.execute(
                    "INSERT OR IGNORE INTO articles VALUES (?, ?, ?, ?, ?, ?)",
                    (str(entry.link), doc.title, doc.author, doc.date, doc.text, time.time()),
                )
                stored += cursor.rowcount
            db.commit()
    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    repoll_cpu, repoll_wall = _plain_repoll(base_url, feeds, db)
    db.close()
    return {
        "feeds": len(feeds),
        "pages": pages,
        "stored": stored,
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3),
        "db_bytes": Path(db_path).stat().st_size,
        "repoll_cpu_ms_per_feed": round(1000 * repoll_cpu / len(feeds), 3),
        "repoll_wall_ms_per_feed": round(1000 * repoll_wall / len(feeds), 3),
    }


def _plain_repoll(base_url: str, feeds: list[str], db: sqlite3.Connection) -> tuple[float, float]:
    """The script run again on an unchanged web, skipping URLs it has stored (the least a
    script would do): every feed is downloaded and parsed again, no page is."""
    import feedparser
    import httpx

    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    with httpx.Client(timeout=30) as client:
        for path in feeds:
            for entry in feedparser.parse(client.get(base_url + path).content).entries:
                known = db.execute("SELECT 1 FROM articles WHERE url = ?", (str(entry.link),))
                if known.fetchone() is None:
                    raise AssertionError(f"unchanged web, yet {entry.link} is new")
    return cpu_seconds() - cpu0, time.perf_counter() - wall0
