"""The `framewatch` command line: a thin layer over the library.

``app`` holds the command group and the helpers every command shares; each command
family has its own module and registers itself on the group when imported:
``start`` (init, demo), ``feeds`` (poll, sources), ``crawl``, ``service`` (run, status),
``digest``, ``search``, ``export``, ``frames`` (frames, flags), ``clusters``, ``serve``;
``output`` writes the machine formats; ``outages`` tells the store's state apart from the
sources' (status, sources).

May import every other package of ``ingest`` (the CLI is an interface, the top layer).
"""

from ingest.cli import (  # noqa: F401  (each registers its commands on main)
    clusters,
    crawl,
    digest,
    export,
    feeds,
    frames,
    search,
    serve,
    service,
    start,
)
from ingest.cli.app import main

__all__ = ["main"]
