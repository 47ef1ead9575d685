"""Kill -9 with WhatsApp messages accepted but not answered, restart: each answered exactly once."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.fakes.servers import free_port
from tests.fakes.service_process import ServiceProcess
from tests.fakes.twilio_api import FakeTwilio
from tests.whatsapp.conftest import BOT_NUMBER, TEMPLATE, WhatsAppUser


def test_sigkill_then_restart_loses_nothing(tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    port = free_port()
    service = ServiceProcess(
        tmp_path,
        port,
        {
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
            "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
            "TWILIO_WHATSAPP_FROM": BOT_NUMBER,
            "TWILIO_TEMPLATE_SID": TEMPLATE,
            "TWILIO_API_BASE_URL": fake_twilio.url,  # type: ignore[attr-defined]
        },
    ).start()
    service.public_url = service.url  # type: ignore[attr-defined]
    try:
        people = [WhatsAppUser(fake_twilio, service, f"+97798000011{i:02d}") for i in range(6)]  # type: ignore[arg-type]
        people[0].send("/start")
        fake_twilio.down = True  # Twilio answers 503: replies wait in the outbox
        for person in people[1:]:
            assert person.post(person.params("/start")).status_code == 200
        fake_twilio.wait_for(lambda: any(c.status == 503 for c in fake_twilio.calls))
        service.signal(signal.SIGKILL)
        fake_twilio.down = False
        service.start()
        fake_twilio.wait_for(lambda: all(len(fake_twilio.delivered(p.number)) >= 1 for p in people), timeout=60)
        time.sleep(2.0)
        assert [len(fake_twilio.delivered(p.number)) for p in people] == [1] * len(people)
    finally:
        service.stop_now()
