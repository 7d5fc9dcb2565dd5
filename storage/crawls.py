"""Site crawls in the store: crawl-run records and what a crawl already knows about links."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage import repo
from storage.models import CrawlRun, CrawlValidator, Source

RUNNING = "running"
FINISHED = "finished"
FAILED = "failed"
KILLED = "killed"


@dataclass(frozen=True)
class KnownLinks:
    """What the store knows about a batch of canonical article URLs."""

    stored: dict[str, int] = field(default_factory=dict)  # canonical URL -> article id
    rejected: frozenset[str] = frozenset()  # fetched before and matched no story
    sighted: frozenset[int] = frozenset()  # article ids this source has carried already

    def is_known(self, url: str) -> bool:
        """Stored or rejected: fetching the page again would change nothing."""
        return url in self.stored or url in self.rejected

    def is_carried(self, url: str) -> bool:
        """Stored and already seen from this very source."""
        return self.stored.get(url, -1) in self.sighted


def known_links(session: Session, source_id: int, canonical_urls: Iterable[str]) -> KnownLinks:
    """Which links are stored (by canonical URL, or by the URL this source had them under),
    which were rejected as off-story, and which stored ones this source already carries."""
    known = repo.known_entries(session, source_id, canonical_urls, by_link=True)
    return KnownLinks(known.stored, frozenset(known.rejected), frozenset(known.sighted))


def remember_rejected(
    session: Session, canonical_url: str, source_id: int, reason: str, now: datetime
) -> None:
    """A crawled page that can never be an article (no body, not HTML) joins the remembered
    off-story entries, so neither crawls nor feeds fetch it again."""
    repo.remember_seen(session, canonical_url, source_id, None, reason.replace("_", " "), now)


# --- listing and sitemap validators ---------------------------------------------------------

Validators = tuple[str | None, str | None]  # (ETag, Last-Modified)


def page_validators(session: Session, source_id: int) -> dict[str, Validators]:
    """The site's listing and sitemap URLs with the validators they were last seen with."""
    rows = session.execute(
        select(CrawlValidator.url, CrawlValidator.etag, CrawlValidator.last_modified).where(
            CrawlValidator.source_id == source_id
        )
    )
    return {url: (etag, modified) for url, etag, modified in rows}


def save_page_validators(
    session: Session,
    source_id: int,
    validators: Mapping[str, Validators],
    forget: Iterable[str],
    now: datetime,
) -> None:
    """Remember ``validators`` (replacing older ones of the same URLs) and forget those of
    ``forget``: pages whose links were not all followed, to be read whole next time."""
    urls = sorted(set(validators) | set(forget))
    for start in range(0, len(urls), 500):
        chunk = urls[start : start + 500]
        session.execute(
            delete(CrawlValidator).where(
                CrawlValidator.source_id == source_id, CrawlValidator.url.in_(chunk)
            )
        )
    session.add_all(
        CrawlValidator(source_id=source_id, url=url, etag=etag, last_modified=modified,
                       updated_at=now)
        for url, (etag, modified) in sorted(validators.items())
        if etag or modified
    )  # fmt: skip


# --- crawl runs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunStats:
    """What a finished run records: its counts, problems by kind and why it stopped."""

    pages: int = 0
    items: int = 0
    new_articles: int = 0
    errors: Mapping[str, int] = field(default_factory=dict)
    stop_reason: str | None = None


def start_run(session: Session, source_id: int, started_at: datetime) -> int:
    run = CrawlRun(
        source_id=source_id,
        started_at=started_at,
        status=RUNNING,
        pages=0,
        items=0,
        new_articles=0,
        errors={},
        duration_ms=0,
    )
    session.add(run)
    session.flush()
    return run.id


def set_pid(session: Session, run_id: int, pid: int) -> None:
    session.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(pid=pid))


def finish_run(
    session: Session,
    run_id: int,
    status: str,
    stats: RunStats,
    finished_at: datetime,
    duration_ms: int,
) -> None:
    session.execute(
        update(CrawlRun)
        .where(CrawlRun.id == run_id)
        .values(
            status=status,
            stop_reason=stats.stop_reason,
            pages=stats.pages,
            items=stats.items,
            new_articles=stats.new_articles,
            errors=dict(sorted(stats.errors.items())),
            finished_at=finished_at,
            duration_ms=duration_ms,
        )
    )


def abandon_stale_runs(
    session: Session, source_id: int, started_before: datetime, now: datetime
) -> int:
    """Runs still "running" that started before ``started_before`` (so past any time limit)
    lost their process with its parent; they are marked failed."""
    result: Any = session.execute(
        update(CrawlRun)
        .where(
            CrawlRun.source_id == source_id,
            CrawlRun.status == RUNNING,
            CrawlRun.started_at < started_before,
        )
        .values(
            status=FAILED, stop_reason="abandoned: the crawling process went away", finished_at=now
        )
    )
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class CrawlSummary:
    """A site's last crawl, for `framewatch sources`."""

    run_id: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    stop_reason: str | None
    pages: int
    items: int
    new_articles: int
    errors: dict[str, int]
    duration_ms: int
    last_success_at: datetime | None
    runs: int

    def as_record(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in vars(self).items()}


def last_crawls(session: Session) -> dict[str, CrawlSummary]:
    """Each crawled source's last run (by source name), with its last finished run's time."""
    latest = (
        select(CrawlRun.source_id, func.max(CrawlRun.id).label("run_id"))
        .group_by(CrawlRun.source_id)
        .subquery()
    )
    successes = dict(
        session.execute(
            select(CrawlRun.source_id, func.max(CrawlRun.finished_at))
            .where(CrawlRun.status == FINISHED)
            .group_by(CrawlRun.source_id)
        ).all()
    )
    counts = dict(
        session.execute(select(CrawlRun.source_id, func.count()).group_by(CrawlRun.source_id)).all()
    )
    rows = session.execute(
        select(Source.name, CrawlRun)
        .join(latest, latest.c.run_id == CrawlRun.id)
        .join(Source, Source.id == CrawlRun.source_id)
    ).all()
    return {
        name: _summary(run, successes.get(run.source_id), counts[run.source_id])
        for name, run in rows
    }


def _summary(run: CrawlRun, last_success_at: datetime | None, runs: int) -> CrawlSummary:
    return CrawlSummary(
        run_id=run.id,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        stop_reason=run.stop_reason,
        pages=run.pages,
        items=run.items,
        new_articles=run.new_articles,
        errors=dict(run.errors or {}),
        duration_ms=run.duration_ms,
        last_success_at=last_success_at,
        runs=runs,
    )
