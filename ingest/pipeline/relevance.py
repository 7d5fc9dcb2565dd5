"""Story relevance: does an article belong to a story? Each story's query (parsed by
``ingest.model.query``) is matched against the article's folded title and text."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ingest.config.settings import StorySettings
from ingest.model.items import StoryMatch
from ingest.model.query import (
    And,
    Not,
    Or,
    Phrase,
    Query,
    Term,
    fold_words,
    leaf_label,
    parse_query,
    word_tokens,
)

# ---------------------------------------------------------------------- matching


@dataclass(frozen=True)
class TextIndex:
    """An article's folded word tokens: built once, matched against every story."""

    words: tuple[str, ...]  # by position; "" separates title from body
    parts: Mapping[int, tuple[str, ...]]  # apostrophe-split parts, by position
    vocabulary: frozenset[str]
    sorted_vocabulary: tuple[str, ...]  # for prefix lookups by bisection

    def has(self, word: str, prefix: bool) -> bool:
        if not prefix:
            return word in self.vocabulary
        at = bisect.bisect_left(self.sorted_vocabulary, word)
        return at < len(self.sorted_vocabulary) and self.sorted_vocabulary[at].startswith(word)

    def has_at(self, pos: int, word: str, prefix: bool) -> bool:
        forms = (self.words[pos], *self.parts.get(pos, ()))
        return any(f.startswith(word) for f in forms) if prefix else word in forms

    def starts(self, word: str) -> list[int]:
        found = [i for i, w in enumerate(self.words) if w == word]
        return found + [i for i, p in self.parts.items() if word in p and self.words[i] != word]


def index_text(title: str, text: str) -> TextIndex:
    """Tokenise an article's title and text once (phrases never span the two)."""
    words: list[str] = []
    parts: dict[int, tuple[str, ...]] = {}
    for field in (title, text):
        if words:
            words.append("")
        for token in word_tokens(field):
            if "'" in token:
                parts[len(words)] = tuple(token.split("'"))
                token = token.replace("'", "")
            words.append(token)
    vocabulary = frozenset(words).union(*parts.values()) - {""}
    return TextIndex(tuple(words), parts, vocabulary, tuple(sorted(vocabulary)))


@dataclass(frozen=True)
class _Plan:
    words: tuple[str, ...]  # folded tokens, in order
    prefix: bool  # the last token is a prefix


@dataclass(frozen=True, eq=False)
class CompiledQuery:
    """A parsed query with each term's folded tokens worked out once."""

    query: Query
    plans: Mapping[Term | Phrase, _Plan]


def _leaves(node: Query) -> list[Term | Phrase]:
    match node:
        case And(children) | Or(children):
            return [leaf for child in children for leaf in _leaves(child)]
        case Not(child):
            return _leaves(child)
    assert isinstance(node, Term | Phrase)
    return [node]


@lru_cache(maxsize=512)
def compile_query(query: str | Query) -> CompiledQuery:
    """Parse (if given text) and prepare a query for matching; cached by value."""
    node = parse_query(query) if isinstance(query, str) else query
    plans: dict[Term | Phrase, _Plan] = {}
    for leaf in _leaves(node):
        written = (leaf.text,) if isinstance(leaf, Term) else leaf.words
        words = tuple(token for word in written for token in fold_words(word))
        if not words:  # only hand-built ASTs get here; the parser refuses such terms
            raise ValueError(f"{leaf_label(leaf)!r} has no letters or digits")
        plans[leaf] = _Plan(words, leaf.prefix if isinstance(leaf, Term) else leaf.prefix_last)
    return CompiledQuery(node, plans)


def _plan_matches(plan: _Plan, index: TextIndex) -> bool:
    *head, last = plan.words
    if not index.has(last, plan.prefix) or any(w not in index.vocabulary for w in head):
        return False  # cheap vocabulary checks first; most plans stop here
    if not head:
        return True
    size, count = len(index.words), len(plan.words)
    return any(
        start + count <= size
        and all(
            index.has_at(start + k, word, plan.prefix and k == count - 1)
            for k, word in enumerate(plan.words)
        )
        for start in index.starts(head[0])
    )


class _Evaluation:
    """One query over one article; leaf results are memoised for the term pass."""

    def __init__(self, compiled: CompiledQuery, index: TextIndex) -> None:
        self.plans = compiled.plans
        self.index = index
        self.memo: dict[Term | Phrase, bool] = {}

    def holds(self, node: Query) -> bool:
        match node:
            case And(children):
                return all(self.holds(child) for child in children)
            case Or(children):
                return any(self.holds(child) for child in children)
            case Not(child):
                return not self.holds(child)
        assert isinstance(node, Term | Phrase)
        if node not in self.memo:
            self.memo[node] = _plan_matches(self.plans[node], self.index)
        return self.memo[node]

    def positive_terms(self, node: Query, found: set[str]) -> None:
        """Collect the leaves that make ``node`` (which holds) true, outside any NOT."""
        if isinstance(node, Term | Phrase):
            found.add(leaf_label(node))
        elif isinstance(node, And | Or):
            for child in node.children:
                if not isinstance(child, Not) and self.holds(child):
                    self.positive_terms(child, found)


def match_index(query: CompiledQuery, index: TextIndex) -> tuple[str, ...] | None:
    """None if the article does not match, else the sorted positive terms that matched."""
    evaluation = _Evaluation(query, index)
    if not evaluation.holds(query.query):
        return None
    found: set[str] = set()
    evaluation.positive_terms(query.query, found)
    return tuple(sorted(found))


def match_story(
    query: str | Query | CompiledQuery, title: str, text: str
) -> tuple[str, ...] | None:
    """Match one query against an article; None, or the sorted terms that matched."""
    compiled = query if isinstance(query, CompiledQuery) else compile_query(query)
    return match_index(compiled, index_text(title, text))


def match_article(stories: Sequence[StorySettings], title: str, text: str) -> list[StoryMatch]:
    """The stories an article belongs to; the text is tokenised once for all of them."""
    index = index_text(title, text)
    matches = []
    for story in stories:
        terms = match_index(compile_query(story.query), index)
        if terms is not None:
            matches.append(StoryMatch(story.name, terms))
    return matches
