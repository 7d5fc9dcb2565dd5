"""Edits as signal: earlier versions of stored articles, and feed entry digests.

When the source that stored an article delivers it again with another headline or lede,
the earlier version is kept (with the frames it had), the article is updated and
re-framed by the pipeline, and ``frame_change`` flags compare the versions' frames
(``ingest.flags.rules.frame_changes``). Feed polls refetch a known entry only when its digest
(title and summary as the feed gave them) differs from the one last processed.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ingest.model import items
from ingest.model.flags import ArticleHistory, Revision
from storage.frames import frames_by_article
from storage.models import (
    Article,
    ArticleFrame,
    ArticleVersion,
    EntryDigest,
    StoryMembership,
)

LEDE_CHARS = 300


def _clean(text: str) -> str:
    return " ".join(text.split())


def lede(text: str) -> str:
    """The first paragraph, at most ``LEDE_CHARS`` characters, whitespace collapsed."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return _clean(first)[:LEDE_CHARS]


def entry_digest(title: str, summary: str) -> str:
    """What a feed entry looks like, for noticing that it changed."""
    return hashlib.sha256(f"{_clean(title)}\n{_clean(summary)}".encode()).hexdigest()


def record_edit(session: Session, article_id: int, source_id: int, item: items.Article) -> bool:
    """If the article's own source delivers it with another headline or lede, keep the
    stored version (with its frames), update the article and return True."""
    row = session.get(Article, article_id)
    if row is None or row.source_id != source_id:
        return False  # another source's summary of the same URL is no edit
    title_changed = _clean(item.title) != _clean(row.title) and bool(item.title.strip())
    # ledes compare like with like: page text with page text, summary with summary
    same_kind = bool(item.text) == bool(row.text)
    old_body, new_body = row.text or row.summary, item.text or item.summary
    lede_changed = same_kind and bool(new_body.strip()) and lede(new_body) != lede(old_body)
    if not (title_changed or lede_changed):
        return False
    previous = session.scalar(
        select(func.max(ArticleVersion.replaced_at)).where(ArticleVersion.article_id == article_id)
    )
    session.add(
        ArticleVersion(
            article_id=article_id, title=row.title, lede=lede(old_body),
            text_hash=hashlib.sha256(old_body.encode()).hexdigest(),
            frames=frames_by_article(session, [article_id]).get(article_id, []),
            fetched_at=previous or row.fetched_at, replaced_at=item.fetched_at,
        )
    )  # fmt: skip
    row.title = item.title or row.title
    row.summary = item.summary or row.summary
    row.text = item.text or row.text
    taken = item.content_hash and session.scalar(
        select(Article.id).where(Article.content_hash == item.content_hash, Article.id != row.id)
    )
    if item.content_hash and not taken:
        row.content_hash = item.content_hash
    session.flush()
    return True


def remember_entry(session: Session, source_id: int, article_id: int, digest: str) -> None:
    """The digest of the source's entry for the article, as just processed (one upsert:
    this runs for every stored item)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(EntryDigest).values(
        source_id=source_id, article_id=article_id, digest=digest
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[EntryDigest.source_id, EntryDigest.article_id],
            set_={"digest": statement.excluded.digest},
        )
    )


def entry_states(
    session: Session, source_id: int, article_ids: Iterable[int]
) -> dict[int, tuple[str | None, str]]:
    """article id -> (digest last processed from this source or None, stored title)."""
    ids = sorted(set(article_ids))
    result: dict[int, tuple[str | None, str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.execute(
            select(Article.id, Article.title, EntryDigest.digest)
            .outerjoin(
                EntryDigest,
                (EntryDigest.article_id == Article.id) & (EntryDigest.source_id == source_id),
            )
            .where(Article.id.in_(chunk))
        )
        result.update({i: (digest, title) for i, title, digest in rows})
    return result


def version_counts(session: Session, ids: Sequence[int]) -> dict[int, int]:
    rows = session.execute(
        select(ArticleVersion.article_id, func.count())
        .where(ArticleVersion.article_id.in_(ids))
        .group_by(ArticleVersion.article_id)
    )
    return {article_id: count for article_id, count in rows}


def _frames(rows: Iterable[dict[str, Any]], story: str) -> tuple[tuple[str, str, str], ...]:
    return tuple(sorted((f["frame"], f["voice"], f["evidence"]) for f in rows
                        if f["story"] == story))  # fmt: skip


def story_histories(session: Session, story: str) -> list[ArticleHistory]:
    """Every edited article of the story: its versions, oldest first, then the current."""
    versions: dict[int, list[ArticleVersion]] = defaultdict(list)
    for version in session.scalars(
        select(ArticleVersion)
        .join(StoryMembership, StoryMembership.article_id == ArticleVersion.article_id)
        .where(StoryMembership.story == story)
        .order_by(ArticleVersion.article_id, ArticleVersion.replaced_at, ArticleVersion.id)
    ):
        versions[version.article_id].append(version)
    if not versions:
        return []
    current = session.execute(
        select(Article.id, Article.outlet, Article.title, Article.text, Article.summary).where(
            Article.id.in_(versions)
        )
    ).all()
    frames: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for f in session.scalars(select(ArticleFrame).where(ArticleFrame.article_id.in_(versions))):
        frames[f.article_id].append({"story": f.story, "frame": f.frame, "voice": f.voice,
                                     "evidence": f.evidence})  # fmt: skip
    histories = []
    for article_id, outlet, title, text, summary in current:
        revisions = [Revision(v.id, v.title, v.lede, _frames(v.frames, story), v.replaced_at)
                     for v in versions[article_id]]  # fmt: skip
        now = Revision(None, title, lede(text or summary), _frames(frames[article_id], story),
                       None)  # fmt: skip
        histories.append(ArticleHistory(article_id, outlet, (*revisions, now)))
    return histories
