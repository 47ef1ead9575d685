"""The console in real Chromium (Debian's ``chromium``, driven by Playwright): a mediator's day.

Screenshots of the main screens are saved into ``docs/console/`` for the mediators' guide
(``docs/console.md``).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from tests.conftest import PROJECT
from tests.telegram.conftest import TelegramUser
from tests.web.conftest import PASSWORD, staff
from tests.web.test_console_http import ask_for_a_person, locale
from tests.whatsapp.conftest import WhatsAppUser, choice_number

CHROMIUM = os.environ.get("ACASA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = PROJECT / "docs" / "console"

if not Path(CHROMIUM).exists() and os.environ.get("ACASA_REQUIRE_BROWSER"):
    raise RuntimeError(f"no chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium)")

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
    pytest.mark.xdist_group("browser"),
]


@pytest.fixture
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page, url: str, login: str) -> None:
    member = staff(login)
    page.goto(url + "/console/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login button[type=submit]")
    page.wait_for_url("**/console/second-factor")
    assert member.totp is not None
    page.fill("input[name=code]", pyotp.TOTP(member.totp).now())
    page.click("#second-factor button[type=submit]")
    page.wait_for_url("**/console/inbox")
    page.wait_for_selector("html[data-live-ready]")


def letter_photo() -> bytes:
    """A real (PNG) picture of a letter: a white page with grey lines, for the screenshot."""
    import struct
    import zlib

    width, height = 240, 320
    rows = []
    for y in range(height):
        line = 20 <= y < 300 and y % 16 < 3
        pixel = b"\x9a\x9a\x9a" if line else b"\xfa\xfa\xf5"
        margin = b"\xd0\xd0\xd0"
        rows.append(b"\x00" + margin * 16 + pixel * (width - 32) + margin * 16)
    raw = zlib.compress(b"".join(rows))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_mediators_day_in_the_browser(console_two_channels, fake_telegram, fake_twilio, chromium) -> None:
    url = console_two_channels.url
    desk = chromium.new_context(viewport={"width": 1200, "height": 800}, locale="en-GB")
    phone = chromium.new_context(viewport={"width": 390, "height": 800}, is_mobile=True)  # a colleague on a phone
    maria, dan = desk.new_page(), phone.new_page()
    sign_in(maria, url, "maria")
    sign_in(dan, url, "dan")
    assert maria.locator("li.ticket").count() == 0

    # Olena (Telegram, Ukrainian) and Raj (WhatsApp, English) ask for a person: both appear live.
    olena = ask_for_a_person(fake_telegram, url, 7301, "uk", "як записатися до сімейного лікаря")
    asked = time.monotonic()
    maria.wait_for_selector("li.ticket[data-ticket='1']", timeout=5000)
    seen_after = time.monotonic() - asked
    raj = WhatsAppUser(fake_twilio, console_two_channels, "+9779800002222")
    [picker] = raj.send("hello")
    raj.send(choice_number(picker, "English"))
    [consent] = raj.send("I want to talk to a person")
    raj.send(choice_number(consent, locale("en")["button.connect"]))
    asked = time.monotonic()
    maria.wait_for_selector("li.ticket[data-ticket='2']", timeout=5000)
    dan.wait_for_selector("li.ticket[data-ticket='2']", timeout=5000)
    seen_after = max(seen_after, time.monotonic() - asked)  # the slower of the two people
    print(f"ticket appeared in the inbox {seen_after:.3f} s after the person was told they are queued")
    assert seen_after < 1.0, f"the ticket appeared {seen_after:.2f} s after the person was told they are queued"
    assert "uk" in maria.inner_text("li.ticket[data-ticket='1']")
    assert "whatsapp" in maria.inner_text("li.ticket[data-ticket='2']")
    shot(maria, "inbox")

    # Maria takes Olena's conversation; Dan sees it change on his phone without reloading.
    maria.click("li.ticket[data-ticket='1'] a")
    maria.wait_for_selector("#claim")
    maria.click("#claim")
    maria.wait_for_selector("textarea[name=text]")
    [joined] = olena.replies(1)
    assert "Maria" in joined["text"]
    dan.wait_for_selector("li.ticket[data-ticket='1']", state="detached", timeout=5000)  # gone from his screen
    assert dan.locator("li.ticket[data-ticket='2']").count() == 1  # Raj still waits

    # She writes to Olena, and leaves a note for colleagues that Olena never gets.
    maria.fill(".compose:not(.note-form) textarea", "Добрий день! Я Марія. Чим можу допомогти?")
    maria.click("#send")
    [said] = olena.replies(1)
    assert "Чим можу допомогти?" in said["text"]
    maria.fill(".note-form textarea", "Needs a family doctor who speaks Ukrainian")
    maria.click("#add-note")
    maria.wait_for_selector("text=Needs a family doctor who speaks Ukrainian")

    # Olena answers: her message appears live in the conversation.
    olena.send("Дякую! Мені потрібен лікар біля Сагу", expect=0)
    maria.wait_for_selector("text=Мені потрібен лікар біля Сагу", timeout=5000)

    # Olena sends a photo of a letter; Maria sees it, and sends her a PDF form.
    from tests.fakes.telegram_api import photo_update
    from tests.web.test_console_http import PDF

    fake_telegram.files["LETTER"] = letter_photo()
    olena.post(photo_update(7301, "LETTER", caption="лист з IGI", lang="uk"))
    maria.wait_for_selector("img[src='/console/files/1']", timeout=10000)
    maria.set_input_files(
        "#send-file-form input[type=file]", files=[{"name": "cerere.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    maria.fill("#send-file-form input[name=caption]", "Заява для IGI")
    maria.click("#send-file")
    fake_telegram.wait_for(lambda: bool(fake_telegram.calls_to("sendDocument")))
    [document] = fake_telegram.calls_to("sendDocument")
    assert document.params["document"]["content"] == PDF and "Заява для IGI" in document.params["caption"]

    # A knowledge-base answer, in Olena's language, edited before it goes out.
    maria.fill("input[name=q]", "сімейний лікар")
    maria.click("#search-answers")
    answer = maria.locator("form.kb-answer[data-entry='health.family_doctor']")
    answer.wait_for()
    body = answer.locator("textarea").input_value()
    assert "CNP" in body and "лікар" in body  # Ukrainian, plain text (no Markdown marks)
    assert "**" not in body
    answer.locator("textarea").fill("Ось що треба знати:\n" + body)
    answer.locator("button").click()
    [kb_message] = olena.replies(1)
    assert "Ось що треба знати:" in kb_message["text"] and body.splitlines()[0][:40] in kb_message["text"]
    shot(maria, "conversation")

    # A referral to JRS: Olena is asked in Ukrainian, agrees, and the page shows it live.
    maria.select_option("select[name=contact]", "jrs_romania")
    maria.click("#refer")
    [question] = olena.replies(1)
    assert "JRS" in question["text"]
    olena.press("ref:1:yes")
    maria.wait_for_selector("text=the person agreed", timeout=5000)
    maria.click("[data-referral='1'] button[data-step='sent']")
    maria.wait_for_selector("text=sent to the service")

    # Labels, then Dan takes over: he sees it live on his phone, Olena is told.
    maria.fill("input[name=labels]", "needs-doctor, Ukrainian speaker")
    maria.click("#save-labels")
    maria.wait_for_selector("text=ukrainian-speaker")
    maria.select_option("select[name=to]", "dan")
    maria.click("#transfer")
    maria.wait_for_url("**/console/inbox")
    [passed] = olena.replies(1)
    assert "Dan" in passed["text"]
    dan.wait_for_selector("li.ticket[data-ticket='1']", timeout=5000)  # back on his screen, as his
    assert "with you" in dan.inner_text("li.ticket[data-ticket='1']")
    assert "needs-doctor" in dan.inner_text("li.ticket[data-ticket='1']")

    # Dan closes; Olena is asked for a rating, and got each message exactly once.
    dan.click("li.ticket[data-ticket='1'] a")
    dan.wait_for_selector("#close")
    dan.click("#close")
    dan.wait_for_url("**/console/inbox")
    closing = olena.replies(2)
    assert locale("uk")["handoff.rate"] in closing[1]["text"]
    texts = [c.params.get("text", "") for c in fake_telegram.sent(7301)]
    assert sum("Чим можу допомогти?" in t for t in texts) == 1
    assert sum("Ось що треба знати:" in t for t in texts) == 1
    assert not any("family doctor who speaks" in t for t in texts)

    # The coordinator's audit trail shows each step.
    coord = desk.new_page()
    coord_context_user = staff("coord")
    assert coord_context_user.role == "coordinator"
    coord.context.clear_cookies()
    sign_in(coord, url, "coord")
    coord.goto(url + "/console/audit?ticket=1")
    trail = coord.inner_text("table.audit")
    for step in (
        "opened",
        "took",
        "wrote to the person",
        "added a private note",
        "labelled",
        "passed to a colleague",
        "closed",
    ):
        assert step in trail, step
    shot(coord, "audit")
    desk.close()
    phone.close()
    assert isinstance(olena, TelegramUser)
