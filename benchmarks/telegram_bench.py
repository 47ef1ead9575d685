"""Telegram webhook benchmark: `acasa serve` under load from many simulated people, against a
local fake Bot API (real HTTP both ways).

    .venv/bin/python benchmarks/telegram_bench.py [--people 100] [--rate 20] [--seconds 15] [--burst 2000]

1. Latency: people (language already chosen) ask questions at ``--rate`` updates/s in total, below
   Telegram's 30 messages/s limit; time from posting the update to the fake API receiving the
   reply (``sendMessage``), p50/p99.
2. Intake: ``--burst`` updates posted as fast as 32 connections allow; updates/s acknowledged
   (stored, 200 OK). Their replies then drain at the 30 messages/s Telegram allows.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import QUESTIONS, burst_intake, percentile, post, start_service  # noqa: E402
from tests.fakes.servers import ThreadedServer, free_port  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram, button_update, text_update  # noqa: E402


async def latency(fake: FakeTelegram, url: str, people: int, rate: float, seconds: float) -> None:
    chats = list(range(900_000, 900_000 + people))
    async with httpx.AsyncClient(timeout=30) as client:
        for chat in chats:  # choose a language first
            await post(client, url, text_update(chat, "/start"))
            await post(client, url, button_update(chat, "lang:en"))
        await asyncio.to_thread(fake.wait_for, lambda: all(len(fake.sent(c)) >= 2 for c in chats), 120)
        baseline = {c: len(fake.sent(c)) for c in chats}
        posted: dict[int, list[float]] = {c: [] for c in chats}
        rng = random.Random(1)
        last: dict[int, float] = {}
        started = time.monotonic()
        count = 0
        while time.monotonic() - started < seconds:
            chat = rng.choice([c for c in chats if time.monotonic() - last.get(c, 0) > 2.0])
            last[chat] = time.monotonic()
            posted[chat].append(time.monotonic())
            await post(client, url, text_update(chat, rng.choice(QUESTIONS)))
            count += 1
            await asyncio.sleep(max(0.0, started + count / rate - time.monotonic()))
        await asyncio.to_thread(
            fake.wait_for, lambda: all(len(fake.sent(c)) >= baseline[c] + len(posted[c]) for c in chats), 120
        )
    delays = []
    for chat, times in posted.items():
        replies = fake.sent(chat)[baseline[chat] :]
        delays += [(reply.at - sent) * 1000 for sent, reply in zip(times, replies, strict=False)]
    print(
        f"Latency at {rate:.0f} updates/s from {people} people ({len(delays)} updates): "
        f"p50 {statistics.median(delays):.0f} ms, p99 {percentile(delays, 0.99):.0f} ms, "
        f"max {max(delays):.0f} ms (receipt to sendMessage)"
    )


async def intake(url: str, burst: int) -> None:
    updates = [text_update(800_000 + i % 500, QUESTIONS[i % len(QUESTIONS)]) for i in range(burst)]
    await burst_intake(updates, lambda client, update: post(client, url, update), "updates")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--burst", type=int, default=2000)
    args = parser.parse_args()
    fake = FakeTelegram()
    with ThreadedServer(fake.app()) as fake_server, tempfile.TemporaryDirectory() as folder:
        fake.url = fake_server.url  # type: ignore[attr-defined]
        port = free_port()
        service = start_service(Path(folder), fake, port)
        try:
            url = f"http://127.0.0.1:{port}/webhooks/telegram"
            asyncio.run(latency(fake, url, args.people, args.rate, args.seconds))
            asyncio.run(intake(url, args.burst))
        finally:
            service.send_signal(signal.SIGTERM)
            service.wait(timeout=30)


if __name__ == "__main__":
    main()
