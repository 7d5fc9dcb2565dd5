"""What flag rules read (a story's timeline, article histories) and write (flag drafts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

FLAG_KINDS = (
    "first_seen", "source_shift", "distancing", "surge", "emerging_phrase", "frame_change",
)  # fmt: skip


@dataclass(frozen=True)
class TimelineArticle:
    id: int
    outlet: str
    group: str | None  # the source's outlet group
    when: datetime
    uses: tuple[tuple[str, str], ...]  # (frame, voice) pairs found in the article
    weak: tuple[tuple[str, str], ...] = ()  # those of ``uses`` resting on one weak cue
    # Outlets (and their articles) that carried this one's wire report and used no frame
    # of their own beyond it: counted once, here (storage.frames.story_timeline).
    carriers: tuple[str, ...] = ()
    carried_ids: tuple[int, ...] = ()

    def voices(self, frame: str) -> set[str]:
        return {voice for name, voice in self.uses if name == frame}

    def strong_voices(self, frame: str) -> set[str]:
        """The voices of ``frame`` backed by a strong cue or two cue occurrences."""
        return {voice for name, voice in self.uses if name == frame} - {
            voice for name, voice in self.weak if name == frame
        }


@dataclass(frozen=True)
class FlagDraft:
    key: str
    kind: str
    frame: str | None
    source: str | None
    article_ids: tuple[int, ...]
    first_seen_at: datetime
    score: float
    statistic: str
    phrase: str | None = None
    evidence: tuple[str, ...] = ()  # example sentences, where the store cannot look them up


@dataclass(frozen=True)
class Revision:
    """One version of an article: headline, lede and (frame, voice, evidence) triples."""

    version_id: int | None  # None: the current version
    title: str
    lede: str
    frames: tuple[tuple[str, str, str], ...]
    replaced_at: datetime | None  # when the next version was seen


@dataclass(frozen=True)
class ArticleHistory:
    article_id: int
    outlet: str
    revisions: tuple[Revision, ...]  # oldest first, the current one last
