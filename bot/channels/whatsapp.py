"""WhatsApp through Twilio. The only module that imports ``twilio``.

Webhooks are form posts signed with ``X-Twilio-Signature``, checked against the public address
(``PUBLIC_URL`` + path + query: behind a proxy the request's own URL is not what Twilio signed).
WhatsApp has no inline keyboards, so buttons become a numbered list ("reply with a number"); the
engine maps numbers (and keywords) back. Replies go out through the outbox with the async REST
client. More than 24 hours after a person's last message WhatsApp refuses free text (error
63016): replies are held and an approved template tells the person to write; held replies go out
as soon as they do.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from typing import Any
from urllib.parse import parse_qsl

import httpx
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.phone_language import language_of_number
from bot.files import MAX_FILE_BYTES, FileStore
from bot.locales import Locales
from bot.messages import ConversationKey, Incoming, IncomingFile, Location
from bot.outbox import Blocked, Failed, Hold, Outcome, Pace, Progress, Retry, Sent
from bot.render import RLM, WHATSAPP_LIMIT, is_rtl, split_message, to_whatsapp
from bot.store import Job, Store
from bot.store.turns import FAREWELL

log = logging.getLogger(__name__)

MAX_MEDIA = 10  # Twilio sends at most 10 media with one WhatsApp message
CHANNEL = "whatsapp"
STATUS_PATH = "/webhooks/twilio/status"
WINDOW = dt.timedelta(hours=24)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
OUTSIDE_WINDOW = 63016
UNREACHABLE = {21610, 63024}  # the person opted out / blocked; the number cannot receive WhatsApp


def form(body: bytes) -> dict[str, str]:
    """Twilio's form-encoded parameters (one value per name)."""
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def signature_valid(
    auth_token: str, public_url: str, path: str, query: str, params: dict[str, str], signature: str
) -> bool:
    url = public_url.rstrip("/") + path + (f"?{query}" if query else "")
    return bool(signature) and RequestValidator(auth_token).validate(url, params, signature)


def parse_message(params: dict[str, Any]) -> Incoming | None:
    """An ``Incoming`` for a WhatsApp message; None for anything that is not one."""
    sender = str(params.get("From", ""))
    if not sender.startswith("whatsapp:") or not params.get("MessageSid"):
        return None
    number = sender.removeprefix("whatsapp:")
    if not 1 <= len(number) <= 32:  # no phone number is longer (E.164: 15 digits)
        return None
    key = ConversationKey(CHANNEL, number)
    location = None
    if params.get("Latitude") and params.get("Longitude"):
        try:
            latitude, longitude = float(params["Latitude"]), float(params["Longitude"])
        except ValueError:
            latitude = longitude = math.nan
        if abs(latitude) <= 90 and abs(longitude) <= 180:  # also false for NaN
            location = Location(latitude, longitude)
    has_media = str(params.get("NumMedia", "0")).strip() not in ("", "0")
    files = tuple(
        IncomingFile(params[f"MediaUrl{i}"], params.get(f"MediaContentType{i}") or None, None)
        for i in range(MAX_MEDIA)
        if str(params.get(f"MediaUrl{i}", "")).startswith("https://")
        or str(params.get(f"MediaUrl{i}", "")).startswith("http://")
    )
    payload = params.get("ButtonPayload") or None
    # A photo's caption is kept as text ("this letter came from immigration"); a location has none.
    text = None if location else (params.get("Body") or ("" if not has_media else None))
    return Incoming(
        key,
        text=text,
        payload=payload,
        location=location,
        message_id=f"wa:{params['MessageSid']}",
        media=has_media,
        files=files,
        lang_hint=language_of_number(number),
    )


def render(body: dict[str, Any], locales: Locales | None) -> str:
    """WhatsApp markup; buttons as a numbered list with the instruction in the reply's language."""
    text = body.get("text", "") if body.get("plain") else to_whatsapp(body.get("text", ""), is_rtl(body.get("lang")))
    buttons = body.get("buttons") or []
    if buttons:
        mark = RLM if is_rtl(body.get("lang")) else ""  # the list reads right to left too
        numbered = "\n".join(f"{mark}{i}. {label}" for i, (label, _) in enumerate(buttons, start=1))
        hint = locales.text(body.get("lang") or "en", "choice.reply_with_number") if locales else ""
        text = f"{text}\n\n{numbered}\n\n{mark}_{hint.lstrip(RLM)}_" if hint else f"{text}\n\n{numbered}"
    return text


def chat_key(params: dict[str, str]) -> str:
    """The conversation a message belongs to (its updates are handled in order)."""
    return f"{CHANNEL}:{params.get('From', '').removeprefix('whatsapp:')}"[:160]


class WhatsAppSender:
    channel = CHANNEL
    seconds_between_messages_per_chat = 1.0

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        sender: str,
        template_sid: str,
        store: Store,
        locales: Any,
        *,
        api_base_url: str | None = None,
        status_callback: str | None = None,
        messages_per_second: float | None = 20.0,
        files: FileStore | None = None,
        media_base_url: str | None = None,
    ):
        self.rate = (messages_per_second, 1.0)
        self.files = files  # where files people send to mediators are kept
        self.auth = (account_sid, auth_token)  # Twilio's media URLs need the account's credentials
        self.media_base_url = media_base_url  # PUBLIC_URL/media: where Twilio fetches a mediator's file
        self.http = AsyncTwilioHttpClient(timeout=10)
        self.client = Client(account_sid, auth_token, http_client=self.http)
        if api_base_url:
            self.client.api.base_url = api_base_url
        self.sender = sender
        self.template_sid = template_sid
        self.store = store
        self.locales = locales  # a callable returning the live Locales
        self.status_callback = status_callback

    async def close(self) -> None:
        await self.http.close()

    async def prepare(self, jobs: list[Job]) -> None:
        """When each person last wrote (the 24-hour window), for a whole batch in one query."""
        seen = await self.store.last_inbound(CHANNEL, sorted({job.chat_id for job in jobs}))
        for job in jobs:
            job.last_inbound = seen.get(job.chat_id)

    async def deliver(self, job: Job, pace: Pace, progress: Progress) -> Outcome:
        if job.body.get("kind") == "fetch":
            return await self._fetch(int(job.body["attachment_id"]))
        # The confirmation of "forget" answers the person's own message (the window is open), and
        # nothing about them is kept for a delivery report.
        farewell = bool(job.body.get(FAREWELL))
        last_inbound = job.last_inbound
        if not farewell and (last_inbound is None or dt.datetime.now(dt.UTC) - last_inbound > WINDOW):
            return Hold("more than 24 hours since the person's last message")
        if job.body.get("kind") == "file":
            return await self._send_file(job)
        parts = split_message(render(job.body, self.locales()), WHATSAPP_LIMIT)
        try:
            for index in range(job.parts_sent, len(parts)):
                await pace()
                message = await self.client.messages.create_async(
                    from_=self.sender,
                    to=f"whatsapp:{job.chat_id}",
                    body=parts[index],
                    status_callback=None if farewell else self.status_callback,
                )
                report = None if farewell else (message.sid, {**job.body, "text": parts[index], "buttons": []})
                await progress(index + 1, report)
            return Sent()
        except TwilioRestException as exc:
            return self._outcome(exc)
        except (OSError, TimeoutError) as exc:
            return Retry(None, f"network: {type(exc).__name__}")

    async def _send_file(self, job: Job) -> Outcome:
        """A mediator's photo or PDF: Twilio fetches it from our public media address."""
        if self.files is None or self.media_base_url is None:
            return Failed("no file store or no PUBLIC_URL for media")
        described = await self.files.describe(int(job.body["attachment_id"]))
        if described is None or described.platform_ref is None:
            return Sent()  # deleted meanwhile ("forget")
        try:
            await self.client.messages.create_async(
                from_=self.sender,
                to=f"whatsapp:{job.chat_id}",
                body=(job.body.get("text") or "")[:WHATSAPP_LIMIT],
                media_url=[f"{self.media_base_url}/{described.platform_ref}"],
            )
            return Sent()
        except TwilioRestException as exc:
            return self._outcome(exc)
        except (OSError, TimeoutError) as exc:
            return Retry(None, f"network: {type(exc).__name__}")

    async def _fetch(self, attachment_id: int) -> Outcome:
        """A file the person sent a mediator: Twilio keeps it at the media URL of their message."""
        if self.files is None:
            return Failed("no file store")
        described = await self.files.to_fetch(attachment_id)
        if described is None or described.platform_ref is None:
            return Sent()  # deleted meanwhile ("forget"), or fetched already
        try:
            async with (
                httpx.AsyncClient(timeout=30, follow_redirects=True) as client,
                client.stream("GET", described.platform_ref, auth=self.auth) as response,
            ):
                if response.status_code in (404, 410):
                    await self.files.fail(attachment_id)
                    return Sent()
                if response.status_code >= 400:
                    return Retry(None, f"media: HTTP {response.status_code}")
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > MAX_FILE_BYTES:
                        await self.files.fail(attachment_id, len(data))
                        return Sent()
                mime = response.headers.get("content-type", "").split(";")[0].strip() or described.mime
        except httpx.HTTPError as exc:
            return Retry(None, f"media: {type(exc).__name__}")
        await self.files.save(attachment_id, bytes(data), mime)
        return Sent()

    @staticmethod
    def _outcome(exc: TwilioRestException) -> Outcome:
        code = exc.code
        if code == OUTSIDE_WINDOW:
            return Hold("outside the 24-hour window (63016)")
        if code in UNREACHABLE:
            return Blocked(f"twilio {code}")
        if exc.status == 429 or exc.status >= 500:
            return Retry(None, f"twilio {exc.status} {code or ''}".strip())
        return Failed(f"twilio {exc.status} {code or ''}: {exc.msg}"[:200])

    async def announce_held(self, chat_id: str) -> bool:
        """Send the approved template once per silence; True if no notice is (any longer) needed."""
        last_inbound, noticed = await self.store.window(CHANNEL, chat_id)
        if noticed is not None and (last_inbound is None or noticed >= last_inbound):
            return True
        try:
            await self.client.messages.create_async(
                from_=self.sender,
                to=f"whatsapp:{chat_id}",
                content_sid=self.template_sid,
                content_variables=json.dumps({}),
                status_callback=self.status_callback,
            )
        except TwilioRestException as exc:
            log.warning("window template not sent (twilio %s %s)", exc.status, exc.code)
            return False
        except (OSError, TimeoutError) as exc:
            log.warning("window template not sent (%s)", type(exc).__name__)
            return False
        await self.store.window_notice_sent(CHANNEL, chat_id)
        return True
