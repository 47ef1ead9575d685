"""Answers that fit a phone, as a person meets them: the answer first, the rest on demand, the same
yes and no for every question, an honest word where no mediator desk exists, topic lists in the
order a community asks."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from bot.engine import Engine
from tests.conversations.conftest import PROJECT, Person, rows

WEDNESDAY_NOON = dt.datetime(2027, 3, 3, 10, 0, tzinfo=dt.UTC)  # mediators at work


def strings(lang: str) -> dict:
    return yaml.safe_load((PROJECT / "locales" / f"{lang}.yaml").read_text(encoding="utf-8"))


EN = strings("en")


async def person_in(engine: Engine, name: str, language: str) -> Person:
    person = Person(engine, name)
    await person.send("/start", at=WEDNESDAY_NOON)
    await person.press(language, at=WEDNESDAY_NOON)
    return person


@pytest.fixture
async def desk_engine(open_engine):
    async with open_engine(mediator_chat_id=-1001, telegram_bot_token="1:x") as running:
        yield running


async def test_answer_first_then_more_then_who_can_help(engine: Engine) -> None:
    person = await person_in(engine, "a", "English")
    await person.send("I need to register with a family doctor, what papers do they want?")
    [answer] = person.replies
    assert answer.intent == "health.family_doctor"
    assert person.text.startswith("Registering with a family doctor")
    assert "medic de familie" in person.text
    # Contacts and sources wait for the person to ask for them.
    assert "CAS Timiș" not in person.text.split("\n\n", 2)[0]
    assert EN["answer.sources"] + "\n" not in person.text and "cas.cnas.ro" not in person.text
    assert "Last checked" not in person.text
    assert person.buttons == ["More details", "Who can help", "👍 Yes", "👎 No", "Main menu"]
    assert len(person.text) < 900

    await person.press("More details")
    assert person.text.startswith("Registering with a family doctor (continued)")
    assert "change your family doctor after 6 months" in person.text  # the rest of the answer
    assert "Sources" in person.text and "help.unhcr.org" in person.text
    assert "Last checked: " in person.text
    assert person.buttons[0] == "Who can help" and person.buttons[-1] == "Main menu"
    assert len(person.buttons) <= 5

    await person.press("Who can help")
    assert person.text.startswith("Who can help: Registering with a family doctor")
    assert "Casa de Asigurări de Sănătate Timiș" in person.text  # the name on the door
    assert "JRS" in person.text
    assert person.buttons == ["Talk to a person", "More details", "Main menu"]


async def test_sources_when_the_whole_answer_fits(engine: Engine) -> None:
    person = await person_in(engine, "b", "English")
    await person.send(payload="e:education.kindergarten")
    assert person.intents == ["education.kindergarten"]
    assert "Sources" in person.buttons and "More details" not in person.buttons
    await person.press("Sources")
    assert "Last checked: " in person.text and "https://" in person.text


async def test_an_emergency_answer_is_whole_with_its_numbers(engine: Engine) -> None:
    person = await person_in(engine, "c", "English")
    await person.press("Health")
    await person.press("Emergencies")
    assert person.intents == ["health.emergency"]
    assert "112" in person.text and "More details" not in person.buttons
    card = EN["contact.phone"] + ": 112"
    assert card in person.text  # the number's card with the answer, no button to press first


async def test_a_good_answer_leads_on_to_related_entries(engine: Engine, settings) -> None:
    person = await person_in(engine, "d", "English")
    await person.send("how do I register with a family doctor")
    await person.press("👍")
    assert EN["feedback.thanks"] in person.text
    assert "Health insurance" in " ".join(person.buttons)  # related: what people read next
    assert rows(settings, "SELECT entry_id, helpful FROM feedback") == [("health.family_doctor", 1)]


async def test_translated_answer_carries_the_italic_machine_note(engine: Engine) -> None:
    person = await person_in(engine, "e", "Українська")
    await person.send("як зареєструватися у сімейного лікаря")
    note = strings("uk")["answer.unreviewed"]
    [answer] = person.replies
    assert f"_{note}_" in answer.text  # rendered as italics on Telegram and WhatsApp
    assert note in person.text and f"_{note}_" not in person.text  # plain in a terminal


@pytest.mark.parametrize(
    ("language", "yes", "no"),
    [
        ("English", "yes", "no"),
        ("Română", "da", "nu"),
        ("Українська", "так", "ні"),
        ("Русский", "da", "net"),
        ("العربية", "نعم", "لا"),
        ("नेपाली", "ho", "hoina"),
        ("Français", "oui", "non"),
    ],
)
async def test_typed_yes_and_no_work_for_forget(engine: Engine, settings, language, yes, no) -> None:
    person = await person_in(engine, "f", language)
    codes = ("en", "ro", "uk", "ru", "ar", "ne", "fr")
    lang = next(code for code in codes if strings(code)["_meta"]["name"] == language)
    await person.send("/forget")
    await person.send(no)
    assert strings(lang)["forget.cancelled"].strip("\u200f") in person.text
    assert rows(settings, "SELECT count(*) FROM people") == [(1,)]
    await person.send("/forget")
    await person.send(yes)
    assert strings(lang)["forget.done"].strip("\u200f") in person.text
    assert rows(settings, "SELECT count(*) FROM people") == [(0,)]


async def test_a_stray_yes_deletes_nothing(engine: Engine, settings) -> None:
    person = await person_in(engine, "g", "English")
    await person.send("/forget")
    await person.send("how do I register with a family doctor")  # did something else instead
    await person.send("yes")  # not an answer to the old question any more
    assert EN["forget.done"] not in person.text
    assert rows(settings, "SELECT count(*) FROM people") == [(1,)]


async def test_typed_yes_to_a_mediator_and_to_ending_the_conversation(desk_engine: Engine, settings) -> None:
    person = await person_in(desk_engine, "h", "Українська")
    await person.send("людина", at=WEDNESDAY_NOON)
    assert person.payloads == ["handoff:yes", "handoff:no"]
    await person.send("так", at=WEDNESDAY_NOON)
    assert rows(settings, "SELECT status FROM tickets") == [("waiting",)]
    await desk_engine.queue.claim(1, "m1")
    await person.send("стоп", at=WEDNESDAY_NOON)  # might be meant for the mediator: asked first
    assert person.payloads == ["handoff:end", "handoff:stay"]
    await person.send("ні", at=WEDNESDAY_NOON)
    assert rows(settings, "SELECT status FROM tickets") == [("claimed",)]
    await person.send("стоп", at=WEDNESDAY_NOON)
    await person.send("tak", at=WEDNESDAY_NOON)
    assert rows(settings, "SELECT status FROM tickets") == [("closed",)]


async def test_without_a_desk_talk_to_a_person_names_who_helps(engine: Engine) -> None:
    person = await person_in(engine, "i", "English")
    await person.send("person")
    assert EN["answer.no_desk"] in person.text
    assert "CNRR" in person.text and "JRS" in person.text
    assert EN["button.human"] not in person.buttons  # no button that leads back here
    await person.press("Main menu")
    assert EN["menu.title"] in person.text


async def test_one_privacy_item_in_the_menu(engine: Engine) -> None:
    person = await person_in(engine, "j", "English")
    await person.send("menu")
    privacy = [label for label in person.buttons if "rivacy" in label]
    assert privacy == [EN["button.privacy"]]


@pytest.mark.parametrize(
    ("language", "first"),
    [
        ("Українська", "rights.temporary_protection"),
        ("Русский", "rights.temporary_protection"),
        ("नेपाली", "rights.work_permit"),
        ("العربية", "rights.asylum"),
        ("English", "rights.residence_permit"),
    ],
)
async def test_topic_lists_start_with_what_the_community_asks(engine: Engine, language, first) -> None:
    person = await person_in(engine, "k", language)
    await person.send("menu")
    await person.press("topic:rights:0")
    entries = [p for p in person.payloads if p.startswith("e:")]
    assert entries[0] == f"e:{first}"
    assert len(entries) == 6  # three rows of two short labels
