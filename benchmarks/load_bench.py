"""Open-loop load: updates offered at fixed rates, rising, to one or two `acasa serve` instances.

    .venv/bin/python benchmarks/load_bench.py --db sqlite --instances 1 --rates 50,100,200,400
    .venv/bin/python benchmarks/load_bench.py --db postgresql --instances 2 --rates 100,200,400,800

Each rate is offered for ``--seconds`` whatever the service does (open loop: a slow service is not
given a rest, as real traffic would not give it one). People (language already chosen) ask
questions; each update is posted to a random instance; a local fake Telegram Bot API (real HTTP)
records every reply. Telegram's 30 messages/s pacing is lifted, as the web chat will need it.

Per rate: updates/s answered during the window, reply latency p50/p99 (from posting the update to
the reply arriving at the fake API), and the backlog (posted but not answered) when the window
ends. A rate is *sustained* when the backlog stays under one second's worth and p99 under 2 s. A short
warm-up at 30/s comes first and is not reported.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import QUESTIONS, SECRET, percentile, start_service  # noqa: E402
from bot.messages import ConversationKey  # noqa: E402
from bot.store import PersonState, Store, Turn  # noqa: E402
from tests.conftest import POSTGRES_URL, reset_postgres  # noqa: E402
from tests.fakes.servers import free_port  # noqa: E402

TOKEN = "123456:BENCH-token"
FIRST_CHAT = 5_000_000


class LeanTelegram:
    """The smallest Bot API that `acasa serve` needs, as a raw ASGI app: it records when each
    chat got each message. (The tests' fake is richer and slower; here it must not be the bottleneck.)"""

    token = TOKEN

    def __init__(self) -> None:
        self.received: dict[int, list[float]] = defaultdict(list)
        self.url = ""
        self._next_id = 1

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method = scope["path"].rsplit("/", 1)[-1]
        result: object = True
        if method == "getMe":
            result = {"id": 1, "is_bot": True, "first_name": "Acasă", "username": "acasa_bench_bot"}
        elif method in ("sendMessage", "editMessageText"):
            from urllib.parse import parse_qsl

            params = dict(parse_qsl(body.decode())) if body and not body.startswith(b"{") else json.loads(body or b"{}")
            chat = int(params["chat_id"])
            self.received[chat].append(time.monotonic())
            self._next_id += 1
            result = {
                "message_id": self._next_id,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "text": "ok",
            }
        payload = json.dumps({"ok": True, "result": result}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})


def serve_fake(app: LeanTelegram, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)


async def seed(url: str, people: list[int]) -> None:
    """People who already chose English (as if they had talked before)."""
    store = await Store.open(url)
    try:
        at = dt.datetime.now(dt.UTC)
        states = [PersonState(ConversationKey("telegram", str(c)), None, "en", step="idle") for c in people]
        await asyncio.gather(*(store.save(Turn(state, at, "/start")) for state in states))
    finally:
        await store.close()


def update(chat: int, text: str, update_id: int) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "text": text,
            "chat": {"id": chat, "type": "private", "first_name": "B"},
            "from": {"id": chat, "is_bot": False, "first_name": "B", "language_code": "en"},
        },
    }


async def offer(fake: LeanTelegram, urls: list[str], people: list[int], rate: float, seconds: float, ids) -> dict:
    rng = random.Random(int(rate))
    posted: dict[int, list[float]] = defaultdict(list)  # chat -> when each of its updates was posted
    baseline = {c: len(fake.received[c]) for c in people}
    last: dict[int, float] = {}
    tasks = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(url: str, body: bytes) -> None:
            nonlocal errors
            try:
                async with session.post(
                    url,
                    data=body,
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
                ) as response:
                    if response.status != 200:
                        errors += 1
                    await response.read()
            except aiohttp.ClientError:
                errors += 1

        start = time.monotonic()
        count = 0
        while True:
            due = start + count / rate
            now = time.monotonic()
            if due - start >= seconds:
                break
            if due > now:
                await asyncio.sleep(due - now)
            chat = rng.choice(people)
            while time.monotonic() - last.get(chat, -10.0) < 2.0:  # nobody writes twice in two seconds
                chat = rng.choice(people)
            last[chat] = time.monotonic()
            posted[chat].append(time.monotonic())
            body = json.dumps(update(chat, rng.choice(QUESTIONS), next(ids))).encode()
            tasks.append(asyncio.create_task(post(rng.choice(urls) + "/webhooks/telegram", body)))
            count += 1
        end = start + seconds
        await asyncio.gather(*tasks)
        # Let the service catch up (within limits) to measure latencies of what was posted.
        drain_until = time.monotonic() + max(10.0, seconds)
        while time.monotonic() < drain_until:
            if all(len(fake.received[c]) - baseline[c] >= len(times) for c, times in posted.items()):
                break
            await asyncio.sleep(0.2)
    latencies, answered_in_window, unanswered_at_end = [], 0, 0
    for chat, times in posted.items():
        replies = fake.received[chat][baseline[chat] :]
        for sent, reply in zip(times, replies, strict=False):
            latencies.append((reply - sent) * 1000)
        answered_in_window += sum(1 for r in replies if r <= end)
        unanswered_at_end += sum(1 for t in times if t <= end) - sum(1 for r in replies if r <= end)
    posted_count = sum(len(t) for t in posted.values())
    return {
        "offered": rate,
        "posted": posted_count,
        "post_errors": errors,
        "answered_per_s": answered_in_window / seconds,
        "p50_ms": statistics.median(latencies) if latencies else None,
        "p99_ms": percentile(latencies, 0.99) if latencies else None,
        "backlog_at_end": unanswered_at_end,
        "never_answered": posted_count - len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--rates", default="50,100,200,400")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--people", type=int, default=3000)
    args = parser.parse_args()
    if args.db == "sqlite" and args.instances != 1:
        raise SystemExit("a SQLite file serves one instance")
    fake = LeanTelegram()
    fake_port = free_port()
    serve_fake(fake, fake_port)
    fake.url = f"http://127.0.0.1:{fake_port}"
    people = list(range(FIRST_CHAT, FIRST_CHAT + args.people))
    with tempfile.TemporaryDirectory() as folder:
        if args.db == "sqlite":
            database_url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        else:
            database_url = asyncio.run(reset_postgres()) if POSTGRES_URL else POSTGRES_URL
        asyncio.run(seed(database_url, people))
        ports = [free_port() for _ in range(args.instances)]
        processes = [
            start_service(
                Path(folder),
                fake,
                p,
                log=Path(folder) / f"{p}.log",
                DATABASE_URL=database_url,
                TELEGRAM_MESSAGES_PER_SECOND="0",
            )
            for p in ports
        ]
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        ids = iter(range(1, 10**9))
        # Warm up (caches, connection pools) at a rate every configuration sustains; not reported.
        asyncio.run(offer(fake, urls, people, 30.0, 5.0, ids))
        print(f"{args.db}, {args.instances} instance(s), {args.people} people, {args.seconds:.0f} s per rate")
        print("offered/s | answered/s | p50 ms | p99 ms | backlog at end | never answered | post errors")
        try:
            for rate in (float(r) for r in args.rates.split(",")):
                result = asyncio.run(offer(fake, urls, people, rate, args.seconds, ids))
                print(
                    f"{result['offered']:9.0f} | {result['answered_per_s']:10.0f} | "
                    f"{result['p50_ms'] or 0:6.0f} | {result['p99_ms'] or 0:6.0f} | "
                    f"{result['backlog_at_end']:14d} | {result['never_answered']:14d} | {result['post_errors']:11d}",
                    flush=True,
                )
                time.sleep(2.0)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=60)
            for p in ports:
                log = (Path(folder) / f"{p}.log").read_text()
                if log.strip():
                    print(f"--- instance on {p} logged:\n{log[-3000:]}")


if __name__ == "__main__":
    main()
