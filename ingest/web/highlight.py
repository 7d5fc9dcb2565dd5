"""Evidence in an article's text: find each evidence sentence (framing stores it with
its whitespace collapsed, and trims a long one with "…") and cut the text into
(text, highlighted) segments for the templates to escape and mark. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable

ELLIPSIS = "…"
MAX_WORDS = 120  # of a passage, matched word by word


def passage_pattern(passage: str) -> re.Pattern[str] | None:
    """The passage's words with any run of whitespace between them, or None if empty."""
    words = passage.strip().strip(ELLIPSIS).split()[:MAX_WORDS]
    if not words:
        return None
    return re.compile(r"\s+".join(re.escape(word) for word in words))


def find_passages(text: str, passages: Iterable[str]) -> list[tuple[int, int]]:
    """[start, end) spans of every passage found in ``text``, merged, in order."""
    spans: list[tuple[int, int]] = []
    for passage in dict.fromkeys(p for p in passages if p):
        pattern = passage_pattern(passage)
        if pattern is not None:
            spans += [(m.start(), m.end()) for m in pattern.finditer(text)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def mark_passages(text: str, passages: Iterable[str]) -> list[tuple[str, bool]]:
    """``text`` as (segment, highlighted) pairs, the passages highlighted."""
    segments: list[tuple[str, bool]] = []
    at = 0
    for start, end in find_passages(text, passages):
        if start > at:
            segments.append((text[at:start], False))
        segments.append((text[start:end], True))
        at = end
    if at < len(text) or not segments:
        segments.append((text[at:], False))
    return segments
