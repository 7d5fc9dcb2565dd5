"""Framing accuracy on the labelled set (tests/data/framing_labelled), measured by the real
command ``python -m bench.framing_eval --json``: the figures may not fall below the floors
(the figures measured when they were set, less a small margin), so a change that costs
precision, recall or voice accuracy fails here. Raise a floor when the figures rise."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bench.framing_eval import LABELLED, Case, Outcome, load_cases, score
from ingest.framing.codebook import load_codebook

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = {"en", "ru", "be", "uk", "pl", "lt", "de"}

# measured 2026-12-06 (full / held-out): micro F1 0.894 / 0.840, macro F1 0.887 / 0.826,
# voice accuracy 0.881 / 0.821; floors are those less 0.02 (0.03 on the smaller held-out)
FLOORS = {
    "full": {"micro": 0.87, "macro": 0.86, "voice": 0.86, "frame": 0.78, "language": 0.84},
    "heldout": {"micro": 0.81, "macro": 0.79, "voice": 0.79, "frame": 0.54, "language": 0.74},
}
# the story's main languages, each on the full set (measured en 0.901, ru 0.929, be 0.905)
MAIN_LANGUAGE_FLOOR = 0.88


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("eval") / "framing.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.framing_eval", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "voice accuracy" in done.stdout and "heldout:" in done.stdout
    result: dict[str, Any] = json.loads(out.read_text("utf-8"))
    return result


def test_the_labelled_set_is_large_and_covers_the_languages() -> None:
    cases = load_cases()
    sentences = [c for c in cases if "-s-" in c.id]
    articles = [c for c in cases if "-a-" in c.id]
    assert len(sentences) >= 400 and len(articles) >= 60
    assert {c.language for c in sentences} == {c.language for c in articles} == LANGUAGES
    assert [i for i, n in Counter(c.id for c in cases).items() if n > 1] == []
    held = [c for c in cases if c.heldout]
    assert 0.15 <= len(held) / len(cases) <= 0.25 and {c.language for c in held} == LANGUAGES


def test_every_label_names_a_frame_and_a_voice() -> None:
    frames = set(load_codebook("builtin:belarus-prisoners").frame_names())
    for path in sorted(LABELLED.glob("*.toml")):
        for case in tomllib.loads(path.read_text("utf-8"))["case"]:
            for pair in case["expect"]:
                frame, voice = pair.split(":")
                assert frame in frames and voice in ("own", "quoted", "distanced"), case["id"]
            assert set(case.get("rejected", ())) <= frames, case["id"]


@pytest.mark.parametrize("split", sorted(FLOORS))
def test_figures_stay_above_the_floors(figures: dict[str, Any], split: str) -> None:
    scores, floor = figures[split], FLOORS[split]
    assert scores["micro"]["f1"] >= floor["micro"]
    assert scores["macro_f1"] >= floor["macro"]
    assert scores["voice_accuracy"] >= floor["voice"]
    weakest = {name: s["f1"] for name, s in scores["frames"].items() if s["f1"] < floor["frame"]}
    assert weakest == {}
    languages = {k: s["f1"] for k, s in scores["languages"].items() if s["f1"] < floor["language"]}
    assert languages == {}


def test_main_languages(figures: dict[str, Any]) -> None:
    main = {k: figures["full"]["languages"][k]["f1"] for k in ("en", "ru", "be")}
    assert min(main.values()) >= MAIN_LANGUAGE_FLOOR, main


def test_the_eval_counts_a_rejected_frame_as_a_false_positive() -> None:
    """The score function itself: a detected rejected frame is a false positive, and a
    voice mismatch on a frame found lowers voice accuracy but not F1."""
    case = Case("x", "en", "", "", frozenset({"a:own"}), frozenset({"b"}), "", False)
    result = score([Outcome(case, frozenset({"a:quoted", "b:own"}))], ("a", "b"))
    assert result["frames"]["a"]["f1"] == 1.0 and result["frames"]["b"]["fp"] == 1
    assert result["voice_accuracy"] == 0.0 and result["micro"]["precision"] == 0.5
