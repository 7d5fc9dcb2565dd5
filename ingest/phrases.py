"""Emerging phrases: wording outside the codebook whose own-voice use jumps. Pure.

Two halves:

* ``extract_phrases(title, text, language)`` — the distinct 1-4 word phrases an article
  uses in its own voice, read from the headline and the first ``LEDE_SENTENCES`` body
  sentences (where framing concentrates; it also bounds what is stored per article).
  Words are folded like cue matching (``ingest.sentences.tokenize``: case, Latin accents,
  ё→е, ў→у; Latin and Cyrillic alike). Not own voice, and never part of a phrase: words in
  quotation marks, indirect speech (after a verb of saying, or a whole sentence with a
  source marker or a closing attribution), dash speech, ``Speaker: …`` headlines, and the
  words right after a scare marker (``ingest.voice``'s rules and default word lists). A
  phrase never crosses punctuation, never starts or ends with a stopword, a number or a
  one-letter word, so stopword-only and number-only n-grams never occur.

* ``emerging_phrases(timeline, uses, totals, tz, covered)`` — the flags. A use is an
  article (near-duplicates are not on the timeline, so one wire copy is one use) that has
  the phrase in its own voice. On each day ``D`` (in ``tz``) with a use, the phrase's
  uses in the ``WINDOW_DAYS`` days to ``D`` are compared with the ``BASELINE_DAYS`` days
  before by the log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi &
  Quinn 2008, "Fightin' Words"): counts are article-phrase pairs, the prior is the pooled
  window+baseline frequency with mass ``PRIOR_SHARE`` of the pooled total. It fires when
  z >= ``MIN_Z``, with at least ``MIN_USES`` uses from ``MIN_OUTLETS`` outlets, and the
  codebook does not already cover it (``covered``); after firing, a phrase is quiet for
  ``BASELINE_DAYS`` days. Each day's result depends only on that day and earlier ones, so
  a backfill yields the flags live monitoring would have, and a refresh recomputes only
  from the earliest changed day (``phrase_fires`` with ``since``, given the fires before:
  only phrases ``frequent_phrases`` in the blocks of days just before can fire).

  Of nested phrases the longest is kept: a phrase is dropped when a longer firing phrase
  containing it fired that day or within the window before with at least
  ``MAXIMAL_SHARE`` of its uses, and phrases firing the same day on the same articles that
  overlap by at least ``MIN_OVERLAP`` words ("forced exile without" + "exile without
  passports") are joined into one.
"""

from __future__ import annotations

import bisect
import math
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from ingest.codebook import parse_cue
from ingest.flags import FlagDraft, TimelineArticle
from ingest.sentences import (
    CueIndex,
    Passage,
    Pattern,
    Quote,
    find_quotes,
    paragraphs,
    split_sentences,
)
from ingest.voice import (
    DEFAULT_RESOURCES,
    SCARE_QUOTE_WORDS,
    LanguageResources,
    headline_speaker_end,
    is_dash_speech,
    reported_spans,
)

PHRASES_VERSION = "1"  # bump when extraction changes: stored phrases are then recomputed
LEDE_SENTENCES = 10
MAX_WORDS = 4
MAX_PHRASE_CHARS = 200
WINDOW_DAYS = 7
BASELINE_DAYS = 90
MIN_USES = 5
MIN_OUTLETS = 2
MIN_Z = 3.3
PRIOR_SHARE = 0.1
MAXIMAL_SHARE = 0.75
MAX_ARTICLES = 20
MIN_OVERLAP = 2  # words two phrases must share to be joined (one could be coincidence)
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
    patterns = [_pattern(p, _REPORTING) for p in dict.fromkeys(res.reporting)]
    patterns += [_pattern(p, _SOURCES) for p in dict.fromkeys(res.sources)]
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


# ------------------------------------------------------------------------ the statistic


def log_odds_z(
    window_uses: int, window_total: int, base_uses: int, base_total: int, prior_share: float
) -> float:
    """Monroe et al.'s z-score of the log-odds ratio (window vs baseline) with an
    informative Dirichlet prior: the pooled frequency, with mass ``prior_share`` times the
    pooled total (their equations 16 and 18-22)."""
    pooled_uses, pooled_total = window_uses + base_uses, window_total + base_total
    alpha_0 = prior_share * pooled_total
    alpha_w = prior_share * pooled_uses
    if alpha_w <= 0 or window_total <= 0:
        return 0.0
    delta = math.log(
        (window_uses + alpha_w) / (window_total + alpha_0 - window_uses - alpha_w)
    ) - math.log((base_uses + alpha_w) / (base_total + alpha_0 - base_uses - alpha_w))
    variance = 1 / (window_uses + alpha_w) + 1 / (base_uses + alpha_w)
    return delta / math.sqrt(variance)


# ------------------------------------------------------------------------ flags


@dataclass(frozen=True)
class PhraseFire:
    """A phrase that fired on a day, before longer phrases win over their parts and
    overlapping ones are joined. What a refresh keeps of it (``stored``) is enough for
    later days: the quiet period and the longest-phrase rule."""

    words: tuple[str, ...]
    day: date
    uses: int  # window articles using it
    ids: tuple[int, ...] = ()  # those articles in timeline order (not kept: ``stored``)
    base_uses: int = 0
    window_total: int = 0
    base_total: int = 0
    z: float = 0.0

    @property
    def phrase(self) -> str:
        return " ".join(self.words)

    def stored(self) -> tuple[str, str, int]:
        return self.phrase, self.day.isoformat(), self.uses

    @classmethod
    def restored(cls, stored: Sequence[Any]) -> PhraseFire:
        phrase, day, uses = stored
        return cls(tuple(phrase.split()), date.fromisoformat(day), uses)


class _Totals:
    """Article-phrase pairs per day, summed over day ranges (as ordinals) by prefix sums."""

    def __init__(self, day_totals: Mapping[date, int]) -> None:
        self.first = min(day_totals).toordinal() if day_totals else 0
        span = max(day_totals).toordinal() - self.first + 1 if day_totals else 0
        self.cumulative = [0] * (span + 1)
        for day, total in day_totals.items():
            self.cumulative[day.toordinal() - self.first + 1] += total
        for i in range(1, len(self.cumulative)):
            self.cumulative[i] += self.cumulative[i - 1]
        self.last = len(self.cumulative) - 1

    def at(self, ordinal: int) -> int:
        """Days before ``ordinal``."""
        return self.cumulative[min(max(ordinal - self.first, 0), self.last)]


def _phrase_fires(
    words: tuple[str, ...],
    ordered: Sequence[TimelineArticle],
    day_of: Mapping[int, int],
    totals: _Totals,
    since: int | None = None,
    last: int | None = None,
) -> list[PhraseFire]:
    """The days (ordinals; from ``since`` on) the phrase fires, ``last`` its latest fire
    before. ``ordered``: its uses in day order, from the baseline of ``since`` on."""
    days = [day_of[a.id] for a in ordered]
    fires: list[PhraseFire] = []
    for day in sorted(set(days)):
        if (since is not None and day < since) or (
            last is not None and day - last <= BASELINE_DAYS
        ):
            continue
        window_start = day - (WINDOW_DAYS - 1)
        base_start = window_start - BASELINE_DAYS
        lo = bisect.bisect_left(days, window_start)
        hi = bisect.bisect_right(days, day)
        window = ordered[lo:hi]
        if len(window) < MIN_USES or len({a.outlet for a in window}) < MIN_OUTLETS:
            continue
        base_uses = lo - bisect.bisect_left(days, base_start)
        end = totals.at(day + 1)
        window_total, base_total = end - totals.at(window_start), totals.at(window_start)
        base_total -= totals.at(base_start)
        z = log_odds_z(len(window), window_total, base_uses, base_total, PRIOR_SHARE)
        if z >= MIN_Z:
            ids = tuple(a.id for a in window)
            fires.append(
                PhraseFire(words, date.fromordinal(day), len(ids), ids, base_uses,
                           window_total, base_total, z)
            )  # fmt: skip
            last = day
    return fires


def _contains(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    n = len(shorter)
    return len(longer) > n and any(longer[i : i + n] == shorter for i in range(len(longer) - n + 1))


def _maximal(fires: list[PhraseFire]) -> list[PhraseFire]:
    """Drop phrases inside a longer one that fired that day or in the window before."""
    by_day: dict[date, list[PhraseFire]] = {}
    for fire in fires:
        by_day.setdefault(fire.day, []).append(fire)
    kept = []
    for fire in fires:
        nearby = (other for back in range(WINDOW_DAYS)
                  for other in by_day.get(fire.day - timedelta(days=back), ()))  # fmt: skip
        inside = any(
            other.uses >= MAXIMAL_SHARE * fire.uses and _contains(other.words, fire.words)
            for other in nearby
        )
        if not inside:
            kept.append(fire)
    return kept


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """How many words a's end shares with b's start (at least MIN_OVERLAP, else 0)."""
    for size in range(min(len(a), len(b)) - 1, MIN_OVERLAP - 1, -1):
        if a[-size:] == b[:size]:
            return size
    return 0


def _joined(fires: list[PhraseFire]) -> list[PhraseFire]:
    """Join overlapping phrases that fired the same day on the same articles."""
    groups: dict[tuple[date, tuple[int, ...]], list[PhraseFire]] = {}
    for fire in fires:
        groups.setdefault((fire.day, fire.ids), []).append(fire)
    return [f for key in sorted(groups) for f in _join_group(groups[key])]


def _join_group(group: list[PhraseFire]) -> list[PhraseFire]:
    group = sorted(group, key=lambda f: f.words)
    changed = True
    while changed:
        changed = False
        for a, b in ((a, b) for a in group for b in group if a is not b):
            size = _overlap(a.words, b.words)
            if size:
                words, base = a.words + b.words[size:], max(a.base_uses, b.base_uses)
                merged = replace(a, words=words, base_uses=base, z=min(a.z, b.z))
                group = [f for f in group if f is not a and f is not b] + [merged]
                changed = True
                break
    # a phrase inside a joined one, on the same articles, is part of it
    return [f for f in group if not any(_contains(g.words, f.words) for g in group)]


def _draft(
    fire: PhraseFire, by_id: Mapping[int, TimelineArticle], day_of: Mapping[int, int]
) -> FlagDraft:
    articles = [by_id[i] for i in fire.ids]
    outlets = sorted({a.outlet for a in articles})
    on_day = [a.when for a in articles if day_of[a.id] == fire.day.toordinal()]
    per = 1000 / max(fire.window_total, 1), 1000 / max(fire.base_total, 1)
    return FlagDraft(
        key=f"emerging_phrase:{fire.phrase[:300]}:{fire.day.isoformat()}",
        kind="emerging_phrase", frame=None, source=None,
        article_ids=tuple(reversed(fire.ids))[:MAX_ARTICLES],
        first_seen_at=min(on_day), score=round(fire.z, 2),
        statistic=f"\"{fire.phrase}\" in the outlets' own voice in {len(fire.ids)} articles "
        f"from {len(outlets)} outlets ({', '.join(outlets)}) in the {WINDOW_DAYS} days to "
        f"{fire.day.isoformat()}, against {fire.base_uses} in the previous {BASELINE_DAYS} "
        f"days ({len(fire.ids) * per[0]:.1f} vs {fire.base_uses * per[1]:.1f} per 1,000 "
        f"phrase uses); log-odds z = {fire.z:.1f} (Fightin' Words, informative Dirichlet "
        f"prior; fires at z >= {MIN_Z}).",
        phrase=fire.phrase,
    )  # fmt: skip


def phrase_fires(
    timeline: Sequence[TimelineArticle],
    uses: Mapping[str, Iterable[int]],
    totals: Mapping[int, int],
    tz: ZoneInfo,
    since: date | None = None,
    last_fires: Mapping[str, date] | None = None,
) -> list[PhraseFire]:
    """Every day a phrase fires (see the module docstring), before longer phrases win
    and overlaps are joined. ``uses``: phrase -> ids of articles using it (ids not on
    the timeline are ignored); ``totals``: article id -> how many distinct phrases it
    uses. ``since``: only days from then on, given ``last_fires`` (phrase -> its latest
    fire before); ``uses`` then need go back only ``baseline_start(since)``."""
    by_id = {a.id: a for a in timeline}
    day_of = {a.id: a.when.astimezone(tz).date().toordinal() for a in timeline}
    day_totals: dict[int, int] = {}
    for a in timeline:
        day_totals[day_of[a.id]] = day_totals.get(day_of[a.id], 0) + totals.get(a.id, 0)
    sums = _Totals({date.fromordinal(d): n for d, n in day_totals.items()})
    first = since.toordinal() if since is not None else None
    # each phrase's uses in day order: sorted by rank (a C-level key), not by a lambda
    ranked = sorted(timeline, key=lambda a: (day_of[a.id], a.when, a.id))
    rank = {a.id: r for r, a in enumerate(ranked)}
    fires: list[PhraseFire] = []
    for phrase in sorted(uses):
        ids = sorted({i for i in uses[phrase] if i in rank}, key=rank.__getitem__)
        if len(ids) < MIN_USES:
            continue
        ordered = [by_id[i] for i in ids]
        last = (last_fires or {}).get(phrase)
        fires += _phrase_fires(tuple(phrase.split()), ordered, day_of, sums, first,
                               last.toordinal() if last is not None else None)  # fmt: skip
    return fires


def baseline_start(since: date) -> date:
    """The first day whose uses count for fires from ``since`` on."""
    return since - timedelta(days=WINDOW_DAYS - 1 + BASELINE_DAYS)


def fire_flags(
    timeline: Sequence[TimelineArticle],
    fires: Sequence[PhraseFire],
    tz: ZoneInfo,
    covered: Callable[[str], bool] = lambda phrase: False,
    since: date | None = None,
) -> list[FlagDraft]:
    """The flags of ``fires`` (those of the ``WINDOW_DAYS`` before ``since`` included,
    for the longest-phrase rule): from ``since`` on, or all."""
    by_id = {a.id: a for a in timeline}
    day_of = {a.id: a.when.astimezone(tz).date().toordinal() for a in timeline}
    if since is not None:
        fires = [f for f in fires if (since - f.day).days < WINDOW_DAYS]
    # coverage is checked last, so the parts of a covered phrase stay quiet too
    kept = [f for f in _joined(_maximal(list(fires)))
            if (since is None or f.day >= since) and not covered(f.phrase)]  # fmt: skip
    drafts = [_draft(f, by_id, day_of) for f in kept]
    return sorted(drafts, key=lambda d: (d.first_seen_at, d.key))


def emerging_phrases(
    timeline: Sequence[TimelineArticle],
    uses: Mapping[str, Iterable[int]],
    totals: Mapping[int, int],
    tz: ZoneInfo,
    covered: Callable[[str], bool] = lambda phrase: False,
    since: date | None = None,
) -> list[FlagDraft]:
    """Flags for phrases whose own-voice use jumps (see the module docstring), from
    ``since`` on or all: ``phrase_fires`` then ``fire_flags``. ``uses`` may leave out
    phrases that are not ``frequent_phrases`` from ``recent_blocks(since)`` on: they
    can neither fire then nor silence a phrase that does."""
    fires = phrase_fires(timeline, uses, totals, tz)
    return fire_flags(timeline, fires, tz, covered, since)


# ------------------------------------------------------------------ which phrases


def day_block(day: date) -> int:
    """Days in blocks of ``WINDOW_DAYS``: a phrase's window lies within two consecutive
    blocks, so one with ``MIN_USES`` uses in a window has them in two such blocks."""
    return day.toordinal() // WINDOW_DAYS


def recent_blocks(since: date, window_before: bool = True) -> int:
    """The first block whose phrases can fire on ``since`` or later (and, with
    ``window_before``, in the ``WINDOW_DAYS`` before, where a longer phrase keeps its
    parts quiet)."""
    back = 2 * WINDOW_DAYS - 2 if window_before else WINDOW_DAYS - 1
    return day_block(since - timedelta(days=back))


def frequent_phrases(blocks: Iterable[tuple[int, Iterable[Iterable[str]]]]) -> set[str]:
    """The phrases with at least ``MIN_USES`` uses (articles) in two consecutive blocks:
    every phrase that can fire. ``blocks``: (block number, each article's phrases) in
    ascending block order; the counts need only two blocks' phrases in memory."""
    found: set[str] = set()
    previous: Counter[str] = Counter()
    last = None
    for block, articles in blocks:
        current: Counter[str] = Counter()
        for phrases in articles:
            current.update(phrases)
        if last is None or block != last + 1:
            previous = Counter()
        found.update(p for p, n in current.items() if n + previous.get(p, 0) >= MIN_USES)
        previous, last = current, block
    return found
