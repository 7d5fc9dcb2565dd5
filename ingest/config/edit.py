"""Edits of the config file the tool makes itself (``frames promote`` points a story at
its new codebook), checked by reading the result back."""

from __future__ import annotations

import json
import re
import tomllib

from ingest.config.stories import BUILTIN_STORIES
from ingest.model.errors import ConfigError


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


_TABLE = re.compile(r"^\s*\[")
_STORIES = re.compile(r"^\s*\[\[\s*stories\s*\]\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*(name|codebook)\s*=\s*(.*?)\s*$")


def point_story_at(config_text: str, story: str, codebook: str) -> str:
    """The config text with the story's ``codebook`` set to ``codebook``: the key is
    replaced or added in the story's ``[[stories]]`` table, or, for the built-in story
    used because none is configured, a ``[[stories]]`` table is appended with its query.

    Checked by reading the result back: anything else in the file must read the same
    (a ConfigError asks for the edit by hand when the layout defeats this)."""
    before = tomllib.loads(config_text)
    lines = config_text.splitlines()
    edited = _edit_story_table(lines, story, f"codebook = {toml_string(codebook)}")
    if edited is None:
        if before.get("stories") or story not in BUILTIN_STORIES:
            raise ConfigError(f"story {story!r} is not in the config file")
        table = ["", "[[stories]]", f"name = {toml_string(story)}",
                 f"query = {toml_string(BUILTIN_STORIES[story])}",
                 f"codebook = {toml_string(codebook)}"]  # fmt: skip
        edited = [*lines, *table]
    result = "\n".join(edited) + "\n"
    after = tomllib.loads(result)
    for entry in after.get("stories", []):
        if entry.get("name") == story:
            entry.pop("codebook", None)
    for entry in before.get("stories", []):
        if entry.get("name") == story:
            entry.pop("codebook", None)
    if "stories" not in before:
        after["stories"] = [s for s in after["stories"] if s.get("name") != story] or None
        after = {k: v for k, v in after.items() if v is not None}
    if after != before:
        raise ConfigError(f"could not edit the config safely: set codebook = {codebook!r} "
                          f"in the [[stories]] table of {story!r} by hand")  # fmt: skip
    return result


def _edit_story_table(lines: list[str], story: str, setting: str) -> list[str] | None:
    """Lines with ``setting`` put into the story's [[stories]] table, or None if absent."""
    start = None
    for i, line in enumerate([*lines, "[end]"]):
        if start is not None and _TABLE.match(line):
            keys = {m.group(1): j for j in range(start, i) if (m := _KEY.match(lines[j]))}
            name = _KEY.match(lines[keys["name"]]) if "name" in keys else None
            if name and _toml_value(name.group(2)) == story:
                if "codebook" in keys:
                    return [*lines[: keys["codebook"]], setting, *lines[keys["codebook"] + 1 :]]
                return [*lines[: keys["name"] + 1], setting, *lines[keys["name"] + 1 :]]
            start = None
        if _STORIES.match(line):
            start = i + 1
    return None


def _toml_value(text: str) -> object:
    try:
        return tomllib.loads(f"v = {text}").get("v")
    except tomllib.TOMLDecodeError:
        return None
