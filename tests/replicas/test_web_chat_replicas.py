"""The web chat with two `acasa serve` processes on one PostgreSQL, behind a pretend load balancer:
a browser's messages go to either instance, its event stream is held by either, and a message
posted to both (a retry through the other instance) is answered once. One instance is killed
mid-conversation; the stream moves to the other and resumes after the last message it gave."""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import time
from pathlib import Path

import httpx

from tests.conftest import ON_POSTGRESQL, reset_postgres
from tests.fakes.servers import free_port
from tests.fakes.service_process import ServiceProcess
from tests.fakes.telegram_api import FakeTelegram

pytestmark = ON_POSTGRESQL

QUESTIONS = [
    "how do I register with a family doctor",
    "where can my baby get vaccines",
    "how to enrol my daughter in school",
    "free romanian classes?",
    "looking for a job in a warehouse",
]


def instance(tmp_path: Path, fake: FakeTelegram, database: str, name: str) -> ServiceProcess:
    port = free_port()
    return ServiceProcess(
        tmp_path,
        port,
        {
            "DATABASE_URL": database,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_BASE_URL": fake.url,  # type: ignore[attr-defined]
            "TELEGRAM_WEBHOOK_SECRET": "s",
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "TELEGRAM_TIMEOUT": "1",
            "CLAIM_LEASE_SECONDS": "3",
        },
        name=name,
    ).start()


def send(url: str, conversation: str, text: str, message_id: str | None = None, **extra: object) -> int:
    body = {"conversation": conversation, "id": message_id or secrets.token_urlsafe(9), "text": text, **extra}
    return httpx.post(url + "/chat/api/send", json=body, timeout=10).status_code


def read_stream(url: str, conversation: str, last: int, wanted: int, seconds: float = 30) -> list[dict]:
    """Messages from the event stream of ``url`` after ``last`` (as a browser resuming), until
    ``wanted`` bot messages came; those the stream gives again (its last moments) are skipped, as
    the browser skips what it shows already."""
    got: list[dict] = []
    seen = set(range(last + 1))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        headers = {"Last-Event-ID": str(last)}
        params = {"conversation": conversation}
        with httpx.stream("GET", url + "/chat/api/stream", params=params, headers=headers, timeout=60) as events:
            for line in events.iter_lines():
                if line.startswith("data: "):
                    message = json.loads(line[6:])
                    last = max(last, message["seq"])
                    if message["seq"] in seen:
                        continue
                    seen.add(message["seq"])
                    got.append(message)
                    if len([m for m in got if m.get("from") != "me"]) >= wanted:
                        return got
    raise AssertionError(f"the stream gave {got}")


def test_two_instances_share_web_conversations(tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    database = asyncio.run(reset_postgres())
    a = instance(tmp_path, fake_telegram, database, "a")
    b = instance(tmp_path, fake_telegram, database, "b")
    try:
        conversation = secrets.token_urlsafe(18)
        assert send(a.url, conversation, "/start en", quiet=True) == 200
        [welcome] = [m for m in read_stream(b.url, conversation, 0, 1) if m.get("from") != "me"]
        last = welcome["seq"]

        # Each question to a random instance, one of them to both (a retry through the other one);
        # the stream is held by the other instance than the one the question went to.
        for n, question in enumerate(QUESTIONS):
            posted_to, reading = (a, b) if n % 2 == 0 else (b, a)
            message_id = secrets.token_urlsafe(9)
            assert send(posted_to.url, conversation, question, message_id, lang="en") == 200
            if n == 2:
                assert send(reading.url, conversation, question, message_id, lang="en") == 200
            got = read_stream(reading.url, conversation, last, 1)
            last = got[-1]["seq"]
            assert [m["html"] for m in got if m.get("from") == "me"] == [question]  # shown once

        # Instance A dies; the browser's stream (and its next message) move to B.
        a.signal(signal.SIGKILL)
        assert send(b.url, conversation, "where do I find a lawyer for free", lang="en") == 200
        after_kill = read_stream(b.url, conversation, last, 1)
        assert [m["from"] for m in after_kill if m.get("from") == "me"] == ["me"]

        everything = httpx.get(
            b.url + "/chat/api/messages", params={"conversation": conversation, "after": 0}, timeout=10
        ).json()["messages"]
        seqs = [m["seq"] for m in everything]
        assert seqs == sorted(set(seqs))  # one order, nothing twice
        assert len([m for m in everything if m.get("from") == "me"]) == len(QUESTIONS) + 1
        assert len([m for m in everything if m.get("from") != "me"]) == len(QUESTIONS) + 2  # welcome included
    finally:
        a.stop_now()
        b.stop_now()
