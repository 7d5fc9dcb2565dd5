"""Near-duplicate and cluster storage: signatures, the LSH band index, duplicate links.

The LSH index lives in the database (``signature_bands``, indexed on band and hash), not in
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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, and_, func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from ingest.clusters import EventTerms, merge_centroid, top_terms
from ingest.dedup import BANDS, Signature
from storage.models import Article, Cluster, SignatureBand
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

    Core inserts on the tables, not ORM bulk inserts: the ORM path coerces every value of
    the 42 band rows and cost more than the rest of the stage together."""
    row = {"article_id": article_id, "minhash": signature.hashvalues,
           "shingles": signature.shingles, "dated_at": dated_at}  # fmt: skip
    connection = session.connection()
    connection.execute(_SIGNATURE_INSERT, [row])
    connection.execute(
        _BAND_INSERT,
        [
            {"article_id": article_id, "band": band, "hash": value}
            for band, value in enumerate(bands)
        ],
    )


_SIGNATURE_INSERT = insert(cast(Table, SignatureRow.__table__))
_BAND_INSERT = insert(cast(Table, SignatureBand.__table__))
_ARTICLES = cast(Table, Article.__table__)


# One probe of the (band, hash) index per band. Written out once as SQL with bound
# parameters: an OR of pairs, not a row-value IN, because SQLite only uses the index for
# the former, and building 84 comparisons as expressions per article costs more than the
# lookup itself.
_BAND_LOOKUP = text(
    "SELECT DISTINCT article_id FROM signature_bands WHERE "
    + " OR ".join(f"(band = :b{i} AND hash = :h{i})" for i in range(BANDS))
)


def find_candidates(
    session: Session, bands: Sequence[int], dated_at: datetime, window: timedelta
) -> list[Candidate]:
    """Articles sharing at least one LSH band hash, within the time window."""
    params: dict[str, int] = {}
    for band, value in enumerate(bands):
        params[f"b{band}"], params[f"h{band}"] = band, value
    ids = list(session.scalars(_BAND_LOOKUP, params))
    if not ids:
        return []
    rows = session.execute(
        select(SignatureRow, Article.duplicate_of)
        .join(Article, Article.id == SignatureRow.article_id)
        .where(
            SignatureRow.article_id.in_(ids),
            SignatureRow.dated_at.between(dated_at - window, dated_at + window),
        )
    ).all()
    return [
        Candidate(row.article_id, Signature(row.minhash, row.shingles), row.dated_at, dup)
        for row, dup in rows
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
    connection.execute(update(articles).where(articles.c.id == original).values(duplicate_of=None))


# Candidate clusters per article: the most recently active within the window. Bounds the
# per-article cost on busy days (a release day may bring hundreds of reports).
MAX_CLUSTER_CANDIDATES = 200


def clusters_near(session: Session, when: datetime, window: timedelta) -> list[Cluster]:
    return list(
        session.scalars(
            select(Cluster)
            .where(
                and_(Cluster.last_seen_at >= when - window, Cluster.first_seen_at <= when + window)
            )
            .order_by(Cluster.last_seen_at.desc(), Cluster.id.desc())
            .limit(MAX_CLUSTER_CANDIDATES)
        )
    )


def cluster_of(session: Session, article_id: int) -> int | None:
    return session.scalar(select(Article.cluster_id).where(Article.id == article_id))


def refresh_cluster_counts(session: Session, cluster: Cluster) -> None:
    counts = session.execute(
        select(func.count(Article.id), func.count(func.distinct(Article.outlet))).where(
            Article.cluster_id == cluster.id
        )
    ).one()
    cluster.article_count, cluster.outlet_count = int(counts[0]), int(counts[1])


def grow_cluster(
    session: Session,
    cluster_id: int | None,
    article_id: int,
    title: str,
    when: datetime,
    terms: EventTerms,
    story: str,
) -> Cluster:
    """Add an article to a cluster (a new one when ``cluster_id`` is None)."""
    cluster = session.get(Cluster, cluster_id) if cluster_id is not None else None
    if cluster is None:
        cluster = Cluster(
            story=story, label=title, top_terms=[], centroid={}, first_seen_at=when,
            last_seen_at=when, article_count=0, outlet_count=0,
        )  # fmt: skip
        session.add(cluster)
        session.flush()
    elif when < cluster.first_seen_at:
        cluster.first_seen_at, cluster.label = when, title  # the earliest report names it
    cluster.last_seen_at = max(cluster.last_seen_at, when)
    cluster.centroid = merge_centroid(cluster.centroid, terms.weights, cluster.article_count)
    cluster.top_terms = [terms.surface.get(t, t) for t in top_terms(cluster.centroid)]
    session.execute(update(Article).where(Article.id == article_id).values(cluster_id=cluster.id))
    refresh_cluster_counts(session, cluster)
    return cluster


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


def recent_clusters(
    session: Session, story: str | None = None, since: datetime | None = None, limit: int = 20
) -> list[ClusterSummary]:
    """Clusters by most recent activity, with their outlets and how many are copies."""
    query = select(Cluster).order_by(Cluster.last_seen_at.desc(), Cluster.id.desc()).limit(limit)
    if story:
        query = query.where(Cluster.story == story)
    if since:
        query = query.where(Cluster.last_seen_at >= since)
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
