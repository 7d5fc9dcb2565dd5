"""Datasette-style list pages: every list is one page of rows with a count, page numbers
and a permalink, and the same rows as JSON or CSV at ``PATH.json`` / ``PATH.csv`` (or
``PATH?_format=json|csv``).

The helpers here are pure but for reading the request's path and parameters: a page's
route gathers its rows and hands them to :func:`respond` with the template to render.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ingest.model.errors import FilterError

FORMATS = ("html", "json", "csv")
MAX_PAGE = 10**6
MAX_SIZE = 1000


@dataclass(frozen=True)
class Listing:
    """One page of a list: where it is, its neighbours, and how to get it as data."""

    path: str  # the page's path, without a format suffix
    params: tuple[tuple[str, str], ...]  # the effective filters, defaults made explicit
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def first(self) -> int:
        """1-based number of the page's first row (0 when there are none)."""
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.size, self.total)

    def url(self, page: int | None = None, fmt: str = "html") -> str:
        suffix = "" if fmt == "html" else f".{fmt}"
        params = [(k, v) for k, v in self.params if v != ""]
        if page is not None and page > 1:
            params.append(("page", str(page)))
        query = urlencode(params)
        return f"{self.path}{suffix}" + (f"?{query}" if query else "")

    @property
    def permalink(self) -> str:
        return self.url(self.page)

    @property
    def numbers(self) -> list[int | None]:
        return page_numbers(self.page, self.pages)


def page_numbers(current: int, last: int, around: int = 2) -> list[int | None]:
    """The page numbers to show: the first, the last and ``around`` either side of the
    current one; None stands for the gap between them."""
    shown = sorted({1, last, *range(max(1, current - around), min(last, current + around) + 1)})
    result: list[int | None] = []
    for number in shown:
        if result and number - (result[-1] or 0) > 1:
            result.append(None)
        result.append(number)
    return result


def requested_format(request: Request) -> str:
    """html, json or csv: from the path's suffix, else ``?_format=``."""
    path = request.url.path
    for fmt in ("json", "csv"):
        if path.endswith(f".{fmt}"):
            return fmt
    wanted = request.query_params.get("_format", "html").strip().lower() or "html"
    if wanted not in FORMATS:
        raise FilterError(f"_format {wanted!r} is not one of {', '.join(FORMATS)}")
    return wanted


def number_param(request: Request, name: str, default: int, top: int) -> int:
    """A whole-number parameter in 1..top; anything else is a FilterError."""
    text = request.query_params.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= top:
        raise FilterError(f"{name} must be a whole number from 1 to {top}, got {text!r}")
    return int(text)


def listing_of(
    request: Request, path: str, params: Mapping[str, str], total: int, size: int
) -> Listing:
    """The request's page of a list of ``total`` rows (``?page=``, ``?_size=``)."""
    size = number_param(request, "_size", size, MAX_SIZE)
    page = number_param(request, "page", 1, MAX_PAGE)
    kept = dict(params)
    if "_size" in request.query_params:
        kept["_size"] = str(size)
    return Listing(path, tuple(kept.items()), total, page, size)


def _cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def plain_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows with dates as ISO text: what JSON and CSV carry."""
    return [{key: _cell(value) for key, value in row.items()} for row in rows]


def csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in plain_rows(rows):
        writer.writerow([_csv_cell(row.get(column)) for column in columns])
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def data_response(
    listing: Listing, fmt: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> Response:
    """The page's rows as JSON (with the count and the next page) or CSV."""
    name = listing.path.rstrip("/").rsplit("/", 1)[-1] or "rows"
    if fmt == "csv":
        return Response(
            csv_text(rows, columns),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'inline; filename="{name}.csv"'},
        )
    following = listing.page + 1 if listing.page < listing.pages else None
    body = {
        "total": listing.total, "page": listing.page, "pages": listing.pages,
        "size": listing.size, "permalink": listing.permalink,
        "next_url": listing.url(following, "json") if following else None,
        "rows": plain_rows(rows),
    }  # fmt: skip
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")


Endpoint = Callable[..., Any]


def list_route(router: APIRouter, path: str) -> Callable[[Endpoint], Endpoint]:
    """Register a list page at ``path``, ``path.json`` and ``path.csv``."""

    def register(endpoint: Endpoint) -> Endpoint:
        for suffix in ("", ".json", ".csv"):
            router.add_api_route(f"{path}{suffix}", endpoint, methods=["GET"])
        return endpoint

    return register
