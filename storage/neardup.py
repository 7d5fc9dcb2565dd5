"""Near-duplicate and cluster storage: signatures, the LSH band index, duplicate links.

The LSH index lives in the database (``signature_bands``, keyed on band, hash, article), not in
one process's memory, so every worker sharing a PostgreSQL database sees every other
worker's articles, and a restart needs no rebuild. Each lookup is one indexed query, so
the cost per article does not grow with the corpus beyond that index lookup; candidates
are further limited to a time window around the article.

Races: two workers storing two copies of the same report at the same moment would each
look up the index, find nothing and both stay originals. :func:`lock_near_duplicates`
prevents that: on PostgreSQL it takes a transaction-scoped advisory lock, held until the
writer commits, so near-duplicate and cluster decisions are made one writer at a time and
each sees what the previous one committed. SQLite has one writer at a time already
(framewatch opens write transactions with BEGIN IMMEDIATE).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache
from types import MappingProxyType
from typing import Any, cast

from sqlalchemy import Table, Text, and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from ingest.model.clusters import ClusterCandidate, ClusterGrowth, ClusterState
from ingest.model.dedup import Signature
from storage.models import Article, Cluster
from storage.models import Signature as SignatureRow

# Any fixed 64-bit number; names framewatch's near-duplicate lock among advisory locks.
_ADVISORY_LOCK_KEY = 0x66776E6475700001


@dataclass(frozen=True)
class Candidate:
    article_id: int
    signature: Signature
    dated_at: datetime
    duplicate_of: int | None


def lock_near_duplicates(session: Session) -> None:
    """Serialise near-duplicate decisions among writers until this transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})


def store_signature(
    session: Session,
    article_id: int,
    signature: Signature,
    bands: Sequence[int],
    dated_at: datetime,
) -> None:
    """Store a signature and its band hashes.

    The band rows go to the driver's executemany as plain tuples (see _driver_cursor)."""
    row = {"article_id": article_id, "minhash": signature.hashvalues,
           "shingles": signature.shingles, "dated_at": dated_at}  # fmt: skip
    session.connection().execute(_SIGNATURE_INSERT, [row])
    rows = [(band, value, article_id) for band, value in enumerate(bands)]
    cursor = _driver_cursor(session)
    try:
        cursor.executemany(_band_sql(_placeholder(session), len(bands)).insert, rows)
    finally:
        cursor.close()


_SIGNATURE_INSERT = insert(cast(Table, SignatureRow.__table__))
_SIGNATURES = cast(Table, SignatureRow.__table__)
_ARTICLES = cast(Table, Article.__table__)
_CLUSTERS = cast(Table, Cluster.__table__)


@dataclass(frozen=True)
class _BandSql:
    lookup: str
    insert: str


@cache
def _band_sql(mark: str, bands: int) -> _BandSql:
    """The band index's two statements in the driver's own parameter style.

    The lookup is one probe of the (band, hash, article_id) key per band: an OR of pairs,
    not a row-value IN, because SQLite only uses the index for the former."""
    pairs = " OR ".join([f"(band = {mark} AND hash = {mark})"] * bands)
    columns = f"({mark}, {mark}, {mark})"
    return _BandSql(
        lookup=f"SELECT DISTINCT article_id FROM signature_bands WHERE {pairs}",
        insert=f"INSERT INTO signature_bands (band, hash, article_id) VALUES {columns}",
    )


def _placeholder(session: Session) -> str:
    return "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"


def _driver_cursor(session: Session) -> Any:
    """A DB-API cursor on the session's connection, inside its transaction.

    For the band index only: its statements take and return plain integers, so nothing
    SQLAlchemy does per statement (binding and coercing each value, typing result rows) is
    needed, and with 42 rows per article that work cost more than the index itself."""
    return session.connection().connection.cursor()


def find_candidates(
    session: Session, bands: Sequence[int], dated_at: datetime, window: timedelta
) -> list[Candidate]:
    """Articles sharing at least one LSH band hash, within the time window."""
    cursor = _driver_cursor(session)
    try:
        cursor.execute(
            _band_sql(_placeholder(session), len(bands)).lookup,
            [value for pair in enumerate(bands) for value in pair],
        )
        ids = [article_id for (article_id,) in cursor.fetchall()]
    finally:
        cursor.close()
    if not ids:
        return []
    signatures, articles = _SIGNATURES, _ARTICLES
    rows = session.connection().execute(
        select(
            signatures.c.article_id,
            signatures.c.minhash,
            signatures.c.shingles,
            signatures.c.dated_at,
            articles.c.duplicate_of,
        )
        .join_from(signatures, articles, articles.c.id == signatures.c.article_id)
        .where(
            signatures.c.article_id.in_(ids),
            signatures.c.dated_at.between(dated_at - window, dated_at + window),
        )
    )
    return [
        Candidate(article_id, Signature(minhash, shingles), when, duplicate_of)
        for article_id, minhash, shingles, when, duplicate_of in rows
    ]


def article_dates(session: Session, ids: Iterable[int]) -> dict[int, datetime]:
    """The timeline date (published, else fetched) of each article."""
    rows = session.execute(
        select(Article.id, func.coalesce(Article.published_at, Article.fetched_at)).where(
            Article.id.in_(list(ids))
        )
    ).all()
    return {article_id: when for article_id, when in rows}


def link_duplicates(session: Session, original: int, members: Sequence[int]) -> None:
    """Point every member, and whatever pointed at a member, at ``original``.

    Core statements on the table: no ORM object of these rows is held in the session, and
    the ORM's synchronisation made this the dearest step of the stage."""
    articles = _ARTICLES
    others = [m for m in members if m != original]
    connection = session.connection()
    if others:
        connection.execute(
            update(articles)
            .where(or_(articles.c.id.in_(others), articles.c.duplicate_of.in_(others)))
            .values(duplicate_of=original)
        )
    connection.execute(  # only if it was a copy: an UPDATE that changes nothing still writes
        update(articles)
        .where(articles.c.id == original, articles.c.duplicate_of.is_not(None))
        .values(duplicate_of=None)
    )


# Candidate clusters per article: the most recently active within the window. Bounds the
# per-article cost on busy days (a release day may bring hundreds of reports).
MAX_CLUSTER_CANDIDATES = 200


def cluster_candidates(
    session: Session, when: datetime, window: timedelta
) -> list[ClusterCandidate]:
    """Clusters active near ``when`` (within ``window``), most recently active first, at
    most MAX_CLUSTER_CANDIDATES, as ``best_cluster`` candidates: ids and centroids only,
    no ORM objects, each centroid parsed once per process (see _parsed_centroid)."""
    rows = session.connection().execute(_CANDIDATES_NEAR, _near(when, window))
    return [ClusterCandidate(cluster_id, _parsed_centroid(raw)) for cluster_id, raw in rows]


def _near(when: datetime, window: timedelta) -> dict[str, datetime]:
    return {"since": when - window, "until": when + window}


# Built once: constructing a statement cost as much as running it (parameters are bound).
_WHERE_NEAR = and_(
    Cluster.last_seen_at >= bindparam("since"), Cluster.first_seen_at <= bindparam("until")
)
_CANDIDATES_NEAR = (
    select(_CLUSTERS.c.id, sql_cast(_CLUSTERS.c.centroid, Text))
    .where(_WHERE_NEAR)
    .order_by(Cluster.last_seen_at.desc(), Cluster.id.desc())
    .limit(MAX_CLUSTER_CANDIDATES)
)


@lru_cache(maxsize=1024)  # 5x the candidates of one article; about 10 kB each
def _parsed_centroid(raw: str) -> Mapping[str, float]:
    """Keyed by the stored JSON text itself, so a cluster that grew (a new text) is parsed
    again and nothing can be stale; read-only, as the one copy is shared."""
    return MappingProxyType(json.loads(raw))


def cluster_of(session: Session, article_id: int) -> int | None:
    return session.scalar(_CLUSTER_OF, {"article_id": article_id})


def refresh_outlet_counts(session: Session, cluster_ids: Sequence[int]) -> None:
    """Recount the distinct outlets of clusters that grew (once per batch: the count is
    over all members, too dear to redo for every article)."""
    for cluster_id in cluster_ids:
        outlets = session.execute(_CLUSTER_OUTLETS, {"cluster_id": cluster_id}).scalar_one()
        session.execute(
            update(Cluster).where(Cluster.id == cluster_id).values(outlet_count=int(outlets))
        )


_CLUSTER_OF = select(Article.cluster_id).where(Article.id == bindparam("article_id"))
_CLUSTER_OUTLETS = select(func.count(func.distinct(Article.outlet))).where(
    Article.cluster_id == bindparam("cluster_id")
)


def cluster_state(session: Session, cluster_id: int) -> ClusterState | None:
    """What a cluster's growth is computed from (see ``ingest.pipeline.clusters``)."""
    cluster = session.get(Cluster, cluster_id)
    if cluster is None:
        return None
    return ClusterState(cluster.id, dict(cluster.centroid), cluster.article_count)


def grow_cluster(
    session: Session, cluster_id: int | None, article_id: int, growth: ClusterGrowth
) -> int:
    """Add an article to a cluster (a new one when ``cluster_id`` is None), with the
    centroid and top terms the clusters stage computed."""
    cluster = session.get(Cluster, cluster_id) if cluster_id is not None else None
    when = growth.when
    if cluster is None:
        cluster = Cluster(
            story=growth.story, label=growth.title, top_terms=[], centroid={},
            first_seen_at=when, last_seen_at=when, article_count=0, outlet_count=0,
        )  # fmt: skip
        session.add(cluster)
        session.flush()
    elif when < cluster.first_seen_at:
        cluster.first_seen_at, cluster.label = when, growth.title  # the earliest report names it
    cluster.last_seen_at = max(cluster.last_seen_at, when)
    cluster.centroid = dict(growth.centroid)
    cluster.top_terms = list(growth.top_terms)
    # Kept as it goes (an article joins one cluster once); outlets are recounted at the
    # end of the batch (``refresh_outlet_counts``).
    cluster.article_count = Cluster.article_count + 1  # type: ignore[assignment]
    session.execute(update(Article).where(Article.id == article_id).values(cluster_id=cluster.id))
    return cluster.id


@dataclass(frozen=True)
class ClusterSummary:
    id: int
    story: str | None
    label: str
    top_terms: list[str]
    first_seen_at: datetime
    last_seen_at: datetime
    articles: int
    outlets: list[str]
    copies: int  # near-duplicate articles among them


def _clusters_where(query: Any, story: str | None, since: datetime | None) -> Any:
    if story:
        query = query.where(Cluster.story == story)
    if since:
        query = query.where(Cluster.last_seen_at >= since)
    return query


def count_clusters(
    session: Session, story: str | None = None, since: datetime | None = None
) -> int:
    query = _clusters_where(select(func.count()).select_from(Cluster), story, since)
    return session.scalar(query) or 0


def recent_clusters(
    session: Session,
    story: str | None = None,
    since: datetime | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[ClusterSummary]:
    """Clusters by most recent activity, with their outlets and how many are copies."""
    query = select(Cluster).order_by(Cluster.last_seen_at.desc(), Cluster.id.desc())
    query = _clusters_where(query, story, since).limit(limit).offset(offset)
    summaries = []
    for cluster in session.scalars(query):
        members = session.execute(
            select(Article.outlet, Article.duplicate_of).where(Article.cluster_id == cluster.id)
        ).all()
        summaries.append(
            ClusterSummary(
                id=cluster.id,
                story=cluster.story,
                label=cluster.label,
                top_terms=list(cluster.top_terms),
                first_seen_at=cluster.first_seen_at,
                last_seen_at=cluster.last_seen_at,
                articles=len(members),
                outlets=sorted({outlet for outlet, _ in members}),
                copies=sum(1 for _, dup in members if dup is not None),
            )
        )
    return summaries
