"""The editors' studio in real Chromium: an editor finds what needs editing and sees an Arabic
answer as people get it. Screenshots go to ``docs/studio/`` for the guide (``docs/console.md``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.conftest import TelegramUser
from tests.web.conftest import PASSWORD
from tests.web.test_console_browser import CHROMIUM, chromium  # noqa: F401 (the fixture)
from tests.web.test_studio_http import studio_service  # noqa: F401 (the fixture)

SHOTS = PROJECT / "docs" / "studio"

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
    pytest.mark.xdist_group("browser"),
]


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_an_editor_in_the_studio(studio_service, fake_telegram: FakeTelegram, chromium) -> None:  # noqa: F811
    person = TelegramUser(fake_telegram, studio_service.url, 7401, lang="en")
    person.send("/start")
    person.press("lang:en")
    for question in ("where is the office", "which office is it", "is there a mosque near the station"):
        person.send(question)

    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(studio_service.url + "/console/login")
    page.fill("input[name=login]", "edith")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login button[type=submit]")
    page.wait_for_url("**/console/studio")  # an editor has no second factor and lands in the studio
    outdated = page.locator("tr#health\\.family_doctor td.state.outdated")
    assert outdated.count() == 10
    shot(page, "coverage")

    page.click("text=Needs editing")
    page.wait_for_url("**/console/studio/outdated")
    assert page.locator("pre.diff span.added").count() == 1
    shot(page, "outdated")

    page.goto(studio_service.url + "/console/studio/entries/health.family_doctor?language=ar")
    bubble = page.locator("#preview-answer .phone.telegram .bubble").first
    assert bubble.evaluate("el => getComputedStyle(el).direction") == "rtl"
    keys = page.locator("#preview-answer .phone.telegram .keyboard .row")
    assert keys.count() == 3 and keys.nth(0).locator(".key").count() == 2
    shot(page, "entry-preview")

    # A mistake typed in the answer is shown under it as it is typed, in plain words.
    answer = page.locator("form.edit-text textarea[name=answer]")
    good = answer.input_value()
    answer.fill(good + "\n\n# عنوان")
    page.wait_for_selector("#problems-answer li.error")
    assert "headings" in page.locator("#problems-answer").inner_text()
    assert answer.get_attribute("aria-invalid") == "true"
    page.locator("#edit").screenshot(path=str(SHOTS / "live-check.png"))
    answer.fill(good)
    expect(page.locator("#problems-answer li")).to_have_count(0)
    assert answer.get_attribute("aria-invalid") == "false"

    page.goto(studio_service.url + "/console/studio/unanswered")
    group = page.locator("article.group").first
    assert "2×" in group.inner_text()
    assert "7401" not in page.content()
    shot(page, "unanswered")

    group.locator("select[name=entry_id]").select_option("general.human")
    group.locator("form.inbox-actions button[value=example]").click()
    page.wait_for_url("**/console/studio/publish")
    assert "general.human" in page.locator("ul.pending").inner_text()
    page.click("#publish button", no_wait_after=True)  # the checks take seconds: wait below
    page.wait_for_selector("section.result.published", timeout=180_000)
    shot(page, "publish")
    context.close()
