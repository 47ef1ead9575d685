"""Engine benchmark: messages/s through the conversation engine on a SQLite file, one core.

    .venv/bin/python benchmarks/engine_bench.py [--people 200] [--messages 10] [--concurrency 1,20] [--handoff]

Each simulated person has chosen a language; then sends a mix of free-text questions (matcher,
answer composition), menu commands and button presses, each written to the database with its
replies in one transaction. Latency is from handing the message to the engine until its replies
are returned and stored.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import zlib
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import percentile  # noqa: E402
from bot.app import running_engine  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.messages import ConversationKey, Incoming  # noqa: E402

MIX = [
    ("text", "how do I register with a family doctor"),
    ("payload", "menu"),
    ("text", "my boss does not pay my salary"),
    ("payload", "topic:health:0"),
    ("text", "cum imi prelungesc permisul de sedere"),
    ("text", "school for my daughter"),
    ("payload", "e:rights.asylum"),
    ("text", "tell me a joke"),
    ("text", "malai kaam chahiyo"),
    ("payload", "fb:rights.asylum:1"),
]


async def run(people: int, messages: int, concurrency: int, db: Path, handoff: bool = False) -> None:
    settings = replace(load_settings(env={}, dotenv=Path("/nonexistent")), database_url=f"sqlite+aiosqlite:///{db}")
    if handoff:  # a mediator desk configured: each turn also reads the person's latest ticket
        settings = replace(settings, mediator_chat_id=-1001, telegram_bot_token="1:x")
    async with running_engine(settings, watch=False) as engine:
        keys = [ConversationKey("bench", f"c{concurrency}-p{i}") for i in range(people)]
        for key in keys:
            await engine.handle(Incoming(key, payload="lang:en"))
        latencies: list[float] = []
        queue: asyncio.Queue[tuple[ConversationKey, int]] = asyncio.Queue()
        for round_ in range(messages):
            for key in keys:
                queue.put_nowait((key, round_))

        async def worker() -> None:
            while not queue.empty():
                key, n = queue.get_nowait()
                kind, value = MIX[(n + zlib.crc32(key.chat_id.encode())) % len(MIX)]  # same mix every run
                incoming = Incoming(key, text=value) if kind == "text" else Incoming(key, payload=value)
                started = time.perf_counter()
                await engine.handle(incoming)
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    print(
        f"| {concurrency:>11} | {len(latencies):>8} | {len(latencies) / elapsed:10.0f} | "
        f"{statistics.median(latencies):6.2f} | {percentile(latencies, 0.99):6.2f} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--concurrency", default="1,20", help="messages in flight at once, comma-separated")
    parser.add_argument("--handoff", action="store_true", help="with a mediator desk configured")
    args = parser.parse_args()
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        pinned = "pinned to one CPU"
    except (AttributeError, OSError):
        pinned = "not pinned"
    print(f"Python {sys.version.split()[0]}, {pinned}, SQLite file in a temporary folder\n")
    print("| concurrency | messages | messages/s | p50 ms | p99 ms |")
    print("|-------------|----------|------------|--------|--------|")
    with tempfile.TemporaryDirectory() as folder:
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            db = Path(folder) / f"bench-{concurrency}.db"
            asyncio.run(run(args.people, args.messages, concurrency, db, args.handoff))


if __name__ == "__main__":
    main()
