"""A parsed query made cheap to run: repeats folded, covered alternatives dropped.

``simplify_query`` returns a query that matches exactly the same documents:

* nested ``And`` in ``And`` and ``Or`` in ``Or`` are flattened;
* children that fold to the same thing are kept once (``a* OR A* OR a*`` is ``a*``;
  ``Lukashenko AND lukashenko`` is ``Lukashenko``), compared as matching compares them
  (``fold_words``), so the first spelling written is the one kept;
* in an ``Or``, a word or prefix covered by a shorter prefix is dropped
  (``prisoner* OR prisoners OR prisoner*s`` is ``prisoner*``);
* an ``And`` or ``Or`` left with one child becomes that child.

A full-text engine expands every prefix term and highlights every term separately, so
300 repeats of ``a*`` used to cost 300 expansions; after this it costs one.
``distinct_leaves`` and ``prefix_leaves`` count what is left, for the caps search puts on
a query's cost (``ingest.web.searching``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator

from ingest.model.query import And, Not, Or, Phrase, Query, Term, fold_words

LeafKey = tuple[str, tuple[str, ...], bool]  # ("w", folded words, prefix)


def _leaf_key(leaf: Term | Phrase) -> LeafKey:
    if isinstance(leaf, Term):
        return ("w", tuple(fold_words(leaf.text)), leaf.prefix)
    words = tuple(token for word in leaf.words for token in fold_words(word))
    return ("w", words, leaf.prefix_last)


def query_key(query: Query) -> tuple[Hashable, ...]:
    """What ``query`` matches, as a hashable value: equal keys match the same documents
    (children in written order, so ``a OR b`` and ``b OR a`` differ; both are rare)."""
    match query:
        case Term() | Phrase():
            return _leaf_key(query)
        case Not(child):
            return ("not", query_key(child))
        case And(children):
            return ("and", tuple(query_key(c) for c in children))
        case Or(children):
            return ("or", tuple(query_key(c) for c in children))
    raise TypeError(f"not a query node: {query!r}")


def _flat(kind: type[And] | type[Or], children: tuple[Query, ...]) -> Iterator[Query]:
    for child in children:
        simple = simplify_query(child)
        if isinstance(simple, kind):
            yield from simple.children
        else:
            yield simple


def _unique(children: Iterator[Query]) -> list[Query]:
    seen: dict[tuple[Hashable, ...], Query] = {}
    for child in children:
        seen.setdefault(query_key(child), child)
    return list(seen.values())


def _covered(child: Query, prefixes: list[tuple[str, ...]]) -> bool:
    """Whether a word (or prefix) is matched by a shorter one-token prefix of the same Or."""
    if not isinstance(child, Term):
        return False
    tokens = fold_words(child.text)
    if len(tokens) != 1:
        return False
    return any(p[0] != tokens[0] and tokens[0].startswith(p[0]) for p in prefixes) or (
        not child.prefix and (tokens[0],) in prefixes
    )


def simplify_query(query: Query) -> Query:
    """The same query with repeats folded and covered alternatives dropped (see above)."""
    match query:
        case Term() | Phrase():
            return query
        case Not(child):
            return Not(simplify_query(child))
        case And(children):
            kept = _unique(_flat(And, children))
            return kept[0] if len(kept) == 1 else And(tuple(kept))
        case Or(children):
            kept = _unique(_flat(Or, children))
            prefixes = [
                tuple(tokens)
                for c in kept
                if isinstance(c, Term) and c.prefix and len(tokens := fold_words(c.text)) == 1
            ]
            kept = [c for c in kept if not _covered(c, prefixes)]
            return kept[0] if len(kept) == 1 else Or(tuple(kept))
    raise TypeError(f"not a query node: {query!r}")


def _leaves(query: Query) -> Iterator[Term | Phrase]:
    match query:
        case Term() | Phrase():
            yield query
        case Not(child):
            yield from _leaves(child)
        case And(children) | Or(children):
            for child in children:
                yield from _leaves(child)


def distinct_leaves(query: Query) -> int:
    """How many different words and phrases the query holds (after folding)."""
    return len({_leaf_key(leaf) for leaf in _leaves(query)})


def prefix_leaves(query: Query, shortest: int | None = None) -> int:
    """How many different prefix terms (``word*``, ``"a phras*"``) the query holds; with
    ``shortest``, only those whose last word has at most that many letters (``a*``)."""
    prefixes = {key for leaf in _leaves(query) if (key := _leaf_key(leaf))[2]}
    if shortest is not None:
        return sum(1 for _, words, _ in prefixes if words and len(words[-1]) <= shortest)
    return len(prefixes)
