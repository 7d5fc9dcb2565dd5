"""Codebooks: the built-in one, loading user codebooks, and clear errors naming the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.framing.codebook import (
    BUILTIN_PREFIX,
    Codebook,
    Example,
    Frame,
    builtin_codebook_names,
    load_codebook,
    parse_codebook,
    parse_cue,
)
from ingest.framing.detect import detect_frames
from ingest.model.errors import ConfigError

DESIGN_FRAMES = (
    "political_prisoners", "criminals_extremists", "humanitarian_pardon", "transactional_deal",
    "hostage_diplomacy", "revolving_door", "forced_exile", "sovereignty_interference",
    "diplomatic_thaw", "geopolitics_russia", "abuse_conditions", "regime_legitimacy",
)  # fmt: skip
BUILTIN = load_codebook("builtin:belarus-prisoners")
MINIMAL = """
name = "tiny"
[frames.weather]
description = "storms"
cues.en = ["storm*"]
"""


def _examples() -> list[tuple[str, Example]]:
    return [(frame.name, ex) for frame in BUILTIN.frames for ex in frame.examples]


# ------------------------------------------------------------------------ built-in


def test_builtin_codebook_has_the_design_frames() -> None:
    assert "belarus-prisoners" in builtin_codebook_names()
    assert BUILTIN.frame_names() == DESIGN_FRAMES
    assert BUILTIN.builtin and BUILTIN.source == "builtin:belarus-prisoners"
    russian = BUILTIN.language("ru")
    assert russian is not None and russian.stemmer == "russian"


@pytest.mark.parametrize("frame", BUILTIN.frames, ids=lambda f: f.name)
def test_every_frame_covers_the_languages(frame: Frame) -> None:
    assert {"en", "ru", "be", "uk", "pl"} <= {cue.language for cue in frame.cues}
    assert {"en", "ru", "be"} <= {ex.language for ex in frame.examples}
    assert frame.description and frame.typical_of


@pytest.mark.parametrize(
    ("frame", "example"), _examples(), ids=[f"{f}-{e.language}-{e.voice}" for f, e in _examples()]
)
def test_codebook_examples_are_detected(frame: str, example: Example) -> None:
    """Each example sentence is detected as its frame in its voice ('none': not at all)."""
    voices = {h.voice for h in detect_frames(BUILTIN, "", example.text, example.language)
              if h.frame == frame}  # fmt: skip
    assert voices == (set() if example.voice == "none" else {example.voice})


def test_builtin_file_is_packaged_and_left_alone() -> None:
    path = Path(__file__).parents[1] / "ingest" / "framing" / "codebooks" / "belarus-prisoners.toml"
    before = path.stat().st_mtime_ns
    load_codebook("builtin:belarus-prisoners")
    assert path.stat().st_mtime_ns == before
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text("utf-8")
    assert '"codebooks/*.toml"' in pyproject


# ------------------------------------------------------------------------ user codebooks


def test_user_codebook_from_a_relative_path(tmp_path: Path) -> None:
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / "tiny.toml").write_text(MINIMAL, "utf-8")
    codebook = load_codebook("books/tiny.toml", base_dir=tmp_path)
    assert codebook.name == "tiny" and not codebook.builtin
    assert codebook.frame_names() == ("weather",)
    assert codebook.source == str(tmp_path / "books" / "tiny.toml")


def test_fingerprint_follows_detection_inputs_only() -> None:
    base = parse_codebook(MINIMAL)
    reworded = parse_codebook(MINIMAL.replace('"storms"', '"bad weather"') + "# comment\n")
    changed = parse_codebook(MINIMAL.replace('"storm*"', '"storm*", "gale*"'))
    assert base == reworded and hash(base) == hash(reworded)
    assert base != changed and base.fingerprint != changed.fingerprint


def test_codebook_is_hashable_and_frozen() -> None:
    assert {BUILTIN: 1}[load_codebook("builtin:belarus-prisoners")] == 1
    with pytest.raises(AttributeError):
        BUILTIN.name = "other"  # type: ignore[misc]
    assert isinstance(BUILTIN, Codebook)


# ------------------------------------------------------------------------ cue syntax


def test_cue_syntax() -> None:
    cue = parse_cue("so-called (political|polit*) ... =prisoner", "en")
    kinds = [word.alternatives for word in cue.words]
    assert kinds == [
        (("exact", "so"),), (("exact", "called"),),
        (("exact", "political"), ("prefix", "polit")), (("exact", "prisoner"),),
    ]  # fmt: skip
    assert [w.gap_before for w in cue.words] == [False, False, False, True]
    stemmed = parse_cue("узник =совести", "ru", stemmed=True)
    assert [w.alternatives[0][0] for w in stemmed.words] == ["stem", "exact"]
    assert parse_cue("Ўнутраных", "be").words[0].alternatives == (("exact", "унутраных"),)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("по*", "too short"),
        ("... prisoners", "'...' must stand between"),
        ("prisoners ...", "'...' must stand between"),
        ("a ... ... b", "'...' must stand between"),
        ("(public order|state)", "not a word"),
        ("(so-called|x)", "each alternative"),
        ("pri*soner", "not a word"),
        ("", "non-empty"),
    ],
)
def test_bad_cues_are_named(pattern: str, message: str) -> None:
    text = MINIMAL.replace('"storm*"', f'"storm*", "{pattern}"')
    with pytest.raises(ConfigError, match=re.escape(message)) as exc:
        parse_codebook(text, "x.toml")
    assert "codebook x.toml: frames.weather.cues.en[1]" in str(exc.value)


# ------------------------------------------------------------------------ errors


CUES = 'cues.en = ["storm*"]'
EXAMPLE = "examples = [{ language = 'en', text = 'x', %s }]\n"
W = "frames.weather"
ERRORS = [  # (replace this, with this (or append it when the first is empty), key, message)
    ("", "colour = 1\n", f"{W}.colour", "unknown key"),
    ('name = "tiny"', 'name = "tiny"\ncolour = 1', "codebook.colour", "unknown key"),
    ('name = "tiny"', 'name = "tiny"\nformat = 2', "codebook.format", "expected 1"),
    ('name = "tiny"', "name = 3", "codebook.name", "expected a string"),
    ('name = "tiny"', "", "codebook.name", "expected a string"),
    ("[frames.weather]", "[frames.Weather]", "frames.Weather", "lowercase"),
    (CUES, "", f"{W}.cues", "at least one cue"),
    (CUES, 'cues.en = "storm*"', f"{W}.cues.en", "array of strings"),
    (CUES, "cues.en = [1]", f"{W}.cues.en[0]", "a string"),
    ("cues.en", "cues.english", f"{W}.cues.english", "2-3 lowercase letters"),
    ("", "typical_of = 'state'\n", f"{W}.typical_of", "array of strings"),
    ("", "examples = [{ language = 'en' }]\n", f"{W}.examples[0].text", "a sentence"),
    ("", EXAMPLE % "voice = 'loud'", f"{W}.examples[0].voice", "own, quoted, distanced or none"),
    ("", EXAMPLE % "lang = 'en'", f"{W}.examples[0].lang", "unknown key"),
    ("", "[languages.ru]\nstemmer = 'klingon'\n", "languages.ru.stemmer", "unknown Snowball"),
    ("", "[languages.ru]\nreporting = ['по*']\n", "languages.ru.reporting[0]", "too short"),
    ("", "[languages.ru]\nvoices = []\n", "languages.ru.voices", "unknown key"),
    ("", "description = 'again'\n", "", "not valid TOML"),
]


@pytest.mark.parametrize(
    ("old", "new", "key", "message"), ERRORS, ids=[e[2] or e[3] for e in ERRORS]
)
def test_errors_name_the_key(old: str, new: str, key: str, message: str) -> None:
    text = MINIMAL.replace(old, new) if old else MINIMAL + new
    with pytest.raises(ConfigError) as exc:
        parse_codebook(text, "x.toml")
    assert str(exc.value).startswith("codebook x.toml: ")
    assert key in str(exc.value) and message in str(exc.value)


def test_no_frames_is_an_error() -> None:
    with pytest.raises(ConfigError, match="frames: expected a table of frames"):
        parse_codebook('name = "empty"\n', "x.toml")
    with pytest.raises(ConfigError, match="at least one frame"):
        parse_codebook('name = "empty"\n[frames]\n', "x.toml")


def test_unknown_builtin_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such built-in codebook.*builtin:belarus-prisoners"):
        load_codebook(BUILTIN_PREFIX + "nope")
    with pytest.raises(ConfigError, match="no such built-in"):
        load_codebook(BUILTIN_PREFIX + "../stories")
    with pytest.raises(ConfigError, match="cannot read it"):
        load_codebook(str(tmp_path / "missing.toml"))
    (tmp_path / "latin1.toml").write_bytes(b'name = "\xe9"\n')
    with pytest.raises(ConfigError, match="cannot read it"):
        load_codebook("latin1.toml", base_dir=tmp_path)


def test_weak_cues_are_parsed_and_change_the_fingerprint() -> None:
    strong = parse_codebook('name = "t"\n[frames.thaw]\ncues.en = ["thaw", "dialogue"]\n')
    weak = parse_codebook('name = "t"\n[frames.thaw]\ncues.en = ["thaw"]\nweak.en = ["dialogue"]\n')
    assert [(c.pattern, c.strength) for c in weak.frames[0].cues] == [
        ("thaw", "strong"), ("dialogue", "weak")
    ]  # fmt: skip
    assert strong.fingerprint != weak.fingerprint
    hits = detect_frames(weak, "", "A dialogue began.", "en")
    assert [(h.frame, h.strength) for h in hits] == [("thaw", "weak")]
    with pytest.raises(ConfigError, match=re.escape("frames.thaw.weak.en[0]")):
        parse_codebook('name = "t"\n[frames.thaw]\ncues.en = ["thaw"]\nweak.en = ["(a"]\n')


def test_builtin_codebook_has_weak_cues_and_every_language() -> None:
    weak = {c.language for f in BUILTIN.frames for c in f.cues if c.strength == "weak"}
    assert weak >= {"en", "ru", "be", "uk", "pl", "lt", "de"}
    for frame in BUILTIN.frames:
        assert {c.language for c in frame.cues} >= {"en", "ru", "be", "uk", "pl", "lt", "de"}
