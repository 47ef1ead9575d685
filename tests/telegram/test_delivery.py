"""Nothing lost, nothing twice: rate limits, server errors, timeouts, blocked people, polling."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from bot.server import create_app
from bot.store import Store
from tests.fakes.servers import ThreadedServer, free_port
from tests.fakes.telegram_api import FakeTelegram, text_update
from tests.telegram.conftest import SECRET, TelegramUser, buttons_of, service_settings


def rows(db: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def fast_service(tmp_path: Path, fake_telegram: FakeTelegram):
    port = free_port()
    app = create_app(service_settings(tmp_path, fake_telegram, port, telegram_timeout=1.0))
    with ThreadedServer(app, port=port) as server:
        server.db = tmp_path / "acasa.db"  # type: ignore[attr-defined]
        yield server


def test_429_waits_retry_after_then_delivers_once(fast_service, fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail("sendMessage", 429, retry_after=2)
    user = TelegramUser(fake_telegram, fast_service.url, 6001)
    user.send("/start")
    attempts = fake_telegram.calls_to("sendMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.9


def test_server_errors_and_timeouts_are_retried(fast_service, fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail("sendMessage", 500, times=2)
    fake_telegram.fail("sendMessage", 200, delay=2.5)  # slower than the 1 s timeout: counts as a timeout
    user = TelegramUser(fake_telegram, fast_service.url, 6002)
    user.send("/start")
    statuses = [c.status for c in fake_telegram.calls_to("sendMessage")]
    assert statuses[:2] == [500, 500]
    assert statuses.count(200) >= 1
    time.sleep(1.0)
    # the timed-out attempt may have reached Telegram; the successful one is the last, and only one
    # reply was asked for: no further sends follow a success
    assert statuses[-1] == 200
    assert len(fake_telegram.sent(6002)) <= 2


def test_blocked_person_is_not_messaged_again(fast_service, fake_telegram: FakeTelegram) -> None:
    fake_telegram.blocked_chats.add(6003)
    user = TelegramUser(fake_telegram, fast_service.url, 6003)
    assert user.post(text_update(6003, "/start")).status_code == 200
    fake_telegram.wait_for(lambda: any(c.status == 403 for c in fake_telegram.calls_to("sendMessage")))
    time.sleep(1.5)
    assert len(fake_telegram.calls_to("sendMessage")) == 1  # no retries after 403
    db = sqlite3.connect(fast_service.db)
    assert db.execute("SELECT blocked_at IS NOT NULL FROM people WHERE platform_id = '6003'").fetchone() == (1,)
    assert db.execute("SELECT status FROM outbox").fetchall() in ([], [("dropped",)])
    # they unblock and write again: answered, and no longer marked as blocked
    fake_telegram.blocked_chats.clear()
    user.send("hello")
    assert db.execute("SELECT blocked_at FROM people WHERE platform_id = '6003'").fetchone() == (None,)


def test_replies_to_one_chat_keep_order_and_pace(fast_service, fake_telegram: FakeTelegram) -> None:
    user = TelegramUser(fake_telegram, fast_service.url, 6004)
    user.send("/start")
    user.press("lang:en")
    for text in ("how do I register with a family doctor", "how to enrol my son in school", "how can I find a job"):
        assert user.post(text_update(6004, text)).status_code == 200
    replies = user.replies(3)
    answered = [next(b for b in buttons_of(r) if b.startswith("fb:")) for r in replies]
    assert answered == ["fb:health.family_doctor:1", "fb:education.school_enrolment:1", "fb:work.find_job:1"]
    sends = [c for c in fake_telegram.sent(6004)]
    gaps = [b.at - a.at for a, b in itertools.pairwise(sends)]
    assert min(gaps) >= 0.9  # about one message per second per chat


@pytest.mark.parametrize(
    ("lang", "question", "entry"),
    [
        ("fr", "comment trouver un medecin de famille", "health.family_doctor"),
        ("bn", "ami kivabe kaj pabo", "work.find_job"),
        ("ur", "bachon ka school mein dakhla kaise hota hai", "education.school_enrolment"),
    ],
)
def test_polling_full_flow(tmp_path: Path, fake_telegram: FakeTelegram, lang: str, question: str, entry: str) -> None:
    from tests.fakes.telegram_api import button_update

    port = free_port()
    settings = service_settings(tmp_path, fake_telegram, port, public_url=None)
    with ThreadedServer(create_app(settings, polling=True), port=port):
        fake_telegram.wait_for(lambda: fake_telegram.calls_to("deleteWebhook"))
        user = TelegramUser(fake_telegram, "unused", 6005, lang=lang)
        fake_telegram.queue_update(text_update(6005, "/start", lang=lang))
        [picker] = user.replies(1)
        assert buttons_of(picker)[0] == f"lang:{lang}"
        fake_telegram.queue_update(button_update(6005, f"lang:{lang}", lang=lang))
        [menu] = user.replies(1)
        topic = entry.split(".")[0]
        assert f"topic:{topic}:0" in buttons_of(menu)
        fake_telegram.queue_update(button_update(6005, f"topic:{topic}:0", lang=lang))
        [topic_page] = user.replies(1)
        assert topic_page["method"] == "editMessageText"
        fake_telegram.queue_update(text_update(6005, question, lang=lang))
        [answer] = user.replies(1)
        assert f"fb:{entry}:1" in buttons_of(answer)
        fake_telegram.queue_update(button_update(6005, f"fb:{entry}:1", lang=lang))
        user.replies(1)
        offsets = [int(c.params.get("offset") or 0) for c in fake_telegram.calls_to("getUpdates")]
        assert offsets == sorted(offsets)  # each update confirmed only after it was stored


def test_a_429_pauses_every_chat_not_only_the_one_refused(fast_service, fake_telegram: FakeTelegram) -> None:
    """Messages already waiting for their moment when Telegram says "too many" wait out the pause."""
    fake_telegram.fail("sendMessage", 429, retry_after=3)
    chats = range(6101, 6121)
    with httpx.Client(timeout=10) as client:
        for chat in chats:
            client.post(
                fast_service.url + "/webhooks/telegram",
                json=text_update(chat, "/start"),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            ).raise_for_status()
    fake_telegram.wait_for(lambda: all(fake_telegram.sent(chat) for chat in chats), timeout=30)
    calls = fake_telegram.calls_to("sendMessage")
    refused = next(c for c in calls if c.status == 429)
    during_pause = [c for c in calls if c.status == 200 and refused.at < c.at < refused.at + 2.9]
    assert during_pause == []
    assert all(len(fake_telegram.sent(chat)) == 1 for chat in chats)


def test_a_job_no_platform_can_deliver_fails_once_and_is_not_retried(fast_service, fake_telegram: FakeTelegram) -> None:
    """A reply for a chat id Telegram cannot have: failed at the first try, kept for operators
    without its text, never tried again."""
    db = fast_service.db  # type: ignore[attr-defined]

    async def queue_it() -> None:
        store = await Store.open(f"sqlite+aiosqlite:///{db}", migrate=False)
        try:
            await store.requeue("telegram", "not-a-chat", {"kind": "send", "text": "hello", "buttons": []}, held=False)
        finally:
            await store.close()

    asyncio.run(queue_it())  # the service finds it within a second (a write by another process)
    deadline = time.monotonic() + 10
    while not rows(db, "SELECT status FROM outbox WHERE chat_id = 'not-a-chat' AND status = 'failed'"):
        assert time.monotonic() < deadline, rows(db, "SELECT status, attempts, last_error FROM outbox")
        time.sleep(0.1)
    time.sleep(1.5)
    assert rows(db, "SELECT status, attempts, body FROM outbox WHERE chat_id = 'not-a-chat'") == [("failed", 1, "{}")]
    assert fake_telegram.calls_to("sendMessage") == []
