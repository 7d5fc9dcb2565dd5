"""The daily digest: content, escaping, time zones, late arrivals, the feed, e-mail, the CLI.

Store-backed tests run on SQLite and PostgreSQL; the coverage is in ``digest_coverage``.
"""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.cli import main
from ingest.config.settings import settings_from_mapping
from ingest.demo.webfixture import FixtureServer
from ingest.digest.job import due_day, run_daily_digest, write_digest
from ingest.digest.render import CSP, escape_markdown, markdown_link, render_html, safe_href
from ingest.model.errors import ConfigError
from storage.db import unit_of_work
from storage.models import Digest
from tests.conftest import run_cli, write_config
from tests.support import digest_coverage as cov

D = cov.DAY
STEM = f"{D.isoformat()}-{cov.STORY}"
TAG_WITH_SRC = re.compile(r"<[a-zA-Z][^>]*\ssrc\s*=")  # every literal < is a real tag


def _write(settings, store, out: Path, day=D, now=cov.NOW) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    written = write_digest(settings, store, cov.STORY, day, out, "both", now)
    html, md = (p.read_text(encoding="utf-8") for p in written.paths)
    return html, md


def _section(md: str, heading: str) -> str:
    """The Markdown between ``## heading`` and the next ``## ``."""
    start = md.index(f"## {heading}")
    end = md.find("\n## ", start + 3)
    return md[start : end if end != -1 else len(md)]


def test_numbers_flags_clusters_and_midnight(
    store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    settings = cov.build(store, database_url)
    html, md = _write(settings, store, tmp_path)
    numbers = _section(md, "The day in numbers")
    # 7 articles on the 11th in Minsk (00:30 and 23:59 included) plus one without a date;
    # one is a near-copy. The 7 days before hold 4 articles: 4/7 = 0.6 a day.
    assert "| new articles | 8 | 0.6 |" in numbers
    assert "| unique after dedup | 7 | 0.6 |" in numbers
    assert "| outlets | 6 |" in numbers and "| languages | 2 |" in numbers
    assert "Just after midnight in Minsk" in md and "00:30" in md  # 21:30 UTC on the 10th
    assert "Ten past midnight" not in md  # 00:10 on the 12th in Minsk, the 11th in UTC
    assert "Evening report, the day before" not in md  # 23:50 on the 10th in Minsk
    assert "first seen 13:00" in md  # no publication time: first seen 10:00 UTC
    flags = _section(md, "New framing flags")
    assert "**voice shift** · hostage diplomacy · in its own voice · herald.example" in flags
    assert f"> {cov.OWN}" in flags or "> Herald: the hostages of Minsk" in flags
    assert "(<https://herald.example/news/11>)" in flags
    assert "First use of" not in md  # first_seen flags belong to earlier days
    assert md.index("## New framing flags") < md.index("## Events") < md.index("## All new")
    events = _section(md, "Events")
    assert re.search(r"\[Belarus frees 52 prisoners\]\(<https://wire\.example/news/13>\)"
                     r" — 2 articles: copycat\.example, wire\.example", events)  # fmt: skip
    assert "carried by 2 · copy of #" in md
    outlets = _section(md, "Outlets and frames")
    assert re.search(r"\| herald\.example \| 1 \|.*1 · 0", outlets)
    assert "own    " in _section(md, "Frame shares")
    assert "<svg" in html and 'id="chart"' in html and "voice shift" in html


def test_hostile_text_is_escaped_and_never_links(
    store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    settings = cov.build(store, database_url)
    html, md = _write(settings, store, tmp_path)
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;Breaking" in html
    assert "onerror=&#34;document.title" in html  # shown as text, not an attribute
    assert "javascript:" not in html.lower()  # neither a link nor shown as a URL
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(h.startswith("https://") for h in hrefs)
    assert TAG_WITH_SRC.findall(html) == []
    assert "\\<script\\>document.title='PWNED'\\</script\\>Breaking —" in md
    assert "javascript:" not in md.lower()
    assert '\\<img src="http://127.0.0.1:9/pwned"' in md and "\\& co" in md
    assert cov.RTL_TITLE in html and cov.LONG_WORD in html  # kept, isolated by <bdi>


def test_regenerating_gives_the_same_bytes(
    store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    settings = cov.build(store, database_url)
    first = _write(settings, store, tmp_path)
    feed = (tmp_path / "digests.xml").read_bytes()
    again = _write(settings, store, tmp_path, now=cov.NOW + timedelta(days=3))
    assert first == again
    assert (tmp_path / "digests.xml").read_bytes() == feed
    with unit_of_work(store) as session:
        rows = list(session.scalars(select(Digest)))
    assert len(rows) == 1 and rows[0].written_at == cov.NOW and rows[0].article_count == 8


def test_quiet_day_is_a_short_digest(
    store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    settings = cov.build(store, database_url)
    html, md = _write(settings, store, tmp_path, day=D - timedelta(days=20))
    assert "A quiet day" in html and "**A quiet day:**" in md
    assert "## Events" not in md and "<svg" not in html and len(md) < 600


def test_late_arrivals_appear_once_in_the_next_digest(
    store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    settings = cov.build(store, database_url)
    written_before = cov.utc(D, 4)  # 07:00 in Minsk on the 11th
    _, md_before = _write(settings, store, tmp_path, day=D - timedelta(days=1), now=written_before)
    assert "Late arrival" not in md_before
    cov.ingest(store, [cov.late_item(30, cov.utc(D, 6)), cov.late_item(31, cov.utc(D, 3))])
    _, md = _write(settings, store, tmp_path, now=cov.utc(D + timedelta(days=1), 4))
    late = _section(md, "Late arrivals")
    assert "Late arrival 30" in late and "2025-09-10 15:00" in late
    assert "Late arrival 31" not in md  # fetched before the 10th's digest: it is in there
    assert "Just after midnight" not in late  # the day's own articles are not late
    _, next_md = _write(settings, store, tmp_path, day=D + timedelta(days=1),
                        now=cov.utc(D + timedelta(days=2), 4))  # fmt: skip
    assert "Late arrival" not in next_md  # listed once


def test_atom_feed_of_digests(
    store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    settings = cov.build(store, database_url)
    _write(settings, store, tmp_path, day=D - timedelta(days=1))
    _write(settings, store, tmp_path)
    parsed = feedparser.parse((tmp_path / "digests.xml").read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    ids = [e.id for e in parsed.entries]
    assert ids == [f"tag:framewatch,2025:digest/{cov.STORY}/{d}"
                   for d in (D.isoformat(), (D - timedelta(days=1)).isoformat())]  # fmt: skip
    assert parsed.entries[0].link.endswith(f"{STEM}.html")
    assert "8 new articles from 6 outlets, 2 new framing flags" in parsed.entries[0].summary
    _write(settings, store, tmp_path)  # a rewrite keeps the entry and its id
    again = feedparser.parse((tmp_path / "digests.xml").read_bytes())
    assert [e.id for e in again.entries] == ids


def test_due_day_follows_digest_at_in_the_zone() -> None:
    settings = cov.settings_for("sqlite://")  # digest_at 07:00, Europe/Minsk
    assert due_day(settings, cov.utc(D, 4, 1)) == D - timedelta(days=1)  # 07:01 Minsk
    assert due_day(settings, cov.utc(D, 3, 59)) == D - timedelta(days=2)  # 06:59 Minsk
    assert due_day(settings, cov.utc(D - timedelta(days=1), 21, 30)) == D - timedelta(days=2)


def test_markdown_and_link_escaping() -> None:
    assert escape_markdown("*a* _b_ [c](d) <e> `f` # | ~ &") == (
        "\\*a\\* \\_b\\_ \\[c\\](d) \\<e\\> \\`f\\` \\# \\| \\~ \\&"
    )
    assert escape_markdown("line\nbreak\u202eevil\x00") == "line break evil "
    assert markdown_link("x", "javascript:alert(1)") == "x"
    assert markdown_link("x", "https://a.example/p (1)>") == "x"  # whitespace: not a link
    assert markdown_link("x", "https://a.example/p>(1)") == "[x](<https://a.example/p%3E%281%29>)"
    bad = ("javascript:alert(1)", " JaVaScRiPt:x", "data:text/html,x", "vbscript:x",
           "https://", "//evil.example/x", "java\nscript:x", "file:///etc/passwd")  # fmt: skip
    assert [safe_href(url) for url in bad] == [None] * len(bad)
    assert safe_href("mailto:a@example.org") == "mailto:a@example.org"
    assert safe_href(" https://a.example/x ") == "https://a.example/x"


def test_cli_writes_the_digest(
    store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    cov.build(store, database_url)
    config = write_config(tmp_path / "fw.toml", database_url, [])
    out = tmp_path / "out"
    result = run_cli("--config", str(config), "digest", "--date", D.isoformat(),
                     "--out", str(out), "--format", "md")  # fmt: skip
    assert result.code == 0, result.err
    assert "8 new articles from 6 outlets" in result.out
    assert str(out / f"{STEM}.md") in result.out and (out / f"{STEM}.md").exists()
    assert not (out / f"{STEM}.html").exists() and (out / "digests.xml").exists()
    runner = CliRunner()
    future = runner.invoke(main, ["--config", str(config), "digest", "--date", "2999-01-01"])
    assert future.exit_code == 2 and "in the future" in future.output
    unknown = runner.invoke(main, ["--config", str(config), "digest", "--story", "nope"])
    assert unknown.exit_code == 2 and "unknown story 'nope'" in unknown.output


def test_default_out_dir_is_beside_the_database(tmp_path: Path) -> None:
    from ingest.digest.job import default_out_dir

    db = tmp_path / "data" / "fw.db"
    assert default_out_dir(cov.settings_for(f"sqlite:///{db}")) == db.parent / "digests"
    pg = cov.settings_for("postgresql+psycopg://u@h/db")
    assert default_out_dir(pg) == Path.cwd() / "digests"  # no config file at all
    config = tmp_path / "etc" / "framewatch.toml"
    pg_with_config = pg.model_copy(update={"source_path": str(config)})
    assert default_out_dir(pg_with_config) == config.parent.resolve() / "digests"
    own = cov.settings_for(f"sqlite:///{db}", out_dir=str(tmp_path / "mine"))
    assert default_out_dir(own) == tmp_path / "mine"


def test_service_job_writes_once_and_catches_up(
    store: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    settings = cov.settings_for(database_url, out_dir=str(tmp_path / "out"))
    cov.build(store, database_url)
    morning = datetime(2025, 9, 12, 5, 0, tzinfo=UTC)  # 08:00 in Minsk: the 11th is due
    paths = run_daily_digest(settings, store, morning)
    assert [p.name for p in paths] == [f"{STEM}.html", f"{STEM}.md"]
    assert run_daily_digest(settings, store, morning + timedelta(hours=3)) == []  # restart
    later = run_daily_digest(settings, store, morning + timedelta(days=3))  # down 3 days
    assert sorted({p.stem[:10] for p in later}) == ["2025-09-12", "2025-09-13", "2025-09-14"]


# -- e-mail -------------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[Any]]]:
    """A local SMTP server (aiosmtpd) that wants AUTH LOGIN/PLAIN as fw / secret."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"fw", b"secret")
        return AuthResult(success=ok, handled=False)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port,
                            authenticator=authenticate, auth_require_tls=False)  # fmt: skip
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


def test_email_is_delivered_once(
    store: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
    smtp_server: tuple[int, list[Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, received = smtp_server
    settings = cov.settings_for(
        database_url, out_dir=str(tmp_path / "out"), enabled=True, smtp_host="127.0.0.1",
        smtp_port=port, starttls=False, username_env="FW_SMTP_USER",
        password_env="FW_SMTP_PASS", sender="framewatch@example.org",
        recipients=["analyst@example.org", "desk@example.org"],
    )  # fmt: skip
    cov.build(store, database_url)
    morning = datetime(2025, 9, 12, 5, 0, tzinfo=UTC)
    monkeypatch.setenv("FW_SMTP_USER", "fw")
    monkeypatch.setenv("FW_SMTP_PASS", "wrong")
    assert len(run_daily_digest(settings, store, morning)) == 2  # written, not sent
    assert received == []
    monkeypatch.setenv("FW_SMTP_PASS", "secret")
    assert run_daily_digest(settings, store, morning + timedelta(hours=1)) == []
    run_daily_digest(settings, store, morning + timedelta(hours=2))
    assert len(received) == 1  # the failed send was retried once, then never again
    envelope = received[0]
    assert envelope.rcpt_tos == ["analyst@example.org", "desk@example.org"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert "8 new articles from 6 outlets" in message["Subject"]
    assert message.get_content_type() == "multipart/alternative"
    html_part = message.get_body(("html",))
    text_part = message.get_body(("plain",))
    assert html_part is not None and "<svg" in html_part.get_content()
    assert text_part is not None and "## New framing flags" in text_part.get_content()
    with unit_of_work(store) as session:
        row = session.scalar(select(Digest).where(Digest.day == D))
        assert row is not None and row.sent_at is not None


# -- the page in a real browser ---------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's headless Chromium, installed with apt-get when missing."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    for command in (["apt-get", "install", "-y", "chromium"], ["apt-get", "update"],
                    ["apt-get", "install", "-y", "chromium"]):  # fmt: skip
        try:
            subprocess.run(command, capture_output=True, timeout=900, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            pytest.skip(f"Chromium is not installed and apt-get cannot run: {exc}")
        if found := shutil.which("chromium"):
            return found
    pytest.skip("Chromium is not installed and `apt-get install -y chromium` failed")


def _chromium(binary: str, tmp_path: Path, page: Path, *args: str) -> str:
    result = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'chromium-profile'}",
         "--window-size=420,2000", *args, page.as_uri()],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_html_in_headless_chromium(chromium: str, web: FixtureServer, tmp_path: Path) -> None:
    page = tmp_path / "digest.html"
    page.write_text(render_html(cov.hostile_data(web.base_url)), encoding="utf-8")
    html = page.read_text(encoding="utf-8")
    assert TAG_WITH_SRC.findall(html) == []
    links = re.findall(r'href="([^"]*)"', html)
    article = re.escape(f"{web.base_url}/digest-test/article-") + r"\d"
    assert links and all(re.fullmatch(article, h) for h in links)
    dom = _chromium(chromium, tmp_path, page, "--dump-dom")
    assert f"<title>framewatch digest: {cov.STORY} — {D.isoformat()}</title>" in dom
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in dom
    assert "<script" not in dom and "<img" not in dom and "<iframe" not in dom
    assert "&lt;script&gt;document.title='PWNED'" in dom  # shown as text
    shot = tmp_path / "digest.png"
    _chromium(chromium, tmp_path, page, f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    fetched = [r.path for r in web.requests if r.path.startswith("/digest-test/")]
    assert fetched == []  # no payload loaded, no link followed


def test_digest_config_is_checked() -> None:
    with pytest.raises(ConfigError, match=r"digest: e-mail is enabled but smtp_host, sender, "
                       r"recipients are not set"):  # fmt: skip
        settings_from_mapping({"digest": {"enabled": True}})
    with pytest.raises(ConfigError, match=r"digest\.smtp_port: .*less than or equal to 65535"):
        settings_from_mapping({"digest": {"smtp_port": 70000}})
    settings = settings_from_mapping({"digest": {"recipients": ["a@example.org"]}})
    assert settings.digest.recipients == ("a@example.org",) and not settings.digest.enabled
