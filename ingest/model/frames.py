"""What framing finds: a frame in a voice, with evidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Voice = Literal["own", "quoted", "distanced"]
VOICES: tuple[Voice, ...] = ("own", "quoted", "distanced")
EVIDENCE_CHARS = 400


@dataclass(frozen=True)
class FrameHit:
    """One frame in one voice in an article, with the sentence that shows it best."""

    frame: str
    voice: Voice
    evidence: str  # the sentence, at most EVIDENCE_CHARS (trimmed around the cue with …)
    sentence_index: int  # 0 = headline, 1.. = body sentences in order
    cue: str  # the codebook pattern that matched in the evidence sentence
