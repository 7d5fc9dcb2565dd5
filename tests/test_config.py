from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ingest.config.settings import load_settings, parse_duration, settings_from_mapping
from ingest.model.errors import ConfigError

FEED = {"name": "f", "url": "https://example.org/rss.xml"}


def test_defaults_use_builtin_story_and_sqlite() -> None:
    settings = settings_from_mapping({})
    assert settings.database.url == "sqlite:///framewatch.db"
    assert [s.name for s in settings.active_stories] == ["belarus-prisoners"]
    assert settings.schedule.poll_interval == timedelta(minutes=15)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"databse": {}}, "databse: unknown key"),
        ({"fetch": {"timeout_s": "20"}}, "fetch.timeout_s:"),
        ({"fetch": {"max_bytes": 1.5}}, "fetch.max_bytes:"),
        ({"fetch": {"allow_private_addresses": "yes"}}, "fetch.allow_private_addresses:"),
        ({"feeds": [{"name": "f"}]}, "feeds[0].url: required key is missing"),
        ({"feeds": [{**FEED, "fetch_article": True}]}, "feeds[0].fetch_article: unknown key"),
        ({"feeds": [{**FEED, "group": "state"}]}, "feeds[0].group: unknown group 'state' ("),
        (
            {"sites": [{"name": "s", "start_urls": ["https://x/"], "group": "regional"}]},
            "sites[0].group: unknown group 'regional' (groups: by_independent, by_state, ",
        ),
        ({"groups": {"Regional": "press"}}, "groups: 'Regional' is not a group name"),
        ({"groups": {"regional": 1}}, "groups.regional: Input should be a valid string"),
        ({"feeds": [FEED, FEED]}, "duplicate name 'f'"),
        ({"feeds": [{**FEED, "url": "ftp://x"}]}, "feeds[0].url:"),
        ({"schedule": {"poll_every": "15 minutes"}}, "schedule.poll_every: expected a duration"),
        ({"schedule": {"timezone": "Mars/Olympus"}}, "schedule.timezone: unknown time zone"),
        ({"schedule": {"digest_at": "7am"}}, "schedule.digest_at:"),
        (
            {"sites": [{"name": "s", "start_urls": ["https://x/"], "article_pattern": "("}]},
            "sites[0].article_pattern: not a valid regular expression",
        ),
        ({"stories": [{"name": "s", "query": "(belarus AND"}]}, "stories[0].query:"),
    ],
)
def test_bad_values_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(data)
    assert message in str(info.value)


def test_int_timeout_is_accepted() -> None:
    assert settings_from_mapping({"fetch": {"timeout_s": 5}}).fetch.timeout_s == 5.0


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("6h", 21600), ("1d", 86400)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["0m", "15", "m", "1w", "-5m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_lookup_order_and_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = tmp_path / "a.toml"
    explicit.write_text('[database]\nurl = "sqlite:///a.db"\n')
    env_file = tmp_path / "b.toml"
    env_file.write_text('[database]\nurl = "sqlite:///b.db"\n')
    local = tmp_path / "framewatch.toml"
    local.write_text('[database]\nurl = "sqlite:///c.db"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FRAMEWATCH_DATABASE_URL", raising=False)
    monkeypatch.setenv("FRAMEWATCH_CONFIG", str(env_file))
    assert load_settings(explicit).database.url == "sqlite:///a.db"
    assert load_settings().database.url == "sqlite:///b.db"
    monkeypatch.delenv("FRAMEWATCH_CONFIG")
    assert load_settings().database.url == "sqlite:///c.db"
    monkeypatch.setenv("FRAMEWATCH_DATABASE_URL", "sqlite:///d.db")
    assert load_settings().database.url == "sqlite:///d.db"


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[database\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


def test_sample_config_is_valid() -> None:
    sample = Path(__file__).parent.parent / "framewatch.toml"
    settings = load_settings(sample)
    groups = {f.group for f in settings.feeds}
    assert {"by_state", "by_independent", "western"} <= groups
    assert len(settings.feeds) >= 10


def test_groups_from_the_config_extend_the_default_ones() -> None:
    """`[groups]` adds groups (with their camp, or none) and keeps the default story's."""
    data = {
        "groups": {"regional": "independent", "aggregator": ""},
        "feeds": [{**FEED, "group": "regional"}, {**FEED, "name": "g", "group": "aggregator"}],
    }
    settings = settings_from_mapping(data)
    assert [f.group for f in settings.feeds] == ["regional", "aggregator"]
    assert settings.group_camps["regional"] == "independent"
    assert settings.group_camps["aggregator"] == ""
    assert settings_from_mapping({}).group_camps == {
        "by_state": "state", "ru_state": "state", "by_independent": "independent",
        "ru_independent": "independent", "western": "western", "other": "",
    }  # fmt: skip
