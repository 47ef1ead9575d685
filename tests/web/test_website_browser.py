"""The web chat and the help centre in real Chromium, on a 360×740 phone screen.

A city page (on its own origin) adds the one-line widget; a Ukrainian question is answered in
Ukrainian; the person asks for a mediator, who answers from the web console while the phone has
no connection — what the mediator said and what the person typed meanwhile both arrive once it is
back; "forget" leaves nothing. An Arabic conversation reads right to left. axe-core finds no
serious accessibility problem on the chat and the help pages. Screenshots go to ``docs/website/``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from bot.server import create_app
from tests.conftest import PROJECT
from tests.fakes.servers import ThreadedServer, free_port
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.conftest import service_settings
from tests.web.conftest import StaffBrowser, create_staff, replace_settings, staff
from tests.web.test_console_browser import CHROMIUM, chromium  # noqa: F401 (the fixture)
from tests.web.test_console_http import locale

SHOTS = PROJECT / "docs" / "website"
PHONE = {"width": 360, "height": 740}

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
    pytest.mark.xdist_group("browser"),
]


@pytest.fixture
def city_site(tmp_path: Path, fake_telegram: FakeTelegram) -> Iterator[tuple[ThreadedServer, str]]:
    """Acasă, and a city page on another origin that embeds the widget with one line."""
    city_port, port = free_port(), free_port()
    city = f"http://127.0.0.1:{city_port}"
    create_staff(tmp_path / "acasa.db")
    settings = replace(replace_settings(service_settings(tmp_path, fake_telegram, port)), web_chat_origins=(city,))
    with ThreadedServer(create_app(settings), port=port) as acasa:

        async def page(request):
            return HTMLResponse(
                '<!doctype html><html lang="uk"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                "<title>Primăria Timișoara</title></head>"
                "<body><h1>Ласкаво просимо до Тімішоари</h1><p>Сторінка міста.</p>"
                f'<script src="{acasa.url}/chat/widget.js" defer></script></body></html>'
            )

        with ThreadedServer(Starlette(routes=[Route("/", page)]), port=city_port):
            acasa.db = tmp_path / "acasa.db"  # type: ignore[attr-defined]
            yield acasa, city


def db_rows(db: Path, sql: str, *params: object) -> list[tuple]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql, params).fetchall()


def shot(target, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(SHOTS / f"{name}.png"))


def test_the_widget_on_a_city_page_end_to_end(city_site, chromium, browsers) -> None:  # noqa: F811
    from playwright.sync_api import expect

    acasa, city = city_site
    uk = locale("uk")
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(city)
    page.click("#acasa-widget")
    chat = page.frame_locator("#acasa-widget-frame")
    expect(chat.locator(".msg.bot").first).to_contain_text("Acasă", timeout=20_000)  # the welcome, in Ukrainian
    expect(chat.locator(".msg.bot").first).to_have_attribute("lang", "uk")

    chat.locator("textarea").fill("як записатися до сімейного лікаря")
    chat.locator("textarea").press("Enter")
    answer = chat.locator(".msg.bot", has_text="сімейн").last
    expect(answer).to_be_visible(timeout=20_000)
    expect(answer).to_have_attribute("lang", "uk")
    assert answer.locator(".buttons button").count() >= 2  # buttons as buttons
    shot(page, "widget-ukrainian")
    assert all(url.startswith((city, acasa.url)) for url in requested), requested  # nothing from other sites

    # A mediator, from the web console.
    chat.locator("textarea").fill(uk["keywords.human"][1])
    chat.locator("textarea").press("Enter")
    chat.locator(".msg.bot button", has_text=uk["button.connect"]).last.click()
    expect(chat.locator(".msg.me", has_text=uk["button.connect"])).to_be_visible()
    maria = StaffBrowser(acasa.url, staff("maria"), browsers)
    maria.sign_in()
    deadline = time.monotonic() + 20
    while 'href="/console/tickets/' not in (inbox := maria.client.get("/console/inbox").text):
        assert time.monotonic() < deadline, "no ticket from the web chat"
        time.sleep(0.2)
    ticket = int(inbox.split('href="/console/tickets/', 1)[1].split('"', 1)[0])
    assert maria.post(f"/console/tickets/{ticket}/claim").status_code == 303

    # The phone loses its connection; the mediator writes, and so does the person.
    context.set_offline(True)
    assert maria.post(f"/console/tickets/{ticket}/say", text="Вітаю, я Марія. Чим можу допомогти?").status_code == 303
    chat.locator("textarea").fill("роботодавець забрав мій паспорт")
    chat.locator("textarea").press("Enter")
    expect(chat.locator(".status")).not_to_be_empty()  # "no connection, it will be sent"
    shot(page, "widget-offline")
    context.set_offline(False)
    expect(chat.locator(".msg.mediator", has_text="Марія")).to_be_visible(timeout=30_000)
    deadline = time.monotonic() + 30
    while "роботодавець забрав мій паспорт" not in maria.client.get(f"/console/tickets/{ticket}").text:
        assert time.monotonic() < deadline, "the message typed offline never reached the mediator"
        time.sleep(0.3)
    conversation = page.frame(url=lambda u: "/chat" in u).evaluate("localStorage.getItem('acasa.conversation')")
    mine = db_rows(acasa.db, "SELECT body FROM web_messages WHERE conversation = ?", conversation)
    assert [json.loads(b)["html"] for (b,) in mine].count("роботодавець забрав мій паспорт") == 1  # once
    shot(page, "widget-mediator")

    # "Forget" leaves nothing, here or there.
    assert maria.post(f"/console/tickets/{ticket}/close").status_code == 303
    chat.locator("textarea").fill(uk["keywords.forget"][1])
    chat.locator("textarea").press("Enter")
    chat.locator(".msg.bot button", has_text=uk["button.confirm_forget"]).last.click()
    frame = page.frame(url=lambda u: "/chat" in u)
    deadline = time.monotonic() + 20
    while frame.evaluate("localStorage.getItem('acasa.conversation')") is not None:
        assert time.monotonic() < deadline, "the browser kept the conversation"
        time.sleep(0.2)
    assert db_rows(acasa.db, "SELECT count(*) FROM web_messages WHERE conversation = ?", conversation) == [(0,)]
    assert db_rows(acasa.db, "SELECT count(*) FROM people WHERE platform_id = ?", conversation) == [(0,)]
    assert frame.evaluate("Object.keys(localStorage).filter(k => k.startsWith('acasa.'))") == []
    context.close()


def test_arabic_reads_right_to_left_and_pages_pass_axe(city_site, chromium) -> None:  # noqa: F811
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect

    acasa, _ = city_site
    context = chromium.new_context(viewport=PHONE, is_mobile=True, bypass_csp=True)  # axe is injected
    page = context.new_page()
    page.goto(f"{acasa.url}/chat?lang=ar")
    welcome = page.locator(".msg.bot").first
    expect(welcome).to_be_visible(timeout=20_000)
    page.locator("textarea").fill("كيف أسجل عند طبيب العائلة")
    page.locator("textarea").press("Enter")
    answer = page.locator(".msg.bot", has_text="طبيب").last
    expect(answer).to_be_visible(timeout=20_000)
    assert page.evaluate("getComputedStyle(document.querySelector('#acasa-chat')).direction") == "rtl"
    assert answer.evaluate("el => getComputedStyle(el).direction") == "rtl"
    box, log = answer.bounding_box(), page.locator(".log").bounding_box()
    assert box and log and box["x"] + box["width"] > log["x"] + log["width"] - 20  # a bot's message on the right
    shot(page, "chat-arabic")

    axe = Axe()
    for path in (
        "/chat?lang=uk",
        "/help/uk/",
        "/help/ar/health.family_doctor",
        "/help/ne/services",
        "/help/en/search?q=doctor",
    ):
        page.goto(acasa.url + path)
        page.wait_for_load_state("networkidle")
        results = axe.run(page)
        serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == [], (path, [(v["id"], v["help"], len(v["nodes"])) for v in serious])
        if path.startswith("/help/ar/"):
            shot(page, "help-arabic")
        if path.startswith("/help/ne/services"):
            shot(page, "services-nepali")
    context.close()
