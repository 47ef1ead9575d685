"""First contact and language choice: picker with native names, privacy notice, then the menu."""

from __future__ import annotations

import re

from bot.handlers import menu
from bot.handlers.answer import answer_question
from bot.handlers.context import Context
from bot.kb.model import TOPICS
from bot.messages import Button, Outgoing
from nlu.languages import ENGLISH_NAMES, LANGUAGES, base_code
from nlu.normalize import normalize

PAYLOAD_LANGUAGE = "lang:"


def show_picker(ctx: Context, preselected: str | None = None) -> None:
    """Languages by their own names; the likely one first and ticked."""
    preselected = preselected if preselected in LANGUAGES else None
    order = [preselected, *[lang for lang in LANGUAGES if lang != preselected]] if preselected else list(LANGUAGES)
    locales = ctx.content.locales
    buttons = tuple(
        Button(("✓ " if lang == preselected else "") + locales.native_name(lang), PAYLOAD_LANGUAGE + lang)
        for lang in order
    )
    prompt_lang = preselected or ctx.lang
    prompt = locales.text(prompt_lang, "language.choose")
    if prompt_lang != "en":
        prompt += "\n" + locales.text("en", "language.choose")
    ctx.send(Outgoing(prompt, prompt_lang, buttons))
    ctx.state.step = "choose_language"


def language_named(ctx: Context, text: str) -> str | None:
    """A language the person typed by name or code ("українська", "nepali", "ne")."""
    wanted = normalize(text)
    if not wanted or len(wanted) > 30:
        return None
    for lang in LANGUAGES:
        names = {lang, ENGLISH_NAMES[lang], ctx.content.locales.native_name(lang)}
        if wanted in {normalize(n) for n in names}:
            return lang
    return base_code(wanted) if len(wanted) <= 3 else None


MAX_PENDING = 3  # questions kept while the language is being chosen


def _pending(ctx: Context) -> list[str]:
    pending = ctx.state.data.get("pending") or []
    return [pending] if isinstance(pending, str) else pending  # an older version kept one question


def keep_pending(ctx: Context, text: str) -> None:
    """Keep a question asked before the language is chosen, to answer it right after."""
    pending = _pending(ctx)
    if text not in pending:
        pending.append(text)
    ctx.state.data["pending"] = pending[-MAX_PENDING:]


async def choose(ctx: Context, lang: str) -> None:
    """Set the language. The first time, also the welcome and privacy notice, then the questions
    the person asked before choosing (nothing they wrote is dropped), else the main menu."""
    first_time = ctx.state.language is None
    ctx.state.language = lang
    ctx.state.step = "idle"
    ctx.say(ctx.t("language.changed", language=ctx.content.locales.native_name(lang)))
    if first_time:
        ctx.say(ctx.t("welcome") + "\n\n" + ctx.t("privacy.notice", days=ctx.retention_days))
    pending = _pending(ctx)
    ctx.state.data.pop("pending", None)
    if pending:
        for question in pending:
            await answer_question(ctx, question)
    else:
        menu.show_main(ctx)


def guess_language(ctx: Context, text: str | None, *, small: bool = False) -> str | None:
    """The language to preselect: from the text only on real evidence, else the platform's hint.
    ``small``: the text is small talk, which says as little as one or two words."""
    hint = ctx.incoming.lang_hint
    if not text or text.startswith("/"):
        return hint
    return ctx.content.languages.guess(text, hint, short=small)


async def first_contact(ctx: Context, text: str | None) -> None:
    """A new person: keep their question, offer the language picker preselected from what we know."""
    small = bool(text) and ctx.content.smalltalk.kind(text) is not None
    if text and not text.startswith("/") and not small:
        keep_pending(ctx, text)  # answered right after the choice; "hi" or "salam" is not a question
    show_picker(ctx, guess_language(ctx, text, small=small))


async def wrote_instead_of_choosing(ctx: Context, text: str) -> None:
    """At the language picker the person wrote again. A question in a language we can tell is
    answered in it (with anything asked before); otherwise it is kept and the picker shown again."""
    if ctx.content.smalltalk.kind(text) is not None:
        show_picker(ctx, guess_language(ctx, text, small=True))
        return
    keep_pending(ctx, text)
    guess = guess_language(ctx, text)
    if guess is None:
        show_picker(ctx, None)
    else:
        await choose(ctx, guess)


DEEP_LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def parse_deep_link(payload: str) -> tuple[str | None, str | None]:
    """``ne`` → Nepali; ``ne_health`` → Nepali, health topic; ``uk_education-audient`` → an entry.

    Payloads fit Telegram's limits (at most 64 characters of A-Z a-z 0-9 _ -), so an entry id's
    dot is written as a hyphen. Anything else is ignored.
    """
    if not DEEP_LINK.match(payload):
        return None, None
    lang, _, target = payload.partition("_")
    lang = lang.lower() if lang.lower() in LANGUAGES else None
    if not target:
        return lang, None
    return lang, target.replace("-", ".", 1) if "-" in target else target


async def deep_link(ctx: Context, payload: str) -> None:
    """Open the bot from a poster's QR code: language, then the topic or entry it points to."""
    lang, target = parse_deep_link(payload)
    if lang is None:
        lang = ctx.state.language or ctx.incoming.lang_hint
    if lang not in LANGUAGES:
        show_picker(ctx, ctx.incoming.lang_hint)
        return
    first_time = ctx.state.language is None
    ctx.state.language = lang
    ctx.state.step = "idle"
    if first_time:
        ctx.say(ctx.t("welcome") + "\n\n" + ctx.t("privacy.notice", days=ctx.retention_days))
    from bot.handlers.answer import show_entry

    if target and target in ctx.content.kb.entries:
        show_entry(ctx, target)
    elif target in TOPICS:
        menu.show_topic(ctx, target)
    else:
        menu.show_main(ctx)
