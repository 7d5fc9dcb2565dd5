"""Own-voice phrases of an article, counted by emerging-phrase flags. Pure.

``extract_phrases(title, text, language)``: the distinct 1-4 word phrases an article
uses in its own voice, read from the headline and the first ``LEDE_SENTENCES`` body
sentences (where framing concentrates; it also bounds what is stored per article).
Words are folded like cue matching (``ingest.framing.sentences.tokenize``: case, Latin accents,
ё→е, ў→у; Latin and Cyrillic alike). Not own voice, and never part of a phrase: words in
quotation marks, indirect speech (after a verb of saying, or a whole sentence with a
source marker or a closing attribution), dash speech, ``Speaker: …`` headlines, and the
words right after a scare marker (``ingest.framing.voice``'s rules and default word lists). A
phrase never crosses punctuation, never starts or ends with a stopword, a number or a
one-letter word, so stopword-only and number-only n-grams never occur.

The flags themselves are ``ingest.flags.emerging``.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ingest.framing.codebook import parse_cue
from ingest.framing.resources import DEFAULT_RESOURCES, LanguageResources
from ingest.framing.sentences import (
    CueIndex,
    Passage,
    Pattern,
    Quote,
    find_quotes,
    paragraphs,
    split_sentences,
)
from ingest.framing.voice import (
    SCARE_QUOTE_WORDS,
    headline_speaker_end,
    is_dash_speech,
    reported_spans,
)

PHRASES_VERSION = "2"  # bump when extraction changes: stored phrases are then recomputed
LEDE_SENTENCES = 10
MAX_WORDS = 4
MAX_PHRASE_CHARS = 200
_FAMILIES = {"ru": ("ru", "be", "uk"), "be": ("ru", "be", "uk"), "uk": ("ru", "be", "uk")}
_REPORTING, _SOURCES, _SCARE = 0, 1, 2

# Function words of the coverage's languages (one set: language detection mixes up
# Russian, Belarusian and Ukrainian, and a stopword of one is never a phrase edge anyway).
STOPWORDS = frozenset(
    """
    a an the and or but nor if then than so as at by for from in into of off on onto out
    over to up upon with within without via per about after before during since until
    against among between through under above below across along around near is are was
    were be been being am do does did done has have had having will would shall should can
    could may might must not no yes this that these those it its it's he she they them
    their theirs his her hers him we us our you your i me my who whom whose which what
    when where why how all any both each few more most other some such only own same too
    very just also there here again once further now ever even still yet while because
    s t don didn doesn isn aren wasn weren won hasn haven said says say mr mrs ms one two
    и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только
    ее её мне было вот от меня еще ещё нет о из ему теперь когда даже ну вдруг ли если уже
    или ни быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может
    они тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже
    себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом один
    почти мой тем чтобы нее неё сейчас были куда зачем всех никогда можно при наконец два
    об другой хоть после над больше тот через эти нас про всего них какая много разве
    три эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя такой им
    более всегда конечно всю между это также который которые которых которая которое
    году года год этом этих своих свои своей своего является являются заявил сказал
    і ў з са ці гэта гэты гэтая гэтыя гэтых як але таксама яго яе іх ён яна яны мы вы
    ад да пра пры праз пасля перад над пад без для каб што калі дзе таму бо ужо ўжо яшчэ
    толькі нават быў была было былі будзе ёсць няма хто які якая якое якія якіх сваіх
    свае сваю свой сабе паводле годзе года гадоў
    та й що це ця цей ці від до про при через після перед над під без для щоб коли де
    тому бо вже ще лише навіть був була було були буде є немає хто який яка яке які
    якого також його її їх він вона вони ми ви свої своїх році року
    w z ze na do od po przez przy dla bez nad pod przed za o u i a ale lub czy że to ten
    ta te tego tej tych jest są był była było byli być nie się jak jako także już jeszcze
    tylko nawet który która które których jego jej ich on ona oni my wy roku
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


# ------------------------------------------------------------------------ own voice


@dataclass(frozen=True)
class OwnSentence:
    """A sentence (0 = the headline) and its runs of own-voice folded words."""

    index: int
    text: str
    runs: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class _Speech:
    index: CueIndex
    speaker_words: frozenset[str]
    rubrics: frozenset[str]


def _pattern(text: str, label: int) -> Pattern:
    cue = parse_cue(text, "", where=f"voice resource {text!r}")
    words = tuple(
        tuple(("exact" if kind == "stem" else kind, form) for kind, form in word.alternatives)
        for word in cue.words
    )
    return Pattern(label, text, words, tuple(word.gap_before for word in cue.words))


@lru_cache(maxsize=32)
def _speech(languages: frozenset[str]) -> _Speech:
    res = LanguageResources()
    for code in sorted(languages):
        res = res.extended(DEFAULT_RESOURCES.get(code, LanguageResources()))
    speech = (*res.reporting, *res.labelling)  # "calls it X": X is not the outlet's phrase
    patterns = [_pattern(p, _REPORTING) for p in dict.fromkeys(speech)]
    patterns += [_pattern(p, _SOURCES) for p in dict.fromkeys((*res.sources, *res.framings))]
    patterns += [_pattern(p, _SCARE) for p in dict.fromkeys(res.scare_markers)]
    forms: Callable[[Iterable[str]], frozenset[str]] = lambda ps: frozenset(  # noqa: E731
        w for p in ps for w in Passage.of(p).tokens.forms
    )
    return _Speech(CueIndex(patterns), forms(res.speaker_words), forms(res.rubrics))


def _languages(language: str | None) -> frozenset[str]:
    code = (language or "").casefold().replace("_", "-").split("-")[0]
    if code in DEFAULT_RESOURCES:
        return frozenset(_FAMILIES.get(code, (code,)))
    return frozenset(DEFAULT_RESOURCES)  # unknown: every language's speech words


def _own_runs(
    speech: _Speech, para: Passage, span: tuple[int, int], quotes: Sequence[Quote]
) -> tuple[tuple[str, ...], ...]:
    tokens = para.tokens
    lo = bisect.bisect_left(tokens.starts, span[0])
    hi = bisect.bisect_left(tokens.starts, span[1])
    found = speech.index.find(para, lo, hi)

    def outside(s: int, e: int) -> bool:
        return not any(q.contains(s, e) for q in quotes)

    labels = [speech.index.patterns[pid].label for pid, _, _ in found]
    scare_words = {k for (_, f, e), label in zip(found, labels, strict=True) if label == _SCARE
                   for k in range(f, e)}  # fmt: skip

    def spans(label: int) -> list[tuple[int, int]]:
        # "so-called" is no verb of saying; what is quoted is not the outlet's reporting
        found_spans = [para.span(f, e) for (_, f, e), kind in zip(found, labels, strict=True)
                       if kind == label and f not in scare_words]  # fmt: skip
        return [s for s in found_spans if outside(*s)]

    reported = reported_spans(para.text, span, spans(_REPORTING), spans(_SOURCES))
    scared = {k for pid, f, e in found if speech.index.patterns[pid].label == _SCARE
              for k in range(f, min(e + SCARE_QUOTE_WORDS, hi))}  # fmt: skip
    runs: list[tuple[str, ...]] = []
    run: list[str] = []
    for k in range(lo, hi):
        start, end = tokens.starts[k], tokens.ends[k]
        keep = (  # most sentences have no quotes or reported speech: skip those tests
            k not in scared
            and (not quotes or outside(start, end))
            and (not reported or not any(s <= start < e for s, e in reported))
        )
        if run and (not keep or para.breaks(k - 1, k)):
            runs.append(tuple(run))
            run = []
        if keep:
            run.append(tokens.forms[k])
    if run:
        runs.append(tuple(run))
    return tuple(runs)


def own_voice(title: str, text: str, language: str | None) -> list[OwnSentence]:
    """The headline and the first ``LEDE_SENTENCES`` body sentences, with the runs of
    words in each that are the outlet's own voice."""
    speech = _speech(_languages(language))
    headline = unicodedata.normalize("NFC", " ".join(title.split()))
    result = []
    if headline and headline_speaker_end(headline, speech.speaker_words, speech.rubrics) < 0:
        para = Passage.of(headline)
        result.append(
            OwnSentence(
                0, headline, _own_runs(speech, para, (0, len(headline)), find_quotes(headline))
            )
        )
    body = unicodedata.normalize("NFC", text)
    index = 0
    for start, end in paragraphs(body):
        unit = body[start:end]
        quotes = find_quotes(unit)
        spans = split_sentences(unit, quotes)
        if is_dash_speech(unit):
            index += len(spans)
            continue
        para = Passage.of(unit)
        for span in spans:
            index += 1
            if index > LEDE_SENTENCES:
                return result
            sentence = " ".join(unit[span[0] : span[1]].split())
            result.append(OwnSentence(index, sentence, _own_runs(speech, para, span, quotes)))
    return result


@lru_cache(maxsize=1 << 16)  # words repeat: most are looked up many times per article
def _is_edge(word: str) -> bool:
    return word not in STOPWORDS and len(word) > 1 and not any(c.isdigit() for c in word)


def run_phrases(run: Sequence[str]) -> set[str]:
    """The 1-``MAX_WORDS`` word phrases of one run of words (edges: content words)."""
    edges = [_is_edge(word) for word in run]
    found = set()
    for i, first in enumerate(edges):
        if not first:
            continue
        for end in range(i + 1, min(i + MAX_WORDS, len(run)) + 1):
            if edges[end - 1]:
                phrase = " ".join(run[i:end])
                if len(phrase) <= MAX_PHRASE_CHARS:
                    found.add(phrase)
    return found


def extract_phrases(title: str, text: str, language: str | None) -> frozenset[str]:
    """The distinct phrases the article uses in its own voice (see the module docstring)."""
    found: set[str] = set()
    for sentence in own_voice(title, text, language):
        for run in sentence.runs:
            found |= run_phrases(run)
    return frozenset(found)


def phrase_sentences(title: str, text: str, language: str | None, phrase: str) -> list[str]:
    """The sentences in which the article uses ``phrase`` in its own voice."""
    words = tuple(phrase.split())
    n = len(words)
    return [
        s.text
        for s in own_voice(title, text, language)
        if any(run[i : i + n] == words for run in s.runs for i in range(len(run) - n + 1))
    ]
