"""The pure part of an item's path, computed before the writer takes it (in a worker
process for large polls and crawls): extraction, normalisation, relevance, and for an
article on a story its near-duplicate signature, event terms, wire-story features and
each story's reading."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.config.settings import StorySettings
from ingest.framing.codebook import story_codebook
from ingest.framing.reading import Reading, read_article
from ingest.model.clusters import EventTerms
from ingest.model.dedup import Signature
from ingest.model.items import Article, RawItem, StoryMatch
from ingest.model.wire import WireFeatures
from ingest.pipeline.clusters import event_terms
from ingest.pipeline.dedup import make_signature
from ingest.pipeline.extract import extract_article
from ingest.pipeline.normalize import normalize_item
from ingest.pipeline.relevance import match_article
from ingest.pipeline.wire import wire_features


@dataclass(frozen=True)
class Prepared:
    """The pure part of the path for one item. ``matches`` is None when the stories were
    not given; then the writer computes the rest, through the same functions."""

    article: Article
    has_body: bool  # a fetched page had an article body
    matches: tuple[StoryMatch, ...] | None = None
    signature: Signature | None = None
    terms: EventTerms | None = None
    readings: Mapping[str, Reading] = field(default_factory=dict)
    wire: WireFeatures | None = None


def prepare_item(
    raw: RawItem,
    stories: Sequence[StorySettings] | None = None,
    codebook_dir: Path | None = None,
) -> Prepared:
    """Extract the page (if fetched) and normalise; given the stories, also relevance
    and, for an article on a story, its signature, event terms, wire features and each
    story's reading."""
    extracted = extract_article(raw.html, raw.final_url or raw.url) if raw.html else None
    article = normalize_item(raw, extracted)
    has_body = bool(extracted and extracted.text)
    if stories is None:
        return Prepared(article, has_body)
    matches = story_matches(stories, article)
    if not matches:
        return Prepared(article, has_body, matches)
    matched = {m.story for m in matches}
    readings = {
        s.name: read_article(article, story_codebook(s, codebook_dir))
        for s in stories
        if s.name in matched
    }
    return Prepared(
        article,
        has_body,
        matches,
        make_signature(article.text),
        event_terms(article.title, article.text or article.summary, article.language),
        readings,
        article_wire_features(article),
    )


def article_wire_features(article: Article) -> WireFeatures:
    """What the wire-story stage compares of the article (``ingest.pipeline.wire``)."""
    return wire_features(
        article.title, article.text or article.summary, article.language, article.outlet
    )


def story_matches(stories: Sequence[StorySettings], article: Article) -> tuple[StoryMatch, ...]:
    """The stories the article belongs to (headline, summary and text)."""
    return tuple(match_article(stories, article.title, f"{article.summary}\n{article.text}"))
