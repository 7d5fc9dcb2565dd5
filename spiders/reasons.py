"""Why a page was skipped or failed: the kinds counted in a crawl run's ``errors``."""

from __future__ import annotations

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError

ROBOTS_TXT = "robots_txt"  # disallowed by the site's robots.txt
NOT_HTML = "not_html"  # an article or listing link answered with another content type
TOO_LARGE = "too_large"  # body over fetch.max_bytes (counted after decompression)
TIMEOUT = "timeout"
DNS_ERROR = "dns_error"
CONNECTION_ERROR = "connection_error"
DATA_LOSS = "data_loss"  # the connection closed before the whole body arrived
BLOCKED_ADDRESS = "blocked_address"  # the SSRF guard refused a non-public address
TOO_MANY_REDIRECTS = "too_many_redirects"
NO_ARTICLE_BODY = "no_article_body"  # the page has no article text to store
DUPLICATE_LINK = "duplicate_link"  # the same article linked again (e.g. with tracking tags)
BAD_SITEMAP = "bad_sitemap"
MALFORMED_JSONLD = "malformed_jsonld"  # JSON-LD that is not JSON; extraction falls back
JSONLD_MISMATCH = "jsonld_mismatch"  # JSON-LD describing another page; its claims are ignored
PIPELINE_ERROR = "pipeline_error"  # a bug or database problem on one item
MAX_PAGES = "max_pages"  # links left unfollowed because the page budget was spent
MAX_DEPTH = "max_depth"  # pagination or sitemap nesting deeper than max_depth


class BlockedAddressError(IgnoreRequest):
    """The SSRF guard refused the address a request would connect to."""


def failure_kind(exc: BaseException) -> str:
    """The reason kind for an exception a request failed with."""
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    if isinstance(exc, BlockedAddressError):
        return BLOCKED_ADDRESS
    if isinstance(exc, IgnoreRequest):
        return _ignored_kind(exc)
    simple: tuple[tuple[type[BaseException], str], ...] = (
        (DownloadTimeoutError, TIMEOUT),
        (TimeoutError, TIMEOUT),
        (DownloadCancelledError, TOO_LARGE),  # DOWNLOAD_MAXSIZE cancels the download
        (CannotResolveHostError, DNS_ERROR),
        (DownloadConnectionRefusedError, CONNECTION_ERROR),
        (ConnectionError, CONNECTION_ERROR),
        (ResponseDataLossError, DATA_LOSS),
    )
    for cls, kind in simple:
        if isinstance(exc, cls):
            return kind
    name = type(exc).__name__
    if "Timeout" in name:
        return TIMEOUT
    if "DNS" in name or "Lookup" in name:
        return DNS_ERROR
    return "connection_error" if "Connect" in name else "download_error"


def _ignored_kind(exc: IgnoreRequest) -> str:
    message = str(exc).lower()
    if "robots.txt" in message:
        return ROBOTS_TXT
    if "redirection" in message or "redirect" in message:
        return TOO_MANY_REDIRECTS
    if "download_maxsize" in message or "maxsize" in message:
        return TOO_LARGE
    return "ignored"
