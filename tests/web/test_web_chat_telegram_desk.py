"""A web chat conversation reaches the mediators' Telegram group like any other: its card in the
queue, a mediator claims it in Telegram and writes, and the words arrive in the browser."""

from __future__ import annotations

from tests.fakes.telegram_api import FakeTelegram
from tests.handoff.conftest import ANA, MediatorGroup
from tests.web.test_web_chat import WebPerson, start


def test_the_telegram_desk_takes_a_web_conversation(two_desks_service, fake_telegram: FakeTelegram, browsers) -> None:
    person = WebPerson(two_desks_service.url, browsers, lang="en")
    start(person, "en")
    person.send("my landlord keeps my deposit")
    person.send("mediator")
    person.press("handoff:yes", "Yes")
    group = MediatorGroup(fake_telegram, two_desks_service.url)
    card = group.wait_for_card(1)
    assert "web" in card["text"] and "my landlord keeps my deposit" in card["text"]
    group.claim(ANA, 1)
    [joined] = person.replies(1)
    assert "Ana" in joined["html"]
    group.write(ANA, "Hello, this is Ana. Which street is the flat on?", group.topic(1))
    [said] = person.replies(1)
    assert said.get("from") == "mediator" and "Which street is the flat on?" in said["html"]
