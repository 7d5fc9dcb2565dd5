"""Framing: which of a codebook's frames an article uses, in whose voice, with evidence.

Pure: ``detect_frames(codebook, title, text, language)`` reads nothing but its arguments,
so the same inputs always give the same hits (rescoring stored coverage after a codebook
change is calling it again; ``scoring_version`` tells when that is needed).

How an article is read:

1. The headline is sentence 0; the body is split into paragraphs (lines) and sentences
   (``ingest.framing.sentences``), numbered from 1.
2. Each sentence's folded tokens are matched against the cues of the article's language
   (Russian, Belarusian and Ukrainian share their cues, since language detection mixes
   them up; an unknown language gets every language's cues).
3. A match is dropped when a ``negative`` cue of its frame overlaps it, or when it is
   negated: a negator stands right before it, with at most ``_NEGATION_WINDOW`` words in
   between that are all ``transparent`` (are, являются, былі), and no clause break ("not
   political prisoners", "не являются политзаключёнными", "не палітвязні", "no deal"); or
   a post-negator follows it ("политзаключённых нет"). A negated cue is no hit in any
   voice: "they are not political prisoners" does not frame them as such, whoever says it.
   "not only political prisoners" is not negated ("only" is not transparent); a cue that
   opens with a negator is not negated by a second one inside it ("без каких-либо
   документов", "without any documents"). A match is also dropped when it stands in what
   a verb of denial rejects ("the State Department denies that sanctions were eased in
   exchange", "отрицают, что …"; a term in quotation marks there is held at arm's
   length instead: distanced). A rejected framing is no use in any voice.
4. Each remaining match gets its voice and speaker (``ingest.framing.voice``); who is
   speaking carries from sentence to sentence (``ingest.framing.speech``).
5. ``detect_frames`` keeps one hit per frame and voice, with the sentence holding most of
   that frame's matches in that voice as evidence (the earliest on ties), trimmed to
   ``EVIDENCE_CHARS`` around the cue, the speaker the rules found, and a strength:
   ``strong`` when a strong cue of the frame is among them or the frame occurs twice in
   the article, ``weak`` for one weak cue alone (the codebook's ``weak`` lists; flags
   need a strong use, ``ingest.flags.rules``).
"""

from __future__ import annotations

import bisect
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

from ingest.framing.codebook import Codebook, Cue, CueWord, parse_cue
from ingest.framing.resources import DEFAULT_RESOURCES, LanguageResources
from ingest.framing.sentences import (
    CueIndex,
    Match,
    Passage,
    Pattern,
    Quote,
    Word,
    find_quotes,
    paragraphs,
    split_sentences,
    tokenize,
)
from ingest.framing.speech import Carry, read_speech, rejected, speaks
from ingest.framing.voice import (
    Attribution,
    classify_voice,
    headline_speaker,
    is_dash_speech,
)
from ingest.model.frames import EVIDENCE_CHARS, VOICES, FrameHit, Voice

ALGORITHM_VERSION = "2"
_NEGATION_WINDOW = 3
_FAMILIES = {"ru": ("ru", "be", "uk"), "be": ("ru", "be", "uk"), "uk": ("ru", "be", "uk")}
_SENTENCE_BREAK = re.compile(r"[,;.!?()]")
_TIMESTAMP = re.compile(r"\d{1,2}[:.]\d{2}\s*[-–—]?\s*")
_LEAD_CHARS = 60  # how far into a paragraph a "Speaker:" may end


@dataclass(frozen=True)
class FrameMention:
    """One cue occurrence (``find_mentions``): every match, before one-per-voice."""

    frame: str
    voice: Voice
    sentence_index: int
    cue: str
    matched: str  # the words as written in the article
    sentence: str
    start: int  # offsets of ``matched`` in ``sentence``
    end: int
    speaker: str = ""  # whose words or framing (quoted, distanced), as the text names it
    strong: bool = True  # matched a strong cue (see the codebook's ``weak`` cues)


# ------------------------------------------------------------------------ the plan


def _compile_word(word: CueWord, stemmer: Stemmer.Stemmer | None, algorithm: str) -> Word:
    compiled = []
    for kind, text in word.alternatives:
        if kind == "stem" and stemmer is not None:
            compiled.append((f"stem:{algorithm}", stemmer.stemWord(text)))
        else:
            compiled.append(("exact" if kind == "stem" else kind, text))
    return tuple(compiled)


def _compile_cue(cue: Cue, label: int, stemmers: dict[str, str]) -> Pattern:
    algorithm = stemmers.get(cue.language, "")
    stemmer = Stemmer.Stemmer(algorithm) if algorithm else None
    words = tuple(_compile_word(w, stemmer, algorithm) for w in cue.words)
    return Pattern(label, cue.pattern, words, tuple(w.gap_before for w in cue.words))


def _resource_patterns(patterns: Iterable[str]) -> list[Pattern]:
    cues = [parse_cue(p, "", where=f"voice resource {p!r}") for p in dict.fromkeys(patterns)]
    return [_compile_cue(cue, -1, {}) for cue in cues]


def _forms(patterns: Iterable[str]) -> frozenset[str]:
    return frozenset(w for p in patterns for w in tokenize(p).forms)


class _Plan:
    """Everything compiled for one set of languages: one index over the frames' cues and
    negatives and the languages' speech and negation patterns, matched in one pass."""

    def __init__(
        self, codebook: Codebook, languages: frozenset[str], speech: frozenset[str]
    ) -> None:
        stemmers = {lang.code: lang.stemmer for lang in codebook.languages if lang.stemmer}
        positive, negative = [], []
        for label, frame in enumerate(codebook.frames):
            positive += [_compile_cue(c, label, stemmers) for c in frame.cues
                         if c.language in languages]  # fmt: skip
            negative += [_compile_cue(c, label, stemmers) for c in frame.negative
                         if c.language in languages]  # fmt: skip
        self.names = codebook.frame_names()
        cues = [c for frame in codebook.frames for c in frame.cues if c.language in languages]
        self.weak = frozenset(i for i, cue in enumerate(cues) if cue.strength == "weak")
        res = LanguageResources()
        for code in sorted(languages | speech):
            res = res.extended(DEFAULT_RESOURCES.get(code, LanguageResources()))
            if (lang := codebook.language(code)) is not None:
                res = res.extended(lang.resources)
        groups = {
            "frames": positive, "negative": negative,
            "reporting": _resource_patterns(res.reporting),
            "labelling": _resource_patterns(res.labelling),
            "sources": _resource_patterns(res.sources),
            "framings": _resource_patterns(res.framings),
            "reportive": _resource_patterns(res.reportive),
            "scare": _resource_patterns(res.scare_markers),
            "negators": _resource_patterns(res.negators),
            "rejecting": _resource_patterns(res.rejecting),
        }  # fmt: skip
        patterns: list[Pattern] = []
        self.starts: list[int] = []
        for group in groups.values():
            self.starts.append(len(patterns))
            patterns += group
        self.groups = tuple(groups)
        self.index = CueIndex(patterns)
        self.transparent = _forms(res.transparent)
        self.post_negators = _forms(res.post_negators)
        self.speaker_words = _forms(res.speaker_words)
        self.rubrics = _forms(res.rubrics)

    def find(self, para: Passage, lo: int, hi: int) -> dict[str, list[Match]]:
        """Every match in tokens lo .. hi-1, by group (frames, negative, reporting, ...)."""
        found: dict[str, list[Match]] = {group: [] for group in self.groups}
        for match in self.index.find(para, lo, hi):
            found[self.groups[bisect.bisect_right(self.starts, match[0]) - 1]].append(match)
        return found


# ------------------------------------------------------------------------ reading


def _negated(plan: _Plan, para: Passage, negators: list[Match], cue: Match, hi: int) -> bool:
    """Is the cue match negated: by a negator before it (across transparent words only),
    inside a gap of it ("sanctions were not lifted"), or by a post-negator after it?"""
    pid, first, end = cue
    forms = para.tokens.forms
    own_words = {text for word in plan.index.patterns[pid].words for _, text in word}
    # a cue that opens with a negator ("without any documents", "bez żadnych") is not
    # negated by the second one inside it: Slavic negation concords
    concord = any(start == first for _, start, _ in negators)
    for _, start, stop in negators:
        if first < start < end - 1 and forms[start] not in own_words and not concord:
            return True
        if (
            stop <= first
            and first - stop <= _NEGATION_WINDOW
            and all(forms[k] in plan.transparent for k in range(stop, first))
            and not para.breaks(stop - 1, first)
        ):
            return True
    for k in range(end, min(end + _NEGATION_WINDOW, hi)):
        if para.breaks(end - 1, k, _SENTENCE_BREAK):
            break
        if forms[k] in plan.post_negators:
            return True
    return False


def _cancelled(plan: _Plan, negatives: list[Match], cue: Match) -> bool:
    label = plan.index.patterns[cue[0]].label
    return any(
        plan.index.patterns[pid].label == label and first < cue[2] and cue[1] < end
        for pid, first, end in negatives
    )


def _read_sentence(
    plan: _Plan, para: Passage, sentence: tuple[int, int], index: int,
    quotes: tuple[Quote, ...], extra: list[Attribution], carry: Carry,
) -> list[FrameMention]:  # fmt: skip
    lo = bisect.bisect_left(para.tokens.starts, sentence[0])
    hi = bisect.bisect_left(para.tokens.starts, sentence[1])
    found = plan.find(para, lo, hi)
    if not found["frames"]:  # only the speech that runs on into the next sentence matters
        if carry.open is not None or speaks(found):
            read_speech(para, sentence, found, quotes, extra, carry)
        return []
    context = read_speech(para, sentence, found, quotes, extra, carry)
    mentions, seen = [], set()
    text = para.text[sentence[0] : sentence[1]]
    for match in found["frames"]:
        pattern = plan.index.patterns[match[0]]
        if (pattern.label, match[1]) in seen or _cancelled(plan, found["negative"], match):
            continue
        seen.add((pattern.label, match[1]))
        if _negated(plan, para, found["negators"], match, hi) or rejected(
            para, found["rejecting"], match, sentence[1], quotes
        ):
            continue
        start, end = para.span(match[1], match[2])
        voice, speaker = classify_voice(context, start, end)
        mentions.append(FrameMention(plan.names[pattern.label], voice, index, pattern.cue,
                                     para.text[start:end], text, start - sentence[0],
                                     end - sentence[0], speaker,
                                     match[0] not in plan.weak))  # fmt: skip
    return mentions


def _read_unit(
    plan: _Plan, text: str, index: int, headline: bool, carry: Carry
) -> tuple[list[FrameMention], int]:
    """The mentions in one paragraph (or the headline), sentences numbered from ``index``;
    and the paragraph's number of sentences."""
    quotes = tuple(find_quotes(text, cut=not headline))
    para = Passage.of(text)
    extra = []
    if headline:
        speech = headline_speaker(text, plan.speaker_words, plan.rubrics)
        extra += [speech] if speech is not None else []
    elif is_dash_speech(text):
        extra.append(Attribution(0, len(text), "quoted", "", direct=True))
    else:  # a live blog's "09:12 - Viasna: …" or a "Speaker: …" paragraph
        stamp = _TIMESTAMP.match(text)
        lead = stamp.end() if stamp else 0
        head = text[lead : lead + _LEAD_CHARS]
        speech = headline_speaker(head, plan.speaker_words, plan.rubrics) if ":" in head else None
        if speech is not None and speech.start > 0:
            extra.append(Attribution(lead + speech.start, len(text), "quoted", speech.speaker,
                                     direct=True))  # fmt: skip
    spans = [(0, len(text))] if headline else split_sentences(text, quotes)
    mentions = []
    carry.open = None
    for n, sentence in enumerate(spans):
        mentions += _read_sentence(plan, para, sentence, index + n, quotes, extra, carry)
    carry.open = None
    return mentions, len(spans)


def _evidence(mention: FrameMention) -> str:
    sentence = mention.sentence
    if len(sentence) > EVIDENCE_CHARS:
        width = EVIDENCE_CHARS - 2  # room for the two ellipses
        middle = (mention.start + mention.end) // 2
        lo = max(0, min(middle - width // 2, len(sentence) - width))
        piece = sentence[lo : lo + width]
        if lo > 0:
            piece = "…" + (piece.split(" ", 1)[1] if " " in piece else piece)
        if lo + width < len(sentence):
            piece = (piece.rsplit(" ", 1)[0] if " " in piece else piece) + "…"
        sentence = piece
    return " ".join(sentence.split())


def _best_hits(mentions: list[FrameMention], names: Sequence[str]) -> list[FrameHit]:
    groups: dict[tuple[int, int], list[FrameMention]] = {}
    per_frame: Counter[str] = Counter()
    for mention in mentions:
        key = (names.index(mention.frame), VOICES.index(mention.voice))
        groups.setdefault(key, []).append(mention)
        per_frame[mention.frame] += 1
    hits = []
    for key in sorted(groups):
        group = groups[key]
        counts = Counter(m.sentence_index for m in group)
        best = min(counts, key=lambda i: (-counts[i], i))
        mention = next(m for m in group if m.sentence_index == best)
        strong = any(m.strong for m in group) or per_frame[mention.frame] >= 2
        speaker = mention.speaker or next((m.speaker for m in group if m.speaker), "")
        hits.append(FrameHit(mention.frame, mention.voice, _evidence(mention), best, mention.cue,
                             "strong" if strong else "weak", speaker))  # fmt: skip
    return hits


# ------------------------------------------------------------------------ public API


class FrameDetector:
    """A codebook compiled for matching. Immutable to callers; plans per language set
    are built on first use (thread-safe)."""

    def __init__(self, codebook: Codebook) -> None:
        self.codebook = codebook
        self._languages = frozenset(c.language for f in codebook.frames for c in f.cues)
        self._plans: dict[tuple[frozenset[str], frozenset[str]], _Plan] = {}
        self._lock = threading.Lock()

    def languages_for(self, language: str | None) -> frozenset[str]:
        """The cue languages applied to an article in ``language``."""
        code = (language or "").casefold().replace("_", "-").split("-")[0]
        wanted = frozenset(_FAMILIES.get(code, (code,))) & self._languages
        return wanted or self._languages

    def _plan(self, language: str | None) -> _Plan:
        languages = self.languages_for(language)
        code = (language or "").casefold().replace("_", "-").split("-")[0]
        known = code in DEFAULT_RESOURCES or self.codebook.language(code) is not None
        key = (languages, frozenset([code]) if known else frozenset())
        with self._lock:
            if key not in self._plans:
                self._plans[key] = _Plan(self.codebook, *key)
            return self._plans[key]

    def mentions(self, title: str, text: str, language: str | None) -> list[FrameMention]:
        """Every cue occurrence that counts (not negated), in reading order."""
        plan = self._plan(language)
        carry = Carry(capitalised_nouns=(language or "").casefold().startswith("de"))
        mentions, _ = _read_unit(
            plan, unicodedata.normalize("NFC", " ".join(title.split())), 0, True, carry
        )
        index = 1
        body = unicodedata.normalize("NFC", text)
        for start, end in paragraphs(body):
            found, count = _read_unit(plan, body[start:end], index, False, carry)
            mentions += found
            index += count
        return mentions

    def detect(self, title: str, text: str, language: str | None) -> list[FrameHit]:
        """One hit per frame and voice, in codebook order then own, quoted, distanced."""
        return _best_hits(self.mentions(title, text, language), self.codebook.frame_names())


@lru_cache(maxsize=16)
def compile_codebook(codebook: Codebook) -> FrameDetector:
    """The (cached) detector for a codebook; codebooks are keyed by fingerprint."""
    return FrameDetector(codebook)


def detect_frames(
    codebook: Codebook, title: str, text: str, language: str | None
) -> list[FrameHit]:
    """The frames an article uses, one hit per frame and voice (see the module docstring)."""
    return compile_codebook(codebook).detect(title, text, language)


def find_mentions(
    codebook: Codebook, title: str, text: str, language: str | None
) -> list[FrameMention]:
    """Every frame cue occurrence in an article, with its voice (for explanations)."""
    return compile_codebook(codebook).mentions(title, text, language)


def scoring_version(codebook: Codebook) -> str:
    """Changes when stored frames computed with ``codebook`` need recomputing."""
    return f"{ALGORITHM_VERSION}:{codebook.fingerprint}"
