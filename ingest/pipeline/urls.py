"""URL identity: canonical URLs, trustworthy rel=canonical, outlet names. Pure code."""

from __future__ import annotations

import contextlib
import re
from urllib.parse import unquote, urljoin, urlsplit

# Query parameters that only say how a reader arrived, never which page it is:
# analytics campaigns (utm_*, Matomo pk_*/mtm_*, HubSpot, Olytics, Vero, AT Internet,
# comScore ns_*), ad-click ids (Google gclid/gbraid/wbraid/dclid, Microsoft msclkid,
# Yandex yclid/ysclid, Facebook fbclid/fb_*, TikTok ttclid, Twitter twclid, LinkedIn),
# mail campaigns (Mailchimp mc_cid/mc_eid, Marketo mkt_tok), Google Analytics cross-domain
# (_ga, _gl), share/referral markers (igshid, ref_src, ref_url, smid, CMP, ocid, xtor).
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "gbraid", "wbraid", "yclid", "ysclid", "dclid",
        "msclkid", "mc_cid", "mc_eid", "_ga", "_gl", "igshid", "igsh", "ref_src", "ref_url",
        "twclid", "ttclid", "li_fat_id", "mkt_tok", "_hsenc", "_hsmi", "_openstat",
        "fb_action_ids", "fb_action_types", "fb_ref", "fb_source", "smid", "cmp", "ocid",
        "xtor", "at_medium", "at_campaign", "wickedid", "rb_clickid", "s_cid",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "oly_", "vero_", "ns_")

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_QUERY_SAFE = _UNRESERVED | frozenset("!$'()*+,;=:@/?")  # '&' separates pairs
_HEX = frozenset("0123456789abcdefABCDEF")
_EDGE_SPACE = re.compile(r"^[\s\x00-\x20]+|[\s\x00-\x20]+$")
_SURROGATES = re.compile("[\ud800-\udfff]")
_HOST_OK = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\]")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Host prefixes that serve the same site (mobile and AMP mirrors of the desktop page).
_SAME_SITE_PREFIXES = ("www.", "m.", "mobile.", "amp.")
# A path made of one or two plain words ("/news/", "/world/europe") is a section front.
_SECTION_PATH = re.compile(r"(/[a-z_]{1,24}){0,2}/?", re.I)


def _requote(part: str, safe: frozenset[str]) -> str:
    """Percent-encode what is not ``safe``, decode unreserved escapes, upper-case hex."""
    out: list[str] = []
    i = 0
    while i < len(part):
        ch, pair = part[i], part[i + 1 : i + 3]
        if ch == "%" and len(pair) == 2 and set(pair) <= _HEX:
            decoded = chr(int(pair, 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + pair.upper())
            i += 3
            continue
        out.append(ch if ch in safe else "".join(f"%{b:02X}" for b in ch.encode()))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    segments = path.split("/")
    kept: list[str] = []
    for seg in segments[1:]:
        if seg == "..":
            if kept:
                kept.pop()
        elif seg != ".":
            kept.append(seg)
    if segments[-1] in (".", ".."):
        kept.append("")
    return "/" + "/".join(kept)


def _canonical_netloc(scheme: str, netloc: str) -> str | None:
    """Lower-cased IDNA host plus a non-default port; user info is dropped; None if bad."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        host, _, rest = hostport.partition("]")
        host, port = host + "]", rest.removeprefix(":")
        if rest and not rest.startswith(":"):
            return None
    else:
        host, _, port = hostport.partition(":")
    host = host.lower().rstrip(".")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            return None
    if not _HOST_OK.fullmatch(host) or (port and not (port.isascii() and port.isdigit())):
        return None
    if port and int(port) > 65535:
        return None
    if not port or int(port) == _DEFAULT_PORTS[scheme]:
        return host
    return f"{host}:{int(port)}"


def _canonical_query(query: str) -> str:
    pairs: list[tuple[str, str]] = []
    for part in query.split("&"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = _requote(key, _QUERY_SAFE)
        name = unquote(key).lower()
        if name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES):
            continue
        pairs.append((key, sep + _requote(value, _QUERY_SAFE)))
    pairs.sort(key=lambda kv: kv[0])  # stable: repeated keys keep their order
    return "&".join(k + v for k, v in pairs)


def canonicalize_url(url: str, base: str | None = None) -> str:
    """The canonical form of an http(s) URL; anything else comes back only trimmed.

    Idempotent: ``canonicalize_url(canonicalize_url(u)) == canonicalize_url(u)``.
    """
    url = _EDGE_SPACE.sub("", re.sub(r"[\t\n\r]", "", _SURROGATES.sub("", url)))
    if base:
        with contextlib.suppress(ValueError):  # a broken base leaves the URL as it is
            url = _EDGE_SPACE.sub("", urljoin(_SURROGATES.sub("", base).strip(), url))
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.netloc:
        return url
    netloc = _canonical_netloc(scheme, parts.netloc)
    if netloc is None:
        return url
    path = _remove_dot_segments(_requote(parts.path or "/", _PATH_SAFE))
    query = _canonical_query(parts.query)
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def _site(host: str) -> str:
    for prefix in _SAME_SITE_PREFIXES:
        if host.startswith(prefix):
            return host[len(prefix) :]
    return host


def _trust_declared(page: str, declared: str) -> bool:
    p, d = urlsplit(page), urlsplit(declared)
    if d.scheme not in _DEFAULT_PORTS or p.scheme not in _DEFAULT_PORTS:
        return False
    if _site(p.netloc) != _site(d.netloc):
        return False  # other outlets' canonicals are syndication claims we cannot check
    if (p.path, p.query) == (d.path, d.query):
        return True
    # home page, section front, or the bare script many pages share
    return bool(d.query) or not (_SECTION_PATH.fullmatch(d.path) or (p.query and p.path == d.path))


def choose_canonical(page_url: str, declared: str | None) -> str:
    """The page's declared rel=canonical when trustworthy, else the canonical page URL.

    Trusted: same site (ignoring scheme and a www./m./mobile./amp. prefix), and not the
    home page, a one- or two-word section path, or the page's own path minus its query;
    CMS templates often point every article at one of those.
    """
    page = canonicalize_url(page_url)
    if not declared or not declared.strip():
        return page
    candidate = canonicalize_url(declared, base=page_url)
    return candidate if _trust_declared(page, candidate) else page


def outlet_from_url(url: str) -> str:
    """The URL's host without "www." (and without port); "" when it has none."""
    try:
        netloc = urlsplit(canonicalize_url(url)).netloc
    except ValueError:
        return ""
    host = netloc.rpartition(":")[0] if netloc.rfind(":") > netloc.rfind("]") else netloc
    return host.removeprefix("www.")
