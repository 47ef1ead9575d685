"""Kill -9 between receiving updates and replying, restart: every accepted update answered once."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.fakes.servers import free_port
from tests.fakes.service_process import ServiceProcess
from tests.fakes.telegram_api import FakeTelegram, text_update
from tests.telegram.conftest import SECRET


def telegram_service(tmp_path: Path, fake: FakeTelegram) -> ServiceProcess:
    port = free_port()
    return ServiceProcess(
        tmp_path,
        port,
        {
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_TIMEOUT": "1",
            "TELEGRAM_API_BASE_URL": fake.url,  # type: ignore[attr-defined]
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
        },
    )


def post(service: ServiceProcess, update: dict) -> int:
    response = httpx.post(
        service.url + "/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}, timeout=10
    )
    return response.status_code


def test_sigkill_then_restart_answers_every_accepted_update_exactly_once(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    service = telegram_service(tmp_path, fake_telegram).start()
    try:
        assert post(service, text_update(7000, "/start")) == 200
        fake_telegram.wait_for(lambda: len(fake_telegram.sent(7000)) == 1)

        fake_telegram.down = True  # Telegram fails every send: replies pile up in the outbox
        accepted = {7000: 1}
        for chat in range(7001, 7006):
            assert post(service, text_update(chat, "/start")) == 200
            accepted[chat] = 1
        fake_telegram.wait_for(lambda: any(c.status == 500 for c in fake_telegram.calls_to("sendMessage")))
        for chat in range(7006, 7009):  # accepted just before the crash, perhaps not yet processed
            assert post(service, text_update(chat, "/start")) == 200
            accepted[chat] = 1
        service.signal(signal.SIGKILL)
        assert not any(fake_telegram.sent(chat) for chat in range(7001, 7009))

        fake_telegram.down = False
        service.start()
        fake_telegram.wait_for(
            lambda: all(len(fake_telegram.sent(chat)) >= n for chat, n in accepted.items()), timeout=60
        )
        time.sleep(2.0)  # anything sent twice would show up now
        for chat, expected in accepted.items():
            assert len(fake_telegram.sent(chat)) == expected, chat
    finally:
        service.stop_now()


def test_sigterm_stops_gracefully_and_keeps_pending_replies(tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    service = telegram_service(tmp_path, fake_telegram).start()
    try:
        fake_telegram.down = True
        assert post(service, text_update(7100, "/start")) == 200
        fake_telegram.wait_for(lambda: any(c.status == 500 for c in fake_telegram.calls_to("sendMessage")))
        # uvicorn shuts the app down, then re-raises the signal: the conventional exit status of SIGTERM
        assert service.signal(signal.SIGTERM) in (0, -signal.SIGTERM)
        assert "Traceback" not in service.log.read_text()
        fake_telegram.down = False
        service.start()
        fake_telegram.wait_for(lambda: len(fake_telegram.sent(7100)) == 1, timeout=30)
    finally:
        service.stop_now()


def test_a_second_instance_on_one_sqlite_file_is_refused(tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    first = telegram_service(tmp_path, fake_telegram).start()
    settings = {k: v for k, v in first.env.items() if k.startswith(("TELEGRAM_", "PUBLIC_URL"))}
    second = ServiceProcess(tmp_path, free_port(), settings, name="second")  # the same acasa.db
    try:
        with pytest.raises(AssertionError, match="service did not start"):
            second.start()
        assert "acasa.db is already served by process" in second.log.read_text()
        assert "use PostgreSQL" in second.log.read_text()
        assert post(first, text_update(7200, "/start")) == 200  # the first one is unharmed
        fake_telegram.wait_for(lambda: len(fake_telegram.sent(7200)) == 1)
    finally:
        second.stop_now()
        first.stop_now()
