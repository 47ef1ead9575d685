"""Privacy information and "forget": delete everything stored about the person, after confirming."""

from __future__ import annotations

from bot.handlers.answer import show_entry
from bot.handlers.context import Context

PRIVACY_ENTRY = "general.privacy"


def show_privacy(ctx: Context) -> None:
    ctx.say(ctx.t("privacy.notice", days=ctx.retention_days))
    if PRIVACY_ENTRY in ctx.content.kb.entries:
        show_entry(ctx, PRIVACY_ENTRY)


def ask_to_forget(ctx: Context) -> None:
    ctx.state.step = "confirm_forget"
    ctx.say(
        ctx.t("forget.confirm"),
        [ctx.button("button.confirm_forget", "forget:yes"), ctx.button("button.cancel", "forget:no")],
    )


def confirm_forget(ctx: Context, yes: bool) -> None:
    ctx.state.step = "idle"
    if yes:
        ctx.forget = True  # the store deletes every row about the person in the same transaction
        ctx.say(ctx.t("forget.done"))
    else:
        ctx.say(ctx.t("forget.cancelled"), [ctx.button("button.menu", "menu")])
