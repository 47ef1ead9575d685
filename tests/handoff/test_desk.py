"""The mediator desk's commands, topics and reminders, through the real service and fake APIs."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

import yaml

from bot.content import ContentService
from bot.handoff.desk import Desk
from bot.handoff.desk_text import load_desk_text
from bot.handoff.watch import Limits, Watch
from bot.server import create_app
from bot.store import Store
from tests.conftest import PROJECT
from tests.fakes.servers import ThreadedServer, free_port
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.handoff.conftest import ANA, GROUP, ION, MediatorGroup, db_rows, desk_settings
from tests.telegram.conftest import TelegramUser
from tests.whatsapp.conftest import WhatsAppUser, choice_number

EN = yaml.safe_load((PROJECT / "locales" / "en.yaml").read_text(encoding="utf-8"))


def ask_for_person(user: TelegramUser) -> None:
    user.send("/start")
    user.press("lang:en")
    user.send("person")
    user.press("handoff:yes")


def claimed(group: MediatorGroup, user: TelegramUser, mediator: dict, ticket_id: int) -> int:
    group.wait_for_card(ticket_id)
    group.claim(mediator, ticket_id)
    user.replies(1)
    topic = group.topic(ticket_id)
    group.wait_in_topic(topic, "Claimed by")
    return topic


def test_release_puts_the_ticket_back_and_transfer_hands_it_over(desk_service, fake_telegram: FakeTelegram) -> None:
    group = MediatorGroup(fake_telegram, desk_service.url)
    amir = TelegramUser(fake_telegram, desk_service.url, 7201)
    ask_for_person(amir)
    topic = claimed(group, amir, ANA, 1)

    maria = {"id": 503, "is_bot": False, "first_name": "Maria", "last_name": "Pop"}
    fake_telegram.members[GROUP][503] = "member"
    group.write(maria, "/release", topic)  # not Maria's ticket, and she is no administrator
    group.wait_in_topic(topic, "is with Ana")
    group.write(ANA, "/release", topic)
    [back] = amir.replies(1)
    assert EN["handoff.released"] in back["text"]
    group.wait_for_card(1, count=2)  # a fresh card in the queue
    fake_telegram.wait_for(lambda: fake_telegram.topics[GROUP][topic]["closed"])
    assert db_rows(desk_service.db, "SELECT status, mediator FROM tickets") == [("waiting", None)]

    group.claim(ION, 1)  # the same topic is reopened for the new mediator
    [joined] = amir.replies(1)
    assert "Ion" in joined["text"]
    group.wait_in_topic(topic, 'Claimed by <a href="tg://user?id=502">Ion</a>')
    assert not fake_telegram.topics[GROUP][topic]["closed"]

    group.write(ANA, "hello from Ana", None)  # Ana is known to the desk from her earlier actions
    group.write(ION, "/transfer @ana_med", topic)
    [moved] = amir.replies(1)
    assert EN["handoff.transferred"].format(name="Ana") in moved["text"]
    group.wait_in_topic(topic, "transferred this conversation to")
    group.write(ANA, "Ana again", topic)
    [line] = amir.replies(1)
    assert line["text"] == "👤 Ana: Ana again"
    # Transfer back by replying to one of Ion's messages.
    ion_message = {"message_id": 4242, "date": 0, "chat": {"id": GROUP, "type": "supergroup"}, "from": ION}
    group.write(ANA, "/transfer", topic, reply_to=ion_message)
    amir.replies(1)
    assert db_rows(desk_service.db, "SELECT mediator FROM tickets") == [("tg:502",)]
    # A group administrator (Ion) may end a conversation someone else holds, e.g. when they left.
    group.write(ION, "/transfer @ana_med", topic)
    amir.replies(1)
    group.write(ION, "/close", topic)
    closed, _rate = amir.replies(2)
    assert EN["handoff.closed"] in closed["text"]
    assert db_rows(desk_service.db, "SELECT status, mediator FROM tickets") == [("closed", "tg:501")]


def test_a_deleted_topic_is_created_again_with_the_transcript(desk_service, fake_telegram: FakeTelegram) -> None:
    group = MediatorGroup(fake_telegram, desk_service.url)
    maria = TelegramUser(fake_telegram, desk_service.url, 7202)
    ask_for_person(maria)
    topic = claimed(group, maria, ANA, 1)
    fake_telegram.delete_topic_by_hand(GROUP, topic)
    maria.send("are you there?", expect=0)
    fake_telegram.wait_for(
        lambda: len([t for t in fake_telegram.topics[GROUP].values() if t["name"].startswith("#1 ")]) == 1
    )
    new_topic = group.topic(1)
    assert new_topic != topic
    texts = group.wait_in_topic(new_topic, "👤 are you there?")
    assert len(fake_telegram.sent(7202)) == maria.seen  # relayed, and the bot said nothing to her
    assert any("#1" in t and "person" in t for t in texts[:1])  # the transcript comes first
    assert db_rows(desk_service.db, "SELECT thread_id FROM desk_topics") == [(new_topic,)]
    # The queue topic too.
    fake_telegram.delete_topic_by_hand(GROUP, group.queue_topic())
    other = TelegramUser(fake_telegram, desk_service.url, 7203)
    ask_for_person(other)
    group.wait_for_card(2)
    assert group.queue_topic() in fake_telegram.topics[GROUP]


def test_languages_mention_speakers_on_new_cards(desk_service, fake_telegram: FakeTelegram) -> None:
    group = MediatorGroup(fake_telegram, desk_service.url)
    group.write(ION, "/languages uk RU", None)
    fake_telegram.wait_for(lambda: any("Ion speaks: uk ru" in t for t in fake_telegram.in_topic(GROUP, None)))
    group.write(ANA, "/languages xx", None)
    fake_telegram.wait_for(
        lambda: any("Unknown language code(s): xx" in t for t in fake_telegram.in_topic(GROUP, None))
    )
    olena = TelegramUser(fake_telegram, desk_service.url, 7204, lang="uk")
    olena.send("/start")
    olena.press("lang:uk")
    olena.send("людина")
    olena.press("handoff:yes")
    card = group.wait_for_card(1)
    assert "tg://user?id=502" in card["text"] and "tg://user?id=501" not in card["text"]
    group.write(ANA, "I'll take the next Ukrainian one", group.queue_topic())  # talk among mediators
    group.write(ANA, "/close", group.queue_topic())
    fake_telegram.wait_for(
        lambda: any("does not belong to a ticket" in t for t in fake_telegram.in_topic(GROUP, group.queue_topic()))
    )
    group.write(ANA, "/queue", None)
    fake_telegram.wait_for(
        lambda: any("Open tickets" in t and "#1 · uk · waiting" in t for t in fake_telegram.in_topic(GROUP, None))
    )
    # Only the command was answered, not the talk before it (checked once everything after it arrived).
    assert sum("does not belong to a ticket" in t for t in fake_telegram.in_topic(GROUP, group.queue_topic())) == 1


def test_person_cancels_while_waiting_and_ends_with_a_mediator(desk_service, fake_telegram: FakeTelegram) -> None:
    group = MediatorGroup(fake_telegram, desk_service.url)
    lina = TelegramUser(fake_telegram, desk_service.url, 7205)
    ask_for_person(lina)
    card = group.wait_for_card(1)
    [left] = lina.send("cancel")
    assert EN["handoff.cancelled"] in left["text"]
    fake_telegram.wait_for(
        lambda: any(
            c.method == "editMessageText" and "cancelled by the person" in c.params["text"]
            for c in fake_telegram.sent(GROUP)
        )
    )
    assert db_rows(desk_service.db, "SELECT status FROM tickets") == [("cancelled",)]
    group.claim(ANA, 1)  # an old card: nothing to claim any more
    fake_telegram.wait_for(lambda: any("cancelled" in (a.get("text") or "") for a in group.acks()))
    assert card  # the card existed
    lina.send("person")
    lina.press("handoff:yes")
    topic = claimed(group, lina, ANA, 2)
    [question] = lina.send("stop")  # might be meant for the mediator: asked first
    assert EN["handoff.confirm_end"] in question["text"]
    lina.press("handoff:stay", expect=0)
    assert lina.send("stop, the landlord wants more rent", expect=0) == []  # an ordinary message again
    group.wait_in_topic(topic, "👤 stop, the landlord wants more rent")
    lina.send("cancel")
    [ended] = lina.press("handoff:end")  # one message: the notice and the rating question
    assert EN["handoff.ended"] in ended["text"] and EN["handoff.rate"] in ended["text"]
    assert "rate:2:1" in str(ended["reply_markup"])
    group.wait_in_topic(topic, "The person ended the conversation")


def test_reminders_flags_and_idle_close(desk_service, fake_telegram: FakeTelegram) -> None:
    group = MediatorGroup(fake_telegram, desk_service.url)
    waiting, silent, idle = (TelegramUser(fake_telegram, desk_service.url, 7300 + i) for i in range(3))
    ask_for_person(waiting)
    ask_for_person(silent)
    ask_for_person(idle)
    group.wait_for_card(3)
    claimed(group, silent, ANA, 2)
    idle_topic = claimed(group, idle, ION, 3)
    group.write(ION, "I am looking into it", idle_topic)
    idle.replies(1)

    async def check(at: dt.datetime) -> dict[str, int]:
        store = await Store.open(f"sqlite+aiosqlite:///{desk_service.db}", migrate=False)
        content = ContentService(PROJECT / "knowledge", PROJECT / "locales")
        content.load()
        try:
            watch = Watch(
                Desk(store, content, load_desk_text(PROJECT / "locales", "en")[0]),
                Limits(dt.timedelta(minutes=15), dt.timedelta(minutes=10), dt.timedelta(hours=24)),
            )
            return await watch.tick(at)
        finally:
            await store.close()
            await content.close()

    # Move the story to a Wednesday: everything happened at 10:40 in Timișoara (08:40 UTC) ...
    base = dt.datetime(2027, 3, 3, 8, 40, tzinfo=dt.UTC)
    stamp = base.strftime("%Y-%m-%d %H:%M:%S.%f")
    with closing(sqlite3.connect(desk_service.db)) as db:
        db.execute(
            "UPDATE tickets SET created_at = :t, last_activity_at = :t,"
            " claimed_at = CASE WHEN claimed_at IS NULL THEN NULL ELSE :t END,"
            " holder_since = CASE WHEN holder_since IS NULL THEN NULL ELSE :t END,"
            " first_reply_at = CASE WHEN first_reply_at IS NULL THEN NULL ELSE :t END,"
            " holder_replied_at = CASE WHEN holder_replied_at IS NULL THEN NULL ELSE :t END",
            {"t": stamp},
        )
        db.commit()
    # ... and check at 11:00, within working hours: #1 has waited 20 minutes, #2 has no reply for 20.
    soon = base + dt.timedelta(minutes=20)
    assert asyncio.run(check(soon)) == {"reminded": 1, "flagged": 1, "closed": 0}
    assert asyncio.run(check(soon)) == {"reminded": 0, "flagged": 0, "closed": 0}  # once, not every check
    group.wait_for_card(1, count=2)
    reminder = group.wait_for_card(1, count=2)
    assert "Still waiting" in reminder["text"]
    fake_telegram.wait_for(
        lambda: any(
            "#2, claimed by" in t and "no reply" in t for t in fake_telegram.in_topic(GROUP, group.queue_topic())
        )
    )

    later = soon + dt.timedelta(hours=25)
    assert asyncio.run(check(later))["closed"] == 2  # both claimed conversations idle for a day
    for person in (silent, idle):
        closed, _rate = person.replies(2)
        assert EN["handoff.idle_closed"] in closed["text"]
    group.wait_in_topic(idle_topic, "Closed automatically")
    assert db_rows(desk_service.db, "SELECT id, status FROM tickets ORDER BY id") == [
        (1, "waiting"),  # nobody in the queue is dropped: still waiting, announced again
        (2, "closed"),
        (3, "closed"),
    ]


def test_mediator_reply_outside_the_whatsapp_window_waits_for_the_person(
    desk_service, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    group = MediatorGroup(fake_telegram, desk_service.url)
    raj = WhatsAppUser(fake_twilio, desk_service, "+9779800002222")
    [picker] = raj.send("hello")
    raj.send(choice_number(picker, "English"))
    [consent] = raj.send("person")
    raj.send(choice_number(consent, EN["button.connect"]))
    group.wait_for_card(1)
    group.claim(ANA, 1)
    raj.replies(1)
    topic = group.topic(1)
    # Raj last wrote more than 24 hours ago.
    with closing(sqlite3.connect(desk_service.db)) as db:
        day_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)
        db.execute("UPDATE people SET last_seen = ?", (day_ago.strftime("%Y-%m-%d %H:%M:%S.%f"),))
        db.commit()
    group.write(ANA, "Your appointment is on Monday", topic)
    group.wait_in_topic(topic, "WhatsApp allows free messages only within 24 hours")
    fake_twilio.wait_for(lambda: any(c.params.get("ContentSid") for c in fake_twilio.delivered(raj.number)))
    assert not any("appointment" in c.params.get("Body", "") for c in fake_twilio.delivered(raj.number))
    raj.seen = len(fake_twilio.delivered(raj.number))  # the template notice
    assert raj.send("hello?") == ["👤 Ana: Your appointment is on Monday"]  # kept until Raj wrote
    group.wait_in_topic(topic, "👤 hello?")


def test_the_mediator_learns_when_the_person_blocked_the_bot(desk_service, fake_telegram: FakeTelegram) -> None:
    group = MediatorGroup(fake_telegram, desk_service.url)
    sami = TelegramUser(fake_telegram, desk_service.url, 7206)
    ask_for_person(sami)
    topic = claimed(group, sami, ANA, 1)
    fake_telegram.blocked_chats.add(7206)
    group.write(ANA, "Are you still there?", topic)
    group.wait_in_topic(topic, "The person has blocked the bot")


def test_the_desk_speaks_romanian_when_told(
    tmp_path: Path, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    fake_telegram.members[GROUP] = {ANA["id"]: "member"}
    port = free_port()
    app = create_app(desk_settings(tmp_path, fake_telegram, fake_twilio, port, mediator_language="ro"))
    with ThreadedServer(app, port=port) as server:
        group = MediatorGroup(fake_telegram, server.url)
        vera = TelegramUser(fake_telegram, server.url, 7401)
        ask_for_person(vera)
        card = group.wait_for_card(1)
        assert "Locul în coadă: 1" in card["text"] and "Preia #1" in str(card["reply_markup"])
        assert fake_telegram.topic_named(GROUP, "📥 Coadă") == group.queue_topic()
        group.claim(ANA, 1)
        [joined] = vera.replies(1)
        assert EN["handoff.claimed"].format(name="Ana") in joined["text"]  # the person keeps their language
        group.wait_in_topic(group.topic(1), "Preluat de")
