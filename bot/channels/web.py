"""The web chat on the city's site: a channel like Telegram and WhatsApp, with Acasă itself as the
platform. The browser keeps a random conversation id (no account, no cookie) and posts messages,
each with its own random id: they are stored in the inbox before the answer (so nothing is lost,
and a message posted twice is handled once). Replies go through the outbox like every channel's;
"delivering" one stores it in the conversation's mailbox (``web_messages``, once per outbox job
part), from which the browser reads everything after the last message it has — by a server-sent
event stream that resumes where it stopped, or by asking again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import html
import re
from typing import Any

from sqlalchemy import delete, select

from bot.files import MEDIA_PATH, FileStore
from bot.messages import ConversationKey, Incoming
from bot.outbox import Failed, Outcome, Pace, Progress, Retry, Sent
from bot.render import is_rtl, to_html
from bot.store import Job, Store
from bot.store.base import as_utc
from bot.store.notify import notify
from bot.store.schema import web_messages
from bot.store.turns import FAREWELL
from bot.store.updates import insert_mailbox_rows
from nlu.languages import LANGUAGES

CHANNEL = "web"
CONVERSATION = re.compile(r"^[A-Za-z0-9_-]{22,64}$")  # at least 128 random bits, URL-safe
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_TEXT = 4000
FAREWELL_KEPT = dt.timedelta(minutes=30)  # the confirmation after "forget", long enough to be read
NEWS_CHANNEL = "acasa_web"  # PostgreSQL NOTIFY: a reply is in some conversation's mailbox


class Refused(ValueError):
    """A message the web chat does not accept, with the reason (shown to the browser)."""


def valid_conversation(value: object) -> str | None:
    return value if isinstance(value, str) and CONVERSATION.fullmatch(value) else None


def check_message(data: dict[str, Any]) -> dict[str, Any]:
    """What a browser posted, reduced to what is stored: raises ``Refused`` saying why."""
    conversation = valid_conversation(data.get("conversation"))
    if conversation is None:
        raise Refused("conversation: a random id of 22 to 64 letters, digits, '-' or '_'")
    message_id = data.get("id")
    if not isinstance(message_id, str) or not MESSAGE_ID.fullmatch(message_id):
        raise Refused("id: a random id of 8 to 64 letters, digits, '-' or '_'")
    text, payload = data.get("text"), data.get("payload")
    if (text is None) == (payload is None):
        raise Refused("either text or payload")
    if text is not None and (not isinstance(text, str) or not text.strip()):
        raise Refused("text: a non-empty string")
    if payload is not None and (not isinstance(payload, str) or not 0 < len(payload) <= 64):
        raise Refused("payload: a button's payload")
    if isinstance(text, str) and len(text) > MAX_TEXT:
        raise Refused(f"text: at most {MAX_TEXT} characters")
    label, quiet = data.get("label"), data.get("quiet")
    if label is not None and (not isinstance(label, str) or len(label) > 64):
        raise Refused("label: the pressed button's label")
    if quiet is not None and not isinstance(quiet, bool):
        raise Refused("quiet: true or false")
    lang = data.get("lang")
    clean: dict[str, Any] = {"conversation": conversation, "id": message_id}
    if text is not None:
        clean["text"] = text
    else:
        clean["payload"] = payload
    if isinstance(lang, str) and lang[:2].lower() in LANGUAGES:
        clean["lang"] = lang[:2].lower()
    if label:
        clean["label"] = label
    if quiet:
        clean["quiet"] = True
    return clean


def person_shown(data: dict[str, Any]) -> str | None:
    """What the person's own message looks like in their conversation: the text they typed or the
    label of the button they pressed; nothing for the page's own start message."""
    if data.get("quiet"):
        return None
    shown = data.get("text") if isinstance(data.get("text"), str) else data.get("label")
    return shown if isinstance(shown, str) and shown.strip() else None


def update_key(data: dict[str, Any]) -> str:
    """The inbox's key for a posted message (a browser posting it again is handled once): a hash,
    so that the conversation id is not kept beside it after the message is handled."""
    return hashlib.sha256(f"{data['conversation']}:{data['id']}".encode()).hexdigest()[:40]


def chat_key(data: dict[str, Any]) -> str:
    return f"{CHANNEL}:{data['conversation']}"


def parse_message(data: dict[str, Any]) -> Incoming | None:
    """An ``Incoming`` for a stored web chat message (checked when it was accepted)."""
    conversation = valid_conversation(data.get("conversation"))
    if conversation is None:
        return None
    return Incoming(
        ConversationKey(CHANNEL, conversation),
        text=data.get("text"),
        payload=data.get("payload"),
        lang_hint=data.get("lang"),
        message_id=f"web:{data.get('id')}",
    )


def as_shown(body: dict[str, Any]) -> dict[str, Any]:
    """A reply as the browser gets it: safe HTML (everything escaped, then the Markdown subset's
    bold, italics, links and lists), its language and direction, its buttons."""
    text = str(body.get("text", ""))
    lang = body.get("lang")
    typed = bool(body.get("plain") or body.get("mediator"))  # a mediator's words: any script, any direction
    shown = {
        "html": html.escape(text).replace("\n", "<br>") if body.get("plain") else to_html(text),
        "lang": None if typed or not isinstance(lang, str) else lang,
        "dir": "auto" if typed else "rtl" if is_rtl(lang) else "ltr",
        "buttons": [{"label": str(b[0]), "payload": str(b[1])} for b in body.get("buttons") or []],
    }
    if body.get("mediator"):
        shown["from"] = "mediator"
    if body.get(FAREWELL):
        shown["farewell"] = True  # the browser starts a new conversation after it
    return shown


class WebSender:
    """Delivers a reply by storing it in the conversation's mailbox; exactly once per job, even
    if the outbox tries again after a crash (the job id is unique there)."""

    channel = CHANNEL
    rate: tuple[float | None, float] = (None, 1.0)
    seconds_between_messages_per_chat = 0.0

    def __init__(self, store: Store, news: WebNews, files: FileStore | None = None):
        self.store = store
        self.news = news
        self.files = files
        self._rows: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def deliver(self, job: Job, pace: Pace, progress: Progress) -> Outcome:
        body = job.body
        kind = body.get("kind", "send")
        if kind in ("ack", "fetch"):
            return Sent()  # nothing to acknowledge; the web chat takes no uploads
        if valid_conversation(job.chat_id) is None:
            return Failed("not a web conversation id")
        shown = as_shown(body)
        if kind == "file":  # a mediator's photo or PDF: a link to it, beside the caption
            described = await self.files.describe(int(body["attachment_id"])) if self.files else None
            if described is None or described.platform_ref is None:
                return Sent()  # deleted meanwhile ("forget")
            name = html.escape(described.filename or "file", quote=True)
            link = f'<a href="{MEDIA_PATH}/{described.platform_ref}" download="{name}">📎 {name}</a>'
            shown["html"] = (shown["html"] + "<br>" if shown["html"] else "") + link
        now = dt.datetime.now(dt.UTC)
        row = {
            "conversation": job.chat_id,
            "ref": f"job:{job.id}",
            "body": shown,
            "created_at": now,
            "expires_at": now + FAREWELL_KEPT if body.get(FAREWELL) else None,
        }
        stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._rows.append((row, stored))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        try:
            await stored
        except Exception as exc:  # the database is briefly unavailable: the outbox tries again
            return Retry(None, f"mailbox not written: {type(exc).__name__}")
        await self.news.tell(job.chat_id)
        return Sent()

    async def _write(self) -> None:
        """Replies delivered at the same moment go into the mailboxes in one transaction."""
        await asyncio.sleep(0)
        while self._rows:
            batch, self._rows = self._rows, []
            try:
                await self.store.write(lambda conn, rows=[r for r, _ in batch]: insert_mailbox_rows(conn, rows))
            except Exception as exc:
                for _, stored in batch:
                    if not stored.done():
                        stored.set_exception(exc)
            else:
                for _, stored in batch:
                    if not stored.done():
                        stored.set_result(None)


class WebNews:
    """Wakes the streams waiting for a conversation's next message: at once in this process, and
    through PostgreSQL's NOTIFY in the others (a stream also looks again every few seconds)."""

    def __init__(self, store: Store):
        self.store = store
        self._waiting: dict[str, set[asyncio.Event]] = {}

    async def tell(self, conversation: str) -> None:
        self.heard(conversation)
        await notify(self.store.engine, NEWS_CHANNEL, conversation)

    def heard_all(self) -> None:
        """News may have been missed (a lost connection to the database): every stream looks."""
        for conversation in list(self._waiting):
            self.heard(conversation)

    def heard(self, conversation: str) -> None:
        for event in self._waiting.get(conversation, ()):
            event.set()

    async def wait(self, conversation: str, seconds: float) -> None:
        event = asyncio.Event()
        self._waiting.setdefault(conversation, set()).add(event)
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            pass
        finally:
            waiting = self._waiting.get(conversation)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiting[conversation]


async def mailbox(
    store: Store, conversation: str, after: int, limit: int = 100, *, look_back: dt.timedelta | None = None
) -> list[dict[str, Any]]:
    """The conversation's messages after ``after`` (the id of the last one the browser has), and
    with ``look_back`` also the last ids before it: on PostgreSQL an id is taken when a row is
    written but seen when its transaction commits, so a reply can appear after a later message:
    the stream looks again at what was written in the last moments (it skips what it gave)."""
    now = dt.datetime.now(dt.UTC)
    newer = web_messages.c.id > after
    if look_back is not None:
        newer = newer | (web_messages.c.created_at > now - look_back)
    query = (
        select(web_messages.c.id, web_messages.c.body, web_messages.c.created_at, web_messages.c.expires_at)
        .where(web_messages.c.conversation == conversation, newer)
        .order_by(web_messages.c.id)
        .limit(limit)
    )
    async with store.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    found, read_once = [], []
    for r in rows:
        expires = as_utc(r.expires_at)
        if expires is not None and expires < now:
            continue
        found.append({"seq": r.id, **dict(r.body)})
        if found[-1].get("farewell"):
            read_once.append(r.id)
    if read_once:  # after "forget", the confirmation is the last trace: gone once it is read
        await store.write(lambda conn: conn.execute(delete(web_messages).where(web_messages.c.id.in_(read_once))))
    return found
