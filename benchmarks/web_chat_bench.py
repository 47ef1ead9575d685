"""Web chat benchmark: `acasa serve` under load from many simulated browsers, the same two
measurements as `telegram_bench.py` for the Telegram webhook (real HTTP, one process, SQLite).

    .venv/bin/python benchmarks/web_chat_bench.py [--people 100] [--rate 20] [--seconds 15] [--burst 2000]

1. Latency: people (language already chosen) ask questions at ``--rate`` messages/s in total;
   time from posting the message to its answer being in the conversation's mailbox (read by each
   browser's event stream, as chat.js does), p50/p99.
2. Intake: ``--burst`` messages posted as fast as 32 connections allow (from as many
   conversations, so that the per-conversation limit does not apply); messages/s acknowledged
   (stored, 200 OK).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import QUESTIONS, burst_intake, percentile, start_service  # noqa: E402
from tests.fakes.servers import ThreadedServer, free_port  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

LIMITS = {"WEB_CHAT_MESSAGES_PER_MINUTE": "1000", "WEB_CHAT_ADDRESS_MESSAGES_PER_MINUTE": "1000000"}


def browser(conversation: str) -> dict[str, str]:
    """Each simulated browser has its own address, as behind the city's proxy (127.0.0.1 is trusted
    for X-Forwarded-For by default): the service allows 20 open event streams per address."""
    number = int.from_bytes(conversation.encode()[:3], "big") % 60_000
    return {"X-Forwarded-For": f"10.{number // 250}.{number % 250}.1"}


async def send(client: httpx.AsyncClient, url: str, conversation: str, text: str, **extra: object) -> None:
    body = {"conversation": conversation, "id": secrets.token_urlsafe(9), "text": text, **extra}
    response = await client.post(url + "/chat/api/send", json=body, headers=browser(conversation))
    response.raise_for_status()


async def listen(client: httpx.AsyncClient, url: str, conversation: str, arrived: list[float]) -> None:
    """An event stream, as a browser keeps one open: the time each bot message arrives."""
    after = 0
    while True:
        params = {"conversation": conversation, "after": after}
        request = client.stream("GET", url + "/chat/api/stream", params=params, headers=browser(conversation))
        async with request as events:
            if events.status_code != 200:
                raise RuntimeError(f"event stream refused: {events.status_code} {(await events.aread())[:200]!r}")
            async for line in events.aiter_lines():
                if line.startswith("data: "):
                    message = json.loads(line[6:])
                    after = message["seq"]
                    if message.get("from") != "me":
                        arrived.append(time.monotonic())


def _stop_if_a_stream_failed(streams: list[asyncio.Task]) -> None:
    for stream in streams:
        if stream.done() and stream.exception() is not None:
            raise SystemExit(f"an event stream failed: {stream.exception()}")


async def latency(url: str, people: int, rate: float, seconds: float) -> None:
    conversations = [secrets.token_urlsafe(18) for _ in range(people)]
    arrived: dict[str, list[float]] = {c: [] for c in conversations}
    limits = httpx.Limits(max_connections=people + 40, max_keepalive_connections=people + 40)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60, read=120), limits=limits) as client:
        streams = [asyncio.create_task(listen(client, url, c, arrived[c])) for c in conversations]
        for c in conversations:  # the language first
            await send(client, url, c, "/start en", quiet=True)
        while not all(arrived[c] for c in conversations):
            _stop_if_a_stream_failed(streams)
            await asyncio.sleep(0.1)
        baseline = {c: len(arrived[c]) for c in conversations}
        posted: dict[str, list[float]] = {c: [] for c in conversations}
        rng = random.Random(1)
        last: dict[str, float] = {}
        started = time.monotonic()
        count = 0
        while time.monotonic() - started < seconds:
            ready = [c for c in conversations if time.monotonic() - last.get(c, 0) > 2.0]
            if not ready:  # each person waits 2 s between questions: too few people for the rate
                await asyncio.sleep(0.05)
                continue
            conversation = rng.choice(ready)
            last[conversation] = time.monotonic()
            posted[conversation].append(time.monotonic())
            await send(client, url, conversation, rng.choice(QUESTIONS), lang="en")
            count += 1
            await asyncio.sleep(max(0.0, started + count / rate - time.monotonic()))
        deadline = time.monotonic() + 120
        while not all(len(arrived[c]) >= baseline[c] + len(posted[c]) for c in conversations):
            if time.monotonic() > deadline:
                raise SystemExit("not every message was answered")
            _stop_if_a_stream_failed(streams)
            await asyncio.sleep(0.1)
        for stream in streams:
            stream.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
    delays = []
    for c, times in posted.items():
        replies = arrived[c][baseline[c] :]
        delays += [(reply - sent) * 1000 for sent, reply in zip(times, replies, strict=False)]
    print(
        f"Latency at {rate:.0f} messages/s from {people} browsers ({len(delays)} messages): "
        f"p50 {statistics.median(delays):.0f} ms, p99 {percentile(delays, 0.99):.0f} ms, "
        f"max {max(delays):.0f} ms (posting to the answer arriving on the event stream)"
    )


async def intake(url: str, burst: int) -> None:
    conversations = [secrets.token_urlsafe(18) for _ in range(500)]
    messages = [(conversations[i % 500], QUESTIONS[i % len(QUESTIONS)]) for i in range(burst)]

    async def post_one(client: httpx.AsyncClient, message: tuple[str, str]) -> None:
        await send(client, url, *message, lang="en")

    await burst_intake(messages, post_one, "messages")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--burst", type=int, default=2000)
    args = parser.parse_args()
    fake = FakeTelegram()  # the service also serves Telegram, as in production; nobody writes there
    with ThreadedServer(fake.app()) as fake_server, tempfile.TemporaryDirectory() as folder:
        fake.url = fake_server.url  # type: ignore[attr-defined]
        port = free_port()
        service = start_service(Path(folder), fake, port, **LIMITS)
        try:
            url = f"http://127.0.0.1:{port}"
            asyncio.run(latency(url, args.people, args.rate, args.seconds))
            asyncio.run(intake(url, args.burst))
        finally:
            service.send_signal(signal.SIGTERM)
            service.wait(timeout=30)


if __name__ == "__main__":
    main()
