"""Route one incoming message to the handlers, in a fixed order of precedence.

1. buttons (payloads) and numbered choices; 2. immediate danger (emergency numbers first);
3. a pending "forget" confirmation; 4. first contact and language choice; 5. commands and
keywords in the person's language (and English); 6. small talk ("thanks", "ok"); 7. everything
else is a question.
"""

from __future__ import annotations

from bot.handlers import crisis, feedback, handoff, location, menu, privacy, smalltalk, start
from bot.handlers.answer import answer_question, compose_no_desk, entry_part, show_entry
from bot.handlers.context import Context
from bot.handlers.yes_no import chosen_by_typing
from nlu.normalize import normalize

COMMANDS = ("menu", "language", "help", "human", "privacy", "forget", "cancel")


def _command(ctx: Context, text: str) -> str | None:
    """A command typed as /word or as one of the locale's keywords."""
    stripped = text.strip()
    if stripped.startswith("/"):
        word = stripped[1:].split("@", 1)[0].split(maxsplit=1)[0].lower() if len(stripped) > 1 else ""
        return "menu" if word == "start" else word if word in COMMANDS else None
    wanted = normalize(stripped)
    if not wanted or len(wanted) > 40:
        return None
    for command in COMMANDS:
        if wanted in ctx.content.locales.normalized_keywords(ctx.lang, f"keywords.{command}"):
            return command
    return None


def _numbered_choice(ctx: Context, text: str) -> str | None:
    """'2' means the second button of the last message (channels without buttons)."""
    stripped = text.strip().strip("\u200f\u200e").rstrip(".)")
    choices = ctx.state.data.get("choices") or []
    if stripped.isdecimal() and 1 <= int(stripped) <= len(choices):
        return choices[int(stripped) - 1]
    return None


async def on_payload(ctx: Context, payload: str) -> None:
    if payload.startswith(start.PAYLOAD_LANGUAGE):
        lang = payload[len(start.PAYLOAD_LANGUAGE) :]
        if lang in ctx.content.locales.languages:
            await start.choose(ctx, lang)
            return
    if ctx.state.language is None:  # a button from before the language was chosen
        start.show_picker(ctx, ctx.incoming.lang_hint)
        return
    if (part := entry_part(payload)) is not None:
        show_entry(ctx, part[1], part[0])
    elif payload.startswith(menu.PAYLOAD_TOPIC):
        _, topic, page = ([*payload.split(":"), "0"])[:3]
        menu.show_topic(ctx, topic, int(page) if page.isdigit() else 0)
    elif payload.startswith("fb:"):
        feedback.record(ctx, payload)
    elif payload == "forget:yes" or payload == "forget:no":
        privacy.confirm_forget(ctx, payload == "forget:yes")
    elif payload in (handoff.PAYLOAD_YES, handoff.PAYLOAD_NO):
        if ctx.state.step == handoff.STEP_CONFIRM and ctx.queue is not None:
            await handoff.answer_consent(ctx, payload == handoff.PAYLOAD_YES)
        elif payload == handoff.PAYLOAD_YES:
            await on_command(ctx, "human")  # an old consent button: ask again
        else:
            menu.show_main(ctx)
    elif payload == handoff.PAYLOAD_URGENT:
        talk_to_person(ctx, urgent=True)
    else:
        await on_command(ctx, payload)


async def on_command(ctx: Context, command: str) -> None:
    if command == "language":
        start.show_picker(ctx, ctx.state.language)
    elif command == "help":
        menu.show_help(ctx)
    elif command == "human":
        talk_to_person(ctx)
    elif command == "privacy":
        privacy.show_privacy(ctx)
    elif command == "forget":
        privacy.ask_to_forget(ctx)
    else:
        menu.show_main(ctx)


def talk_to_person(ctx: Context, *, urgent: bool = False) -> None:
    if ctx.queue is None:  # no mediator desk here: say so, and who helps people in person
        ctx.send(compose_no_desk(ctx.content.kb, ctx.content.locales, ctx.lang))
    else:
        handoff.offer(ctx, urgent=urgent)


# The yes/no questions and the payloads of their Yes and No buttons, by the step that asks them.
YES_NO_QUESTIONS = {
    "confirm_forget": ("forget:yes", "forget:no"),
    handoff.STEP_CONFIRM: (handoff.PAYLOAD_YES, handoff.PAYLOAD_NO),
    handoff.STEP_CONFIRM_END: (handoff.PAYLOAD_END, handoff.PAYLOAD_STAY),
}


def _typed_choice(ctx: Context, text: str) -> str | None:
    """The button a typed message stands for: "2" for the second, or "yes" / "no" to the open question."""
    return _numbered_choice(ctx, text) or chosen_by_typing(ctx, text, YES_NO_QUESTIONS)


async def route(ctx: Context) -> None:
    await _route(ctx)
    if ctx.in_crisis and (ctx.ticket is None or not ctx.ticket.is_open):
        crisis.person_first(ctx)


async def _route(ctx: Context) -> None:
    incoming = ctx.incoming
    payload = incoming.payload
    text = incoming.text or ""
    choice = _typed_choice(ctx, text) if text and payload is None else None
    if handoff.concerns(ctx) and await handoff.gate(ctx, _command(ctx, text) if text else None, choice):
        return
    if payload is None:
        payload = choice
    if ctx.state.step == handoff.STEP_CONFIRM and payload not in (handoff.PAYLOAD_YES, handoff.PAYLOAD_NO):
        ctx.state.step = "idle"  # they did something else instead of answering
        ctx.state.data.pop("handoff_urgent", None)
    if payload is not None:
        if ctx.state.step == "confirm_forget" and payload not in ("forget:yes", "forget:no"):
            ctx.state.step = "idle"
        await on_payload(ctx, payload)
        return
    if incoming.location is not None:
        location.nearest(ctx, incoming.location)
        return
    if not text.strip():
        ctx.say(ctx.t("media.unsupported"))
        return
    in_crisis = crisis.check(ctx, text)
    start_payload = text.strip().split(maxsplit=1)
    if not in_crisis and len(start_payload) == 2 and start_payload[0].lower() in ("/start", "start"):
        await start.deep_link(ctx, start_payload[1])
        return
    step = ctx.state.step
    if step == "confirm_forget":
        command = _command(ctx, text)
        privacy.confirm_forget(ctx, yes=False)
        if command is None or command == "cancel":
            return
    if ctx.state.language is None:
        named = start.language_named(ctx, text)
        if named:
            await start.choose(ctx, named)
        elif in_crisis:
            # The emergency numbers went out in the language they wrote in: keep to it, and answer.
            start.keep_pending(ctx, text)
            await start.choose(ctx, ctx.content.languages.detect(text, incoming.lang_hint))
        elif step == "choose_language":
            await start.wrote_instead_of_choosing(ctx, text)
        else:
            await start.first_contact(ctx, None if _command(ctx, text) else text)
        return
    command = _command(ctx, text)
    if command is not None:
        await on_command(ctx, command)
        return
    if step == "choose_language":
        named = start.language_named(ctx, text)
        if named:
            await start.choose(ctx, named)
            return
        ctx.state.step = "idle"
    if not in_crisis and smalltalk.reply(ctx, text):
        return
    await answer_question(ctx, text)
