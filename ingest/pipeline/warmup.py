"""What a long-running process loads once before its first article: the pipeline's
imports, the language model, the built-in codebook's compiled patterns per language, the
MinHash permutations.

Importing this module does it: the worker processes' fork server preloads it
(``ingest.sources.harvest.worker_context``), so every worker forked from it starts warm. The
benchmarks call :func:`warm_up` for the same reason before their clocks start.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.config.settings import builtin_story
from ingest.framing.codebook import story_codebook
from ingest.framing.detect import detect_frames
from ingest.framing.phrases import extract_phrases
from ingest.model.items import RawItem
from ingest.pipeline.prepare import prepare_item

_TEXT = "Belarus released political prisoners after talks with a US envoy, officials said. "
LANGUAGES = ("en", "ru", "be", "pl", "uk")


def warm_up() -> None:
    story = builtin_story("belarus-prisoners")
    html = f"<html><body><article><h1>Warm up</h1><p>{_TEXT * 20}</p></article></body></html>"
    now = datetime.now(UTC)
    prepare_item(RawItem("warm-up", "http://127.0.0.1/warm-up", now, html=html.encode()), [story])
    codebook = story_codebook(story)
    for language in LANGUAGES:
        detect_frames(codebook, "Warm up", _TEXT, language)
        extract_phrases("Warm up", _TEXT, language)


warm_up()
