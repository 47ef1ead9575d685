"""Telegram, through python-telegram-bot. The only module that imports ``telegram``.

Incoming updates (webhook or long polling) are stored raw in the inbox and parsed here into
``Incoming``; replies are rendered as Telegram HTML with inline keyboards and delivered by the
outbox through ``TelegramSender``. Error mapping follows the Bot API's HTTP statuses: 429 →
wait ``retry_after``; 403 → the person blocked the bot; 400 → refused; others → retry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
import os
import warnings
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.warnings import PTBDeprecationWarning

from bot.channels.telegram_http import AiohttpRequest
from bot.files import MAX_FILE_BYTES, FileStore
from bot.messages import ConversationKey, Incoming, IncomingFile, Location
from bot.outbox import Blocked, Failed, Outcome, Pace, Progress, Retry, Sent
from bot.render import TELEGRAM_LIMIT, button_rows, is_rtl, split_message, to_telegram_html
from bot.store import Job, Store
from nlu.languages import base_code

log = logging.getLogger(__name__)

# Opt in to python-telegram-bot's coming API (durations as timedelta) instead of its deprecation
# path; the library reads this when an error is raised, not at import.
os.environ.setdefault("PTB_TIMEDELTA", "1")

CAPTION_LIMIT = 1024  # Telegram's limit for a photo's or a document's caption
CHANNEL = "telegram"
WEBHOOK_PATH = "/webhooks/telegram"
ALLOWED_UPDATES = ["message", "callback_query"]
DEFAULT_API_ROOT = "https://api.telegram.org"


def make_bot(token: str, api_root: str | None = None, *, read_timeout: float = 10.0) -> Bot:
    root = (api_root or DEFAULT_API_ROOT).rstrip("/")
    request = AiohttpRequest(connections=32, read_timeout=read_timeout, connect_timeout=5.0)
    polling = AiohttpRequest(connections=2, read_timeout=40.0, connect_timeout=5.0)
    return Bot(
        token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot", request=request, get_updates_request=polling
    )


def read_update(data: dict[str, Any]) -> Update | None:
    """The library's view of a stored update; None (logged) when it cannot be read — anything may
    have been posted with the right secret."""
    try:
        return Update.de_json(data, None)
    except Exception as exc:
        log.warning("an update could not be read (%s); ignored", type(exc).__name__)
        return None


def sane_id(value: object) -> bool:
    """Telegram's ids fit in 64 bits; anything else did not come from Telegram."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) < value < 2**63


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def parse_update(data: dict[str, Any]) -> Incoming | None:
    """An ``Incoming`` for a private message or a button press; None for anything else."""
    update = read_update(data)
    if update is None:
        return None
    try:
        return _incoming(update)
    except Exception as exc:  # a well-formed envelope around values of the wrong kinds
        log.warning("an update could not be read (%s); ignored", type(exc).__name__)
        return None


def _incoming(update: Update) -> Incoming | None:
    message_id = f"tg:{update.update_id}"
    query = update.callback_query
    if query is not None:
        if query.message is None or query.message.chat.type != "private" or not isinstance(query.data, str):
            return None
        if not query.data or not sane_id(query.message.chat.id):
            return None
        return Incoming(
            ConversationKey(CHANNEL, str(query.message.chat.id)),
            payload=query.data,
            lang_hint=base_code(_optional_text(query.from_user.language_code)) if query.from_user else None,
            message_id=message_id,
            ack_id=query.id,
            pressed_on=str(query.message.message_id),
        )
    message = update.message
    if message is None or message.chat.type != "private" or not sane_id(message.chat.id):
        return None
    location = None
    if message.location:
        location = Location(float(message.location.latitude), float(message.location.longitude))
    media = bool(message.effective_attachment) and location is None
    files: tuple[IncomingFile, ...] = ()
    if message.photo:  # sizes of one photo, smallest first
        files = (IncomingFile(message.photo[-1].file_id, "image/jpeg", None),)
    elif message.document is not None:
        document = message.document
        files = (
            IncomingFile(document.file_id, _optional_text(document.mime_type), _optional_text(document.file_name)),
        )
    return Incoming(
        ConversationKey(CHANNEL, str(message.chat.id)),
        text=_optional_text(message.text if not media else message.caption),
        media=media,
        files=files,
        lang_hint=base_code(_optional_text(message.from_user.language_code)) if message.from_user else None,
        location=location,
        message_id=message_id,
    )


def message_of(data: dict[str, Any]) -> dict[str, Any] | None:
    """The raw message of an update (the one a button is on, for a press), if it has a chat."""
    query = data.get("callback_query")
    message = query.get("message") if isinstance(query, dict) else data.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        return None
    return message


def chat_key(data: dict[str, Any]) -> str | None:
    """The conversation an update belongs to, so that its updates are handled in order: a private
    chat, or a topic of a group (a mediator's messages there). None for a button pressed in a
    group (a Claim on a card): such presses need no order — exactly one claim wins whatever the
    order — and ten mediators pressing at once should not wait for each other."""
    query = data.get("callback_query")
    message = message_of(data)
    if message is None:
        return None
    chat = message["chat"]
    if chat.get("type") == "private":
        return f"{CHANNEL}:{chat.get('id')}"[:160]
    if isinstance(query, dict):
        return None
    return f"{CHANNEL}:{chat.get('id')}:topic:{message.get('message_thread_id') or 0}"[:160]


def _keyboard(buttons: list[list[str]]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    keys = [InlineKeyboardButton(label, callback_data=payload) for label, payload in buttons]
    rows = button_rows([label for label, _ in buttons])
    return InlineKeyboardMarkup([[keys[i] for i in row] for row in rows])


def _retry_after(exc: RetryAfter) -> float:
    # PTB 22 returns seconds and warns that a timedelta will come; accept both, without the warning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class TelegramSender:
    channel = CHANNEL
    seconds_between_messages_per_chat = 1.0

    def __init__(self, bot: Bot, messages_per_second: float | None = 30.0, files: FileStore | None = None):
        self.bot = bot
        self.rate = (messages_per_second, 1.0)  # Telegram allows a bot 30 messages a second
        self.files = files  # where files people send to mediators are kept

    async def deliver(self, job: Job, pace: Pace, progress: Progress) -> Outcome:
        body = job.body
        if body.get("kind") == "fetch":  # a file the person sent (queued apart from their chat)
            try:
                return await self._fetch(int(body["attachment_id"]))
            except RetryAfter as exc:
                return Retry(_retry_after(exc), "rate limited (429)", pause_channel=True)
            except (NetworkError, TelegramError) as exc:
                return Retry(None, f"{type(exc).__name__}: {exc.message}")
        try:
            chat_id = int(job.chat_id)
        except ValueError:
            return Failed("not a Telegram chat id")
        try:
            if body.get("kind") == "ack":
                await self.bot.answer_callback_query(body["callback_id"])
                return Sent()
            if body.get("kind") == "file":
                await pace()
                return await self._send_file(chat_id, body)
            text = body.get("text", "")
            html_text = (
                html.escape(text, quote=False)
                if body.get("plain")
                else to_telegram_html(text, is_rtl(body.get("lang")))
            )
            parts = split_message(html_text, TELEGRAM_LIMIT)
            markup = _keyboard(body.get("buttons") or [])
            if body.get("kind") == "edit" and len(parts) == 1 and job.parts_sent == 0:
                edited = await self._edit(chat_id, int(body["message_id"]), parts[0], markup, pace)
                if edited:
                    return Sent()
            for index in range(job.parts_sent, len(parts)):
                await pace()
                await self.bot.send_message(
                    chat_id,
                    parts[index],
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup if index == len(parts) - 1 else None,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
                await progress(index + 1)
            venue = body.get("venue")
            if venue:
                await pace()
                await self.bot.send_venue(
                    chat_id, venue["latitude"], venue["longitude"], venue["title"], venue.get("address") or ""
                )
            return Sent()
        except RetryAfter as exc:
            return Retry(_retry_after(exc), "rate limited (429)", pause_channel=True)
        except Forbidden as exc:
            return Blocked(str(exc))
        except BadRequest as exc:
            if body.get("kind") == "ack":  # a press acknowledged too late is harmless
                return Sent()
            return Failed(f"bad request: {exc.message}")
        except (TimedOut, NetworkError) as exc:
            return Retry(None, f"{type(exc).__name__}: {exc.message}")
        except TelegramError as exc:
            return Retry(None, f"{type(exc).__name__}: {exc.message}")

    async def _send_file(self, chat_id: int, body: dict[str, Any]) -> Outcome:
        """A mediator's photo or PDF, with its caption (who sends it, and why)."""
        if self.files is None:
            return Failed("no file store")
        attachment_id = int(body["attachment_id"])
        described = await self.files.describe(attachment_id)
        data = await self.files.content(attachment_id) if described is not None else None
        if described is None or data is None:
            return Sent()  # deleted meanwhile ("forget")
        upload = InputFile(data, filename=described.filename or f"file-{attachment_id}")
        caption = (body.get("text") or "")[:CAPTION_LIMIT]
        if (described.mime or "").startswith("image/"):
            await self.bot.send_photo(chat_id, upload, caption=caption)
        else:
            await self.bot.send_document(chat_id, upload, caption=caption)
        return Sent()

    async def _fetch(self, attachment_id: int) -> Outcome:
        """A file the person sent a mediator: ``getFile``, then download it (Bot API: at most 20 MB)."""
        if self.files is None:
            return Failed("no file store")
        described = await self.files.to_fetch(attachment_id)
        if described is None or described.platform_ref is None:
            return Sent()  # deleted meanwhile ("forget"), or fetched already
        try:
            found = await self.bot.get_file(described.platform_ref)
        except BadRequest:  # too big for bots (over 20 MB), or no longer there
            await self.files.fail(attachment_id)
            return Sent()
        if found.file_size is not None and found.file_size > MAX_FILE_BYTES:
            await self.files.fail(attachment_id, found.file_size)
            return Sent()
        data = bytes(await found.download_as_bytearray())
        if len(data) > MAX_FILE_BYTES:
            await self.files.fail(attachment_id, len(data))
            return Sent()
        await self.files.save(attachment_id, data, described.mime)
        return Sent()

    async def _edit(
        self, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None, pace: Pace
    ) -> bool:
        """Replace the pressed message; False if Telegram cannot edit it (then a new one is sent)."""
        await pace()
        try:
            await self.bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return True
            log.info("message could not be edited (%s); sending a new one", exc.message)
            return False
        return True


class TelegramPoller:
    """Long polling for local use: each update is stored before the next offset is asked for."""

    def __init__(self, bot: Bot, store: Store, on_stored: Any):
        self.bot = bot
        self.store = store
        self.on_stored = on_stored

    async def run(self) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)
        offset: int | None = None
        delay = 1.0
        while True:
            try:
                updates = await self.bot.get_updates(offset=offset, timeout=25, allowed_updates=ALLOWED_UPDATES)
                delay = 1.0
            except (TimedOut, NetworkError, RetryAfter) as exc:
                log.warning("getUpdates failed (%s); retrying in %.0f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            for update in updates:
                data = update.to_dict()
                await self.store.accept_update(CHANNEL, str(update.update_id), data, chat_key(data))
                offset = update.update_id + 1  # only after it is stored: a crash re-fetches it
            if updates:
                self.on_stored()
