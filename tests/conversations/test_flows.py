"""Conversations, read like dialogue, through the real engine on a real SQLite file."""

from __future__ import annotations

import yaml

from bot.engine import Engine
from tests.conversations.conftest import PROJECT, Person, rows


def locale(lang: str) -> dict:
    return yaml.safe_load((PROJECT / "locales" / f"{lang}.yaml").read_text(encoding="utf-8"))


def keyword(lang: str, command: str) -> str:
    return locale(lang)[f"keywords.{command}"][0]


async def test_first_contact_picker_privacy_then_menu(engine: Engine) -> None:
    olena = Person(engine, "olena", lang_hint="uk")
    await olena.send("/start")
    assert olena.buttons[0] == "✓ Українська"  # preselected from the platform's language
    assert olena.text.startswith(locale("uk")["language.choose"])
    assert len(olena.buttons) == 11
    await olena.press("Українська")
    assert "Acasă" in olena.text  # welcome
    assert "90" in olena.text  # privacy notice with the retention period
    assert [locale("uk")[f"topic.{t}"] for t in ("rights", "health")] == olena.buttons[:2]


async def test_arabic_question_before_choosing_is_answered_after_choosing(engine: Engine) -> None:
    samir = Person(engine, "samir")
    await samir.send("كيف أسجل عند طبيب العائلة؟")
    assert samir.buttons[0] == "✓ العربية"
    assert "\u200f" in samir.replies[0].text  # right-to-left prompt
    await samir.press("العربية")
    assert "health.family_doctor" in samir.intents
    answer = next(r for r in samir.replies if r.intent == "health.family_doctor")
    assert answer.lang == "ar"
    [on_demand] = [b.payload for b in answer.buttons if b.payload.startswith(("more:", "src:"))]
    await samir.press(on_demand)  # the rest of the answer, or only the sources where it all fitted
    assert "https://" in samir.text


async def test_nepali_romanized_question_instead_of_choosing(engine: Engine) -> None:
    bikash = Person(engine, "bikash")
    await bikash.send("namaste")
    await bikash.send("malai kaam chahiyo, job kasari khojne?")
    assert "work.find_job" in bikash.intents
    assert all(r.lang == "ne" for r in bikash.replies)
    await bikash.send(keyword("ne", "menu"))
    assert any(b.startswith("topic:") for b in bikash.payloads)


async def test_menu_topic_pages_entry_and_feedback(engine: Engine, settings) -> None:
    ana = Person(engine, "ana")
    await ana.send("/start")
    await ana.press("Română")
    await ana.press("topic:health:0")
    assert ana.text.startswith(locale("ro")["topic.health"])
    assert "topic:health:1" in ana.payloads  # more than one page of health entries
    await ana.press("topic:health:1")
    assert "topic:health:0" in ana.payloads
    entry_payload = next(p for p in ana.payloads if p.startswith("e:"))
    await ana.send(payload=entry_payload)
    assert ana.intents == [entry_payload[2:]]
    assert locale("ro")["answer.last_checked"].split("{")[0] not in ana.text  # the answer first
    await ana.press(next(p for p in ana.payloads if p.startswith(("more:", "src:"))))
    assert locale("ro")["answer.last_checked"].split("{")[0] in ana.text
    await ana.send(payload=f"fb:{entry_payload[2:]}:1")  # the button under the answer
    assert rows(settings, "SELECT entry_id, language, helpful FROM feedback") == [(entry_payload[2:], "ro", 1)]


async def test_did_you_mean_then_numbered_choice(engine: Engine) -> None:
    john = Person(engine, "john", lang_hint="en")
    await john.send("/start")
    await john.press("English")
    await john.send("hospital")
    assert "Did you mean" in john.text
    offered = [p for p in john.payloads if p.startswith("e:")]
    assert 2 <= len(offered) <= 3
    await john.send("1")  # channels without buttons answer with a number
    assert john.intents == [offered[0][2:]]


async def test_no_match_is_honest_and_recorded_for_editors(engine: Engine, settings) -> None:
    marie = Person(engine, "marie", lang_hint="fr")
    await marie.send("/start")
    await marie.press("Français")
    await marie.send("raconte-moi une blague sur les chats")
    assert marie.intents == [None]
    assert "human" in marie.payloads and "menu" in marie.payloads
    assert rows(settings, "SELECT language, text FROM unanswered") == [("fr", "raconte-moi une blague sur les chats")]


async def test_crisis_gets_emergency_numbers_first_in_any_language(engine: Engine) -> None:
    for name, text in [
        ("a", "help he is beating me"),
        ("b", "أريد أن أقتل نفسي"),
        ("c", "malai marna man lagyo"),
        ("d", "вона не дихає"),
    ]:
        person = Person(engine, name)
        await person.send(text)
        assert "112" in person.replies[0].text, (text, person.text)
        assert "human" in person.replies[0].buttons[0].payload


async def test_commands_by_keyword_in_four_languages(engine: Engine) -> None:
    for lang, native in [("uk", "Українська"), ("ar", "العربية"), ("ne", "नेपाली"), ("ro", "Română")]:
        person = Person(engine, f"kw-{lang}")
        await person.send("/start")
        await person.press(native)
        await person.send(keyword(lang, "menu"))
        assert any(p.startswith("topic:") for p in person.payloads), lang
        await person.send(keyword(lang, "language"))
        assert len(person.buttons) == 11, lang
        await person.press(native)
        await person.send(keyword(lang, "help"))
        assert "menu" in person.payloads, lang
        await person.send(keyword(lang, "human"))
        assert person.intents == ["general.human"], lang
        await person.send(keyword(lang, "privacy"))
        assert "general.privacy" in person.intents, lang
        await person.send(keyword(lang, "forget"))
        assert person.payloads == ["forget:yes", "forget:no"], lang
        await person.send(keyword(lang, "cancel"))
        assert "forget:yes" not in person.payloads, lang


async def test_forget_deletes_every_row_about_the_person(engine: Engine, settings) -> None:
    keep = Person(engine, "someone-else")
    await keep.send("/start")
    gone = Person(engine, "leaving")
    await gone.send("/start")
    await gone.press("English")
    await gone.send("how do I find a family doctor")
    await gone.press(f"fb:{gone.intents[0]}:0")
    await gone.send("tell me a joke")
    await gone.send("forget")
    await gone.press("forget:yes")
    assert "deleted" in gone.text
    assert rows(settings, "SELECT count(*) FROM people WHERE platform_id = 'leaving'") == [(0,)]
    for table in ("messages", "feedback", "unanswered", "conversations"):
        assert rows(settings, f"SELECT count(*) FROM {table} WHERE person_id NOT IN (SELECT id FROM people)") == [(0,)]
    assert rows(settings, "SELECT count(*) FROM feedback") == [(0,)]
    assert rows(settings, "SELECT count(*) FROM unanswered") == [(0,)]
    assert rows(settings, "SELECT platform_id FROM people") == [("someone-else",)]
    await gone.send("hello")  # a fresh start
    assert len(gone.buttons) == 11


async def test_restart_in_the_middle_resumes(open_engine, settings) -> None:
    async with open_engine() as engine:
        sita = Person(engine, "sita")
        await sita.send("/start")
        await sita.press("नेपाली")
        await sita.send("बिर्सनुहोस्")  # forget? asks for confirmation
        assert sita.payloads == ["forget:yes", "forget:no"]
    async with open_engine() as engine:  # the process restarted
        sita = Person(engine, "sita")
        await sita.send("2")  # the numbered choice from before the restart: "cancel"
        assert "menu" in sita.payloads
        assert sita.replies[0].lang == "ne"  # the language is remembered
    assert rows(settings, "SELECT count(*) FROM people") == [(1,)]


async def test_duplicate_platform_message_is_answered_once(engine: Engine, settings) -> None:
    p = Person(engine, "dup")
    assert await p.send("/start", message_id="m1")
    assert await p.send("/start", message_id="m1") == []
    assert rows(settings, "SELECT count(*) FROM messages WHERE direction = 'in'") == [(1,)]


async def test_oversized_message_gets_a_clear_error_and_is_not_stored(engine: Engine, settings) -> None:
    p = Person(engine, "long", lang_hint="en")
    await p.send("x" * 5000)
    assert "too long" in p.text
    assert rows(settings, "SELECT text FROM messages WHERE direction = 'in'") == [
        ("[message of 5000 characters, not processed]",)
    ]
