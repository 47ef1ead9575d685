"""The editors' studio over real HTTP: coverage, translations that need editing, and the inbox of
questions the bot could not answer well — filled by people writing on (fake) Telegram."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.server import create_app
from tests.conftest import PROJECT
from tests.fakes.servers import ThreadedServer, free_port
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.conftest import TelegramUser, service_settings
from tests.web.conftest import StaffBrowser, create_staff, replace_settings, staff


@pytest.fixture
def studio_service(tmp_path: Path, fake_telegram: FakeTelegram) -> Iterator[ThreadedServer]:
    """The service on a copy of the knowledge base kept in git, whose English family-doctor text an
    editor changed after the translations were made."""
    knowledge = tmp_path / "knowledge"
    shutil.copytree(PROJECT / "knowledge", knowledge)

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=Editor", "-c", "user.email=editor@example.org", "-C", str(knowledge), *args],
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "content")
    english = knowledge / "entries" / "health.family_doctor" / "en.yaml"
    english.write_text(
        english.read_text(encoding="utf-8").replace(
            "You can **change your family doctor after 6 months**.",
            "You can **change your family doctor after 6 months**, at the new doctor's office.",
        ),
        encoding="utf-8",
    )
    create_staff(tmp_path / "acasa.db")
    port = free_port()
    settings = replace_settings(service_settings(tmp_path, fake_telegram, port))
    from dataclasses import replace

    with ThreadedServer(create_app(replace(settings, knowledge_dir=knowledge)), port=port) as server:
        server.knowledge = knowledge  # type: ignore[attr-defined]
        yield server


def test_the_studio_shows_what_needs_doing(studio_service, fake_telegram: FakeTelegram, browsers) -> None:
    person = TelegramUser(fake_telegram, studio_service.url, 7301, lang="en")
    person.send("/start")
    person.press("lang:en")
    person.send("where is the office")
    person.send("which office is it")
    person.send("how do I register with a family doctor")
    person.press("fb:health.family_doctor:0")

    edith = StaffBrowser(studio_service.url, staff("edith"), browsers)
    home = edith.sign_in()
    assert str(home.url).endswith("/console/studio")  # an editor lands in the studio

    coverage = home.text
    assert coverage.count('<tr id="') == 40  # every entry
    row = re.search(r'<tr id="health.family_doctor">(.*?)</tr>', coverage, re.S)
    assert row is not None
    assert row.group(1).count('class="state outdated"') == 10  # every translation needs editing
    assert row.group(1).count('class="state original"') == 1
    other = re.search(r'<tr id="health.insurance">(.*?)</tr>', coverage, re.S)
    assert other is not None and other.group(1).count('class="state machine"') == 10

    outdated = edith.client.get("/console/studio/outdated")
    assert outdated.status_code == 200
    assert "health.family_doctor" in outdated.text and "ar, bn, fr, ne, ro, ru, si, ta, uk, ur" in outdated.text
    assert '<span class="added">+You can **change your family doctor after 6 months**, at the new' in outdated.text
    assert '<span class="removed">-You can **change your family doctor after 6 months**.' in outdated.text

    inbox = edith.client.get("/console/studio/unanswered?language=en&days=30")
    assert inbox.status_code == 200
    assert "where is the office" in inbox.text and "which office is it" in inbox.text
    assert "2×" in inbox.text  # the two ways of asking form one group
    assert "👎 health.family_doctor" in inbox.text
    assert "7301" not in inbox.text  # who asked is never shown

    page = edith.client.get("/console/studio/entries/health.family_doctor?language=ar")
    assert page.status_code == 200
    assert "Registering with a family doctor" in page.text  # the original beside the translation
    assert "التسجيل عند طبيب العائلة" in page.text and 'dir="rtl"' in page.text
    answer = re.search(r'<article class="preview" id="preview-answer">(.*?)</article>', page.text, re.S)
    assert answer is not None
    assert answer.group(1).count('<div class="row">') == 3  # two short buttons a row, then the menu
    assert "\u200f" in answer.group(1)  # every right-to-left line marked
    assert "1 WhatsApp message(s)" in answer.group(1)
    assert edith.client.get("/console/studio/entries/no.such").status_code == 404
    uk = edith.client.get("/console/studio/entries/health.family_doctor?language=uk").text
    assert "What changed in the original since the uk text" in uk  # the diff, where the work is done
    assert '<span class="added">+You can **change your family doctor after 6 months**, at the new' in uk

    # While typing, the same rules as `kb check`, each problem at its field, in plain words.
    check = "/console/studio/entries/health.family_doctor/check"
    said = edith.post(check, language="uk", title="", answer="Текст\n\n# Заголовок").json()["problems"]
    fields = {p["field"]: p["message"] for p in said if p["error"]}
    assert set(fields) == {"title", "answer"}
    assert "missing or empty" in fields["title"] and fields["answer"].startswith("line 3: ")
    assert "headings" in fields["answer"]
    fine = edith.post(check, language="uk", title="Сімейний лікар", answer="Текст **важливий**.").json()
    assert [p for p in fine["problems"] if p["error"]] == []
    assert edith.client.post(check, data={"language": "uk", "title": "x", "answer": "y"}).status_code == 403  # no CSRF

    maria = StaffBrowser(studio_service.url, staff("maria"), browsers)
    maria.sign_in()
    assert maria.client.get("/console/studio").status_code == 403  # mediators do not edit content


def test_an_inbox_question_becomes_an_example_only_through_a_checked_publication(
    studio_service, fake_telegram: FakeTelegram, browsers
) -> None:
    question = "बिजुलीको मिटर अर्को मान्छेको नाममा छ"  # "the electricity meter is in another person's name"
    person = TelegramUser(fake_telegram, studio_service.url, 7302, lang="ne")
    person.send("/start")
    person.press("lang:ne")
    [reply] = person.send(question)
    assert "e:housing.find_rental" not in str(reply.get("reply_markup"))  # not answered yet

    edith = StaffBrowser(studio_service.url, staff("edith"), browsers)
    edith.sign_in()
    inbox = edith.client.get("/console/studio/unanswered?language=ne")
    assert question in inbox.text and 'action="/console/studio/unanswered/act"' in inbox.text
    act = "/console/studio/unanswered/act"
    wrong = edith.post(act, action="example", entry_id="no.such", language="ne", text=question)
    assert wrong.status_code == 400 and question in edith.client.get("/console/studio/unanswered").text  # kept
    staged = edith.post(act, action="example", entry_id="housing.find_rental", language="ne", text=question)
    assert staged.status_code == 303
    assert question not in edith.client.get("/console/studio/unanswered").text  # handled: out of the inbox
    knowledge: Path = studio_service.knowledge
    text_file = knowledge / "entries" / "housing.find_rental" / "ne.yaml"
    assert question not in text_file.read_text(encoding="utf-8")  # staged, not written

    # Someone broke another file meanwhile: publishing is refused, saying where, and nothing is written.
    broken = knowledge / "entries" / "health.insurance" / "uk.yaml"
    good = broken.read_text(encoding="utf-8")
    broken.write_text("title: [unclosed\n", encoding="utf-8")
    refused = edith.client.post("/console/studio/publish", data={"csrf": edith.csrf}, timeout=180)
    assert refused.status_code == 409
    assert "entries/health.insurance/uk.yaml" in refused.text
    assert question not in text_file.read_text(encoding="utf-8")
    assert question in edith.client.get("/console/studio/publish").text  # still waiting

    broken.write_text(good, encoding="utf-8")
    published = edith.client.post("/console/studio/publish", data={"csrf": edith.csrf}, timeout=180)
    assert published.status_code == 200, published.text
    assert 'class="card result published"' in published.text
    assert f'  - "{question}"' in text_file.read_text(encoding="utf-8")  # appended as a line, file kept
    log = subprocess.run(
        ["git", "-C", str(knowledge), "log", "-1", "--format=%an|%s", "--", str(text_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert log.stdout.strip() == "Edith|Studio: 1 example question(s)"
    history = edith.client.get("/console/studio/publish").text
    assert "published" in history and "Edith" in history

    [answer] = person.send(question)
    assert "more:housing.find_rental" in str(answer.get("reply_markup")) or "src:housing.find_rental" in str(
        answer.get("reply_markup")
    )


def test_a_reviewer_updates_and_approves_her_language_and_the_bot_answers_with_it(
    studio_service, fake_telegram: FakeTelegram, browsers
) -> None:
    knowledge: Path = studio_service.knowledge
    olena = StaffBrowser(studio_service.url, staff("olena"), browsers)
    assert str(olena.sign_in().url).endswith("/console/studio")  # a reviewer lands in the studio
    page = olena.client.get("/console/studio/entries/health.family_doctor?language=uk")
    assert 'class="edit-text"' in page.text and 'class="approve"' in page.text
    other = olena.client.get("/console/studio/entries/health.family_doctor?language=ru")
    assert 'class="edit-text"' not in other.text and 'class="approve"' not in other.text  # not her language
    assert (
        olena.post(
            "/console/studio/entries/health.family_doctor/text", language="ru", title="x", answer="y"
        ).status_code
        == 403
    )
    assert (
        olena.post(
            "/console/studio/entries/health.family_doctor/text", language="en", title="x", answer="y"
        ).status_code
        == 403
    )

    uk_file = knowledge / "entries" / "health.family_doctor" / "uk.yaml"
    import yaml

    current = yaml.safe_load(uk_file.read_text(encoding="utf-8"))
    wrong = olena.post(
        "/console/studio/entries/health.family_doctor/text",
        language="uk",
        title=current["title"],
        answer="# Заголовок\nтекст",
    )
    assert wrong.status_code == 400 and "headings" in wrong.text  # said at once, in plain words
    new_answer = "Змінити сімейного лікаря можна в кабінеті нового лікаря.\n\n" + current["answer"]
    too_long = olena.post(
        "/console/studio/entries/health.family_doctor/text",
        language="uk",
        title=current["title"],
        answer=new_answer,
        short_title="Реєстрація у сімейного лікаря",
    )
    assert too_long.status_code == 400 and "the short title has 29 characters" in too_long.text
    staged = olena.post(
        "/console/studio/entries/health.family_doctor/text",
        language="uk",
        title=current["title"],
        answer=new_answer,
        short_title="Лікар родини",
    )
    assert staged.status_code == 303
    assert olena.post("/console/studio/entries/health.family_doctor/approve", language="uk").status_code == 303
    published = olena.client.post("/console/studio/publish", data={"csrf": olena.csrf}, timeout=180)
    assert published.status_code == 200, published.text

    written = yaml.safe_load(uk_file.read_text(encoding="utf-8"))
    assert written["review"] == "reviewed" and written["reviewed_by"] == "Olena"
    assert written["short_title"] == "Лікар родини"  # the button label, edited in the browser
    assert written["answer"].startswith("Змінити сімейного лікаря можна в кабінеті нового лікаря.")
    assert len(written["examples"]) == len(current["examples"])  # the rest of the file as it was
    coverage = olena.client.get("/console/studio").text
    row = re.search(r'<tr id="health.family_doctor">(.*?)</tr>', coverage, re.S)
    assert row is not None
    assert row.group(1).count('class="state approved"') == 1 and row.group(1).count('class="state outdated"') == 9

    person = TelegramUser(fake_telegram, studio_service.url, 7303, lang="uk")
    person.send("/start")
    person.press("lang:uk")
    [answer] = person.send("як записатися до сімейного лікаря")
    assert "Змінити сімейного лікаря можна в кабінеті нового лікаря." in answer["text"]

    sita = StaffBrowser(studio_service.url, staff("sita"), browsers)
    sita.sign_in()
    assert sita.post("/console/studio/entries/health.family_doctor/approve", language="ne").status_code == 403
    assert sita.post("/console/studio/publish").status_code == 403  # translators stage; others publish


def test_inbox_groups_can_be_out_of_scope_a_wanted_entry_or_ignored(
    studio_service, fake_telegram: FakeTelegram, browsers
) -> None:
    person = TelegramUser(fake_telegram, studio_service.url, 7304, lang="en")
    person.send("/start")
    person.press("lang:en")
    for text in ("where is the office", "which office is it", "papers", "is there a good pizza place nearby"):
        person.send(text)
    edith = StaffBrowser(studio_service.url, staff("edith"), browsers)
    edith.sign_in()
    act = "/console/studio/unanswered/act"
    assert edith.post(act, action="ignore", language="en", text="where is the office").status_code == 303
    inbox = edith.client.get("/console/studio/unanswered").text
    assert "where is the office" not in inbox and "which office is it" not in inbox  # the whole group went
    assert "papers" in inbox
    assert edith.post(act, action="wanted", language="en", text="papers").status_code == 303
    assert (
        edith.post(act, action="out_of_scope", language="en", text="is there a good pizza place nearby").status_code
        == 303
    )
    assert edith.post(act, action="delete everything", language="en", text="x").status_code == 400
    publish = edith.client.get("/console/studio/publish").text
    assert 'id="wanted"' in publish and "papers" in publish  # a list for the next content round
    published = edith.client.post("/console/studio/publish", data={"csrf": edith.csrf}, timeout=180)
    assert published.status_code == 200, published.text
    knowledge: Path = studio_service.knowledge
    out_of_scope = (knowledge / "nlu" / "out_of_scope.yaml").read_text(encoding="utf-8")
    en_list = out_of_scope.split("\nen:\n", 1)[1].split("\nuk:\n", 1)[0]
    assert '  - "is there a good pizza place nearby"' in en_list  # in the English list, as a line
    assert "Nothing unanswered" in edith.client.get("/console/studio/unanswered?language=en").text
