"""The one settings object: loaded from TOML once at the entry point and passed down.

Lookup order: ``--config PATH``, ``$FRAMEWATCH_CONFIG``, ``./framewatch.toml``, built-in
defaults. ``$FRAMEWATCH_DATABASE_URL`` overrides ``[database] url``. Unknown keys and
wrong types are a :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ingest.config.stories import BUILTIN_STORIES
from ingest.model.errors import ConfigError, QueryError

DEFAULT_CONFIG_NAME = "framewatch.toml"
DEFAULT_STORY = "belarus-prisoners"
# Outlet groups (a feed's or site's `group`) and the camp each belongs to: the camps a
# codebook's `typical_of` names, so flags can tell a frame crossing from one camp to
# another. `[groups]` in the config adds groups or changes a camp; "" is no camp.
DEFAULT_GROUPS = {
    "by_state": "state", "ru_state": "state", "by_independent": "independent",
    "ru_independent": "independent", "western": "western", "other": "",
}  # fmt: skip
_GROUP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str) -> timedelta:
    """'30s', '15m', '6h', '1d' -> timedelta; anything else raises ValueError."""
    match = _DURATION.match(value)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"expected a duration such as 30s, 15m, 6h or 1d, got {value!r}")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _arrays_as_tuples(cls, data: Any) -> Any:
        # TOML arrays arrive as lists; settings hold tuples so they stay immutable.
        if isinstance(data, dict):
            return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return data


class DatabaseSettings(_Section):
    url: str = "sqlite:///framewatch.db"


class StorySettings(_Section):
    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    query: str = Field(min_length=1)
    codebook: str = "builtin:belarus-prisoners"


class FeedSettings(_Section):
    name: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://")
    fetch_articles: bool = False
    group: str | None = None
    outlet: str | None = None  # shown in outputs; default: the article URL's host
    language: str | None = None  # hint when neither feed nor page declares one


class SiteSettings(_Section):
    name: str = Field(min_length=1)
    start_urls: tuple[str, ...] = ()
    sitemap_urls: tuple[str, ...] = ()
    article_pattern: str = ""
    group: str | None = None
    outlet: str | None = None
    language: str | None = None
    max_pages: int = Field(default=200, ge=1)
    max_depth: int = Field(default=3, ge=0)

    @field_validator("article_pattern")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _has_entry_point(self) -> SiteSettings:
        if not self.start_urls and not self.sitemap_urls:
            raise ValueError("a site needs start_urls or sitemap_urls")
        return self


class ScheduleSettings(_Section):
    poll_every: str = "15m"
    crawl_every: str = "6h"
    digest_at: str = Field(default="07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    timezone: str = "Europe/Minsk"

    @field_validator("poll_every", "crawl_every")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def poll_interval(self) -> timedelta:
        return parse_duration(self.poll_every)

    @property
    def crawl_interval(self) -> timedelta:
        return parse_duration(self.crawl_every)


class FetchSettings(_Section):
    user_agent: str = "framewatch/0.1 (+https://github.com/framewatch/framewatch)"
    timeout_s: float = Field(default=20, gt=0, le=600)
    max_bytes: int = Field(default=5_000_000, ge=1024)
    allow_private_addresses: bool = False
    concurrency: int = Field(default=8, ge=1, le=64)
    max_entries_per_feed: int = Field(default=500, ge=1)

    @field_validator("timeout_s", mode="before")
    @classmethod
    def _int_is_fine(cls, value: Any) -> Any:
        # TOML users write `timeout_s = 20`; strict mode would refuse an int for a float.
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


class CrawlSettings(_Section):
    """How site crawls behave (the spiders in ``spiders/``)."""

    time_limit: str = "30m"  # a crawl process still running after this is killed
    autothrottle: bool = True
    start_delay_s: float = Field(default=1.0, ge=0, le=60)  # AutoThrottle's first delay
    target_concurrency: float = Field(default=2.0, gt=0, le=64)  # AutoThrottle's aim per site
    retries: int = Field(default=2, ge=0, le=10)
    retry_backoff_s: float = Field(default=1.0, ge=0, le=600)  # doubles with each retry

    @field_validator("time_limit")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("start_delay_s", "target_concurrency", "retry_backoff_s", mode="before")
    @classmethod
    def _int_is_fine(cls, value: Any) -> Any:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def time_limit_s(self) -> float:
        return parse_duration(self.time_limit).total_seconds()


class DedupSettings(_Section):
    # Near-copies are looked for among articles dated within this window of each other.
    window: str = "30d"

    @field_validator("window")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def window_delta(self) -> timedelta:
        return parse_duration(self.window)


class DigestSettings(_Section):
    """The daily digest: where it is written and, optionally, whom it is mailed to."""

    out_dir: str | None = None  # default: digests/ beside the SQLite db, else the config
    enabled: bool = False  # mail each day's digest (the service sends it once per day)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username_env: str | None = None  # names of environment variables holding credentials
    password_env: str | None = None
    sender: str | None = None
    recipients: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> DigestSettings:
        if self.enabled:
            missing = [k for k in ("smtp_host", "sender") if not getattr(self, k)]
            if not self.recipients:
                missing.append("recipients")
            if missing:
                verb = "is" if len(missing) == 1 else "are"
                raise ValueError(f"e-mail is enabled but {', '.join(missing)} {verb} not set")
        return self


class Settings(_Section):
    database: DatabaseSettings = DatabaseSettings()
    stories: tuple[StorySettings, ...] = ()
    feeds: tuple[FeedSettings, ...] = ()
    sites: tuple[SiteSettings, ...] = ()
    schedule: ScheduleSettings = ScheduleSettings()
    fetch: FetchSettings = FetchSettings()
    crawl: CrawlSettings = CrawlSettings()
    dedup: DedupSettings = DedupSettings()
    digest: DigestSettings = DigestSettings()
    groups: dict[str, str] = Field(default_factory=dict)  # over DEFAULT_GROUPS
    source_path: str | None = Field(default=None, exclude=True)

    @field_validator("groups")
    @classmethod
    def _group_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, camp in value.items():
            if not _GROUP_NAME.match(name):
                raise ValueError(f"{name!r} is not a group name (a-z, 0-9, _ and -)")
            if camp and not _GROUP_NAME.match(camp):
                raise ValueError(f"{name}: {camp!r} is not a camp name (a-z, 0-9, _ and -)")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        for section in ("stories", "feeds", "sites"):
            names = [entry.name for entry in getattr(self, section)]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{section}: duplicate name {dupes[0]!r}")
        clash = {f.name for f in self.feeds} & {s.name for s in self.sites}
        if clash:
            raise ValueError(f"feeds and sites share the name {sorted(clash)[0]!r}")
        return self

    @property
    def group_camps(self) -> dict[str, str]:
        """Every outlet group a feed or site may name -> its camp ("" for none)."""
        return {**DEFAULT_GROUPS, **self.groups}

    @property
    def config_dir(self) -> Path | None:
        """Where relative paths in the config (codebooks) are resolved from."""
        return Path(self.source_path).resolve().parent if self.source_path else None

    @property
    def active_stories(self) -> tuple[StorySettings, ...]:
        """The configured stories, or the built-in default story when none is configured."""
        if self.stories:
            return self.stories
        return (builtin_story(DEFAULT_STORY),)

    def feed(self, name: str) -> FeedSettings:
        for feed in self.feeds:
            if feed.name == name:
                return feed
        known = ", ".join(f.name for f in self.feeds) or "none configured"
        raise ConfigError(f"no feed named {name!r} (feeds: {known})")

    def site(self, name: str) -> SiteSettings:
        for site in self.sites:
            if site.name == name:
                return site
        known = ", ".join(s.name for s in self.sites) or "none configured"
        raise ConfigError(f"no site named {name!r} (sites: {known})")


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith("function-") or part in {"tuple", "list"}:
            continue
        else:
            path += f".{part}" if path else part
    return path or "(top level)"


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind.endswith("_type"):
        return f"{message}, got {type(error['input']).__name__} {error['input']!r}"
    return message


def settings_from_mapping(data: Mapping[str, Any], origin: str = "config") -> Settings:
    """Validate a parsed TOML mapping; the first problem becomes a ConfigError."""
    try:
        settings = Settings.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{origin}: {_key_path(first['loc'])}: {_describe(first)}") from None
    _check_queries(settings, origin)
    _check_groups(settings, origin)
    return settings


def _check_groups(settings: Settings, origin: str) -> None:
    known = settings.group_camps
    for section in ("feeds", "sites"):
        for index, source in enumerate(getattr(settings, section)):
            if source.group is not None and source.group not in known:
                raise ConfigError(
                    f"{origin}: {section}[{index}].group: unknown group {source.group!r} "
                    f"(groups: {', '.join(sorted(known))}; add it to [groups] with its camp)"
                )


def _check_queries(settings: Settings, origin: str) -> None:
    from ingest.model.query import parse_query

    for index, story in enumerate(settings.stories):
        try:
            parse_query(story.query)
        except QueryError as exc:
            raise ConfigError(f"{origin}: stories[{index}].query: {exc}") from None


def resolve_config_path(explicit: str | os.PathLike[str] | None) -> Path | None:
    """Which config file applies: the explicit path, $FRAMEWATCH_CONFIG, ./framewatch.toml."""
    if explicit:
        return Path(explicit)
    if env := os.environ.get("FRAMEWATCH_CONFIG"):
        return Path(env)
    local = Path(DEFAULT_CONFIG_NAME)
    return local if local.exists() else None


def load_settings(explicit: str | os.PathLike[str] | None = None) -> Settings:
    """Load, validate and apply environment overrides. Raises ConfigError."""
    path = resolve_config_path(explicit)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if env_url := os.environ.get("FRAMEWATCH_DATABASE_URL"):
        data = {**data, "database": {**data.get("database", {}), "url": env_url}}
    settings = settings_from_mapping(data, origin=str(path) if path else "defaults")
    return settings.model_copy(update={"source_path": str(path) if path else None})


def builtin_story(name: str) -> StorySettings:
    """The built-in story ``name`` with its query and built-in codebook."""
    return StorySettings(name=name, query=BUILTIN_STORIES[name], codebook=f"builtin:{name}")
