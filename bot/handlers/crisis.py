"""Immediate danger first: emergency numbers before anything else."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace

from bot.handlers.context import Context
from bot.messages import Button, Outgoing

log = logging.getLogger(__name__)
URGENT = "human:urgent"  # ask for a mediator, ahead of the queue
# With a mediator in the conversation, the classifiers' reading alone (no danger phrase) names 112 in
# one line at most this often: they read one chatty message in six as danger ("saturday ko flat
# shift kar raha hun"; tests/nlu/realistic/chat_dev2), and the person has a human right there.
CAUTION_EVERY = dt.timedelta(minutes=30)


def check(ctx: Context, text: str, *, with_mediator: bool = False) -> bool:
    """Reply with emergency numbers if the message is about immediate danger; True if it was.
    ``with_mediator``: a mediator is talking with the person (see ``CAUTION_EVERY``)."""
    found = ctx.content.crisis.detect(text)
    if found is None:
        return False
    log.info("crisis message recognised (category %s)", found.category)  # never the text itself
    ctx.in_crisis = True
    ctx.outcome = "crisis"
    ctx.state.data["handoff_urgent"] = True  # if they ask for a person now, they go first
    # Someone who has not chosen a language yet gets the numbers in the language they wrote in.
    lang = ctx.state.language or ctx.content.languages.detect(text, ctx.incoming.lang_hint)
    locales = ctx.content.locales
    if with_mediator and not found.phrase:
        last = ctx.state.data.get("caution_at")
        if last is None or ctx.now - dt.datetime.fromisoformat(last) >= CAUTION_EVERY:
            ctx.state.data["caution_at"] = ctx.now.isoformat()
            ctx.send(Outgoing(locales.text(lang, "crisis.caution"), lang))
        return True
    talk = Button(locales.text(lang, "button.human"), URGENT)  # an urgent ticket, if they ask
    ctx.send(Outgoing(locales.text(lang, "crisis.message"), lang, (talk,)))
    return True


def person_first(ctx: Context) -> None:
    """After the emergency numbers the bot may also answer the question; the last buttons (the
    ones a typed "1" picks on WhatsApp) then start with "talk to a person", urgently."""
    last = next((i for i in range(len(ctx.replies) - 1, -1, -1) if ctx.replies[i].buttons), None)
    if last is None:
        return
    reply = ctx.replies[last]
    talk = Button(ctx.t("button.human"), URGENT)
    others = tuple(b for b in reply.buttons if b.payload not in ("human", URGENT))
    ctx.replies[last] = replace(reply, buttons=(talk, *others))
