"""Bounding the work feedparser is given, so that no feed takes more than about a second.

feedparser's time grows with markup, not with bytes: 5 MB of plain text parses in 0.2 s,
but every element costs tens of microseconds (more when a well-formed-looking feed turns
out broken at its end and is parsed a second time by the loose parser), every attribute
and entity reference a few. :func:`bound_feed` hands feedparser at most ``max_entries``
entries and at most :data:`MARKUP_BUDGET` of weighted markup:

1. entries past ``max_entries`` are cut out whole (from the end of the last kept entry
   to the end of the last entry), so a well-formed feed stays well-formed;
2. if the kept entries still weigh too much, fewer are kept, the same way;
3. if one entry alone is too heavy (no feed looks like that, but an attacker's might),
   the document is cut where the budget runs out and parsed as a truncated feed;
4. last, blanks inside tags (attributes, bare ones included) are counted tag by tag,
   and the document is cut before the tag where they take it over the budget.

Numeric character references that name no character (``&#0;``, surrogates, past
U+10FFFF), which crash feedparser, become U+FFFD first.
"""

from __future__ import annotations

import re
from itertools import islice

# Weights per occurrence in the body, in units of 1/24 of a tag: measured on this
# project's machines, a tag costs up to ~60 µs (strict parse, then loose re-parse), an
# attribute ("=") ~6 µs, an entity or character reference ("&") ~5 µs, a blank inside a
# tag or an escaped tag (an attribute, with a value or bare) ~5 µs. Nested relative
# xml:base attributes make URLs that grow with the depth, so n of them cost up to ~n²/6
# (past the first XML_BASE_FREE, which real feeds do not exceed).
TAG_COST, ENTITY_COST, ATTRIBUTE_COST, BLANK_IN_TAG_COST = 24, 2, 3, 2
XML_BASE_FREE, XML_BASE_DIVISOR = 200, 6
# About 12,000 tags, 0.7 s of feedparser at worst. A 500-entry headline feed with
# escaped HTML summaries weighs about 10,000; a full-content feed keeps fewer entries.
MARKUP_BUDGET = 12_000 * TAG_COST

# A tag (up to the next "<" or ">") or an escaped tag (from "&lt;" to "&gt;"), linear-time.
_MARKUP_SPAN = re.compile(rb"<[^<>]*|&lt;[^<>&]*(?:&(?!lt;|gt;)[^<>&]*)*")
_BLANKS = b" \t\r\n\f\v"
_ENTRY_END = re.compile(rb"</(?:[\w.-]{1,40}:)?(?:item|entry)\s*>", re.IGNORECASE)
_NUMERIC_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)(?![0-9a-fA-F])|([0-9]+)(?![0-9]))")
_REPLACEMENT = b"&#xFFFD"


def markup_cost(body: bytes, start: int = 0, end: int | None = None) -> int:
    """The weighted markup in ``body[start:end]`` (see MARKUP_BUDGET)."""
    end = len(body) if end is None else end
    bases = max(0, body.count(b"xml:base", start, end) - XML_BASE_FREE)
    return (
        TAG_COST * body.count(b"<", start, end)
        + ENTITY_COST * body.count(b"&", start, end)
        + ATTRIBUTE_COST * body.count(b"=", start, end)
        + bases * bases // XML_BASE_DIVISOR
    )


def bound_feed(body: bytes, max_entries: int) -> tuple[bytes, list[str]]:
    """``body`` with at most ``max_entries`` entries and MARKUP_BUDGET; and what was cut."""
    warnings: list[str] = []
    ends = [m.end() for m in islice(_ENTRY_END.finditer(body), max_entries + 1)]
    if len(ends) > max_entries >= 1:
        total = len(ends) + sum(1 for _ in _ENTRY_END.finditer(body, ends[-1]))
        warnings.append(f"{total} entries; only the first {max_entries} read")
        body = _keep_entries(body, ends, max_entries)
        ends = ends[:max_entries]
    if markup_cost(body) > MARKUP_BUDGET:
        body, warning = _within_budget(body, ends)
        warnings.append(warning)
    cut = _blanks_in_tags_cut(body)
    if cut is not None:
        body = body[:cut]
        warnings.append(f"feed has more attributes than are read from a feed; read {cut:,} bytes")
    return _fix_char_refs(body), warnings


def _keep_entries(body: bytes, ends: list[int], keep: int) -> bytes:
    """``body`` without the entries after the first ``keep`` (``ends``: entry end offsets)."""
    last_end = ends[-1]
    for match in _ENTRY_END.finditer(body, last_end):
        last_end = match.end()
    return body[: ends[keep - 1]] + body[last_end:]


def _within_budget(body: bytes, ends: list[int]) -> tuple[bytes, str]:
    """Fewer entries, or a plain cut, to bring ``body`` within MARKUP_BUDGET."""
    tail_cost = markup_cost(body, ends[-1]) if ends else 0
    low, high = 0, len(ends)  # keep ``low`` entries: within budget; ``high``: over it
    while high - low > 1:
        middle = (low + high) // 2
        if markup_cost(body, 0, ends[middle - 1]) + tail_cost <= MARKUP_BUDGET:
            low = middle
        else:
            high = middle
    if low and markup_cost(body, 0, ends[low - 1]) + tail_cost <= MARKUP_BUDGET:
        return _keep_entries(body, ends, low), (
            f"feed has more markup than is read from a feed; only the first {low} entries read"
        )
    cut = _cut_point(body)
    return body[:cut], f"feed has more markup than is read from a feed; read up to byte {cut:,}"


def _cut_point(body: bytes) -> int:
    """Where the budget runs out (binary search over prefix costs)."""
    low, high = 0, len(body)  # cost(body[:low]) <= budget < cost(body[:high])
    while high - low > 1:
        middle = (low + high) // 2
        if markup_cost(body, 0, middle) <= MARKUP_BUDGET:
            low = middle
        else:
            high = middle
    return low


def _blanks_in_tags_cut(body: bytes) -> int | None:
    """Where to cut ``body`` when the blanks inside its tags (attributes, also bare ones,
    which no cheaper count sees) take it over the budget; None when they do not.

    Runs after the cheaper cuts, so ``body`` holds a bounded number of tags to walk.
    """
    spans = [(m.start(), _blanks(m.group())) for m in _MARKUP_SPAN.finditer(body)]
    blanks_before = [0]
    for _start, blanks in spans:
        blanks_before.append(blanks_before[-1] + blanks)
    if markup_cost(body) + BLANK_IN_TAG_COST * blanks_before[-1] <= MARKUP_BUDGET:
        return None
    low, high = 0, len(spans)  # cut before span ``low``: within budget; ``high``: over it
    while high - low > 1:
        middle = (low + high) // 2
        cost = markup_cost(body, 0, spans[middle][0]) + BLANK_IN_TAG_COST * blanks_before[middle]
        low, high = (middle, high) if cost <= MARKUP_BUDGET else (low, middle)
    return spans[low][0]


def _blanks(span: bytes) -> int:
    return len(span) - len(span.translate(None, _BLANKS))


def _fix_char_refs(body: bytes) -> bytes:
    if b"&#" not in body:
        return body
    return _NUMERIC_REF.sub(_fixed_ref, body)


def _fixed_ref(match: re.Match[bytes]) -> bytes:
    hex_digits, digits = match.group(1), match.group(2)
    if len(hex_digits or digits) > 8:
        return _REPLACEMENT
    code = int(hex_digits, 16) if hex_digits is not None else int(digits)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return _REPLACEMENT
    return match.group(0)
