"""Stored frames (per article, story, frame and voice) and flags, and the story timeline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ingest.model.flags import FlagDraft, TimelineArticle
from ingest.model.frames import FrameHit, describe_voice
from storage.models import (
    Article,
    ArticleFrame,
    Flag,
    FlagState,
    PhraseSet,
    Source,
    StoryMembership,
    WireFeature,
)

FLAG_STATUSES = ("new", "reviewed", "dismissed", "promoted")
ID_CHUNK = 500  # ids per IN (...) list
PHRASE_SEPARATOR = "\n"
FRAME_CHANGE = "frame_change"  # keyed by edit, not timeline day: recomputed whole
NEVER = datetime(1970, 1, 1, tzinfo=UTC)

# An article's frames and phrases are written with Core statements on the tables: the
# ORM's per-row work cost more than detecting them.
_FRAMES = cast(Table, ArticleFrame.__table__)
_PHRASE_SETS = cast(Table, PhraseSet.__table__)


def replace_frames(
    session: Session, article_id: int, story: str, hits: Sequence[FrameHit], version: str
) -> None:
    """The article's frames for a story, replacing whatever an earlier scoring stored."""
    connection = session.connection()
    connection.execute(
        delete(_FRAMES).where(_FRAMES.c.article_id == article_id, _FRAMES.c.story == story)
    )
    rows = [
        dict(
            article_id=article_id,
            story=story,
            frame=hit.frame,
            voice=hit.voice,
            evidence=hit.evidence,
            sentence_index=hit.sentence_index,
            cue=hit.cue,
            strength=hit.strength,
            speaker=hit.speaker[:200],
            scoring_version=version,
        )
        for hit in hits
    ]
    if rows:
        connection.execute(insert(_FRAMES), rows)


def flag_voices(session: Session, flags: Sequence[Flag]) -> dict[int, str]:
    """Flag id -> the voice, in plain words, in which the article that raised it uses the
    flag's frame (own first, as the flag's statistic reads it; "quoted from …", "reported
    as …'s framing"). Flags without a frame are left out."""
    wanted = {(f.article_ids[0], f.frame) for f in flags if f.frame and f.article_ids}
    ids = sorted({article_id for article_id, _ in wanted})
    found: dict[tuple[int, str], list[tuple[str, str]]] = defaultdict(list)
    for start in range(0, len(ids), ID_CHUNK):
        rows = session.execute(
            select(ArticleFrame.article_id, ArticleFrame.frame, ArticleFrame.voice,
                   ArticleFrame.speaker, ArticleFrame.strength)
            .where(ArticleFrame.article_id.in_(ids[start : start + ID_CHUNK]))
        )  # fmt: skip
        for article_id, frame, voice, speaker, strength in rows:
            if (article_id, frame) in wanted and strength == "strong":
                found[article_id, frame].append((voice, speaker))
    result = {}
    for flag in flags:
        uses = found.get((flag.article_ids[0], flag.frame or ""), []) if flag.article_ids else []
        # a distancing flag that starts scare quotes is about the distanced use
        first = "distanced" if "starts putting" in (flag.statistic or "") else "own"
        if uses:
            voice, speaker = min(uses, key=lambda u: (u[0] != first, u[0]))  # as the statistic
            result[flag.id] = describe_voice(voice, speaker)
    return result


def frames_by_article(
    session: Session, ids: Sequence[int], detail: bool = False
) -> dict[int, list[dict[str, Any]]]:
    """Export shape: {"story", "frame", "voice", "evidence"} per stored frame; with
    ``detail``, also "speaker" and "strength"."""
    result: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = session.scalars(
        select(ArticleFrame)
        .where(ArticleFrame.article_id.in_(ids))
        .order_by(ArticleFrame.article_id, ArticleFrame.story, ArticleFrame.id)
    )
    for row in rows:
        record = {"story": row.story, "frame": row.frame, "voice": row.voice,
                  "evidence": row.evidence}  # fmt: skip
        if detail:
            record |= {"speaker": row.speaker, "strength": row.strength}
        result[row.article_id].append(record)
    return result


def articles_to_rescore(
    session: Session, story: str, version: str, after_id: int, batch: int
) -> list[Article]:
    """Members of the story not read with ``version`` (see ``reading_version``), or
    with a stored frame computed with another codebook version."""
    scoring = version.rsplit("+", 1)[0]
    outdated = select(ArticleFrame.article_id).where(
        ArticleFrame.story == story, ArticleFrame.scoring_version != scoring
    )
    current = select(PhraseSet.article_id).where(
        PhraseSet.story == story, PhraseSet.version == version
    )
    return list(
        session.scalars(
            select(Article)
            .join(StoryMembership, StoryMembership.article_id == Article.id)
            .where(StoryMembership.story == story, Article.id > after_id)
            .where(Article.id.in_(outdated) | Article.id.not_in(current))
            .order_by(Article.id)
            .limit(batch)
        )
    )


def reading_version(scoring_version: str, phrases_version: str) -> str:
    """What an article's frames and phrases were computed with (kept in phrase_sets)."""
    return f"{scoring_version}+p{phrases_version}"


def replace_phrases(
    session: Session, article_id: int, story: str, phrases: Iterable[str], version: str
) -> None:
    """The article's own-voice phrases for a story, replacing earlier ones: one row, the
    phrases sorted, one per line (see ``PhraseSet``)."""
    distinct = sorted(set(phrases))
    if any(PHRASE_SEPARATOR in p for p in distinct):
        raise ValueError("a phrase cannot contain a line break")
    connection = session.connection()
    connection.execute(
        delete(_PHRASE_SETS).where(
            _PHRASE_SETS.c.article_id == article_id, _PHRASE_SETS.c.story == story
        )
    )
    connection.execute(
        insert(_PHRASE_SETS).values(
            article_id=article_id, story=story, phrases=len(distinct), version=version,
            text=PHRASE_SEPARATOR.join(distinct),
        )
    )  # fmt: skip


def _split(text: str) -> list[str]:
    return text.split(PHRASE_SEPARATOR) if text else []


def article_phrases(
    session: Session, story: str, ids: Iterable[int] | None = None
) -> Iterator[tuple[int, list[str]]]:
    """(article id, its phrases) for the story's articles: ``ids`` (in that order), or
    all of them (streamed, in no order)."""
    query = select(PhraseSet.article_id, PhraseSet.text).where(PhraseSet.story == story)
    if ids is None:
        for article_id, text in session.execute(query.execution_options(yield_per=2000)):
            yield article_id, _split(text)
        return
    wanted = list(ids)
    for start in range(0, len(wanted), ID_CHUNK):
        chunk = wanted[start : start + ID_CHUNK]
        rows = session.execute(query.where(PhraseSet.article_id.in_(chunk)))
        found = {article_id: text for article_id, text in rows}
        for article_id in chunk:
            if article_id in found:
                yield article_id, _split(found[article_id])


def phrase_articles(session: Session, story: str, phrase: str) -> list[int]:
    """The story's stored articles (copies included) that use ``phrase``."""
    return sorted(i for i, phrases in article_phrases(session, story) if phrase in phrases)


def phrase_totals(session: Session, story: str) -> dict[int, int]:
    """Article id -> how many distinct own-voice phrases it uses."""
    rows = session.execute(
        select(PhraseSet.article_id, PhraseSet.phrases).where(PhraseSet.story == story)
    )
    return {article_id: count for article_id, count in rows}


def article_languages(session: Session, ids: Sequence[int]) -> set[str]:
    """The (primary) language codes of these articles, e.g. {"en", "ru"}."""
    rows = session.scalars(select(Article.language).where(Article.id.in_(ids)))
    codes = {(code or "").casefold().replace("_", "-").split("-")[0] for code in rows}
    return {code for code in codes if 2 <= len(code) <= 3 and code.isascii() and code.isalpha()}


def article_texts(
    session: Session, ids: Sequence[int]
) -> dict[int, tuple[str, str, str | None, str]]:
    """id -> (title, text or summary, language, url), for evidence sentences."""
    rows = session.execute(
        select(Article.id, Article.title, Article.text, Article.summary, Article.language,
               Article.url).where(Article.id.in_(ids))
    )  # fmt: skip
    return {i: (title, text or summary, language, url) for i, title, text, summary, language, url
            in rows}  # fmt: skip


def story_timeline(session: Session, story: str) -> list[TimelineArticle]:
    """The story's articles with the frames and voices they use, near-duplicates left
    out and each wire story counted once (see ``fold_wire_stories``). Core rows (no ORM
    loading: it cost as much as the rest of an incremental refresh)."""
    connection = session.connection()
    when = func.coalesce(Article.published_at, Article.fetched_at)
    rows = connection.execute(
        select(Article.id, Article.outlet, Source.outlet_group, when, Article.duplicate_of,
               WireFeature.wire_story_id)
        .join(StoryMembership, StoryMembership.article_id == Article.id)
        .join(Source, Source.id == Article.source_id)
        .outerjoin(WireFeature, WireFeature.article_id == Article.id)
        .where(StoryMembership.story == story)
        .where(Article.duplicate_of.is_(None) | WireFeature.wire_story_id.is_not(None))
    ).all()  # fmt: skip
    uses: dict[int, list[tuple[str, str]]] = defaultdict(list)
    weak: dict[int, list[tuple[str, str]]] = defaultdict(list)
    frame_rows = connection.execute(
        select(
            ArticleFrame.article_id, ArticleFrame.frame, ArticleFrame.voice, ArticleFrame.strength
        ).where(ArticleFrame.story == story)
    )
    for article_id, frame, voice, strength in frame_rows:
        uses[article_id].append((frame, voice))
        if strength == "weak":
            weak[article_id].append((frame, voice))
    return fold_wire_stories([
        (TimelineArticle(article_id, outlet, group, stamp,
                         tuple(sorted(uses.get(article_id, ()))),
                         tuple(sorted(weak.get(article_id, ())))), copy is not None, wire)
        for article_id, outlet, group, stamp, copy, wire in rows
    ])  # fmt: skip


def fold_wire_stories(
    rows: Iterable[tuple[TimelineArticle, bool, int | None]],
) -> list[TimelineArticle]:
    """(article, is a near-duplicate, wire story) -> the timeline, a wire story counted
    once: its earliest member stands for it and lists the others as carriers. A member
    that uses a (frame, voice) its earliest does not (an outlet that rewrote the frame
    into its own words) stays on the timeline with those uses only; near-duplicates
    always fold into it."""
    timeline: list[TimelineArticle] = []
    stories: dict[int, list[tuple[TimelineArticle, bool]]] = defaultdict(list)
    for article, copy, wire in rows:
        if wire is not None:
            stories[wire].append((article, copy))
        elif not copy:
            timeline.append(article)
    for members in stories.values():
        members.sort(key=lambda m: (m[0].when, m[0].id))
        first = members[0][0]
        carried: list[TimelineArticle] = []
        for member, copy in members[1:]:
            own = tuple(u for u in member.uses if u not in first.uses)
            if own and not copy:
                weak = tuple(w for w in member.weak if w in own)
                timeline.append(replace(member, uses=own, weak=weak))
            else:
                carried.append(member)
        timeline.append(replace(first, carriers=tuple(a.outlet for a in carried),
                                carried_ids=tuple(a.id for a in carried)))  # fmt: skip
    return timeline


def _evidence_index(
    session: Session, story: str, drafts: Sequence[FlagDraft]
) -> dict[tuple[int, str], str]:
    """(article id, frame) -> evidence for every frame flag's articles, in few queries
    (one per draft made recomputing thousands of flags slow)."""
    ids = sorted({i for d in drafts if d.frame is not None and not d.evidence
                  for i in d.article_ids})  # fmt: skip
    index: dict[tuple[int, str], str] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(ArticleFrame.article_id, ArticleFrame.frame, ArticleFrame.evidence)
            .where(
                ArticleFrame.story == story, ArticleFrame.article_id.in_(ids[start : start + 500])
            )
            .order_by(ArticleFrame.id)
        )
        for article_id, frame, evidence in rows:
            index.setdefault((article_id, frame), evidence)
    return index


def _evidence(draft: FlagDraft, index: dict[tuple[int, str], str]) -> list[str]:
    if draft.evidence or draft.frame is None:
        return list(draft.evidence)
    found = [index.get((i, draft.frame)) for i in draft.article_ids]
    return [e for e in found if e is not None][:3]


def _in_scope(draft: FlagDraft, since: datetime | None) -> bool:
    return since is None or draft.kind == FRAME_CHANGE or draft.first_seen_at >= since


def _stored(
    session: Session, story: str, drafts: Sequence[FlagDraft], since: datetime | None
) -> dict[str, Flag]:
    """The stored flags the drafts replace: those in scope, and any stored under a
    draft's key (none expected outside the scope; inserting it again would collide)."""
    query = select(Flag).where(Flag.story == story)
    if since is not None:
        query = query.where(or_(Flag.kind == FRAME_CHANGE, Flag.first_seen_at >= since))
    existing = {f.key: f for f in session.scalars(query)}
    others = [d.key for d in drafts if d.key not in existing]
    for start in range(0, len(others), ID_CHUNK):
        keys = others[start : start + ID_CHUNK]
        existing |= {f.key: f for f in session.scalars(
            select(Flag).where(Flag.story == story, Flag.key.in_(keys)))}  # fmt: skip
    return existing


def save_flags(
    session: Session,
    story: str,
    drafts: Iterable[FlagDraft],
    now: datetime,
    since: datetime | None = None,
) -> tuple[int, int]:
    """Upsert drafts by key (reviews and notes survive); drop unreviewed flags no longer
    supported by the timeline. Returns (new flags, removed flags).

    ``since``: only flags first seen on the timeline from then on are replaced (and
    ``frame_change`` flags, always recomputed whole); earlier ones stay as stored and
    drafts among them are ignored. None: all of the story's flags."""
    drafts = [d for d in drafts if _in_scope(d, since)]
    existing = _stored(session, story, drafts, since)
    index = _evidence_index(session, story, drafts)
    seen: set[str] = set()
    added = 0
    for draft in drafts:
        seen.add(draft.key)
        values = {
            "kind": draft.kind, "frame": draft.frame, "phrase": draft.phrase,
            "source": draft.source, "article_ids": list(draft.article_ids),
            "first_seen_at": draft.first_seen_at, "score": draft.score,
            "statistic": draft.statistic, "evidence": _evidence(draft, index),
        }  # fmt: skip
        flag = existing.get(draft.key)
        if flag is None:
            session.add(Flag(story=story, key=draft.key, created_at=now, status="new", **values))
            added += 1
        else:
            for name, value in values.items():
                setattr(flag, name, value)
    stale = [f for key, f in existing.items() if key not in seen and f.status == "new"]
    for flag in stale:
        session.delete(flag)
    session.flush()
    return added, len(stale)


@dataclass(frozen=True)
class FlagStateRow:
    inputs: str  # "" if never computed
    days: dict[str, str]
    fires: list[list[Any]]
    flags: int  # stored when computed
    flags_now: int  # stored now


def _flag_count(session: Session, story: str) -> int:
    return session.scalar(select(func.count()).select_from(Flag).where(Flag.story == story)) or 0


def lock_flag_state(session: Session, story: str) -> FlagStateRow:
    """What the story's flags were last computed from (``FlagState``). The row stays
    locked (on PostgreSQL) until the transaction ends, so refreshes of one story take
    turns instead of computing the same flags twice."""
    dialect = session.get_bind().dialect.name
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(FlagState)
    session.execute(
        statement.values(
            story=story, inputs="", days={}, fires=[], flags=0, computed_at=NEVER
        ).on_conflict_do_nothing()
    )
    row = session.execute(
        select(FlagState.inputs, FlagState.days, FlagState.fires, FlagState.flags)
        .where(FlagState.story == story)
        .with_for_update()
    ).one()
    return FlagStateRow(
        row.inputs, dict(row.days), list(row.fires), row.flags, _flag_count(session, story)
    )


def save_flag_state(
    session: Session,
    story: str,
    inputs: str,
    days: dict[str, str],
    fires: Sequence[Sequence[Any]],
    now: datetime,
) -> None:
    session.execute(
        update(FlagState)
        .where(FlagState.story == story)
        .values(inputs=inputs, days=days, fires=[list(f) for f in fires],
                flags=_flag_count(session, story), computed_at=now)
    )  # fmt: skip


def list_flags(
    session: Session,
    story: str | None = None,
    kinds: Sequence[str] = (),
    statuses: Sequence[str] = (),
    since: datetime | None = None,
    limit: int = 100,
) -> list[Flag]:
    query = select(Flag).order_by(Flag.first_seen_at.desc(), Flag.id.desc()).limit(limit)
    if story:
        query = query.where(Flag.story == story)
    if kinds:
        query = query.where(Flag.kind.in_(kinds))
    if statuses:
        query = query.where(Flag.status.in_(statuses))
    if since:
        query = query.where(Flag.first_seen_at >= since)
    return list(session.scalars(query))


def flag_record(flag: Flag) -> dict[str, Any]:
    """DESIGN.md's flag export shape."""
    return {
        "id": flag.id, "story": flag.story, "kind": flag.kind, "frame": flag.frame,
        "phrase": flag.phrase, "source": flag.source, "article_ids": list(flag.article_ids),
        "first_seen_at": flag.first_seen_at.isoformat(), "created_at": flag.created_at.isoformat(),
        "score": flag.score, "status": flag.status, "evidence": list(flag.evidence),
        "statistic": flag.statistic, "note": flag.note,
    }  # fmt: skip
