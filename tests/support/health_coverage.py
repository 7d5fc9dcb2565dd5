"""Known collection health around a moment ``now`` (in Europe/Minsk, the default zone):

* ``steadywire`` (feed, western) carried an on-story item every 14 hours (12 a week) for
  four weeks, the last one 3.5 days before ``now``, and nothing since: silent;
* ``statefeed`` (feed, by_state) answered a poll 30 hours before ``now``, then failed
  with HTTP 503 20, 10 and 1 hours before it: failing since the first of those;
* ``flaky`` (feed, other) timed out 5 hours before ``now`` and answered 2 hours before;
* ``weekly`` (feed, other) carried one item a week and none for six days: not silent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from ingest.model.items import Article as ArticleItem
from ingest.model.items import StoryMatch
from ingest.pipeline.run import ingest_article
from storage import repo
from storage.db import unit_of_work

STORY = "belarus-prisoners"
SOURCES = [
    repo.SourceSpec("s", "feed", "https://s.example/", "western"),  # digest_coverage's
    repo.SourceSpec("steadywire", "feed", "https://steadywire.example/rss", "western"),
    repo.SourceSpec("statefeed", "feed", "https://statefeed.example/rss", "by_state"),
    repo.SourceSpec("flaky", "feed", "https://flaky.example/rss", "other"),
    repo.SourceSpec("weekly", "feed", "https://weekly.example/rss", "other"),
]


def _item(source: str, n: int, when: datetime) -> ArticleItem:
    url = f"https://{source}.example/news/{n}"
    text = (
        f"Report {n} from {source}: Belarus holds political prisoners; item {n} of the "
        f"series counts {n * 7 + 3} cases and {n % 5} new arrests in week {n // 12}."
    )
    return ArticleItem(
        url=url, canonical_url=url, source=source, outlet=f"{source}.example", fetched_at=when,
        title=f"{source} report {n} on Belarus", summary="", text=text, published_at=when,
        language="en",
    )  # fmt: skip


def _log(session: Session, source_id: int, when: datetime, outcome: str, status: int | None,
         error: str | None) -> None:  # fmt: skip
    repo.log_fetch(session, source_id=source_id, url="https://example.org/rss", kind="feed",
                   started_at=when, outcome=outcome, status_code=status, error=error)  # fmt: skip


def build(store: sessionmaker[Session], now: datetime) -> dict[str, int]:
    """Store the sources, their items and their fetch log; returns source ids by name."""
    with unit_of_work(store) as session:
        ids = repo.sync_sources(session, SOURCES, now - timedelta(days=40))
    match = [StoryMatch(STORY, ("belarus",))]
    steady = [now - timedelta(days=3, hours=12) - timedelta(hours=14 * k) for k in range(48)]
    weekly = [now - timedelta(days=6) - timedelta(days=7 * k) for k in range(4)]
    with unit_of_work(store) as session:
        for source, times in (("steadywire", steady), ("weekly", weekly)):
            for n, when in enumerate(times):
                ingest_article(session, _item(source, n, when), ids[source], match)
        state, flaky = ids["statefeed"], ids["flaky"]
        _log(session, state, now - timedelta(hours=30), "ok", 200, None)
        for hours in (20, 10, 1):
            error = "HTTP 503: https://statefeed.example/rss"
            _log(session, state, now - timedelta(hours=hours), "http_status", 503, error)
        feed = repo.feed_state(session, state)
        feed.last_polled_at, feed.last_success_at = (
            now - timedelta(hours=1),
            now - timedelta(hours=30),
        )
        feed.failing_since, feed.next_poll_at = now - timedelta(hours=20), now + timedelta(hours=1)
        feed.consecutive_errors = feed.error_count = 3
        feed.last_status, feed.last_error = "http_status", "HTTP 503: https://statefeed.example/rss"
        _log(session, flaky, now - timedelta(hours=5), "timeout", None, "timeout: flaky")
        _log(session, flaky, now - timedelta(hours=2), "ok", 200, None)
    return ids
