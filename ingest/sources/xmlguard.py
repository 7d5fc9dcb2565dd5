"""A pre-parse check that refuses XML entity attacks before any parser expands them.

Billion laughs (entities built from entities), quadratic blow-up (one long entity used
many times), external entities (``SYSTEM``/``PUBLIC``: ``file://``, ``http://``) and
parameter entities are refused by :func:`check_xml_safety`, in time linear in the input.

What passes: documents without a DOCTYPE (no parser expands an entity it was never given),
DOCTYPEs without an internal subset (an external DTD is never loaded), and a few plain
internal entities as real feeds declare them, ``<!ENTITY id "tag:example.com,">`` or
``<!ENTITY nbsp "&#160;">``: a literal value without markup or references to other
entities, and all their uses together adding at most :data:`MAX_EXPANSION` characters.

Every ``<!ENTITY`` in a document that has a DOCTYPE is judged, wherever it stands: parsers
that locate declarations with regular expressions (feedparser does) must not find one that
a careful reading of the internal subset would have missed.
"""

from __future__ import annotations

import codecs
import re

from ingest.model.errors import ParseError

MAX_ENTITIES = 64
MAX_ENTITY_CHARS = 1_000
MAX_EXPANSION = 1_000_000

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_PLAIN_ENTITY = re.compile(
    rb"""<!ENTITY\s+([A-Za-z_][\w.-]*)\s+(?:"([^"&%<>]*|&\#\w+;)"|'([^'&%<>]*|&\#\w+;)')\s*>""",
    re.ASCII,
)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_XML_DECL_ENCODING = re.compile(rb"""^[^>]{0,200}?encoding\s*=\s*["']([\w.:-]{1,40})["']""")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]{1,40})", re.IGNORECASE)
_PROBE = "<!DOCTYPE x [<!ENTITY y '&#1;%'>]> +ADw-"
_EBCDIC_XML_DECL = b"\x4c\x6f\xa7\x94"  # "<?xm" in EBCDIC


def check_xml_safety(body: bytes, content_type: str = "") -> None:
    """Raise ParseError when ``body`` declares entities that could expand or reach out.

    ``content_type`` is the HTTP header, whose charset a parser may decode the body with.
    """
    for view in _views(body, content_type):
        _check_view(view)


def _check_view(text: bytes) -> None:
    if not _DOCTYPE.search(text):
        return
    declared: dict[bytes, int] = {}
    for match in _ENTITY.finditer(text):
        name, size = _plain_entity(text, match.start())
        declared[name] = size
        if len(declared) > MAX_ENTITIES:
            raise ParseError(f"unsafe XML: more than {MAX_ENTITIES} entity declarations")
    expansion = sum(text.count(b"&" + name + b";") * size for name, size in declared.items())
    if expansion > MAX_EXPANSION:
        raise ParseError(
            f"unsafe XML: entity references would expand to {expansion:,} characters "
            f"(limit {MAX_EXPANSION:,}; quadratic blow-up)"
        )


def _plain_entity(text: bytes, start: int) -> tuple[bytes, int]:
    """Name and value length of the plain entity declared at ``start``, else ParseError."""
    match = _PLAIN_ENTITY.match(text, start)
    if match is None:
        raise ParseError(f"unsafe XML: {_describe(text[start : start + 300])}")
    value = match.group(2) if match.group(2) is not None else match.group(3)
    if len(value) > MAX_ENTITY_CHARS:
        raise ParseError(
            f"unsafe XML: entity {match.group(1).decode()!r} is {len(value):,} characters long"
            f" (limit {MAX_ENTITY_CHARS:,})"
        )
    return match.group(1), len(value)


def _describe(declaration: bytes) -> str:
    """Why an entity declaration is refused, for the error message."""
    head = declaration.split(b">", 1)[0]
    words = head.split()
    name = words[1].decode("ascii", "replace")[:40] if len(words) > 1 else "?"
    if name == "%":
        return "parameter entity declared (external DTD or entity expansion)"
    if re.search(rb"\s(SYSTEM|PUBLIC)\s", head, re.IGNORECASE):
        return f"external entity {name!r} declared (SYSTEM/PUBLIC)"
    if b"&" in head or b"%" in head:
        return f"entity {name!r} refers to other entities (entity expansion attack)"
    return f"entity declaration {name!r} is not a plain literal"


def _views(body: bytes, content_type: str) -> list[bytes]:
    """The document as ASCII-compatible bytes, once per way a parser might decode it.

    Markup is ASCII, so UTF-8 and single-byte charsets are scanned as they are. UTF-16/32
    (with or without a byte-order mark) are scanned with their NUL bytes dropped, and a
    charset that spells markup differently (UTF-7's ``+ADw-`` is ``<``, EBCDIC) is decoded
    first, so no encoding can hide a declaration from the check.
    """
    views = [body]
    if b"\x00" in body[:4096]:
        views.append(body.replace(b"\x00", b""))
    names = {codec for bom, codec in _BOMS if body.startswith(bom)}
    if body.startswith(_EBCDIC_XML_DECL):
        names.add("cp037")
    declared = _XML_DECL_ENCODING.match(views[-1][:512])
    if declared:
        names.add(declared.group(1).decode("ascii"))
    if charset := _CHARSET.search(content_type):
        names.add(charset.group(1))
    views += [_decoded(body, name) for name in sorted(names) if not _ascii_compatible(name)]
    return views


def _ascii_compatible(name: str) -> bool:
    try:
        return _PROBE.encode("ascii").decode(name) == _PROBE
    except LookupError:
        return True  # a charset nobody can decode: parsers fall back to ASCII-compatible ones
    except UnicodeError:
        return False


def _decoded(body: bytes, name: str) -> bytes:
    return body.decode(name, "replace").encode("utf-8", "replace")
