"""`serve`: the read-only HTTP API and web page (FastAPI on uvicorn)."""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket

import click

from ingest.cli.app import console, err_console, main, settings_of
from ingest.model.errors import FramewatchError

MIN_TOKEN_CHARS = 16


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def token_problem(host: str, token: str | None) -> str | None:
    """Why serving ``host`` with ``token`` is refused, or None."""
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        return f"the token must have at least {MIN_TOKEN_CHARS} characters"
    if token is None and not is_loopback(host):
        return (
            f"a bearer token is required to serve on {host} (not a loopback address): "
            "give --token or set FRAMEWATCH_API_TOKEN"
        )
    return None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option(
    "--token",
    envvar="FRAMEWATCH_API_TOKEN",
    default=None,
    help="Bearer token required on every request (env FRAMEWATCH_API_TOKEN); "
    "mandatory when --host is not a loopback address.",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, token: str | None) -> None:
    """Serve the read-only HTTP API (OpenAPI at /openapi.json) and the web page at /."""
    token = token or None
    problem = token_problem(host, token)
    if problem:
        err_console.print(f"framewatch: error: {problem}", markup=False, soft_wrap=True)
        ctx.exit(2)
    settings = settings_of(ctx)
    import uvicorn

    from ingest.web.api import create_app

    app = create_app(settings, token)
    sock = listen(host, port)  # before saying "serving on": a busy port is one line
    shown = f"[{host}]" if ":" in host else host
    auth = "bearer token required" if token else "no token (loopback only)"
    console.print(f"serving on http://{shown}:{port}/ (read-only; {auth})", markup=False)
    configure_access_log()
    config = uvicorn.Config(app, log_level="warning", server_header=False, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; a busy port or an address this machine does not
    have is one FramewatchError line saying what to do."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            reason = "the port is in use (another `framewatch serve`?); stop it or pick --port"
        raise FramewatchError(f"cannot listen on {host}:{port}: {reason}") from None
    sock.set_inheritable(True)
    return sock


def configure_access_log() -> None:
    """One line per request on stderr (``ingest.web.api``'s access log), whatever -v says."""
    from ingest.web.edge import ACCESS_LOGGER

    log = logging.getLogger(ACCESS_LOGGER)
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
