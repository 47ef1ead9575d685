"""What a handler works with: the person's state, the live content, and the replies it builds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.content import Content
from bot.messages import Button, Incoming, Outgoing
from bot.store import HandoffEffects, PersonState

if TYPE_CHECKING:
    from bot.handoff.queue import HandoffQueue, Ticket


@dataclass
class Context:
    incoming: Incoming
    state: PersonState
    content: Content
    default_language: str = "en"
    retention_days: int = 90
    replies: list[Outgoing] = field(default_factory=list)
    feedback: list[tuple[str, str, bool]] = field(default_factory=list)
    unanswered: list[tuple[str, str, str, str | None]] = field(default_factory=list)  # (lang, text, kind, entry)
    forget: bool = False
    queue: HandoffQueue | None = None  # None: no mediator desk, "talk to a person" explains instead
    files_for_mediators: bool = False  # photos and documents reach mediators (the web console shows them)
    ticket: Ticket | None = None  # the person's latest ticket, if any
    handoff: HandoffEffects | None = None

    logged_text: str | None = None  # what to log for the incoming message, if not its text
    in_crisis: bool = False  # danger words were recognised in this message
    # What became of the message, for the city's figures (bot/figures.py): "answered:<entry>",
    # "opened:<entry>", "suggested:<nearest entry>", "unanswered:<nearest entry or nothing>",
    # "nearby:<topic>", "crisis", "smalltalk".
    outcome: str | None = None

    @property
    def now(self) -> dt.datetime:
        at = self.incoming.received_at
        return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)  # stored times are UTC

    def effects(self) -> HandoffEffects:
        """Changes to the mediator queue, written together with this turn."""
        if self.handoff is None:
            self.handoff = HandoffEffects()
        return self.handoff

    @property
    def lang(self) -> str:
        """The language to answer in: the person's choice, else the platform hint, else the default."""
        return self.state.language or self.incoming.lang_hint or self.default_language

    def t(self, key: str, **values: object) -> str:
        return self.content.locales.text(self.lang, key, **values)

    def note_outcome(self, outcome: str) -> None:
        """Record what became of the message; an emergency reply stays the outcome whatever follows."""
        if self.outcome != "crisis":
            self.outcome = outcome

    def say(self, text: str, buttons: tuple[Button, ...] | list[Button] = (), intent: str | None = None) -> None:
        self.replies.append(Outgoing(text, self.lang, tuple(buttons), intent))

    def send(self, reply: Outgoing) -> None:
        self.replies.append(reply)

    def button(self, key: str, payload: str) -> Button:
        return Button(self.t(key), payload)
