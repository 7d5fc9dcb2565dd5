"""`flags` (new framings to review) and `frames` (how each frame is used, rescoring)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click
from rich.text import Text

from ingest.cli.app import console, err_console, main, opened_store, settings_of
from ingest.cli.output import MACHINE_FORMATS, write_records
from ingest.cli.tables import Column, count, show_rows
from ingest.config.settings import Settings
from ingest.model.errors import ConfigError, NotFoundError
from ingest.model.flags import FLAG_KINDS
from storage import frames, usage
from storage.db import unit_of_work

KINDS = FLAG_KINDS
MAX_LIMIT = 10_000


def _check_story(settings: Settings, story: str | None) -> None:
    if story and story not in {s.name for s in settings.active_stories}:
        known = ", ".join(s.name for s in settings.active_stories)
        raise ConfigError(f"unknown story {story!r} (stories: {known})")


@main.group(invoke_without_command=True)
@click.option("--story", default=None, help="Only flags of this story.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS), help="Repeatable.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(frames.FLAG_STATUSES),
    help="Repeatable; default: all.",
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Only flags first seen on the timeline since this date (UTC).",
)
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=100, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", *MACHINE_FORMATS]), default="table")
@click.pass_context
def flags(
    ctx: click.Context,
    story: str | None,
    kinds: tuple[str, ...],
    statuses: tuple[str, ...],
    since: datetime | None,
    limit: int,
    fmt: str,
) -> None:
    """New framings on the story's timeline: list them, or review or dismiss one."""
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_of(ctx)
    _check_story(settings, story)
    since_utc = since.replace(tzinfo=UTC) if since else None
    with opened_store(settings) as factory, unit_of_work(factory) as session:
        rows = frames.list_flags(session, story, kinds, statuses, since_utc, limit)
        records = [frames.flag_record(f) for f in rows]
        voices = frames.flag_voices(session, rows)
    if fmt != "table":
        write_records(records, fmt, sys.stdout)
        return
    _print_flags(records, voices)


FLAG_COLUMNS = (
    Column("id", head=True, right=True),
    Column("kind", head=True),
    Column("first seen", head=True),
    Column("status", head=True),
    Column("frame"),
    Column("voice", prose=True),
    Column("source"),
    Column("score", right=True),
    Column("statistic", prose=True),
    Column("evidence", prose=True),
)


def _print_flags(records: list[dict[str, Any]], voices: dict[int, str]) -> None:
    rows = []
    for r in records:
        evidence = r["evidence"][0] if r["evidence"] else ""
        rows.append((
            f"#{r['id']}", r["kind"], r["first_seen_at"][:10], r["status"],
            r["frame"] or r["phrase"] or "—", voices.get(r["id"], "—"), r["source"] or "—",
            f"{r['score']:.1f}",
            r["statistic"], Text(f"“{evidence}”", style="italic") if evidence else "—",
        ))  # fmt: skip
    title = f"{count(len(rows), 'flag')}, newest on the timeline first"
    show_rows(console, title, FLAG_COLUMNS, rows, empty="no flags")


def _set_status(ctx: click.Context, flag_id: int, status: str, note: str | None) -> None:
    settings = settings_of(ctx)
    with opened_store(settings) as factory, unit_of_work(factory) as session:
        flag = session.get(frames.Flag, flag_id)
        if flag is None:
            raise NotFoundError(f"no flag with id {flag_id}; `framewatch flags` lists them")
        flag.status = status
        if note is not None:
            flag.note = note
    console.print(f"flag {flag_id}: {status}", markup=False)


@flags.command()
@click.argument("flag_id", type=int)
@click.option("--note", default=None, help="Why; kept with the flag.")
@click.pass_context
def review(ctx: click.Context, flag_id: int, note: str | None) -> None:
    """Mark a flag as reviewed."""
    _set_status(ctx, flag_id, "reviewed", note)


@flags.command()
@click.argument("flag_id", type=int)
@click.option("--note", default=None, help="Why; kept with the flag.")
@click.pass_context
def dismiss(ctx: click.Context, flag_id: int, note: str | None) -> None:
    """Dismiss a flag (recomputation keeps it dismissed)."""
    _set_status(ctx, flag_id, "dismissed", note)


@flags.command()
@click.pass_context
def recompute(ctx: click.Context) -> None:
    """Recompute every story's flags from its whole timeline (after each poll only the
    days from the earliest changed one are); reviews and notes are kept."""
    from ingest.flags.refresh import refresh_flags

    settings = settings_of(ctx)
    with opened_store(settings) as factory:
        added = refresh_flags(settings, factory, datetime.now(UTC), full=True)
    console.print(f"flags recomputed: {added} new", markup=False)


@main.group(name="frames", invoke_without_command=True)
@click.option("--story", default=None, help="Default: the first configured story.")
@click.option("--format", "fmt", type=click.Choice(["table", *MACHINE_FORMATS]), default="table")
@click.pass_context
def frames_group(ctx: click.Context, story: str | None, fmt: str) -> None:
    """Each frame's use by outlet and voice, its first user and its adopters."""
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_of(ctx)
    _check_story(settings, story)
    name = story or settings.active_stories[0].name
    with opened_store(settings) as factory, unit_of_work(factory) as session:
        rows = usage.frame_usage(session, name)
    if fmt != "table":
        write_records([vars(r) for r in rows], fmt, sys.stdout)
        return
    columns = (
        Column("frame", head=True),
        *(Column(voice, right=True) for voice in ("own", "quoted", "distanced", "outlets")),
        Column("first user"), Column("adopters", prose=True),
    )  # fmt: skip
    table = []
    for r in rows:
        first = f"{r.first_outlet} {r.first_seen_at[:10]}" if r.first_outlet else "—"
        adopters = ", ".join(f"{a['outlet']} {a['since'][:10]}" for a in r.adopters[:6])
        numbers = (r.own, r.quoted, r.distanced, r.outlets)
        table.append([r.frame, *map(str, numbers), first, adopters or "—"])
    title = f"frames of {name}: {count(len(table), 'frame')} in use"
    show_rows(console, title, columns, table, empty=f"no frames of {name} found yet")


@frames_group.command()
@click.pass_context
def rescore(ctx: click.Context) -> None:
    """Recompute stored frames after a codebook change, then the flags."""
    from ingest.flags.refresh import rescore as run_rescore

    settings = settings_of(ctx)
    with opened_store(settings) as factory:
        done = run_rescore(settings, factory, on_batch=lambda n: err_console.print(
            f"rescored {count(n, 'article')}", markup=False))  # fmt: skip
    console.print(f"{count(done, 'article')} rescored; flags recomputed", markup=False)


@frames_group.command()
@click.argument("flag_id", type=int)
@click.option("--as", "name", required=True, help="The new frame's name (a-z, 0-9, _).")
@click.pass_context
def promote(ctx: click.Context, flag_id: int, name: str) -> None:
    """Add an emerging phrase as a frame to the story's user codebook, then rescore."""
    from ingest.flags.refresh import promote_flag

    settings = settings_of(ctx)
    with opened_store(settings) as factory:
        done = promote_flag(settings, factory, flag_id, name)
    created = " (created; the story now uses it)" if done.created else ""
    console.print(
        f'flag {flag_id}: promoted "{done.phrase}" as frame {done.frame} in '
        f"{done.codebook}{created}; {count(done.rescored, 'article')} rescored, flags recomputed",
        markup=False,
    )
