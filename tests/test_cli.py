"""The CLI as a user runs it: subprocesses, exit codes and output."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from pathlib import Path

import click
import pytest

from ingest.cli import main
from ingest.demo.webfixture import FixtureServer
from storage.export import EXPORT_FIELDS
from tests.conftest import run_cli, write_config

README = Path(__file__).parent.parent / "README.md"


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    assert isinstance(main, click.Group)
    for name, command in main.commands.items():
        assert command.help, f"{name} has no help text"
        assert f"framewatch {name}" in readme, f"`framewatch {name}` is not in the README"
    result = run_cli("--help")
    assert result.code == 0
    for name in main.commands:
        assert name in result.out


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "framewatch"
    assert script.exists(), "pip install -e . should create the framewatch script"


def test_init_poll_export_sources(web: FixtureServer, database_url: str, tmp_path: Path) -> None:
    base = web.base_url
    config = write_config(
        tmp_path / "fw.toml",
        database_url,
        [
            {"name": "herald", "url": f"{base}/site/feed.xml", "fetch_articles": True},
            {"name": "broken", "url": f"{base}/site/not-a-feed.html"},
        ],
    )
    init = run_cli("--config", str(config), "init")
    assert init.code == 0, init.err
    assert "2 sources configured" in init.out

    poll = run_cli("--config", str(config), "poll")
    assert poll.code == 0, poll.err
    assert "4 new articles stored" in poll.out and "1 feed failing" in poll.out

    jsonl = run_cli("--config", str(config), "export", "--format", "jsonl")
    rows = [json.loads(line) for line in jsonl.out.splitlines()]
    assert len(rows) == 4
    assert all(tuple(row) == EXPORT_FIELDS for row in rows)
    assert {row["language"] for row in rows} >= {"en", "ru", "be"}
    assert all(row["stories"] == ["belarus-prisoners"] for row in rows)

    with_text = run_cli("--config", str(config), "export", "--with-text", "--format", "json")
    records = json.loads(with_text.out)
    assert all(len(r["text"]) == r["text_chars"] for r in records)

    csv_out = run_cli("--config", str(config), "export", "--format", "csv")
    parsed = list(csv.DictReader(io.StringIO(csv_out.out)))
    assert tuple(parsed[0]) == EXPORT_FIELDS and len(parsed) == 4
    assert json.loads(parsed[0]["stories"]) == ["belarus-prisoners"]

    sources = run_cli("--config", str(config), "sources")
    assert sources.code == 0
    assert re.search(r"broken.*failing since", sources.out)
    assert "HTML page" in sources.out
    machine = json.loads(run_cli("--config", str(config), "sources", "--format", "json").out)
    broken = next(s for s in machine if s["name"] == "broken")
    assert broken["status"] == "parse_error" and broken["consecutive_errors"] == 1


@pytest.mark.parametrize(
    ("config_text", "message"),
    [
        ("[fetch]\ntimeout = 3\n", "fetch.timeout: unknown key"),
        (
            "[[feeds]]\nname = 'x'\nurl = 'http://x/'\nfetch_articles = 'yes'\n",
            "feeds[0].fetch_articles",
        ),
        ("[[stories]]\nname = 's'\nquery = 'belarus AND (x'\n", "stories[0].query"),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path: Path, config_text: str, message: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(config_text)
    result = run_cli("--config", str(config), "init")
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err


def test_commands_on_an_uninitialised_database(tmp_path: Path) -> None:
    config = write_config(tmp_path / "fw.toml", f"sqlite:///{tmp_path / 'x.db'}", [])
    result = run_cli("--config", str(config), "export")
    assert result.code == 1 and "framewatch init" in result.err


def test_unknown_feed_name(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "fw.toml", f"sqlite:///{tmp_path / 'x.db'}", [{"name": "a", "url": "http://a/"}]
    )
    result = run_cli("--config", str(config), "poll", "--feed", "b")
    assert result.code == 2 and "no feed named 'b'" in result.err


def _bad_location(tmp_path: Path, kind: str) -> Path:
    if kind == "missing folder":
        return tmp_path / "nowhere" / "deeper" / "framewatch.db"
    if kind == "a file where the folder should be":
        (tmp_path / "plain-file").write_text("x")
        return tmp_path / "plain-file" / "framewatch.db"
    if kind == "not a database":
        (tmp_path / "notes.db").write_text("these are my notes, not a database\n" * 50)
        return tmp_path / "notes.db"
    return tmp_path  # a folder


@pytest.mark.parametrize(
    "kind",
    ["missing folder", "a file where the folder should be", "not a database", "a folder"],
)
def test_a_bad_database_location_is_one_line_naming_it(tmp_path: Path, kind: str) -> None:
    path = _bad_location(tmp_path, kind)
    env = {"FRAMEWATCH_DATABASE_URL": f"sqlite:///{path}"}
    for command in (["flags"], ["search", "belarus"], ["init"]):
        if kind == "missing folder" and command == ["init"]:
            continue  # init creates the folder: that location is fine for it
        result = run_cli(*command, cwd=tmp_path, env=env)
        assert result.code == 1, (command, result.err)
        assert result.err.startswith("framewatch: error: ") and result.err.count("\n") == 1
        assert str(path.parent if "folder should" in kind else path) in result.err
    assert not (tmp_path / "nowhere").exists()  # reading commands never create anything


def test_flags_review_of_an_unknown_id_says_it_does_not_exist(tmp_path: Path) -> None:
    env = {"FRAMEWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'fw.db'}"}
    assert run_cli("init", cwd=tmp_path, env=env).code == 0
    for verb in ("review", "dismiss"):
        result = run_cli("flags", verb, "9999", cwd=tmp_path, env=env)
        assert result.code == 2
        assert (
            result.err == "framewatch: error: no flag with id 9999; `framewatch flags` lists them\n"
        )


def test_serve_on_a_busy_port_fails_before_saying_it_serves(tmp_path: Path) -> None:
    import socket

    env = {"FRAMEWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'fw.db'}"}
    assert run_cli("init", cwd=tmp_path, env=env).code == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run_cli("serve", "--port", str(port), cwd=tmp_path, env=env, timeout=60)
    assert result.code == 1 and "serving on" not in result.out
    assert result.err == (
        f"framewatch: error: cannot listen on 127.0.0.1:{port}: the port is in use "
        "(another `framewatch serve`?); stop it or pick --port\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("flags", "--since", "2025-13-45"), "invalid value for '--since': '2025-13-45'"),
        (("flags", "--kind", "bogus"), "invalid value for '--kind': 'bogus' is not one of"),
        (("search",), "missing argument 'QUERY' (see `framewatch search --help`)"),
        (("search", "x", "--until", "someday"), "until 'someday' is not a date"),
        (("search", "x", "--limit", "-5"), "invalid value for '--limit': -5 is not in the range"),
        (("nope",), "no such command 'nope' (see `framewatch --help`)"),
    ],
)
def test_usage_errors_are_one_line_too(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    env = {"FRAMEWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'fw.db'}"}
    if args[0] == "search":
        assert run_cli("init", cwd=tmp_path, env=env).code == 0
    result = run_cli(*args, cwd=tmp_path, env=env)
    assert result.code == 2 and result.out == ""
    assert result.err.startswith("framewatch: error: ") and result.err.count("\n") == 1
    assert message in result.err
