"""The web pages' query parameters, checked the way the CLI checks its options: a value
that is not allowed is a ``FilterError`` naming the allowed ones, never an empty page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from fastapi import Request

from ingest.config.settings import Settings
from ingest.model.errors import FilterError


def text_param(request: Request, name: str) -> str:
    value = request.query_params.get(name, "").strip()
    if "\x00" in value or len(value) > 200:
        raise FilterError(f"{name} is not a value framewatch stores")
    return value


def choice(request: Request, name: str, allowed: Sequence[str]) -> str | None:
    """One of ``allowed``, or None when the parameter is absent or blank."""
    value = text_param(request, name)
    if not value:
        return None
    if value not in allowed:
        raise FilterError(f"{name} {value!r} is not one of {', '.join(allowed)}")
    return value


def story_param(request: Request, settings: Settings) -> str:
    """``?story=``: a configured story; the first one when absent."""
    names = [s.name for s in settings.active_stories]
    return choice(request, "story", names) or names[0]


def day_param(request: Request, name: str) -> date | None:
    """A YYYY-MM-DD day, or None when absent."""
    value = text_param(request, name)
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or len(value) != 10:
        raise FilterError(f"{name} {value!r} is not a day (use YYYY-MM-DD)")
    return day
