"""Compose the reply to a question: an answer, a did-you-mean, or an honest "I don't know"."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace

from bot.handlers import handoff
from bot.handlers.context import Context
from bot.kb.loader import is_home_page
from bot.kb.model import Contact, Entry, KnowledgeBase, Source
from bot.locales import Locales
from bot.messages import Button, Outgoing
from bot.metrics import METRICS
from bot.offices import OfficeFinder
from nlu.matcher import Outcome, Prediction

PAYLOAD_ENTRY = "e:"
PAYLOAD_FEEDBACK = "fb:"
PAYLOAD_HUMAN = "human"
PAYLOAD_MENU = "menu"
HUMAN_ENTRY = "general.human"

log = logging.getLogger(__name__)


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
# Characters of answer text in the first message: with the title and the notes it stays under
# about 900 characters, one screen on a phone and one WhatsApp message. The rest comes on demand.
FIRST_PART_CHARS = 600
SMALL_REST_CHARS = 160  # a rest this short is shown at once rather than behind a button
PAYLOAD_MORE = "more:"
PAYLOAD_CONTACTS = "who:"
PAYLOAD_SOURCES = "src:"
OFFICE_ENTRIES_SHOWN = 2  # below an office's card: what people most go there for
RELATED_SHOWN = 2


def shown_sources(entry: Entry) -> list[Source]:
    """The first specific pages (a home page only if there is nothing else), as the editors ordered them."""
    specific = [s for s in entry.sources if not is_home_page(s.url)]
    return (specific or list(entry.sources))[:SOURCES_SHOWN]


def split_answer(answer: str, budget: int = FIRST_PART_CHARS) -> tuple[str, str]:
    """The answer's first paragraphs within ``budget`` (at least one), and the rest.

    Paragraphs are never cut, so a list stays with the sentence that introduces it. Editors put
    what matters most first; the rest is one press away.
    """
    paragraphs = [p.strip() for p in answer.strip().split("\n\n") if p.strip()]
    used = len(paragraphs[0]) if paragraphs else 0
    cut = 1
    while cut < len(paragraphs) and used + 2 + len(paragraphs[cut]) <= budget:
        used += 2 + len(paragraphs[cut])
        cut += 1
    rest = "\n\n".join(paragraphs[cut:])
    if rest and len(rest) <= SMALL_REST_CHARS:
        cut = len(paragraphs)
        rest = ""
    return "\n\n".join(paragraphs[:cut]), rest


INLINE_KINDS = ("emergency", "helpline")  # numbers a person in danger needs without pressing anything


def _contacts(kb: KnowledgeBase, entry: Entry) -> list[Contact]:
    return [kb.contacts[c] for c in entry.contacts if c in kb.contacts]


def _inline_contacts(kb: KnowledgeBase, entry: Entry) -> list[Contact]:
    """The emergency numbers and helplines of an urgent entry, shown with the answer itself."""
    return [c for c in _contacts(kb, entry) if c.kind in INLINE_KINDS] if entry.urgent else []


def _sources_block(locales: Locales, entry: Entry, lang: str) -> str:
    lines = [f"**{locales.text(lang, 'answer.sources')}**"]
    lines.extend(f"- [{s.title}]({s.url})" for s in shown_sources(entry))
    return "\n".join(lines) + "\n\n" + locales.text(lang, "answer.last_checked", date=entry.last_verified.isoformat())


def _notes(locales: Locales, entry: Entry, lang: str) -> list[str]:
    """Notes in italics where the text is a translation: made by machine and not yet checked, or
    made from an older version of the original (people keep the last approved text, told so)."""
    text = entry.translation(lang)
    if text.lang == entry.written_in:  # the original is no translation
        return []
    notes = []
    if not text.reviewed:
        notes.append(f"_{locales.text(lang, 'answer.unreviewed')}_")
    if text.outdated:
        notes.append(f"_{locales.text(lang, 'answer.outdated')}_")
    return notes


def _helper_button(kb: KnowledgeBase, locales: Locales, entry: Entry, lang: str) -> Button:
    """ "Who can help" where the entry names contacts not shown yet, else "Talk to a person"."""
    if len(_contacts(kb, entry)) > len(_inline_contacts(kb, entry)):
        return Button(locales.text(lang, "button.who_can_help"), PAYLOAD_CONTACTS + entry.id)
    return Button(locales.text(lang, "button.human"), PAYLOAD_HUMAN)


def _more_or_sources_button(locales: Locales, entry: Entry, lang: str) -> Button:
    """ "More details" where the first message held back part of the text, else "Sources"."""
    has_rest = not entry.urgent and bool(split_answer(entry.translation(lang).answer)[1])
    if has_rest:
        return Button(locales.text(lang, "button.more"), PAYLOAD_MORE + entry.id)
    return Button(locales.text(lang, "button.sources"), PAYLOAD_SOURCES + entry.id)


def _follow_up_buttons(kb: KnowledgeBase, locales: Locales, entry: Entry, lang: str) -> tuple[Button, ...]:
    """Under the rest of an answer or its sources: who can help, two related entries, the menu."""
    menu = Button(locales.text(lang, "button.menu"), PAYLOAD_MENU)
    return (_helper_button(kb, locales, entry, lang), *related_buttons(kb, entry, lang), menu)


def related_buttons(kb: KnowledgeBase, entry: Entry, lang: str) -> list[Button]:
    return [Button(kb.entries[r].translation(lang).label, PAYLOAD_ENTRY + r) for r in entry.related if r in kb.entries][
        :RELATED_SHOWN
    ]


def compose_answer(kb: KnowledgeBase, locales: Locales, entry: Entry, lang: str) -> Outgoing:
    """The answer first: title and text (its first paragraphs), short enough for a phone's screen.

    The rest of the text, the sources and the contacts come on demand. An urgent entry (someone in
    danger) is shown whole, with its emergency numbers and helplines, since nobody in danger
    should have to press on to find a number.
    """
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
    first, _ = (text.answer.strip(), "") if entry.urgent else split_answer(text.answer)
    parts.append(first)
    if inline := _inline_contacts(kb, entry):
        parts.append(f"**{locales.text(lang, 'answer.contacts')}**")
        parts.extend(_contact_card(c, lang, locales) for c in inline)
    parts.extend(_notes(locales, entry, lang))
    parts.append(locales.text(lang, "answer.helpful"))
    buttons = [
        _more_or_sources_button(locales, entry, lang),
        _helper_button(kb, locales, entry, lang),
        Button(locales.text(lang, "button.helpful_yes"), f"{PAYLOAD_FEEDBACK}{entry.id}:1"),
        Button(locales.text(lang, "button.helpful_no"), f"{PAYLOAD_FEEDBACK}{entry.id}:0"),
        Button(locales.text(lang, "button.menu"), PAYLOAD_MENU),
    ]
    return Outgoing("\n\n".join(parts), lang, tuple(buttons), entry.id)


def compose_more(kb: KnowledgeBase, locales: Locales, entry: Entry, lang: str) -> Outgoing:
    """The rest of the answer, then its sources and the day the facts were checked."""
    text = entry.translation(lang)
    _, rest = split_answer(text.answer)
    parts = [f"**{locales.text(lang, 'answer.continued', title=text.title)}**"]
    if rest:
        parts.append(rest)
    parts.append(_sources_block(locales, entry, lang))
    return Outgoing("\n\n".join(parts), lang, _follow_up_buttons(kb, locales, entry, lang), entry.id)


def compose_sources(kb: KnowledgeBase, locales: Locales, entry: Entry, lang: str) -> Outgoing:
    """Where the answer's facts come from, and when they were last checked."""
    text = entry.translation(lang)
    parts = [f"**{text.title}**", _sources_block(locales, entry, lang)]
    return Outgoing("\n\n".join(parts), lang, _follow_up_buttons(kb, locales, entry, lang), entry.id)


def compose_contacts(kb: KnowledgeBase, locales: Locales, entry: Entry, lang: str) -> Outgoing:
    """The offices and organisations that help with this answer, and a way to a person."""
    text = entry.translation(lang)
    parts = [f"**{locales.text(lang, 'answer.who_can_help', title=text.title)}**"]
    parts.extend(_contact_card(c, lang, locales) for c in _contacts(kb, entry))
    buttons = [
        Button(locales.text(lang, "button.human"), PAYLOAD_HUMAN),
        _more_or_sources_button(locales, entry, lang),
        Button(locales.text(lang, "button.menu"), PAYLOAD_MENU),
    ]
    return Outgoing("\n\n".join(parts), lang, tuple(buttons), entry.id)


def compose_offices(kb: KnowledgeBase, locales: Locales, offices: Sequence[Contact], lang: str) -> Outgoing:
    """The contact cards of offices asked for by name ("unde e biroul IGI"), with the entries that
    name them (what people go there for) and a way to a person."""
    cards = "\n\n".join(_contact_card(c, lang, locales) for c in offices)

    def rank(entry: Entry) -> tuple[int, int]:
        """Entries that list the office first are what it is for; then the most asked (topics.yaml)."""
        order = kb.topic_order.get(entry.topic, ())
        asked = order.index(entry.id) if entry.id in order else len(order)
        return min(entry.contacts.index(c.id) for c in offices if c.id in entry.contacts), asked

    ids = {c.id for c in offices}
    naming = sorted((e for e in kb.entries.values() if ids & set(e.contacts) and e.id != HUMAN_ENTRY), key=rank)
    buttons = [Button(e.translation(lang).label, PAYLOAD_ENTRY + e.id) for e in naming[:OFFICE_ENTRIES_SHOWN]]
    buttons.append(Button(locales.text(lang, "button.human"), PAYLOAD_HUMAN))
    return Outgoing(cards, lang, tuple(buttons))


def compose_no_desk(kb: KnowledgeBase, locales: Locales, lang: str) -> Outgoing:
    """Without a mediator desk: an honest word, and the organisations that help people in person."""
    entry = kb.entries.get(HUMAN_ENTRY)
    parts = [locales.text(lang, "answer.no_desk")]
    if entry is not None:
        parts.extend(_contact_card(c, lang, locales) for c in _contacts(kb, entry))
    menu = Button(locales.text(lang, "button.menu"), PAYLOAD_MENU)
    return Outgoing("\n\n".join(parts), lang, (menu,), HUMAN_ENTRY)


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
        buttons = [Button(kb.entries[c.intent].translation(lang).label, PAYLOAD_ENTRY + c.intent) for c in suggestions]
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
    """Match free text and reply; a question without a clear answer is kept for the editors."""
    started = time.perf_counter()
    prediction = await ctx.content.matcher.match(text, ctx.lang)
    METRICS.observe_match(time.perf_counter() - started)
    ctx.state.data["last_question"] = text[:300]  # shown to a mediator only if the person asks for one
    if prediction.outcome is Outcome.ANSWER and prediction.intent == HUMAN_ENTRY:
        ctx.note_outcome(f"answered:{HUMAN_ENTRY}")
        if ctx.queue is not None:
            handoff.offer(ctx)
        else:  # no desk here: who helps in person, rather than an entry about pressing a button
            ctx.send(compose_no_desk(ctx.content.kb, ctx.content.locales, ctx.lang))
        return
    offices = offices_to_show(ctx.content.kb, ctx.content.offices, text, prediction)
    if offices:
        # "unde e biroul IGI": the office's card, not whichever entry the office's name is in most.
        ctx.send(compose_offices(ctx.content.kb, ctx.content.locales, offices, ctx.lang))
        ctx.note_outcome("office:" + ",".join(c.id for c in offices))
        return
    reply = compose_reply(ctx.content.kb, ctx.content.locales, prediction, ctx.lang)
    if reply.intent is None and not ctx.in_crisis and ctx.content.crisis.may_be_danger(text):
        # No answer, to a message that reads a little like danger: it may be an emergency told in
        # words the recognisers do not know. The number comes first, in one line, not as an alarm.
        log.info("no answer to a message that may be about danger: 112 named")  # never the text
        reply = replace(reply, text=f"{ctx.t('crisis.caution')}\n\n{reply.text}")
    ctx.send(reply)
    if reply.intent is not None:
        ctx.note_outcome(f"answered:{reply.intent}")
    elif prediction.nearby and locales_has_nearby(ctx, prediction.nearby):
        ctx.note_outcome(f"nearby:{prediction.nearby}")
    else:  # with the nearest entry, for the figures of what people ask that the bot cannot answer
        nearest = next((c.intent for c in prediction.candidates if c.intent in ctx.content.kb.entries), "")
        ctx.note_outcome(f"{'suggested' if prediction.outcome is Outcome.SUGGEST else 'unanswered'}:{nearest}")
    if prediction.outcome is Outcome.NONE:
        ctx.unanswered.append((prediction.language, text, "none", None))
    elif reply.intent is None and prediction.outcome is Outcome.SUGGEST:  # a did-you-mean, not an answer
        ctx.unanswered.append((prediction.language, text, "suggest", None))


def offices_to_show(kb: KnowledgeBase, finder: OfficeFinder, text: str, prediction: Prediction) -> tuple[Contact, ...]:
    """The offices whose cards answer ``text``, if any: those it asks for by name, unless the
    matcher answers with an entry that names one of them ("where is AJOFM" is answered by the entry
    on finding a job, which names it): that answer, and its contacts, win."""
    offices = finder.asked_for(text)
    entry = kb.entries.get(prediction.intent or "")
    if entry is not None and any(c.id in entry.contacts for c in offices):
        return ()
    return offices


_COMPOSERS = {
    PAYLOAD_ENTRY: compose_answer,
    PAYLOAD_MORE: compose_more,
    PAYLOAD_SOURCES: compose_sources,
    PAYLOAD_CONTACTS: compose_contacts,
}


def show_entry(ctx: Context, entry_id: str, part: str = PAYLOAD_ENTRY) -> None:
    """An entry's answer, or (``part``) the rest of it, its sources or who can help."""
    entry = ctx.content.kb.entries.get(entry_id)
    if entry is None:  # an old button after an editor removed the entry
        ctx.say(ctx.t("nomatch.message"), [ctx.button("button.menu", PAYLOAD_MENU)])
        return
    ctx.send(_COMPOSERS[part](ctx.content.kb, ctx.content.locales, entry, ctx.lang))
    if part == PAYLOAD_ENTRY:
        ctx.note_outcome(f"opened:{entry_id}")


def locales_has_nearby(ctx: Context, topic: str) -> bool:
    """Whether the reply was the honest "not something I have information on yet" for ``topic``."""
    return ctx.content.locales.has(f"nearby.{topic}")


def entry_part(payload: str) -> tuple[str, str] | None:
    """(part, entry id) for the payload of an entry's button, else None."""
    for prefix in _COMPOSERS:
        if payload.startswith(prefix):
            return prefix, payload[len(prefix) :]
    return None
