"""Dialogue-style harness: a real engine on a real SQLite file, driven message by message."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import running_engine
from bot.config import Settings, load_settings
from bot.engine import Engine
from bot.messages import ConversationKey, Incoming, Outgoing
from bot.render import to_plain
from tests.conftest import PROJECT


class Person:
    """One person talking to the bot: ``await send(...)``, then read ``replies`` / ``text``."""

    counter = 0

    def __init__(self, engine: Engine, name: str, lang_hint: str | None = None, channel: str = "test"):
        self.engine = engine
        self.key = ConversationKey(channel, name)
        self.lang_hint = lang_hint
        self.replies: list[Outgoing] = []

    async def send(
        self,
        text: str | None = None,
        *,
        payload: str | None = None,
        message_id: str | None = None,
        at: dt.datetime | None = None,
    ) -> list[Outgoing]:
        incoming = Incoming(self.key, text=text, payload=payload, lang_hint=self.lang_hint, message_id=message_id)
        if at is not None:
            incoming = replace(incoming, received_at=at)
        self.replies = await self.engine.handle(incoming)
        return self.replies

    async def press(self, label: str, *, at: dt.datetime | None = None) -> list[Outgoing]:
        """Press the button whose label contains ``label`` in the last replies."""
        for reply in reversed(self.replies):
            for button in reply.buttons:
                if label in button.label or label == button.payload:
                    return await self.send(payload=button.payload, at=at)
        raise AssertionError(f"no button {label!r} in {[b.label for r in self.replies for b in r.buttons]}")

    @property
    def text(self) -> str:
        return "\n\n".join(to_plain(r.text) for r in self.replies)

    @property
    def buttons(self) -> list[str]:
        return [b.label for r in self.replies for b in r.buttons]

    @property
    def payloads(self) -> list[str]:
        return [b.payload for r in self.replies for b in r.buttons]

    @property
    def intents(self) -> list[str | None]:
        return [r.intent for r in self.replies]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    base = load_settings(env={}, dotenv=tmp_path / "no.env")
    return replace(base, database_url=f"sqlite+aiosqlite:///{tmp_path / 'acasa.db'}", content_poll_seconds=0.1)


@pytest.fixture
def open_engine(settings: Settings) -> Callable[..., contextlib.AbstractAsyncContextManager[Engine]]:
    """``async with open_engine() as engine`` — call again on the same file to simulate a restart."""

    @contextlib.asynccontextmanager
    async def factory(**overrides: object) -> AsyncIterator[Engine]:
        async with running_engine(replace(settings, **overrides), watch=False) as engine:
            yield engine

    return factory


@pytest.fixture
async def engine(open_engine) -> AsyncIterator[Engine]:
    async with open_engine() as running:
        yield running


def rows(settings: Settings, sql: str, *params: object) -> list[tuple]:
    """Read the real database file directly, as an auditor would."""
    path = settings.database_url.split(":///", 1)[1]
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute(sql, params).fetchall()


__all__ = ["PROJECT", "Person", "rows"]
