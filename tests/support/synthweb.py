"""The synthetic news web of the benchmarks and tests: articles, pages, feeds and a server.

One generator for every fixture web: the benchmark harness (``python -m bench``), the
crawl and service benchmarks (``bench.perf``), the crash and contention trials
(``bench.stress``) and the tests that check them all build their pages and feeds here.

Every text here is generated from the templates and word lists below (no real article is
quoted). Pages are about 30 kB of HTML with the boilerplate of a news site (navigation,
scripts, teasers, cookie banner, footer), in English, Russian, Belarusian, Polish and
Ukrainian. Most are on the default story (Belarus's political prisoners and the releases
negotiated with the US); ``OFF_STORY_SHARE`` are about other things; ``COPY_SHARE`` of the
pages are near copies of an earlier on-story page (sentences dropped and edited, as
outlets rewrite agency copy). The harness's server answers every request after a random
20-50 ms delay (``LATENCY_MS``), the round trip of a real news site, so concurrency
matters; the trials serve the same pages without delay (``NO_LATENCY``).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from ingest.demo.webfixture import FixtureServer, Route

LANGUAGES = ("en", "ru", "be", "pl", "uk")
OFF_STORY_SHARE = 0.15
COPY_SHARE = 0.20
LATENCY_MS = (20.0, 50.0)
NO_LATENCY = (0.0, 0.0)
T0 = datetime(2025, 9, 1, 6, 0, tzinfo=UTC)

# {n} a number, {city} a town, {name} a freed person, {day} a weekday.
LEADS = {
    "en": "Belarus freed {n} political prisoners on {day} after talks in {city} with a US envoy.",
    "ru": "Беларусь освободила {n} политзаключённых в {day} после переговоров с посланником США.",
    "be": "Беларусь вызваліла {n} палітвязняў у {day} пасля перамоў з пасланнікам ЗША.",
    "pl": "Białoruś uwolniła {n} więźniów politycznych w {day} po rozmowach z wysłannikiem USA.",
    "uk": "Білорусь звільнила {n} політв'язнів у {day} після переговорів зі спецпосланцем США.",
}
STORY = {
    "en": [
        "Rights defenders said {name} was among those driven to the Lithuanian border.",
        "Minsk called the pardons an act of humanism, not a concession to pressure.",
        "Critics described the detainees as hostages traded for sanctions relief on potash.",
        "The deal reportedly included easing restrictions on the state airline.",
        "Several freed prisoners were deported without passports against their will.",
        "New arrests were reported in {city} the same week, lawyers said.",
        "Officials in Minsk insisted the releases were an internal affair of a sovereign state.",
        "Relatives described torture and months of incommunicado detention in the colony.",
        "The opposition leader in exile said more than a thousand people remain behind bars.",
        "Washington praised the step as a sign of a cautious thaw in relations.",
    ],
    "ru": [
        "По словам правозащитников, среди вывезенных к литовской границе был {name}.",
        "В Минске назвали помилование проявлением гуманизма, а не уступкой давлению.",
        "Критики называют заключённых заложниками, которых обменяли на ослабление санкций.",
        "Сделка, по имеющимся данным, включала снятие ограничений с государственной авиакомпании.",
        "Часть освобождённых вывезли из страны без паспортов против их воли.",
        "На той же неделе в городе {city} сообщили о новых задержаниях, рассказали адвокаты.",
        "Официальный Минск настаивает, что освобождение является внутренним делом страны.",
        "Родственники рассказали о пытках и месяцах содержания в колонии без связи.",
        "Лидер оппозиции в изгнании заявила, что за решёткой остаются более тысячи человек.",
        "В Вашингтоне назвали этот шаг признаком осторожного потепления отношений.",
    ],
    "be": [
        "Па словах праваабаронцаў, сярод вывезеных да літоўскай мяжы быў {name}.",
        "У Мінску назвалі памілаванне праявай гуманізму, а не саступкай ціску.",
        "Крытыкі называюць вязняў закладнікамі, якіх абмянялі на саслабленне санкцый.",
        "Здзелка, паводле звестак, уключала зняцце абмежаванняў з дзяржаўнай авіякампаніі.",
        "Частку вызваленых вывезлі з краіны без пашпартоў насуперак іх волі.",
        "На тым жа тыдні ў горадзе {city} паведамілі пра новыя затрыманні, кажуць адвакаты.",
        "Афіцыйны Мінск сцвярджае, што вызваленне з'яўляецца ўнутранай справай краіны.",
        "Сваякі расказалі пра катаванні і месяцы ўтрымання ў калоніі без сувязі.",
        "Лідарка апазіцыі ў выгнанні заявіла, што за кратамі застаюцца больш за тысячу чалавек.",
        "У Вашынгтоне назвалі гэты крок прыкметай асцярожнага пацяплення адносін.",
    ],
    "pl": [
        "Według obrońców praw człowieka wśród wywiezionych na granicę litewską był {name}.",
        "Mińsk nazwał ułaskawienie aktem humanizmu, a nie ustępstwem wobec nacisków.",
        "Krytycy nazywają więźniów zakładnikami wymienionymi na złagodzenie sankcji.",
        "Umowa miała obejmować zniesienie ograniczeń dla państwowych linii lotniczych.",
        "Część uwolnionych wywieziono z kraju bez paszportów wbrew ich woli.",
        "W tym samym tygodniu w mieście {city} doszło do nowych aresztowań, mówią prawnicy.",
        "Oficjalny Mińsk twierdzi, że uwolnienie jest wewnętrzną sprawą suwerennego państwa.",
        "Krewni opowiadali o torturach i miesiącach izolacji w kolonii karnej.",
        "Liderka opozycji na emigracji powiedziała, że w więzieniach pozostaje ponad tysiąc osób.",
        "Waszyngton nazwał ten krok oznaką ostrożnego ocieplenia stosunków.",
    ],
    "uk": [
        "За словами правозахисників, серед вивезених до литовського кордону був {name}.",
        "У Мінську назвали помилування проявом гуманізму, а не поступкою тиску.",
        "Критики називають в'язнів заручниками, яких обміняли на послаблення санкцій.",
        "Угода, за даними джерел, передбачала зняття обмежень з державної авіакомпанії.",
        "Частину звільнених вивезли з країни без паспортів проти їхньої волі.",
        "Того ж тижня у місті {city} повідомили про нові затримання, кажуть адвокати.",
        "Офіційний Мінськ наполягає, що звільнення є внутрішньою справою країни.",
        "Родичі розповіли про катування та місяці утримання в колонії без зв'язку.",
        "Лідерка опозиції у вигнанні заявила, що за ґратами залишаються понад тисячу людей.",
        "У Вашингтоні назвали цей крок ознакою обережного потепління відносин.",
    ],
}
OFF_LEADS = {
    "en": "The city council of {city} approved a new tram line on {day} after a long debate.",
    "ru": "Городской совет {city} в {day} одобрил новую трамвайную линию после долгих споров.",
    "be": "Гарадская рада {city} у {day} ухваліла новую трамвайную лінію пасля доўгіх спрэчак.",
    "pl": "Rada miasta {city} w {day} zatwierdziła nową linię tramwajową po długiej debacie.",
    "uk": "Міська рада {city} у {day} схвалила нову трамвайну лінію після довгих суперечок.",
}
# Common everyday words (no story words) for filler sentences.
WORDS = {
    "en": [
        "the",
        "a",
        "of",
        "and",
        "to",
        "in",
        "that",
        "for",
        "on",
        "with",
        "as",
        "was",
        "by",
        "at",
        "from",
        "market",
        "weather",
        "season",
        "school",
        "garden",
        "river",
        "bridge",
        "festival",
        "museum",
        "train",
        "football",
        "team",
        "coach",
        "bakery",
        "price",
        "summer",
        "autumn",
        "morning",
        "evening",
        "local",
        "council",
        "road",
        "library",
        "report",
        "visitors",
        "music",
        "film",
        "harvest",
        "village",
        "farmers",
        "shop",
        "street",
        "water",
        "energy",
        "project",
        "plan",
        "budget",
        "young",
        "old",
        "new",
    ],
    "ru": [
        "и",
        "в",
        "на",
        "с",
        "по",
        "для",
        "что",
        "это",
        "как",
        "из",
        "от",
        "до",
        "при",
        "рынок",
        "погода",
        "сезон",
        "школа",
        "сад",
        "река",
        "мост",
        "фестиваль",
        "музей",
        "поезд",
        "футбол",
        "команда",
        "тренер",
        "пекарня",
        "цена",
        "лето",
        "осень",
        "утро",
        "вечер",
        "совет",
        "дорога",
        "библиотека",
        "отчёт",
        "гости",
        "музыка",
        "фильм",
        "урожай",
        "деревня",
        "фермеры",
        "магазин",
        "улица",
        "вода",
        "энергия",
        "проект",
        "план",
        "бюджет",
        "молодые",
        "старый",
        "новый",
        "большой",
    ],
    "be": [
        "і",
        "ў",
        "на",
        "з",
        "па",
        "для",
        "што",
        "гэта",
        "як",
        "ад",
        "да",
        "пры",
        "рынак",
        "надвор'е",
        "сезон",
        "школа",
        "сад",
        "рака",
        "мост",
        "фестываль",
        "музей",
        "цягнік",
        "футбол",
        "каманда",
        "трэнер",
        "пякарня",
        "цана",
        "лета",
        "восень",
        "раніца",
        "вечар",
        "рада",
        "дарога",
        "бібліятэка",
        "справаздача",
        "госці",
        "музыка",
        "фільм",
        "ураджай",
        "вёска",
        "фермеры",
        "крама",
        "вуліца",
        "вада",
        "энергія",
        "праект",
        "план",
        "бюджэт",
        "маладыя",
        "стары",
        "новы",
    ],
    "pl": [
        "i",
        "w",
        "na",
        "z",
        "po",
        "dla",
        "że",
        "to",
        "jak",
        "od",
        "do",
        "przy",
        "rynek",
        "pogoda",
        "sezon",
        "szkoła",
        "ogród",
        "rzeka",
        "most",
        "festiwal",
        "muzeum",
        "pociąg",
        "piłka",
        "drużyna",
        "trener",
        "piekarnia",
        "cena",
        "lato",
        "jesień",
        "rano",
        "wieczór",
        "rada",
        "droga",
        "biblioteka",
        "raport",
        "goście",
        "muzyka",
        "film",
        "zbiory",
        "wieś",
        "rolnicy",
        "sklep",
        "ulica",
        "woda",
        "energia",
        "projekt",
        "plan",
        "budżet",
        "młodzi",
        "stary",
        "nowy",
    ],
    "uk": [
        "і",
        "в",
        "на",
        "з",
        "по",
        "для",
        "що",
        "це",
        "як",
        "від",
        "до",
        "при",
        "ринок",
        "погода",
        "сезон",
        "школа",
        "сад",
        "річка",
        "міст",
        "фестиваль",
        "музей",
        "потяг",
        "футбол",
        "команда",
        "тренер",
        "пекарня",
        "ціна",
        "літо",
        "осінь",
        "ранок",
        "вечір",
        "рада",
        "дорога",
        "бібліотека",
        "звіт",
        "гості",
        "музика",
        "фільм",
        "урожай",
        "село",
        "фермери",
        "крамниця",
        "вулиця",
        "вода",
        "енергія",
        "проєкт",
        "план",
        "бюджет",
        "молоді",
        "старий",
        "новий",
        "їжа",
        "є",
    ],
}
NAMES = ["Ales Karpovich", "Maryna Sakalova", "Ihar Lutsevich", "Volha Dubrowskaya",
         "Pavel Hrynko", "Natallia Zhuk", "Andrei Kastsiuk", "Ksenia Barysava"]  # fmt: skip
CITIES = ["Hrodna", "Viciebsk", "Homiel", "Mahiliou", "Babruysk", "Navapolatsk"]
OFF_CITIES = ["Porto", "Ghent", "Bergen", "Lyon", "Graz", "Turku"]
DAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
    "ru": ["понедельник", "вторник", "среду", "четверг", "пятницу"],
    "be": ["панядзелак", "аўторак", "сераду", "чацвер", "пятніцу"],
    "pl": ["poniedziałek", "wtorek", "środę", "czwartek", "piątek"],
    "uk": ["понеділок", "вівторок", "середу", "четвер", "п'ятницю"],
}


@dataclass(frozen=True)
class Page:
    n: int
    language: str
    on_story: bool
    copy_of: int | None
    title: str
    sentences: tuple[str, ...]
    published: datetime


@dataclass
class Web:
    """What was generated: the folder served, the feed paths and the truth about pages."""

    root: Path
    feeds: list[str] = field(default_factory=list)  # paths, e.g. /feeds/f000.xml
    pages: list[Page] = field(default_factory=list)
    page_bytes: int = 0

    @property
    def on_story(self) -> int:
        return sum(p.on_story for p in self.pages)

    def summary(self) -> dict[str, object]:
        languages: dict[str, int] = {}
        for page in self.pages:
            languages[page.language] = languages.get(page.language, 0) + 1
        return {
            "feeds": len(self.feeds),
            "pages": len(self.pages),
            "on_story_pages": self.on_story,
            "off_story_pages": len(self.pages) - self.on_story,
            "near_copies": sum(p.copy_of is not None for p in self.pages),
            "languages": languages,
            "mean_page_kb": round(self.page_bytes / max(1, len(self.pages)) / 1024, 1),
        }


def _filler(rng: random.Random, language: str) -> str:
    words = rng.choices(WORDS[language], k=rng.randint(9, 18))
    return " ".join(words).capitalize() + "."


def _fill(template: str, rng: random.Random, n: int, cities: list[str], language: str) -> str:
    return template.format(
        n=rng.randint(3, 60), name=rng.choice(NAMES), city=rng.choice(cities),
        day=DAYS[language][n % 5],
    )  # fmt: skip


def original(n: int, rng: random.Random, on_story: bool, published: datetime) -> Page:
    """Page ``n``: an original article (in ``LANGUAGES[n % 5]``) of about 450 words, on
    the default story or about something else."""
    language = LANGUAGES[n % len(LANGUAGES)]
    cities = CITIES if on_story else OFF_CITIES
    lead = _fill((LEADS if on_story else OFF_LEADS)[language], rng, n, cities, language)
    sentences = [lead]
    for _ in range(rng.randint(28, 40)):  # about 450 words
        if on_story and rng.random() < 0.3:
            sentences.append(_fill(rng.choice(STORY[language]), rng, n, cities, language))
        else:
            sentences.append(_filler(rng, language))
    title = lead.split(" after ")[0].split(" после ")[0].rstrip(".")[:90]
    return Page(n, language, on_story, None, f"{title} #{n}", tuple(sentences), published)


def near_copy(rng: random.Random, sentences: list[str], words: list[str]) -> list[str]:
    """Sentences as an outlet rewriting them keeps them: about 15 % dropped, and one in ten
    of the rest replaced by 15 words drawn from ``words``."""
    kept = [s for s in sentences if rng.random() > 0.15]
    return [s if rng.random() > 0.1 else " ".join(rng.choices(words, k=15)) + "." for s in kept]


def copy_of(source: Page, n: int, rng: random.Random, published: datetime) -> Page:
    """Page ``n``: a near copy of ``source``, its lead kept (outlets keep the agency's first
    line) and the rest edited (:func:`near_copy`)."""
    kept = [source.sentences[0], *near_copy(rng, list(source.sentences[1:]),
                                            WORDS[source.language])]  # fmt: skip
    return Page(n, source.language, True, source.n, source.title + " (update)", tuple(kept),
                published)  # fmt: skip


def make_pages(count: int, seed: int = 7) -> list[Page]:
    """``count`` pages seven minutes apart: ``COPY_SHARE`` near copies of a recent on-story
    original, the others originals, ``OFF_STORY_SHARE`` of them off the story."""
    rng = random.Random(seed)
    pages: list[Page] = []
    for n in range(count):
        published = T0 + timedelta(minutes=7 * n)
        originals = [p for p in pages[-400:] if p.on_story and p.copy_of is None]
        if originals and rng.random() < COPY_SHARE:
            pages.append(copy_of(rng.choice(originals), n, rng, published))
        else:
            pages.append(original(n, rng, rng.random() >= OFF_STORY_SHARE, published))
    return pages


# --- HTML and feeds ---------------------------------------------------------------------

_NAV = "".join(
    f'<li class="nav-item"><a href="/section/{i}/">Section {i}</a></li>' for i in range(60)
)
_FOOTER = "".join(
    f'<li><a href="/about/{i}.html" rel="nofollow">Corporate page {i}</a></li>' for i in range(40)
)
_SCRIPT = "window.dataLayer=window.dataLayer||[];" + "".join(
    f"function t{i}(e){{return dataLayer.push({{event:'e{i}',value:e*{i}}})}}" for i in range(120)
)
_STYLE = "".join(f".c{i}{{margin:{i}px;padding:{i % 7}px;color:#{i:03x}}}" for i in range(120))
_COOKIE = (
    '<div id="cookie-banner" class="consent"><p>We use cookies to improve your experience '
    "and to measure the audience. By continuing you accept our policy.</p>"
    '<button class="accept">Accept</button><button class="reject">Reject</button></div>'
)


def _teasers(n: int) -> str:
    return "".join(
        f'<li class="teaser"><a href="/news/{(n + k * 37) % 9973}.html">'
        f'<img src="/img/{k}.jpg" alt=""/><span>Teaser headline {k} of the day</span></a>'
        f'<time datetime="2025-09-0{k % 9 + 1}">{k} hours ago</time></li>'
        for k in range(30)
    )


def render_page(page: Page, path: str) -> str:
    lang_attr = f' lang="{page.language}"' if page.n % 10 < 7 else ""  # 30 %: detected
    published = page.published.isoformat()
    jsonld = ""
    if page.n % 5 < 3:
        jsonld = '<script type="application/ld+json">' + json.dumps({
            "@context": "https://schema.org", "@type": "NewsArticle", "headline": page.title,
            "datePublished": published, "author": {"@type": "Person", "name": NAMES[page.n % 8]},
            "inLanguage": page.language,
        }, ensure_ascii=False) + "</script>"  # fmt: skip
    per_paragraph = 4
    paragraphs = "".join(
        "<p>" + escape(" ".join(page.sentences[i : i + per_paragraph])) + "</p>"
        for i in range(0, len(page.sentences), per_paragraph)
    )
    title = escape(page.title)
    return (
        f'<!DOCTYPE html><html{lang_attr}><head><meta charset="utf-8"><title>{title} | '
        f'Bench Daily</title><meta name="viewport" content="width=device-width">'
        f'<meta property="og:title" content="{title}">'
        f'<link rel="canonical" href="{{{{BASE}}}}{path}">'
        f'<link rel="stylesheet" href="/static/site.css"><style>{_STYLE}</style>{jsonld}'
        f"<script>{_SCRIPT}</script></head><body>{_COOKIE}"
        f'<header class="site-header"><a class="logo" href="/">Bench Daily</a><nav><ul>{_NAV}'
        f'</ul></nav></header><main><nav class="breadcrumb"><a href="/">Home</a> / '
        f'<a href="/world/">World</a></nav><article class="story"><h1>{title}</h1>'
        f'<p class="byline">By {NAMES[page.n % 8]}, <time datetime="{published}">'
        f"{page.published:%d %B %Y %H:%M}</time></p>{paragraphs}"
        f'<div class="share"><a href="/share?fb">Share</a> <a href="/share?x">Post</a></div>'
        f'</article><aside class="related"><h2>Read more</h2><ul>{_teasers(page.n)}</ul></aside>'
        f'</main><footer><ul class="footer-links">{_FOOTER}</ul><p>© 2025 Bench Daily. All '
        f"rights reserved.</p></footer><script>t1(1);t2(2);</script></body></html>"
    )


_RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Bench outlet {name}</title><link>{{{{BASE}}}}/</link>
<description>Synthetic feed {name}</description><language>{language}</language>{items}
</channel></rss>"""
_ITEM = """<item><title>{title}</title><link>{{{{BASE}}}}{path}</link><guid>{guid}</guid>
<pubDate>{date}</pubDate><description>{summary}</description></item>"""


def feed_item(page: Page, path: str) -> str:
    """The RSS item of ``page`` served at ``path``: one guid per link, so the same page
    under two links is two entries."""
    return _ITEM.format(
        title=escape(page.title), path=path, guid=f"urn:bench:{path}",
        date=format_datetime(page.published), summary=escape(page.sentences[0]),
    )  # fmt: skip


def feed_xml(name: str, items: Iterable[str], language: str = "en") -> str:
    """An RSS 2.0 feed of ``items`` (from :func:`feed_item`), in the order given."""
    return _RSS.format(name=name, language=language, items="".join(items))


def sitemap_xml(paths: Iterable[str]) -> str:
    urls = "".join(f"<url><loc>{{{{BASE}}}}{path}</loc></url>" for path in paths)
    return (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{urls}</urlset>"
    )


def write_files(root: Path, files: dict[str, str]) -> int:
    """Write ``{path: text}`` below ``root``; returns the bytes written."""
    written = 0
    for path, text in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode()
        target.write_bytes(data)
        written += len(data)
    return written


def generate(root: Path, feeds: int, entries: int, seed: int = 7, pages: bool = True) -> Web:
    """``feeds`` RSS feeds of ``entries`` items (newest first), each item linking its own
    article page at ``/news/NNNNN.html``; ``pages=False`` writes the feeds alone."""
    web = Web(root)
    web.pages = make_pages(feeds * entries, seed)
    for f in range(feeds):
        items, files = [], {}
        for page in web.pages[f * entries : (f + 1) * entries]:
            path = f"/news/{page.n:05d}.html"
            if pages:
                files[path] = render_page(page, path)
            items.append(feed_item(page, path))
        web.page_bytes += write_files(root, files)
        feed_path = f"/feeds/f{f:03d}.xml"
        language = LANGUAGES[f % len(LANGUAGES)]
        write_files(root, {feed_path: feed_xml(str(f), reversed(items), language)})
        web.feeds.append(feed_path)
    return web


# --- serving ----------------------------------------------------------------------------


class SlowServer(FixtureServer):
    """FixtureServer (validators, 304s, ``{{BASE}}``, routes) that answers after a random
    delay of ``latency_ms`` (none with ``NO_LATENCY``) and keeps no log of requests."""

    def __init__(
        self,
        root: Path,
        latency_ms: tuple[float, float] = LATENCY_MS,
        routes: dict[str, Route] | None = None,
    ) -> None:
        self.latency_ms = latency_ms
        super().__init__(root, routes)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        handler = super()._handler_class()
        low, high = self.latency_ms
        if high <= 0:
            return handler

        class Slow(handler):  # type: ignore[valid-type,misc]
            def do_GET(self) -> None:
                time.sleep(random.uniform(low, high) / 1000)
                super().do_GET()

        return Slow

    def record(self, record: object) -> None:
        pass  # 10,000s of requests: keep no log


def _serve(
    root: Path,
    latency_ms: tuple[float, float],
    routes: dict[str, Route] | None,
    quiet: bool,
    queue: multiprocessing.Queue[str],
) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler: terminate() ends it
    if quiet:  # clients killed or cut off mid-request reset their connections: no traces
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    with SlowServer(root, latency_ms, routes) as server:
        server._httpd.request_queue_size = 128
        queue.put(server.base_url)
        threading.Event().wait()


@contextmanager
def served_in_process(
    target: Callable[..., None],
    args: tuple[Any, ...],
    start_method: str = "fork",
    timeout_s: float = 60,
) -> Iterator[str]:
    """Run ``target(*args, queue)`` in a daemon process and yield the base URL it puts on
    the queue; a web served from its own process keeps its CPU time out of the measured
    process, and out of the way of the kills and forks of crash trials."""
    context: Any = multiprocessing.get_context(start_method)  # typeshed: BaseContext
    queue: multiprocessing.Queue[str] = context.Queue()
    process = context.Process(target=target, args=(*args, queue), daemon=True)
    process.start()
    try:
        yield queue.get(timeout=timeout_s)
    finally:
        process.terminate()
        process.join()


def served(
    root: Path,
    latency_ms: tuple[float, float] = LATENCY_MS,
    routes: dict[str, Route] | None = None,
    *,
    quiet: bool = False,
    start_method: str = "spawn",
) -> AbstractContextManager[str]:
    """The web below ``root`` served from its own process (:class:`SlowServer`); yields its
    base URL. Spawned by default, so the benchmarked process's CPU time is its own; routes
    that are closures need ``start_method="fork"``."""
    return served_in_process(_serve, (root, latency_ms, routes, quiet), start_method)
