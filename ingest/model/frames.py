"""What framing finds: a frame in a voice, with evidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Voice = Literal["own", "quoted", "distanced"]
VOICES: tuple[Voice, ...] = ("own", "quoted", "distanced")
Strength = Literal["strong", "weak"]
EVIDENCE_CHARS = 400


def describe_voice(voice: str | None, speaker: str | None) -> str:
    """A frame's voice in plain words: "in its own voice", "quoted from the presidential
    press service", "reported as state media's framing", "in scare quotes"."""
    who = (speaker or "").strip()
    if voice == "own":
        return "in its own voice"
    if voice == "quoted":
        return f"quoted from {who}" if who else "quoted"
    if voice == "distanced":
        if not who:
            return "in scare quotes or reported as others' framing"
        return f"reported as {who}{chr(39) if who.endswith('s') else chr(39) + 's'} framing"
    return voice or ""


@dataclass(frozen=True)
class FrameHit:
    """One frame in one voice in an article, with the sentence that shows it best."""

    frame: str
    voice: Voice
    evidence: str  # the sentence, at most EVIDENCE_CHARS (trimmed around the cue with …)
    sentence_index: int  # 0 = headline, 1.. = body sentences in order
    cue: str  # the codebook pattern that matched in the evidence sentence
    # "strong": a strong cue in this voice, or two cue occurrences of the frame in the
    # article; "weak": one weak cue only (too slight for first_seen / source_shift flags)
    strength: Strength = "strong"
    speaker: str = ""  # whose words (quoted) or framing (distanced), as the text names it
