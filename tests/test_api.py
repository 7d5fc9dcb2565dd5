"""The HTTP API and web page over a real socket (uvicorn in a thread, `framewatch serve`
as a subprocess): answers, errors, the bearer-token rule, escaping, and schemathesis
against the OpenAPI document."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ingest.config.settings import settings_from_mapping
from ingest.web.api import create_app
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.models import Digest
from tests.conftest import run_cli, write_config
from tests.support.search_corpus import CORPUS, STORY, corpus_database
from tests.test_search import INJECTIONS

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Api:
    url: str  # the database
    base: str  # http://127.0.0.1:PORT
    ids: dict[str, int]
    client: httpx.Client  # sends the token


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The corpus served by uvicorn on a free loopback port, with a token."""
    folder = tmp_path_factory.mktemp("api")
    with corpus_database(request.param, folder) as (url, ids):
        _write_digest(url, folder)
        app = create_app(settings_from_mapping({"database": {"url": url}}), token=TOKEN)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers=AUTH, timeout=10) as client:
            yield Api(url, base, ids, client)
        server.should_exit = True
        thread.join(10)
        app.state.engine.dispose()


DIGEST_DAY = date(2025, 9, 12)


def _write_digest(url: str, folder: Path) -> None:
    """One written digest (files and row), as `framewatch digest` leaves them."""
    html, md = folder / "digest.html", folder / "digest.md"
    html.write_text("<!doctype html><h1>Digest of 12 September</h1>", encoding="utf-8")
    md.write_text("# Digest of 12 September\n\n- 3 articles", encoding="utf-8")
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        session.add(Digest(
            story=STORY, day=DIGEST_DAY, written_at=datetime(2025, 9, 13, 5, tzinfo=UTC),
            html_path=str(html), md_path=str(md), article_count=3, summary="3 articles",
        ))  # fmt: skip
    engine.dispose()


def _titles(body: dict[str, object]) -> set[str]:
    return {item["title"] for item in body["items"]}  # type: ignore[attr-defined,index]


# -------------------------------------------------------------------- JSON API


def test_articles_search_filters_and_pages(api: Api) -> None:
    found = api.client.get("/articles", params={"q": "hostage* OR Białoruś"})
    assert found.status_code == 200
    body = found.json()
    assert _titles(body) == {CORPUS["release_en"]["title"], CORPUS["release_pl"]["title"]}
    assert body["total"] == 2 and body["total_exact"] and body["next_offset"] is None
    item = next(i for i in body["items"] if i["id"] == api.ids["release_en"])
    start, end = item["highlights"][0]
    assert item["snippet"][start:end] == "hostages"
    russian = api.client.get("/articles", params={"q": "политзаключенные", "language": "ru"})
    assert _titles(russian.json()) == {CORPUS["pardon_ru"]["title"]}
    state = api.client.get("/articles", params=[("source", "stateagency"), ("sort", "date")])
    assert [i["id"] for i in state.json()["items"]] == [
        api.ids["pardon_ru"],
        api.ids["humanism_en"],
    ]
    first = api.client.get("/articles", params={"limit": 3}).json()
    second = api.client.get("/articles", params={"limit": 3, "page": 2}).json()
    assert first["next_offset"] == 3 and second["offset"] == 3
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    capped = api.client.get("/articles", params={"limit": 10**12}).json()
    assert capped["limit"] == 1000


@pytest.mark.parametrize(
    ("params", "status", "expected"),
    [
        ({"q": "belarus AND (x"}, 400, {"error": "bad_query", "position": 12}),
        ({"q": '"unterminated'}, 400, {"error": "bad_query", "position": 0}),
        ({"q": "a\x00b"}, 400, {"error": "bad_query", "position": 1}),
        ({"source": "nope"}, 400, {"error": "bad_filter"}),
        ({"language": "de"}, 400, {"error": "bad_filter"}),
        ({"since": "yesterday"}, 400, {"error": "bad_filter"}),
        ({"offset": 1, "page": 2}, 400, {"error": "bad_filter"}),
        ({"frame": "hostages"}, 400, {"error": "bad_filter"}),
    ],
)
def test_article_errors(
    api: Api, params: dict[str, object], status: int, expected: dict[str, object]
) -> None:
    answer = api.client.get("/articles", params=params)
    assert answer.status_code == status
    body = answer.json()
    assert body.items() >= expected.items() and body["detail"]


def test_unknown_values_say_what_is_allowed(api: Api) -> None:
    source = api.client.get("/articles", params={"source": "nope"}).json()
    assert "sources: herald, nashaslova, stateagency, westwire" in source["detail"]
    sort = api.client.get("/articles", params={"sort": "random"})
    assert sort.status_code == 422 and "relevance" in sort.text and "date" in sort.text


@pytest.mark.parametrize(
    ("path", "params", "status", "error"),
    [
        ("/flags", {"kind": "bogus"}, 400, "bad_filter"),  # the CLI refuses it too
        ("/flags", {"limit": -5}, 422, "invalid_parameter"),
        ("/articles", {"limit": 0}, 422, "invalid_parameter"),
        ("/clusters", {"limit": "many"}, 422, "invalid_parameter"),
        ("/articles", {"sort": "random"}, 422, "invalid_parameter"),
        ("/articles", {"cluster": "x"}, 422, "invalid_parameter"),
        ("/articles/abc", {}, 422, "invalid_parameter"),
        ("/no/such/endpoint", {}, 404, "not_found"),
        ("/articles", {"until": "2025-13-01"}, 400, "bad_filter"),
    ],
)
def test_every_error_is_the_readme_envelope(
    api: Api, path: str, params: dict[str, object], status: int, error: str
) -> None:
    answer = api.client.get(path, params=params)
    assert answer.status_code == status
    body = answer.json()
    assert body["error"] == error and isinstance(body["detail"], str) and body["detail"]
    assert "\n" not in body["detail"]


def test_the_last_day_there_is_is_a_date_and_limits_below_one_are_errors(api: Api) -> None:
    last = api.client.get("/articles", params={"until": "9999-12-31"})
    assert last.status_code == 200 and last.json()["total"] > 0
    first = api.client.get("/articles", params={"since": "0001-01-01", "limit": 1})
    assert first.status_code == 200 and len(first.json()["items"]) == 1
    assert api.client.get("/articles", params={"limit": 5000}).json()["limit"] == 1000  # capped
    assert "kinds: first_seen, source_shift" in api.client.get(
        "/flags", params={"kind": "bogus"}).json()["detail"]  # fmt: skip


def test_each_request_is_one_access_log_line(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="framewatch.access"):
        api.client.get("/flags", params={"kind": "surge"})
        api.client.get("/nope")
        httpx.get(f"{api.base}/flags")  # no token: refused, logged all the same
    lines = [r.getMessage() for r in caplog.records if r.name == "framewatch.access"]
    assert len(lines) == 3
    assert re.fullmatch(
        r"method=GET path=/flags\?kind=surge status=200 ms=\d+\.\d client=127\.0\.0\.1", lines[0]
    )
    assert "path=/nope status=404" in lines[1] and "path=/flags status=401" in lines[2]


def test_article_detail(api: Api) -> None:
    original = api.client.get(f"/articles/{api.ids['release_en']}").json()
    assert original["duplicate_of"] is None
    quoted = [f for f in original["frames"] if f["frame"] == "hostage_diplomacy"]
    assert quoted[0]["voice"] == "quoted" and "traded like hostages" in quoted[0]["evidence"]
    assert quoted[0]["speaker"] == "critics" and quoted[0]["voice_note"] == "quoted from critics"
    assert [d["id"] for d in original["duplicates"]] == [api.ids["copy_en"]]
    assert original["sightings"][0]["source"] == "westwire"
    assert original["stories"][0]["story"] == "belarus-prisoners"
    assert original["cluster"]["id"] >= 1 and "Paragraph 3" in original["text"]
    copy = api.client.get(f"/articles/{api.ids['copy_en']}").json()
    assert copy["duplicate_of"]["id"] == api.ids["release_en"]
    missing = api.client.get("/articles/999999")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert api.client.get("/articles/0").status_code == 422


def test_clusters_flags_timeline_digests_health(api: Api) -> None:
    clusters = api.client.get("/clusters", params={"story": "belarus-prisoners"}).json()
    assert clusters["items"] and all(c["story"] == "belarus-prisoners" for c in clusters["items"])
    assert api.client.get("/clusters", params={"story": "nope"}).status_code == 400
    assert api.client.get("/flags").json() == {"items": []}  # flagging has not run
    assert api.client.get("/flags", params={"status": "maybe"}).status_code == 422
    weekly = api.client.get("/frames/timeline", params={"voice": "quoted"}).json()
    assert weekly["story"] == "belarus-prisoners" and weekly["interval"] == "week"
    assert weekly["buckets"] == [
        # "Критики называют их заложниками" is a reported framing (distanced), "was praised"
        # a speech act (quoted)
        {
            "start": "2025-09-08",
            "articles": 5,
            "frames": {"diplomatic_thaw": 1, "hostage_diplomacy": 2},
        },
        {"start": "2025-09-15", "articles": 1, "frames": {}},
    ]  # the copy of 15 September is left out; the markup article has no frames
    daily = api.client.get("/frames/timeline", params={"interval": "day", "since": "2025-09-12",
                                                       "until": "2025-09-12"}).json()  # fmt: skip
    assert [b["start"] for b in daily["buckets"]] == ["2025-09-12"]
    assert daily["buckets"][0]["frames"]["humanitarian_pardon"] == 2
    missing = api.client.get("/digests/2025-09-01")
    assert missing.status_code == 404 and "no digest for 2025-09-01" in missing.json()["detail"]
    assert api.client.get("/digests/not-a-day").status_code == 422
    digest = api.client.get("/digests/2025-09-12").json()
    assert (
        digest["markdown"].startswith("# Digest of 12 September") and digest["article_count"] == 3
    )
    assert digest["html_url"] == "/ui/digests/belarus-prisoners/2025-09-12"
    listed = api.client.get("/digests").json()["items"]
    assert [d["day"] for d in listed] == ["2025-09-12"] and listed[0]["markdown"] is None
    health = httpx.get(f"{api.base}/healthz")  # no token needed
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_injection_strings_never_fail_the_server(api: Api) -> None:
    for typed in INJECTIONS:
        answer = api.client.get("/articles", params={"q": typed, "include_duplicates": "true"})
        assert answer.status_code in (200, 400), typed
        if answer.status_code == 400:
            assert answer.json()["position"] is not None
    everything = api.client.get("/articles", params={"include_duplicates": "true"}).json()
    assert everything["total"] == len(CORPUS)


def test_the_bearer_token_is_required(api: Api) -> None:
    bare = httpx.get(f"{api.base}/articles")
    assert bare.status_code == 401 and bare.headers["www-authenticate"] == "Bearer"
    assert bare.json()["error"] == "unauthorized"
    wrong = httpx.get(f"{api.base}/articles", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert httpx.get(f"{api.base}/openapi.json").status_code == 401
    page = httpx.get(f"{api.base}/")
    assert page.status_code == 401 and 'name="token"' in page.text
    refused = httpx.post(f"{api.base}/login", data={"token": "nope"})
    assert refused.status_code == 401
    with httpx.Client(base_url=api.base) as browser:
        signed_in = browser.post("/login", data={"token": TOKEN})
        assert (
            signed_in.status_code == 303 and "httponly" in signed_in.headers["set-cookie"].lower()
        )
        assert browser.get("/").status_code == 200  # the cookie stands in for the header


# -------------------------------------------------------------------- web page


def test_the_web_page_searches_and_escapes(api: Api) -> None:
    page = api.client.get("/ui/search", params={"q": "alert", "include_duplicates": "1"})
    assert page.status_code == 200
    html = page.text
    assert "&lt;script&gt;" in html and "<script" not in html
    assert "<mark>alert</mark>" in html
    assert (
        "javascript:"
        not in html.split("<main>")[1].split("</main>")[0].replace("javascript:alert(1)", "")
        or 'href="javascript:' not in html
    )
    assert 'href="javascript:' not in html
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert " src=" not in html and "<link" not in html  # no external requests
    article = api.client.get(f"/ui/articles/{api.ids['markup_en']}")
    assert article.status_code == 200 and "<script" not in article.text
    assert "No frames found" in article.text and 'href="javascript:' not in article.text
    original = api.client.get(f"/ui/articles/{api.ids['release_en']}").text
    assert 'href="https://westwire.example/news/release_en"' in original
    assert re.search(
        r">hostage_diplomacy</a></td><td data-label=\"voice\">quoted from critics</td>", original
    )
    assert f"/ui/articles/{api.ids['copy_en']}" in original  # its copy is listed


def test_the_web_page_filters_pages_and_errors(api: Api) -> None:
    old_link = api.client.get("/", params={"q": "палітвязн*", "language": "be"})
    assert old_link.status_code == 307 and old_link.headers["location"].startswith("/ui/search?")
    cyrillic = api.client.get("/ui/search", params={"q": "палітвязн*", "language": "be"}).text
    assert "<mark>Палітвязні</mark>" in cyrillic or "<mark>палітвязняў</mark>" in cyrillic
    assert "matches, by relevance" in cyrillic  # relevance unless date is asked for
    by_date = api.client.get("/ui/search", params={"q": "belarus", "sort": "date"}).text
    assert "matches, by date" in by_date
    listing = api.client.get("/ui/search").text
    assert "newest first" in listing and 'rel="next"' not in listing
    bad = api.client.get("/ui/search", params={"q": "belarus AND (x"})
    assert bad.status_code == 400 and "at position 12" in bad.text
    unknown = api.client.get("/ui/search", params={"source": "<b>nope</b>"})
    assert unknown.status_code == 400 and "&lt;b&gt;nope&lt;/b&gt;" in unknown.text
    assert api.client.get("/ui/articles/abc").status_code == 404
    listing = api.client.get("/ui/digests").text
    assert 'href="/ui/digests/belarus-prisoners/2025-09-12"' in listing
    page = api.client.get("/ui/digests/belarus-prisoners/2025-09-12")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert 'href="/ui/flags"' in page.text  # the site's navigation
    assert f'href="/ui/articles/{api.ids["humanism_en"]}"' in page.text  # articles inside
    assert 'href="https://belta.example/news/humanism_en"' in page.text  # and the original
    written = api.client.get("/ui/digests/belarus-prisoners/2025-09-12/written")
    assert "Digest of 12 September" in written.text
    assert api.client.get("/ui/digests/belarus-prisoners/2025-09-01").status_code == 404
    assert api.client.get("/ui/digests/x/not-a-day").status_code == 404


# ------------------------------------------------------------------ schemathesis


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]  # fmt: skip


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_never_answers_with_a_server_error(api: Api, mode: GenerationMode) -> None:
    """Schemathesis generates requests from the OpenAPI document (valid ones, then invalid
    ones); every answer must be documented, match its schema and never be a 5xx."""
    schema = schemathesis.openapi.from_url(f"{api.base}/openapi.json", headers=AUTH)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 8
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=15, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=api.base, headers=AUTH, checks=CHECKS)

        try:
            check()
        except Unsatisfiable:  # no invalid request exists (an operation without parameters)
            assert mode is GenerationMode.NEGATIVE


# ------------------------------------------------------------- framewatch serve


def test_serve_refuses_other_addresses_without_a_token(tmp_path: Path) -> None:
    public = run_cli("serve", "--host", "0.0.0.0")
    assert public.code == 2
    assert "a bearer token is required to serve on 0.0.0.0" in public.err
    short = run_cli("serve", "--host", "0.0.0.0", "--token", "short")
    assert short.code == 2 and "at least 16 characters" in short.err


def test_framewatch_serve_answers_over_a_socket(api: Api, tmp_path: Path) -> None:
    config = write_config(tmp_path / "fw.toml", api.url, [])
    port = free_port()
    env = {**os.environ, "FRAMEWATCH_API_TOKEN": TOKEN, "NO_COLOR": "1"}
    env.pop("FRAMEWATCH_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest", "--config", str(config), "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.get(f"{base}/articles").status_code == 401
        found = httpx.get(f"{base}/articles", params={"q": "łukaszenka"}, headers=AUTH)
        assert found.status_code == 200 and found.json()["total"] == 1
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert f"serving on http://127.0.0.1:{port}/ (read-only; bearer token required)" in out
