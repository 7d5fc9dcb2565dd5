"""Wire stories: what an article carries of an agency report, and a group as stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class WireFeatures:
    """What the wire-story stage compares (``ingest.pipeline.wire.wire_features``).

    ``credits``: agencies credited in a dateline, credit line or headline tag (the report
    is theirs); ``claims``: agencies named in the headline or first paragraph ("передает
    Reuters"); ``mentions``: agencies named anywhere. ``shingles``: hashes of the lead's
    word 3-grams (same-language containment); ``quotes``: keys of the words inside
    quotation marks; ``entities``: per paragraph of the lead, the name keys and numbers
    it holds (what a translation keeps)."""

    language: str | None
    credits: tuple[str, ...]
    claims: tuple[str, ...]
    mentions: tuple[str, ...]
    shingles: frozenset[int]
    quotes: frozenset[str]
    entities: tuple[frozenset[str], ...]


@dataclass(frozen=True)
class WireCandidate:
    """An earlier article of the same event cluster, as the stage compares it."""

    article_id: int
    outlet: str
    when: datetime
    wire_story: int | None
    features: WireFeatures


@dataclass(frozen=True)
class WireMember:
    """A member of a wire story, as its origin is told from."""

    article_id: int
    outlet: str
    when: datetime
    credits: tuple[str, ...]
    claims: tuple[str, ...]
