"""What a handler works with: the person's state, the live content, and the replies it builds."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.content import Content
from bot.messages import Button, Incoming, Outgoing
from bot.store import PersonState


@dataclass
class Context:
    incoming: Incoming
    state: PersonState
    content: Content
    default_language: str = "en"
    retention_days: int = 90
    replies: list[Outgoing] = field(default_factory=list)
    feedback: list[tuple[str, str, bool]] = field(default_factory=list)
    unanswered: list[tuple[str, str]] = field(default_factory=list)
    forget: bool = False

    @property
    def lang(self) -> str:
        """The language to answer in: the person's choice, else the platform hint, else the default."""
        return self.state.language or self.incoming.lang_hint or self.default_language

    def t(self, key: str, **values: object) -> str:
        return self.content.locales.text(self.lang, key, **values)

    def say(self, text: str, buttons: tuple[Button, ...] | list[Button] = (), intent: str | None = None) -> None:
        self.replies.append(Outgoing(text, self.lang, tuple(buttons), intent))

    def send(self, reply: Outgoing) -> None:
        self.replies.append(reply)

    def button(self, key: str, payload: str) -> Button:
        return Button(self.t(key), payload)
