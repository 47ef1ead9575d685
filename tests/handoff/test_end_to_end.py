"""A person on Telegram and a person on WhatsApp each ask for a person; mediators in the group
claim, write and close; every message arrives on the other side exactly once."""

from __future__ import annotations

import time

import httpx
import yaml

from tests.conftest import PROJECT
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.handoff.conftest import ANA, GROUP, ION, STRANGER, MediatorGroup, db_rows
from tests.telegram.conftest import TelegramUser, buttons_of
from tests.whatsapp.conftest import WhatsAppUser, choice_number


def locale(lang: str) -> dict:
    return yaml.safe_load((PROJECT / "locales" / f"{lang}.yaml").read_text(encoding="utf-8"))


def test_telegram_and_whatsapp_people_with_two_mediators(
    desk_service, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    uk, en = locale("uk"), locale("en")
    group = MediatorGroup(fake_telegram, desk_service.url)

    # Olena, on Telegram, in Ukrainian: asks a question, then for a person.
    olena = TelegramUser(fake_telegram, desk_service.url, 7001, lang="uk")
    olena.send("/start")
    olena.press("lang:uk")
    olena.send("як записатися до сімейного лікаря")
    [consent] = olena.send("людина")
    assert uk["handoff.consent"] in consent["text"]
    assert buttons_of(consent) == ["handoff:yes", "handoff:no"]
    [queued] = olena.press("handoff:yes")
    assert uk["handoff.queued"] in queued["text"] and "112" in queued["text"]
    card = group.wait_for_card(1)
    assert "#1" in card["text"] and "(uk)" in card["text"] and "Telegram" in card["text"]
    assert "сімейного лікаря" in card["text"]  # the last question, for context
    assert int(card["message_thread_id"]) == group.queue_topic()

    # Raj, on WhatsApp, in English: numbered choices.
    raj = WhatsAppUser(fake_twilio, desk_service, "+9779800001111")
    [picker] = raj.send("hello")
    raj.send(choice_number(picker, "English"))
    [consent_wa] = raj.send("I want to talk to a person")
    assert en["handoff.consent"] in consent_wa
    [queued_wa] = raj.send(choice_number(consent_wa, en["button.connect"]))
    assert en["handoff.queued"] in queued_wa and "number 2 in the queue" in queued_wa
    group.wait_for_card(2)
    assert httpx.get(desk_service.url + "/healthz").json()["tickets_waiting"] == 2

    # Someone outside the group cannot claim; Ana and Ion can, one ticket each.
    group.claim(STRANGER, 1)
    fake_telegram.wait_for(lambda: any("Only members" in (a.get("text") or "") for a in group.acks()))
    assert db_rows(desk_service.db, "SELECT status FROM tickets WHERE id = 1") == [("waiting",)]
    group.claim(ANA, 1)
    [joined] = olena.replies(1)
    assert "Ana" in joined["text"]
    topic_1 = group.topic(1)
    assert fake_telegram.topics[GROUP][topic_1]["name"] == "#1 · Українська · Registering with a family doctor"
    transcript = group.wait_in_topic(topic_1, "Claimed by")
    assert any("як записатися до сімейного лікаря" in text for text in transcript)  # what she asked the bot
    group.claim(ION, 1)  # too late: Ana has it
    fake_telegram.wait_for(lambda: any("Already taken by Ana" in (a.get("text") or "") for a in group.acks()))
    group.claim(ION, 2)
    [joined_wa] = raj.replies(1)
    assert "Ion" in joined_wa
    topic_2 = group.topic(2)

    # Both ways, through the topic.
    group.write(ANA, "Добрий день! Чим можу допомогти?", topic_1)
    [from_ana] = olena.replies(1)
    assert from_ana["text"] == "👤 Ana: Добрий день! Чим можу допомогти?"
    olena.send("Мені потрібна довідка для школи", expect=0)
    group.wait_in_topic(topic_1, "Мені потрібна довідка для школи")
    assert len(fake_telegram.sent(7001)) == olena.seen  # relayed; the bot itself said nothing
    # Chat the classifiers read as danger (no danger phrase): 112 in one line for her, marked for Ana.
    [caution] = olena.send("Погода тут зовсім не як у нас, зима майже без снігу, зате весна рання, вже все цвіте")
    assert "112" in caution["text"] and "116 111" not in caution["text"]  # one line, not every number
    marked = group.wait_in_topic(topic_1, "зима майже без снігу")
    assert any(t.startswith("⚠️") and "112" in t and "зима майже без снігу" in t for t in marked), marked
    group.write(ION, "Hello Raj, <b>how</b> can I help?", topic_2)
    [from_ion] = raj.replies(1)
    assert from_ion == "👤 Ion: Hello Raj, <b>how</b> can I help?"  # plain text, nothing interpreted
    assert raj.post(raj.params("37")).status_code == 200  # a number is for the mediator, not a menu choice
    group.wait_in_topic(topic_2, "👤 37")
    [photo] = raj.send("", NumMedia="1", MediaUrl0="https://api.twilio.com/media/1", MediaContentType0="image/jpeg")
    assert en["handoff.text_only"] in photo
    group.wait_in_topic(topic_2, "not passed on")  # the mediator knows something was sent

    # Only the mediator holding a ticket writes to its person.
    group.write(ION, "I can take over", topic_1)
    group.wait_in_topic(topic_1, "is with Ana")

    # Closing: the bot is back and asks for a rating.
    group.write(ANA, "/close", topic_1)
    closed, rate = olena.replies(2)
    assert uk["handoff.closed"] in closed["text"] and uk["handoff.rate"] in rate["text"]
    [thanks] = olena.press("rate:1:5")
    assert uk["handoff.rated"] in thanks["text"]
    group.write(ION, "/close", topic_2)
    closed_wa, rate_wa = raj.replies(2)
    assert "5. 5 ⭐" in rate_wa
    assert en["handoff.closed"] in closed_wa
    [thanks_wa] = raj.send("4")
    assert en["handoff.rated"] in thanks_wa
    [answer] = raj.send("how do I register with a family doctor")  # the bot answers again
    assert "family" in answer.lower()

    time.sleep(1.0)  # anything sent twice would have arrived by now
    mediator_lines = [c for c in fake_telegram.sent(7001) if c.params["text"].startswith("👤 Ana")]
    assert len(mediator_lines) == 1
    assert sum(1 for c in fake_twilio.delivered(raj.number) if c.params.get("Body", "").startswith("👤 Ion")) == 1
    assert group.fake.in_topic(GROUP, topic_1).count("👤 Мені потрібна довідка для школи") == 1
    assert db_rows(desk_service.db, "SELECT id, status, mediator, rating FROM tickets ORDER BY id") == [
        (1, "closed", "tg:501", 5),
        (2, "closed", "tg:502", 4),
    ]
    assert db_rows(desk_service.db, "SELECT count(*) FROM tickets WHERE first_reply_at IS NULL") == [(0,)]
    assert fake_telegram.topics[GROUP][topic_1]["closed"] and fake_telegram.topics[GROUP][topic_2]["closed"]
