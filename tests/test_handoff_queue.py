"""The hand-off queue on every backend: atomic claims, order, transitions, statistics."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy.exc import IntegrityError

from bot.handoff.queue import HandoffQueue
from bot.messages import ConversationKey
from bot.store import Store, Turn
from tests.conftest import NOW


async def person(store: Store, name: str) -> int:
    state = await store.load(ConversationKey("telegram", name))
    state.language = "uk"
    person_id = await store.save(Turn(state=state, at=NOW, incoming_text="hi"))
    assert person_id is not None
    return person_id


async def test_twenty_simultaneous_claims_have_exactly_one_winner(store: Store) -> None:
    queue = HandoffQueue(store)
    ticket = await queue.enqueue(await person(store, "p1"), "telegram", "uk", ["rights.asylum"])
    # Twenty mediators on twenty separate connections (as if on several servers) press Claim at once.
    url = store.engine.url.render_as_string(hide_password=False)
    desks = [await Store.open(url, migrate=False) for _ in range(20)]
    try:
        results = await asyncio.gather(
            *(HandoffQueue(d).claim(ticket.id, f"mediator-{i}") for i, d in enumerate(desks))
        )
    finally:
        for desk in desks:
            await desk.close()
    assert results.count(True) == 1
    winner = f"mediator-{results.index(True)}"
    claimed = await queue.get(ticket.id)
    assert claimed is not None and claimed.status == "claimed" and claimed.mediator == winner


async def test_urgent_first_then_oldest(store: Store) -> None:
    queue = HandoffQueue(store)
    old = await queue.enqueue(await person(store, "p2a"), "telegram", "uk", [], at=NOW - dt.timedelta(minutes=30))
    new = await queue.enqueue(await person(store, "p2b"), "whatsapp", "ne", [], at=NOW - dt.timedelta(minutes=5))
    urgent = await queue.enqueue(await person(store, "p2c"), "telegram", "ar", [], urgent=True, at=NOW)
    assert [t.id for t in await queue.waiting()] == [urgent.id, old.id, new.id]
    assert [await queue.position(t) for t in (urgent, old, new)] == [1, 2, 3]
    assert await queue.ahead_of_new(urgent=True) == 1
    assert await queue.ahead_of_new(urgent=False) == 3


async def test_one_open_ticket_per_person(store: Store) -> None:
    queue = HandoffQueue(store)
    pid = await person(store, "p6")
    first = await queue.enqueue(pid, "telegram", "uk", [])
    with pytest.raises(IntegrityError):
        await queue.enqueue(pid, "telegram", "uk", [])
    await queue.close(first.id, "cancelled")
    second = await queue.enqueue(pid, "telegram", "uk", [])  # a closed ticket does not count
    assert (await queue.latest_for(pid)).id == second.id  # type: ignore[union-attr]


async def test_release_transfer_close_rate(store: Store) -> None:
    queue = HandoffQueue(store)
    ticket = await queue.enqueue(await person(store, "p3"), "telegram", "ru", ["health.family_doctor"])
    assert await queue.claim(ticket.id, "ana")
    assert not await queue.release(ticket.id, "someone-else")  # only the mediator holding it
    assert await queue.release(ticket.id, "ana")
    assert (await queue.get(ticket.id)).status == "waiting"  # type: ignore[union-attr]
    assert await queue.claim(ticket.id, "ana")
    assert await queue.transfer(ticket.id, "ana", "ion")
    assert not await queue.transfer(ticket.id, "ana", "maria")
    await queue.first_reply(ticket.id)
    assert await queue.close(ticket.id)
    assert not await queue.close(ticket.id)  # already closed
    assert await queue.rate(ticket.id, 5)
    done = await queue.get(ticket.id)
    assert done is not None and (done.status, done.mediator, done.rating) == ("closed", "ion", 5)
    assert done.first_reply_at is not None and done.closed_at is not None


async def test_statistics(store: Store) -> None:
    queue = HandoffQueue(store)
    a = await queue.enqueue(await person(store, "p4a"), "telegram", "uk", [], at=NOW - dt.timedelta(minutes=20))
    b = await queue.enqueue(await person(store, "p4b"), "telegram", "uk", [], at=NOW - dt.timedelta(minutes=10))
    await queue.enqueue(await person(store, "p4c"), "telegram", "uk", [], at=NOW)
    await queue.claim(a.id, "ana", at=NOW - dt.timedelta(minutes=16))
    await queue.claim(b.id, "ana", at=NOW - dt.timedelta(minutes=8))
    await queue.first_reply(a.id, at=NOW - dt.timedelta(minutes=14))
    await queue.close(a.id, at=NOW)
    await queue.rate(a.id, 4)
    stats = await queue.stats(now=NOW)
    assert stats["waiting_now"] == 1
    assert stats["median_minutes_to_claim"] == 3.0  # 4 and 2 minutes
    assert stats["median_minutes_to_first_reply"] == 6.0
    assert stats["closed_per_day"] == {NOW.date().isoformat(): 1}
    assert stats["ratings"] == {4: 1} and stats["average_rating"] == 4


async def test_forget_keeps_the_ticket_for_statistics_but_not_the_person(store: Store) -> None:
    queue = HandoffQueue(store)
    pid = await person(store, "p5")
    ticket = await queue.enqueue(pid, "telegram", "uk", [])
    state = await store.load(ConversationKey("telegram", "p5"))
    await store.save(Turn(state=state, at=NOW, incoming_text="forget", forget=True))
    anonymous = await queue.get(ticket.id)
    assert anonymous is not None and anonymous.person_id is None
    assert await store.count("people") == 0


def test_queue_cli(tmp_path) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import PROJECT

    db = tmp_path / "queue.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{db}"}

    async def fill() -> None:
        store = await Store.open(env["DATABASE_URL"])
        try:
            queue = HandoffQueue(store)
            pid = await person(store, "cli")
            ticket = await queue.enqueue(pid, "whatsapp", "ne", ["work.find_job"], urgent=True)
            await queue.claim(ticket.id, "ana")
            await queue.enqueue(await person(store, "cli2"), "telegram", "uk", [])
        finally:
            await store.close()

    asyncio.run(fill())

    def acasa(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "queue", *args],
            env=env,
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    listing = acasa("list").splitlines()
    assert "claimed" in listing[1] and "work.find_job" in listing[1] and "yes" in listing[1]
    assert "waiting" in listing[2]
    assert "mediator        ana" in acasa("show", "1")
    assert "Waiting now:                 1" in acasa("stats")


async def test_desk_transactions_on_every_backend(store: Store) -> None:
    """The turn's hand-off effects and the desk's actions, on SQLite and PostgreSQL alike."""
    from sqlalchemy import select

    from bot.channels.telegram_topics import TelegramTopics
    from bot.content import ContentService
    from bot.handoff.desk import Desk, DeskAction
    from bot.handoff.desk_text import load_desk_text
    from bot.handoff.queue import Mediator
    from bot.handoff.watch import Limits, Watch
    from bot.store import HandoffEffects
    from bot.store.schema import outbox
    from tests.conftest import PROJECT

    async def jobs() -> list[tuple[str, str, str]]:
        async with store.engine.connect() as conn:
            rows = await conn.execute(select(outbox.c.channel, outbox.c.chat_id, outbox.c.body).order_by(outbox.c.id))
            return [(r.channel, r.chat_id, r.body.get("kind", "")) for r in rows]

    content = ContentService(PROJECT / "knowledge", PROJECT / "locales")
    content.load()
    queue = HandoffQueue(store)
    desk = Desk(store, content, load_desk_text(PROJECT / "locales", "en")[0])
    key = ConversationKey("telegram", "desk-person")
    pid = await person(store, "desk-person")
    opening = {"channel": "telegram", "language": "uk", "topics": ["rights.asylum"], "urgent": False, "summary": "?"}
    state = await store.load(key)
    await store.save(Turn(state=state, at=NOW, incoming_text="yes", handoff=HandoffEffects(open_ticket=opening)))
    [ticket] = await queue.waiting()
    assert (ticket.person_id, ticket.summary) == (pid, "?")
    assert await jobs() == [("desk", "queue", "card")]

    ana = Mediator("tg:1", "Ana", "ana")
    await desk.handle(DeskAction("claim", ana, ticket_id=ticket.id, ack_id="cb1"), None, at=NOW)
    await desk.handle(DeskAction("claim", Mediator("tg:2", "Ion"), ticket_id=ticket.id, ack_id="cb2"), None, at=NOW)
    claimed = await queue.get(ticket.id)
    assert claimed is not None and (claimed.status, claimed.mediator, claimed.mediator_name) == (
        "claimed",
        "tg:1",
        "Ana",
    )
    assert claimed.transcript_upto is not None  # the person's messages so far go into the topic
    await TelegramTopics(store).set(ticket.id, thread_id=77)  # the Telegram desk's own record

    state = await store.load(key)
    relay = (ticket.id, {"kind": "relay", "ticket_id": ticket.id, "text": "hello"})
    await store.save(Turn(state=state, at=NOW, incoming_text="hello", handoff=HandoffEffects(relay=relay)))
    await desk.handle(DeskAction("say", ana, ticket_id=ticket.id, thread_id=77, text="Привіт"), None, at=NOW)
    await desk.handle(DeskAction("say", ana, thread_id=77, text="lost"), None, at=NOW)  # no ticket named: refused
    await desk.handle(DeskAction("languages", ana, args=("uk", "ru")), None, at=NOW)
    assert (await queue.mediator("tg:1")).languages == ("uk", "ru")  # type: ignore[union-attr]
    replied = await queue.get(ticket.id)
    assert replied is not None and replied.first_reply_at is not None
    kinds = await jobs()
    assert ("desk", f"ticket:{ticket.id}", "relay") in kinds and ("desk", f"ticket:{ticket.id}", "open") in kinds
    assert [k for k in kinds if k[0] == "telegram"] == [("telegram", "desk-person", "send")] * 2  # joined, Привіт

    watch = Watch(desk, Limits(dt.timedelta(minutes=15), dt.timedelta(minutes=10), dt.timedelta(hours=1)))
    assert await watch.tick(NOW + dt.timedelta(hours=2)) == {"reminded": 0, "flagged": 0, "closed": 1}
    closed = await queue.get(ticket.id)
    assert closed is not None and closed.status == "closed"
    await content.close()


async def test_cancel_is_decided_when_written_and_forget_withdraws_desk_messages(store: Store) -> None:
    from sqlalchemy import select

    from bot.store import HandoffEffects
    from bot.store.schema import outbox

    queue = HandoffQueue(store)
    key = ConversationKey("telegram", "racer")
    pid = await person(store, "racer")
    ticket = await queue.enqueue(pid, "telegram", "uk", [])
    assert await queue.claim(ticket.id, "tg:1")  # the claim lands while the person's "cancel" is in flight
    state = await store.load(key)
    await store.save(Turn(state=state, at=NOW, incoming_text="cancel", handoff=HandoffEffects(cancel=ticket.id)))
    ended = await queue.get(ticket.id)
    assert ended is not None and ended.status == "closed"  # ended with the mediator, not "left the queue"

    async def desk_jobs() -> list[tuple[str, str]]:
        async with store.engine.connect() as conn:
            query = select(outbox.c.chat_id, outbox.c.body).where(outbox.c.channel == "desk").order_by(outbox.c.id)
            return [(r.chat_id, r.body.get("kind")) for r in await conn.execute(query)]

    assert (f"ticket:{ticket.id}", "ended") in await desk_jobs()

    second = await queue.enqueue(pid, "telegram", "uk", [])
    assert await queue.claim(second.id, "tg:1")
    state = await store.load(key)
    relay = (second.id, {"kind": "relay", "ticket_id": second.id, "text": "my address is ..."})
    await store.save(Turn(state=state, at=NOW, incoming_text="my address is ...", handoff=HandoffEffects(relay=relay)))
    assert (f"ticket:{second.id}", "relay") in await desk_jobs()
    state = await store.load(key)
    await store.save(Turn(state=state, at=NOW, incoming_text="forget", forget=True))
    remaining = await desk_jobs()
    # Their words are not sent on; each desk is only told to remove its copy (the Telegram topic).
    assert {kind for chat, kind in remaining if chat.startswith("ticket:")} == {"forgotten"}
    assert ("queue", "card") in remaining  # the card is updated: ended
