"""The web service (``acasa serve``): channel webhooks, health check, and the background workers.

Start: a SQLite file is locked for this process (one process per file) → content → database
(migrated) → engine → channels (Telegram: ``getMe``) → outbox and inbox workers, retention,
hand-off checks, content news → the webhook registered at ``PUBLIC_URL`` (or long polling).
Stop: the web server stops accepting first (uvicorn), then polling stops, updates in progress and
messages on their way finish, this instance's claims are released for the others, and everything
is closed. Anything accepted but not yet answered is in the database and is answered after the
next start, or at once by another instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, Router

from bot.app import running_engine
from bot.config import Settings
from bot.engine import Engine
from bot.figures import roll_up
from bot.files import MEDIA_PATH, FileStore
from bot.inbox import InboxProcessor, Parser
from bot.intake import Refused, clean_form, parse_json_object, read_limited
from bot.metrics import METRICS, may_scrape
from bot.outbox import Outbox, Sender
from bot.store import DESK
from bot.store.base import hold_sqlite_file
from bot.store.notify import CONTENT_CHANNEL, listen

log = logging.getLogger(__name__)


@dataclass
class Service:
    settings: Settings
    instance: str = field(default_factory=lambda: instance_name())
    engine: Engine | None = None
    inbox: InboxProcessor | None = None
    outbox: Outbox | None = None
    telegram_bot: Any = None
    whatsapp: Any = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    console: Any = None  # bot.web.console.Console, when mediators may work in the browser
    public: Any = None  # bot.web.public.site.PublicSite: the web chat and the help centre
    public_app: Any = None


def _refusal(refused: Refused, *, json_body: bool) -> Response:
    if json_body:
        return JSONResponse({"ok": False, "error": refused.reason}, status_code=refused.status)
    return Response(refused.reason, status_code=refused.status)


def instance_name() -> str:
    """Who claims work in the shared database: host, process and a random part (a restarted
    process is a new instance; the old one's claims simply run out)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


PURGE_EVERY = 6 * 3600.0


async def purge_periodically(engine: Engine, settings: Settings) -> None:
    """Enforce the retention window while the service runs (``acasa db purge`` does it by hand)."""
    while True:
        try:
            # Count what finished before anything is deleted: the figures outlive the messages.
            await roll_up(engine.store, engine.content.current.schedule)
            deleted = await engine.store.purge_messages(dt.timedelta(days=settings.retention_days))
            log.info("retention: %d message(s) older than %d days deleted", deleted, settings.retention_days)
        except Exception:
            log.exception("retention purge failed; will try again")
        await asyncio.sleep(PURGE_EVERY)


def create_app(settings: Settings, *, polling: bool = False) -> Any:
    service = Service(settings)

    async def healthz(request: Request) -> Response:
        engine = service.engine
        if engine is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            await engine.store.count("people")
        except Exception:
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        health: dict[str, Any] = {
            "status": "ok",
            "instance": service.instance,
            "content_version": engine.content.current.version,
            "inbox_waiting": await engine.store.inbox_backlog(),
            "outbox": await engine.store.outbox_counts(),
        }
        if engine.queue is not None:
            health["tickets_waiting"] = len(await engine.queue.waiting())
        return JSONResponse(health)

    async def metrics(request: Request) -> Response:
        """For operators' Prometheus: counters of this process and the backlog in the database."""
        client = request.client.host if request.client else None
        if not may_scrape(client, request.headers.get("authorization"), settings.metrics_token):
            return Response("forbidden", status_code=403)
        engine = service.engine
        gauges: dict[str, Any] = {}
        if engine is not None:
            gauges["acasa_inbox_waiting"] = (
                "Platform updates stored and not yet handled.",
                await engine.store.inbox_backlog(),
            )
            gauges["acasa_outbox_jobs"] = (
                "Replies and jobs in the outbox, by status.",
                await engine.store.outbox_counts(),
            )
            gauges["acasa_outbox_retrying"] = (
                "Outbox jobs waiting after a failed attempt.",
                await engine.store.outbox_retrying(),
            )
            gauges["acasa_content_version"] = (
                "Version of the live content (counts reloads).",
                engine.content.current.version,
            )
            if engine.queue is not None:
                gauges["acasa_tickets_waiting"] = ("People waiting for a mediator.", len(await engine.queue.waiting()))
        return Response(METRICS.render(gauges), media_type="text/plain; version=0.0.4")

    async def telegram_webhook(request: Request) -> Response:
        if service.engine is None or service.telegram_bot is None:
            return JSONResponse({"ok": False, "error": "Telegram is not configured"}, status_code=404)
        expected = settings.telegram_webhook_secret or ""
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return JSONResponse({"ok": False, "error": "forbidden"}, status_code=403)
        try:
            body = await read_limited(
                request.stream(), request.headers.get("content-length"), settings.webhook_max_bytes
            )
            data = parse_json_object(body, settings.webhook_max_json_depth)
        except Refused as refused:
            return _refusal(refused, json_body=True)
        update_id = data.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id < 2**63:
            return JSONResponse({"ok": False, "error": "update_id missing"}, status_code=400)
        from bot.channels import telegram

        # Stored before answering 200: Telegram counts a 200 as delivered.
        await service.engine.store.accept_update(telegram.CHANNEL, str(update_id), data, telegram.chat_key(data))
        if service.inbox:
            service.inbox.wake()
        return JSONResponse({"ok": True})

    async def _twilio_params(request: Request) -> tuple[dict[str, str] | None, Response | None]:
        """The form parameters of a request that Twilio really signed, else an error response."""
        if service.engine is None or service.whatsapp is None:
            return None, Response("WhatsApp is not configured", status_code=404)
        try:  # the limit holds before anything is parsed or checked: the signature needs the body
            body = await read_limited(
                request.stream(), request.headers.get("content-length"), settings.webhook_max_bytes
            )
        except Refused as refused:
            return None, _refusal(refused, json_body=False)
        from bot.channels import whatsapp

        params = whatsapp.form(body)
        signature = request.headers.get("x-twilio-signature", "")
        if not whatsapp.signature_valid(
            settings.twilio_auth_token or "",
            settings.public_url or "",
            request.url.path,
            request.url.query,
            params,
            signature,
        ):
            return None, Response("forbidden", status_code=403)
        return clean_form(params), None

    async def twilio_whatsapp(request: Request) -> Response:
        params, error = await _twilio_params(request)
        if error is not None:
            return error
        from bot.channels import whatsapp

        sid = params.get("MessageSid") if params else None
        if not sid or len(sid) > 64 or not str(params.get("From", "")).startswith("whatsapp:"):
            return Response("not a WhatsApp message", status_code=400)
        # Stored before answering: Twilio retries on errors, and the reply goes through the outbox.
        await service.engine.store.accept_update(whatsapp.CHANNEL, sid, params, whatsapp.chat_key(params))
        if service.inbox:
            service.inbox.wake()
        return Response(whatsapp.EMPTY_TWIML, media_type="text/xml")

    async def twilio_status(request: Request) -> Response:
        params, error = await _twilio_params(request)
        if error is not None:
            return error
        sid = params.get("MessageSid") if params else None
        status = (params or {}).get("MessageStatus", "")
        if not sid or not status or len(sid) > 64 or len(status) > 20:
            return Response("MessageSid and MessageStatus are required", status_code=400)
        code = (params or {}).get("ErrorCode", "")[:10] or None
        failed = await service.engine.store.delivery_report(sid, status, code)
        if failed is not None and code == "63016":
            channel, chat_id, body = failed  # too late for the 24-hour window: hold it for their next message
            await service.engine.store.requeue(channel, chat_id, body, held=True)
            if service.whatsapp is not None:
                await service.whatsapp.announce_held(chat_id)
        elif failed is not None:
            log.warning("a WhatsApp message was not delivered (error %s)", code)
        return Response(status_code=204)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        single = hold_sqlite_file(settings.database_url) if settings.database_url.startswith("sqlite") else None
        try:
            async with running_engine(settings) as engine:
                service.engine = engine
                await _start(service, engine, polling=polling)
                try:
                    yield
                finally:
                    await _stop(service)
        finally:
            if single is not None:
                single.close()

    async def media(request: Request) -> Response:
        """A mediator's file for the platform to fetch (Twilio needs a public address): only files
        going out, found by their unguessable token, never what people sent."""
        engine = service.engine
        token = request.path_params["token"]
        if engine is None or not (20 <= len(token) <= 64):
            return Response(status_code=404)
        found = await FileStore(engine.store).outgoing(token)
        if found is None:
            return Response(status_code=404)
        mime, data = found
        return Response(
            data, media_type=mime, headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
        )

    async def public(scope: Any, receive: Any, send: Any) -> None:
        """The web chat and the help centre (everything no other route took)."""
        if service.public_app is None:
            reason = "starting" if service.engine is None else "not found"
            await Response(reason, status_code=503 if service.engine is None else 404)(scope, receive, send)
            return
        await service.public_app(scope, receive, send)

    async def console(scope: Any, receive: Any, send: Any) -> None:
        if service.console is None:
            reason = "starting" if service.engine is None else "the web console is off (WEB_DESK=false)"
            await Response(reason, status_code=503)(scope, receive, send)
            return
        await service.console.app(scope, receive, send)

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Mount("/console", app=console),
            Route(MEDIA_PATH + "/{token}", media, methods=["GET"]),
            Route("/webhooks/telegram", telegram_webhook, methods=["POST"]),
            Route("/webhooks/twilio/whatsapp", twilio_whatsapp, methods=["POST"]),
            Route("/webhooks/twilio/status", twilio_status, methods=["POST"]),
            Mount("", app=public),
        ],
        lifespan=lifespan,
    )
    app.state.service = service
    return _CountRequests(app)


class _CountRequests:
    """Counts every HTTP request by method, fixed route name and status (``bot.metrics``)."""

    def __init__(self, app: Any):
        self.app = app
        self.state = app.state  # tests and tools reach the service through it

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_counting(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            METRICS.count_request(scope["method"], scope["path"], status)


async def _start(service: Service, engine: Engine, *, polling: bool) -> None:
    """Channels, then the workers: outbox, inbox, retention, hand-off checks, content news."""
    settings = service.settings
    store = engine.store
    if store.is_sqlite:  # the only process on this file: whatever was claimed before a crash is free
        await store.release_updates()
        await store.release_jobs()
    senders: dict[str, Sender] = {}
    parsers: dict[str, Parser] = {}
    if settings.telegram_bot_token:
        from bot.channels import telegram

        bot = telegram.make_bot(
            settings.telegram_bot_token, settings.telegram_api_base_url, read_timeout=settings.telegram_timeout
        )
        await bot.initialize()  # getMe: fails early on a wrong token
        service.telegram_bot = bot
        senders[telegram.CHANNEL] = telegram.TelegramSender(
            bot, settings.telegram_messages_per_second, FileStore(store)
        )
        parsers[telegram.CHANNEL] = telegram.parse_update
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_whatsapp_from:
        from bot.channels import whatsapp

        service.whatsapp = whatsapp.WhatsAppSender(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_whatsapp_from,
            settings.twilio_template_sid or "",
            store,
            lambda: engine.content.current.locales,
            api_base_url=settings.twilio_api_base_url,
            status_callback=(settings.public_url or "") + whatsapp.STATUS_PATH,
            messages_per_second=settings.whatsapp_messages_per_second,
            files=FileStore(store),
            media_base_url=(settings.public_url or "").rstrip("/") + MEDIA_PATH if settings.public_url else None,
        )
        senders[whatsapp.CHANNEL] = service.whatsapp
        parsers[whatsapp.CHANNEL] = whatsapp.parse_message
    news = None
    if settings.web_chat:
        from bot.channels import web

        news = web.WebNews(store)
        senders[web.CHANNEL] = web.WebSender(store, news, FileStore(store))
        parsers[web.CHANNEL] = web.parse_message
    desk_inbox = None
    watch = None
    if settings.handoff_enabled:
        from bot.handoff.desk import Desk
        from bot.handoff.desk_text import load_desk_text
        from bot.handoff.watch import Limits, Watch

        text, problems = load_desk_text(settings.locales_dir, settings.mediator_language)
        if text is None:
            raise RuntimeError("the mediator desk's texts have errors: " + "; ".join(p.format() for p in problems))
        desk = Desk(store, engine.content, text)
        if settings.telegram_desk_enabled and service.telegram_bot is not None:
            from bot.channels import telegram_desk

            assert settings.mediator_chat_id is not None
            senders[DESK] = telegram_desk.TelegramDeskSender(
                service.telegram_bot,
                settings.mediator_chat_id,
                store,
                engine.content,
                text,
                settings.mediator_messages_per_minute,
            )
            desk_inbox = telegram_desk.DeskInbox(service.telegram_bot, settings.mediator_chat_id, desk)
        else:
            from bot.web.desk import WebOnlyDesk

            senders[DESK] = WebOnlyDesk()
        watch = Watch(desk, Limits.from_settings(settings))
        if settings.web_desk:
            from bot.web.console import Console

            secure = (settings.public_url or "").startswith("https://")
            service.console = Console(
                store,
                engine.content,
                desk,
                text,
                secure_cookies=secure,
                follow_up=dt.timedelta(days=settings.referral_follow_up_days),
            )
    lease = dt.timedelta(seconds=settings.claim_lease_seconds)
    service.outbox = Outbox(store, senders, owner=service.instance, shared_pace=not store.is_sqlite, lease=lease)
    service.inbox = InboxProcessor(
        engine,
        service.outbox,
        parsers,
        owner=service.instance,
        lease=lease,
        desk=desk_inbox,
    )
    service.tasks = [
        asyncio.create_task(service.outbox.run()),
        asyncio.create_task(service.inbox.run()),
        asyncio.create_task(purge_periodically(engine, settings)),
        asyncio.create_task(listen(store.engine, CONTENT_CHANNEL, lambda: _reload_soon(engine))),
    ]
    if news is not None:
        from bot.channels import web
        from bot.web.public.site import PublicSite

        service.public = PublicSite(
            store,
            engine.content,
            news,
            service.inbox.wake,
            frame_origins=settings.web_chat_origins,
            per_conversation=(settings.web_chat_messages_per_minute, 60.0),
            per_address=(settings.web_chat_address_messages_per_minute, 60.0),
            public_url=settings.public_url,
        )
        service.public_app = Router(routes=service.public.routes())
        service.tasks.append(asyncio.create_task(listen(store.engine, web.NEWS_CHANNEL, news.heard_all, news.heard)))
    if watch is not None:
        service.tasks.append(asyncio.create_task(watch.run(settings.handoff_check_seconds)))
    if service.telegram_bot is not None:
        from bot.channels import telegram

        if polling:
            poller = telegram.TelegramPoller(service.telegram_bot, store, service.inbox.wake)
            service.tasks.append(asyncio.create_task(poller.run()))
        elif settings.public_url:
            await service.telegram_bot.set_webhook(
                settings.public_url + telegram.WEBHOOK_PATH,
                secret_token=settings.telegram_webhook_secret,
                allowed_updates=telegram.ALLOWED_UPDATES,
            )
    log.info("Acasă is serving (%s) as %s", ", ".join(senders) or "no channels configured", service.instance)


async def _stop(service: Service) -> None:
    for task in reversed(service.tasks):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if service.engine is not None:  # what this instance had claimed is free for the others at once
        with contextlib.suppress(Exception):
            await service.engine.store.release_updates(service.instance)
            await service.engine.store.release_jobs(service.instance)
    if service.telegram_bot is not None:
        with contextlib.suppress(Exception):
            await service.telegram_bot.shutdown()
    if service.whatsapp is not None:
        with contextlib.suppress(Exception):
            await service.whatsapp.close()
    service.engine = None


def _reload_soon(engine: Engine) -> None:
    """Another instance (``acasa kb reload``) says the content changed: load it here too."""
    log.info("content reload requested")
    task = asyncio.get_running_loop().create_task(asyncio.to_thread(engine.content.reload))
    _background.add(task)
    task.add_done_callback(_background.discard)


_background: set[asyncio.Task] = set()
