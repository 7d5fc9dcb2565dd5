"""A known day of coverage for the digest tests: 2025-09-11 in Europe/Minsk (UTC+3).

Before the day, herald.example quotes "hostages" three times; on the day it uses the
frame in its own voice (a ``source_shift`` flag). Around midnight: one article at 23:50
Minsk on the 10th (the day before), one at 00:30 Minsk on the 11th (UTC: still the 10th),
one at 23:59 Minsk on the 11th and one at 00:10 Minsk on the 12th (UTC: still the 11th).
A long report is copied by copycat.example (a near-duplicate), one article has no
publication time, and the rest are hostile: script and onerror titles, a javascript: URL,
a 600-character word, right-to-left text, emoji and mixed scripts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from ingest.config.settings import Settings, settings_from_mapping
from ingest.flags.refresh import refresh_flags
from ingest.framing.codebook import story_codebook
from ingest.model.digest import DigestArticle, DigestData, DigestFlag, HistoryArticle
from ingest.model.items import Article as ArticleItem
from ingest.model.items import StoryMatch
from ingest.pipeline.run import ingest_article
from storage import repo
from storage.db import unit_of_work

STORY = "belarus-prisoners"
DAY = date(2025, 9, 11)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
MATCH = [StoryMatch(STORY, ())]
QUOTED = (
    'An exiled activist said: "They are hostages, and Minsk is trading them for sanctions relief."'
)
OWN = "Belarus holds these people as hostages and trades them for sanctions relief, group by group."
PRISONERS = "Belarus holds more than a thousand political prisoners in its jails."
LONG_REPORT = " ".join(
    f"Paragraph {n}: the released group crossed the border at the Lithuanian checkpoint "
    f"number {n}, where relatives waited for them with flowers and {n + 3} diplomats watched."
    for n in range(1, 9)
)
SCRIPT_TITLE = "<script>document.title='PWNED'</script>Breaking"
IMG_TITLE = '<img src="http://127.0.0.1:9/pwned" onerror="document.title=\'PWNED\'"> & co'
LONG_WORD = "Лукашенко" * 67  # 603 characters without a space
RTL_TITLE = "مرحبا بالمفرج عنهم 🇧🇾🕊️ Лукашэнка שלום Tsikhanouskaya"


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def item(
    n: int,
    outlet: str,
    when: datetime | None,
    text: str,
    title: str = "",
    language: str = "en",
    url: str | None = None,
    fetched: datetime | None = None,
) -> ArticleItem:
    link = url or f"https://{outlet}/news/{n}"
    return ArticleItem(
        url=link, canonical_url=link, source="s", outlet=outlet,
        fetched_at=fetched or when or NOW, title=title or f"Belarus report {n}", summary="",
        text=f"{text} Report number {n}.", published_at=when, language=language,
    )  # fmt: skip


def settings_for(url: str, **digest: object) -> Settings:
    data: dict[str, object] = {"database": {"url": url}}
    if digest:
        data["digest"] = digest
    return settings_from_mapping(data)


def ingest(store: sessionmaker[Session], items: list[ArticleItem]) -> None:
    story = settings_for("sqlite://").active_stories[0]
    codebooks = {STORY: story_codebook(story)}
    with unit_of_work(store) as session:
        source = repo.sync_sources(
            session, [repo.SourceSpec("s", "feed", "https://s.example/", "western")], NOW
        )["s"]
        for article in items:
            ingest_article(session, article, source, MATCH, codebooks=codebooks)


def history() -> list[ArticleItem]:
    before = [
        item(1, "herald.example", utc(DAY - timedelta(days=6), 12), QUOTED),
        item(2, "herald.example", utc(DAY - timedelta(days=4), 12), QUOTED),
        item(3, "herald.example", utc(DAY - timedelta(days=2), 12), QUOTED),
    ]
    # 23:50 in Minsk on the 10th: the day before.
    evening = item(4, "wire.example", utc(DAY - timedelta(days=1), 20, 50), PRISONERS,
                   title="Evening report, the day before")  # fmt: skip
    return [*before, evening]


def the_day() -> list[ArticleItem]:
    long_copy = LONG_REPORT.replace("flowers", "roses", 1)  # a near-copy
    return [
        # 00:30 in Minsk on the 11th, still the 10th in UTC.
        item(10, "wire.example", utc(DAY - timedelta(days=1), 21, 30), PRISONERS,
             title="Just after midnight in Minsk"),
        item(11, "herald.example", utc(DAY, 9), OWN, title="Herald: the hostages of Minsk"),
        item(12, "state.example", None, "The release is an act of humanism.", RTL_TITLE, "ru",
             fetched=utc(DAY, 10)),
        item(13, "wire.example", utc(DAY, 12), LONG_REPORT, "Belarus frees 52 prisoners"),
        item(14, "copycat.example", utc(DAY, 13), long_copy, "Belarus frees 52 (copied)"),
        item(15, "evil.example", utc(DAY, 14), PRISONERS, SCRIPT_TITLE,
             url="javascript:alert(document.cookie)"),
        item(16, "evil.example", utc(DAY, 15), PRISONERS, IMG_TITLE),
        # 23:59 in Minsk on the 11th.
        item(17, "long.example", utc(DAY, 20, 59), PRISONERS, LONG_WORD, "ru"),
    ]  # fmt: skip


def next_day() -> list[ArticleItem]:
    # 00:10 in Minsk on the 12th, still the 11th in UTC.
    return [item(20, "wire.example", utc(DAY, 21, 10), PRISONERS, "Ten past midnight")]


def build(store: sessionmaker[Session], url: str) -> Settings:
    """The known coverage, stored through the pipeline, with its flags computed."""
    settings = settings_for(url)
    ingest(store, [*history(), *the_day(), *next_day()])
    refresh_flags(settings, store, NOW)
    return settings


def late_item(n: int, fetched: datetime) -> ArticleItem:
    """Published at noon the day before, fetched at ``fetched``."""
    base = item(n, "slow.example", utc(DAY - timedelta(days=1), 12), PRISONERS)
    return replace(base, title=f"Late arrival {n}", fetched_at=fetched)


def hostile_data(server_url: str) -> DigestData:
    """A digest built in memory whose every text field is hostile; any request to
    ``server_url``/digest-test/ would mean a payload was loaded or a link followed."""
    base_url = f"{server_url}/digest-test"
    payloads = [
        f"<script>document.title='PWNED'</script><script src=\"{base_url}/pwned-js\"></script>",
        f'<img src="{base_url}/pwned-img" onerror="document.title=\'PWNED\'">',
        f'<link rel="stylesheet" href="{base_url}/pwned-css"><iframe src="{base_url}/pwned-frame">',
        f"<style>body{{background:url({base_url}/pwned-bg)}}</style>{LONG_WORD}",
        RTL_TITLE + " \u202eevil override",
    ]
    when = utc(DAY, 9)
    articles = tuple(
        DigestArticle(
            id=n + 1,
            title=title,
            outlet=f"<b>outlet{n}</b>.example",
            url="javascript:document.title='PWNED'" if n == 0 else f"{base_url}/article-{n}",
            language="en",
            when=when + timedelta(hours=n),
            published=True,
            fetched_at=when,
            duplicate_of=None,
            cluster_id=1 if n < 3 else None,
            frames=(("hostage_diplomacy", "own"), ("political_prisoners", "quoted")),
            carried_by=n + 1,
        )
        for n, title in enumerate(payloads)
    )
    flag = DigestFlag(
        id=1, kind="source_shift", frame="hostage_diplomacy", phrase=None,
        statistic=payloads[0], evidence=payloads[1], outlet=payloads[2],
        url=f"javascript:fetch('{base_url}/pwned-flag')", title=payloads[3],
        first_seen_at=when, score=3.0,
    )  # fmt: skip
    history = steady_history(when)
    return DigestData(STORY, DAY, "Europe/Minsk", NOW, articles, history, (flag,), articles[3:])


def steady_history(when: datetime) -> tuple[HistoryArticle, ...]:
    """One wire article a day for 14 days, alternating own and quoted 'hostages'."""
    return tuple(
        HistoryArticle(
            when - timedelta(days=d),
            "wire.example",
            "en",
            None,
            (("hostage_diplomacy", "quoted" if d % 2 else "own"),),
        )
        for d in range(14)
    )
