"""Main menu, topics, paginated entry lists, help."""

from __future__ import annotations

from bot.handlers.context import Context
from bot.kb.model import TOPICS
from bot.messages import Button

PAGE_SIZE = 6  # three rows of two short labels
PAYLOAD_TOPIC = "topic:"


def show_main(ctx: Context) -> None:
    buttons = [Button(ctx.t(f"topic.{topic}"), f"{PAYLOAD_TOPIC}{topic}:0") for topic in TOPICS]
    buttons += [
        ctx.button("button.human", "human"),
        ctx.button("button.language", "language"),
        ctx.button("button.privacy", "privacy"),
    ]
    ctx.say(ctx.t("menu.title"), buttons)


def show_topic(ctx: Context, topic: str, page: int = 0) -> None:
    entries = ctx.content.kb.entries_in_topic(topic, ctx.lang)
    if topic not in TOPICS or not entries:
        show_main(ctx)
        return
    pages = (len(entries) + PAGE_SIZE - 1) // PAGE_SIZE
    page = min(max(page, 0), pages - 1)
    shown = entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    buttons = [Button(e.translation(ctx.lang).label, f"e:{e.id}") for e in shown]
    if page > 0:
        buttons.append(ctx.button("button.previous", f"{PAYLOAD_TOPIC}{topic}:{page - 1}"))
    if page < pages - 1:
        buttons.append(ctx.button("button.next", f"{PAYLOAD_TOPIC}{topic}:{page + 1}"))
    buttons.append(ctx.button("button.back", "menu"))
    text = ctx.t("menu.topic_title", topic=ctx.t(f"topic.{topic}"))
    if pages > 1:
        text += "\n" + ctx.t("menu.page", page=page + 1, pages=pages)
    ctx.say(text, buttons)


def show_help(ctx: Context) -> None:
    ctx.say(ctx.t("help.message"), [ctx.button("button.menu", "menu"), ctx.button("button.human", "human")])
