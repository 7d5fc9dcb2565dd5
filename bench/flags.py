"""Flag recomputation at scale: ``refresh_flags`` over a year of stored coverage.

    python -m bench.flags [--count 100000] [--days 365] [--outlets 40]
                          [--database-url URL] [--json PATH]

Builds synthetic stored coverage of one story (seeded, so every run stores the same):
``--count`` articles over ``--days`` days from ``--outlets`` outlets in English, Russian
and Belarusian, each a headline and three sentences of content words drawn with
Zipf-like frequencies and function words between them, with 0-3 frames in some voice
(more on "event" days), and every two weeks a new phrase that several outlets pick up
(what ``emerging_phrase`` should find). Phrases are extracted with the real
``ingest.phrases.extract_phrases``; rows are bulk-inserted (the pipeline's own
throughput is measured by bench/framing.py and bench/dedup.py).

Then it times ``ingest.novelty.refresh_flags`` — every flag kind recomputed from the
store — twice: the first run creates every flag, the second finds nothing new (what the
service does after each poll), and reports the time of each part. SQLite by default (a
file in a temporary folder); ``--database-url postgresql+psycopg://...`` runs it in a
private schema of that database, dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from ingest.config import settings_from_mapping
from ingest.flags import compute_flags
from ingest.novelty import refresh_flags
from ingest.phrases import MIN_USES, PHRASES_VERSION, emerging_phrases, extract_phrases
from storage import frames, migrate
from storage.db import make_engine, make_session_factory, private_schema, unit_of_work
from storage.models import (
    Article,
    ArticleFrame,
    ArticlePhrase,
    Flag,
    PhraseSet,
    Source,
    StoryMembership,
)

STORY = "belarus-prisoners"
T0 = datetime(2025, 1, 1, 6, 0, tzinfo=UTC)
GROUPS = ("by_state", "ru_state", "by_independent", "ru_independent", "western")
FRAMES = ("political_prisoners", "criminals_extremists", "humanitarian_pardon",
          "transactional_deal", "hostage_diplomacy", "revolving_door", "forced_exile",
          "sovereignty_interference", "diplomatic_thaw", "geopolitics_russia",
          "abuse_conditions", "regime_legitimacy")  # fmt: skip
VOICES = ("own", "own", "own", "quoted", "quoted", "distanced")
BATCH = 2000
SYLLABLES = {
    "en": ["ba", "ro", "mi", "ta", "ke", "lo", "su", "ne", "vi", "da", "po", "ri", "ga", "le"],
    "ru": ["ба", "ро", "ми", "та", "ке", "ло", "су", "не", "ви", "да", "по", "ри", "га", "ле"],
    "be": ["ба", "ра", "мі", "та", "кэ", "ла", "су", "нэ", "ві", "да", "па", "ры", "га", "ле"],
}
# function words between content words, about as often as in news prose
FUNCTION = {
    "en": ["the", "of", "and", "to", "in", "a", "for", "on", "with", "was", "by", "that"],
    "ru": ["и", "в", "на", "с", "по", "что", "не", "из", "к", "о", "для", "было"],
    "be": ["і", "ў", "на", "з", "па", "што", "не", "да", "для", "пра", "было", "як"],
}


def _vocabulary(language: str, size: int, rng: random.Random) -> list[str]:
    syllables = SYLLABLES[language]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


class Corpus:
    """Seeded synthetic coverage (see the module docstring)."""

    def __init__(self, count: int, days: int, outlets: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.count, self.days = count, days
        self.outlets = [(f"outlet{i:02d}.example", GROUPS[i % len(GROUPS)]) for i in range(outlets)]
        self.vocab = {lang: _vocabulary(lang, 3000, self.rng) for lang in SYLLABLES}
        # Zipf-like weights: word k is drawn with weight 1/(k+1)
        self.weights = [1 / (k + 1) for k in range(3000)]
        self.cumulative = list(_accumulate(self.weights))
        self.events = {day: self.rng.sample(FRAMES, 2) for day in range(0, days, 9)}
        self.novel = {
            day: " ".join(self.vocab["en"][i] for i in self._indices(2)) + " novum"
            for day in range(20, days, 14)
        }

    def _words(self, language: str, n: int) -> list[str]:
        vocab, function = self.vocab[language], FUNCTION[language]
        words = []
        for i in self._indices(n):
            words.append(vocab[i])
            if self.rng.random() < 0.6:
                words.append(self.rng.choice(function))
        return words

    def _indices(self, n: int) -> list[int]:
        import bisect

        total = self.cumulative[-1]
        return [bisect.bisect_left(self.cumulative, self.rng.random() * total) for _ in range(n)]

    def _sentence(self, language: str) -> str:
        return " ".join(self._words(language, self.rng.randint(7, 12))).capitalize() + "."

    def article(self, n: int) -> dict[str, Any]:
        rng = self.rng
        day = rng.randrange(self.days)
        outlet, group = self.outlets[rng.randrange(len(self.outlets))]
        language = rng.choice(("en", "en", "ru", "be"))
        title = " ".join(self._words(language, rng.randint(4, 7))).capitalize()
        sentences = [self._sentence(language) for _ in range(3)]
        picked = [d for d in self.novel if 0 <= day - d < 3]
        if picked and rng.random() < 0.25:  # a new phrase spreading over three days
            sentences[1] = f"{self.novel[picked[0]].capitalize()} {sentences[1].lower()}"
        uses = {(rng.choice(FRAMES), rng.choice(VOICES)) for _ in range(rng.randint(0, 2))}
        if day in self.events and rng.random() < 0.5:
            uses.add((self.events[day][0], "own"))
        when = T0 + timedelta(days=day, seconds=rng.randrange(86400))
        return {
            "n": n, "outlet": outlet, "group": group, "language": language, "title": title,
            "text": "\n".join(sentences), "when": when, "uses": sorted(uses),
        }  # fmt: skip


def _accumulate(values: list[float]) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


def _store(factory: sessionmaker[Session], corpus: Corpus) -> dict[str, float]:
    """Generate and bulk-insert the corpus; returns timings."""
    timing = {"generate_s": 0.0, "extract_phrases_s": 0.0, "insert_s": 0.0, "phrase_rows": 0}
    with unit_of_work(factory) as session:
        session.execute(insert(Source), [
            {"name": o, "kind": "feed", "url": f"http://{o}/", "outlet_group": g, "active": True,
             "created_at": T0} for o, g in corpus.outlets
        ])  # fmt: skip
        source_ids = dict(session.execute(select(Source.name, Source.id)).all())
    for start in range(0, corpus.count, BATCH):
        began = time.perf_counter()
        batch = [corpus.article(n) for n in range(start, min(start + BATCH, corpus.count))]
        timing["generate_s"] += time.perf_counter() - began
        began = time.perf_counter()
        for a in batch:
            a["phrases"] = extract_phrases(a["title"], a["text"], a["language"])
        timing["extract_phrases_s"] += time.perf_counter() - began
        began = time.perf_counter()
        _insert_batch(factory, batch, source_ids)
        timing["insert_s"] += time.perf_counter() - began
        timing["phrase_rows"] += sum(len(a["phrases"]) for a in batch)
    return timing


def _insert_batch(
    factory: sessionmaker[Session], batch: list[dict[str, Any]], source_ids: dict[str, int]
) -> None:
    with unit_of_work(factory) as session:
        ids = session.scalars(
            insert(Article).returning(Article.id, sort_by_parameter_order=True),
            [{"canonical_url": f"http://{a['outlet']}/a/{a['n']}", "url": f"http://{a['outlet']}/a/{a['n']}",
              "source_id": source_ids[a["outlet"]], "outlet": a["outlet"], "title": a["title"],
              "summary": "", "text": a["text"], "published_at": a["when"],
              "fetched_at": a["when"], "language": a["language"]} for a in batch],
        ).all()  # fmt: skip
        session.execute(insert(StoryMembership), [
            {"article_id": i, "story": STORY, "matched_terms": [], "matched_at": a["when"]}
            for i, a in zip(ids, batch, strict=True)
        ])  # fmt: skip
        frame_rows = [
            {"article_id": i, "story": STORY, "frame": f, "voice": v, "evidence": a["title"],
             "sentence_index": 0, "cue": "bench", "scoring_version": "bench"}
            for i, a in zip(ids, batch, strict=True) for f, v in a["uses"]
        ]  # fmt: skip
        if frame_rows:
            session.execute(insert(ArticleFrame), frame_rows)
        session.execute(insert(ArticlePhrase), [
            {"article_id": i, "story": STORY, "phrase": p}
            for i, a in zip(ids, batch, strict=True) for p in a["phrases"]
        ])  # fmt: skip
        session.execute(insert(PhraseSet), [
            {"article_id": i, "story": STORY, "phrases": len(a["phrases"]),
             "version": f"bench+p{PHRASES_VERSION}"} for i, a in zip(ids, batch, strict=True)
        ])  # fmt: skip


def _parts(factory: sessionmaker[Session]) -> dict[str, float]:
    """The recomputation's parts, timed one by one (same functions refresh_flags calls)."""
    tz = ZoneInfo("Europe/Minsk")
    parts: dict[str, float] = {}
    with unit_of_work(factory) as session:
        began = time.perf_counter()
        timeline = frames.story_timeline(session, STORY)
        parts["load_timeline_s"] = time.perf_counter() - began
        began = time.perf_counter()
        compute_flags(timeline, {}, tz)
        parts["frame_flags_s"] = time.perf_counter() - began
        began = time.perf_counter()
        uses = frames.phrase_uses(session, STORY, MIN_USES)
        totals = frames.phrase_totals(session, STORY)
        parts["load_phrases_s"] = time.perf_counter() - began
        parts["candidate_phrases"] = len(uses)
        began = time.perf_counter()
        emerging_phrases(timeline, uses, totals, tz)
        parts["emerging_phrases_s"] = time.perf_counter() - began
    return parts


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    if url is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    with private_schema(url, "fw_bench") as scratch:
        yield scratch


def run(count: int, days: int, outlets: int, url: str | None, seed: int = 7) -> dict[str, Any]:
    with _database(url) as db_url:
        engine = make_engine(db_url)
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        report: dict[str, Any] = {"articles": count, "days": days, "outlets": outlets,
                                  "backend": engine.dialect.name}  # fmt: skip
        report |= _store(factory, Corpus(count, days, outlets, seed))
        settings = settings_from_mapping({"database": {"url": db_url}})
        for name in ("first", "again"):
            began, cpu = time.perf_counter(), time.process_time()
            added = refresh_flags(settings, factory, datetime(2026, 6, 1, tzinfo=UTC))
            report[f"refresh_{name}_s"] = round(time.perf_counter() - began, 2)
            report[f"refresh_{name}_cpu_s"] = round(time.process_time() - cpu, 2)
            report[f"refresh_{name}_new_flags"] = added
        with unit_of_work(factory) as session:
            report["flags"] = dict(
                session.execute(select(Flag.kind, func.count()).group_by(Flag.kind)).all()
            )
        report |= _parts(factory)
        engine.dispose()
    report["load_average"] = os.getloadavg()
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in report.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--outlets", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None, help="Default: a temporary SQLite file.")
    parser.add_argument("--json", type=Path, default=None, help="Also write the report here.")
    args = parser.parse_args()
    report = run(args.count, args.days, args.outlets, args.database_url, args.seed)
    print(
        f"{report['backend']}: {report['articles']} articles over {report['days']} days, "
        f"{report['outlets']} outlets, {report['phrase_rows']} phrase rows "
        f"({report['candidate_phrases']} phrases used at least {MIN_USES} times)\n"
        f"  recompute all flags: {report['refresh_first_s']} s (first, "
        f"{report['refresh_first_new_flags']} flags created), {report['refresh_again_s']} s "
        f"(again, {report['refresh_again_new_flags']} new)\n"
        f"  parts: timeline {report['load_timeline_s']} s, frame flags "
        f"{report['frame_flags_s']} s, phrase counts {report['load_phrases_s']} s, "
        f"emerging phrases {report['emerging_phrases_s']} s\n"
        f"  flags by kind: {report['flags']}\n"
        f"  setup: generate {report['generate_s']} s, extract phrases "
        f"{report['extract_phrases_s']} s, insert {report['insert_s']} s; "
        f"load average {', '.join(f'{x:.1f}' for x in report['load_average'])}"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str), "utf-8")


if __name__ == "__main__":
    main()
