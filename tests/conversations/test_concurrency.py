"""200 people x 10 messages, interleaved: every message answered once, in order, nothing lost."""

from __future__ import annotations

import asyncio
import random

from bot.engine import Engine
from bot.messages import ConversationKey, Incoming
from tests.conversations.conftest import rows

PEOPLE = 200
MESSAGES = 10
QUESTIONS = [
    "how do I find a family doctor",
    "menu",
    "school for my son",
    "I need a job",
    "tell me a joke",
    "where can I learn Romanian",
    "doctor",
    "help",
    "renew residence permit",
    "privacy",
]


async def test_interleaved_people_are_answered_in_order(engine: Engine, settings) -> None:
    rng = random.Random(42)
    replies_per_message: dict[tuple[int, int], int] = {}
    setup_replies: dict[int, int] = {}

    async def person(n: int) -> None:
        key = ConversationKey("load", f"p{n}")
        start = await engine.handle(Incoming(key, text="/start", lang_hint="en", message_id=f"p{n}-s"))
        chosen = await engine.handle(Incoming(key, payload="lang:en", message_id=f"p{n}-lang"))
        setup_replies[n] = len(start) + len(chosen)
        for i in range(MESSAGES):
            await asyncio.sleep(rng.random() / 100)  # interleave people
            text = f"{QUESTIONS[(n + i) % len(QUESTIONS)]} #{i}"
            replies = await engine.handle(Incoming(key, text=text, message_id=f"p{n}-{i}"))
            replies_per_message[(n, i)] = len(replies)

    await asyncio.gather(*(person(n) for n in range(PEOPLE)))
    assert len(replies_per_message) == PEOPLE * MESSAGES
    assert all(count >= 1 for count in replies_per_message.values())

    incoming = rows(
        settings,
        "SELECT p.platform_id, m.text FROM messages m JOIN people p ON p.id = m.person_id "
        "WHERE m.direction = 'in' ORDER BY m.id",
    )
    assert len(incoming) == PEOPLE * (MESSAGES + 2)
    by_person: dict[str, list[str]] = {}
    for platform_id, text in incoming:
        by_person.setdefault(platform_id, []).append(text)
    for n in range(PEOPLE):
        numbered = [t for t in by_person[f"p{n}"] if "#" in t]
        assert [int(t.rsplit("#", 1)[1]) for t in numbered] == list(range(MESSAGES))
    outgoing = rows(settings, "SELECT count(*) FROM messages WHERE direction = 'out'")[0][0]
    assert outgoing == sum(replies_per_message.values()) + sum(setup_replies.values())  # every reply logged, none twice
    # Each message was answered exactly once: a replayed message id is not answered again.
    again = await engine.handle(Incoming(ConversationKey("load", "p0"), text="menu #0", message_id="p0-0"))
    assert again == []


async def test_one_persons_burst_keeps_arrival_order(engine: Engine, settings) -> None:
    key = ConversationKey("burst", "one")
    await engine.handle(Incoming(key, payload="lang:en"))
    texts = [f"question number {i}" for i in range(30)]
    await asyncio.gather(*(engine.handle(Incoming(key, text=t)) for t in texts))
    logged = [t for (t,) in rows(settings, "SELECT text FROM messages WHERE direction = 'in' ORDER BY id")]
    assert logged[1:] == texts
    assert len(engine.locks) == 0  # locks are released when nobody waits
