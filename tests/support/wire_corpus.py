"""The labelled wire-story fixtures (tests/data/wire/) as pages through the real pipeline,
and the scores of a grouping against their labels: for tests/test_wire.py and
``python -m bench.perf.wire``."""

from __future__ import annotations

import html
import itertools
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.config.settings import BUILTIN_STORIES, Settings, settings_from_mapping
from ingest.model.items import RawItem
from ingest.pipeline.run import Pipeline
from storage import repo, wire
from storage.db import unit_of_work
from storage.models import Article

DATA = Path(__file__).resolve().parent.parent / "data" / "wire"
SOURCE = "wire-fixtures"


@dataclass(frozen=True)
class WireDoc:
    id: str
    event: str  # the file's stem
    outlet: str
    language: str
    published: datetime
    title: str
    text: str
    wire_group: str
    origin: str
    relation: str

    @property
    def url(self) -> str:
        return f"https://{self.outlet}/news/{self.id}"


def load_corpus(folder: Path = DATA) -> list[WireDoc]:
    docs = []
    for path in sorted(folder.glob("*.toml")):
        for a in tomllib.loads(path.read_text("utf-8"))["article"]:
            docs.append(WireDoc(
                a["id"], path.stem, a["outlet"], a["language"],
                datetime.fromisoformat(a["published"]), a["title"], a["text"].strip(),
                a["wire_group"], a["origin"], a["relation"],
            ))  # fmt: skip
    return docs


def page_html(doc: WireDoc) -> bytes:
    """The article as a plain news page: headline, date and one <p> per paragraph."""
    paragraphs = "".join(
        f"<p>{html.escape(p.strip())}</p>" for p in doc.text.split("\n\n") if p.strip()
    )
    return (
        f'<!doctype html><html lang="{doc.language}"><head><meta charset="utf-8">'
        f"<title>{html.escape(doc.title)}</title>"
        f'<meta property="article:published_time" content="{doc.published.isoformat()}">'
        f"</head><body><article><h1>{html.escape(doc.title)}</h1>{paragraphs}</article>"
        "</body></html>"
    ).encode()


def raw_item(doc: WireDoc) -> RawItem:
    return RawItem(
        source=SOURCE, url=doc.url, fetched_at=doc.published + timedelta(minutes=5),
        title=doc.title, published=doc.published, language_hint=doc.language,
        html=page_html(doc), final_url=doc.url, outlet=doc.outlet,
    )  # fmt: skip


# The built-in story, widened so that every fixture is on it (one of them, a state
# agency's report of a meeting, names no prisoner).
BROAD = "Lukashenko OR Лукашенко OR Лукашэнка OR Łukaszenka OR Belarus* OR Беларус* OR Białoru*"


def corpus_settings(database_url: str) -> Settings:
    query = f"({BUILTIN_STORIES['belarus-prisoners']}) OR {BROAD}"
    story = {"name": "belarus-prisoners", "query": query, "codebook": "builtin:belarus-prisoners"}
    return settings_from_mapping(
        {"database": {"url": database_url}, "stories": [story]}, origin="wire corpus"
    )


def ingest_corpus(
    settings: Settings, factory: sessionmaker[Session], docs: Sequence[WireDoc]
) -> dict[str, int]:
    """Each page through ``Pipeline.ingest`` in the given order, then ``finish``; the
    stored article id of each document."""
    pipeline = Pipeline.from_settings(settings, factory)
    first = min(d.published for d in docs)
    with unit_of_work(factory) as session:
        spec = repo.SourceSpec(SOURCE, "feed", "https://wire.example/feed", None)
        source_id = repo.sync_sources(session, [spec], first)[SOURCE]
    stored: dict[str, int] = {}
    for doc in docs:
        with unit_of_work(factory) as session:
            outcome = pipeline.ingest(session, raw_item(doc), source_id)
        if outcome.article_id is None:
            raise AssertionError(f"{doc.id} was not stored: {outcome.status}")
        stored[doc.id] = outcome.article_id
    pipeline.finish(max(d.published for d in docs) + timedelta(days=1))
    return stored


@dataclass(frozen=True)
class Grouping:
    """What the store made of the corpus: wire story, origin and cluster per document."""

    wire_story: dict[str, int | None]
    origin: dict[str, str | None]
    cluster: dict[str, int | None]


def read_grouping(factory: sessionmaker[Session], stored: Mapping[str, int]) -> Grouping:
    with unit_of_work(factory) as session:
        refs = wire.wire_of(session, stored.values())
        clusters = dict(
            session.execute(
                select(Article.id, Article.cluster_id).where(Article.id.in_(stored.values()))
            ).all()
        )
    shared = {i for i in stored.values() if list(stored.values()).count(i) > 1}
    # a verbatim copy is the same stored article (exact dedup): grouped with it
    stories: dict[str, int | None] = {
        doc: refs[i].id if i in refs else (-i if i in shared else None) for doc, i in stored.items()
    }
    origins = {doc: refs[i].origin if i in refs else None for doc, i in stored.items()}
    return Grouping(stories, origins, {doc: clusters.get(i) for doc, i in stored.items()})


def pairwise(labels: Mapping[str, str], predicted: Mapping[str, object | None]) -> dict[str, float]:
    """Precision, recall and F1 of "same group" over all pairs of documents (a document
    with no predicted group shares it with none)."""
    tp = fp = fn = 0
    for a, b in itertools.combinations(sorted(labels), 2):
        same = labels[a] == labels[b]
        found = predicted.get(a) is not None and predicted.get(a) == predicted.get(b)
        tp, fp, fn = tp + (same and found), fp + (found and not same), fn + (same and not found)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3),
            "true_pairs": tp + fn, "found_pairs": tp + fp}  # fmt: skip


def singles_as_none(docs: Iterable[WireDoc]) -> dict[str, str]:
    return {d.id: d.wire_group for d in docs}


def cluster_report(
    docs: Sequence[WireDoc], clusters: Mapping[str, int | None]
) -> dict[str, object]:
    """Event-level grouping: is every labelled wire group inside one cluster, and how pure
    are the clusters (the share of each cluster's articles from its main event file)?"""
    groups: dict[str, set[int | None]] = {}
    for doc in docs:
        groups.setdefault(doc.wire_group, set()).add(clusters[doc.id])
    split = sorted(g for g, found in groups.items() if len(found) > 1)
    members: dict[int | None, list[str]] = {}
    for doc in docs:
        members.setdefault(clusters[doc.id], []).append(doc.event)
    main = sum(max(events.count(e) for e in set(events)) for events in members.values())
    return {
        "groups_in_one_cluster": len(groups) - len(split), "groups": len(groups),
        "split_groups": split, "clusters": len(members), "events": len({d.event for d in docs}),
        "cluster_purity": round(main / len(docs), 3),
    }  # fmt: skip


def origin_accuracy(docs: Sequence[WireDoc], origins: Mapping[str, str | None]) -> float:
    """Share of the documents carried by others whose stored origin is the labelled one
    (single-article groups have no wire story, hence no stored origin)."""
    sizes: dict[str, int] = {}
    for doc in docs:
        sizes[doc.wire_group] = sizes.get(doc.wire_group, 0) + 1
    carried = [d for d in docs if sizes[d.wire_group] > 1]
    right = sum(1 for d in carried if origins.get(d.id) == d.origin)
    return round(right / len(carried), 3) if carried else 1.0
