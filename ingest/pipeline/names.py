"""Name keys: one key for one person or place however a language spells it.

Coverage of the default story spells one name in Belarusian and Russian Cyrillic, Polish
and Lithuanian Latin and English: Зянковіч, Зенькович, Zienkovich, Ziankovič, Ziankowicz;
Лукашэнка, Лукашенко, Łukaszenka, Lukashenko; Ціханоўская, Тихановская, Cichanouska,
Tsikhanouskaya. :func:`name_key` reduces a word to a consonant skeleton, spelled the same
way for all of them:

1. letters become sounds, by script and language: Cyrillic letter by letter (ц, ч, ш,
   ж, х), Polish digraphs in Polish text (cz, sz, rz, ch, w), Lithuanian and Czech
   carons (č, š, ž) and English digraphs (ch, sh, kh, zh, ts) otherwise;
2. sounds that the spellings disagree on are merged: g, h and kh (Belarusian and
   Ukrainian г, Russian г, х); ts and t (Belarusian ц where Russian has т: Ціханоўскі,
   Тихановский); dz and d; v after a vowel before a consonant or at the end is a vowel
   (Belarusian ў, Polish ow: Ціханоўская, Тихановская);
3. case endings with a consonant are cut (Коўлам, Джонам), vowels, soft signs and
   doubled letters are dropped, and the skeleton is cut to its first ``KEY_SOUNDS``
   sounds, which absorbs what endings remain (Łukaszenki, Bialackiego).

Pure, no I/O; used by event clusters (``ingest.pipeline.clusters``) and wire stories
(``ingest.pipeline.wire``). Keys are short and may collide for unrelated short names;
callers weigh them with other evidence.
"""

from __future__ import annotations

import re
from functools import lru_cache

KEY_SOUNDS = 4

# One character per sound: C = ch (ч, cz, č), S = sh (ш, щ, sz, š), Z = zh (ж, rz, ż, ž).
_CYRILLIC = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "h", "д": "d", "е": "e", "є": "e",
    "ё": "e", "ж": "Z", "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k",
    "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ў": "u", "ф": "f", "х": "h", "ц": "t", "ч": "C", "ш": "S", "щ": "S",
    "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "u", "я": "a", "'": "", "’": "", "ʼ": "",
})  # fmt: skip
_LATIN_LETTERS = str.maketrans({
    "č": "C", "ć": "t", "š": "S", "ś": "s", "ž": "Z", "ż": "Z", "ź": "Z", "ł": "l",
    "ń": "n", "ą": "a", "ę": "e", "ė": "e", "į": "i", "ų": "u", "ū": "u", "ó": "o",
    "á": "a", "é": "e", "í": "i", "ú": "u", "ý": "y", "ř": "Z", "ň": "n", "ť": "t",
    "ď": "d", "ä": "a", "ö": "o", "ü": "u", "ß": "s", "'": "", "’": "", "ʼ": "",
})  # fmt: skip
_POLISH = (("szcz", "S"), ("chr", "kr"), ("cz", "C"), ("sz", "S"), ("rz", "Z"), ("ch", "h"),
           ("dz", "d"), ("ci", "ti"), ("c", "t"), ("w", "v"))  # fmt: skip
_ENGLISH = (("shch", "S"), ("chr", "kr"), ("tch", "C"), ("sch", "S"), ("ch", "C"), ("sh", "S"),
            ("zh", "Z"), ("kh", "h"), ("ts", "t"), ("tz", "t"), ("dz", "d"), ("ph", "f"),
            ("th", "t"), ("ck", "k"), ("x", "ks"), ("q", "k"), ("w", "v"), ("j", "Z"))  # fmt: skip
_SOFT_C = re.compile(r"c(?=[eiy])")
_SILENT_H = re.compile(r"(?<=[aeiou])h(?![aeiouy])")  # John, Sarah
# Case endings with a consonant (instrumental, locative, ...), cut when a stem of at least
# four letters stays: Коўлам, Джонам, Смітам, Вильнюсом, Сергей.
_ENDING = re.compile(r"(?<=\w{4})(?:ами|ями|ам|ом|ем|ям|ым|им|ах|ях|ою|ею|ой|ей|ай|ami|ach|em|om)$")
_VOWELS = frozenset("aeiouy")
_MERGE = {"g": "h", "j": "", "c": "k"}  # j: Polish and Lithuanian й (English j is Z)
_CYRILLIC_WORD = re.compile(r"[\u0400-\u04ff]")


@lru_cache(maxsize=65536)
def name_key(word: str, language: str | None = None) -> str:
    """The consonant skeleton of a name (any case, any of the covered spellings);
    ``language``: the article's language, for Latin letters (Polish digraphs in "pl")."""
    sounds = _sounds(word.casefold(), language)
    kept: list[str] = []
    for index, sound in enumerate(sounds):
        sound = _MERGE.get(sound, sound)
        if not sound or sound in _VOWELS:
            continue
        if (
            sound == "v"
            and index > 0
            and sounds[index - 1] in _VOWELS
            and _before_consonant(sounds, index)
        ):
            continue  # ў, ow, ov before a consonant: a vowel
        if kept and kept[-1] == sound:
            continue
        kept.append(sound)
        if len(kept) == KEY_SOUNDS:
            break
    return "".join(kept)


def _before_consonant(sounds: str, index: int) -> bool:
    following = sounds[index + 1 : index + 2]
    return not following or following not in _VOWELS


def _sounds(word: str, language: str | None) -> str:
    word = _ENDING.sub("", word)
    if _CYRILLIC_WORD.search(word):
        return word.replace("дж", "Z").replace("дз", "д").translate(_CYRILLIC)
    word = word.translate(_LATIN_LETTERS)
    pairs = _POLISH if language == "pl" else _ENGLISH
    if language != "pl":
        word = _SILENT_H.sub("", _SOFT_C.sub("s", word))
    for written, sound in pairs:
        if written in word:
            word = word.replace(written, sound)
    return word
