"""The page, in a real browser: Debian's chromium, headless, driven by Playwright. The live
page of `serve --http` (a token asked for, the grid, the waiting list, a person's filter, the
request form), and the static page `run --html` writes. A screenshot of each is kept in
test-artifacts/ (or $SLOTWISE_ARTIFACTS)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO
from tests.integration.conftest import Children, run_cli
from tests.integration.test_http import TOKEN, start
from tests.integration.test_serve import at, meeting

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (.ci/run installs Debian's)")
ARTIFACTS = Path(os.environ.get("SLOTWISE_ARTIFACTS", REPO / "test-artifacts"))


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def _page(browser: Any) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, timezone_id="Europe/Berlin")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(20_000)
    return page, errors


def test_the_live_page_shows_the_week_what_waits_and_takes_a_request(children: Children, browser: Any) -> None:
    _, api = start(children)
    window = {"not_before": at(9), "not_after": at(10)}
    status, _ = api.call("POST", "/v1/meetings", {"wait": 30, "meetings": [
        meeting("sync", "ana", "bo", name="<b>Sync</b> & co", **window),
        meeting("clash", "ana", "bo", name="Clash", **window),
        meeting("di-1on1", "cy", "di", name="One on one", not_before=at(12), not_after=at(14))]})
    assert status == 200
    page, errors = _page(browser)
    page.goto(api.url + "/")
    page.fill("#token", TOKEN)  # the service asked for one: the page shows where to give it
    page.dispatch_event("#token", "change")
    page.wait_for_selector('.meeting[data-id="sync"]')
    sync = page.inner_text('.meeting[data-id="sync"]')
    assert "<b>Sync</b> & co" in sync and "ana, bo" in sync  # a name is text, never markup
    assert page.query_selector(".meeting b") is None
    assert "(Europe/Berlin)" in (page.get_attribute('.meeting[data-id="sync"]', "title") or "")
    waiting = page.inner_text('#unplaced li[data-id="clash"]')
    assert "waiting" in waiting and "Clash" in waiting
    assert "agents 4/4 connected" in page.inner_text("#agents")
    page.select_option("#person", "di")
    assert [e.get_attribute("data-id") for e in page.query_selector_all(".meeting")] == ["di-1on1"]
    page.select_option("#person", "")

    page.fill("#f-id", "planning")
    page.fill("#f-name", "Planning")
    page.fill("#f-minutes", "60")
    page.fill("#f-invitees", "bo, di")
    page.click("#f-send")
    page.wait_for_selector('.meeting[data-id="planning"]')
    assert "planning: scheduled" in page.inner_text("#said")
    status, got = api.call("GET", "/v1/meetings/planning")
    assert status == 200 and got["meetings"][0]["participants"] == ["bo", "di"]
    page.fill("#f-id", "bad")
    page.fill("#f-invitees", "zed")
    page.click("#f-send")
    page.wait_for_selector("#said:has-text('not listed under participants')")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "live-page.png"), full_page=True)
    assert errors == []


def test_run_html_writes_the_same_grid_for_a_batch_result(tmp_path: Path, browser: Any) -> None:
    html = tmp_path / "week.html"
    done = run_cli("run", str(REPO / "scenarios" / "tutorial.yaml"), "-q", "--html", str(html))
    assert done.returncode == 0, done.stderr
    page, errors = _page(browser)
    page.goto(html.as_uri())
    page.wait_for_selector(".meeting")
    shown = {e.get_attribute("data-id"): e.inner_text() for e in page.query_selector_all(".meeting")}
    assert set(shown) == {"team-sync", "project-review"}
    assert shown["team-sync"].startswith("12:00 Team Sync")  # 10:00 UTC, in the viewer's zone (Berlin, summer)
    assert page.query_selector("#request").is_hidden()  # a file takes no requests
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "run-html.png"), full_page=True)
    assert errors == []
