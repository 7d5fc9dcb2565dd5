"""Flag recomputation at scale: ``refresh_flags`` over a year of stored coverage.

    python -m bench.perf.flags [--count 100000] [--days 365] [--outlets 40]
                          [--database-url URL] [--json PATH]

Builds synthetic stored coverage of one story (seeded, so every run stores the same):
``--count`` articles over ``--days`` days from ``--outlets`` outlets in English, Russian
and Belarusian, each a headline and three sentences of content words drawn with
Zipf-like frequencies and function words between them, with 0-3 frames in some voice
(more on "event" days), and every two weeks a new phrase that several outlets pick up
(what ``emerging_phrase`` should find). Phrases are extracted with the real
``ingest.framing.phrases.extract_phrases``; rows are bulk-inserted (the pipeline's own
throughput is measured by bench/perf/framing.py and bench/perf/dedup.py).

Then it times ``ingest.flags.refresh.refresh_flags``: the first refresh (no state yet: every
flag computed), one with nothing changed, one after a new day of articles (what the
service does after a poll), one after backfilling a day 30 days back, and a full
recompute (``framewatch flags recompute``), each in wall and CPU time, and the size of
the database and of its phrases per 1,000 articles. SQLite by default (a file in a
temporary folder); ``--database-url postgresql+psycopg://...`` runs it in a private
schema of that database, dropped afterwards.
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

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from ingest.config.settings import Settings, settings_from_mapping
from ingest.flags.refresh import _phrase_flags, refresh_flags
from ingest.flags.rules import compute_flags
from ingest.framing.codebook import story_codebook
from ingest.framing.phrases import PHRASES_VERSION, extract_phrases
from storage import frames, migrate
from storage.db import make_engine, make_session_factory, private_schema, unit_of_work
from storage.models import (
    Article,
    ArticleFrame,
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

    def article(self, n: int, day: int | None = None) -> dict[str, Any]:
        rng = self.rng
        day = rng.randrange(self.days) if day is None else day
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
    for start in range(0, corpus.count, BATCH):
        began = time.perf_counter()
        batch = [corpus.article(n) for n in range(start, min(start + BATCH, corpus.count))]
        timing["generate_s"] += time.perf_counter() - began
        began = time.perf_counter()
        for a in batch:
            a["phrases"] = extract_phrases(a["title"], a["text"], a["language"])
        timing["extract_phrases_s"] += time.perf_counter() - began
        began = time.perf_counter()
        _insert_batch(factory, batch)
        timing["insert_s"] += time.perf_counter() - began
        timing["phrase_rows"] += sum(len(a["phrases"]) for a in batch)
    return timing


def _add_day(factory: sessionmaker[Session], corpus: Corpus, day: int, first_n: int) -> int:
    """One day's articles (the corpus's daily average) on ``day``; returns how many."""
    per_day = max(1, corpus.count // corpus.days)
    batch = [corpus.article(n, day) for n in range(first_n, first_n + per_day)]
    for a in batch:
        a["phrases"] = extract_phrases(a["title"], a["text"], a["language"])
    _insert_batch(factory, batch)
    return per_day


def _insert_batch(factory: sessionmaker[Session], batch: list[dict[str, Any]]) -> None:
    with unit_of_work(factory) as session:
        source_ids = {name: i for name, i in session.execute(select(Source.name, Source.id))}
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
        session.execute(insert(PhraseSet), [
            {"article_id": i, "story": STORY, "phrases": len(a["phrases"]),
             "version": f"bench+p{PHRASES_VERSION}", "text": "\n".join(sorted(a["phrases"]))}
            for i, a in zip(ids, batch, strict=True)
        ])  # fmt: skip


def _sizes(engine: Engine, count: int) -> dict[str, float]:
    """The database, and the phrases' table, in MB per 1,000 stored articles."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.execute(text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            )).all()  # fmt: skip
        else:  # pages of each table and index, wherever they are (file or WAL)
            rows = conn.execute(text("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")).all()
    sizes = {name: int(size) for name, size in rows}
    phrases = sum(v for k, v in sizes.items() if "phrase" in k)
    per = 1000 / max(count, 1) / 1e6
    return {"db_mb_per_1000": sum(sizes.values()) * per, "phrases_mb_per_1000": phrases * per}


def _refresh(
    report: dict[str, Any], name: str, settings: Settings, factory: sessionmaker[Session],
    full: bool = False,
) -> None:  # fmt: skip
    began, cpu = time.perf_counter(), time.process_time()
    added = refresh_flags(settings, factory, datetime(2026, 6, 1, tzinfo=UTC), full=full)
    report[f"{name}_s"] = round(time.perf_counter() - began, 2)
    report[f"{name}_cpu_s"] = round(time.process_time() - cpu, 2)
    report[f"{name}_new_flags"] = added


def _parts(factory: sessionmaker[Session], settings: Settings) -> dict[str, float]:
    """A full recomputation's parts, timed one by one (what refresh_flags calls)."""
    tz = ZoneInfo(settings.schedule.timezone)
    story = settings.active_stories[0]
    codebook = story_codebook(story, settings.config_dir)
    parts: dict[str, float] = {}
    with unit_of_work(factory) as session:
        began = time.perf_counter()
        timeline = frames.story_timeline(session, STORY)
        parts["load_timeline_s"] = time.perf_counter() - began
        began = time.perf_counter()
        compute_flags(timeline, {}, tz)
        parts["frame_flags_s"] = time.perf_counter() - began
        began = time.perf_counter()
        totals = frames.phrase_totals(session, STORY)
        phrases = _phrase_flags(session, STORY, timeline, totals, codebook, tz, None, [])
        parts["emerging_phrases_s"] = time.perf_counter() - began
        parts["phrase_fires"] = len(phrases.fires)
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
        corpus = Corpus(count, days, outlets, seed)
        report |= _store(factory, corpus)
        report |= _sizes(engine, count)
        settings = settings_from_mapping({"database": {"url": db_url}})
        _refresh(report, "first", settings, factory)  # no state yet: everything
        _refresh(report, "unchanged", settings, factory)
        report["day_articles"] = _add_day(factory, corpus, days, count)  # the next day
        _refresh(report, "new_day", settings, factory)
        added = _add_day(factory, corpus, days - 30, count + report["day_articles"])
        _refresh(report, "late_day", settings, factory)  # a day a month back, backfilled
        _refresh(report, "full", settings, factory, full=True)
        report["total_articles"] = count + report["day_articles"] + added
        with unit_of_work(factory) as session:
            report["flags"] = dict(
                session.execute(select(Flag.kind, func.count()).group_by(Flag.kind)).all()
            )
        report |= _parts(factory, settings)
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
    r = run(args.count, args.days, args.outlets, args.database_url, args.seed)

    def timed(name: str) -> str:
        return f"{r[name + '_s']} s ({r[name + '_cpu_s']} s CPU, {r[name + '_new_flags']} new)"

    print(
        f"{r['backend']}: {r['articles']} articles over {r['days']} days, {r['outlets']} "
        f"outlets, {r['phrase_rows']} phrases; {r['db_mb_per_1000']} MB of database per "
        f"1,000 articles, of which phrases {r['phrases_mb_per_1000']} MB\n"
        f"  first refresh (no state: all flags): {timed('first')}\n"
        f"  refresh, nothing changed: {timed('unchanged')}\n"
        f"  refresh after one new day ({r['day_articles']} articles): {timed('new_day')}\n"
        f"  refresh after backfilling a day 30 days back: {timed('late_day')}\n"
        f"  full recompute (flags --recompute): {timed('full')}\n"
        f"  full recompute's parts: timeline {r['load_timeline_s']} s, frame flags "
        f"{r['frame_flags_s']} s, emerging phrases {r['emerging_phrases_s']} s\n"
        f"  flags by kind: {r['flags']}\n"
        f"  setup: generate {r['generate_s']} s, extract phrases "
        f"{r['extract_phrases_s']} s, insert {r['insert_s']} s; "
        f"load average {', '.join(f'{x:.1f}' for x in r['load_average'])}"
    )
    if args.json:
        args.json.write_text(json.dumps(r, indent=2, default=str), "utf-8")


if __name__ == "__main__":
    main()
