"""Story-query ASTs as full-text queries: SQLite FTS5 MATCH text and PostgreSQL tsquery text.

Pure functions, no database. Every word a user typed ends up inside a quoted string of
the target syntax (FTS5 ``"..."`` with ``"`` doubled; tsquery ``'...'`` with ``'`` and
``\\`` doubled), so no text typed into search can add an operator, a column filter
(``title:``), ``NEAR(``, ``^`` or ``*``; the structure of the result comes only from the
AST. The result is then passed to the database as a bound parameter, never spliced into
SQL.

Folding. The SQLite index holds ``ingest.model.query.fold_text`` of each column (see
``storage.search_schema``), so :func:`to_fts5` folds every word the same way before
quoting it, and the FTS5 tokenizer then splits both sides alike. PostgreSQL folds both
sides inside the database (its ``framewatch_search`` text-search configuration uses
``unaccent``), so :func:`to_tsquery` only quotes.

Shapes (the AST contract of ``ingest.model.query``):

* ``Term``: FTS5 ``"word"`` / ``"word"*``; tsquery ``'word'`` / ``'word':*``.
* ``Phrase``: FTS5 ``"w1 w2 w3"*``; tsquery ``'w1' <-> 'w2' <-> 'w3':*``.
* ``And``: positives joined by ``AND``, then ``NOT (n)`` for each negative (FTS5's binary
  NOT); tsquery ``p1 & p2 & !(n)``.
* ``Or``: ``OR`` / ``|``. Every compound child is parenthesised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ingest.model.query import And, Not, Or, Phrase, Query, Term, fold_text

Fold = Callable[[str], str]


def _identity(text: str) -> str:
    return text


def leaves(query: Query) -> Iterator[Term | Phrase]:
    """The words and phrases of a query, left to right."""
    match query:
        case Term() | Phrase():
            yield query
        case Not(child):
            yield from leaves(child)
        case And(children) | Or(children):
            for child in children:
                yield from leaves(child)


def positive_leaves(query: Query) -> Iterator[Term | Phrase]:
    """The words and phrases whose presence makes a document match (not under a NOT)."""
    match query:
        case Term() | Phrase():
            yield query
        case And(children) | Or(children):
            for child in children:
                if not isinstance(child, Not):
                    yield from positive_leaves(child)


# --------------------------------------------------------------------------- FTS5


def fts5_string(text: str) -> str:
    """An FTS5 string literal: only ``"`` is special inside, and it is doubled."""
    return '"' + text.replace('"', '""') + '"'


def _fts5_leaf(leaf: Term | Phrase, fold: Fold) -> str:
    if isinstance(leaf, Term):
        return fts5_string(fold(leaf.text)) + "*" * leaf.prefix
    return fts5_string(" ".join(fold(word) for word in leaf.words)) + "*" * leaf.prefix_last


def to_fts5(query: Query, fold: Fold = fold_text) -> str:
    """FTS5 MATCH text for ``query``; words are folded with ``fold`` and quoted."""
    match query:
        case Term() | Phrase():
            return _fts5_leaf(query, fold)
        case Or(children):
            return " OR ".join(f"({to_fts5(child, fold)})" for child in children)
        case And(children):
            positives = [f"({to_fts5(c, fold)})" for c in children if not isinstance(c, Not)]
            negatives = [f" NOT ({to_fts5(c.child, fold)})" for c in children if isinstance(c, Not)]
            return " AND ".join(positives) + "".join(negatives)
        case Not():
            raise ValueError("a NOT outside an AND cannot be searched (see ingest.model.query)")
    raise TypeError(f"not a query node: {query!r}")


# ------------------------------------------------------------------------ tsquery


def tsquery_string(text: str) -> str:
    """A quoted tsquery lexeme: ``'`` and ``\\`` are the special characters; both doubled."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _tsquery_leaf(leaf: Term | Phrase, fold: Fold) -> str:
    if isinstance(leaf, Term):
        return tsquery_string(fold(leaf.text)) + ":*" * leaf.prefix
    words = [tsquery_string(fold(word)) for word in leaf.words]
    if leaf.prefix_last:
        words[-1] += ":*"
    return words[0] if len(words) == 1 else "(" + " <-> ".join(words) + ")"


def to_tsquery(query: Query, fold: Fold = _identity) -> str:
    """Text for PostgreSQL ``to_tsquery``; words are quoted (folding happens in the database)."""
    match query:
        case Term() | Phrase():
            return _tsquery_leaf(query, fold)
        case Or(children):
            return " | ".join(f"({to_tsquery(child, fold)})" for child in children)
        case And(children):
            parts = [
                f"!({to_tsquery(c.child, fold)})"
                if isinstance(c, Not)
                else f"({to_tsquery(c, fold)})"
                for c in children
            ]
            return " & ".join(parts)
        case Not():
            raise ValueError("a NOT outside an AND cannot be searched (see ingest.model.query)")
    raise TypeError(f"not a query node: {query!r}")


# -------------------------------------------------------------------- relaxing


def has_phrases(query: Query) -> bool:
    return any(isinstance(leaf, Phrase) and len(leaf.words) > 1 for leaf in leaves(query))


def relax(query: Query) -> Query | None:
    """A query without word positions that matches at least what ``query`` matches.

    Phrases become the AND of their words and negated parts are dropped (a NOT of a
    relaxed phrase would exclude too much). None when nothing positive is left. A GIN
    index answers such a query without reading any document; the exact query is then
    checked on the few candidates (see ``storage.search``).
    """
    match query:
        case Term():
            return query
        case Phrase(words, prefix_last):
            if len(words) == 1:
                return Term(words[0], prefix_last)
            terms = [Term(w) for w in words[:-1]] + [Term(words[-1], prefix_last)]
            return And(tuple(terms))
        case Or(children):
            relaxed = [relax(child) for child in children]
            if any(r is None for r in relaxed):
                return None
            return Or(tuple(r for r in relaxed if r is not None))
        case And(children):
            kept = [r for c in children if not isinstance(c, Not) and (r := relax(c))]
            return kept[0] if len(kept) == 1 else (And(tuple(kept)) if kept else None)
    return None
