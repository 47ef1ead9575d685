"""Two `acasa serve` processes on one PostgreSQL, behind a pretend load balancer.

Thirty people ask ten questions each. Every update goes to a random instance, some to both (a
load balancer's retry and Telegram's own), and one instance is killed with SIGKILL mid-stream and
started again. Every question must be answered once, in order, and the bot as a whole must never
send more than Telegram's 30 messages in any one second.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from pathlib import Path

import httpx

from bot.kb import KnowledgeBase
from tests.conftest import ON_POSTGRESQL, reset_postgres
from tests.fakes.servers import free_port
from tests.fakes.service_process import ServiceProcess
from tests.fakes.telegram_api import FakeTelegram, button_update, text_update
from tests.telegram.conftest import SECRET

pytestmark = ON_POSTGRESQL

QUESTIONS = [
    ("how to aply for asylum in romania", "rights.asylum"),
    ("my residance permit expires next month how do i renew it", "rights.residence_permit"),
    ("need free lawyer my asylum was rejected", "rights.legal_aid"),
    ("how do i register with a famly doctor", "health.family_doctor"),
    ("wher can my baby get vacines", "health.vaccination"),
    ("pregnant 5 months where do i go for check up", "health.pregnancy"),
    ("how to enrol my daughter in school she is 9", "education.school_enrolment"),
    ("free romanian classes?", "education.romanian_courses"),
    ("looking for job any job warehouse cleaning", "work.find_job"),
    ("cheap room to rent near iulius mall", "housing.find_rental"),
]
PEOPLE = range(8_100_000, 8_100_030)
SENDING = ("sendMessage", "editMessageText", "sendVenue")
asked: dict[int, list[str]] = {}  # the entries each person asked about, in their order


def start_instance(tmp_path: Path, fake: FakeTelegram, url: str, name: str, port: int) -> ServiceProcess:
    return ServiceProcess(
        tmp_path,
        port,
        {
            "DATABASE_URL": url,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_BASE_URL": fake.url,  # type: ignore[attr-defined]
            "TELEGRAM_TIMEOUT": "1",
            "CLAIM_LEASE_SECONDS": "3",
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
        },
        name=name,
    ).start()


async def post(client: httpx.AsyncClient, url: str, update: dict) -> bool:
    try:
        response = await client.post(
            url + "/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
    except httpx.TransportError:  # that instance is down
        return False
    return response.status_code == 200


async def person(client: httpx.AsyncClient, urls: list[str], chat: int, rng: random.Random) -> None:
    """Asks the ten questions in a random order; each update to a random instance (some to both),
    the next only once one instance has stored it, as Telegram does for one chat."""
    order = rng.sample(QUESTIONS, len(QUESTIONS))
    for text, _ in order:
        update = text_update(chat, text)
        targets = rng.sample(urls, 2) if rng.random() < 0.25 else [rng.choice(urls)]
        stored = False
        while not stored:  # a load balancer sends it elsewhere when an instance does not answer
            results = await asyncio.gather(*(post(client, url, update) for url in targets))
            stored = any(results)
            targets = [u for u in urls if u not in targets] or urls
        await asyncio.sleep(rng.uniform(0.0, 0.4))
    asked[chat] = [entry for _, entry in order]


def most_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_two_instances_answer_every_question_once_in_order_within_the_rate_limit(
    tmp_path: Path, fake_telegram: FakeTelegram, shipped_kb: KnowledgeBase
) -> None:
    url = asyncio.run(reset_postgres())
    ports = [free_port(), free_port()]
    a = start_instance(tmp_path, fake_telegram, url, "a", ports[0])
    b = start_instance(tmp_path, fake_telegram, url, "b", ports[1])
    try:
        # Everyone chooses English first (not part of the measurement).
        with httpx.Client(timeout=10) as client:
            for chat in PEOPLE:
                for update in (text_update(chat, "/start"), button_update(chat, "lang:en")):
                    response = client.post(
                        b.url + "/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
                    )
                    assert response.status_code == 200
        fake_telegram.wait_for(lambda: all(len(fake_telegram.sent(c)) >= 2 for c in PEOPLE), timeout=60)
        before = {c: len(fake_telegram.sent(c)) for c in PEOPLE}
        assert set(before.values()) == {2}

        async def stream() -> float:
            rng = random.Random(20261206)
            async with httpx.AsyncClient(timeout=10) as client:
                people = asyncio.gather(*(person(client, [a.url, b.url], chat, rng) for chat in PEOPLE))
                await asyncio.sleep(1.5)  # mid-stream: one instance dies without warning
                a.signal(signal.SIGKILL)  # returns once the process is gone
                # A request the instance wrote just before it died may reach the fake a moment later.
                killed_at = time.monotonic() + 0.5
                await asyncio.sleep(2.0)
                await asyncio.to_thread(a.start)  # and comes back (a new instance on the same port)
                await people
                return killed_at

        killed_at = asyncio.run(stream())
        fake_telegram.wait_for(
            lambda: all(len(fake_telegram.sent(c)) >= before[c] + len(QUESTIONS) for c in PEOPLE), timeout=90
        )
        time.sleep(4.0)  # a reply sent twice (a lease run out, a claim taken twice) would show up now

        titles = {entry: shipped_kb.entries[entry].translation("en").title for _, entry in QUESTIONS}
        resent_after_kill = 0
        for chat in PEOPLE:
            replies = [c for c in fake_telegram.sent(chat)[before[chat] :] if c.method == "sendMessage"]
            answered = []
            resent_here = 0
            for call in replies:
                entry = next((e for e, title in titles.items() if title in call.params["text"]), None)
                assert entry is not None, f"chat {chat}: an unexpected reply {call.params['text'][:80]!r}"
                if answered and answered[-1][0] == entry:
                    # The one duplicate no platform can prevent: sent by the killed instance just
                    # before it died, not yet recorded as sent, so sent again by the other one.
                    assert killed_at - 1.5 <= answered[-1][1] <= killed_at, f"chat {chat}: {entry} twice"
                    assert resent_here == 0, f"chat {chat}: more than one reply sent again"
                    resent_here += 1
                    resent_after_kill += 1
                    continue
                answered.append((entry, call.at))
            assert [entry for entry, _ in answered] == asked[chat], f"chat {chat}: answers out of order"
        # How many were in flight at the kill depends on the machine's load (seen: 0 to 4 of 30);
        # each was checked above to be in the kill's window, at most one per chat.
        assert resent_after_kill <= len(PEOPLE) // 3
        sends = [c.at for c in fake_telegram.calls if c.method in SENDING and c.status == 200]
        assert most_in_one_second(sends) <= 30
        assert "Traceback" not in (tmp_path / "b.log").read_text()
    finally:
        a.stop_now()
        b.stop_now()
