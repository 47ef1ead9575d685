"""Channel-neutral messages: what the core produces, before any platform renders it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Button:
    label: str
    payload: str  # compact and ASCII, at most 64 bytes (fits Telegram callback data)


@dataclass(frozen=True)
class Outgoing:
    text: str  # the knowledge base's Markdown subset
    lang: str
    buttons: tuple[Button, ...] = ()
    intent: str | None = None
