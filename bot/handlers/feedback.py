"""'Was this helpful?' answers, stored for the editors."""

from __future__ import annotations

from bot.handlers.answer import related_buttons
from bot.handlers.context import Context


def record(ctx: Context, payload: str) -> None:
    """``fb:<entry id>:1`` or ``fb:<entry id>:0``."""
    _, entry_id, verdict = ([*payload.split(":"), "", ""])[:3]
    if entry_id not in ctx.content.kb.entries or verdict not in ("0", "1"):
        return
    helpful = verdict == "1"
    ctx.feedback.append((entry_id, ctx.lang, helpful))
    if helpful:  # and where people who read this often go next
        entry = ctx.content.kb.entries[entry_id]
        ctx.say(
            ctx.t("feedback.thanks"),
            [*related_buttons(ctx.content.kb, entry, ctx.lang), ctx.button("button.menu", "menu")],
        )
    else:
        question = ctx.state.data.get("last_question")
        if question:  # what they asked, for the editors' inbox (kept as long as unanswered questions)
            ctx.unanswered.append((ctx.lang, question, "unhelpful", entry_id))
        ctx.say(ctx.t("feedback.sorry"), [ctx.button("button.human", "human"), ctx.button("button.menu", "menu")])
