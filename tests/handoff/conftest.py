"""The real service with a person on Telegram, a person on WhatsApp and a mediator group, over HTTP."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.server import create_app
from tests.fakes.servers import ThreadedServer, free_port
from tests.fakes.telegram_api import FakeTelegram, group_button_update, group_text_update
from tests.fakes.twilio_api import FakeTwilio
from tests.telegram.conftest import SECRET, service_settings
from tests.whatsapp.conftest import BOT_NUMBER, TEMPLATE

GROUP = -1001234567890
ANA = {"id": 501, "is_bot": False, "first_name": "Ana", "username": "ana_med", "language_code": "ro"}
ION = {"id": 502, "is_bot": False, "first_name": "Ion", "username": "ion_med"}
STRANGER = {"id": 999, "is_bot": False, "first_name": "Mallory"}


def desk_settings(tmp_path: Path, telegram: FakeTelegram, twilio: FakeTwilio, port: int, **overrides: Any) -> Settings:
    settings = service_settings(tmp_path, telegram, port)
    values: dict[str, Any] = {
        "twilio_account_sid": twilio.account_sid,
        "twilio_auth_token": twilio.auth_token,
        "twilio_whatsapp_from": BOT_NUMBER,
        "twilio_api_base_url": twilio.url,  # type: ignore[attr-defined]
        "twilio_template_sid": TEMPLATE,
        "mediator_chat_id": GROUP,
        "mediator_language": "en",  # the tests read the desk's English texts
        "mediator_messages_per_minute": 6000.0,  # Telegram's 20/min would make tests slow
        "handoff_check_seconds": 3600.0,  # reminders are tested by calling the check directly
    }
    return replace(settings, **{**values, **overrides})


def desk_environment(telegram: FakeTelegram, twilio: FakeTwilio, port: int) -> dict[str, str]:
    """The same configuration as environment variables, for a service run as its own process."""
    return {
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": telegram.url,  # type: ignore[attr-defined]
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_WHATSAPP_FROM": BOT_NUMBER,
        "TWILIO_TEMPLATE_SID": TEMPLATE,
        "TWILIO_API_BASE_URL": twilio.url,  # type: ignore[attr-defined]
        "MEDIATOR_CHAT_ID": str(GROUP),
        "MEDIATOR_LANGUAGE": "en",
        "MEDIATOR_MESSAGES_PER_MINUTE": "6000",
        "HANDOFF_CHECK_SECONDS": "3600",
    }


@pytest.fixture
def desk_service(tmp_path: Path, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio) -> Iterator[ThreadedServer]:
    fake_telegram.members[GROUP] = {ANA["id"]: "member", ION["id"]: "administrator"}
    port = free_port()
    app = create_app(desk_settings(tmp_path, fake_telegram, fake_twilio, port))
    with ThreadedServer(app, port=port) as server:
        server.public_url = server.url  # type: ignore[attr-defined]
        server.db = tmp_path / "acasa.db"  # type: ignore[attr-defined]
        yield server


class MediatorGroup:
    """The mediators' supergroup as Telegram would report it to the bot's webhook."""

    def __init__(self, fake: FakeTelegram, service_url: str):
        self.fake = fake
        self.url = service_url + "/webhooks/telegram"

    def post(self, update: dict[str, Any]) -> None:
        response = httpx.post(self.url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}, timeout=10)
        assert response.status_code == 200, response.text

    def queue_topic(self) -> int:
        return self.fake.topic_named(GROUP, "📥")

    def cards(self) -> list[dict[str, Any]]:
        """Messages with a Claim button in the queue topic."""
        return [
            c.params
            for c in self.fake.sent(GROUP)
            if c.method == "sendMessage" and "claim:" in str(c.params.get("reply_markup"))
        ]

    def wait_for_card(self, ticket_id: int, count: int = 1) -> dict[str, Any]:
        marker = f"claim:{ticket_id}"
        self.fake.wait_for(lambda: sum(marker in str(c.get("reply_markup")) for c in self.cards()) >= count)
        return [c for c in self.cards() if marker in str(c.get("reply_markup"))][-1]

    def claim(self, user: dict[str, Any], ticket_id: int) -> None:
        self.post(group_button_update(GROUP, user, f"claim:{ticket_id}"))

    def write(self, user: dict[str, Any], text: str, thread_id: int | None, **extra: Any) -> None:
        self.post(group_text_update(GROUP, user, text, thread_id=thread_id, **extra))

    def topic(self, ticket_id: int) -> int:
        self.fake.wait_for(
            lambda: any(t["name"].startswith(f"#{ticket_id} ") for t in self.fake.topics.get(GROUP, {}).values())
        )
        return self.fake.topic_named(GROUP, f"#{ticket_id} ")

    def wait_in_topic(self, thread_id: int, marker: str) -> list[str]:
        self.fake.wait_for(lambda: any(marker in text for text in self.fake.in_topic(GROUP, thread_id)))
        return self.fake.in_topic(GROUP, thread_id)

    def acks(self) -> list[dict[str, Any]]:
        return [c.params for c in self.fake.calls_to("answerCallbackQuery") if c.status == 200]


def db_rows(db: Path, sql: str, *params: object) -> list[tuple]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql, params).fetchall()
