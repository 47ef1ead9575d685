"""Channel-neutral messages: what adapters hand to the core and what the core hands back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ConversationKey:
    """One person on one channel (a Telegram chat, a WhatsApp number, a terminal)."""

    channel: str
    chat_id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.chat_id}"


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class IncomingFile:
    """A file that came with a message, as the platform names it (fetched later, if a mediator needs it)."""

    ref: str  # Telegram's file_id, or Twilio's media URL
    mime: str | None = None
    filename: str | None = None


@dataclass(frozen=True)
class Incoming:
    key: ConversationKey
    text: str | None = None  # what the person typed
    payload: str | None = None  # a pressed button's payload
    lang_hint: str | None = None  # the platform's language code, if any
    location: Location | None = None
    message_id: str | None = None  # the platform's id, for de-duplication
    received_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    inbox_id: int | None = None  # set when the message came through the stored inbox: replies go to the outbox
    ack_id: str | None = None  # a button press the platform wants acknowledged (Telegram callback query)
    pressed_on: str | None = None  # the platform id of the message whose button was pressed
    media: bool = False  # a photo, voice message or file came with it (only the caption, if any, is text)
    files: tuple[IncomingFile, ...] = ()  # photos and documents among them


@dataclass(frozen=True)
class Button:
    label: str
    payload: str  # compact and ASCII, at most 64 bytes (fits Telegram callback data)


@dataclass(frozen=True)
class Venue:
    title: str
    location: Location
    address: str | None = None


@dataclass(frozen=True)
class Outgoing:
    text: str  # the knowledge base's Markdown subset
    lang: str
    buttons: tuple[Button, ...] = ()
    intent: str | None = None
    venue: Venue | None = None
