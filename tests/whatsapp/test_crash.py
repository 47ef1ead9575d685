"""Kill -9 with WhatsApp messages accepted but not answered, restart: each answered exactly once."""

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
from tests.fakes.twilio_api import FakeTwilio
from tests.whatsapp.conftest import BOT_NUMBER, TEMPLATE, WhatsAppUser


class Service:
    def __init__(self, tmp_path: Path, fake: FakeTwilio, port: int):
        self.url = self.public_url = f"http://127.0.0.1:{port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))},
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'acasa.db'}",
            "PUBLIC_URL": self.public_url,
            "PORT": str(port),
            "LOG_LEVEL": "WARNING",
            "TWILIO_ACCOUNT_SID": fake.account_sid,
            "TWILIO_AUTH_TOKEN": fake.auth_token,
            "TWILIO_WHATSAPP_FROM": BOT_NUMBER,
            "TWILIO_TEMPLATE_SID": TEMPLATE,
            "TWILIO_API_BASE_URL": fake.url,  # type: ignore[attr-defined]
        }
        self.log = tmp_path / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve"],
                cwd=PROJECT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(self.log.read_text())

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def test_sigkill_then_restart_loses_nothing(tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    service = Service(tmp_path, fake_twilio, free_port())
    service.start()
    try:
        people = [WhatsAppUser(fake_twilio, service, f"+97798000011{i:02d}") for i in range(6)]  # type: ignore[arg-type]
        people[0].send("/start")
        fake_twilio.down = True  # Twilio answers 503: replies wait in the outbox
        for person in people[1:]:
            assert person.post(person.params("/start")).status_code == 200
        fake_twilio.wait_for(lambda: any(c.status == 503 for c in fake_twilio.calls))
        service.kill()
        fake_twilio.down = False
        service.start()
        fake_twilio.wait_for(lambda: all(len(fake_twilio.delivered(p.number)) >= 1 for p in people), timeout=60)
        time.sleep(2.0)
        assert [len(fake_twilio.delivered(p.number)) for p in people] == [1] * len(people)
    finally:
        if service.process:
            service.process.kill()
            service.process.wait(timeout=10)
