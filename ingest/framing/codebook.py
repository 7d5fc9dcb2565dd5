"""Codebooks: a story's frames and the cues that signal them, in a TOML file.

``load_codebook("builtin:belarus-prisoners")`` reads a codebook shipped in
``ingest/framing/codebooks/``; any other reference is a path (relative to ``base_dir``, usually
the config file's folder). Built-in codebooks are read-only: the tool never edits them.

Format::

    format = 1
    name = "belarus-prisoners"
    description = "..."

    extends = "belarus-prisoners"   # optional: start from another codebook (a built-in
                                # name or a path relative to this file) and add frames
                                # and language words to it; its frames come first

    [languages.ru]              # optional, per language
    stemmer = "russian"         # a Snowball algorithm: bare cue words match by stem
    reporting = ["пишет"]       # extra speech words, added to ingest.framing.resources's
                                # lists: reporting (verbs of saying: quoted), labelling
                                # (calls them, presents ... as: distanced), sources
                                # (according to), framings (in the official version),
                                # reportive (Konjunktiv I, мол), rejecting (denies that),
                                # scare_markers, negators, transparent, post_negators,
                                # speaker_words, rubrics

    [frames.political_prisoners]
    description = "detainees as political prisoners"
    typical_of = ["independent", "western"]     # whose framing it usually is
    cues.en = ["political prisoner*", "prisoner* of conscience"]   # strong cues
    cues.ru = ["политзаключённый", "узник* совести"]
    weak.en = ["viasna"]        # weak cues: detected like the others, but one weak cue
                                # alone (and no second cue of the frame in the article)
                                # is too slight for first_seen / source_shift flags
    negative.en = ["former political prisoner* ... (award*|prize*)"]
    examples = [
      { language = "en", text = "Belarus holds over 1,100 political prisoners." },
      { language = "en", voice = "quoted", text = "..." },
      { language = "en", voice = "none", text = "They are not political prisoners." },
    ]

Cue syntax — a cue is a sequence of words, matched within one sentence, folded like the
text (case, Latin accents, ё→е, ў→у; apostrophes dropped, hyphens split words)::

    word      in a language with a ``stemmer``: any word with the same Snowball stem
              (политзаключённых ~ политзаключённый); elsewhere: exactly this word
    =word     exactly this word, even where a stemmer is set
    word*     any word starting with ``word`` (at least 3 letters): палітвяз* matches
              палітвязні, палітвязняў, палітвязням — this is how languages without a
              stemmer (Belarusian, Ukrainian, Polish, English) handle inflection
    (a|b*)    any one of the alternatives (each a single word of the kinds above)
    ...       up to ``MAX_GAP`` other words, within one clause

``negative`` cues cancel an overlapping cue of the same frame (another sense of the word:
"ministry of internal affairs" is not "internal affairs"). Grammatical negation ("not
political prisoners") and denial ("denies that …") are handled by the language's
``negators`` and ``rejecting`` words in ``ingest.framing.detect``. A cue's voice and
speaker come from the language's speech words (``ingest.framing.voice``).
Each example must be detected as its frame in its ``voice`` (default ``own``; ``none``:
must not be detected); a test checks this for the built-in codebooks.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import Stemmer

from ingest.config.edit import toml_string
from ingest.config.settings import StorySettings
from ingest.framing.resources import RESOURCE_KEYS, LanguageResources
from ingest.framing.sentences import fold_words
from ingest.model.errors import ConfigError
from ingest.model.frames import VOICES, Strength

FORMAT_VERSION = 1
BUILTIN_PREFIX = "builtin:"
MAX_GAP = 4
MIN_PREFIX = 3
WordKind = Literal["exact", "prefix", "stem"]
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_BUILTIN_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_TOP_KEYS = {"format", "name", "description", "extends", "languages", "frames"}
MAX_EXTENDS = 4
_FRAME_KEYS = {"description", "typical_of", "cues", "weak", "negative", "examples"}
_EXAMPLE_KEYS = {"language", "text", "voice"}


@dataclass(frozen=True)
class CueWord:
    """One word position of a cue: any of its (kind, folded text) alternatives."""

    alternatives: tuple[tuple[WordKind, str], ...]
    gap_before: bool = False  # up to MAX_GAP other words may stand before it


@dataclass(frozen=True)
class Cue:
    pattern: str  # as written in the codebook
    language: str
    words: tuple[CueWord, ...]
    strength: Strength = "strong"  # "weak": alone, too slight to date a frame by


@dataclass(frozen=True)
class Example:
    language: str
    text: str
    voice: str  # own | quoted | distanced | none


@dataclass(frozen=True)
class Frame:
    name: str
    description: str
    typical_of: tuple[str, ...]
    cues: tuple[Cue, ...]
    negative: tuple[Cue, ...]
    examples: tuple[Example, ...]


@dataclass(frozen=True)
class Language:
    code: str
    stemmer: str | None
    resources: LanguageResources  # this codebook's additions to ingest.framing.voice's defaults


@dataclass(frozen=True, eq=False)
class Codebook:
    """A parsed, validated codebook. Equal (and hashed) by ``fingerprint``, which changes
    exactly when detection could change (cues, negatives, languages, frame names and
    order), not for descriptions, examples or comments."""

    name: str
    description: str
    source: str  # "builtin:NAME" or the file's path
    languages: tuple[Language, ...]
    frames: tuple[Frame, ...]
    fingerprint: str

    @property
    def builtin(self) -> bool:
        return self.source.startswith(BUILTIN_PREFIX)

    def frame_names(self) -> tuple[str, ...]:
        return tuple(frame.name for frame in self.frames)

    def language(self, code: str) -> Language | None:
        return next((lang for lang in self.languages if lang.code == code), None)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Codebook) and other.fingerprint == self.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)


# ------------------------------------------------------------------------ cue syntax


def _parse_item(item: str, stemmed: bool, where: str) -> list[CueWord]:
    """One whitespace-separated item of a cue: a word (which may fold to several, as
    "so-called" does) or an alternation."""
    if item.startswith("(") and item.endswith(")"):
        alternatives = [_parse_word(alt, stemmed, where) for alt in item[1:-1].split("|")]
        if any(len(alt) != 1 for alt in alternatives):
            raise ConfigError(f"{where}: each alternative in {item!r} must be one word")
        return [CueWord(tuple(alt[0].alternatives[0] for alt in alternatives))]
    return _parse_word(item, stemmed, where)


def _parse_word(item: str, stemmed: bool, where: str) -> list[CueWord]:
    exact, prefix = item.startswith("="), item.endswith("*")
    body = item[1 if exact else 0 : -1 if prefix else None]
    forms = fold_words(body)
    if not forms or "*" in body or "=" in body or "(" in body or "|" in body:
        raise ConfigError(f"{where}: {item!r} is not a word, word*, =word or (a|b)")
    if prefix and len(forms[-1]) < MIN_PREFIX:
        raise ConfigError(f"{where}: prefix {item!r} is too short (at least {MIN_PREFIX} letters)")
    bare: WordKind = "stem" if stemmed and not exact else "exact"
    kinds: list[WordKind] = [bare] * (len(forms) - 1) + ["prefix" if prefix else bare]
    return [CueWord(((kind, form),)) for kind, form in zip(kinds, forms, strict=True)]


def parse_cue(
    pattern: str,
    language: str,
    stemmed: bool = False,
    where: str = "cue",
    strength: Strength = "strong",
) -> Cue:
    """A cue pattern (see the module docstring) as matchable words; ConfigError if bad."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise ConfigError(f"{where}: expected a non-empty string, got {pattern!r}")
    words: list[CueWord] = []
    gap = False
    for item in pattern.replace("…", " ... ").split():
        if item == "...":
            if not words or gap:
                raise ConfigError(f"{where}: '...' must stand between two words in {pattern!r}")
            gap = True
            continue
        parsed = _parse_item(item, stemmed, where)
        if gap:
            parsed[0] = CueWord(parsed[0].alternatives, gap_before=True)
            gap = False
        words.extend(parsed)
    if gap:
        raise ConfigError(f"{where}: '...' must stand between two words in {pattern!r}")
    return Cue(pattern, language, tuple(words), strength)


# ------------------------------------------------------------------------ validation


def _expect(value: Any, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{where}: expected {what}, got {type(value).__name__} {value!r}")
    return value


def _check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        known = ", ".join(sorted(allowed))
        raise ConfigError(f"{where}.{unknown[0]}: unknown key (expected one of: {known})")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    _expect(value, list, where, "an array of strings")
    for i, item in enumerate(value):
        _expect(item, str, f"{where}[{i}]", "a string")
    return tuple(value)


def _parse_language(code: str, table: Any, where: str) -> Language:
    if not _LANGUAGE.match(code):
        raise ConfigError(f"{where}: language code must be 2-3 lowercase letters, got {code!r}")
    _expect(table, dict, where, "a table")
    _check_keys(table, {"stemmer", *RESOURCE_KEYS}, where)
    stemmer = table.get("stemmer")
    if stemmer is not None and stemmer not in Stemmer.algorithms():
        names = ", ".join(Stemmer.algorithms())
        raise ConfigError(f"{where}.stemmer: unknown Snowball algorithm {stemmer!r} ({names})")
    extra = {}
    for key in RESOURCE_KEYS:
        patterns = _strings(table.get(key, []), f"{where}.{key}")
        for i, pattern in enumerate(patterns):
            parse_cue(pattern, code, where=f"{where}.{key}[{i}]")
        extra[key] = patterns
    return Language(code, stemmer, LanguageResources(**extra))


def _parse_cues(
    table: Any, stemmers: dict[str, bool], where: str, strength: Strength = "strong"
) -> tuple[Cue, ...]:
    _expect(table, dict, where, "a table of language = [cue patterns]")
    cues = []
    for language, patterns in table.items():
        if not _LANGUAGE.match(language):
            raise ConfigError(f"{where}.{language}: language code must be 2-3 lowercase letters")
        for i, pattern in enumerate(_strings(patterns, f"{where}.{language}")):
            stemmed = stemmers.get(language, False)
            where_i = f"{where}.{language}[{i}]"
            cues.append(parse_cue(pattern, language, stemmed, where_i, strength))
    return tuple(cues)


def _parse_example(item: Any, where: str) -> Example:
    _expect(item, dict, where, "a table with language and text")
    _check_keys(item, _EXAMPLE_KEYS, where)
    language = _expect(item.get("language"), str, f"{where}.language", "a language code")
    text = _expect(item.get("text"), str, f"{where}.text", "a sentence")
    voice = _expect(item.get("voice", "own"), str, f"{where}.voice", "a voice")
    if voice not in (*VOICES, "none"):
        raise ConfigError(f"{where}.voice: expected own, quoted, distanced or none, got {voice!r}")
    return Example(language, text, voice)


def _parse_frame(name: str, table: Any, stemmers: dict[str, bool]) -> Frame:
    where = f"frames.{name}"
    if not _NAME.match(name):
        raise ConfigError(f"{where}: frame names are lowercase letters, digits and _")
    _expect(table, dict, where, "a table")
    _check_keys(table, _FRAME_KEYS, where)
    description = _expect(table.get("description", ""), str, f"{where}.description", "a string")
    cues = _parse_cues(table.get("cues", {}), stemmers, f"{where}.cues")
    cues += _parse_cues(table.get("weak", {}), stemmers, f"{where}.weak", "weak")
    if not cues:
        raise ConfigError(f"{where}.cues: a frame needs at least one cue")
    examples = _expect(table.get("examples", []), list, f"{where}.examples", "an array")
    return Frame(
        name=name,
        description=description,
        typical_of=_strings(table.get("typical_of", []), f"{where}.typical_of"),
        cues=cues,
        negative=_parse_cues(table.get("negative", {}), stemmers, f"{where}.negative"),
        examples=tuple(_parse_example(e, f"{where}.examples[{i}]") for i, e in enumerate(examples)),
    )


def _fingerprint(data: dict[str, Any]) -> str:
    frames = {
        name: {k: v for k, v in table.items() if k in ("cues", "weak", "negative")}
        for name, table in data.get("frames", {}).items()
    }
    scored = {"languages": data.get("languages", {}), "frames": frames, "order": list(frames)}
    canonical = json.dumps(scored, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def build_codebook(data: dict[str, Any], source: str) -> Codebook:
    """A Codebook from parsed TOML data; ConfigError naming the key if it is invalid."""
    try:
        _check_keys(data, _TOP_KEYS, "codebook")
        version = data.get("format", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ConfigError(f"codebook.format: expected {FORMAT_VERSION}, got {version!r}")
        name = _expect(data.get("name"), str, "codebook.name", "a string")
        languages_table = _expect(data.get("languages", {}), dict, "languages", "a table")
        languages = tuple(
            _parse_language(code, table, f"languages.{code}")
            for code, table in languages_table.items()
        )
        stemmers = {lang.code: lang.stemmer is not None for lang in languages}
        frames_table = _expect(data.get("frames"), dict, "frames", "a table of frames")
        frames = tuple(_parse_frame(n, t, stemmers) for n, t in frames_table.items())
        if not frames:
            raise ConfigError("frames: a codebook needs at least one frame")
        description = _expect(data.get("description", ""), str, "description", "a string")
    except ConfigError as exc:
        raise ConfigError(f"codebook {source}: {exc}") from None
    return Codebook(name, description, source, languages, frames, _fingerprint(data))


def _merge(base: dict[str, Any], data: dict[str, Any], where: str) -> dict[str, Any]:
    """``data`` on top of the codebook it extends: frames appended (a frame may not be
    redefined), language words added, name and description taken from ``data``."""
    merged = {**base, **{k: v for k, v in data.items() if k not in ("frames", "languages")}}
    merged.pop("extends", None)
    frames = dict(_expect(base.get("frames", {}), dict, "frames", "a table"))
    for name, table in _expect(data.get("frames", {}), dict, f"{where}: frames", "a table").items():
        if name in frames:
            raise ConfigError(f"{where}: frames.{name}: already defined in the codebook it extends")
        frames[name] = table
    languages = {code: dict(table) for code, table in base.get("languages", {}).items()}
    for code, table in _expect(data.get("languages", {}), dict, "languages", "a table").items():
        into = languages.setdefault(code, {})
        for key, value in _expect(table, dict, f"languages.{code}", "a table").items():
            into[key] = [*into.get(key, []), *value] if isinstance(value, list) else value
    return {**merged, "frames": frames, "languages": languages}


def _read_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"codebook {source}: not valid TOML: {exc}") from None


def _resolve_extends(
    data: dict[str, Any], source: str, base_dir: Path | None, depth: int
) -> dict[str, Any]:
    if "extends" not in data:
        return data
    ref = data["extends"]
    if not isinstance(ref, str) or not ref:
        raise ConfigError(f"codebook {source}: extends: expected a codebook name or path")
    if depth >= MAX_EXTENDS:
        raise ConfigError(f"codebook {source}: extends: more than {MAX_EXTENDS} levels (a loop?)")
    if ref in builtin_codebook_names():
        ref = BUILTIN_PREFIX + ref
    base_text, base_source, base_base = _codebook_text(ref, base_dir)
    base = _resolve_extends(_read_toml(base_text, base_source), base_source, base_base, depth + 1)
    return _merge(base, data, f"codebook {source}")


def parse_codebook(text: str, source: str = "<string>", base_dir: Path | None = None) -> Codebook:
    """A Codebook from TOML text (``extends`` paths are relative to ``base_dir``)."""
    data = _read_toml(text, source)
    return build_codebook(_resolve_extends(data, source, base_dir, 0), source)


def builtin_codebook_names() -> tuple[str, ...]:
    """The names usable as ``builtin:NAME``."""
    folder = resources.files("ingest.framing") / "codebooks"
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")))


def builtin_codebook_dir() -> Path:
    """Where the built-in codebooks live (read-only for the tool)."""
    return Path(str(resources.files("ingest.framing") / "codebooks")).resolve()


def codebook_path(ref: str, base_dir: Path | None = None) -> Path | None:
    """The file a codebook reference names (None for ``builtin:NAME``)."""
    if ref.startswith(BUILTIN_PREFIX):
        return None
    path = Path(ref).expanduser()
    return base_dir / path if not path.is_absolute() and base_dir is not None else path


def _codebook_text(ref: str, base_dir: Path | None) -> tuple[str, str, Path | None]:
    """(TOML text, source name, folder its own references are relative to)."""
    if ref.startswith(BUILTIN_PREFIX):
        name = ref[len(BUILTIN_PREFIX) :]
        if not _BUILTIN_NAME.match(name) or name not in builtin_codebook_names():
            known = ", ".join(BUILTIN_PREFIX + n for n in builtin_codebook_names())
            raise ConfigError(f"codebook {ref}: no such built-in codebook (known: {known})")
        text = (resources.files("ingest.framing") / "codebooks" / f"{name}.toml").read_text("utf-8")
        return text, ref, None
    path = codebook_path(ref, base_dir)
    assert path is not None
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"codebook {path}: cannot read it: {exc}") from None
    return text, str(path), path.parent


def load_codebook(ref: str, base_dir: Path | None = None) -> Codebook:
    """``builtin:NAME`` or a path to a codebook TOML file (relative paths from base_dir)."""
    text, source, own_dir = _codebook_text(ref, base_dir)
    return parse_codebook(text, source, own_dir)


# ------------------------------------------------------------------------ writing


def user_codebook_text(name: str, extends: str) -> str:
    """A new user codebook that extends ``extends`` and has no frames of its own yet."""
    return (
        f"# The user codebook of the story {name}: it extends the built-in codebook {extends}\n"
        "# (which is never edited) with frames added by `framewatch frames promote`.\n"
        "# Edit it freely, then run `framewatch frames rescore`.\n\n"
        f"format = {FORMAT_VERSION}\nname = {toml_string(name)}\nextends = {toml_string(extends)}\n"
    )


def frame_text(name: str, description: str, cues: dict[str, list[str]]) -> str:
    """A ``[frames.NAME]`` table to append to a codebook file."""
    if not _NAME.match(name):
        raise ConfigError(f"frame name {name!r}: use lowercase letters, digits and _")
    lines = [f"\n[frames.{name}]", f"description = {toml_string(description)}"]
    for language, patterns in sorted(cues.items()):
        lines.append(f"cues.{language} = [{', '.join(toml_string(p) for p in patterns)}]")
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=64)
def _codebook(ref: str, base_dir: Path | None, stamp: float) -> Codebook:
    return load_codebook(ref, base_dir)


def story_codebook(story: StorySettings, base_dir: Path | None = None) -> Codebook:
    """The story's codebook, loaded once per process (again when its file changes)."""
    stamp = 0.0
    if not story.codebook.startswith(BUILTIN_PREFIX):
        path = Path(story.codebook)
        path = path if path.is_absolute() or base_dir is None else base_dir / path
        stamp = path.stat().st_mtime if path.exists() else 0.0
    return _codebook(story.codebook, base_dir, stamp)
