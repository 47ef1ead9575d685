"""What becomes of each message is recorded with it, and the night's count turns it into the
city's figures: from a real conversation, through the real engine and database."""

from __future__ import annotations

import datetime as dt

from bot.figures import roll_up, select_figures
from bot.handoff.schedule import ALWAYS_OPEN
from tests.conversations.conftest import Person, rows

MORNING = dt.datetime(2026, 11, 10, 8, 0, tzinfo=dt.UTC)


async def test_a_conversation_becomes_figures_without_its_words(settings, engine) -> None:
    person = Person(engine, "olek")

    async def say(text: str | None = None, payload: str | None = None, minute: int = 0) -> None:
        await person.send(text, payload=payload, at=MORNING + dt.timedelta(minutes=minute))

    await say("/start", minute=0)
    await say(payload="lang:en", minute=1)
    await say("how do I register with a family doctor", minute=2)
    await say("thank you so much", minute=3)
    await say("my friend fell from the scaffolding and is bleeding a lot", minute=4)
    await say("how can i get married in romania", minute=5)
    await say("where is the office", minute=6)
    recorded = [r[0] for r in rows(settings, "SELECT intent FROM messages WHERE direction = 'in' ORDER BY id")]
    assert recorded[2:] == [
        "answered:health.family_doctor",
        "smalltalk",
        "crisis",
        "nearby:marriage",
        recorded[6],
    ]
    assert recorded[6].split(":")[0] in ("unanswered", "suggested")

    store = engine.store
    assert await roll_up(store, ALWAYS_OPEN, MORNING + dt.timedelta(days=2)) > 0
    day = await select_figures(store, dt.date(2026, 11, 10), dt.date(2026, 11, 10))
    assert day.total("messages") == 7  # the start and the language button too
    assert day.total("questions") == 3  # the family doctor, the marriage and the office
    assert day.by("answered", "subject") == {"health.family_doctor": 1}
    assert day.total("crisis") == 1 and day.total("smalltalk") == 1
    assert day.by("out_of_scope", "subject") == {"marriage": 1}
    assert day.total("people") == 1 and day.total("new_people") == 1
    everything = rows(settings, "SELECT * FROM figures")
    assert not any("bleeding" in str(cell) or "olek" in str(cell) for row in everything for cell in row)
