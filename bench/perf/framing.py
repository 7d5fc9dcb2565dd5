"""Framing throughput: ``detect_frames`` on ~600-word articles, one core.

    python -m bench.perf.framing [--articles 300] [--words 600] [--seconds 10] [--json PATH]

Articles are generated (seeded, so every run reads the same text) from the framing
fixtures in tests/data/framing/: each is a headline and paragraphs of three to five
sentences in one language (English, Russian or Belarusian), mixing fixture sentences
that carry frames, quotes, negations and dash speech with neutral filler sentences, until
it reaches ``--words`` words. The codebook is compiled once before timing (as the service
does); the rate is articles per second over repeated passes for ``--seconds``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
import tomllib
from pathlib import Path

from ingest.framing.codebook import load_codebook
from ingest.framing.detect import compile_codebook, detect_frames

FIXTURES = Path(__file__).parents[2] / "tests" / "data" / "framing"
FILLER = {
    "en": [
        "The meeting lasted about two hours and ended without a joint statement.",
        "Officials gave no further details on Tuesday evening.",
        "Local media reported heavy rain in the capital over the weekend.",
        "The talks were held behind closed doors at a government residence.",
    ],
    "ru": [
        "Встреча продолжалась около двух часов и завершилась без совместного заявления.",
        "Подробности в пресс-службе не уточнили.",
        "В выходные в столице прошли сильные дожди.",
        "Переговоры прошли за закрытыми дверями в правительственной резиденции.",
    ],
    "be": [
        "Сустрэча доўжылася каля дзвюх гадзін і скончылася без сумеснай заявы.",
        "Падрабязнасцяў у прэс-службе не ўдакладнілі.",
        "У выхадныя ў сталіцы прайшлі моцныя дажджы.",
        "Перамовы прайшлі за зачыненымі дзвярыма ў урадавай рэзідэнцыі.",
    ],
}


def _fixture_sentences() -> dict[str, list[str]]:
    by_language: dict[str, list[str]] = {language: [] for language in FILLER}
    for path in sorted(FIXTURES.glob("*.toml")):
        for case in tomllib.loads(path.read_text("utf-8"))["case"]:
            language = case.get("language", case["id"][:2])
            if language in by_language:
                by_language[language] += [s for s in case["text"].splitlines() if s.strip()]
    return by_language


def make_articles(count: int, words: int, seed: int = 7) -> list[tuple[str, str, str]]:
    """``count`` articles (title, text, language) of about ``words`` words each."""
    rng = random.Random(seed)
    sentences = _fixture_sentences()
    languages = sorted(FILLER)
    articles = []
    for n in range(count):
        language = languages[n % len(languages)]
        paragraphs: list[str] = []
        total = 0
        while total < words:
            size = rng.randint(3, 5)
            picked = [
                rng.choice(sentences[language] if rng.random() < 0.5 else FILLER[language])
                for _ in range(size)
            ]
            paragraphs.append(" ".join(picked))
            total += sum(len(s.split()) for s in picked)
        title = rng.choice(sentences[language]).split(".")[0][:90]
        articles.append((title, "\n".join(paragraphs), language))
    return articles


def run(count: int, words: int, seconds: float) -> dict[str, float]:
    codebook = load_codebook("builtin:belarus-prisoners")
    started = time.perf_counter()
    detector = compile_codebook(codebook)
    for language in ("en", "ru", "be"):
        detector.detect("", "", language)  # compile each language's plan
    compile_s = time.perf_counter() - started
    articles = make_articles(count, words)
    mean_words = sum(len(text.split()) for _, text, _ in articles) / len(articles)
    done, hits = 0, 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for title, text, language in articles:
            hits += len(detect_frames(codebook, title, text, language))
        done += len(articles)
    elapsed = time.perf_counter() - started
    return {
        "articles_per_s": done / elapsed,
        "words_per_s": done * mean_words / elapsed,
        "mean_words": mean_words,
        "hits_per_article": hits / done,
        "articles": done,
        "compile_s": compile_s,
        "cores": float(os.cpu_count() or 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--words", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    result = run(args.articles, args.words, args.seconds)
    print(
        f"framing: {result['articles_per_s']:.0f} articles/s on one core "
        f"({result['words_per_s']:.0f} words/s; {result['mean_words']:.0f} words and "
        f"{result['hits_per_article']:.1f} frame hits per article; "
        f"{result['articles']:.0f} articles; codebook compiled in {result['compile_s']:.2f} s)"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
