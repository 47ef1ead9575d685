"""Small talk gets a word back in the person's language, never an entry or "I don't know"."""

from __future__ import annotations

from bot.handlers.context import Context


def reply(ctx: Context, text: str) -> bool:
    """Answer ``text`` if it is only small talk ("hi", "thanks 🙏", "are you a bot?"); True if so."""
    kind = ctx.content.smalltalk.kind(text)
    if kind is None:
        return False
    ctx.note_outcome("smalltalk")
    buttons = [ctx.button("button.menu", "menu")]
    if kind == "bot":  # asking whether a person is there: offer one
        buttons.insert(0, ctx.button("button.human", "human"))
    ctx.say(ctx.t(f"smalltalk.{kind}"), buttons)
    return True
