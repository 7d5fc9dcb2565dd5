"""Near-duplicate stage at scale: articles per second and memory as the index grows.

    python -m bench.perf.dedup [--count 100000] [--json PATH]

Synthetic articles (about 300 words from a 20,000-word vocabulary, Latin and Cyrillic,
20 % near-copies of an earlier article with sentences edited and dropped) go through the
real stage (signature, LSH lookup in the database, confirmation, storing the signature)
into a SQLite file. Rates are measured per slice of 1,000 articles, so the figure at 10k
and at 100k indexed shows whether the cost grows with the corpus. CPU milliseconds per
article are also given per step; the commit (writing the dirtied pages to the WAL) is
reported beside the rate, not in it.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from ingest.pipeline.dedup import band_hashes, compare, make_signature
from storage import migrate, neardup
from storage.db import make_engine, make_session_factory
from storage.models import Article, Source
from tests.support.synthweb import near_copy

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SLICE = 1000
RECENT = 2000  # copies are drawn from the last RECENT articles


def _vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    latin, cyrillic = "abcdefghijklmnoprstuvwyz", "абвгдежзиклмнопрстуфхцчшыэюяіў"
    words = []
    for i in range(size):
        letters = latin if i % 2 else cyrillic
        words.append("".join(rng.choice(letters) for _ in range(rng.randint(3, 10))))
    return words


def _article(rng: random.Random, vocab: list[str]) -> list[str]:
    return [" ".join(rng.choices(vocab, k=rng.randint(12, 25))) + "." for _ in range(18)]


def run(count: int, db_path: Path) -> dict[str, object]:
    rng = random.Random(7)
    vocab = _vocabulary(rng)
    engine = make_engine(f"sqlite:///{db_path}")
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        session.execute(
            insert(Source).values(
                id=1, name="bench", kind="feed", url="x", active=True, created_at=T0
            )
        )
    texts: list[list[str]] = []
    rates: dict[int, float] = {}
    steps: dict[int, dict[str, float]] = {}
    found = 0
    spent = dict.fromkeys(STEPS, 0.0)
    for i in range(count):
        copy_of = rng.randrange(len(texts)) if texts and rng.random() < 0.2 else None
        sentences = (
            near_copy(rng, texts[copy_of], vocab) if copy_of is not None else _article(rng, vocab)
        )
        texts.append(sentences)
        if len(texts) > RECENT:
            texts.pop(0)  # copies are of recent reports; keeps the benchmark's own memory flat
        found += _dedup_one(factory, i + 1, "\n".join(sentences), T0 + timedelta(minutes=i), spent)
        if (i + 1) % SLICE == 0:
            rates[i + 1] = SLICE / sum(spent[step] for step in STAGE)
            steps[i + 1] = {step: round(spent[step] / SLICE * 1000, 3) for step in STEPS}
            spent = dict.fromkeys(STEPS, 0.0)
    engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "articles": count,
        "near_duplicates_found": found,
        "articles_per_s_at_10k": rates.get(10_000),
        "articles_per_s_at_100k": rates.get(100_000),
        "articles_per_s_last_slice": rates[max(rates)],
        "ms_per_article_at_10k": steps.get(10_000),
        "ms_per_article_at_100k": steps.get(100_000),
        "ms_per_article_last_slice": steps[max(steps)],
        "peak_rss_mb": round(peak_mb, 1),
        "db_mb": round(db_path.stat().st_size / 1e6, 1),
    }


# The stage's steps, timed apart. The rate counts STAGE; "commit" (the transaction's
# commit, which writes the pages the stage dirtied to the WAL, with the article row's) is
# reported beside it and left out of the rate, as it always was, so figures stay comparable.
STAGE = ("signature", "lookup", "store", "link")
STEPS = (*STAGE, "commit")


def _dedup_one(  # type: ignore[no-untyped-def]
    factory, article_id: int, text: str, when: datetime, spent: dict[str, float]
) -> int:
    """The near-duplicate stage for one stored article; adds the CPU seconds of each step
    to ``spent`` (the article row it needs is inserted before the clock starts)."""
    clock = time.process_time
    session = factory()
    with session.begin():
        session.execute(
            insert(Article).values(
                id=article_id,
                canonical_url=f"http://bench/{article_id}",
                url="x",
                source_id=1,
                outlet="bench",
                title="t",
                summary="",
                text="",
                fetched_at=when,
                published_at=when,
            )
        )
        started = clock()
        signature = make_signature(text)
        bands = band_hashes(signature) if signature is not None else []
        marks = [started, clock()]
        confirmed = []
        if signature is not None:
            neardup.lock_near_duplicates(session)
            candidates = neardup.find_candidates(session, bands, when, timedelta(days=30))
            marks.append(clock())
            neardup.store_signature(session, article_id, signature, bands, when)
            marks.append(clock())
            confirmed = [c for c in candidates if compare(signature, c.signature).is_duplicate]
            if confirmed:
                original = min(c.article_id for c in confirmed)
                neardup.link_duplicates(session, original, [article_id, original])
            marks.append(clock())
        marks += [marks[-1]] * (len(STAGE) + 1 - len(marks))  # a text too short: no steps
        committing = clock()
    spent["commit"] += clock() - committing
    session.close()
    for step, begun, ended in zip(STAGE, marks[:-1], marks[1:], strict=True):
        spent[step] += ended - begun
    return int(bool(confirmed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = run(args.count, Path(tmp) / "dedup.db")
    for key, value in report.items():
        print(f"{key:28} {value if not isinstance(value, float) else f'{value:,.0f}'}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
