"""The CLI's human output in an 80-column terminal (a real pseudo-terminal) and piped:
no line wider than the terminal, no word cut across lines, nothing hard-wrapped when
piped, the demo's commands one line each, counts in the right number, and an empty
result as one line. Everything runs on the demo's database, made once by `framewatch
demo` in a terminal of 80 columns."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
QUOTES = "“”«»„\"'()."


def in_terminal(*args: str, columns: int = 80, cwd: Path | None = None) -> str:
    """`framewatch ARGS` with a pseudo-terminal of ``columns`` as its stdout and stderr;
    what it showed, escape codes removed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm-256color"}
    for name in ("NO_COLOR", "FORCE_COLOR", "FRAMEWATCH_CONFIG", "FRAMEWATCH_DATABASE_URL"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingest", *args],
        stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    shown = b""
    while True:
        ready, _, _ = select.select([master], [], [], 300)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0, shown.decode("utf-8", "replace")[-2000:]
    return ANSI.sub("", shown.decode("utf-8").replace("\r\n", "\n"))


def _words(text: str) -> set[str]:
    return {word.strip(QUOTES) for word in text.split()} - {""}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """(config, what `framewatch demo` showed in an 80-column terminal)."""
    out = tmp_path_factory.mktemp("terminal") / "demo"
    shown = in_terminal("demo", "--out", str(out))
    yield out / "framewatch.toml", shown


def _fits(shown: str, columns: int = 80) -> None:
    wide = [line for line in shown.splitlines() if len(line) > columns]
    assert not wide, wide[:3]


def test_the_demo_fits_and_its_commands_are_one_line_each(demo: tuple[Path, str]) -> None:
    config, shown = demo
    after = shown.split("next, try:\n", 1)[1].splitlines()
    commands = [line for line in after if line.strip()]
    assert len(commands) == 7
    assert all(line.startswith(f"  framewatch --config {config} ") for line in commands)
    assert commands[-1].endswith("# then open http://127.0.0.1:8080/")
    assert "crawling 2 sites at once in one crawl process" in shown


def test_flags_at_80_columns_show_every_word_whole_with_the_evidence(
    demo: tuple[Path, str],
) -> None:
    config, _ = demo
    records = [
        json.loads(line)
        for line in run_cli("--config", str(config), "flags", "--format", "jsonl").out.splitlines()
    ]
    assert len(records) >= 10
    shown = in_terminal("--config", str(config), "flags")
    _fits(shown)
    assert len(shown.splitlines()) < 10 * len(records)  # was 559 lines for 30 flags
    assert shown.startswith(f"{len(records)} flags, newest on the timeline first\n")
    lines = set(shown.splitlines())
    words = _words(shown)
    for r in records:
        tokens = [f"#{r['id']}", r["kind"], r["first_seen_at"][:10], r["frame"] or r["phrase"]]
        head = next(line for line in lines if line.startswith(f"#{r['id']} "))
        assert all(token in head.split() for token in tokens[:3]), head
        assert _words(r["statistic"]) <= words  # no word cut across two lines
        assert _words(r["evidence"][0]) <= words  # the evidence sentence is shown
        assert (r["frame"] or r["phrase"]) in shown and r["source"] in shown


@pytest.mark.parametrize(
    "command",
    [("sources",), ("frames",), ("clusters",), ("search", "belarus OR беларус*"), ("status",)],
)
def test_other_tables_fit_80_columns(demo: tuple[Path, str], command: tuple[str, ...]) -> None:
    config, _ = demo
    shown = in_terminal("--config", str(config), *command)
    _fits(shown)
    piped = run_cli("--config", str(config), *command, env={"COLUMNS": "80"})
    assert piped.code == 0
    if command == ("status",):  # a few lines, then the failing sources' header and rows
        rows = "\n".join(line for line in piped.out.splitlines() if not line.startswith("source"))
    else:  # each table: (a title when it is not the first,) a header line, then its rows
        blocks = piped.out.replace("\nlast site crawls\n", "\n").split("\n\n")
        rows = " ".join(block.split("\n", 1)[-1] for block in blocks)
    assert _words(rows.replace(" / ", " ")) - {"—"} <= _words(shown)  # no word cut in the terminal


def test_wide_terminals_get_a_table_and_pipes_get_one_line_per_row(
    demo: tuple[Path, str],
) -> None:
    config, _ = demo
    wide = in_terminal("--config", str(config), "flags", "--limit", "3", columns=220)
    _fits(wide, 220)
    assert "┃ kind" in wide.replace("  ", " ") or "kind" in wide.splitlines()[2]
    piped = run_cli("--config", str(config), "flags", env={"COLUMNS": "80"}).out.splitlines()
    records = run_cli("--config", str(config), "flags", "--format", "jsonl").out.splitlines()
    assert len(piped) == len(records) + 1  # a header, then one line per flag: no wrapping
    assert piped[0].split()[:3] == ["id", "kind", "first"]
    first = json.loads(records[0])
    assert first["statistic"] in piped[1] and first["evidence"][0] in piped[1]


def test_counts_are_in_the_right_number_and_empty_results_are_one_line(
    demo: tuple[Path, str],
) -> None:
    config, _ = demo
    one = in_terminal("--config", str(config), "flags", "--limit", "1")
    assert one.startswith("1 flag, newest on the timeline first\n")
    for command, line in (
        (("flags", "--status", "dismissed"), "no flags\n"),
        (("search", "zzzqqxx"), "no matches\n"),
        (("clusters", "--since", "2099-01-01"), "no clusters\n"),
    ):
        assert run_cli("--config", str(config), *command).out == line
        assert in_terminal("--config", str(config), *command).startswith(line)
