"""After "forget", a dump of every table holds no trace of the person: not their id, not their
chat or phone number, not a word they wrote — and yet the confirmation reached them."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

from tests.fakes.telegram_api import FakeTelegram, text_update
from tests.fakes.twilio_api import FakeTwilio
from tests.handoff.conftest import ANA, GROUP, MediatorGroup
from tests.handoff.test_desk import claimed
from tests.telegram.conftest import TelegramUser
from tests.whatsapp.conftest import WhatsAppUser, choice_number

EN_DONE = "deleted"  # in the English confirmation of "forget"


def dump(db: Path) -> dict[str, list[tuple]]:
    """Every row of every table, as an auditor would read the file."""
    with closing(sqlite3.connect(db)) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: conn.execute(f'SELECT * FROM "{name}"').fetchall() for name in names}


def person_id(db: Path, channel: str, chat: str) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT id FROM people WHERE channel = ? AND platform_id = ?", (channel, chat)).fetchone()[
            0
        ]


def traces(db: Path, pid: int, words: list[str]) -> list[str]:
    found = []
    with closing(sqlite3.connect(db)) as conn:
        for table, rows in dump(db).items():
            columns = [c[1] for c in conn.execute(f'PRAGMA table_info("{table}")')]
            for row in rows:
                for column, value in zip(columns, row, strict=True):
                    if (column == "person_id" and value == pid) or (
                        table == "people" and column == "id" and value == pid
                    ):
                        found.append(f"{table}.{column} = {pid}")
                    found += [f"{table}.{column} holds {w!r}" for w in words if w in str(value)]
    return found


def test_forget_on_telegram_with_a_mediator_leaves_nothing(
    desk_service, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    group = MediatorGroup(fake_telegram, desk_service.url)
    chat = 987_654_321
    amir = TelegramUser(fake_telegram, desk_service.url, chat)
    amir.send("/start")
    amir.press("lang:en")
    amir.send("my landlord Zanzibarov wants more rent what can i do")
    amir.send("quokka teleportation licence renewal")  # nothing in the knowledge base: kept for editors
    amir.send("person")
    amir.press("handoff:yes")
    topic = claimed(group, amir, ANA, 1)
    assert amir.post(text_update(chat, "my code is Quokka-77")).status_code == 200  # relayed, not answered
    group.wait_in_topic(topic, "Quokka-77")
    group.write(ANA, "Hello, I am reading your messages", topic)
    amir.replies(1)
    pid = person_id(desk_service.db, "telegram", str(chat))

    amir.send("forget")
    [done] = amir.press("forget:yes")
    assert EN_DONE in done["text"]
    fake_telegram.wait_for(lambda: topic not in fake_telegram.topics.get(GROUP, {}))  # the mediators' copy too
    fake_telegram.wait_for(lambda: not dump(desk_service.db)["outbox"], timeout=30)
    words = [str(chat), "Zanzibarov", "quokka teleportation", "Quokka-77", "reading your messages"]
    assert traces(desk_service.db, pid, words) == []


def say(user: WhatsAppUser, body: str) -> str:
    """Send, then wait until every part of the answer has arrived (quiet for a moment); all of it."""
    assert user.post(user.params(body)).status_code == 200
    user.fake.wait_for(lambda: len(user.fake.delivered(user.number)) > user.seen)
    count = -1
    while count != len(user.fake.delivered(user.number)):
        count = len(user.fake.delivered(user.number))
        time.sleep(1.5)  # WhatsApp messages to one person go out a second apart
    texts = [c.params.get("Body", "") for c in user.fake.delivered(user.number)[user.seen :]]
    user.seen = count
    return "\n".join(texts)


def test_forget_on_whatsapp_leaves_nothing_and_the_confirmation_arrives(
    desk_service, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    number = "+40755500001"
    rada = WhatsAppUser(fake_twilio, desk_service, number)
    picker = say(rada, "hello")
    say(rada, choice_number(picker, "English"))
    say(rada, "my landlord Zanzibarov keeps my passport what can i do")
    say(rada, "quokka teleportation licence renewal")
    say(rada, "person")
    say(rada, "yes")  # consent: a ticket waits for a mediator, with the last question on its card
    MediatorGroup(fake_telegram, desk_service.url).wait_for_card(1)
    pid = person_id(desk_service.db, "whatsapp", number)

    question = say(rada, "forget")
    done = say(rada, choice_number(question, "Yes, delete everything"))
    assert EN_DONE in done  # sent although nothing about them is left to tell when they last wrote
    fake_telegram.wait_for(lambda: not dump(desk_service.db)["outbox"], timeout=30)
    words = [number, number.lstrip("+"), "Zanzibarov", "quokka teleportation"]
    assert traces(desk_service.db, pid, words) == []
