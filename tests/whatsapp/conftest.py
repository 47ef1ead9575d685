"""The real service over real HTTP, with webhooks signed by Twilio's own RequestValidator."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.request_validator import RequestValidator

from bot.config import load_settings
from bot.server import create_app
from tests.fakes.servers import ThreadedServer, free_port
from tests.fakes.twilio_api import FakeTwilio

BOT_NUMBER = "whatsapp:+40700000001"
TEMPLATE = "HX" + "1" * 32
_sids = itertools.count(1)


def whatsapp_settings(tmp_path: Path, fake: FakeTwilio, public_url: str, **overrides: Any):
    base = load_settings(env={}, dotenv=tmp_path / "none.env")
    values = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'acasa.db'}",
        "public_url": public_url,
        "twilio_account_sid": fake.account_sid,
        "twilio_auth_token": fake.auth_token,
        "twilio_whatsapp_from": BOT_NUMBER,
        "twilio_api_base_url": fake.url,  # type: ignore[attr-defined]
        "twilio_template_sid": TEMPLATE,
        "content_poll_seconds": 60,
    }
    return replace(base, **{**values, **overrides})


@pytest.fixture
def service(tmp_path: Path, fake_twilio: FakeTwilio) -> Iterator[ThreadedServer]:
    port = free_port()
    app = create_app(whatsapp_settings(tmp_path, fake_twilio, f"http://127.0.0.1:{port}"))
    with ThreadedServer(app, port=port) as server:
        server.public_url = server.url  # type: ignore[attr-defined]
        server.db = tmp_path / "acasa.db"  # type: ignore[attr-defined]
        yield server


def signed_post(
    service_url: str, public_url: str, path: str, params: dict[str, str], token: str, signature: str | None = None
) -> httpx.Response:
    if signature is None:
        signature = RequestValidator(token).compute_signature(public_url + path, params)
    return httpx.post(service_url + path, data=params, headers={"X-Twilio-Signature": signature}, timeout=10)


class WhatsAppUser:
    def __init__(self, fake: FakeTwilio, service: ThreadedServer, number: str):
        self.fake = fake
        self.service = service
        self.number = number
        self.seen = 0

    def params(self, body: str = "", **extra: str) -> dict[str, str]:
        return {
            "MessageSid": f"SM{next(_sids):032x}",
            "AccountSid": self.fake.account_sid,
            "From": f"whatsapp:{self.number}",
            "To": BOT_NUMBER,
            "Body": body,
            "NumMedia": "0",
            "WaId": self.number.lstrip("+"),
            "ProfileName": "Test",
            **extra,
        }

    def post(self, params: dict[str, str]) -> httpx.Response:
        return signed_post(
            self.service.url,
            self.service.public_url,
            "/webhooks/twilio/whatsapp",
            params,  # type: ignore[attr-defined]
            self.fake.auth_token,
        )

    def send(self, body: str, *, expect: int = 1, **extra: str) -> list[str]:
        response = self.post(self.params(body, **extra))
        assert response.status_code == 200, response.text
        assert response.text.startswith("<?xml") and "<Response></Response>" in response.text
        return self.replies(expect)

    def send_until(self, body: str, marker: str) -> list[str]:
        """Send, then collect messages (a long answer arrives in parts) until one contains ``marker``."""
        assert self.post(self.params(body)).status_code == 200
        self.fake.wait_for(
            lambda: any(marker in c.params.get("Body", "") for c in self.fake.delivered(self.number)[self.seen :])
        )
        calls = self.fake.delivered(self.number)[self.seen :]
        self.seen += len(calls)
        return [c.params.get("Body", "") for c in calls]

    def replies(self, count: int) -> list[str]:
        self.fake.wait_for(lambda: len(self.fake.delivered(self.number)) >= self.seen + count)
        calls = self.fake.delivered(self.number)[self.seen : self.seen + count]
        self.seen += count
        return [c.params.get("Body", "") for c in calls]


def choice_number(text: str, label: str) -> str:
    """The number in front of ``label`` in a numbered list."""
    for line in text.splitlines():
        number, _, rest = line.lstrip("\u200f").partition(". ")
        if number.isdigit() and label in rest:
            return number
    raise AssertionError(f"{label!r} not offered in:\n{text}")
