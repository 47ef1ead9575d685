"""Compose the reply to a question: an answer, a did-you-mean, or an honest "I don't know"."""

from __future__ import annotations

from bot.handlers import handoff
from bot.handlers.context import Context
from bot.kb.loader import is_home_page
from bot.kb.model import Contact, Entry, KnowledgeBase, Source
from bot.locales import Locales
from bot.messages import Button, Outgoing
from nlu.matcher import Outcome, Prediction

PAYLOAD_ENTRY = "e:"
PAYLOAD_FEEDBACK = "fb:"
PAYLOAD_HUMAN = "human"
PAYLOAD_MENU = "menu"
HUMAN_ENTRY = "general.human"


def _contact_card(contact: Contact, lang: str, locales: Locales) -> str:
    lines = [f"**{contact.display_name(lang)}**"]
    if official := contact.official_name(lang):
        lines.append(official)  # the name on the door and on the forms
    if contact.address:
        lines.append(f"{locales.text(lang, 'contact.address')}: {contact.address}")
    if contact.phones:
        lines.append(f"{locales.text(lang, 'contact.phone')}: {', '.join(contact.phones)}")
    if contact.email:
        lines.append(f"{locales.text(lang, 'contact.email')}: {contact.email}")
    if contact.website:
        lines.append(f"{locales.text(lang, 'contact.website')}: {contact.website}")
    if contact.hours:
        lines.append(f"{locales.text(lang, 'contact.hours')}: {contact.hours}")
    note = contact.note(lang)
    if note:
        lines.append(note)
    if not contact.confirmed:
        lines.append("⚠️ " + locales.text(lang, "contact.unconfirmed"))
    return "\n".join(lines)


SOURCES_SHOWN = 3  # on a phone, a long list of links buries the answer; editors list the main ones first


def shown_sources(entry: Entry) -> list[Source]:
    """The first specific pages (a home page only if there is nothing else), as the editors ordered them."""
    specific = [s for s in entry.sources if not is_home_page(s.url)]
    return (specific or list(entry.sources))[:SOURCES_SHOWN]


def compose_answer(kb: KnowledgeBase, locales: Locales, entry: Entry, lang: str) -> Outgoing:
    """The full answer in ``lang`` (or a fallback language, saying so), with contacts and sources."""
    text = entry.translation(lang)
    parts: list[str] = []
    if text.lang != lang:
        parts.append(
            locales.text(
                lang,
                "answer.fallback_language",
                language=locales.native_name(lang),
                fallback=locales.native_name(text.lang),
            )
        )
    parts.append(f"**{text.title}**")
    parts.append(text.answer.strip())
    contacts = [kb.contacts[c] for c in entry.contacts if c in kb.contacts]
    if contacts:
        parts.append(f"**{locales.text(lang, 'answer.contacts')}**")
        parts.extend(_contact_card(c, lang, locales) for c in contacts)
    sources = ", ".join(f"[{s.title}]({s.url})" for s in shown_sources(entry))
    parts.append(
        f"{locales.text(lang, 'answer.sources')}: {sources}\n"
        f"{locales.text(lang, 'answer.last_checked', date=entry.last_verified.isoformat())}"
    )
    if not text.reviewed and text.lang != entry.written_in:  # the original is no translation
        parts.append(locales.text(lang, "answer.unreviewed"))
    parts.append(locales.text(lang, "answer.helpful"))
    buttons = [
        Button(locales.text(lang, "button.helpful_yes"), f"{PAYLOAD_FEEDBACK}{entry.id}:1"),
        Button(locales.text(lang, "button.helpful_no"), f"{PAYLOAD_FEEDBACK}{entry.id}:0"),
    ]
    buttons.extend(
        Button(kb.entries[r].translation(lang).title, PAYLOAD_ENTRY + r) for r in entry.related if r in kb.entries
    )
    buttons.append(Button(locales.text(lang, "button.human"), PAYLOAD_HUMAN))
    buttons.append(Button(locales.text(lang, "button.menu"), PAYLOAD_MENU))
    return Outgoing("\n\n".join(parts), lang, tuple(buttons), entry.id)


def compose_reply(kb: KnowledgeBase, locales: Locales, prediction: Prediction, lang: str) -> Outgoing:
    """What the bot says after matching a free-text question."""
    if prediction.outcome is Outcome.ANSWER and prediction.intent in kb.entries:
        return compose_answer(kb, locales, kb.entries[prediction.intent], lang)
    if prediction.nearby and locales.has(f"nearby.{prediction.nearby}"):
        # Next to what the knowledge base covers: say so plainly rather than answer something else.
        topic = locales.text(lang, f"nearby.{prediction.nearby}")
        return Outgoing(
            locales.text(lang, "nearby.message", topic=topic),
            lang,
            (
                Button(locales.text(lang, "button.human"), PAYLOAD_HUMAN),
                Button(locales.text(lang, "button.menu"), PAYLOAD_MENU),
            ),
        )
    suggestions = [c for c in prediction.candidates if c.intent in kb.entries]
    if prediction.outcome is Outcome.SUGGEST and suggestions:
        buttons = [Button(kb.entries[c.intent].translation(lang).title, PAYLOAD_ENTRY + c.intent) for c in suggestions]
        buttons.append(Button(locales.text(lang, "button.human"), PAYLOAD_HUMAN))
        return Outgoing(locales.text(lang, "didyoumean.prompt"), lang, tuple(buttons))
    return Outgoing(
        locales.text(lang, "nomatch.message"),
        lang,
        (
            Button(locales.text(lang, "button.menu"), PAYLOAD_MENU),
            Button(locales.text(lang, "button.human"), PAYLOAD_HUMAN),
        ),
    )


async def answer_question(ctx: Context, text: str) -> None:
    """Match free text and reply; an unanswered question is recorded for the editors."""
    prediction = await ctx.content.matcher.match(text, ctx.lang)
    ctx.state.data["last_question"] = text[:300]  # shown to a mediator only if the person asks for one
    if prediction.outcome is Outcome.ANSWER and prediction.intent == HUMAN_ENTRY and ctx.queue is not None:
        handoff.offer(ctx)
        return
    reply = compose_reply(ctx.content.kb, ctx.content.locales, prediction, ctx.lang)
    ctx.send(reply)
    if prediction.outcome is Outcome.NONE:
        ctx.unanswered.append((prediction.language, text))


def show_entry(ctx: Context, entry_id: str) -> None:
    entry = ctx.content.kb.entries.get(entry_id)
    if entry is None:  # an old button after an editor removed the entry
        ctx.say(ctx.t("nomatch.message"), [ctx.button("button.menu", PAYLOAD_MENU)])
        return
    ctx.send(compose_answer(ctx.content.kb, ctx.content.locales, entry, ctx.lang))
