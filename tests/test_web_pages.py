"""The web page's pages over a real socket, on SQLite and PostgreSQL: the front page
(flags raised today with their evidence, collection health), an article with a flag's
evidence highlighted, reviewing a flag (token and CSRF), and the list pages with their
counts, page numbers, permalinks and JSON / CSV rows."""

from __future__ import annotations

import csv
import io
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from ingest.config.settings import settings_from_mapping
from ingest.digest.job import write_digest
from ingest.flags.refresh import refresh_flags
from ingest.web.api import create_app
from tests.support import digest_coverage as cov
from tests.support import health_coverage as hc

TOKEN = "pages-test-token-0123456789"
SAME_SITE = {"Sec-Fetch-Site": "same-origin"}


@dataclass
class Site:
    client: httpx.Client  # sends the token
    base: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def site(store: sessionmaker[Session], database_url: str, tmp_path: Path) -> Iterator[Site]:
    """The digest coverage with flags raised now, the health coverage around now and a
    written digest, served by uvicorn on a loopback port with a token."""
    now = datetime.now(UTC)
    settings = settings_from_mapping({"database": {"url": database_url}})
    cov.ingest(store, [*cov.history(), *cov.the_day(), *cov.next_day()])
    refresh_flags(settings, store, now)
    hc.build(store, now)
    write_digest(settings, store, cov.STORY, cov.DAY, tmp_path, "both", now)
    app = create_app(settings, token=TOKEN)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=20) as client:
        yield Site(client, base)
    server.should_exit = True
    thread.join(10)
    app.state.engine.dispose()
    if getattr(app.state, "writer_engine", None) is not None:
        app.state.writer_engine.dispose()


def _flag_links(html: str) -> list[tuple[str, str]]:
    return re.findall(r'href="/ui/articles/(\d+)\?flag=(\d+)#evidence"', html)


def test_the_front_page_shows_new_flags_and_collection_health(site: Site) -> None:
    page = site.client.get("/")
    assert page.status_code == 200
    html = page.text
    raised = re.search(r"Raised today \((\d+)\)", html)
    assert raised and int(raised.group(1)) >= 2
    assert "voice shift" in html and "hostage diplomacy" in html
    assert cov.OWN in html and "(own voice)" in html  # the evidence sentence and its voice
    assert _flag_links(html)
    health = html[html.index('id="health"') : html.index("Raised today")]
    assert "statefeed" in health and "the server had an error (HTTP 503)" in health
    assert "failing since" in health and "Last error: HTTP 503" in health
    assert "flaky" in health and "answering again from" in health
    assert "steadywire" in health and "silent for" in health and "weekly" not in health
    assert site.client.get("/", params={"story": "nope"}).status_code == 400
    moved = site.client.get("/", params={"q": "hostages"})
    assert moved.status_code == 307 and moved.headers["location"] == "/ui/search?q=hostages"


def test_a_flag_leads_to_its_article_with_the_evidence_marked(site: Site) -> None:
    home = site.client.get("/").text
    article_id, flag_id = next(
        (a, f) for a, f in _flag_links(home) if "herald.example" in home
    )  # fmt: skip
    flags = site.client.get("/flags").json()["items"]
    flag = next(f for f in flags if f["id"] == int(flag_id))
    page = site.client.get(f"/ui/articles/{article_id}", params={"flag": flag_id}).text
    marked = re.search(r'<mark id="evidence">(.*?)</mark>', page, re.S)
    assert marked and any(" ".join(e.split()) in marked.group(1) for e in flag["evidence"])
    assert 'class="card flag"' in page and flag["statistic"][:40] in page
    plain = site.client.get(f"/ui/articles/{article_id}").text
    assert "<mark" not in plain and 'class="card flag"' not in plain
    other = site.client.get(f"/ui/articles/{article_id}", params={"flag": "999999"}).text
    assert 'class="card flag"' not in other  # a flag that does not name the article


def test_review_and_dismiss_from_the_page(site: Site) -> None:
    home = site.client.get("/").text
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', home)
    assert csrf
    _, flag_id = _flag_links(home)[0]
    url = f"/ui/flags/{flag_id}/status"
    form = {"csrf": csrf.group(1), "status": "dismissed", "note": "noise", "next": "/ui/flags"}
    forged = site.client.post(url, data={**form, "csrf": "0" * 64}, headers=SAME_SITE)
    assert forged.status_code == 403
    cross = site.client.post(url, data=form, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    done = site.client.post(url, data=form, headers=SAME_SITE)
    assert done.status_code == 303 and done.headers["location"] == "/ui/flags"
    flag = next(f for f in site.client.get("/flags").json()["items"] if f["id"] == int(flag_id))
    assert flag["status"] == "dismissed" and flag["note"] == "noise"
    assert f"flag={flag_id}#" not in site.client.get("/").text  # dismissed: off the front page
    away = site.client.post(url, data={**form, "status": "reviewed", "next": "//evil.example/"},
                            headers=SAME_SITE)  # fmt: skip
    assert away.headers["location"] == "/"
    assert (
        site.client.post("/ui/flags/999999/status", data=form, headers=SAME_SITE).status_code == 404
    )
    bare = httpx.post(f"{site.base}{url}", data=form)
    assert bare.status_code == 401  # no token, no review


def test_flags_list_pages_counts_and_formats(site: Site) -> None:
    total = len(site.client.get("/flags").json()["items"])
    page = site.client.get("/ui/flags", params={"_size": "1", "page": "2"}).text
    assert f"2–2 of {total} flags" in page
    assert 'href="/ui/flags?story=belarus-prisoners&amp;_size=1"' in page  # page 1
    assert 'rel="bookmark"' in page and "page=2" in page
    data = site.client.get("/ui/flags.json", params={"_size": "1", "page": "2"}).json()
    assert data["total"] == total and data["page"] == 2 and len(data["rows"]) == 1
    assert data["rows"][0]["evidence"] and "article_id" in data["rows"][0]
    text = site.client.get("/ui/flags.csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == total and rows[0]["kind"]
    assert site.client.get("/ui/flags", params={"_format": "csv"}).text == text
    for bad in ({"kind": "bogus"}, {"status": "done"}, {"page": "0"}, {"since": "9999-99-99"},
                {"_format": "xml"}, {"_size": "-5"}):  # fmt: skip
        assert site.client.get("/ui/flags", params=bad).status_code == 400, bad
    page_error = site.client.get("/ui/flags", params={"kind": "bogus"})
    assert "kind &#39;bogus&#39; is not one of first_seen" in page_error.text  # an HTML page
    data_error = site.client.get("/ui/flags.json", params={"kind": "bogus"})
    assert data_error.status_code == 400 and data_error.json()["error"] == "bad_filter"
    shifts = site.client.get("/ui/flags.json", params={"kind": "source_shift"}).json()
    assert shifts["rows"] and {r["kind"] for r in shifts["rows"]} == {"source_shift"}


def test_frames_outlets_clusters_sources_and_digests(site: Site) -> None:
    until = {"until": cov.DAY.isoformat(), "days": "14"}
    frames = site.client.get("/ui/frames", params=until).text
    assert "<svg" in frames and "By outlet group" in frames and "hostage diplomacy" in frames
    rows = site.client.get("/ui/frames.json", params=until).json()["rows"]
    assert any(r["frame"] == "hostage_diplomacy" and r["day"] == cov.DAY.isoformat() for r in rows)
    assert site.client.get("/ui/frames", params={"group": "nope"}).status_code == 400
    outlets = site.client.get("/ui/outlets.json", params=until).json()
    herald = next(r for r in outlets["rows"] if r["outlet"] == "herald.example")
    assert herald["hostage_diplomacy own"] == 1 and herald["group"] == "western"
    clusters = site.client.get("/ui/clusters").text
    assert "wire story: 1 copy" in clusters and "Belarus frees 52 prisoners" in clusters
    sources = site.client.get("/ui/sources.json").json()["rows"]
    assert [r["name"] for r in sources[:2]] == ["statefeed", "steadywire"]
    assert sources[0]["state"] == "failing" and sources[0]["problem"].startswith("the server had")
    assert sources[1]["state"] == "silent" and sources[1]["per_week"] == 12.0
    assert "errors since" in site.client.get("/ui/sources").text
    listing = site.client.get("/ui/digests.json").json()
    assert listing["total"] == 1 and listing["rows"][0]["day"] == cov.DAY.isoformat()
    digest = site.client.get(listing["rows"][0]["url"]).text
    assert 'href="/ui/flags"' in digest and re.search(r'href="/ui/articles/\d+"', digest)
    assert re.search(r'href="/ui/articles/\d+\?flag=\d+#evidence"', digest)
    assert 'id="health"' in digest
