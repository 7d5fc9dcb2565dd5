"""Wire stories in the store: each article's features, the groups and their origins.

The stage itself is ``ingest.pipeline.wire`` (pure) and the writer step
``ingest.pipeline.run.assign_wire_story``; here are the rows it reads and writes. A
candidate lookup is one indexed query (event cluster, date), at most
``MAX_WIRE_CANDIDATES`` rows, and each article's features are read and decoded once
per process (kept by database and article id: they never change).
"""

from __future__ import annotations

import json
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from ingest.model.wire import WireCandidate, WireFeatures, WireMember
from storage.models import Article, WireFeature, WireStory

MAX_WIRE_CANDIDATES = 100  # the most recent of a busy event's articles
ID_CHUNK = 500

_FEATURES = cast(Table, WireFeature.__table__)
_ARTICLES = cast(Table, Article.__table__)
_STORIES = cast(Table, WireStory.__table__)


def encode_features(features: WireFeatures) -> tuple[str, bytes]:
    """The JSON text and the packed 3-gram hashes a ``wire_features`` row holds."""
    text = json.dumps({
        "l": features.language, "c": features.credits, "a": features.claims,
        "m": features.mentions, "q": sorted(features.quotes),
        "e": [sorted(p) for p in features.entities],
    }, ensure_ascii=False, separators=(",", ":"))  # fmt: skip
    return text, array("I", sorted(features.shingles)).tobytes()


def decode_features(text: str, shingles: bytes) -> WireFeatures:
    """A ``wire_features`` row's values back as features."""
    raw = json.loads(text)
    hashes = array("I")
    hashes.frombytes(shingles)
    return WireFeatures(
        language=raw["l"], credits=tuple(raw["c"]), claims=tuple(raw["a"]),
        mentions=tuple(raw["m"]), shingles=frozenset(hashes), quotes=frozenset(raw["q"]),
        entities=tuple(frozenset(p) for p in raw["e"]),
    )  # fmt: skip


def store_features(
    session: Session,
    article_id: int,
    cluster_id: int | None,
    dated_at: datetime,
    features: WireFeatures,
) -> None:
    text, shingles = encode_features(features)
    row = {"article_id": article_id, "cluster_id": cluster_id, "dated_at": dated_at,
           "features": text, "shingles": shingles}  # fmt: skip
    session.connection().execute(_INSERT_FEATURES, row)


# Statements built once (bound parameters): building one per call cost more than running it.
_INSERT_FEATURES = insert(_FEATURES)


_CANDIDATES = (
    select(_FEATURES.c.article_id, _ARTICLES.c.outlet, _FEATURES.c.dated_at,
           _FEATURES.c.wire_story_id)
    .join_from(_FEATURES, _ARTICLES, _ARTICLES.c.id == _FEATURES.c.article_id)
    .where(
        _FEATURES.c.cluster_id == bindparam("cluster_id"),
        _FEATURES.c.dated_at.between(bindparam("since"), bindparam("until")),
    )
    .order_by(_FEATURES.c.dated_at.desc(), _FEATURES.c.article_id.desc())
    .limit(MAX_WIRE_CANDIDATES)
)  # fmt: skip
_FEATURE_ROWS = select(_FEATURES.c.article_id, _FEATURES.c.features, _FEATURES.c.shingles).where(
    _FEATURES.c.article_id.in_(bindparam("ids", expanding=True))
)
# (database, article id) -> its decoded features: an article's features never change, so
# only those not seen yet by this process are read (their blobs were most of the cost).
# Each entry keeps the row's date too, checked on use: a database made anew at the same
# place cannot hand another article's features to a reused id.
_DECODED: OrderedDict[tuple[str, int], tuple[datetime, WireFeatures]] = OrderedDict()
DECODED_KEPT = 8192


def wire_candidates(
    session: Session, cluster_id: int, when: datetime, window: timedelta
) -> list[WireCandidate]:
    """The cluster's articles dated within ``window`` of ``when``, most recent first."""
    rows = (
        session.connection()
        .execute(
            _CANDIDATES, {"cluster_id": cluster_id, "since": when - window, "until": when + window}
        )
        .all()
    )
    return _with_features(session, rows)


def _with_features(session: Session, rows: Sequence[Any]) -> list[WireCandidate]:
    database = str(session.get_bind().engine.url)
    dates = {row[0]: row[2] for row in rows}
    missing = [i for i, when in dates.items() if _DECODED.get((database, i), (None,))[0] != when]
    if missing:
        read = session.connection().execute(_FEATURE_ROWS, {"ids": missing})
        for article_id, text, blob in read:
            _DECODED[database, article_id] = (dates[article_id], decode_features(text, bytes(blob)))
    candidates = []
    for article_id, outlet, dated_at, story in rows:
        kept = _DECODED.get((database, article_id))
        if kept is not None:
            _DECODED.move_to_end((database, article_id))
            candidates.append(WireCandidate(article_id, outlet, dated_at, story, kept[1]))
    while len(_DECODED) > DECODED_KEPT:
        _DECODED.popitem(last=False)
    return candidates


_COPIES = (
    select(*_CANDIDATES.selected_columns)
    .join_from(_FEATURES, _ARTICLES, _ARTICLES.c.id == _FEATURES.c.article_id)
    .where(
        (_ARTICLES.c.duplicate_of == bindparam("original"))
        | (_ARTICLES.c.id == bindparam("original"))
    )
    .where(_FEATURES.c.article_id != bindparam("exclude"))
)


def copy_candidates(session: Session, original: int, exclude: int) -> list[WireCandidate]:
    """The near-duplicate group of ``original`` (it and its copies) as candidates,
    whatever cluster they are in: a copy always carries its original's report."""
    rows = session.connection().execute(_COPIES, {"original": original, "exclude": exclude})
    return _with_features(session, rows.all())


def join_story(
    session: Session, article_id: int, match: WireCandidate, cluster_id: int | None
) -> int:
    """Put the article in ``match``'s wire story (a new one when it has none)."""
    story_id = match.wire_story
    connection = session.connection()
    if story_id is None:
        values = {"cluster_id": cluster_id, "origin": "", "first_seen_at": match.when,
                  "article_count": 0, "outlet_count": 0}  # fmt: skip
        story_id = int(connection.execute(_NEW_STORY, values).scalar_one())
    connection.execute(_JOIN, {"story": story_id, "ids": [article_id, match.article_id]})
    return story_id


_NEW_STORY = insert(_STORIES).returning(_STORIES.c.id)
_JOIN = (
    update(_FEATURES)
    .where(_FEATURES.c.article_id.in_(bindparam("ids", expanding=True)))
    .where(_FEATURES.c.wire_story_id.is_(None))
    .values(wire_story_id=bindparam("story"))
)


def merge_stories(session: Session, keep: int, others: Sequence[int]) -> None:
    """Move the members of ``others`` into ``keep`` and delete those stories."""
    if not others:
        return
    connection = session.connection()
    connection.execute(
        update(_FEATURES)
        .where(_FEATURES.c.wire_story_id.in_(list(others)))
        .values(wire_story_id=keep)
    )
    connection.execute(delete(_STORIES).where(_STORIES.c.id.in_(list(others))))


_MEMBERS = (
    select(_FEATURES.c.article_id, _ARTICLES.c.outlet, _FEATURES.c.dated_at,
           _FEATURES.c.features)
    .join_from(_FEATURES, _ARTICLES, _ARTICLES.c.id == _FEATURES.c.article_id)
    .where(_FEATURES.c.wire_story_id == bindparam("story"))
)  # fmt: skip


def story_members(session: Session, story_id: int) -> list[WireMember]:
    rows = session.connection().execute(_MEMBERS, {"story": story_id})
    members = []
    for article_id, outlet, dated_at, text in rows:
        raw = json.loads(text)
        members.append(WireMember(article_id, outlet, dated_at, tuple(raw["c"]), tuple(raw["a"])))
    return members


def update_story(
    session: Session, story_id: int, origin: str, members: Sequence[WireMember]
) -> None:
    """The story's origin (told by the stage) and counts, after a member joined."""
    session.connection().execute(_UPDATE_STORY, {
        "story": story_id, "new_origin": origin[:255], "first": min(m.when for m in members),
        "articles": len(members), "outlets": len({m.outlet for m in members}),
    })  # fmt: skip


_UPDATE_STORY = (
    update(_STORIES)
    .where(_STORIES.c.id == bindparam("story"))
    .values(
        origin=bindparam("new_origin"), first_seen_at=bindparam("first"),
        article_count=bindparam("articles"), outlet_count=bindparam("outlets"),
    )
)  # fmt: skip


@dataclass(frozen=True)
class WireRef:
    """An article's wire story as export and the API show it."""

    id: int
    origin: str
    article_count: int
    outlet_count: int


def wire_of(session: Session, ids: Iterable[int]) -> dict[int, WireRef]:
    """Article id -> its wire story, for the articles that carry one."""
    wanted = sorted(set(ids))
    found: dict[int, WireRef] = {}
    for start in range(0, len(wanted), ID_CHUNK):
        rows = session.execute(
            select(_FEATURES.c.article_id, _STORIES.c.id, _STORIES.c.origin,
                   _STORIES.c.article_count, _STORIES.c.outlet_count)
            .join_from(_FEATURES, _STORIES, _STORIES.c.id == _FEATURES.c.wire_story_id)
            .where(_FEATURES.c.article_id.in_(wanted[start : start + ID_CHUNK]))
        )  # fmt: skip
        found.update({row[0]: WireRef(*row[1:]) for row in rows})
    return found


def story_carriers(session: Session, story_id: int) -> list[tuple[int, str, str, datetime]]:
    """(article id, title, outlet, timeline date) of a story's members, earliest first."""
    when = func.coalesce(Article.published_at, Article.fetched_at)
    rows = session.execute(
        select(Article.id, Article.title, Article.outlet, when)
        .join(WireFeature, WireFeature.article_id == Article.id)
        .where(WireFeature.wire_story_id == story_id)
        .order_by(when, Article.id)
    )
    return [(i, title, outlet, at) for i, title, outlet, at in rows]
