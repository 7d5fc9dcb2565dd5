"""The story query language (shared by story relevance and search) and text folding.

Query language (``parse_query``)::

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary (["AND"] unary)*          adjacent items are ANDed
    unary    := "NOT" unary | primary            precedence: NOT > AND > OR
    primary  := word | word* | "a phrase" | "a phras*" | "a phrase"* | "(" or_expr ")"

Operators are uppercase (``and``/``or``/``not`` are plain words); quote an operator to
search for it. A word is any run of characters other than whitespace, ``(``, ``)`` and
``"``, and needs at least one letter or digit. ``*`` may only end a word or a phrase.

The AST is a contract for the SQLite FTS5 and PostgreSQL tsquery translators:

* ``Term.text`` and ``Phrase.words`` are as written (not folded). Inner punctuation is
  allowed (``U.S.``, ``в'язні``, ``pro-Kremlin``); matching treats such a word as a
  phrase of the folded tokens that ``fold_words`` returns for it.
* ``And`` and ``Or`` have two or more children and are never flattened, so
  ``parse_query(unparse(q)) == q``.
* ``NOT`` only narrows: a ``Not`` appears only as a child of an ``And`` that has a
  positive (non-``Not``) child, and never directly inside another ``Not``. So every
  ``And`` translates as ``positives NOT negatives`` (FTS5) or ``p & !n`` (tsquery).

Folding (``fold_text``), applied alike to queries and texts: NFC, casefold, Latin and
Greek letters lose their diacritics (é→e, ł→l, ż→z, ß→ss), Cyrillic ё→е and stress
accents are dropped, but й, ў and ї stay letters of their own (they are distinct letters,
not accented ones). A Latin ``i`` touching Cyrillic letters becomes Cyrillic ``і``
(Belarusian sites often type it so). Apostrophes (' ’ ʼ ‘) inside a word join it: the
token is the word without them (``сям'я`` → ``сямя``), and each part is also indexed at
the same position so ``Lukashenko's`` still matches ``Lukashenko``. Hyphens split words,
so ``pro-Kremlin`` matches the query words ``Kremlin`` and ``pro-Kremlin`` alike.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple, NoReturn, TypeAlias

from ingest.model.errors import QueryError

# --------------------------------------------------------------------------- the AST


class _Node:
    def __str__(self) -> str:
        return unparse(self)  # type: ignore[arg-type]  # every subclass is a Query


@dataclass(frozen=True)
class Term(_Node):
    """One word as written; ``prefix`` when it ended in ``*`` (``prisoner*``)."""

    text: str
    prefix: bool = False


@dataclass(frozen=True)
class Phrase(_Node):
    """Words that must appear in this order; ``prefix_last``: the last one ended in ``*``."""

    words: tuple[str, ...]
    prefix_last: bool = False


@dataclass(frozen=True)
class And(_Node):
    """All children match (two or more)."""

    children: tuple[Query, ...]


@dataclass(frozen=True)
class Or(_Node):
    """Any child matches (two or more)."""

    children: tuple[Query, ...]


@dataclass(frozen=True)
class Not(_Node):
    """The child does not match; only inside an ``And`` with a positive child."""

    child: Query


Query: TypeAlias = Term | Phrase | And | Or | Not


def unparse(query: Query) -> str:
    """The canonical query text; ``parse_query(unparse(q)) == q``."""
    match query:
        case Term(text, prefix):
            return text + "*" * prefix
        case Phrase(words, prefix_last):
            return '"' + " ".join(words) + "*" * prefix_last + '"'
        case Not(child):
            return "NOT " + _grouped(child, (And, Or))
        case And(children):
            return " AND ".join(_grouped(c, (And, Or)) for c in children)
        case Or(children):
            return " OR ".join(_grouped(c, (Or,)) for c in children)
    raise TypeError(f"not a query node: {query!r}")


def _grouped(node: Query, kinds: tuple[type, ...]) -> str:
    return f"({unparse(node)})" if isinstance(node, kinds) else unparse(node)


def leaf_label(leaf: Term | Phrase) -> str:
    """How a matched term is reported: as written, phrases without their quotes."""
    if isinstance(leaf, Term):
        return unparse(leaf)
    return " ".join(leaf.words) + "*" * leaf.prefix_last


# ----------------------------------------------------------------------- folding


def _mark_class() -> str:
    """Combining marks as a regex class body: word characters that ``\\w`` misses.

    BMP only: a class within the BMP compiles to one bitmap, several times faster.
    """
    ranges: list[tuple[int, int]] = []
    for cp in range(0x300, 0x10000):
        if unicodedata.category(chr(cp)) in ("Mn", "Mc", "Me"):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "".join(f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in ranges)


def _fold_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    # Latin and Greek letters only: Cyrillic й/ў/ї also decompose, but are letters.
    for lo, hi in ((0x00C0, 0x024F), (0x1E00, 0x1EFF), (0x0370, 0x03FF), (0x1F00, 0x1FFF)):
        for cp in range(lo, hi + 1):
            decomposed = unicodedata.normalize("NFD", chr(cp))
            base = "".join(c for c in decomposed if not unicodedata.combining(c))
            if base and base != chr(cp):
                table[cp] = base
    extra = {"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "ŀ": "l", "ŧ": "t"}
    extra |= {"æ": "ae", "œ": "oe", "ё": "е", "ѐ": "е", "ѝ": "и", "_": " "}
    table |= {ord(k): v for k, v in extra.items()}
    table |= {ord(c): "'" for c in "’ʼ‘`´ʹ′＇"}
    table |= {ord(c): None for c in "\u00ad\u200b\u2060\ufeff"}  # soft hyphen, zero widths
    return table


_FOLD = {chr(cp): value or "" for cp, value in _fold_table().items()}
_ASCII_FOLD = {ord(k): v for k, v in _FOLD.items() if k.isascii()}
_FOLDABLE = re.compile("[" + "".join(map(re.escape, _FOLD)) + "]")
_WORD_CLASS = r"\w" + _mark_class()
_WORD = re.compile(rf"[{_WORD_CLASS}]+(?:'[{_WORD_CLASS}]+)*")
# Marks NFC could not compose: drop any after a Latin letter, only stress after Cyrillic.
_ANY_MARK = re.compile(r"[\u0300-\u036f]")
_STRAY_MARKS = re.compile(r"(?<=[a-z])[\u0300-\u036f]+|(?<=[\u0400-\u04ff])[\u0300\u0301]+")
_MIXED_I = re.compile(r"[\u0400-\u04ff]i|i[\u0400-\u04ff]")
_LATIN_I = re.compile(r"(?<=[\u0400-\u04ff])i|i(?=[\u0400-\u04ff])")


def _fold_char(match: re.Match[str]) -> str:
    return _FOLD[match.group()]


def fold_text(text: str) -> str:
    """Case- and accent-insensitive form of ``text`` (see the module docstring)."""
    folded = unicodedata.normalize("NFC", text).casefold()
    if folded.isascii():
        return folded.translate(_ASCII_FOLD)  # CPython has a fast path for ASCII tables
    # The cheap searches first: each rewrite is a full scan, and most texts need few.
    folded = _FOLDABLE.sub(_fold_char, folded)
    if _ANY_MARK.search(folded):
        folded = _STRAY_MARKS.sub("", folded)
    if _MIXED_I.search(folded):
        folded = _LATIN_I.sub("\u0456", folded)
    return folded


def word_tokens(text: str) -> list[str]:
    """Folded words with inner apostrophes kept (``сям'я``); for indexing texts."""
    return _WORD.findall(fold_text(text))


def fold_words(text: str) -> list[str]:
    """The folded word tokens of ``text``, as a query word or phrase is matched."""
    return [token.replace("'", "") for token in _WORD.findall(fold_text(text))]


# ------------------------------------------------------------------------ lexing

_OPERATORS = frozenset({"AND", "OR", "NOT"})
_UNARY_START = frozenset({"TERM", "PHRASE", "(", "NOT"})
_MAX_DEPTH = 64  # parentheses; keeps the recursive parser far from the stack limit
_NEGATIVE = "NOT needs a positive term beside it (write: a AND NOT b)"


class _Token(NamedTuple):
    kind: str  # "(", ")", "AND", "OR", "NOT", "TERM", "PHRASE" or "END"
    pos: int
    node: Term | Phrase | None = None


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, i))
            i += 1
        elif char == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise QueryError("unterminated quote", text, i)
            star = text.startswith("*", end + 1)
            tokens.append(_Token("PHRASE", i, _phrase(text, i, end, star)))
            i = end + 1 + star
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '()"':
                j += 1
            tokens.append(_word(text, text[i:j], i))
            i = j
    tokens.append(_Token("END", n))
    return tokens


def _word(text: str, word: str, pos: int) -> _Token:
    if word in _OPERATORS:
        return _Token(word, pos)
    star = word.find("*")
    if star == 0:
        raise QueryError("'*' must follow a word", text, pos)
    if 0 < star < len(word) - 1:
        raise QueryError("'*' is only allowed at the end of a word", text, pos + star)
    stem = word.removesuffix("*")
    if not fold_words(stem):
        raise QueryError(f"{stem!r} has no letters or digits", text, pos)
    return _Token("TERM", pos, Term(stem, prefix=star > 0))


def _phrase(text: str, start: int, end: int, outer_star: bool) -> Phrase:
    body = text[start + 1 : end]
    chunks = [(m.group(), start + 1 + m.start()) for m in re.finditer(r"\S+", body)]
    stars = [start + 1 + m.start() for m in re.finditer(r"\*", body)]
    inner_star = bool(chunks) and chunks[-1][0].endswith("*")
    misplaced = stars[:-1] if inner_star else stars
    if misplaced:
        raise QueryError("'*' is only allowed at the end of a phrase", text, misplaced[0])
    if inner_star and outer_star:
        raise QueryError("'*' given twice", text, end + 1)
    if inner_star:
        chunks[-1] = (chunks[-1][0][:-1], chunks[-1][1])
    words = tuple(chunk for chunk, _ in chunks if fold_words(chunk))
    if not words:
        raise QueryError("empty phrase", text, start)
    if (inner_star or outer_star) and not fold_words(chunks[-1][0]):
        raise QueryError("'*' must follow a word", text, stars[-1] if inner_star else end + 1)
    return Phrase(words, prefix_last=inner_star or outer_star)


# ----------------------------------------------------------------------- parsing

_Parsed: TypeAlias = tuple[Query, int]  # a node and where its text starts


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _lex(text)
        self.index = 0
        self.depth = 0

    def fail(self, message: str, pos: int) -> NoReturn:
        raise QueryError(message, self.text, pos)

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        self.index += 1
        return self.tokens[self.index - 1]

    def need_operand(self, operator: _Token) -> None:
        if self.peek().kind in ("END", ")"):
            self.fail(f"{operator.kind} needs a term after it", operator.pos)

    def query(self) -> Query:
        if not self.text.strip():
            self.fail("empty query", 0)
        node, start = self.or_expr()
        if self.peek().kind == ")":
            self.fail("unmatched ')'", self.peek().pos)
        if isinstance(node, Not):
            self.fail(_NEGATIVE, start)
        return node

    def or_expr(self) -> _Parsed:
        parts = [self.and_expr()]
        while self.peek().kind == "OR":
            self.need_operand(self.take())
            parts.append(self.and_expr())
        if len(parts) == 1:
            return parts[0]
        for node, start in parts:
            if isinstance(node, Not):
                self.fail(_NEGATIVE, start)
        return Or(tuple(node for node, _ in parts)), parts[0][1]

    def and_expr(self) -> _Parsed:
        parts = [self.unary()]
        while (token := self.peek()).kind == "AND" or token.kind in _UNARY_START:
            if token.kind == "AND":
                self.need_operand(self.take())
            parts.append(self.unary())
        if len(parts) == 1:
            return parts[0]
        if all(isinstance(node, Not) for node, _ in parts):
            self.fail(_NEGATIVE, parts[0][1])
        return And(tuple(node for node, _ in parts)), parts[0][1]

    def unary(self) -> _Parsed:
        token = self.peek()
        if token.kind != "NOT":
            return self.primary()
        self.take()
        self.need_operand(token)
        if self.peek().kind == "NOT":  # caught here, before recursing, for long NOT runs
            self.fail("NOT NOT is not allowed", self.peek().pos)
        child, start = self.unary()
        if isinstance(child, Not):  # NOT (NOT a)
            self.fail("NOT NOT is not allowed", start)
        return Not(child), token.pos

    def primary(self) -> _Parsed:
        token = self.take()
        if token.node is not None:
            return token.node, token.pos
        if token.kind in ("AND", "OR"):
            self.fail(f"{token.kind} needs a term before it", token.pos)
        if token.kind != "(":
            self.fail("unmatched ')'", token.pos)
        if self.peek().kind in (")", "END"):
            self.fail("empty parentheses" if self.peek().kind == ")" else "unclosed '('", token.pos)
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            self.fail("parentheses nested too deeply", token.pos)
        inner = self.or_expr()
        if self.peek().kind != ")":
            self.fail("unclosed '('", token.pos)
        self.take()
        self.depth -= 1
        return inner


def parse_query(text: str) -> Query:
    """Parse a story query; malformed input raises QueryError with the 0-based position."""
    return _Parser(text).query()
