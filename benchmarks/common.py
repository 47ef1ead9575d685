"""What the benchmark scripts share: percentiles, a burst of posts, and `acasa serve` started against a fake Bot API."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"
Item = TypeVar("Item")
# What simulated people ask: several languages and scripts, and one question without an answer.
QUESTIONS = [
    "how do I register with a family doctor",
    "cum ma inscriu la medicul de familie",
    "як записатися до сімейного лікаря",
    "malai kaam chahiyo",
    "how to enrol my son in school",
    "my boss does not pay my salary",
    "where can I learn Romanian",
    "tell me a joke",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_service(
    folder: Path, fake: Any, port: int, *, log: Path | None = None, **settings: str
) -> subprocess.Popen[bytes]:
    """`acasa serve` as its own process (SQLite in ``folder`` unless ``DATABASE_URL`` is given),
    talking to the fake Bot API ``fake`` (with ``token`` and ``url``); stderr to ``log`` if given."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'bench.db'}",
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": fake.url,
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        **settings,
    }
    with log.open("ab") if log else open(os.devnull, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve"], cwd=ROOT, env=env, stderr=stderr if log else None
        )
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("service did not start" + (": " + log.read_text()[-2000:] if log else ""))


async def burst_intake(
    items: list[Item], post_one: Callable[[httpx.AsyncClient, Item], Awaitable[None]], what: str
) -> None:
    """Post every item at once through 32 connections and print how fast they were acknowledged."""
    queue: asyncio.Queue[Item] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            await post_one(client, queue.get_nowait())

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=32)) as client:
        started = time.monotonic()
        await asyncio.gather(*(worker(client) for _ in range(32)))
        elapsed = time.monotonic() - started
    print(
        f"Intake: {len(items)} {what} acknowledged in {elapsed:.1f} s = {len(items) / elapsed:.0f} {what}/s "
        "(each stored durably before the 200)"
    )


async def post(client: httpx.AsyncClient, url: str, update: dict) -> None:
    """Post an update to the webhook as Telegram does."""
    response = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    response.raise_for_status()
