"""Writing daily digests: gather a story's day from the store, render it, write the files
and the Atom feed of digests, record it in ``digests`` and, when configured, e-mail it.

The service calls :func:`run_daily_digest` at start and every day at ``digest_at``; it
writes each story's due digest once (a digest missed while the service was down is
written at the next start, and a restart repeats nothing) and e-mails it once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ingest.config.settings import Settings
from ingest.digest.health import LOOKBACK_DAYS
from ingest.digest.mail import build_message, send_message
from ingest.digest.render import digest_summary, render_atom, render_html, render_markdown
from ingest.digest.views import CHART_DAYS, day_bounds, local_day
from ingest.model.digest import DigestArticle, DigestData, FeedEntry
from ingest.model.errors import DeliveryError
from storage import collection, digests, outages
from storage.db import unit_of_work

log = logging.getLogger(__name__)

FORMATS = {"html": ("html",), "md": ("md",), "both": ("html", "md")}
FEED_NAME = "digests.xml"
FEED_ENTRIES = 100
CATCH_UP_DAYS = 7  # a service down for longer writes only the last week's digests


@dataclass(frozen=True)
class WrittenDigest:
    story: str
    day: date
    paths: tuple[Path, ...]
    summary: str
    articles: int
    digest_id: int


def default_out_dir(settings: Settings) -> Path:
    """``[digest] out_dir`` (relative to the config file), else ``digests/`` beside the
    SQLite database, else (PostgreSQL) ``digests/`` beside the config file. Never the
    working directory: a service started by systemd runs in ``/``."""
    if settings.digest.out_dir:
        path = Path(settings.digest.out_dir).expanduser()
        base = settings.config_dir
        return path if path.is_absolute() or base is None else base / path
    url = make_url(settings.database.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).expanduser().resolve().parent / "digests"
    return (settings.config_dir or Path.cwd()) / "digests"


def yesterday(settings: Settings, now: datetime) -> date:
    return now.astimezone(ZoneInfo(settings.schedule.timezone)).date() - timedelta(days=1)


def due_day(settings: Settings, now: datetime) -> date:
    """The latest day whose digest is due: yesterday once ``digest_at`` has passed today,
    else the day before."""
    local = now.astimezone(ZoneInfo(settings.schedule.timezone))
    hour, minute = (int(part) for part in settings.schedule.digest_at.split(":"))
    passed = (local.hour, local.minute) >= (hour, minute)
    return local.date() - timedelta(days=1 if passed else 2)


def file_stem(story: str, day: date) -> str:
    return f"{day.isoformat()}-{story}"


# -- gathering ------------------------------------------------------------------------------


def gather(
    session: Session, story: str, day: date, tz: ZoneInfo, written_at: datetime
) -> DigestData:
    """The digest's data as the store holds it; ``written_at`` bounds the late arrivals."""
    start, end = day_bounds(day, tz)
    history_start, _ = day_bounds(day - timedelta(days=CHART_DAYS - 1), tz)
    lookback, _ = day_bounds(day - timedelta(days=LOOKBACK_DAYS), tz)
    return DigestData(
        story=story,
        day=day,
        timezone=tz.key,
        written_at=written_at,
        articles=tuple(digests.day_articles(session, story, start, end)),
        history=tuple(digests.history(session, story, history_start, end)),
        flags=tuple(digests.day_flags(session, story, start, end)),
        late=late_arrivals(session, story, day, tz, written_at),
        failures=tuple(collection.source_failures(session, start, end)),
        activity=tuple(collection.source_activity(session, story, lookback, end, tz)),
        attempts=collection.attempts_between(session, start, end),
        outages=tuple(outages.outages_between(session, start, end)),
    )


def late_arrivals(
    session: Session, story: str, day: date, tz: ZoneInfo, cutoff: datetime
) -> tuple[DigestArticle, ...]:
    """Earlier days' articles fetched after their own day's digest was written, since the
    previous digest was written and until ``cutoff`` (this digest's first writing)."""
    after = digests.previous_written_at(session, story, day, cutoff)
    if after is None:
        return ()
    start, _ = day_bounds(day, tz)
    candidates = digests.fetched_between(session, story, start, after, cutoff)
    written = digests.written_times(session, story, {local_day(a.when, tz) for a in candidates})
    return tuple(
        a
        for a in candidates
        if (mark := written.get(local_day(a.when, tz))) is not None and a.fetched_at > mark
    )


# -- writing --------------------------------------------------------------------------------


def _write_atomically(path: Path, text: str) -> None:
    """Readers (a browser, a feed reader) never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_digest(
    settings: Settings,
    factory: sessionmaker[Session],
    story: str,
    day: date,
    out_dir: Path,
    fmt: str,
    now: datetime,
) -> WrittenDigest:
    """Write (or rewrite) one story's digest of ``day``, record it, refresh the feed."""
    tz = ZoneInfo(settings.schedule.timezone)
    out_dir = out_dir.resolve()
    with unit_of_work(factory) as session:
        row = digests.claim_digest(session, story, day, now)
        data = gather(session, story, day, tz, row.written_at)
        paths: dict[str, Path] = {}
        for kind in FORMATS[fmt]:
            paths[kind] = out_dir / f"{file_stem(story, day)}.{kind}"
            text = render_html(data) if kind == "html" else render_markdown(data)
            _write_atomically(paths[kind], text)
        html = str(paths["html"]) if "html" in paths else row.html_path
        md = str(paths["md"]) if "md" in paths else row.md_path
        summary = digest_summary(data)
        digests.record_files(session, row, html, md, len(data.articles), summary)
        written = WrittenDigest(
            story, day, tuple(paths.values()), summary, len(data.articles), row.id
        )
    write_feed(factory, out_dir)
    log.info("digest written: %s", summary, extra={"story": story})
    return written


def _entry_link(paths: Sequence[str | None], out_dir: Path) -> str | None:
    """The digest's file in ``out_dir`` (HTML first) as a relative link, else a file: URI."""
    files = [Path(p) for p in paths if p]
    local = [f for f in files if f.parent == out_dir]
    if local:
        return local[0].name
    return files[0].as_uri() if files else None


def write_feed(factory: sessionmaker[Session], out_dir: Path) -> Path:
    """``digests.xml``: an Atom entry for each digest written (ids stable across rewrites)."""
    out_dir = out_dir.resolve()
    with unit_of_work(factory) as session:
        rows = digests.list_digests(session, FEED_ENTRIES)
        links = [(row, _entry_link((row.html_path, row.md_path), out_dir)) for row in rows]
        entries = [
            FeedEntry(row.story, row.day, row.written_at, row.summary, link)
            for row, link in links
            if link is not None
        ]
    digest_of_dir = hashlib.sha256(str(out_dir).encode()).hexdigest()[:16]
    feed = render_atom(
        entries, f"tag:framewatch,2025:digests/{digest_of_dir}", "framewatch digests"
    )
    path = out_dir / FEED_NAME
    _write_atomically(path, feed)
    return path


# -- e-mail ---------------------------------------------------------------------------------


def send_digest(
    settings: Settings, factory: sessionmaker[Session], story: str, day: date, now: datetime
) -> bool:
    """E-mail a written digest unless it was sent before; True when it was sent now."""
    tz = ZoneInfo(settings.schedule.timezone)
    with unit_of_work(factory) as session:
        row = digests.get_digest(session, story, day)
        if row is None or row.sent_at is not None:
            return False
        data = gather(session, story, day, tz, row.written_at)
        message = build_message(settings.digest, data, render_html(data), render_markdown(data))
        digest_id = row.id
    send_message(settings.digest, message)
    with unit_of_work(factory) as session:
        digests.mark_sent(session, digest_id, now)
    return True


# -- the service's daily job ------------------------------------------------------------------


def pending_days(session: Session, story: str, due: date) -> list[date]:
    """Days to write: the due day, and the days since the story's last digest (at most a
    week back) that a stopped service missed."""
    last = digests.latest_day(session, story, until=due)
    if last is None:
        return [due]
    first = max(last + timedelta(days=1), due - timedelta(days=CATCH_UP_DAYS - 1))
    return [first + timedelta(days=n) for n in range((due - first).days + 1)]


def run_daily_digest(
    settings: Settings, factory: sessionmaker[Session], now: datetime
) -> list[Path]:
    """Write every story's due digest not written yet and e-mail it once when ``[digest]
    enabled``; returns the files written. Safe to call at start and at any time after."""
    out_dir = default_out_dir(settings)
    due = due_day(settings, now)
    written: list[Path] = []
    for story in settings.active_stories:
        with unit_of_work(factory) as session:
            days = pending_days(session, story.name, due)
        for day in days:
            written += write_digest(settings, factory, story.name, day, out_dir, "both", now).paths
        if settings.digest.enabled:
            _send_quietly(settings, factory, story.name, sorted({*days, due}), now)
    return written


def _send_quietly(
    settings: Settings,
    factory: sessionmaker[Session],
    story: str,
    days: Sequence[date],
    now: datetime,
) -> None:
    for day in days:
        try:
            send_digest(settings, factory, story, day, now)
        except DeliveryError as exc:  # retried at the next run while the day is still due
            log.error("digest not e-mailed: %s", exc, extra={"story": story})


def busiest_day(settings: Settings, factory: sessionmaker[Session], story: str) -> date | None:
    tz = ZoneInfo(settings.schedule.timezone)
    with unit_of_work(factory) as session:
        times = digests.timeline_times(session, story)
    days: dict[date, int] = {}
    for when in times:
        days[local_day(when, tz)] = days.get(local_day(when, tz), 0) + 1
    return min(days, key=lambda d: (-days[d], d)) if days else None


def write_busiest_digest(
    settings: Settings, factory: sessionmaker[Session], now: datetime | None = None
) -> WrittenDigest | None:
    """The first story's digest of its busiest day (the demo shows it)."""
    story = settings.active_stories[0].name
    day = busiest_day(settings, factory, story)
    if day is None:
        return None
    out_dir = default_out_dir(settings)
    return write_digest(settings, factory, story, day, out_dir, "both", now or datetime.now(UTC))


def show_demo_digest(settings: Settings, factory: sessionmaker[Session], console: Console) -> None:
    """The demo's last step: the digest of the demo story's busiest day, and where it is."""
    written = write_busiest_digest(settings, factory)
    if written is None:
        return
    console.print(
        f"\ndaily digest of the busiest day: {written.summary}", markup=False, soft_wrap=True
    )
    for path in written.paths:
        console.print(f"  {path}", markup=False, soft_wrap=True)
