"""The errors framewatch raises, translated at the edge from library exceptions.

::

    FramewatchError
    ├── ConfigError            bad config file, key or value (names the key)
    ├── FetchError             a URL could not be fetched (carries the url)
    │   ├── FetchTimeout       connect/read timeout or total deadline
    │   ├── ResponseTooLarge   body over fetch.max_bytes (counted after decompression)
    │   ├── BlockedAddress     SSRF guard refused the address
    │   └── HTTPStatusError    4xx/5xx answer (carries status and Retry-After)
    ├── ParseError             bytes that are not a usable feed or page
    ├── QueryError             malformed story/search query (carries the position)
    ├── FilterError            a search filter value that is not allowed (says what is)
    ├── NotFoundError          an id or name that names nothing stored (flag, article)
    ├── SearchTimeout          a search ran past its deadline and was stopped
    ├── StorageError           database unreachable, schema out of date
    └── DeliveryError          a digest could not be e-mailed (SMTP)
"""

from __future__ import annotations


class FramewatchError(Exception):
    """Base of every error framewatch raises on purpose."""


class ConfigError(FramewatchError):
    """The configuration cannot be used; the message names the key."""


class FetchError(FramewatchError):
    """A URL could not be fetched."""

    kind = "fetch_error"

    def __init__(self, url: str, message: str = "") -> None:
        self.url = url
        super().__init__(f"{message or self.kind.replace('_', ' ')}: {url}")


class FetchTimeout(FetchError):
    kind = "timeout"


class ResponseTooLarge(FetchError):
    kind = "too_large"


class BlockedAddress(FetchError):
    kind = "blocked_address"


class HTTPStatusError(FetchError):
    kind = "http_status"

    def __init__(self, url: str, status: int, retry_after_s: float | None = None) -> None:
        self.status = status
        self.retry_after_s = retry_after_s
        super().__init__(url, f"HTTP {status}")


class ParseError(FramewatchError):
    """Bytes that are not a usable feed or article page."""

    kind = "parse_error"


class QueryError(FramewatchError):
    """A malformed query; ``position`` is the 0-based character offset of the problem."""

    def __init__(self, message: str, query: str, position: int) -> None:
        self.query = query
        self.position = position
        self.reason = message
        super().__init__(f"{message} at position {position}: {query!r}")

    def pointer(self) -> str:
        """The query with a caret under the offending character, for terminals."""
        return f"{self.query}\n{' ' * self.position}^"


class FilterError(FramewatchError):
    """A search filter value that is not allowed; the message says what is."""


class NotFoundError(FramewatchError):
    """An id that names nothing stored; the message says what to look at instead."""


class SearchTimeout(FramewatchError):
    """A search ran past its deadline and was stopped (the database was interrupted)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(
            f"the search took longer than {seconds:g} s and was stopped; "
            "narrow the query (fewer or longer words) or add filters"
        )


class StorageError(FramewatchError):
    """The database cannot be used (unreachable, or its schema is out of date)."""


class DeliveryError(FramewatchError):
    """A digest could not be e-mailed (SMTP refused, unreachable, or credentials missing)."""
