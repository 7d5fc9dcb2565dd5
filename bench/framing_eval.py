"""Framing accuracy on the labelled set: ``python -m bench.framing_eval [--json PATH]``.

Reads every case of ``tests/data/framing_labelled/*.toml`` (sentences and whole articles
in en, ru, be, uk, pl, lt, de; each lists the ``frame:voice`` pairs an annotator found and
the frames it names only to reject), runs the built-in codebook's ``detect_frames`` on it
and reports, for the full set and its two splits:

* per frame and per language: precision, recall and F1 of frame presence (a frame counts
  once per case, whatever its voices; a rejected frame that is detected is a false
  positive);
* micro F1 (over all case x frame decisions) and macro F1 (the mean of the frames' F1);
* voice accuracy on frames found: of the frames both detected and expected, the share
  whose set of voices (own, quoted, distanced) is exactly the expected one;
* pair F1: precision/recall over the ``frame:voice`` pairs themselves.

Splits: every fifth case of each file (the 5th, 10th, ...) is ``heldout``, kept out of
tuning and looked at only to check that the figures carry over; the rest is ``dev``.
``--errors`` prints each case where the detected pairs differ from the expected ones.
"""

from __future__ import annotations

import argparse
import json
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.framing.codebook import Codebook, load_codebook
from ingest.framing.detect import detect_frames

LABELLED = Path(__file__).resolve().parents[1] / "tests" / "data" / "framing_labelled"
HELDOUT_EVERY = 5
SPLITS = ("full", "dev", "heldout")


@dataclass(frozen=True)
class Case:
    id: str
    language: str
    title: str
    text: str
    expect: frozenset[str]  # frame:voice
    rejected: frozenset[str]
    shape: str
    heldout: bool


@dataclass(frozen=True)
class Outcome:
    case: Case
    detected: frozenset[str]  # frame:voice


def load_cases(folder: Path = LABELLED) -> list[Case]:
    """Every labelled case, in file order; ``heldout`` for every fifth case of a file."""
    cases = []
    for path in sorted(folder.glob("*.toml")):
        for n, raw in enumerate(tomllib.loads(path.read_text("utf-8"))["case"], start=1):
            cases.append(
                Case(
                    id=raw["id"], language=raw["language"], title=raw.get("title", ""),
                    text=raw["text"], expect=frozenset(raw["expect"]),
                    rejected=frozenset(raw.get("rejected", ())), shape=raw.get("shape", ""),
                    heldout=n % HELDOUT_EVERY == 0,
                )
            )  # fmt: skip
    return cases


def run_cases(codebook: Codebook, cases: Iterable[Case]) -> list[Outcome]:
    outcomes = []
    for case in cases:
        hits = detect_frames(codebook, case.title, case.text, case.language)
        outcomes.append(Outcome(case, frozenset(f"{h.frame}:{h.voice}" for h in hits)))
    return outcomes


def _voices(pairs: Iterable[str], frame: str) -> set[str]:
    return {p.split(":")[1] for p in pairs if p.split(":")[0] == frame}


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3),
            "tp": tp, "fp": fp, "fn": fn}  # fmt: skip


def score(outcomes: Sequence[Outcome], frames: Sequence[str]) -> dict[str, Any]:
    """The figures of the module docstring for these outcomes."""
    per_frame = {f: [0, 0, 0] for f in frames}
    per_language: dict[str, list[int]] = {}
    pairs = [0, 0, 0]
    voice_right = voice_total = 0
    for outcome in outcomes:
        got, want = outcome.detected, outcome.case.expect
        counts = per_language.setdefault(outcome.case.language, [0, 0, 0])
        for frame in frames:
            g, w = _voices(got, frame), _voices(want, frame)
            if not (g or w):
                continue
            slot = 0 if g and w else 1 if g else 2
            per_frame[frame][slot] += 1
            counts[slot] += 1
            if g and w:
                voice_total += 1
                voice_right += g == w
        pairs[0] += len(got & want)
        pairs[1] += len(got - want)
        pairs[2] += len(want - got)
    frame_scores = {f: _prf(*c) for f, c in per_frame.items()}
    total = [sum(c[i] for c in per_frame.values()) for i in range(3)]
    return {
        "cases": len(outcomes),
        "micro": _prf(*total),
        "macro_f1": round(sum(s["f1"] for s in frame_scores.values()) / len(frames), 3),
        "voice_accuracy": round(voice_right / voice_total, 3) if voice_total else 1.0,
        "voice_cases": voice_total,
        "pairs": _prf(*pairs),
        "frames": frame_scores,
        "languages": {lang: _prf(*c) for lang, c in sorted(per_language.items())},
    }


def evaluate(codebook: Codebook | None = None, folder: Path = LABELLED) -> dict[str, Any]:
    """{"full" | "dev" | "heldout": score(...)} over the labelled set."""
    codebook = codebook or load_codebook("builtin:belarus-prisoners")
    outcomes = run_cases(codebook, load_cases(folder))
    frames = codebook.frame_names()
    return {
        "full": score(outcomes, frames),
        "dev": score([o for o in outcomes if not o.case.heldout], frames),
        "heldout": score([o for o in outcomes if o.case.heldout], frames),
    }


def _row(name: str, s: dict[str, Any]) -> str:
    return (f"  {name:26} {s['precision']:5.2f} {s['recall']:5.2f} {s['f1']:5.2f}"
            f"   {s['tp']:4} {s['fp']:3} {s['fn']:3}")  # fmt: skip


def render(result: dict[str, Any]) -> str:
    lines = []
    for split in SPLITS:
        s = result[split]
        lines += [
            f"{split}: {s['cases']} cases - micro F1 {s['micro']['f1']:.2f}, macro F1 "
            f"{s['macro_f1']:.2f}, voice accuracy {s['voice_accuracy']:.2f} "
            f"(on {s['voice_cases']} frames found), frame:voice pair F1 {s['pairs']['f1']:.2f}",
            f"  {'':26} {'P':>5} {'R':>5} {'F1':>5}     tp  fp  fn",
        ]
        lines += [_row(frame, f) for frame, f in s["frames"].items()]
        lines += [_row(f"[{lang}]", f) for lang, f in s["languages"].items()]
        lines.append("")
    return "\n".join(lines)


def errors(codebook: Codebook, heldout: bool = False) -> Iterable[str]:
    """One line per case whose detected pairs differ from the expected ones."""
    cases = [c for c in load_cases() if c.heldout == heldout]
    for outcome in run_cases(codebook, cases):
        got, want = outcome.detected, outcome.case.expect
        if got != want:
            missing, extra = sorted(want - got), sorted(got - want)
            yield f"{outcome.case.id} [{outcome.case.shape}] missing {missing} extra {extra}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.framing_eval", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--errors", choices=("dev", "heldout"), help="list the cases missed")
    args = parser.parse_args(argv)
    codebook = load_codebook("builtin:belarus-prisoners")
    if args.errors:
        print("\n".join(errors(codebook, args.errors == "heldout")))
        return 0
    result = evaluate(codebook)
    print(render(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
