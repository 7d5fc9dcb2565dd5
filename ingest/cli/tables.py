"""Tables for people, in any terminal and through a pipe, never cutting a word.

``show_rows`` prints rows one of three ways:

* a terminal wide enough for every token column whole (ids, kinds, dates, names: they
  never wrap) plus a readable width for the prose columns: a boxed table, prose wrapped
  at word boundaries;
* a narrower terminal (80 columns): a *card* per row: the row's head tokens on one line,
  the other tokens as ``name value`` pairs, each prose column as an indented paragraph;
* not a terminal (piped, redirected): plain lines, a header then one line per row,
  columns separated by two spaces, never wrapped (``--format json|jsonl|csv`` for
  programs).

No rows is one line (``no flags``), never an empty table. ``count`` spells a count with
its noun in the right number ("1 flag", "2 flags").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

PROSE_MIN = 36  # a prose column narrower than this reads badly: cards instead
PROSE_WORD_MAX = 40  # longer "words" (URLs) may be folded rather than widen the column
Cell = str | Text


@dataclass(frozen=True)
class Column:
    header: str
    prose: bool = False  # wraps at word boundaries; other columns are tokens, kept whole
    right: bool = False  # numbers
    head: bool = False  # in a card: on the first line, without its header


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``count(1, "flag")`` -> "1 flag"; ``count(2, "match", "matches")`` -> "2 matches"."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def _text(cell: Cell) -> Text:
    return cell.copy() if isinstance(cell, Text) else Text(cell)


def _widest_line(text: Text) -> int:
    return max((cell_len(line) for line in text.plain.split("\n")), default=0)


def _widest_word(text: Text) -> int:
    return max((cell_len(word) for word in text.plain.split()), default=0)


def table_width(columns: Sequence[Column], rows: Sequence[Sequence[Text]]) -> int:
    """The width a boxed table needs: every token column whole, prose at its least."""
    width = 1  # the last border
    for index, column in enumerate(columns):
        cells = [row[index] for row in rows]
        if column.prose:
            words = max((_widest_word(cell) for cell in cells), default=0)
            need = max(PROSE_MIN, min(words, PROSE_WORD_MAX), cell_len(column.header))
        else:
            need = max([cell_len(column.header), *(_widest_line(cell) for cell in cells)])
        width += need + 3  # one border and a space of padding on each side
    return width


def show_rows(
    console: Console,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    empty: str,
    titled: bool = False,
) -> None:
    """Print rows as a boxed table, cards or plain lines (see the module docstring).
    Plain lines have no title unless ``titled`` (a second table in the same output)."""
    if not rows:
        console.print(empty, markup=False, highlight=False, soft_wrap=True)
        return
    texts = [[_text(cell) for cell in row] for row in rows]
    if not console.is_terminal:
        if titled:
            console.print(title, markup=False, highlight=False, soft_wrap=True)
        _plain(console, columns, texts)
    elif table_width(columns, texts) <= console.width:
        _boxed(console, title, columns, texts)
    else:
        _cards(console, title, columns, texts)


def _boxed(
    console: Console, title: str, columns: Sequence[Column], rows: Sequence[Sequence[Text]]
) -> None:
    table = Table(title=title, title_justify="left", show_lines=any(c.prose for c in columns))
    for index, column in enumerate(columns):
        if column.prose:
            words = max((_widest_word(row[index]) for row in rows), default=0)
            least = max(PROSE_MIN, min(words, PROSE_WORD_MAX))
            table.add_column(column.header, min_width=least, ratio=1, overflow="fold")
        else:
            table.add_column(
                column.header, no_wrap=True, justify="right" if column.right else "left"
            )
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _cards(
    console: Console, title: str, columns: Sequence[Column], rows: Sequence[Sequence[Text]]
) -> None:
    console.print(Text(title, style="bold"))
    for row in rows:
        console.print()
        head = Text("  ").join(cell for column, cell in zip(columns, row, strict=True)
                               if column.head and cell.plain)  # fmt: skip
        console.print(head, style="bold")
        pairs = [
            Text.assemble((f"{column.header} ", "dim"), cell)
            for column, cell in zip(columns, row, strict=True)
            if not column.head and not column.prose and cell.plain not in ("", "—")
        ]
        _packed(console, pairs)
        for column, cell in zip(columns, row, strict=True):
            if column.prose and cell.plain not in ("", "—"):
                _indented(console, cell)


def _packed(console: Console, pairs: list[Text], indent: int = 2) -> None:
    """``name value`` pairs on as few lines as fit; a line never breaks inside a pair."""
    width = max(console.width - indent, 20)
    line = Text()
    for pair in pairs:
        if line.plain and cell_len(line.plain) + 2 + cell_len(pair.plain) > width:
            _indented(console, line, indent)
            line = Text()
        line = line + Text("  ") + pair if line.plain else pair
    if line.plain:
        _indented(console, line, indent)


def _indented(console: Console, text: Text, indent: int = 2) -> None:
    """``text`` wrapped at word boundaries within the terminal, each line indented."""
    for line in text.wrap(console, max(console.width - indent, 20), overflow="fold"):
        line.rstrip()
        console.print(Text(" " * indent) + line, soft_wrap=True, highlight=False)


def _plain(console: Console, columns: Sequence[Column], rows: Sequence[Sequence[Text]]) -> None:
    flat = [[Text(" / ").join(cell.split("\n")) for cell in row] for row in rows]
    headers = [Text(column.header) for column in columns]
    widths = [max(cell_len(r[i].plain) for r in [headers, *flat]) for i in range(len(columns))]
    for row in [headers, *flat]:
        line = Text()
        for index, (column, cell) in enumerate(zip(columns, row, strict=True)):
            last = index == len(columns) - 1
            pad = 0 if last else widths[index] - cell_len(cell.plain)
            if column.right:
                line.append(" " * pad)
            line.append_text(cell)
            if not column.right:
                line.append(" " * pad)
            if not last:
                line.append("  ")
        line.rstrip()
        console.print(line, soft_wrap=True, highlight=False)
