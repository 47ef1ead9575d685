"""The real service over real HTTP, talking to a local fake Telegram Bot API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Settings, load_settings
from bot.server import create_app
from tests.fakes.servers import ThreadedServer, free_port
from tests.fakes.telegram_api import FakeTelegram, button_update, text_update

SECRET = "test-secret_123"


def service_settings(tmp_path: Path, fake: FakeTelegram, port: int, **overrides: Any) -> Settings:
    base = load_settings(env={}, dotenv=tmp_path / "none.env")
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'acasa.db'}",
        "telegram_bot_token": fake.token,
        "telegram_webhook_secret": SECRET,
        "public_url": f"http://127.0.0.1:{port}",
        "telegram_api_base_url": fake.url,  # type: ignore[attr-defined]
        "content_poll_seconds": 60,
    }
    return replace(base, **{**values, **overrides})


@pytest.fixture
def service(tmp_path: Path, fake_telegram: FakeTelegram) -> Iterator[ThreadedServer]:
    port = free_port()
    app = create_app(service_settings(tmp_path, fake_telegram, port))
    with ThreadedServer(app, port=port) as server:
        yield server


class TelegramUser:
    """A person in a private chat with the bot, posting updates to the webhook like Telegram does."""

    def __init__(self, fake: FakeTelegram, service_url: str, chat_id: int, lang: str | None = "en"):
        self.fake = fake
        self.url = service_url + "/webhooks/telegram"
        self.chat_id = chat_id
        self.lang = lang
        self.seen = 0

    def post(self, update: dict[str, Any]) -> httpx.Response:
        return httpx.post(self.url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}, timeout=10)

    def send(self, text: str, *, expect: int = 1) -> list[dict[str, Any]]:
        assert self.post(text_update(self.chat_id, text, lang=self.lang)).status_code == 200
        return self.replies(expect)

    def press(self, label_or_payload: str, *, expect: int = 1) -> list[dict[str, Any]]:
        message = self.last_with_buttons()
        for row in message["reply_markup"]["inline_keyboard"]:
            for key in row:
                if label_or_payload in (key["callback_data"],) or label_or_payload in key["text"]:
                    update = button_update(
                        self.chat_id, key["callback_data"], lang=self.lang, message_id=int(message.get("message_id", 1))
                    )
                    assert self.post(update).status_code == 200
                    return self.replies(expect)
        raise AssertionError(f"no button {label_or_payload!r}")

    def replies(self, count: int) -> list[dict[str, Any]]:
        """Wait for ``count`` new sendMessage/editMessageText calls to this chat and return them."""
        self.fake.wait_for(lambda: len(self.fake.sent(self.chat_id)) >= self.seen + count)
        calls = self.fake.sent(self.chat_id)[self.seen : self.seen + count]
        self.seen += count
        return [dict(c.params, method=c.method) for c in calls]

    def last_with_buttons(self) -> dict[str, Any]:
        for call in reversed(self.fake.sent(self.chat_id)):
            if call.params.get("reply_markup"):
                params = dict(call.params)
                params.setdefault("message_id", 1)
                return params
        raise AssertionError("no message with buttons")


def buttons_of(reply: dict[str, Any]) -> list[str]:
    markup = reply.get("reply_markup") or {"inline_keyboard": []}
    return [key["callback_data"] for row in markup["inline_keyboard"] for key in row]
