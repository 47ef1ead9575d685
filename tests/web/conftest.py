"""The real service with the web console over real HTTP; people write through the fake Telegram."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from bot.server import create_app
from bot.store import Store
from bot.web.accounts import Accounts, new_totp_secret
from tests.fakes.servers import ThreadedServer, free_port
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.handoff.conftest import ANA, GROUP, ION, desk_settings
from tests.telegram.conftest import service_settings

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Staff:
    login: str
    name: str
    role: str
    totp: str | None  # the second factor's secret, for roles that need one
    languages: tuple[str, ...] = ()  # a translator's or reviewer's languages


STAFF = (
    Staff("maria", "Maria", "mediator", new_totp_secret()),
    Staff("dan", "Dan", "mediator", new_totp_secret()),
    Staff("coord", "Corina", "coordinator", new_totp_secret()),
    Staff("edith", "Edith", "editor", None),
    Staff("ana_analyst", "Alina", "analyst", None),
    Staff("olena", "Olena", "reviewer", None, ("uk",)),
    Staff("sita", "Sita", "translator", None, ("ne",)),
    Staff("root", "Radu", "admin", new_totp_secret()),
)


def create_staff(database: Path | str) -> None:
    """The staff accounts, in a SQLite file (a path) or any database (a URL)."""
    url = database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}"

    async def run() -> None:
        store = await Store.open(url)
        try:
            accounts = Accounts(store)
            now = dt.datetime.now(dt.UTC)
            for staff in STAFF:
                token = await accounts.add(staff.login, staff.name, staff.role, now, staff.languages)
                await accounts.finish_setup(token, PASSWORD, staff.totp, now)
        finally:
            await store.close()

    asyncio.run(run())


def _service(tmp_path: Path, settings: Any) -> Iterator[ThreadedServer]:
    create_staff(tmp_path / "acasa.db")
    port = int(settings.public_url.rsplit(":", 1)[1])
    with ThreadedServer(create_app(settings), port=port) as server:
        server.db = tmp_path / "acasa.db"  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def console_service(tmp_path: Path, fake_telegram: FakeTelegram) -> Iterator[ThreadedServer]:
    """Mediators only in the browser: no Telegram group."""
    port = free_port()
    yield from _service(tmp_path, replace_settings(service_settings(tmp_path, fake_telegram, port)))


@pytest.fixture
def console_two_channels(
    tmp_path: Path, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> Iterator[ThreadedServer]:
    """People on Telegram and on WhatsApp; mediators only in the browser."""
    from dataclasses import replace

    port = free_port()
    settings = replace(desk_settings(tmp_path, fake_telegram, fake_twilio, port), mediator_chat_id=None)
    for server in _service(tmp_path, replace_settings(settings)):
        server.public_url = server.url  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def two_desks_service(tmp_path: Path, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio) -> Iterator[ThreadedServer]:
    """The Telegram group and the web console on one queue."""
    fake_telegram.members[GROUP] = {ANA["id"]: "member", ION["id"]: "administrator"}
    port = free_port()
    yield from _service(tmp_path, replace_settings(desk_settings(tmp_path, fake_telegram, fake_twilio, port)))


def replace_settings(settings: Any) -> Any:
    from dataclasses import replace

    # Referrals come back for follow-up at once, so that a test sees the reminder.
    return replace(settings, web_desk=True, mediator_language="en", referral_follow_up_days=0.0)


class StaffBrowser:
    """A staff member's browser without JavaScript: cookies, forms and their CSRF tokens."""

    def __init__(self, service_url: str, staff: Staff, opened: list[httpx.Client]):
        self.staff = staff
        self.client = httpx.Client(base_url=service_url, follow_redirects=False, timeout=10)
        opened.append(self.client)
        self.csrf: str | None = None

    def sign_in(self) -> httpx.Response:
        page = self.client.get("/console/login")
        token = csrf_of(page.text)
        done = self.client.post("/console/login", data={"csrf": token, "login": self.staff.login, "password": PASSWORD})
        assert done.status_code == 303, done.text
        if self.staff.totp:
            assert done.headers["location"] == "/console/second-factor"
            page = self.client.get("/console/second-factor")
            code = pyotp.TOTP(self.staff.totp).now()
            done = self.client.post("/console/second-factor", data={"csrf": csrf_of(page.text), "code": code})
            assert done.status_code == 303, done.text
        home = self.client.get("/console/", follow_redirects=True)
        self.csrf = csrf_of(home.text)
        return home

    def post(self, path: str, **data: str) -> httpx.Response:
        return self.client.post(path, data={"csrf": self.csrf or "", **data})


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def staff(login: str) -> Staff:
    return next(s for s in STAFF if s.login == login)


@pytest.fixture
def browsers() -> Iterator[list[httpx.Client]]:
    """Every HTTP client a test opens, closed at its end (``track(client)``)."""
    opened: list[httpx.Client] = []
    yield opened
    for client in opened:
        client.close()
