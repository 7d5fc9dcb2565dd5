"""Wire stories: quality on the labelled fixtures and the stage's cost at 100k articles.

    python -m bench.perf.wire [--count 100000] [--json PATH]

Quality: the 86 labelled articles of tests/data/wire/ (13 events, 29 wire groups, in en,
ru, be, pl, uk) go through framewatch's real pipeline (``Pipeline.ingest``: extraction,
normalisation, relevance, dedup, clusters, wire stories, frames) into a SQLite file, in
publication order and again newest first (a backfill). Reported: pairwise precision,
recall and F1 of ``wire_story`` against the labelled groups (with recall per relation:
copy, trim, rewrite, retitle, translation), whether every labelled group is inside one
event cluster and how pure the clusters are, and the share of carried articles whose
stored origin is the labelled one.

Cost: synthetic articles (``tests/support/synthweb.py``: five languages, 20 % near copies
of a recent report) in event clusters of about 15: 1,000 go through the stage one by one
once the store holds 10,000 articles and again at ``--count`` (filled in bulk up to there
with real features); per article, the CPU milliseconds of the pure part (features, run in
the worker processes) and of the writer's step (the cluster's candidates, storing the
features, comparing, joining a story), so the two points show whether the cost grows
with the store; and one comparison against a full busy cluster (100 candidates, the most
the writer reads).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from ingest.model.items import Article as ArticleItem
from ingest.model.wire import WireCandidate, WireFeatures
from ingest.pipeline.run import assign_wire_story
from ingest.pipeline.wire import decide, wire_features
from storage import migrate
from storage.db import make_engine, make_session_factory
from storage.models import Article, Cluster, Source, WireFeature
from storage.wire import encode_features
from tests.support import synthweb
from tests.support import wire_corpus as wc

SLICE = 1000
CLUSTER_ORIGINALS = 12  # originals per synthetic event cluster (plus their copies)
OUTLETS = [f"outlet{i:02d}.example" for i in range(60)]


def quality(folder: Path) -> dict[str, Any]:
    docs = wc.load_corpus()
    report: dict[str, Any] = {}
    for name, order in (("publication_order", False), ("newest_first", True)):
        url = f"sqlite:///{folder / f'{name}.db'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        ordered = sorted(docs, key=lambda d: (d.published, d.id), reverse=order)
        started = time.monotonic()
        stored = wc.ingest_corpus(wc.corpus_settings(url), factory, ordered)
        grouping = wc.read_grouping(factory, stored)
        engine.dispose()
        labels = wc.singles_as_none(docs)
        report[name] = {
            "pairs": wc.pairwise(labels, grouping.wire_story),
            "recall_by_relation": _recall_by_relation(docs, grouping.wire_story),
            "clusters": wc.cluster_report(docs, grouping.cluster),
            "origin_accuracy": wc.origin_accuracy(docs, grouping.origin),
            "pipeline_s": round(time.monotonic() - started, 1),
        }
    return report


def _recall_by_relation(docs: list[wc.WireDoc], found: dict[str, int | None]) -> dict[str, str]:
    """Per relation of a carrier to its group's original: carriers found with it."""
    originals = {d.wire_group: d.id for d in docs}
    counts: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    for doc in docs:
        if doc.relation in ("original", "independent"):
            continue
        counts[doc.relation] += 1
        story = found.get(doc.id)
        hits[doc.relation] += story is not None and story == found.get(originals[doc.wire_group])
    return {relation: f"{hits[relation]}/{n}" for relation, n in sorted(counts.items())}


def cost(count: int, db_path: Path) -> dict[str, Any]:
    """The stage for ``SLICE`` articles once the store holds 10,000 and ``count``; the
    store is filled in bulk up to there with real features of synthetic articles."""
    engine = make_engine(f"sqlite:///{db_path}")
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        session.execute(insert(Source).values(id=1, name="bench", kind="feed", url="x",
                                              active=True, created_at=synthweb.T0))  # fmt: skip
    pages = synthweb.make_pages(2 * SLICE)
    pool = [encode_features(_features(p)) for p in pages[:SLICE]]
    points: dict[str, Any] = {}
    stored = 0
    for target in sorted({min(10_000, count), count}):
        stored = _prefill(factory, stored, target - SLICE, pool)
        points[f"ms_per_article_at_{target // 1000}k"] = _measure(factory, pages[SLICE:], stored)
        stored = target
    engine.dispose()
    return {
        "articles": count, **points,
        "busy_cluster_100_candidates_ms": _busy_cluster(pages[:101]),
        "db_mb": round(db_path.stat().st_size / 1e6, 1),
    }  # fmt: skip


def _features(page: synthweb.Page) -> WireFeatures:
    outlet = OUTLETS[(page.n * 7) % len(OUTLETS)]
    return wire_features(page.title, "\n".join(page.sentences), page.language, outlet)


PREFILL_BATCH = 5000


def _prefill(factory: Any, start: int, end: int, pool: list[tuple[str, bytes]]) -> int:
    """Articles ``start`` .. ``end`` - 1 stored in bulk, a year before the measured ones,
    in clusters of 15, with features drawn from ``pool``."""
    early = synthweb.T0 - timedelta(days=400)
    for first in range(start, end, PREFILL_BATCH):
        ids = range(first, min(end, first + PREFILL_BATCH))
        when = {i: early + timedelta(minutes=3 * i) for i in ids}
        with factory.begin() as session:
            session.execute(insert(Cluster), [
                dict(id=CLUSTER_BASE + i // 15, story="bench", label="", top_terms=[],
                     centroid={}, first_seen_at=when[i], last_seen_at=when[i])
                for i in ids if i % 15 == 0 or i == start
            ])  # fmt: skip
            session.execute(insert(Article), [
                dict(id=i + 1, canonical_url=f"http://bench/pre/{i}", url="x", source_id=1,
                     outlet=OUTLETS[i % len(OUTLETS)], title="t", summary="", text="",
                     fetched_at=when[i], published_at=when[i])
                for i in ids
            ])  # fmt: skip
            session.execute(insert(WireFeature), [
                dict(article_id=i + 1, cluster_id=CLUSTER_BASE + i // 15, dated_at=when[i],
                     features=pool[i % len(pool)][0], shingles=pool[i % len(pool)][1])
                for i in ids
            ])  # fmt: skip
    return max(start, end)


CLUSTER_BASE = 10_000_000  # prefilled clusters; measured ones are numbered from 1


def _measure(factory: Any, pages: list[synthweb.Page], stored: int) -> dict[str, float]:
    """CPU ms per article of each part, over ``pages`` stored after ``stored`` others."""
    spent = {"features": 0.0, "stage": 0.0, "commit": 0.0}
    clusters: dict[int, int] = {}
    joined = 0
    for page in pages:
        cluster = clusters[page.copy_of] if page.copy_of in clusters else (
            stored + page.n // CLUSTER_ORIGINALS
        )  # fmt: skip
        if cluster not in clusters.values():
            with factory.begin() as session:  # the event cluster the clusters stage made
                session.execute(insert(Cluster).values(
                    id=cluster, story="bench", label="", top_terms=[], centroid={},
                    first_seen_at=page.published, last_seen_at=page.published,
                ))  # fmt: skip
        clusters[page.n] = cluster
        joined += _one(factory, page, stored + page.n - pages[0].n + 1, cluster, spent)
    result = {k: round(v / len(pages) * 1000, 3) for k, v in spent.items()}
    return {**result, "joined_share": round(joined / len(pages), 3)}


def _one(
    factory: Any, page: synthweb.Page, article_id: int, cluster: int, spent: dict[str, float]
) -> int:
    """One article through the stage; CPU seconds of each part added to ``spent``."""
    clock = time.process_time
    text = "\n".join(page.sentences)
    outlet = OUTLETS[(page.n * 7) % len(OUTLETS)]
    started = clock()
    features = wire_features(page.title, text, page.language, outlet)
    page_id = article_id
    spent["features"] += clock() - started
    session = factory()
    with session.begin():
        session.execute(insert(Article).values(
            id=page_id, canonical_url=f"http://bench/{page_id}", url="x", source_id=1,
            outlet=outlet, title=page.title, summary="", text="", fetched_at=page.published,
            published_at=page.published, language=page.language,
        ))  # fmt: skip
        started = clock()
        item = ArticleItem(url="x", canonical_url=f"http://bench/{page_id}", source="bench",
                           outlet=outlet, fetched_at=page.published, title=page.title,
                           summary="", text="", published_at=page.published)  # fmt: skip
        story = assign_wire_story(session, page_id, item, cluster, features)
        spent["stage"] += clock() - started
        committing = clock()
    spent["commit"] += clock() - committing
    session.close()
    return int(story is not None)


def _busy_cluster(pages: list[synthweb.Page]) -> float:
    """Milliseconds to compare one article with 100 candidates (the writer's limit)."""
    feats = [_features(p) for p in pages[:101]]
    candidates = [
        WireCandidate(i, OUTLETS[i % len(OUTLETS)], pages[i].published, None, f)
        for i, f in enumerate(feats[1:])
    ]
    started = time.process_time()
    for _ in range(5):
        decide(feats[0], candidates)
    return round((time.process_time() - started) / 5 * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = {"quality": quality(Path(tmp)), "cost": cost(args.count, Path(tmp) / "wire.db")}
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    main()
