"""The `framewatch` command group and what every command shares: settings, the store,
the fetcher, one error line per failure.

Errors become one line on stderr and a non-zero exit (2 for usage and query errors).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ingest import __version__
from ingest.config.settings import Settings, load_settings
from ingest.model.errors import (
    ConfigError,
    FilterError,
    FramewatchError,
    NotFoundError,
    QueryError,
)
from storage import migrate
from storage.db import make_engine, make_session_factory, one_line

PIPE_WIDTH = 100_000  # lines written to a pipe or file are never wrapped


def _stdout_console() -> Console:
    """A terminal's width and colours; piped or redirected, no hard line breaks at all
    (rich would wrap at 80 columns, or $COLUMNS, when stdout is not a terminal)."""
    terminal = Console(highlight=False)
    if terminal.is_terminal:
        return terminal
    return Console(highlight=False, soft_wrap=True, width=PIPE_WIDTH)


console = _stdout_console()
err_console = Console(stderr=True, highlight=False)


class FramewatchGroup(click.Group):
    """Turns framewatch's own errors, and click's usage errors, into one clear line and an
    exit code."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:  # a bad option value, a missing argument, ...
            err_console.print(f"framewatch: error: {usage_line(exc)}", markup=False,
                              soft_wrap=True)  # fmt: skip
            sys.exit(exc.exit_code)
        except click.Abort:
            err_console.print("framewatch: aborted", markup=False)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QueryError as exc:
            err_console.print(f"framewatch: error: {exc}", markup=False, soft_wrap=True)
            err_console.print(exc.pointer(), markup=False, soft_wrap=True)
            sys.exit(2)
        except ConfigError as exc:
            err_console.print(f"framewatch: config error: {exc}", markup=False, soft_wrap=True)
            sys.exit(2)
        except (FilterError, NotFoundError) as exc:
            err_console.print(f"framewatch: error: {exc}", markup=False, soft_wrap=True)
            sys.exit(2)
        except FramewatchError as exc:
            err_console.print(f"framewatch: error: {exc}", markup=False, soft_wrap=True)
            sys.exit(1)
        except DBAPIError as exc:  # a database error no command translated: still one line
            err_console.print(f"framewatch: error: {one_line(exc)}", markup=False, soft_wrap=True)
            sys.exit(1)


def usage_line(exc: click.ClickException) -> str:
    """click's error as one line, with where to read about the command."""
    message = " ".join(exc.format_message().split())
    message = (message[:1].lower() + message[1:]).rstrip(".")
    ctx = getattr(exc, "ctx", None)
    return f"{message} (see `{ctx.command_path} --help`)" if ctx else message


@click.group(cls=FramewatchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Config file (default: $FRAMEWATCH_CONFIG, else ./framewatch.toml).",
)
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.version_option(__version__, prog_name="framewatch")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """framewatch: follow a news story across outlets and languages and see how it is framed."""
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = {"config_path": config_path}


def settings_of(ctx: click.Context) -> Settings:
    """Load the settings once per invocation (so `--help` never needs a config)."""
    obj = ctx.find_root().obj
    if "settings" not in obj:
        obj["settings"] = load_settings(obj["config_path"])
    return obj["settings"]


@contextmanager
def opened_store(
    settings: Settings, check: bool = True, read_only: bool = False
) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database.url, read_only=read_only, must_exist=check)
    try:
        if check:
            migrate.require_current(engine)
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def iso(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "—"


def make_fetcher(settings: Settings) -> Any:
    from ingest.fetch.client import Fetcher

    f = settings.fetch
    return Fetcher(
        f.user_agent,
        f.timeout_s,
        f.max_bytes,
        f.allow_private_addresses,
        max_connections=max(8, f.concurrency * 2),
    )
