"""Text units for framing: paragraphs, quotations, sentences and folded word tokens.

Pure and language-agnostic (Latin and Cyrillic alike). Offsets are always into the text
given, so a caller can show the original words of what it found.

* ``find_quotes`` pairs quotation marks of the common typographies: “…” "…" «…» „…“
  „…” ‘…’ ‚…‘ and ”…” (Swedish). Quotes may nest; a mark that never closes within the
  paragraph is ignored. An apostrophe inside a word (Belarus’s, сям’я) is not a mark.
* ``split_sentences`` breaks after . ! ? … when the next sentence starts with a capital,
  a digit, a quotation mark or a dash, but not after an abbreviation or an initial
  ("Mr.", "т.е.", "A. Lukashenko") and not inside a quotation of at most
  ``MAX_QUOTED_SENTENCE`` characters, so «Это так. Это иначе», — сказал он stays whole.
* ``CueIndex`` finds compiled cue patterns (``ingest.framing.codebook`` syntax) in a
  ``Passage``'s tokens: exact words, prefixes, Snowball stems, alternatives and gaps.
* ``tokenize`` folds like ``ingest.model.query.fold_text`` (case, Latin accents, ё→е) and also
  Belarusian ў→у (so ўнутраных and унутраных are one word); apostrophes inside a word
  are dropped, hyphens split words.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import Stemmer

from ingest.model.query import fold_text

MAX_QUOTED_SENTENCE = 500

# opening mark -> the marks that close it
_CLOSERS = {"«": "»", "„": "“”", "“": "”", "‘": "’", "‚": "‘’", '"': '"', "”": "”", "'": "'"}
_MARKS = re.compile("[" + re.escape("".join({*_CLOSERS, *"".join(_CLOSERS.values())})) + "]")
_OPEN_BEFORE = " \t([{—–-/«„“‘\"'"
_MAX_DEPTH = 4
_WORD = re.compile(r"\w+(?:'\w+)*")
_LAST_WORD = re.compile(r"\w+$")
_END = re.compile(r"[.!?…]+([\"»”’“')\]]*)\s+")
_ABBREVIATIONS = frozenset(
    " ".join(
        [
            "mr mrs ms dr st jr sr gen lt col sgt capt gov sen rep prof rev mt ft no vs etc inc",
            "ltd co corp dept est approx fig jan feb mar apr jun jul aug sep sept oct nov dec",
            "г гг т тт д др пр им ул см стр рис руб коп тыс млн млрд проф ген полк акад доц",
            "вул в вв сп спадар напр прым зб м р пан пані тис",
            "np itp itd tzw ok płk mgr inż ul im r tys mln mld ks św",
        ]
    ).split()
)


@dataclass(frozen=True)
class Quote:
    """A quotation: ``start`` is the opening mark, ``end`` is just after the closing one."""

    start: int
    end: int
    words: int  # word tokens inside

    def contains(self, start: int, end: int) -> bool:
        return self.start < start and end <= self.end - 1


@dataclass(frozen=True)
class Tokens:
    """Folded word tokens of a text, as parallel lists (fast to build and to index)."""

    starts: list[int]
    ends: list[int]
    forms: list[str]


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Spans of the non-blank lines of ``text``, whitespace trimmed."""
    spans = []
    for match in re.finditer(r"[^\n]+", text):
        line = match.group()
        stripped = line.strip()
        if stripped:
            start = match.start() + (len(line) - len(line.lstrip()))
            spans.append((start, start + len(stripped)))
    return spans


def _opens(mark: str, before: str, after: str) -> bool:
    if after.isspace() or not after:
        return False
    if mark in "«„‚":
        return True
    return before in _OPEN_BEFORE or before.isspace()


def _closes(mark: str, before: str, after: str) -> bool:
    if mark in "’'" and before.isalpha() and after.isalpha():
        return False  # an apostrophe inside a word
    return not before.isspace()


def find_quotes(text: str, cut: bool = False) -> list[Quote]:
    """Every balanced quotation in ``text`` (one paragraph), sorted by start.

    ``cut``: also the quotations with one mark missing — an opening mark that never
    closes runs to the end of the paragraph (a cut quotation, or a paragraph of a
    quotation that goes on in the next one), and a closing mark that never opened
    (» ” " followed by a comma, a dash or the end) runs from the paragraph's start."""
    stack: list[tuple[str, int]] = []
    found: list[Quote] = []
    for match in _MARKS.finditer(text):
        i, mark = match.start(), match.group()
        before = text[i - 1] if i else " "
        after = text[i + 1 : i + 2]
        if stack and mark in _CLOSERS[stack[-1][0]] and _closes(mark, before, after):
            start = stack.pop()[1]
            words = len(_WORD.findall(text, start + 1, i))
            found.append(Quote(start, i + 1, words))
        elif mark in _CLOSERS and len(stack) < _MAX_DEPTH and _opens(mark, before, after):
            stack.append((mark, i))
        elif cut and not stack and not found and _unopened(text, i, mark, before):
            found.append(Quote(-1, i + 1, len(_WORD.findall(text, 0, i))))
    while stack and stack[0][0] == "'":
        stack.pop(0)  # a lone ASCII apostrophe ('90s, rock 'n' roll) opens nothing
    if cut and stack:
        start = stack[0][1]
        found.append(Quote(start, len(text) + 1, len(_WORD.findall(text, start + 1))))
    return sorted(found, key=lambda q: (q.start, -q.end))


def _unopened(text: str, i: int, mark: str, before: str) -> bool:
    """A closing mark with no opening one: the quotation began before the paragraph."""
    if mark not in '»”"' or before.isspace() or i < 20:
        return False
    rest = text[i + 1 : i + 4].lstrip(" ")
    return not rest or rest[0] in ",—–-"


def _inside_short_quote(position: int, quotes: Sequence[Quote]) -> bool:
    return any(
        q.start < position < q.end and q.end - q.start <= MAX_QUOTED_SENTENCE for q in quotes
    )


def _is_boundary(text: str, match: re.Match[str], quotes: Sequence[Quote]) -> bool:
    after = text[match.end() : match.end() + 1]
    if not after or not (after.isupper() or after.isdigit() or after in '«„“"‘—–(['):
        return False
    if _inside_short_quote(match.end(1), quotes):
        return False
    if match.group().startswith("."):
        word = _LAST_WORD.search(text, max(0, match.start() - 40), match.start())
        if word and (len(word.group()) == 1 and word.group().isupper()):
            return False  # an initial: "A. Lukashenko"
        if word and word.group().casefold() in _ABBREVIATIONS and not match.group(1):
            return False
    return True


def split_sentences(text: str, quotes: Sequence[Quote] | None = None) -> list[tuple[int, int]]:
    """Spans of the sentences of one paragraph (whitespace trimmed, never empty)."""
    if quotes is None:
        quotes = find_quotes(text)
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _END.finditer(text):
        if _is_boundary(text, match, quotes):
            spans.append((start, match.end(1)))
            start = match.end()
    spans.append((start, len(text.rstrip())))
    return [(s, e) for s, e in spans if e > s and text[s:e].strip()]


def _fold_by_character(text: str) -> tuple[str, list[int]]:
    """Folded text and, for each folded character, its offset in ``text`` (rare path)."""
    chars: list[str] = []
    offsets: list[int] = []
    for i, char in enumerate(text):
        folded = fold_text(char).replace("ў", "у")
        chars.append(folded)
        offsets.extend([i] * len(folded))
    offsets.append(len(text))
    return "".join(chars), offsets


def _tokens(folded: str, offsets: list[int] | None = None) -> Tokens:
    matches = list(_WORD.finditer(folded))
    starts = [m.start() for m in matches]
    ends = [m.end() for m in matches]
    forms = [m.group() for m in matches]
    if "'" in folded:
        forms = [form.replace("'", "") for form in forms]
    if offsets is not None:
        starts = [offsets[i] for i in starts]
        ends = [offsets[i - 1] + 1 for i in ends]
    return Tokens(starts, ends, forms)


def tokenize(text: str) -> Tokens:
    """The folded word tokens of ``text`` with their offsets in ``text``."""
    folded = fold_text(text).replace("ў", "у")
    if len(folded) == len(text):
        return _tokens(folded)
    return _tokens(*_fold_by_character(text))


def fold_words(text: str) -> list[str]:
    """Folded word forms of ``text``, as ``tokenize`` makes them (for cue words)."""
    return tokenize(text).forms


# ------------------------------------------------------- matching cue patterns on tokens

Word = tuple[tuple[str, str], ...]  # alternatives (kind, text): exact, prefix, stem:ALGORITHM
Match = tuple[int, int, int]  # pattern id, first token, token after the last
MAX_GAP = 4  # words a "..." in a cue may skip
_CLAUSE_BREAK = re.compile(r"[,;:.!?—–()]")
_CACHE_SIZE = 200_000


@dataclass(frozen=True)
class Pattern:
    """A compiled cue: ``gaps[i]`` lets up to MAX_GAP words stand before ``words[i]``."""

    label: int  # the caller's tag (a frame's index)
    cue: str  # as written
    words: tuple[Word, ...]
    gaps: tuple[bool, ...]


class Stems:
    """Snowball stems, one stemmer per thread (PyStemmer objects are not thread-safe)."""

    _local = threading.local()

    def stem(self, algorithm: str, form: str) -> str:
        stemmers: dict[str, Stemmer.Stemmer] = self._local.__dict__.setdefault("stemmers", {})
        stemmer = stemmers.get(algorithm)
        if stemmer is None:
            stemmer = stemmers[algorithm] = Stemmer.Stemmer(algorithm)
        result: str = stemmer.stemWord(form)
        return result


def form_matches(word: Word, form: str, stems: Stems) -> bool:
    """Does the folded word ``form`` match any of the cue word's alternatives?"""
    for kind, text in word:
        if kind == "exact":
            if form == text:
                return True
        elif kind == "prefix":
            if form.startswith(text):
                return True
        elif stems.stem(kind[5:], form) == text:
            return True
    return False


@dataclass
class Passage:
    """A paragraph with its tokens: what patterns are matched against."""

    text: str
    tokens: Tokens
    stems: Stems

    @classmethod
    def of(cls, text: str) -> Passage:
        return cls(text, tokenize(text), Stems())

    def breaks(self, before: int, after: int, pattern: re.Pattern[str] = _CLAUSE_BREAK) -> bool:
        """Is there punctuation between token ``before`` and token ``after``?"""
        gap = self.text[self.tokens.ends[before] : self.tokens.starts[after]]
        return bool(pattern.search(gap))

    def span(self, first: int, end: int) -> tuple[int, int]:
        """Character span of tokens ``first`` .. ``end - 1``."""
        return self.tokens.starts[first], self.tokens.ends[end - 1]

    def word_matches(self, word: Word, k: int) -> bool:
        return form_matches(word, self.tokens.forms[k], self.stems)

    def extend(self, pattern: Pattern, first: int, hi: int) -> int:
        """The token after a match of ``pattern`` starting at token ``first``, or 0.

        Gaps do not cross punctuation, so a "..." never joins two clauses."""
        at = first + 1
        for word, gap in zip(pattern.words[1:], pattern.gaps[1:], strict=True):
            last = min(hi - 1, at + (MAX_GAP if gap else 0))
            for k in range(at, last + 1):
                if k > at and self.breaks(at - 1, k):
                    return 0
                if self.word_matches(word, k):
                    at = k + 1
                    break
            else:
                return 0
        return at


class CueIndex:
    """Patterns indexed by their first word; ``find`` returns every match in a range."""

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        self.patterns = tuple(patterns)
        self.exact: dict[str, list[int]] = {}
        self.prefix: dict[str, list[int]] = {}
        self.stems: dict[str, dict[str, list[int]]] = {}
        for pid, pattern in enumerate(self.patterns):
            for kind, text in pattern.words[0]:
                if kind.startswith("stem:"):
                    table = self.stems.setdefault(kind[5:], {})
                else:
                    table = self.exact if kind == "exact" else self.prefix
                table.setdefault(text, []).append(pid)
        self.lengths = sorted({len(text) for text in self.prefix})
        self._cache: dict[str, tuple[int, ...]] = {}  # form -> candidates (words repeat)
        # (form, next form) -> the candidates whose second word fits (common first words
        # like "в", "не", "in" start many cues: checking their second word once per pair)
        self._pairs: dict[tuple[str, str | None], tuple[int, ...]] = {}

    def _candidates(self, form: str, stems: Stems) -> tuple[int, ...]:
        cached = self._cache.get(form)
        if cached is not None:
            return cached
        found = list(self.exact.get(form, ()))
        for length in self.lengths:
            if length > len(form):
                break
            found.extend(self.prefix.get(form[:length], ()))
        for algorithm, table in self.stems.items():
            found.extend(table.get(stems.stem(algorithm, form), ()))
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        result = self._cache[form] = tuple(dict.fromkeys(found))
        return result

    def _fitting(self, form: str, following: str | None, stems: Stems) -> tuple[int, ...]:
        """The candidates for ``form`` that can start a match when ``following`` is the
        next word (None: the range ends): one-word cues, cues with a gap after the first
        word, and cues whose second word matches ``following``."""
        key = (form, following)
        cached = self._pairs.get(key)
        if cached is not None:
            return cached
        fitting = []
        for pid in self._candidates(form, stems):
            pattern = self.patterns[pid]
            if (
                len(pattern.words) == 1
                or pattern.gaps[1]
                or (following is not None and form_matches(pattern.words[1], following, stems))
            ):
                fitting.append(pid)
        if len(self._pairs) >= _CACHE_SIZE:
            self._pairs.clear()
        result = self._pairs[key] = tuple(fitting)
        return result

    def find(self, passage: Passage, lo: int, hi: int) -> list[Match]:
        """Matches (pattern id, first token, end token) starting in tokens lo .. hi-1."""
        matches = []
        forms, patterns, stems = passage.tokens.forms, self.patterns, passage.stems
        for i in range(lo, hi):
            if not self._candidates(forms[i], stems):
                continue
            following = forms[i + 1] if i + 1 < hi else None
            for pid in self._fitting(forms[i], following, stems):
                pattern = patterns[pid]
                if len(pattern.words) == 1:
                    matches.append((pid, i, i + 1))
                    continue
                end = passage.extend(pattern, i, hi)
                if end:
                    matches.append((pid, i, end))
        return matches
