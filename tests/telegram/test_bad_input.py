"""Bad updates between good ones: nobody else's message is lost, and the bad ones get clear errors."""

from __future__ import annotations

import json
import logging
import threading
import time

import httpx
import pytest

from tests.fakes.servers import ThreadedServer
from tests.fakes.telegram_api import FakeTelegram, text_update
from tests.telegram.conftest import SECRET

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}


def unstorable_update(chat_id: int, kind: int) -> bytes:
    """An update whose text a database cannot store as it is, written as Telegram's JSON would be."""
    text = ["lone surrogate \\ud800 here", "a NUL \\u0000 byte", "bell \\u0007 and escape \\u001b", "\\udfff"][kind % 4]
    update = text_update(chat_id, "PLACEHOLDER")
    return json.dumps(update).replace("PLACEHOLDER", text).encode()


def test_good_first_messages_between_unstorable_ones_are_all_answered(
    service: ThreadedServer, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    good = list(range(7_000_000, 7_000_200))
    bad = list(range(7_100_000, 7_100_040))
    statuses: list[int] = []
    url = service.url + "/webhooks/telegram"

    def post_bad() -> None:
        with httpx.Client(timeout=10) as client:
            for index, chat in enumerate(bad):
                statuses.append(client.post(url, content=unstorable_update(chat, index), headers=HEADERS).status_code)
                time.sleep(0.1)

    sender = threading.Thread(target=post_bad)
    sender.start()
    with httpx.Client(timeout=10) as client:
        for chat in good:
            assert client.post(url, json=text_update(chat, "/start"), headers=HEADERS).status_code == 200
            time.sleep(0.02)
    sender.join()
    assert statuses == [200] * len(bad)  # cleaned at intake and kept: these are people too
    fake_telegram.wait_for(lambda: all(len(fake_telegram.sent(chat)) >= 1 for chat in good + bad), timeout=60)
    time.sleep(1.0)
    assert all(len(fake_telegram.sent(chat)) == 1 for chat in good)  # the language picker, once
    for chat in bad:  # answered (odd words may also read as danger: then the emergency numbers first), once
        texts = [c.params.get("text") for c in fake_telegram.sent(chat)]
        assert 1 <= len(texts) <= 2 and len(set(texts)) == len(texts), texts
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert problems == []
    cleaned = [r for r in caplog.records if "cannot be stored; replaced or removed" in r.getMessage()]
    assert len(cleaned) == len(bad)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{" * 5000 + b"}" * 5000, 400),  # deeper than any JSON parser should recurse
        (b'{"update_id": 1, "message": ' + b"[" * 100 + b"]" * 100 + b"}", 400),  # deeper than allowed
        (b"\xff\xfe not JSON", 400),
        (b"[1, 2, 3]", 400),
        (b'{"update_id": "1"}', 400),
        (b'{"update_id": true}', 400),
        (b'{"update_id": 1e400}', 400),
        (b'{"update_id": 123456789012345678901234567890}', 400),
        (b'{"update_id": 5, "message": "not an object"}', 200),  # stored; nothing to answer
    ],
)
def test_malformed_bodies_get_clear_errors_never_500(
    service: ThreadedServer, fake_telegram: FakeTelegram, body: bytes, status: int
) -> None:
    response = httpx.post(service.url + "/webhooks/telegram", content=body, headers=HEADERS, timeout=10)
    assert response.status_code == status
    if status != 200:
        assert response.json()["ok"] is False and response.json()["error"]
    healthy = httpx.get(service.url + "/healthz", timeout=10)
    assert healthy.status_code == 200
