"""Talking to a person: consent, the queue, and relaying while a mediator helps.

Mode follows the person's ticket (the queue is the single truth, changed by mediators elsewhere):
no open ticket → the bot answers; waiting or claimed → the person's messages are kept for or
relayed to the mediator, and the bot only steps in for "cancel", "forget" and emergencies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from bot.handlers import crisis
from bot.handlers.context import Context
from bot.handlers.yes_no import typed_yes_no
from bot.handoff.desk import PAYLOAD_RATE, rating_buttons
from bot.handoff.schedule import DAYS, Schedule

PAYLOAD_ASK = "human"
PAYLOAD_URGENT = "human:urgent"
PAYLOAD_YES = "handoff:yes"
PAYLOAD_NO = "handoff:no"
PAYLOAD_END = "handoff:end"
PAYLOAD_STAY = "handoff:stay"
PAYLOAD_REFERRAL = "ref:"  # ref:<referral id>:yes|no, the person's consent to a referral
STEP_CONFIRM = "confirm_handoff"
STEP_CONFIRM_END = "confirm_end"
NOTE_EVERY = dt.timedelta(minutes=3)  # "saved for the mediator" at most this often while waiting
SUMMARY_CHARS = 300
HAS_TICKETS = "tickets"  # in the person's state once they have asked for a mediator


def hours_text(ctx: Context, schedule: Schedule) -> str:
    """ "Monday–Friday 09:00–17:00" in the person's language."""
    parts = []
    for days, (start, end) in schedule.weekly_spans():
        names = [ctx.t(f"day.{DAYS[d]}") for d in days]
        label = names[0] if len(names) == 1 else f"{names[0]}–{names[-1]}"
        until = "24:00" if end == dt.time.max else end.strftime("%H:%M")
        parts.append(f"{label} {start.strftime('%H:%M')}–{until}")
    return "; ".join(parts)


def out_of_hours_note(ctx: Context) -> str | None:
    """None while mediators are at work; otherwise when they are back."""
    schedule = ctx.content.schedule
    if schedule.is_open(ctx.now):
        return None
    back = schedule.next_opening(ctx.now)
    when = f"{ctx.t(f'day.{DAYS[back.weekday()]}')} {back:%d.%m} {back:%H:%M}" if back else "?"
    return ctx.t("handoff.out_of_hours", hours=hours_text(ctx, schedule), when=when)


def offer(ctx: Context, *, urgent: bool = False) -> None:
    """Say who will see the conversation and ask for consent."""
    ticket = ctx.ticket
    if ticket is not None and ticket.is_open:
        ctx.say(ctx.t("handoff.already_waiting"))
        return
    ctx.state.step = STEP_CONFIRM
    ctx.state.data["handoff_urgent"] = urgent or bool(ctx.state.data.get("handoff_urgent"))
    text = ctx.t("handoff.consent")
    note = out_of_hours_note(ctx)
    if note:
        text += "\n\n" + note
    ctx.say(text, [ctx.button("button.connect", PAYLOAD_YES), ctx.button("button.not_now", PAYLOAD_NO)])


async def answer_consent(ctx: Context, yes: bool) -> None:
    urgent = bool(ctx.state.data.pop("handoff_urgent", False))
    ctx.state.step = "idle"
    if not yes:
        ctx.say(ctx.t("handoff.declined"))
        return
    if ctx.ticket is not None and ctx.ticket.is_open:
        ctx.say(ctx.t("handoff.already_waiting"))
        return
    assert ctx.queue is not None
    ahead = await ctx.queue.ahead_of_new(urgent)
    summary = ctx.state.data.get("last_question")
    ctx.effects().open_ticket = {
        "channel": ctx.incoming.key.channel,
        "language": ctx.lang,
        "topics": list(ctx.state.data.get("recent") or []),
        "urgent": urgent,
        "summary": summary[:SUMMARY_CHARS] if summary else None,
    }
    parts = [ctx.t("handoff.queued"), ctx.t("queue.position", count=ahead + 1)]
    note = out_of_hours_note(ctx)
    if note:
        parts.append(note)
    parts.append(ctx.t("crisis.message"))  # always: a queue is no place to wait in danger
    parts.append(ctx.t("handoff.waiting_note"))
    ctx.say("\n\n".join(parts))
    ctx.state.data[HAS_TICKETS] = True
    ctx.state.data["choices"] = []  # numbers typed from now on are for the mediator
    ctx.state.data["noted_at"] = ctx.now.isoformat()


def rate(ctx: Context, ticket_id: int, rating: int) -> None:
    ctx.effects().rating = (ticket_id, rating)  # only the person's own, only once
    ctx.state.data["rated"] = ticket_id
    ctx.say(ctx.t("handoff.rated"), [ctx.button("button.menu", "menu")])


def _digit(text: str) -> int | None:
    stripped = text.strip().strip("\u200f\u200e").rstrip(".)")
    return int(stripped) if stripped.isdecimal() and 1 <= int(stripped) <= 5 else None


def concerns(ctx: Context) -> bool:
    """Whether the gate has anything to do (most people never had a ticket: skip the work)."""
    payload = ctx.incoming.payload
    return ctx.state.language is not None and (
        ctx.ticket is not None or (payload is not None and payload.startswith(PAYLOAD_RATE))
    )


async def gate(ctx: Context, command: str | None, choice: str | None = None) -> bool:
    """Handle the message here if the person is in the queue or with a mediator (or is rating one);
    False lets the bot answer as usual. ``choice`` is the button a typed number stands for."""
    incoming = ctx.incoming
    payload = incoming.payload
    text = incoming.text or ""
    ticket = ctx.ticket
    if payload and payload.startswith(PAYLOAD_RATE):
        _, ticket_id, value = [*payload.split(":"), "", ""][:3]
        own = ticket is not None and ticket_id == str(ticket.id)  # an older ticket's button does nothing
        if own and value.isdecimal() and 1 <= int(value) <= 5:
            if ticket.status == "closed" and ticket.rating is None:
                rate(ctx, ticket.id, int(value))
            else:  # rated already: thank again, change nothing
                ctx.say(ctx.t("handoff.rated"), [ctx.button("button.menu", "menu")])
        else:
            ctx.say(ctx.t("menu.title"), [ctx.button("button.menu", "menu")])
        return True
    if ticket is None or ctx.queue is None:
        return False
    if not ticket.is_open:
        # The first message after a mediator closed the conversation may be the 1–5 rating.
        if ticket.status == "closed" and ticket.rating is None and ctx.state.data.get("rated") != ticket.id:
            ctx.state.data["rated"] = ticket.id  # offered once: later numbers are ordinary choices
            rating = _digit(text) if payload is None else None
            if rating is not None:
                rate(ctx, ticket.id, rating)
                return True
        return False
    if ctx.state.step == "confirm_forget":
        if choice in ("forget:yes", "forget:no") or command in ("cancel", "forget"):  # "1"/"2", "Cancel"
            return False  # the privacy flow answers: "cancel" here means "do not delete"
        ctx.state.step = "idle"
    if ctx.state.step == STEP_CONFIRM_END:
        ctx.state.step = "idle"
        answer = payload or choice
        if answer == PAYLOAD_END:
            cancel(ctx)
            return True
        if answer == PAYLOAD_STAY:
            return True  # nothing to say: the conversation goes on
    if payload == "cancel" or command == "cancel":
        if ticket.status == "claimed":  # a word like "stop" may be meant for the mediator: ask first
            ctx.state.step = STEP_CONFIRM_END
            buttons = [ctx.button("button.yes", PAYLOAD_END), ctx.button("button.no", PAYLOAD_STAY)]
            ctx.say(ctx.t("handoff.confirm_end"), buttons)
        else:
            cancel(ctx)
        return True
    if payload == PAYLOAD_END:  # the confirmation button, pressed late
        cancel(ctx)
        return True
    if command in ("forget", "privacy") or payload in ("forget", "privacy", "forget:yes", "forget:no"):
        return False  # privacy always works; "forget" also ends the ticket
    if payload == PAYLOAD_URGENT and ticket.status == "waiting":
        _make_urgent(ctx)
    if payload and payload.startswith(PAYLOAD_REFERRAL):
        await _answer_referral(ctx, payload)
        return True
    if payload is None and text and ticket.status == "claimed" and (answer := typed_yes_no(ctx, text)) is not None:
        referral_id = await ctx.queue.open_referral(ticket.id)  # "yes" typed to "may I share…?"
        if referral_id is not None:
            await _answer_referral(ctx, f"{PAYLOAD_REFERRAL}{referral_id}:{'yes' if answer else 'no'}")
            return True
    if payload is not None:  # an old button: the bot is not answering now
        await _note(ctx, ticket.status, force=True)
        return True
    with_mediator = ticket.status == "claimed"
    if text.strip() and crisis.check(ctx, text, with_mediator=with_mediator) and ticket.status == "waiting":
        _make_urgent(ctx)
    if incoming.location is not None:
        loc = incoming.location
        ctx.logged_text = f"📍 https://www.openstreetmap.org/?mlat={loc.latitude}&mlon={loc.longitude}"
        _relay(ctx, ctx.logged_text)  # logged too: if nobody has claimed yet, the transcript carries it
    elif incoming.media:
        _relay(ctx, text, media=True, danger=ctx.in_crisis)  # the mediator should know something was sent
        if incoming.files and ctx.files_for_mediators:  # photos and documents, for the mediators' console
            files = [(f.ref, f.mime, f.filename) for f in incoming.files]
            ctx.effects().files = (ticket.id, incoming.key.channel, incoming.key.chat_id, files)
            await _note(ctx, ticket.status)
            return True  # it reaches them: nothing to say, as for a text
        if not text.strip():
            ctx.say(ctx.t("handoff.text_only"))
            return True
    elif not text.strip():
        ctx.say(ctx.t("handoff.text_only"))
        return True
    else:
        _relay(ctx, text, danger=ctx.in_crisis)
    await _note(ctx, ticket.status)
    return True


async def _answer_referral(ctx: Context, payload: str) -> None:
    """Yes or no to sharing what a partner service needs; only the person's own, only once."""
    _, referral_id, answer = [*payload.split(":"), "", ""][:3]
    assert ctx.queue is not None
    found = await ctx.queue.referral(int(referral_id)) if referral_id.isdecimal() else None
    if found is None or answer not in ("yes", "no") or found[3] != ctx.state.person_id or found[2] != "asked":
        await _note(ctx, ctx.ticket.status if ctx.ticket else "claimed", force=True)
        return
    contact_id, mediator_name, _, _ = found
    contact = ctx.content.kb.contacts.get(contact_id)
    service = contact.display_name(ctx.lang) if contact else contact_id
    ctx.effects().referral = (int(referral_id), answer == "yes")
    key = "referral.agreed" if answer == "yes" else "referral.declined"
    ctx.say(ctx.t(key, name=mediator_name, service=service))
    _relay(ctx, f"[{'✓' if answer == 'yes' else '✗'} {service}]")


def _make_urgent(ctx: Context) -> None:
    """A waiting ticket becomes urgent (danger words, or the emergency message's button)."""
    ticket = ctx.ticket
    assert ticket is not None
    if ticket.urgent:
        return
    ctx.effects().updates.append((ticket.id, ("waiting",), {"urgent": True}))
    ctx.effects().desk_jobs.append(("queue", {"kind": "card", "ticket_id": ticket.id}))  # announced as urgent
    ctx.ticket = replace(ticket, urgent=True)  # the position told next counts it as urgent


def _relay(ctx: Context, text: str, *, media: bool = False, danger: bool = False) -> None:
    """``danger``: the bot read the message as danger now and gave the person 112 (in this
    message or, beside a mediator, within the half hour): the desk marks it."""
    assert ctx.ticket is not None
    body = {"kind": "relay", "ticket_id": ctx.ticket.id, "text": text}
    if media:
        body["media"] = True
    if danger:
        body["danger"] = True
    ctx.effects().relay = (ctx.ticket.id, body)


async def _note(ctx: Context, status: str, *, force: bool = False) -> None:
    """While waiting, remind now and then that messages are kept (with the place in the queue and,
    out of hours, when mediators are back); with a mediator, stay quiet."""
    if status != "waiting" and not force:
        return
    last = ctx.state.data.get("noted_at")
    if not force and last and ctx.now - dt.datetime.fromisoformat(last) < NOTE_EVERY:
        return
    ctx.state.data["noted_at"] = ctx.now.isoformat()
    if status != "waiting":
        ctx.say(ctx.t("handoff.with_mediator_note"))
        return
    assert ctx.queue is not None and ctx.ticket is not None
    parts = [ctx.t("handoff.waiting_note"), ctx.t("queue.position", count=await ctx.queue.position(ctx.ticket))]
    hours = out_of_hours_note(ctx)
    if hours:
        parts.append(hours)
    ctx.say("\n\n".join(parts))


def cancel(ctx: Context) -> None:
    """The person leaves the queue, or ends the conversation with their mediator."""
    ticket = ctx.ticket
    assert ticket is not None
    ctx.effects().cancel = ticket.id  # the store ends it as it is when written (a claim may come first)
    if ticket.status == "waiting":
        ctx.say(ctx.t("handoff.cancelled"), [ctx.button("button.menu", "menu")])
        return
    ctx.say(ctx.t("handoff.ended"))
    ask_rating(ctx, ticket.id)


def ask_rating(ctx: Context, ticket_id: int) -> None:
    ctx.state.data["rated"] = None
    ctx.say(ctx.t("handoff.rate"), rating_buttons(ticket_id))
