"""One story's reading of an article: its frames (with voice and evidence) and its
own-voice phrases, under one codebook. ``read_article`` is pure; ``frame_article``
stores a reading."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ingest.framing.codebook import Codebook
from ingest.framing.detect import detect_frames, scoring_version
from ingest.framing.phrases import PHRASES_VERSION, extract_phrases
from ingest.model.frames import FrameHit
from ingest.model.items import Article
from storage import frames


@dataclass(frozen=True)
class Reading:
    """What one story's codebook finds in an article: frames and own-voice phrases."""

    version: str  # scoring_version of the codebook that read it
    hits: list[FrameHit]
    phrases: frozenset[str]


def read_article(article: Article, codebook: Codebook) -> Reading:
    """Frames (with voice and evidence) and own-voice phrases under one codebook."""
    body = article.text or article.summary
    return Reading(
        scoring_version(codebook),
        detect_frames(codebook, article.title, body, article.language),
        extract_phrases(article.title, body, article.language),
    )


def frame_article(
    session: Session,
    article_id: int,
    article: Article,
    story: str,
    codebook: Codebook,
    reading: Reading | None = None,
) -> None:
    """Store the frames (with voice and evidence) the article uses for a story, and its
    own-voice phrases, which emerging-phrase flags count (ingest.framing.phrases).
    ``reading``: :func:`read_article` done already; redone if the codebook changed since."""
    if reading is None or reading.version != scoring_version(codebook):
        reading = read_article(article, codebook)
    frames.replace_frames(session, article_id, story, reading.hits, reading.version)
    version = frames.reading_version(reading.version, PHRASES_VERSION)
    frames.replace_phrases(session, article_id, story, reading.phrases, version)
