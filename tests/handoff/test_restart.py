"""Kill -9 in the middle of two conversations with a mediator (Telegram and WhatsApp): after a
restart, every message in both directions arrives exactly once, in order."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.fakes.servers import free_port
from tests.fakes.service_process import ServiceProcess
from tests.fakes.telegram_api import FakeTelegram, text_update
from tests.fakes.twilio_api import FakeTwilio
from tests.handoff.conftest import ANA, GROUP, MediatorGroup, desk_environment
from tests.telegram.conftest import TelegramUser
from tests.whatsapp.conftest import WhatsAppUser, choice_number


def test_sigkill_mid_conversation_loses_and_repeats_nothing(
    tmp_path: Path, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    fake_telegram.members[GROUP] = {ANA["id"]: "member"}
    port = free_port()
    service = ServiceProcess(tmp_path, port, desk_environment(fake_telegram, fake_twilio, port)).start()
    service.public_url = service.url  # type: ignore[attr-defined]
    try:
        group = MediatorGroup(fake_telegram, service.url)
        olena = TelegramUser(fake_telegram, service.url, 7101, lang="uk")
        olena.send("/start")
        olena.press("lang:uk")
        olena.send("людина")
        olena.press("handoff:yes")
        raj = WhatsAppUser(fake_twilio, service, "+9779800003333")  # type: ignore[arg-type]
        [picker] = raj.send("hello")
        raj.send(choice_number(picker, "English"))
        [consent] = raj.send("person")
        raj.send(choice_number(consent, "Yes, connect me"))
        group.wait_for_card(2)
        group.claim(ANA, 1)
        group.claim(ANA, 2)
        olena.replies(1)  # Ana joined
        raj.replies(1)
        topics = {1: group.topic(1), 2: group.topic(2)}
        for topic in topics.values():
            group.wait_in_topic(topic, "Claimed by")

        # Both platforms answer 500: everything waits in the outbox; then the server is killed.
        fake_telegram.down = True
        fake_twilio.down = True
        for n in range(3):
            group.write(ANA, f"to olena {n}", topics[1])
            group.write(ANA, f"to raj {n}", topics[2])
            assert olena.post(text_update(7101, f"from olena {n}", lang="uk")).status_code == 200
            assert raj.post(raj.params(f"from raj {n}")).status_code == 200
        fake_telegram.wait_for(lambda: sum(c.status == 500 for c in fake_telegram.calls) >= 2)
        fake_twilio.wait_for(lambda: any(c.status >= 500 for c in fake_twilio.calls))
        service.signal(signal.SIGKILL)
        fake_telegram.down = False
        fake_twilio.down = False
        service.start()

        def telegram_texts() -> list[str]:
            return [c.params["text"] for c in fake_telegram.sent(7101) if "to olena" in c.params["text"]]

        def whatsapp_texts() -> list[str]:
            return [
                c.params.get("Body", "")
                for c in fake_twilio.delivered(raj.number)
                if "to raj" in c.params.get("Body", "")
            ]

        fake_telegram.wait_for(lambda: len(telegram_texts()) >= 3, timeout=60)
        fake_twilio.wait_for(lambda: len(whatsapp_texts()) >= 3, timeout=60)
        for n in range(3):
            group.wait_in_topic(topics[1], f"from olena {n}")
            group.wait_in_topic(topics[2], f"from raj {n}")
        time.sleep(2.0)  # anything sent twice would have arrived by now
        assert telegram_texts() == [f"👤 Ana: to olena {n}" for n in range(3)]  # once each, in order
        assert whatsapp_texts() == [f"👤 Ana: to raj {n}" for n in range(3)]
        # The person's own line of each relay (the desk may mark one above it as possibly about
        # danger: the classifiers read "from olena 2" so).
        assert [t.split("\n")[-1] for t in fake_telegram.in_topic(GROUP, topics[1]) if "from olena" in t] == [
            f"👤 from olena {n}" for n in range(3)
        ]
        assert [t.split("\n")[-1] for t in fake_telegram.in_topic(GROUP, topics[2]) if "from raj" in t] == [
            f"👤 from raj {n}" for n in range(3)
        ]
    finally:
        service.stop_now()
