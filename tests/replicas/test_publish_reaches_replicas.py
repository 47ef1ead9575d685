"""The editors' studio with two running `acasa serve` processes on one PostgreSQL, in real Chromium.

An editor fixes an English answer on one instance and publishes; the Ukrainian and Nepali texts
turn "needs editing" with the diff; a Ukrainian reviewer, signed in on the other instance, edits and
approves her text, and also publishes a Nepali question an editor took from the inbox. Both
instances answer with the new texts within seconds. Neither watches the content folder here (a
poll interval of an hour): the news of a publication reaches the other instance only through the
database (PostgreSQL's NOTIFY).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
import yaml

from tests.conftest import ON_POSTGRESQL, PROJECT, reset_postgres
from tests.fakes.servers import free_port
from tests.fakes.service_process import ServiceProcess
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.conftest import SECRET, TelegramUser
from tests.web.conftest import PASSWORD, create_staff
from tests.web.test_console_browser import CHROMIUM, chromium  # noqa: F401 (the fixture)

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
    pytest.mark.xdist_group("browser"),
]
assert ON_POSTGRESQL  # the same marker as the other PostgreSQL tests (the group is the browser's)

ENTRY = "health.family_doctor"
OLD_EN = "To register, go to a family doctor's office and bring:"
NEW_EN = "To register, go to a family doctor's office that still takes new patients and bring:"
NEW_UK = "Запишіться до лікаря, який ще приймає нових пацієнтів."
T = TypeVar("T")
NEPALI_QUESTION = "बिजुलीको मिटर अर्को मान्छेको नाममा छ"  # "the electricity meter is in another person's name"


def knowledge_in_git(tmp_path: Path) -> Path:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(PROJECT / "knowledge", knowledge)
    for args in (("init", "-q"), ("add", "."), ("commit", "-qm", "content")):
        subprocess.run(
            ["git", "-c", "user.name=Editor", "-c", "user.email=editor@example.org", "-C", str(knowledge), *args],
            check=True,
            capture_output=True,
        )
    return knowledge


def instance(tmp_path: Path, fake: FakeTelegram, database: str, knowledge: Path, name: str) -> ServiceProcess:
    port = free_port()
    return ServiceProcess(
        tmp_path,
        port,
        {
            "DATABASE_URL": database,
            "ACASA_KB_DIR": str(knowledge),
            "CONTENT_POLL_SECONDS": "3600",  # no folder watching: only the database tells
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_BASE_URL": fake.url,  # type: ignore[attr-defined]
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "WEB_DESK": "true",
            "MEDIATOR_LANGUAGE": "en",
        },
        name=name,
    ).start()


def off_thread(work: Callable[[], T]) -> T:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


def answered_within(seconds: float, ask: Callable[[], str], expected: str) -> float:
    """Ask again until the reply holds ``expected``; the seconds it took."""
    start = time.monotonic()
    while True:
        reply = ask()
        if expected in reply:
            return time.monotonic() - start
        assert time.monotonic() - start < seconds, f"still the old answer after {seconds} s: {reply[:300]}"
        time.sleep(0.5)


def sign_in(page, url: str, login: str) -> None:
    page.goto(url + "/console/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login button[type=submit]")
    page.wait_for_url("**/console/studio")


def publish(page, url: str) -> None:
    page.goto(url + "/console/studio/publish")
    page.click("#publish button", no_wait_after=True)  # the checks take a while: wait below
    page.wait_for_selector("section.result", timeout=180_000)
    assert page.locator("section.result.published").count() == 1, page.locator("section.result").inner_text()


def test_a_publication_reaches_both_running_instances(tmp_path: Path, fake_telegram: FakeTelegram, chromium) -> None:  # noqa: F811
    # Playwright's API keeps an event loop in this thread: the database work runs in another.
    database = off_thread(lambda: asyncio.run(reset_postgres()))
    knowledge = knowledge_in_git(tmp_path)
    a = instance(tmp_path, fake_telegram, database, knowledge, "a")
    b = instance(tmp_path, fake_telegram, database, knowledge, "b")
    off_thread(lambda: create_staff(database))  # the schema is there now
    try:
        english = TelegramUser(fake_telegram, b.url, 7501, lang="en")
        english.send("/start")
        english.press("lang:en")
        nepali = TelegramUser(fake_telegram, a.url, 7502, lang="ne")
        nepali.send("/start")
        nepali.press("lang:ne")
        [reply] = nepali.send(NEPALI_QUESTION)
        assert "housing.find_rental" not in str(reply.get("reply_markup"))  # not answered yet

        # Edith fixes the English answer on instance A.
        editor = chromium.new_context(viewport={"width": 1280, "height": 900})
        page = editor.new_page()
        sign_in(page, a.url, "edith")
        page.goto(f"{a.url}/console/studio/entries/{ENTRY}?language=en")
        answer = page.locator("form.edit-text textarea[name=answer]")
        assert OLD_EN in answer.input_value()
        answer.fill(answer.input_value().replace(OLD_EN, NEW_EN))
        page.click("form.edit-text button[type=submit]")
        publish(page, a.url)
        assert NEW_EN in (knowledge / "entries" / ENTRY / "en.yaml").read_text(encoding="utf-8")

        # Instance B answers with it, told only through the database.
        took = answered_within(20, lambda: english.send("how do I register with a family doctor")[0]["text"], NEW_EN)
        print(f"instance B answered with the new English text {took:.1f} s after the publication")

        # The translations made from the old English text now need editing, with the diff.
        page.goto(a.url + "/console/studio")
        for language in ("uk", "ne"):
            cell = page.locator(f"tr#{ENTRY.replace('.', chr(92) + '.')} td.state.outdated[data-language={language}]")
            assert cell.count() == 1, language
        page.goto(a.url + "/console/studio/outdated")
        assert NEW_EN in page.locator("pre.diff span.added").first.inner_text()

        # Edith takes the Nepali question from the inbox as an example of the rental entry.
        page.goto(a.url + "/console/studio/unanswered?language=ne")
        group = page.locator("article.group", has_text=NEPALI_QUESTION)
        group.locator("select[name=entry_id]").select_option("housing.find_rental")
        group.locator("form.inbox-actions button[value=example]").click()
        page.wait_for_url("**/console/studio/publish")
        editor.close()

        # Olena, a Ukrainian reviewer, signs in on instance B, edits, approves and publishes.
        reviewer = chromium.new_context(viewport={"width": 1280, "height": 900})
        page = reviewer.new_page()
        sign_in(page, b.url, "olena")
        page.goto(f"{b.url}/console/studio/entries/{ENTRY}?language=uk")
        assert page.locator("span.state.outdated").count() == 1
        answer = page.locator("form.edit-text textarea[name=answer]")
        answer.fill(NEW_UK + "\n\n" + answer.input_value())
        page.click("form.edit-text button[type=submit]")
        page.goto(f"{b.url}/console/studio/entries/{ENTRY}?language=uk")
        page.click("form.approve button[type=submit]")
        publish(page, b.url)
        reviewer.close()

        written = yaml.safe_load((knowledge / "entries" / ENTRY / "uk.yaml").read_text(encoding="utf-8"))
        assert written["review"] == "reviewed" and written["reviewed_by"] == "Olena"
        ukrainian = TelegramUser(fake_telegram, a.url, 7503, lang="uk")
        ukrainian.send("/start")
        ukrainian.press("lang:uk")
        took = answered_within(20, lambda: ukrainian.send("як записатися до сімейного лікаря")[0]["text"], NEW_UK)
        print(f"instance A answered with the approved Ukrainian text {took:.1f} s after the publication")
        [reply] = nepali.send(NEPALI_QUESTION)
        assert "housing.find_rental" in str(reply.get("reply_markup"))  # now answered
    finally:
        a.stop_now()
        b.stop_now()
