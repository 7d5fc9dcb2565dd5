"""Speech as the reading goes on: which parts of a sentence are someone's words or
framing (``read_speech``, from the speech words the sentence holds and the speaker still
speaking from the sentence before, ``Carry``), and what a verb of denial rejects
(``rejected``). Pure; called by ``ingest.framing.detect`` sentence by sentence."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ingest.framing.sentences import Match, Passage, Quote
from ingest.framing.voice import CONTRAST, Attribution, SpeechContext, attributions


@dataclass
class Carry:
    """Who is speaking as the reading goes on: ``open`` is the speaker whose indirect
    speech runs on into the next sentence of the paragraph (None: the narration), and
    ``last`` the speaker named last in the article (for "he said", Konjunktiv I)."""

    open: str | None = None
    last: str = ""
    capitalised_nouns: bool = False  # the article's language capitalises nouns (German)


_SPEECH_KINDS = ("reporting", "labelling", "sources", "framings", "reportive")


def speaks(found: dict[str, list[Match]]) -> bool:
    return bool(found["reporting"] or found["labelling"] or found["sources"]
                or found["framings"] or found["reportive"])  # fmt: skip


def read_speech(
    para: Passage, sentence: tuple[int, int], found: dict[str, list[Match]],
    quotes: tuple[Quote, ...], extra: list[Attribution], carry: Carry,
) -> SpeechContext:  # fmt: skip
    if carry.open is None and not speaks(found):
        scare_ends = tuple(para.span(first, end)[1] for _, first, end in found["scare"])
        return SpeechContext(
            para.text, sentence, quotes, tuple(extra), None, scare_ends, carry.capitalised_nouns
        )  # fmt: skip  (most sentences)
    in_scare = {k for _, first, end in found["scare"] for k in range(first, end)}
    spans: dict[str, list[tuple[int, int]]] = {}
    for kind in _SPEECH_KINDS:
        if found[kind]:  # "so-called" is no speech; a verb inside a quotation is quoted
            found_spans = [para.span(f, e) for _, f, e in found[kind] if f not in in_scare]
            spans[kind] = [s for s in found_spans if not any(q.contains(*s) for q in quotes)]
    reported = attributions(para.text, sentence, spans)
    for attribution in reported:
        if attribution.speaker:
            carry.last = attribution.speaker
    reported = [a if a.speaker else replace(a, speaker=carry.last) for a in reported]
    speaker = reported[0].speaker if reported else None
    if spans.get("reportive") or (not reported and carry.open is not None):
        reported.append(Attribution(*sentence, "quoted", carry.open or carry.last))
    _carry_on(carry, sentence, reported)
    scare_ends = tuple(para.span(first, end)[1] for _, first, end in found["scare"])
    return SpeechContext(para.text, sentence, quotes, (*reported, *extra), speaker, scare_ends,
                         carry.capitalised_nouns)  # fmt: skip


def _carry_on(carry: Carry, sentence: tuple[int, int], reported: list[Attribution]) -> None:
    """Does this sentence's speech run on into the next one? It does when the sentence
    ends in someone's indirect speech (or continues it)."""
    ends_in_speech = [a for a in reported if a.voice == "quoted" and a.end >= sentence[1] - 1]
    carry.open = ends_in_speech[-1].speaker if ends_in_speech else None


def rejected(
    para: Passage, verbs: list[Match], cue: Match, end: int, quotes: tuple[Quote, ...]
) -> bool:
    """Does the cue stand in what a verb of denial rejects ("the State Department denies
    that sanctions were eased in exchange", "deny mistreating inmates")? A term in
    quotation marks is not rejected but held at arm's length ("reject talk of a
    «conveyor of repression»": distanced)."""
    if verbs and any(q.contains(*para.span(cue[1], cue[2])) for q in quotes):
        return False
    for _, _, stop in verbs:
        if stop <= cue[1]:
            contrast = CONTRAST.search(para.text, para.tokens.ends[stop - 1], end)
            if para.tokens.starts[cue[1]] < (contrast.start() if contrast else end):
                return True
    return False
