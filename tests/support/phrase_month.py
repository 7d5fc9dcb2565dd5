"""A month of invented coverage in English, Russian and Belarusian in which new phrases
appear on known days (for the emerging-phrase tests), after a quarter of quiet coverage
(the 90-day baseline the statistic compares with). All text is written for the tests.

Background: every day one article per language, each from one of two outlets, built from
small word lists so that no phrase bursts. On top of it, in the month (days 90-119):

* day 110: "prisoner airlift" in 10 English articles from 3 outlets
* day 114: "ночной конвой" in 10 Russian articles from 3 outlets
* day 117: "шэрая зона" in 10 Belarusian articles from 3 outlets

each inside otherwise varied sentences, and phrases that must not fire: "harbour meeting"
8 times from one outlet only (day 102), "вечерний брифинг" only 4 times (day 105),
"evening convoy" 8 times but only inside quotations (day 108), and one steady phrase used
every day ("lakeside court").
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

T0 = datetime(2025, 9, 1, 7, 0, tzinfo=UTC)
DAYS = 120
MONTH_START = 90
FIRES = {"prisoner airlift": 110, "ночной конвой": 114, "шэрая зона": 117}
SILENT = ("harbour meeting", "вечерний брифинг", "evening convoy", "lakeside court")


@dataclass(frozen=True)
class Item:
    n: int
    day: int
    outlet: str
    group: str
    language: str
    title: str
    text: str

    @property
    def when(self) -> datetime:
        return T0 + timedelta(days=self.day, minutes=self.n)


def _w(text: str) -> list[str]:
    return text.split()


_WORDS = {
    "en": (
        _w(
            "Belarus Minsk officials lawyers families observers diplomats relatives monitors "
            "reporters"
        ),
        _w("reviewed discussed listed recorded counted visited opened closed examined compared"),
        _w(
            "documents appeals hearings letters registers archives budgets timetables "
            "inventories statements"
        ),
        _w("yesterday quietly again slowly publicly carefully separately formally briefly locally"),
    ),
    "ru": (
        _w(
            "чиновники адвокаты родственники наблюдатели дипломаты журналисты эксперты "
            "депутаты волонтёры сотрудники"
        ),
        _w(
            "обсудили изучили перечислили записали посчитали посетили описали опубликовали "
            "сравнили проверили"
        ),
        _w("документы апелляции заседания письма реестры архивы бюджеты графики списки протоколы"),
        _w("вчера тихо снова медленно публично осторожно отдельно формально кратко заранее"),
    ),
    "be": (
        _w(
            "чыноўнікі адвакаты сваякі назіральнікі дыпламаты журналісты эксперты "
            "дэпутаты валанцёры супрацоўнікі"
        ),
        _w(
            "абмеркавалі вывучылі пералічылі запісалі палічылі наведалі апісалі апублікавалі "
            "параўналі праверылі"
        ),
        _w("дакументы апеляцыі пасяджэнні лісты рэестры архівы бюджэты графікі спісы пратаколы"),
        _w("учора ціха зноў павольна публічна асцярожна асобна фармальна коратка загадзя"),
    ),
}
_TITLES = {"en": "Belarus prisoners update", "ru": "Беларусь: новости о заключённых",
           "be": "Беларусь: навіны пра вязняў"}  # fmt: skip
_OUTLETS = {
    "en": (("wire.example", "western"), ("herald.example", "western"),
           ("daily.example", "western")),
    "ru": (("state.example", "ru_state"), ("mirror.example", "ru_independent"),
           ("echo.example", "ru_independent")),
    "be": (("svaboda.example", "by_independent"), ("nasha.example", "by_independent"),
           ("belta.example", "by_state")),
}  # fmt: skip
_NEW = {"prisoner airlift": "en", "ночной конвой": "ru", "шэрая зона": "be"}


def _sentence(rng: random.Random, language: str, middle: str = "") -> str:
    subjects, verbs, objects, adverbs = _WORDS[language]
    words = [rng.choice(subjects), rng.choice(verbs), middle or rng.choice(objects),
             rng.choice(adverbs)]  # fmt: skip
    return " ".join(words).capitalize() + "."


def _background(rng: random.Random, n: int, day: int, language: str, extra: str = "") -> Item:
    outlet, group = _OUTLETS[language][(day + n) % 2]
    sentences = [_sentence(rng, language) for _ in range(4)]
    if extra:
        sentences.insert(1, extra)
    return Item(n, day, outlet, group, language, _TITLES[language], " ".join(sentences))


def month() -> list[Item]:
    """The month's articles, in no particular order of arrival."""
    rng = random.Random(20250901)
    items: list[Item] = []
    for day in range(DAYS):
        for language in ("en", "ru", "be"):
            steady = "The lakeside court sat again." if language == "en" else ""
            items.append(_background(rng, len(items) + 1, day, language, steady))
    for phrase, day in FIRES.items():
        language = _NEW[phrase]
        subjects, verbs, _, adverbs = _WORDS[language]
        for k in range(10):  # each with other words around the phrase
            outlet, group = _OUTLETS[language][k % 3]
            text = f"{subjects[k]} {verbs[(3 * k) % 10]} {phrase} {adverbs[(7 * k) % 10]}."
            items.append(Item(len(items) + 1, day, outlet, group, language,
                              _TITLES[language], text))  # fmt: skip
    for _ in range(8):  # one outlet only
        text = _sentence(rng, "en", "harbour meeting") + " " + _sentence(rng, "en")
        items.append(Item(len(items) + 1, 102, "herald.example", "western", "en",
                          _TITLES["en"], text))  # fmt: skip
    for k in range(4):  # too few uses
        outlet, group = _OUTLETS["ru"][k % 2]
        text = _sentence(rng, "ru", "вечерний брифинг") + " " + _sentence(rng, "ru")
        items.append(Item(len(items) + 1, 105, outlet, group, "ru", _TITLES["ru"], text))
    for k in range(8):  # quoted only: not the outlets' own voice
        outlet, group = _OUTLETS["en"][k % 3]
        text = (f'"The evening convoy will carry {k + 3} more people," a border guard told '
                "reporters. " + _sentence(rng, "en"))  # fmt: skip
        items.append(Item(len(items) + 1, 108, outlet, group, "en", _TITLES["en"], text))
    return items
