"""Immediate danger first: emergency numbers before anything else."""

from __future__ import annotations

import logging

from bot.handlers.context import Context
from bot.messages import Button, Outgoing

log = logging.getLogger(__name__)


def check(ctx: Context, text: str) -> bool:
    """Reply with emergency numbers if the message is about immediate danger; True if it was."""
    found = ctx.content.crisis.detect(text)
    if found is None:
        return False
    log.info("crisis message recognised (category %s)", found.category)  # never the text itself
    # Someone who has not chosen a language yet gets the numbers in the language they wrote in.
    lang = ctx.state.language or ctx.content.languages.detect(text, ctx.incoming.lang_hint)
    locales = ctx.content.locales
    talk = Button(locales.text(lang, "button.human"), "human:urgent")  # an urgent ticket, if they ask
    ctx.send(Outgoing(locales.text(lang, "crisis.message"), lang, (talk,)))
    return True
