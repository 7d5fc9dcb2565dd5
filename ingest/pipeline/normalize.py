"""Normalisation: clean text, language, published time, content hash (URLs: ingest.pipeline.urls).

Everything here is pure (no I/O, no clock); ``normalize_item`` turns a ``RawItem`` plus
what extraction found into an ``Article``.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import re
import time
import unicodedata
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any

from dateutil import parser as dateutil_parser

from ingest.model.items import Article, Extracted, RawItem
from ingest.pipeline.urls import choose_canonical, outlet_from_url

# --- text --------------------------------------------------------------------------------

_DROP_BLOCKS = re.compile(r"<!--.*?-->|<(script|style|noscript)\b.*?</\1\s*>", re.I | re.S)
_LINE_TAGS = re.compile(r"<br\b[^<>]*>", re.I)
_BLOCK_TAGS = re.compile(
    r"</?(p|div|li|ul|ol|h[1-6]|blockquote|tr|table|section|article|header|footer|pre|hr"
    r"|figure|figcaption|dd|dt|dl|aside|nav|main)\b[^<>]*>",
    re.I,
)
_ANY_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<![^<>]*>|<\?[^<>]*>")
# Soft hyphen, zero-width space/no-break, BOM and bidi marks: invisible noise in news text.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u2060\ufeff\u200e\u200f\u202a\u202b\u202c"))
_MAX_ROUNDS = 16


def _strip_markup(text: str) -> str:
    if "<" not in text:
        return html.unescape(text)
    text = _DROP_BLOCKS.sub(" ", text)
    text = _LINE_TAGS.sub("\n", text)
    text = _BLOCK_TAGS.sub("\n\n", text)
    return html.unescape(_ANY_TAG.sub("", text))


# C0/C1 controls except newline and tab, and lone surrogates (not encodable as UTF-8).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACES = re.compile("[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")  # Zs and tab


def tidy_text(text: str) -> str:
    """Plain-text normalisation: NFC, no control characters, single spaces, one blank
    line at most between paragraphs, stripped. Does not touch markup (see clean_text).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE)
    text = _CONTROLS.sub("", text).replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = unicodedata.normalize("NFC", _SPACES.sub(" ", text))
    text = re.sub(r" {2,}", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def clean_text(text: str) -> str:
    """HTML fragment (e.g. a feed summary) to tidy plain text.

    Tags and entities are stripped repeatedly until nothing changes, because feeds often
    escape twice ("&amp;lt;p&amp;gt;"); that also makes the function idempotent (for up
    to 16 levels of nested escaping).
    """
    text = tidy_text(text)
    for _ in range(_MAX_ROUNDS):
        cleaned = tidy_text(_strip_markup(text))
        if cleaned == text:
            break
        text = cleaned
    return text


def _one_line(text: str | None, limit: int) -> str:
    return " ".join(clean_text(text or "").split())[:limit]


# --- language ----------------------------------------------------------------------------

# Country codes and ISO 639-2 codes that sites put in lang= instead of ISO 639-1.
_LANGUAGE_ALIASES = {
    "ua": "uk", "by": "be", "rus": "ru", "bel": "be", "ukr": "uk", "eng": "en", "pol": "pl",
    "lit": "lt", "deu": "de", "ger": "de", "fra": "fr", "fre": "fr", "iw": "he", "in": "id",
}  # fmt: skip
# ISO 639-1, so that "xx" or "en-klingon" in a lang= attribute is no language at all.
_ISO_639_1_CODES = (
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu "
    "cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi "
    "ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks "
    "ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl "
    "nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl "
    "sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve "
    "vi vo wa wo xh yi yo za zh zu"
)
_ISO_639_1 = frozenset(_ISO_639_1_CODES.split())
_MIN_LETTERS = 25
_SAMPLE_CHARS = 1_500  # a confident guess on news text; the classifier is linear in length
_MIN_CONFIDENCE = 0.5
_CYRILLIC_FAMILY = frozenset({"ru", "be", "uk", "bg", "mk", "sr"})
_KAZAKH_LETTERS = frozenset("әғқңөұүһ")  # Kazakh also has і and ы; never ours to override


def language_code(tag: str | None) -> str | None:
    """ISO 639-1 code from a language tag ("ru-RU" -> "ru", "be_BY" -> "be", "ua" -> "uk")."""
    if not tag:
        return None
    primary = re.split(r"[-_\s]", tag.strip().lower(), maxsplit=1)[0]
    primary = _LANGUAGE_ALIASES.get(primary, primary)
    return primary if primary in _ISO_639_1 else None


@cache
def _identifier() -> Any:
    # Loading the model takes ~0.5 s; do it once per process, on first use.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _east_slavic(counts: Counter[str], *, short: bool = False) -> str | None:
    """ru / be / uk from letters only one or two of them use; None if undecided.

    Russian: и, ы, э, no і. Belarusian: і, ў, ы, э, no и. Ukrainian: і and и, ї, є, ґ, no ы/э.
    """
    u, uk = counts["ў"], counts["ї"] + counts["є"] + counts["ґ"]
    if short:  # only letters that settle it alone
        return "be" if u and not uk else "uk" if uk and not u else None
    if any(counts[c] for c in _KAZAKH_LETTERS):
        return None
    i, ii, y = counts["і"], counts["и"], counts["ы"] + counts["э"] + counts["ё"]
    if i + ii < 5:
        return None
    share = i / (i + ii)
    if share < 0.2:
        return "ru" if y else None  # и without ы/э/ё is Bulgarian, Macedonian, Serbian
    if share > 0.8:
        return "be" if u + y > uk else "uk" if uk else None
    if 2 * uk >= u + y:
        return "uk"
    return "be" if share >= 0.5 else "ru"


def detect_language(text: str, hint: str | None = None) -> str | None:
    """ISO 639-1 code of ``text``; ``hint`` (normalised) when the text is too short or
    the classifier unsure. Letter evidence settles Russian/Belarusian/Ukrainian, which
    statistical models confuse on news text full of shared names and vocabulary.
    """
    hint_code = language_code(hint)
    sample = text[:_SAMPLE_CHARS]
    # count every character in C, then keep letters: a generator over the text was a
    # third of the function's time
    counts = Counter({ch: n for ch, n in Counter(sample.lower()).items() if ch.isalpha()})
    if sum(counts.values()) < _MIN_LETTERS:
        return hint_code or _east_slavic(counts, short=True)
    label, confidence = _identifier().classify(sample)
    if label in _CYRILLIC_FAMILY and (slavic := _east_slavic(counts)):
        return slavic
    code = label if label in _ISO_639_1 else None  # the model also knows "zxx", "ary", ...
    if code is None or confidence < _MIN_CONFIDENCE:
        return hint_code or code
    return str(code)


# --- time --------------------------------------------------------------------------------

_MIN_YEAR = 1990
_FUTURE_SLACK = timedelta(days=2)
# Zone abbreviations dateutil does not know, as seen on news sites.
_TZINFOS = {
    "UTC": 0, "GMT": 0, "Z": 0, "BST": 3600, "CET": 3600, "CEST": 7200, "EET": 7200,
    "EEST": 10800, "MSK": 10800, "EST": -18000, "EDT": -14400, "CST": -21600,
    "CDT": -18000, "MST": -25200, "MDT": -21600, "PST": -28800, "PDT": -25200,
}  # fmt: skip


def _zone(name: str | None, offset: int | None) -> int:
    # unknown zone names count as UTC, like naive times (and dateutil stays quiet)
    return offset if offset is not None else _TZINFOS.get((name or "").upper(), 0)


def _parse_string(value: str) -> datetime | None:
    value = value.strip()
    if not value or len(value) > 100:  # no date is this long; spare dateutil the garbage
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(value)
    with contextlib.suppress(TypeError, ValueError, IndexError):
        rfc822 = parsedate_to_datetime(value)
        # the email module reads zones it does not know ("MSK") as UTC; dateutil does not
        if rfc822.tzinfo is not None or not value.split()[-1].isalpha():
            return rfc822
    try:
        # Fixed default: missing fields must not come from today's date. Day first
        # ("11.09.2025" is 11 September here) unless the year leads: dateutil would
        # read "2025-09-11" as year-day-month.
        dayfirst = not re.match(r"\d{4}", value)
        return dateutil_parser.parse(
            value, default=datetime(1, 1, 1), dayfirst=dayfirst, tzinfos=_zone
        )
    except (ValueError, OverflowError, TypeError):
        return None


def parse_datetime(
    value: str | datetime | time.struct_time | None, now: datetime | None = None
) -> datetime | None:
    """Aware UTC datetime from ISO 8601, RFC 822, a datetime or feedparser's UTC
    struct_time. Naive values are UTC. None for unparseable values, years before 1990,
    and (given ``now``) times more than two days after ``now``.
    """
    try:
        if value is None:
            return None
        if isinstance(value, time.struct_time):
            parsed: datetime | None = datetime(*value[:5], min(value[5], 59), tzinfo=UTC)
        elif isinstance(value, datetime):
            parsed = value
        else:
            parsed = _parse_string(str(value))
        if parsed is None:
            return None
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError, TypeError):
        return None
    if parsed.year < _MIN_YEAR:
        return None
    if now is not None:
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
        if parsed > now + _FUTURE_SLACK:
            return None
    return parsed


# --- identity ----------------------------------------------------------------------------

MIN_HASH_CHARS = 200


def _hash_form(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def content_hash(title: str, text: str) -> str | None:
    """SHA-256 of the body text, normalised (NFKC, casefolded, ё=е, punctuation and
    whitespace collapsed to single spaces). A leading copy of the title is dropped since
    extractors disagree on whether the headline belongs to the body; the title is not
    hashed otherwise, because syndicated copies get new headlines. None when fewer than
    200 normalised characters remain: short teasers collide across different stories.
    """
    body, head = _hash_form(text), _hash_form(title)
    if head and body.startswith(head + " "):
        body = body[len(head) + 1 :]
    if len(body) < MIN_HASH_CHARS:
        return None
    return hashlib.sha256(body.encode()).hexdigest()


# --- the stage ---------------------------------------------------------------------------

MAX_TITLE = 1_000
MAX_SUMMARY = 10_000
MAX_TEXT = 500_000
MAX_AUTHOR = 500
# An extracted body shorter than this only wins over a longer feed summary.
MIN_BODY_CHARS = 200


def _choose_text(extracted_text: str, summary: str) -> str:
    body = tidy_text(extracted_text)
    if body and (len(body) >= MIN_BODY_CHARS or len(body) >= len(summary)):
        return body[:MAX_TEXT]
    return summary[:MAX_TEXT]


def normalize_item(raw: RawItem, extracted: Extracted | None) -> Article:
    """Combine what the source said (``raw``) with what the page said (``extracted``)."""
    ex = extracted or Extracted()
    canonical = choose_canonical(raw.final_url or raw.url, ex.canonical_url)
    fetched_at = parse_datetime(raw.fetched_at) or raw.fetched_at
    title = _one_line(raw.title, MAX_TITLE) or _one_line(ex.title, MAX_TITLE)
    summary = (clean_text(raw.summary) or clean_text(ex.description or ""))[:MAX_SUMMARY]
    text = _choose_text(ex.text, summary)
    author = _one_line(raw.author, MAX_AUTHOR) or _one_line(ex.author, MAX_AUTHOR)
    published = parse_datetime(raw.published, now=fetched_at) or parse_datetime(
        ex.published, now=fetched_at
    )
    return Article(
        url=raw.url.strip() or canonical,
        canonical_url=canonical,
        source=raw.source,
        outlet=raw.outlet or outlet_from_url(canonical),
        fetched_at=fetched_at,
        title=title,
        summary=summary,
        text=text,
        guid=raw.guid,
        author=author or None,
        published_at=published,
        language=detect_language(f"{title}\n{text}", hint=ex.language or raw.language_hint),
        content_hash=content_hash(title, text),
    )
