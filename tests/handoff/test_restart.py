"""Kill -9 in the middle of a conversation with a mediator: after a restart, every message in
both directions arrives exactly once."""

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


def test_sigkill_mid_conversation_loses_and_repeats_nothing(
    tmp_path: Path, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:
    fake_telegram.members[GROUP] = {ANA["id"]: "member"}
    port = free_port()
    service = ServiceProcess(tmp_path, port, desk_environment(fake_telegram, fake_twilio, port)).start()
    try:
        group = MediatorGroup(fake_telegram, service.url)
        olena = TelegramUser(fake_telegram, service.url, 7101, lang="uk")
        olena.send("/start")
        olena.press("lang:uk")
        olena.send("людина")
        olena.press("handoff:yes")
        group.wait_for_card(1)
        group.claim(ANA, 1)
        olena.replies(1)  # Ana joined
        topic = group.topic(1)
        group.wait_in_topic(topic, "Claimed by")

        fake_telegram.down = True  # Telegram answers 500: everything waits in the outbox
        for n in range(3):
            group.write(ANA, f"mediator message {n}", topic)
            assert olena.post(text_update(7101, f"person message {n}", lang="uk")).status_code == 200
        fake_telegram.wait_for(lambda: sum(c.status == 500 for c in fake_telegram.calls) >= 2)
        service.signal(signal.SIGKILL)
        fake_telegram.down = False
        service.start()

        fake_telegram.wait_for(
            lambda: all(
                any(f"mediator message {n}" in c.params["text"] for c in fake_telegram.sent(7101)) for n in range(3)
            ),
            timeout=60,
        )
        for n in range(3):
            group.wait_in_topic(topic, f"person message {n}")
        time.sleep(2.0)
        to_person = [c.params["text"] for c in fake_telegram.sent(7101) if "mediator message" in c.params["text"]]
        assert to_person == [f"👤 Ana: mediator message {n}" for n in range(3)]  # once each, in order
        in_topic = [t for t in fake_telegram.in_topic(GROUP, topic) if "person message" in t]
        assert in_topic == [f"👤 person message {n}" for n in range(3)]
    finally:
        service.stop_now()
