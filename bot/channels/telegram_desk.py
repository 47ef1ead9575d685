"""The mediator desk as a Telegram supergroup with topics (``MEDIATOR_CHAT_ID``).

In: updates from the group become ``DeskAction`` values for ``bot.handoff.desk`` (a Claim button,
a message in a ticket's topic, /close, /release, /transfer, /languages, /queue, /help). Only
members of the group may act; a button pressed by anyone else is refused.

Out: the outbox's ``desk`` jobs are rendered here — cards in the queue topic, one topic per
claimed ticket with the transcript, relayed messages, notes. A topic deleted by hand is created
again (with the transcript) the next time something must go there; a closed one is reopened.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import logging
import time
from dataclasses import replace
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.channels.telegram import CHANNEL, _retry_after, message_of, read_update
from bot.channels.telegram_topics import TelegramTopics
from bot.content import ContentService
from bot.handoff.desk import Desk, DeskAction
from bot.handoff.desk_text import DeskText
from bot.handoff.queue import HandoffQueue, Mediator, Ticket
from bot.outbox import Failed, Outcome, Pace, Progress, Retry, Sent
from bot.render import TELEGRAM_LIMIT, split_message
from bot.store import DESK, Job, Store

log = logging.getLogger(__name__)

PAYLOAD_CLAIM = "claim:"
COMMANDS = {"close", "release", "transfer", "languages", "queue", "help"}
ANONYMOUS_ADMIN = 1087968824  # the user Telegram shows for "remain anonymous" admins
MEMBER_STATUSES = {"creator", "administrator", "member"}
MEMBERSHIP_CACHE_SECONDS = 300.0
CHANNEL_NAMES = {"telegram": "Telegram", "whatsapp": "WhatsApp"}


def _mediator(user: Any) -> Mediator:
    # The first name only: it is what the person sees ("Ana, a mediator, has joined").
    name = (user.first_name or "").strip() or "Mediator"
    return Mediator(f"tg:{user.id}", name[:128], user.username)


def parse_desk_update(data: dict[str, Any], chat_id: int) -> DeskAction | None:
    """The mediator's action in this update of the mediator group; None if there is nothing to do."""
    update = read_update(data)
    if update is None:
        return None
    try:
        return _desk_action(update)
    except Exception as exc:  # a well-formed envelope around values of the wrong kinds
        log.warning("a mediator group update could not be read (%s); ignored", type(exc).__name__)
        return None


def _desk_action(update: Update) -> DeskAction | None:
    query = update.callback_query
    if query is not None:
        if query.from_user is None:
            return None
        if not query.data or not query.data.startswith(PAYLOAD_CLAIM):
            return DeskAction("refused", _mediator(query.from_user), text="unknown_button", ack_id=query.id)
        ticket = query.data[len(PAYLOAD_CLAIM) :]
        if not (ticket.isascii() and ticket.isdigit() and _fits(int(ticket))):
            return DeskAction("refused", _mediator(query.from_user), text="unknown_button", ack_id=query.id)
        return DeskAction("claim", _mediator(query.from_user), ticket_id=int(ticket), ack_id=query.id)
    message = update.message
    if message is None or message.from_user is None or (message.from_user.is_bot and not message.sender_chat):
        return None
    thread_id = message.message_thread_id if message.is_topic_message else None
    if thread_id is not None and not _fits(thread_id):
        return None  # no topic of ours has such an id
    if message.sender_chat is not None or message.from_user.id == ANONYMOUS_ADMIN:
        return DeskAction("refused", Mediator("tg:anonymous", "anonymous"), thread_id=thread_id, text="anonymous")
    mediator = _mediator(message.from_user)
    text = message.text or ""
    if text.startswith("/"):
        word, _, rest = text[1:].partition(" ")
        command = word.split("@", 1)[0].lower()
        if command in COMMANDS:
            return DeskAction(
                command, mediator, thread_id=thread_id, text=rest, args=tuple(rest.split()), target=_target(message)
            )
    if thread_id is None:
        return None  # chatter in the General topic
    if not text.strip():
        if message.forum_topic_created or message.forum_topic_closed or message.forum_topic_reopened:
            return None
        return DeskAction("refused", mediator, thread_id=thread_id, text="text_only")
    return DeskAction("say", mediator, thread_id=thread_id, text=text)


def _fits(value: object) -> bool:
    """Ticket and topic ids are positive 32-bit numbers (as stored)."""
    return isinstance(value, int) and 0 < value < 2**31


def _target(message: Message) -> Mediator | None:
    """The colleague a /transfer points at: a reply to their message, or a mention of them."""
    for entity in message.entities or ():
        if entity.type == "text_mention" and entity.user is not None and not entity.user.is_bot:
            return _mediator(entity.user)
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.is_bot:
        return None
    if replied.message_id == message.message_thread_id:  # the topic itself, not a real reply
        return None
    return _mediator(replied.from_user)


TOPIC_ACTIONS = ("say", "close", "release", "transfer")  # act on the ticket of the topic they are written in


class DeskInbox:
    """Routes stored Telegram updates from the mediator group to the desk."""

    def __init__(self, bot: Bot, chat_id: int, desk: Desk):
        self.bot = bot
        self.chat_id = chat_id
        self.desk = desk
        self.topics = TelegramTopics(desk.store)
        self._members: dict[int, tuple[str, float]] = {}  # user id → (status, when asked)

    def accepts(self, channel: str, payload: dict[str, Any]) -> bool:
        if channel != CHANNEL:
            return False
        message = message_of(payload)
        return message is not None and message["chat"].get("id") == self.chat_id

    async def _status(self, user_id: int) -> str | None:
        """The person's status in the group ("member", "administrator", "left"...); None when
        Telegram could not be asked just now."""
        known = self._members.get(user_id)
        if known is not None and time.monotonic() - known[1] < MEMBERSHIP_CACHE_SECONDS:
            return known[0]
        try:
            member = await self.bot.get_chat_member(self.chat_id, user_id)
            status = str(member.status)
            if status == "restricted" and getattr(member, "is_member", False):
                status = "member"
        except BadRequest:  # "user not found": never was a member
            status = "left"
        except TelegramError:  # Telegram did not answer: refuse this time, do not remember
            log.warning("a mediator's membership could not be checked")
            return None
        self._members[user_id] = (status, time.monotonic())
        return status

    async def is_member(self, user_id: int) -> bool | None:
        """True or False; None when Telegram could not be asked just now."""
        status = await self._status(user_id)
        return None if status is None else status in MEMBER_STATUSES

    async def process(self, inbox_id: int, payload: dict[str, Any]) -> None:
        action = parse_desk_update(payload, self.chat_id)
        if action is None:
            await self.desk.store.finish_update(inbox_id)
            return
        if action.kind == "claim":
            user_id = int(action.mediator.id.removeprefix("tg:"))
            member = await self.is_member(user_id)
            if not member:
                why = "members_only" if member is False else "press_again"
                action = DeskAction("refused", action.mediator, text=why, ack_id=action.ack_id)
        elif action.kind in ("close", "release", "transfer"):
            user_id = int(action.mediator.id.removeprefix("tg:"))
            if await self._status(user_id) in ("creator", "administrator"):
                action = replace(action, coordinator=True)
        if action.kind in TOPIC_ACTIONS and action.thread_id is not None:
            # The desk knows tickets, not topics: name the ticket of the topic the mediator wrote in.
            ticket_id = await self.topics.ticket_for_thread(action.thread_id)
            if ticket_id is None:
                if action.kind == "say":  # talk among mediators in another topic: not for a person
                    await self.desk.store.finish_update(inbox_id)
                    return
                action = DeskAction("refused", action.mediator, thread_id=action.thread_id, text="not_a_ticket_topic")
            else:
                action = replace(action, ticket_id=ticket_id)
        await self.desk.handle(action, inbox_id)


def _mention(person: dict[str, Any] | Mediator) -> str:
    if isinstance(person, Mediator):
        person = {"id": person.id, "name": person.name, "username": person.username}
    user_id = str(person["id"]).removeprefix("tg:")
    return f'<a href="tg://user?id={user_id}">{html.escape(person["name"])}</a>'


def _minutes(since: dt.datetime | None, now: dt.datetime) -> int:
    return max(0, int((now - since).total_seconds() // 60)) if since else 0


class TopicMissing(Exception):
    pass


class TelegramDeskSender:
    """Delivers the desk's jobs to the mediator group (the outbox's ``desk`` channel)."""

    channel = DESK
    seconds_between_messages_per_chat = 0.0

    def __init__(
        self, bot: Bot, chat_id: int, store: Store, content: ContentService, text: DeskText, per_minute: float = 20.0
    ):
        self.bot = bot
        self.text = text
        self.chat_id = chat_id
        self.queue = HandoffQueue(store)
        self.topics = TelegramTopics(store)
        self.content = content
        self.rate = (per_minute, 60.0)
        self._pace: Pace | None = None
        self._queue_lock = asyncio.Lock()

    # -- delivery ------------------------------------------------------------------------------

    async def deliver(self, job: Job, pace: Pace, progress: Progress) -> Outcome:
        self._pace = pace
        body = job.body
        try:
            handler = getattr(self, f"_{body.get('kind')}", None)
            if handler is None:
                return Failed(f"unknown desk job {body.get('kind')!r}")
            await handler(body)
            return Sent()
        except RetryAfter as exc:
            return Retry(_retry_after(exc), "rate limited (429)", pause_channel=True)
        except Forbidden as exc:  # the bot was removed from the group or lost its rights: keep trying
            log.error("the mediator group refuses the bot (%s); check MEDIATOR_CHAT_ID and the bot's rights", exc)
            return Retry(60.0, f"forbidden: {exc.message}")
        except BadRequest as exc:
            if body.get("kind") == "ack":
                return Sent()  # a button answered too late is harmless
            return Failed(f"bad request: {exc.message}")
        except (NetworkError, TelegramError) as exc:
            return Retry(None, f"{type(exc).__name__}: {exc.message}")

    async def _send(self, text: str, thread_id: int | None, buttons: InlineKeyboardMarkup | None = None) -> Message:
        parts = split_message(text, TELEGRAM_LIMIT)
        sent = None
        for index, part in enumerate(parts):
            if self._pace is not None:
                await self._pace()
            try:
                sent = await self.bot.send_message(
                    self.chat_id,
                    part,
                    message_thread_id=thread_id,
                    parse_mode=ParseMode.HTML,
                    reply_markup=buttons if index == len(parts) - 1 else None,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            except BadRequest as exc:
                if "thread not found" in exc.message.lower() or "topic_deleted" in exc.message.lower():
                    raise TopicMissing from exc
                raise
        assert sent is not None
        return sent

    # -- topics --------------------------------------------------------------------------------

    async def _queue_thread(self, *, missing: int | None = None) -> int:
        """The queue topic's thread; created when there is none, or when ``missing`` was deleted."""
        async with self._queue_lock:  # deliveries run concurrently: create it once
            value = await self.queue.desk_value("queue_thread")
            if value is not None and int(value) != missing:
                return int(value)
            topic = await self.bot.create_forum_topic(self.chat_id, self.text("queue_topic"))
            created = str(topic.message_thread_id)
            winner = await self.queue.swap_desk_value("queue_thread", value, created)
            if winner != created:  # another instance made one at the same moment: use theirs
                with contextlib.suppress(TelegramError):
                    await self.bot.delete_forum_topic(self.chat_id, topic.message_thread_id)
            return int(winner)

    async def _to_queue(self, text: str, buttons: InlineKeyboardMarkup | None = None) -> Message:
        thread_id = await self._queue_thread()
        try:
            return await self._send(text, thread_id, buttons)
        except TopicMissing:
            log.warning("the queue topic was deleted; creating it again")
            return await self._send(text, await self._queue_thread(missing=thread_id), buttons)

    async def _open_topic(self, ticket: Ticket) -> int:
        names = self.content.current.locales
        kb = self.content.current.kb
        topic = ticket.topics[-1] if ticket.topics else "—"  # the latest topic they read
        if topic in kb.entries:
            topic = kb.entries[topic].translation("en").title
        title = f"#{ticket.id} · {names.native_name(ticket.language)} · {topic}"[:128]
        created = await self.bot.create_forum_topic(self.chat_id, title)
        thread_id = created.message_thread_id
        await self.topics.set(ticket.id, thread_id=thread_id)
        await self._send(await self._transcript(ticket), thread_id)
        return thread_id

    async def _to_ticket(self, ticket_id: int, text: str) -> None:
        ticket = await self.queue.get(ticket_id)
        if ticket is None:
            return
        known = (await self.topics.get(ticket.id)).thread_id
        if known is None and not ticket.is_open:
            # Its topic is gone (deleted with the person's data, or never made): do not make one now.
            log.info("ticket %d is %s and has no topic; a desk message was dropped", ticket.id, ticket.status)
            return
        thread_id = known or await self._open_topic(ticket)
        try:
            await self._send(text, thread_id)
        except TopicMissing:
            if not ticket.is_open:
                log.info("the topic of closed ticket %d was deleted; a desk message was dropped", ticket.id)
                return
            log.warning("topic of ticket %d was deleted; creating it again", ticket_id)
            thread_id = await self._open_topic(ticket)
            await self._send(text, thread_id)
        except BadRequest as exc:
            if "topic_closed" not in exc.message.lower():
                raise
            await self.bot.reopen_forum_topic(self.chat_id, thread_id)
            await self._send(text, thread_id)

    async def _transcript(self, ticket: Ticket) -> str:
        kb = self.content.current.kb
        lines = [self._header(ticket), ""]
        for direction, text, intent in await self.queue.transcript(ticket):
            if direction == "in":
                if not text.startswith("[button]"):  # presses are visible from the answers they led to
                    lines.append(f"👤 {html.escape(text)}")
            elif intent and intent in kb.entries:
                title = html.escape(kb.entries[intent].translation("en").title)
                lines.append(f"🤖 <i>{self.text('answer_line', title=title)}</i>")
            else:
                first = text.strip().split("\n", 1)[0]
                lines.append(f"🤖 <i>{html.escape(first[:160])}</i>")
        if len(lines) == 2:
            lines.append(f"<i>{self.text('no_earlier')}</i>")
        return "\n".join(lines)

    def _header(self, ticket: Ticket, now: dt.datetime | None = None) -> str:
        now = now or dt.datetime.now(dt.UTC)
        kb = self.content.current.kb
        names = self.content.current.locales
        topics = ", ".join(kb.entries[t].translation("en").title if t in kb.entries else t for t in ticket.topics)
        parts = [
            (f"🔴 <b>{self.text('urgent')}</b> · " if ticket.urgent else "") + f"<b>#{ticket.id}</b>",
            f"{html.escape(names.native_name(ticket.language))} ({ticket.language})",
            CHANNEL_NAMES.get(ticket.channel, ticket.channel),
            self.text("waiting_minutes", minutes=_minutes(ticket.created_at, now)),
        ]
        lines = [" · ".join(parts)]
        if topics:
            lines.append(self.text("topics", topics=html.escape(topics)))
        if ticket.summary:
            lines.append(self.text("last_question", text=html.escape(ticket.summary[:300])))
        return "\n".join(lines)

    async def _speakers(self, ticket: Ticket) -> str:
        mediators = [m for m in await self.queue.mediators() if ticket.language in m.languages]
        return " ".join(_mention(m) for m in mediators)

    # -- jobs ----------------------------------------------------------------------------------

    async def _card(self, body: dict[str, Any], *, reminder: bool = False) -> None:
        ticket = await self.queue.get(int(body["ticket_id"]))
        if ticket is None:
            return
        card = (await self.topics.get(ticket.id)).card_message_id
        if ticket.status == "waiting":
            position = await self.queue.position(ticket)
            text = self._header(ticket) + "\n" + self.text("position", position=position)
            if reminder:
                text = f"⏰ <b>{self.text('still_waiting')}</b>\n" + text
            speakers = await self._speakers(ticket)
            if speakers:
                text += "\n" + self.text("speaks_language", language=ticket.language, mentions=speakers)
            label = self.text("claim_button", id=ticket.id)
            button = InlineKeyboardButton(label, callback_data=f"{PAYLOAD_CLAIM}{ticket.id}")
            sent = await self._to_queue(text, InlineKeyboardMarkup([[button]]))
            await self.topics.set(ticket.id, card_message_id=sent.message_id)
            if card is not None:  # one card per ticket carries its details
                await self._edit_card(card, f"<b>#{ticket.id}</b> · {self.text('card_again')}")
            return
        if card is None:
            return
        if ticket.status == "claimed":
            status = self.text("card_claimed", name=html.escape(ticket.mediator_name or self.text("mediator")))
        else:
            status = self.text(f"card_{ticket.status}")
        await self._edit_card(card, f"<b>#{ticket.id}</b> · {status}")

    async def _edit_card(self, message_id: int, text: str) -> None:
        """Replace a card by a one-line status, without the person's details or the Claim button."""
        if self._pace is not None:
            await self._pace()
        try:
            await self.bot.edit_message_text(
                text, chat_id=self.chat_id, message_id=message_id, parse_mode=ParseMode.HTML
            )
        except BadRequest as exc:  # the card was deleted by hand, or already says this
            log.info("queue card not edited (%s)", exc.message)

    async def _reminder(self, body: dict[str, Any]) -> None:
        await self._card(body, reminder=True)

    async def _open(self, body: dict[str, Any]) -> None:
        ticket = await self.queue.get(int(body["ticket_id"]))
        if ticket is None or ticket.status != "claimed":
            return
        thread_id = (await self.topics.get(ticket.id)).thread_id
        if thread_id is None:
            await self._open_topic(ticket)
        else:  # claimed again after a release: reopen the topic (closed on release), bring it up to date
            try:
                await self.bot.reopen_forum_topic(self.chat_id, thread_id)
            except BadRequest as exc:  # not closed, or deleted (then it is created again below)
                log.info("topic of ticket %d not reopened (%s)", ticket.id, exc.message)
            await self._to_ticket(ticket.id, await self._transcript(ticket))
        holder = _mention({"id": ticket.mediator, "name": ticket.mediator_name or self.text("mediator")})
        channel = CHANNEL_NAMES.get(ticket.channel, ticket.channel)
        await self._to_ticket(ticket.id, self.text("claimed_note", holder=holder, channel=channel))

    async def _relay(self, body: dict[str, Any]) -> None:
        text = body.get("text", "")
        if body.get("media"):  # the file itself is not passed on; its caption is
            text = f"{self.text('media')} {text}".strip()
        marked = f"{html.escape(self.text('danger'))}\n" if body.get("danger") else ""
        await self._to_ticket(int(body["ticket_id"]), f"{marked}👤 {html.escape(text)}")

    async def _note(self, body: dict[str, Any]) -> None:
        text = html.escape(body.get("text", ""))
        if body.get("here"):  # an answer to a command: where it was written (None = General)
            thread_id = body.get("thread_id")
            try:
                await self._send(text, int(thread_id) if thread_id is not None else None)
            except TopicMissing:
                await self._to_queue(text)
        elif body.get("ticket_id") is not None:
            await self._to_ticket(int(body["ticket_id"]), text)
        else:
            await self._to_queue(text)

    async def _ended(self, body: dict[str, Any]) -> None:
        ticket = await self.queue.get(int(body["ticket_id"]))
        if ticket is None:
            return
        by = body.get("by")
        if by == "person":
            text = self.text("ended_person")
        elif by:
            text = self.text("ended_by", name=html.escape(by))
        else:
            text = self.text("ended_idle")
        await self._to_ticket(ticket.id, "🏁 " + text)
        await self._close_topic(ticket)

    async def _released(self, body: dict[str, Any]) -> None:
        ticket_id = int(body["ticket_id"])
        by = html.escape(body.get("by") or self.text("mediator"))
        await self._to_ticket(ticket_id, self.text("released_by", name=by))
        ticket = await self.queue.get(ticket_id)
        if ticket is not None:
            await self._close_topic(ticket)

    async def _close_topic(self, ticket: Ticket) -> None:
        thread_id = (await self.topics.get(ticket.id)).thread_id
        if thread_id is None:
            return
        try:
            await self.bot.close_forum_topic(self.chat_id, thread_id)
        except BadRequest as exc:
            log.info("topic of ticket %d not closed (%s)", ticket.id, exc.message)

    async def _transferred(self, body: dict[str, Any]) -> None:
        by = html.escape(body.get("by") or "")
        await self._to_ticket(int(body["ticket_id"]), self.text("transferred", by=by, to=_mention(body["to"])))

    async def _flag(self, body: dict[str, Any]) -> None:
        ticket = await self.queue.get(int(body["ticket_id"]))
        if ticket is None or ticket.status != "claimed" or ticket.holder_replied_at is not None:
            return
        holder = _mention({"id": ticket.mediator, "name": ticket.mediator_name or self.text("mediator")})
        minutes = _minutes(ticket.holder_since, dt.datetime.now(dt.UTC))
        text = self.text("flag", id=ticket.id, holder=holder, minutes=minutes)
        if body.get("where") == "topic":
            await self._to_ticket(ticket.id, text)
        else:
            await self._to_queue(text)

    async def _forgotten(self, body: dict[str, Any]) -> None:
        """The person deleted their data: so goes the group's copy of the conversation."""
        await self._remove_topic(int(body["ticket_id"]), "forgotten", "forget_failed")

    async def _expired(self, body: dict[str, Any]) -> None:
        """The conversation is older than the retention period: its topic goes too."""
        await self._remove_topic(int(body["ticket_id"]), "expired", "expire_failed")

    async def _remove_topic(self, ticket_id: int, done: str, failed: str) -> None:
        ticket = await self.queue.get(ticket_id)
        thread_id = (await self.topics.get(ticket_id)).thread_id if ticket is not None else None
        if ticket is None or thread_id is None:
            return
        try:
            await self.bot.delete_forum_topic(self.chat_id, thread_id)
        except BadRequest as exc:
            if "thread not found" not in exc.message.lower():
                log.error("topic of ticket %d could not be deleted (%s)", ticket.id, exc.message)
                await self._to_queue(self.text(failed, id=ticket.id))
                return
        await self.topics.set(ticket.id, thread_id=None)
        await self._to_queue(self.text(done, id=ticket.id))

    async def _held(self, body: dict[str, Any]) -> None:
        await self._to_ticket(int(body["ticket_id"]), self.text("held"))

    async def _blocked(self, body: dict[str, Any]) -> None:
        await self._to_ticket(int(body["ticket_id"]), self.text("blocked"))

    async def _listing(self, body: dict[str, Any]) -> None:
        lines = []
        for ticket_id in body.get("ticket_ids") or []:
            ticket = await self.queue.get(int(ticket_id))
            if ticket is None or not ticket.is_open:
                continue
            who = (
                self.text("listing_with", name=ticket.mediator_name or "?")
                if ticket.status == "claimed"
                else self.text("status.waiting")
            )
            urgent = "🔴 " if ticket.urgent else ""
            minutes = _minutes(ticket.created_at, dt.datetime.now(dt.UTC))
            lines.append(f"{urgent}#{ticket.id} · {ticket.language} · {who} · {minutes} min")
        text = self.text("open_tickets") + "\n" + "\n".join(lines) if lines else self.text("no_open_tickets")
        await self._note({"text": text, "here": True, "thread_id": body.get("thread_id")})

    async def _ack(self, body: dict[str, Any]) -> None:
        await self.bot.answer_callback_query(
            body["callback_id"], text=body.get("text") or None, show_alert=bool(body.get("alert"))
        )
