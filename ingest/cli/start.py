"""`framewatch init` and `framewatch demo`: set up a database, or run the offline demo."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from ingest.cli.app import console, main, settings_of
from ingest.cli.tables import count
from storage import migrate
from storage.db import make_engine, make_session_factory


@main.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create or migrate the database and register the configured sources."""
    settings = settings_of(ctx)
    from ingest.sources.poll import sync_config_sources

    engine = make_engine(settings.database.url)
    try:
        migrate.upgrade(engine)
        ids = sync_config_sources(settings, make_session_factory(engine), datetime.now(UTC))
        revision = migrate.current_revision(engine)
    finally:
        engine.dispose()
    console.print(
        f"database ready at {engine.url.render_as_string()} (schema {revision}), "
        f"{count(len(ids), 'source')} configured",
        markup=False,
    )


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="framewatch-demo",
    show_default=True,
    help="Folder for the demo's database and config.",
)
@click.pass_context
def demo(ctx: click.Context, out: str) -> None:
    """Run the whole pipeline on the bundled offline sample news web."""
    from ingest.demo.run import run_demo

    run_demo(Path(out), console)
