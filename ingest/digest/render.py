"""The daily digest, rendered: a :class:`DigestData` in, HTML, Markdown and Atom out.

Pure: no session, no clock, no files. ``storage.digests`` gathers the data and
``ingest.digest.job`` writes the files; the derived views (numbers, events, the chart,
the outlet x frame table) come from ``ingest.digest.views``.

Every string that comes from an article or a feed is untrusted. HTML is rendered by
Jinja2 with autoescaping, text from articles sits in ``dir="auto"`` / ``<bdi>`` so
right-to-left titles cannot reorder the page, and only http(s) and mailto URLs ever
become links (:func:`safe_href`). The Markdown environment escapes every value it prints
(:func:`escape_markdown`) unless it is explicitly marked as Markdown. The page loads
nothing: inline CSS and SVG, no scripts, and a Content-Security-Policy that forbids
everything else.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined

from ingest.digest import views
from ingest.digest.health import plain_error
from ingest.model.digest import DigestData, FeedEntry
from ingest.model.health import SourceFailure

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
SAFE_SCHEMES = ("http", "https", "mailto")
ATOM_NS = "http://www.w3.org/2005/Atom"
MAX_TEXT = 2000  # characters kept of any one piece of article text

# C0/C1 controls (tab and newline become spaces) and bidirectional embedding, override
# and isolate controls: formatting that could reorder or hide the text around them.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]")
_SPACES = re.compile(r"\s+")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~&!])")
_URL_SAFE = "/:?#[]@!$&'*+,;=%-._~"  # kept as they are in a Markdown link's <destination>


# -- text -------------------------------------------------------------------------------


def clean_text(value: str | None, limit: int = MAX_TEXT) -> str:
    """One line of displayable text: controls dropped, whitespace collapsed, NFC, capped."""
    return _one_line(value, limit).strip()


def _one_line(value: str | None, limit: int = MAX_TEXT) -> str:
    if not value:
        return ""
    text = _SPACES.sub(" ", _CONTROLS.sub(" ", unicodedata.normalize("NFC", value)))
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def safe_href(url: str | None) -> str | None:
    """The URL when it may become a link (http, https, mailto), else None."""
    if not url:
        return None
    candidate = url.strip()
    if _CONTROLS.search(candidate) or any(ch.isspace() for ch in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in SAFE_SCHEMES:
        return None
    if parts.scheme.lower() != "mailto" and not parts.netloc:
        return None
    return candidate


class Markdown(str):
    """Text that is already Markdown: printed as it is."""


def escape_markdown(value: object) -> Markdown:
    """Untrusted text as literal Markdown: no markup, no HTML, no links, one line."""
    if isinstance(value, Markdown):
        return value
    if value is None:
        return Markdown("")
    return Markdown(_MD_SPECIAL.sub(r"\\\1", _one_line(str(value))))


def markdown_link(text: object, url: str | None) -> Markdown:
    """``[text](<url>)`` when the URL is safe, else the escaped text alone."""
    label = escape_markdown(clean_text(str(text))) or Markdown("(untitled)")
    href = safe_href(url)
    if href is None:
        return label
    return Markdown(f"[{label}](<{quote(href, safe=_URL_SAFE)}>)")


# -- rendering --------------------------------------------------------------------------


def _local(value: datetime, tz: str, fmt: str = "%H:%M") -> str:
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def _label(frame: str | None) -> str:
    return (frame or "").replace("_", " ")


def _plain(failure: SourceFailure) -> str:
    return plain_error(failure.last_outcome, failure.status_code)


def _environment(markdown: bool) -> Environment:
    loader = PackageLoader("ingest.digest", "templates")
    if markdown:
        env = Environment(
            loader=loader, autoescape=False, undefined=StrictUndefined,
            finalize=escape_markdown, keep_trailing_newline=True,
            trim_blocks=True, lstrip_blocks=True,
        )  # fmt: skip
        env.filters.update(link=markdown_link, md=Markdown)
    else:
        env = Environment(
            loader=loader, autoescape=True, undefined=StrictUndefined,
            keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
        )  # fmt: skip
        env.filters.update(href=safe_href)
    env.filters.update(text=clean_text, local=_local, label=_label, voices=views.strongest_voices,
                       plain=_plain)  # fmt: skip
    return env


_HTML = _environment(markdown=False)
_MARKDOWN = _environment(markdown=True)


def _context(data: DigestData) -> dict[str, Any]:
    return {"d": data, "v": views.build_view(data), "csp": CSP, "tz": data.timezone,
            "site": (), "inside": None}  # fmt: skip


def render_html(
    data: DigestData, site: Sequence[tuple[str, str]] = (), inside: str | None = None
) -> str:
    """The digest as one self-contained HTML page (also the e-mail's HTML part). The web
    page adds its navigation (``site``: (href, label) pairs) and ``inside``, the path the
    articles' pages are under (``/ui/articles/``), so titles open them there."""
    context = {**_context(data), "site": tuple(site), "inside": inside}
    return _HTML.get_template("digest.html").render(context)


def render_markdown(data: DigestData) -> str:
    """The digest as Markdown, for terminals, chat and the e-mail's plain-text part."""
    return _MARKDOWN.get_template("digest.md").render(_context(data))


def digest_summary(data: DigestData) -> str:
    """One line: the day's numbers and flags (the feed entry's summary, e-mail subject)."""
    failed = len(data.failures)
    failing = f" {failed} source{'s' if failed != 1 else ''} failed that day." if failed else ""
    if data.quiet:
        return f"{data.story}, {data.day.isoformat()}: a quiet day, no new articles.{failing}"
    outlets = len({a.outlet for a in data.articles})
    flags = f", {len(data.flags)} new framing flag{'s' if len(data.flags) != 1 else ''}"
    return (
        f"{data.story}, {data.day.isoformat()}: {len(data.articles)} new article"
        f"{'s' if len(data.articles) != 1 else ''} from {outlets} outlet"
        f"{'s' if outlets != 1 else ''}{flags if data.flags else ''}.{failing}"
    )


def entry_id(story: str, day: date) -> str:
    """A digest's stable Atom id: the same for every rewrite of that story's day."""
    return f"tag:framewatch,2025:digest/{quote(story)}/{day.isoformat()}"


def render_atom(entries: Sequence[FeedEntry], feed_id: str, title: str) -> str:
    """The Atom feed of digests, newest first; deterministic for the same entries."""
    ordered = sorted(entries, key=lambda e: (e.day, e.story), reverse=True)
    feed = ET.Element("feed", xmlns=ATOM_NS)
    _sub(feed, "id", feed_id)
    _sub(feed, "title", title)
    updated = max((e.written_at for e in ordered), default=datetime(2025, 1, 1, tzinfo=UTC))
    _sub(feed, "updated", _rfc3339(updated))
    _sub(_sub(feed, "author"), "name", "framewatch")
    for entry in ordered:
        node = _sub(feed, "entry")
        _sub(node, "id", entry_id(entry.story, entry.day))
        _sub(node, "title", f"{entry.story} — {entry.day.isoformat()}")
        _sub(node, "updated", _rfc3339(entry.written_at))
        _sub(node, "summary", clean_text(entry.summary))
        kind = "text/html" if entry.link.endswith(".html") else "text/markdown"
        ET.SubElement(node, "link", rel="alternate", type=kind, href=entry.link)
    body = ET.tostring(feed, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n'


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    node = ET.SubElement(parent, tag)
    if text is not None:
        node.text = clean_text(text)
    return node


def _rfc3339(value: datetime) -> str:
    """An aware time as Atom wants it (naive times are taken as UTC)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
