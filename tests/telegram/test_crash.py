"""Kill -9 between receiving updates and replying, restart: every accepted update answered once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import PROJECT
from tests.fakes.servers import free_port
from tests.fakes.telegram_api import FakeTelegram, text_update
from tests.telegram.conftest import SECRET


def start_service(tmp_path: Path, fake: FakeTelegram, port: int) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))},
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'acasa.db'}",
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": fake.url,  # type: ignore[attr-defined]
        "TELEGRAM_TIMEOUT": "1",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    with (tmp_path / "server.log").open("ab") as log:  # the child keeps its own copy of the handle
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve"], cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=log
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise AssertionError((tmp_path / "server.log").read_text())
        time.sleep(0.1)
    process.kill()
    raise AssertionError("service did not start")


def post(port: int, update: dict) -> int:
    response = httpx.post(
        f"http://127.0.0.1:{port}/webhooks/telegram",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        timeout=10,
    )
    return response.status_code


def test_sigkill_then_restart_answers_every_accepted_update_exactly_once(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    port = free_port()
    server = start_service(tmp_path, fake_telegram, port)
    try:
        assert post(port, text_update(7000, "/start")) == 200
        fake_telegram.wait_for(lambda: len(fake_telegram.sent(7000)) == 1)

        fake_telegram.down = True  # Telegram fails every send: replies pile up in the outbox
        accepted = {7000: 1}
        for chat in range(7001, 7006):
            assert post(port, text_update(chat, "/start")) == 200
            accepted[chat] = 1
        fake_telegram.wait_for(lambda: any(c.status == 500 for c in fake_telegram.calls_to("sendMessage")))
        for chat in range(7006, 7009):  # accepted just before the crash, perhaps not yet processed
            assert post(port, text_update(chat, "/start")) == 200
            accepted[chat] = 1
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        assert not any(c.status == 200 for chat in range(7001, 7009) for c in fake_telegram.sent(chat))

        fake_telegram.down = False
        server = start_service(tmp_path, fake_telegram, port)
        fake_telegram.wait_for(
            lambda: all(len(fake_telegram.sent(chat)) >= n for chat, n in accepted.items()), timeout=60
        )
        time.sleep(2.0)  # anything sent twice would show up now
        for chat, expected in accepted.items():
            assert len(fake_telegram.sent(chat)) == expected, chat
    finally:
        server.kill()
        server.wait(timeout=10)


def test_sigterm_stops_gracefully_and_keeps_pending_replies(tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    port = free_port()
    server = start_service(tmp_path, fake_telegram, port)
    try:
        fake_telegram.down = True
        assert post(port, text_update(7100, "/start")) == 200
        fake_telegram.wait_for(lambda: any(c.status == 500 for c in fake_telegram.calls_to("sendMessage")))
        server.send_signal(signal.SIGTERM)
        # uvicorn shuts the app down, then re-raises the signal: the conventional exit status of SIGTERM
        assert server.wait(timeout=20) in (0, -signal.SIGTERM)
        assert "Traceback" not in (tmp_path / "server.log").read_text()
        fake_telegram.down = False
        server = start_service(tmp_path, fake_telegram, port)
        fake_telegram.wait_for(lambda: len(fake_telegram.sent(7100)) == 1, timeout=30)
    finally:
        server.kill()
        server.wait(timeout=10)
