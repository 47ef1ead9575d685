"""Hand-off benchmark: `acasa serve` with a mediator group, against a local fake Bot API.

    .venv/bin/python benchmarks/handoff_bench.py [--tickets 30] [--mediators 10] [--messages 300]

1. Claim races: ``--tickets`` people ask for a mediator; on each card ``--mediators`` mediators
   press Claim at the same moment. Checks that each ticket has exactly one winner; time from the
   presses to the person's "a mediator has joined" message.
2. Relay: ``--messages`` messages alternate between mediators (in the tickets' topics) and people
   (in their private chats), paced at 10/s; time from posting each to the fake API receiving it on
   the other side. The group limit (Telegram: about 20 messages a minute) is lifted here to
   measure the service itself (MEDIATOR_MESSAGES_PER_MINUTE).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import percentile, post, start_service  # noqa: E402
from tests.fakes.servers import ThreadedServer, free_port  # noqa: E402
from tests.fakes.telegram_api import (  # noqa: E402
    FakeTelegram,
    button_update,
    group_button_update,
    group_text_update,
    text_update,
)

GROUP = -1009999999999


def user(n: int) -> dict:
    return {"id": 600_000 + n, "is_bot": False, "first_name": f"Mediator{n}"}


async def run(fake: FakeTelegram, url: str, db: Path, tickets: int, mediators: int, messages: int) -> None:
    fake.members[GROUP] = {user(n)["id"]: "member" for n in range(mediators)}
    chats = list(range(910_000, 910_000 + tickets))
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64)) as client:
        for chat in chats:
            await post(client, url, text_update(chat, "/start"))
            await post(client, url, button_update(chat, "lang:en"))
            await post(client, url, text_update(chat, "person"))
            await post(client, url, button_update(chat, "handoff:yes"))
        cards = lambda: [c for c in fake.sent(GROUP) if "claim:" in str(c.params.get("reply_markup"))]  # noqa: E731
        await asyncio.to_thread(fake.wait_for, lambda: len(cards()) >= tickets, 120)
        # picker, welcome, consent, "you are in the queue"
        await asyncio.to_thread(fake.wait_for, lambda: all(len(fake.sent(c)) >= 4 for c in chats), 120)

        # 1. Claim races.
        ids = [int(str(c.params["reply_markup"]).split("claim:")[1].split("'")[0].split('"')[0]) for c in cards()]
        joined_before = {c: len(fake.sent(c)) for c in chats}
        pressed: dict[int, float] = {}
        for ticket_id in ids:
            presses = [group_button_update(GROUP, user(n), f"claim:{ticket_id}") for n in range(mediators)]
            pressed[ticket_id] = time.monotonic()
            await asyncio.gather(*(post(client, url, p) for p in presses))
        await asyncio.to_thread(fake.wait_for, lambda: all(len(fake.sent(c)) > joined_before[c] for c in chats), 120)
        with sqlite3.connect(db) as conn:
            owners = conn.execute("SELECT id, person_id, mediator FROM tickets ORDER BY id").fetchall()
        assert all(m is not None for _, _, m in owners), f"a ticket was left unclaimed: {owners}"
        acks = lambda: [c.params.get("text") or "" for c in fake.calls_to("answerCallbackQuery")]  # noqa: E731
        await asyncio.to_thread(fake.wait_for, lambda: len(acks()) >= tickets * (mediators + 1), 120)
        winners = sum("is yours" in text for text in acks())
        assert winners == tickets, f"{winners} winners for {tickets} tickets"
        claim_ms = []
        for ticket_id, chat in zip(ids, chats, strict=True):
            joined = fake.sent(chat)[joined_before[chat]]
            claim_ms.append((joined.at - pressed[ticket_id]) * 1000)
        print(
            f"Claim races: {tickets} tickets x {mediators} simultaneous presses -> exactly one winner each; "
            f"press to 'mediator joined' p50 {statistics.median(claim_ms):.0f} ms, "
            f"p99 {percentile(claim_ms, 0.99):.0f} ms"
        )

        # 2. Relay both ways (once every ticket's topic exists).
        await asyncio.to_thread(
            fake.wait_for, lambda: sum(t["name"].startswith("#") for t in fake.topics[GROUP].values()) >= tickets, 120
        )
        topics = {t["name"].split(" ")[0].lstrip("#"): tid for tid, t in fake.topics[GROUP].items()}
        holder = {ticket_id: mediator for ticket_id, _, mediator in owners}
        to_person: list[float] = []
        to_topic: list[float] = []
        started = time.monotonic()
        for i in range(messages):
            index = i % tickets
            ticket_id, chat = ids[index], chats[index]
            thread = topics[str(ticket_id)]
            marker = f"m{i}x"
            if i % 2 == 0:
                mediator = {**user(int(holder[ticket_id].split(":")[1]) - 600_000)}
                sent_at = time.monotonic()
                await post(client, url, group_text_update(GROUP, mediator, marker, thread_id=thread))
                to_person.append(sent_at)
            else:
                sent_at = time.monotonic()
                await post(client, url, text_update(chat, marker))
                to_topic.append(sent_at)
            await asyncio.sleep(max(0.0, started + (i + 1) / 10 - time.monotonic()))
        await asyncio.to_thread(
            fake.wait_for,
            lambda: (
                sum(
                    1
                    for c in fake.calls
                    if c.method == "sendMessage"
                    and "m" in c.params.get("text", "")
                    and c.params.get("text", "").rstrip().endswith("x")
                )
                >= messages
            ),
            120,
        )
    arrivals = {}
    for call in fake.calls:
        text = call.params.get("text", "")
        if call.method == "sendMessage" and text.endswith("x"):
            arrivals.setdefault(text.split()[-1], call.at)
    delays_person, delays_topic = [], []
    for i in range(messages):
        posted = (to_person if i % 2 == 0 else to_topic)[i // 2]
        delay = (arrivals[f"m{i}x"] - posted) * 1000
        (delays_person if i % 2 == 0 else delays_topic).append(delay)
    for label, delays in (("mediator -> person", delays_person), ("person -> topic", delays_topic)):
        print(
            f"Relay {label} ({len(delays)} messages at 10/s in total): p50 {statistics.median(delays):.0f} ms, "
            f"p99 {percentile(delays, 0.99):.0f} ms, max {max(delays):.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=30)
    parser.add_argument("--mediators", type=int, default=10)
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    fake = FakeTelegram()
    with ThreadedServer(fake.app()) as api, tempfile.TemporaryDirectory() as folder:
        fake.url = api.url  # type: ignore[attr-defined]
        port = free_port()
        process = start_service(
            Path(folder),
            fake,
            port,
            MEDIATOR_CHAT_ID=str(GROUP),
            MEDIATOR_LANGUAGE="en",
            MEDIATOR_MESSAGES_PER_MINUTE="60000",  # Telegram's group limit lifted: measure the service
            HANDOFF_CHECK_SECONDS="3600",
        )
        try:
            asyncio.run(
                run(
                    fake,
                    f"http://127.0.0.1:{port}/webhooks/telegram",
                    Path(folder) / "bench.db",
                    args.tickets,
                    args.mediators,
                    args.messages,
                )
            )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
