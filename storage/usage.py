"""How a story's frames are used: counts by voice, outlets, first user, adopters."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from storage.frames import story_timeline


@dataclass
class FrameUsage:
    frame: str
    own: int = 0  # articles (near-copies counted once) using the frame in each voice
    quoted: int = 0
    distanced: int = 0
    outlets: int = 0
    first_outlet: str | None = None
    first_seen_at: str = ""
    adopters: list[dict[str, Any]] = field(default_factory=list)  # own-voice first use


def frame_usage(session: Session, story: str) -> list[FrameUsage]:
    """Per frame, from the story's timeline: the diffusion record the analysts ask for."""
    usage: dict[str, FrameUsage] = {}
    outlets: dict[str, set[str]] = defaultdict(set)
    for article in sorted(story_timeline(session, story), key=lambda a: (a.when, a.id)):
        for frame in sorted({name for name, _ in article.uses}):
            row = usage.setdefault(frame, FrameUsage(frame))
            voices = article.voices(frame)
            row.own += "own" in voices
            row.quoted += "quoted" in voices
            row.distanced += "distanced" in voices
            outlets[frame].add(article.outlet)
            if row.first_outlet is None:
                row.first_outlet, row.first_seen_at = article.outlet, article.when.isoformat()
            adopted = {a["outlet"] for a in row.adopters}
            if "own" in voices and article.outlet not in adopted:
                row.adopters.append({"outlet": article.outlet, "since": article.when.isoformat()})
    for frame, row in usage.items():
        row.outlets = len(outlets[frame])
    return sorted(usage.values(), key=lambda r: (-(r.own + r.quoted + r.distanced), r.frame))
