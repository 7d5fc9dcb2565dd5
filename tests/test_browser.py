"""The web page in a real browser: Playwright driving Debian's Chromium over
`framewatch serve` on the demo's data, as an analyst clicks through it.

From the front page to a flag, to its article, where the flag's evidence is highlighted;
reviewing the flag from the page; and every page at phone width (390 x 844) without
horizontal scrolling. Screenshots go to the test's tmp_path (the path is printed).

Without Playwright or /usr/bin/chromium the tests are skipped, saying why; CI sets
``CI_REQUIRE_BROWSER=1`` (``.ci/run``), and then a missing browser fails them.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import run_cli

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
TOKEN = "browser-test-token-0123456789"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
PAGES = ["/", "/ui/flags", "/ui/frames", "/ui/outlets", "/ui/clusters", "/ui/sources",
         "/ui/digests", "/ui/search", "/ui/search?q=hostage*+OR+заложник*"]  # fmt: skip


def _missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    problem = _missing_browser()
    if problem:
        if os.environ.get("CI_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CI_REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`framewatch demo`'s database, served by `framewatch serve` with a token."""
    out = tmp_path_factory.mktemp("demo")
    demo = run_cli("demo", "--out", str(out), timeout=600)
    assert demo.code == 0, demo.err
    port = _free_port()
    env = {**os.environ, "FRAMEWATCH_API_TOKEN": TOKEN, "NO_COLOR": "1"}
    env.pop("FRAMEWATCH_DATABASE_URL", None)
    command = [sys.executable, "-m", "ingest", "--config", str(out / "framewatch.toml"),
               "serve", "--port", str(port)]  # fmt: skip
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base, server)
        yield base
    finally:
        server.terminate()
        server.wait(10)


def _wait_for(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("framewatch serve did not answer within 30 s")


def _words(text: str) -> str:
    return " ".join(text.split())


def _shot(page: Any, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_from_the_front_page_to_a_flag_to_its_evidence(
    browser: Any, served: str, tmp_path: Path
) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{served}/")
    assert page.locator("h1").inner_text() == "Sign in"
    page.fill("input[name=token]", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served}/")
    assert page.locator("h1").inner_text().startswith("What is new")
    assert "Collection health" in page.content()
    assert page.locator("li.health.failed").count() >= 1  # the demo's broken feeds
    _shot(page, tmp_path, "desktop-home")

    card = page.locator("li.card.flag").first
    evidence = _words(card.locator("blockquote.evidence .sentence").inner_text())
    assert evidence
    card.locator("a.evidence-link").click()
    page.wait_for_url(re.compile(r"/ui/articles/\d+\?flag=\d+#evidence$"))
    mark = page.locator("mark#evidence")
    assert evidence.strip("…") in _words(mark.inner_text())
    assert mark.evaluate("m => m.getBoundingClientRect().top < window.innerHeight")
    _shot(page, tmp_path, "desktop-article")

    page.locator("aside.flag button[value=reviewed]").click()
    page.wait_for_load_state()
    assert page.locator("aside.flag .badge").inner_text() == "reviewed"
    context.close()
    print(f"\nscreenshots: {tmp_path}")


def test_every_page_fits_a_phone(browser: Any, served: str, tmp_path: Path) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.add_cookies([{"name": "framewatch_token", "value": TOKEN, "url": served}])
    page = context.new_page()
    page.goto(f"{served}/")
    article = page.locator("a.evidence-link").first.get_attribute("href")
    page.goto(f"{served}/ui/digests")
    digest = page.locator("table a").first.get_attribute("href")
    assert article and digest
    overflowing = {}
    for n, path in enumerate([*PAGES, article, digest]):
        page.goto(f"{served}{path}")
        assert page.locator("body").inner_text().strip()
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        if widths[0] > widths[1]:
            overflowing[path] = widths
        _shot(page, tmp_path, f"phone-{n:02d}")
    context.close()
    print(f"\nscreenshots: {tmp_path}")
    assert overflowing == {}, f"wider than the phone (scrollWidth, clientWidth): {overflowing}"
