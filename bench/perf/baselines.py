"""What framewatch is measured against, on the same synthetic web in the same run.

* **floor**: the libraries alone on the bytes framewatch fetched — feedparser on each
  feed, trafilatura on each page (text plus the metadata framewatch needs: title, author,
  date), one thread, no network, no storage. No ingestion can cost less per page.
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
