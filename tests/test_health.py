"""Collection health: the "silent against its usual rate" rule (pure, with a property
test), failures read from the fetch log (SQLite and PostgreSQL), and the digest's
section saying which sources failed that day and which went silent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from ingest.config.settings import settings_from_mapping
from ingest.digest.health import (
    SILENCE_EXPECTED,
    collection_health,
    judge_silence,
    plain_error,
    silent_sources,
)
from ingest.digest.job import write_digest
from ingest.model.health import SourceActivity, SourceFailure
from storage import collection
from storage.db import unit_of_work
from tests.support import health_coverage as hc

DAY = date(2025, 9, 20)
# 22:00 in Minsk on DAY: every failure of the coverage falls on DAY there.
NOW = datetime(2025, 9, 20, 19, tzinfo=UTC)
TZ = ZoneInfo("Europe/Minsk")


def activity(per_day: dict[date, int], first_day: date = date(2025, 7, 1)) -> SourceActivity:
    return SourceActivity("wire", "feed", "western", first_day, tuple(sorted(per_day.items())))


def every_day(until: date, days: int, n: int = 1) -> dict[date, int]:
    return {until - timedelta(days=k): n for k in range(days)}


def dozen_a_week(until: date) -> dict[date, int]:
    """12 items a week for four weeks: 2 a day on five days of seven, 1 on two."""
    return {until - timedelta(days=k): (1 if k % 7 in (0, 3) else 2) for k in range(28)}


def test_a_dozen_a_week_and_three_empty_days_is_silent() -> None:
    last = DAY - timedelta(days=3)
    silent = judge_silence(activity(dozen_a_week(last)), DAY)
    assert silent is not None
    assert (silent.silent_days, silent.last_item, silent.per_week) == (3, last, 12.0)
    assert silent.expected >= SILENCE_EXPECTED
    two_days = judge_silence(activity(dozen_a_week(DAY - timedelta(days=2))), DAY)
    assert two_days is None  # 3.4 expected: nothing in two days can be chance


def test_slower_sources_need_longer_silences() -> None:
    daily = activity(every_day(DAY - timedelta(days=3), 28))
    assert judge_silence(daily, DAY) is None  # 3 expected
    silent = judge_silence(activity(every_day(DAY - timedelta(days=5), 28)), DAY)
    assert silent is not None and silent.silent_days == 5 and silent.per_week == 7.0
    weekly = activity({DAY - timedelta(days=7 * k + 6): 1 for k in range(4)})
    assert judge_silence(weekly, DAY) is None


def test_what_cannot_be_judged_is_not_silent() -> None:
    assert judge_silence(activity({}), DAY) is None  # never carried anything
    new = activity(every_day(DAY - timedelta(days=4), 4, 10), first_day=DAY - timedelta(days=7))
    assert judge_silence(new, DAY) is None  # followed for 4 days: no usual rate yet
    today = activity(dozen_a_week(DAY))
    assert judge_silence(today, DAY) is None


@given(
    counts=st.lists(st.integers(0, 6), min_size=1, max_size=40),
    quiet=st.integers(0, 12),
)
def test_silence_only_grows_with_empty_days(counts: list[int], quiet: int) -> None:
    """Once silent, a source stays silent on every further empty day, and a source that
    carried something in the last MIN_SILENT_DAYS - 1 days is never silent."""
    last = DAY - timedelta(days=quiet)
    per_day = {last - timedelta(days=k): n for k, n in enumerate(counts) if n}
    source = activity(per_day)
    silent_today = judge_silence(source, DAY)
    if silent_today is not None:
        assert judge_silence(source, DAY + timedelta(days=1)) is not None
        assert silent_today.silent_days >= 2
    if per_day and (DAY - max(per_day)).days < 2:
        assert silent_today is None


def test_a_failing_source_is_listed_as_failed_not_silent() -> None:
    wire = activity(dozen_a_week(DAY - timedelta(days=4)))
    failure = SourceFailure("wire", "feed", "western", 3, 3, NOW, "http_status", "HTTP 503")
    health = collection_health([failure], [wire], DAY)
    assert health.failed == (failure,) and health.silent == () and not health.ok
    assert [s.name for s in silent_sources([wire], DAY)] == ["wire"]
    recovered = SourceFailure("a", "feed", None, 1, 2, NOW - timedelta(days=2), "timeout", None,
                              recovered_at=NOW)  # fmt: skip
    ordered = collection_health([recovered, failure], [], DAY).failed
    assert ordered == (failure, recovered)  # still failing first


def test_errors_in_plain_words() -> None:
    assert plain_error("http_status", 404) == "the address is gone (not found) (HTTP 404)"
    assert plain_error("http_status", 503) == "the server had an error (HTTP 503)"
    assert plain_error("http_status", 418) == "the server refused the request (HTTP 418)"
    assert plain_error("timeout") == "the server did not answer in time"
    assert plain_error("parse_error") == "the answer is not a feed framewatch can read"
    assert plain_error("killed").startswith("the crawl ran past")
    assert plain_error("something_new") == "something new"


# -- from the store ------------------------------------------------------------------------


def test_failures_and_activity_from_the_store(store: sessionmaker[Session]) -> None:
    hc.build(store, NOW)
    with unit_of_work(store) as session:
        failures = {f.name: f for f in collection.source_failures(session, NOW - timedelta(1), NOW)}
        earlier = collection.source_failures(session, NOW - timedelta(days=3), NOW - timedelta(1))
        start = NOW - timedelta(days=60)
        carried = {a.name: a for a in collection.source_activity(session, hc.STORY, start, NOW, TZ)}
    assert set(failures) == {"statefeed", "flaky"}
    state = failures["statefeed"]
    assert (state.failures, state.attempts, state.status_code) == (
        3,
        3,
        503,
    )  # the last success was 30 hours before
    assert state.since == NOW - timedelta(hours=20) and state.recovered_at is None
    assert failures["flaky"].recovered_at == NOW - timedelta(hours=2)
    assert earlier == []
    steady = carried["steadywire"]
    assert sum(n for _, n in steady.daily) == 48
    assert max(d for d, _ in steady.daily) == date(2025, 9, 17)
    assert carried["statefeed"].daily == ()


def test_the_digest_says_which_sources_failed_and_went_silent(
    store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    hc.build(store, NOW)
    settings = settings_from_mapping({"database": {"url": database_url}})
    written = write_digest(settings, store, hc.STORY, DAY, tmp_path, "both", NOW)
    html, md = (p.read_text(encoding="utf-8") for p in written.paths)
    section = md[md.index("## Collection health") : md.index("**A quiet day:**")]
    assert "**statefeed** (feed, by\\_state): the server had an error (HTTP 503); " in section
    assert "failing since 2025-09-20 02:00. Last error: HTTP 503:" in section
    assert "**flaky** (feed, other): the server did not answer in time; failed 1 of 2 polls, " \
           "answering again from 2025-09-20 20:00." in section  # fmt: skip
    assert "**steadywire** (feed, western): silent for 3 days. It usually carries 12.0" in section
    assert "carried none since 2025-09-17" in section and "weekly" not in section
    assert 'id="health"' in html and 'class="health failed"' in html
    assert 'class="health silent"' in html and "statefeed" in html
    assert written.summary.endswith("2 sources failed that day.")
    quiet = write_digest(settings, store, hc.STORY, DAY - timedelta(days=30), tmp_path, "md", NOW)
    text = quiet.paths[0].read_text(encoding="utf-8")
    assert "Collection: no polls or crawls recorded on the day." in text
