"""The mediators' web console under ``/console``: sign-in, the shared inbox, a conversation.

Every route declares the roles that may use it (``ROUTES``); the check, the session and the CSRF
token of every form are enforced here, on the server, before any handler runs. Mediator actions go
through the same platform-free ``Desk`` as the Telegram group, so both desks work on one queue and
a claim has exactly one winner. Pages are rendered on the server; a little JavaScript listens to
``/console/events`` (server-sent events) and reloads the part of the page that changed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyotp
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.datastructures import FormData
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from bot.content import ContentService
from bot.files import MAX_FILE_BYTES, SHOWN_INLINE, FileStore, sniff_type
from bot.handlers.handoff import PAYLOAD_REFERRAL
from bot.handoff.desk import Desk, DeskAction
from bot.handoff.desk_text import DeskText
from bot.handoff.queue import OPEN, HandoffQueue, Mediator, Ticket, read_ticket
from bot.messages import Button
from bot.render import to_plain, to_telegram_html
from bot.store import Store
from bot.store.base import as_utc, utcnow
from bot.store.schema import attachments, messages, referrals, ticket_labels, ticket_notes, tickets
from bot.web import audit
from bot.web.accounts import ROLES, AccountError, Accounts, new_totp_secret, totp_uri
from bot.web.dashboard import DASHBOARD_ROLES, Dashboard
from bot.web.sessions import COOKIE, Sessions, StaffSession
from bot.web.studio import EDITING_ROLES, PUBLISH_ROLES, STUDIO_ROLES, Studio

HERE = Path(__file__).parent
CONVERSATION_ROLES = ("mediator", "coordinator", "admin")
AUDIT_ROLES = ("coordinator", "admin")
ANY_ROLE = ROLES
WHATSAPP_WINDOW = dt.timedelta(hours=24)
EVENTS_POLL_SECONDS = 0.4
EVENTS_KEEPALIVE_SECONDS = 15.0
MAX_TEXT = 4000
# Waiting-time colours of the inbox (service levels): green, then amber, then red.
SLA_AMBER = dt.timedelta(minutes=10)
SLA_RED = dt.timedelta(minutes=30)

Handler = Callable[[Request, StaffSession, FormData | None], Awaitable[Response]]


@dataclass(frozen=True)
class RouteSpec:
    """One console route and who may use it (a test walks every route as every role)."""

    path: str
    method: str
    roles: tuple[str, ...]
    name: str
    upload: bool = False  # a form with one file (up to MAX_UPLOAD_BYTES)


ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec("/", "GET", ANY_ROLE, "home"),
    RouteSpec("/inbox", "GET", CONVERSATION_ROLES, "inbox"),
    RouteSpec("/inbox/list", "GET", CONVERSATION_ROLES, "inbox_list"),
    RouteSpec("/events", "GET", CONVERSATION_ROLES, "events"),
    RouteSpec("/tickets/{ticket_id:int}", "GET", CONVERSATION_ROLES, "ticket"),
    RouteSpec("/tickets/{ticket_id:int}/panel", "GET", CONVERSATION_ROLES, "ticket_panel"),
    RouteSpec("/tickets/{ticket_id:int}/claim", "POST", CONVERSATION_ROLES, "claim"),
    RouteSpec("/tickets/{ticket_id:int}/say", "POST", CONVERSATION_ROLES, "say"),
    RouteSpec("/tickets/{ticket_id:int}/note", "POST", CONVERSATION_ROLES, "note"),
    RouteSpec("/tickets/{ticket_id:int}/release", "POST", CONVERSATION_ROLES, "release"),
    RouteSpec("/tickets/{ticket_id:int}/close", "POST", CONVERSATION_ROLES, "close"),
    RouteSpec("/tickets/{ticket_id:int}/transfer", "POST", CONVERSATION_ROLES, "transfer"),
    RouteSpec("/tickets/{ticket_id:int}/labels", "POST", CONVERSATION_ROLES, "labels"),
    RouteSpec("/tickets/{ticket_id:int}/refer", "POST", CONVERSATION_ROLES, "refer"),
    RouteSpec("/referrals/{referral_id:int}/status", "POST", CONVERSATION_ROLES, "referral_status"),
    RouteSpec("/files/{file_id:int}", "GET", CONVERSATION_ROLES, "file"),
    RouteSpec("/tickets/{ticket_id:int}/send-file", "POST", CONVERSATION_ROLES, "send_file", upload=True),
    RouteSpec("/audit", "GET", AUDIT_ROLES, "audit"),
    RouteSpec("/dashboard", "GET", DASHBOARD_ROLES, "dashboard.page"),
    RouteSpec("/dashboard/download/{kind}", "GET", DASHBOARD_ROLES, "dashboard.download"),
    RouteSpec("/studio", "GET", STUDIO_ROLES, "studio.coverage"),
    RouteSpec("/studio/entries/{entry_id}", "GET", STUDIO_ROLES, "studio.entry"),
    RouteSpec("/studio/entries/{entry_id}/text", "POST", STUDIO_ROLES, "studio.edit_text"),
    RouteSpec("/studio/entries/{entry_id}/check", "POST", STUDIO_ROLES, "studio.check_text"),
    RouteSpec("/studio/entries/{entry_id}/approve", "POST", STUDIO_ROLES, "studio.approve"),
    RouteSpec("/studio/outdated", "GET", STUDIO_ROLES, "studio.outdated"),
    RouteSpec("/studio/unanswered", "GET", STUDIO_ROLES, "studio.unanswered"),
    RouteSpec("/studio/unanswered/act", "POST", EDITING_ROLES, "studio.act_on_group"),
    RouteSpec("/studio/publish", "GET", STUDIO_ROLES, "studio.publish_page"),
    RouteSpec("/studio/publish", "POST", PUBLISH_ROLES, "studio.publish"),
    RouteSpec("/studio/changes/{change_id:int}/withdraw", "POST", STUDIO_ROLES, "studio.withdraw"),
    RouteSpec("/logout", "POST", ANY_ROLE, "logout"),
)


MAX_FORM_BYTES = 64_000  # a console form is a few fields and at most one message of 4,000 characters
MAX_UPLOAD_BYTES = MAX_FILE_BYTES  # a photo or a PDF for the person


class FormTooLarge(Exception):
    pass


async def _form(request: Request, max_fields: int = 10, *, upload: bool = False) -> FormData:
    """The posted form, read only if it is small: a big body is refused before it is parsed."""
    limit = MAX_UPLOAD_BYTES + MAX_FORM_BYTES if upload else MAX_FORM_BYTES
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise FormTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise FormTooLarge
    request._body = bytes(body)  # Starlette parses the form from the body it keeps
    return await request.form(max_files=1 if upload else 0, max_fields=max_fields)


LOGIN_COOKIE = "acasa_login"  # the double-submit CSRF token of the forms used before a session exists


def _login_token(request: Request) -> str:
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)


def _login_csrf_ok(request: Request, form: FormData) -> bool:
    """Sign-in and setup forms: the token in the form must be the one in the cookie."""
    given, expected = form.get("csrf"), request.cookies.get(LOGIN_COOKIE)
    return isinstance(given, str) and bool(expected) and secrets.compare_digest(given, expected)


def _stale_form() -> Response:
    return Response("The form is out of date (missing or wrong CSRF token). Reload the page.", 403)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class Console:
    def __init__(
        self,
        store: Store,
        content: ContentService,
        desk: Desk,
        text: DeskText,
        *,
        secure_cookies: bool = False,
        clock: Callable[[], dt.datetime] = utcnow,
        follow_up: dt.timedelta = dt.timedelta(days=7),
    ):
        self.store = store
        self.content = content
        self.desk = desk
        self.text = text
        self.secure = secure_cookies
        self.clock = clock
        self.follow_up = follow_up
        self.accounts = Accounts(store)
        self.sessions = Sessions(store)
        self.queue = HandoffQueue(store)
        self.files = FileStore(store)
        self.studio = Studio(self)
        self.dashboard = Dashboard(self)
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
        self.env.globals["t"] = self._t

    def _t(self, key: str, **values: object) -> str:
        return self.text(f"console.{key}", **values)

    # -- plumbing ---------------------------------------------------------------------------------

    @functools.cached_property
    def app(self) -> ASGIApp:
        """The console's routes, relative to where the server mounts it (``/console``)."""
        inner: list[BaseRoute] = [
            Route("/login", self.login_page, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/second-factor", self.second_factor_page, methods=["GET"]),
            Route("/second-factor", self.second_factor, methods=["POST"]),
            Route("/setup/{token}", self.setup_page, methods=["GET"]),
            Route("/setup/{token}", self.setup, methods=["POST"]),
            Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
        ]
        for spec in ROUTES:
            inner.append(Route(spec.path, self._guard(spec, self._handler(spec.name)), methods=[spec.method]))
        return ExceptionMiddleware(Router(routes=inner), handlers={FormTooLarge: _too_large})

    def _handler(self, name: str) -> Handler:
        """A route's handler: a method of the console, or of one of its parts ("studio.coverage")."""
        owner: Any = self
        for part in name.split("."):
            owner = getattr(owner, part)
        return owner

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(lang=self.text.lang, **values)
        response = HTMLResponse(html, status_code=status)
        response.headers["Cache-Control"] = "no-store"  # conversations must not stay in a browser cache
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
        )
        return response

    def _set_cookie(self, response: Response, token: str) -> None:
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="strict", secure=self.secure, path="/console", max_age=8 * 3600
        )

    def _set_login_cookie(self, response: Response, token: str) -> None:
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=self.secure, path="/console")

    def _guard(self, spec: RouteSpec, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            session = await self.sessions.read(request.cookies.get(COOKIE), self.clock())
            if session is None:
                if spec.method == "GET" and spec.name in ("home", "inbox", "ticket", "audit", "studio.coverage"):
                    return RedirectResponse("/console/login", status_code=303)
                return Response("Sign in first.", status_code=401)
            if not session.complete:
                if spec.method == "GET":
                    return RedirectResponse("/console/second-factor", status_code=303)
                return Response("Give the second factor first.", status_code=401)
            if session.user.role not in spec.roles:
                return self.render("refused.html", 403, session=session)
            form = await _form(request, max_fields=20, upload=spec.upload) if spec.method == "POST" else None
            try:
                if form is not None:
                    token = form.get("csrf")
                    if not session.csrf_ok(token if isinstance(token, str) else None):
                        return _stale_form()
                return await handler(request, session, form)
            finally:
                if form is not None:
                    await form.close()  # an uploaded file's temporary file

        return endpoint

    # -- signing in ---------------------------------------------------------------------------------

    async def login_page(self, request: Request, error: str | None = None, status: int = 200) -> Response:
        # The sign-in form has no session yet: a double-submit token guards it against cross-site posts.
        token = _login_token(request)
        response = self.render("login.html", status, csrf=token, error=error)
        self._set_login_cookie(response, token)
        return response

    async def login(self, request: Request) -> Response:
        form = await _form(request)
        if not _login_csrf_ok(request, form):
            return _stale_form()
        login = str(form.get("login") or "").strip().lower()[:64]
        password = str(form.get("password") or "")[:1024]
        now = self.clock()
        if await self.accounts.throttled(login, _client(request), now):
            return await self.login_page(request, self._t("throttled"), 429)
        user = await self.accounts.verify_password(login, password, _client(request), now)
        if user is None:
            return await self.login_page(request, self._t("wrong_login"), 401)
        complete = not user.needs_second_factor
        token = await self.sessions.start(user, complete, now)
        if complete:
            await self.store.write(lambda conn: audit.record(conn, now, user.actor, user.name, "sign_in"))
        response = RedirectResponse("/console/" if complete else "/console/second-factor", status_code=303)
        self._set_cookie(response, token)
        return response

    async def second_factor_page(self, request: Request, error: str | None = None, status: int = 200) -> Response:
        session = await self.sessions.read(request.cookies.get(COOKIE), self.clock())
        if session is None:
            return RedirectResponse("/console/login", status_code=303)
        if not session.user.totp_enrolled:
            return self.render("message.html", 403, message=self._t("no_second_factor"))
        return self.render("second_factor.html", status, session=session, error=error)

    async def second_factor(self, request: Request) -> Response:
        now = self.clock()
        session = await self.sessions.read(request.cookies.get(COOKIE), now)
        if session is None:
            return RedirectResponse("/console/login", status_code=303)
        form = await _form(request)
        csrf = form.get("csrf")
        if not session.csrf_ok(csrf if isinstance(csrf, str) else None):
            return _stale_form()
        code = str(form.get("code") or "")[:20]
        if not await self.accounts.verify_totp(session.user.id, code, _client(request), now):
            return await self.second_factor_page(request, self._t("wrong_code"), 401)
        token = await self.sessions.second_factor_given(session, now)
        user = session.user
        await self.store.write(lambda conn: audit.record(conn, now, user.actor, user.name, "sign_in"))
        response = RedirectResponse("/console/", status_code=303)
        self._set_cookie(response, token)
        return response

    async def setup_page(self, request: Request, error: str | None = None, status: int = 200) -> Response:
        token = request.path_params["token"]
        user = await self.accounts.setup_user(token, self.clock())
        if user is None:
            return self.render("message.html", 404, message=self._t("link_expired"))
        secret = str((await _form(request)).get("secret")) if request.method == "POST" else new_totp_secret()
        csrf = _login_token(request)
        response = self.render(
            "setup.html",
            status,
            user=user,
            secret=secret if user.needs_second_factor else None,
            uri=totp_uri(secret, user.login) if user.needs_second_factor else None,
            csrf=csrf,
            error=error,
        )
        self._set_login_cookie(response, csrf)
        return response

    async def setup(self, request: Request) -> Response:
        form = await _form(request)
        if not _login_csrf_ok(request, form):
            return _stale_form()
        token = request.path_params["token"]
        now = self.clock()
        user = await self.accounts.setup_user(token, now)
        if user is None:
            return self.render("message.html", 404, message=self._t("link_expired"))
        password = str(form.get("password") or "")
        if password != str(form.get("password_again") or ""):
            return await self.setup_page(request, self._t("passwords_differ"), 400)
        secret = None
        if user.needs_second_factor:
            secret = str(form.get("secret") or "")
            try:
                valid = pyotp.TOTP(secret).verify(str(form.get("code") or ""), for_time=now, valid_window=1)
            except Exception:  # a tampered secret is not base32
                valid = False
            if not valid:
                return await self.setup_page(request, self._t("wrong_code"), 400)
        try:
            await self.accounts.finish_setup(token, password, secret, now)
        except AccountError as exc:
            return await self.setup_page(request, str(exc), 400)
        return RedirectResponse("/console/login", status_code=303)

    async def logout(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        now = self.clock()
        await self.sessions.end(session)
        user = session.user
        await self.store.write(lambda conn: audit.record(conn, now, user.actor, user.name, "sign_out"))
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    # -- pages ------------------------------------------------------------------------------------

    async def home(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        if session.user.role in CONVERSATION_ROLES:
            return RedirectResponse("/console/inbox", status_code=303)
        if session.user.role in STUDIO_ROLES:
            return RedirectResponse("/console/studio", status_code=303)
        if session.user.role in DASHBOARD_ROLES:
            return RedirectResponse("/console/dashboard", status_code=303)
        return self.render("home.html", session=session)

    def _filters(self, request: Request) -> dict[str, str]:
        wanted = ("language", "channel", "urgent", "mine", "unassigned", "everyone")
        return {k: str(request.query_params[k])[:20] for k in wanted if request.query_params.get(k)}

    async def _inbox_rows(self, session: StaffSession, filters: dict[str, str]) -> list[dict[str, Any]]:
        query = select(tickets).where(tickets.c.status.in_(OPEN))
        if language := filters.get("language"):
            query = query.where(tickets.c.language == language)
        if channel := filters.get("channel"):
            query = query.where(tickets.c.channel == channel)
        if filters.get("urgent"):
            query = query.where(tickets.c.urgent.is_(True))
        if filters.get("mine"):
            query = query.where(tickets.c.mediator == session.user.actor)
        if filters.get("unassigned"):
            query = query.where(tickets.c.status == "waiting")
        elif not filters.get("everyone") and not filters.get("mine"):
            # By default: who is waiting, and one's own conversations. A conversation a colleague
            # takes (here or in the Telegram group) leaves the others' screens at once.
            query = query.where((tickets.c.status == "waiting") | (tickets.c.mediator == session.user.actor))
        query = query.order_by(tickets.c.last_activity_at.desc(), tickets.c.id.desc())
        now = self.clock()
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            labels: dict[int, list[str]] = {}
            if rows:
                listed = select(ticket_labels).where(ticket_labels.c.ticket_id.in_([r.id for r in rows]))
                for label_row in await conn.execute(listed.order_by(ticket_labels.c.label)):
                    labels.setdefault(label_row.ticket_id, []).append(label_row.label)
        found = []
        for row in rows:
            waiting = now - as_utc(row.created_at)
            since_activity = now - as_utc(row.last_activity_at)
            level = "red" if waiting >= SLA_RED else "amber" if waiting >= SLA_AMBER else "green"
            if row.status == "claimed":
                level = "red" if since_activity >= SLA_RED else "amber" if since_activity >= SLA_AMBER else "green"
            found.append(
                {
                    "id": row.id,
                    "status": row.status,
                    "language": row.language,
                    "channel": row.channel,
                    "urgent": row.urgent,
                    "mediator_name": row.mediator_name,
                    "mine": row.mediator == session.user.actor,
                    "summary": row.summary,
                    "waiting_minutes": int(waiting.total_seconds() // 60),
                    "idle_minutes": int(since_activity.total_seconds() // 60),
                    "sla": level,
                    "labels": labels.get(row.id, []),
                }
            )
        return found

    async def inbox(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        filters = self._filters(request)
        rows = await self._inbox_rows(session, filters)
        schedule = self.content.current.schedule
        now = self.clock()
        banner = None
        if not schedule.is_open(now):
            opening = schedule.next_opening(now)
            when = opening.astimezone(schedule.timezone).strftime("%a %d.%m %H:%M") if opening else "—"
            banner = self._t("outside_hours", when=when)
        return self.render(
            "inbox.html",
            session=session,
            follow_ups=await self._follow_ups(session),
            rows=rows,
            filters=filters,
            query=urlencode(filters),
            banner=banner,
            languages=sorted(
                {r["language"] for r in rows} | ({filters["language"]} if "language" in filters else set())
            ),
        )

    async def inbox_list(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        rows = await self._inbox_rows(session, self._filters(request))
        return self.render("inbox_list.html", session=session, rows=rows)

    async def _ticket_view(self, session: StaffSession, ticket: Ticket) -> dict[str, Any]:
        now = self.clock()
        transcript: list[dict[str, Any]] = []
        earlier: list[Ticket] = []
        notes: list[dict[str, Any]] = []
        labels: list[str] = []
        ticket_referrals: list[dict[str, Any]] = []
        files: list[dict[str, Any]] = []
        last_in: dt.datetime | None = None
        async with self.store.engine.connect() as conn:
            if ticket.person_id is not None:
                since = ticket.created_at - dt.timedelta(days=1)
                rows = await conn.execute(
                    select(messages.c.direction, messages.c.text, messages.c.intent, messages.c.created_at)
                    .where(messages.c.person_id == ticket.person_id, messages.c.created_at >= since)
                    .order_by(messages.c.id)
                    .limit(1000)
                )
                transcript = [_message(r.direction, r.text, r.intent, as_utc(r.created_at)) for r in rows]
                last_in = as_utc(
                    (
                        await conn.execute(
                            select(func.max(messages.c.created_at)).where(
                                messages.c.person_id == ticket.person_id, messages.c.direction == "in"
                            )
                        )
                    ).scalar()
                )
                earlier_rows = await conn.execute(
                    select(tickets.c.id)
                    .where(tickets.c.person_id == ticket.person_id, tickets.c.id != ticket.id)
                    .order_by(tickets.c.id.desc())
                    .limit(20)
                )
                for r in earlier_rows.all():
                    found = await read_ticket(conn, r.id)
                    if found is not None:
                        earlier.append(found)
            labels = [
                r.label
                for r in await conn.execute(
                    select(ticket_labels.c.label)
                    .where(ticket_labels.c.ticket_id == ticket.id)
                    .order_by(ticket_labels.c.label)
                )
            ]
            ticket_referrals = await self._referrals(conn, ticket.id)
            files = [
                {
                    "id": r.id,
                    "direction": r.direction,
                    "mime": r.mime or "",
                    "filename": r.filename or f"{r.direction}-{r.id}",
                    "size": r.size,
                    "status": r.status,
                    "at": as_utc(r.created_at),
                    "image": (r.mime or "").startswith("image/") and r.status == "ready",
                }
                for r in await conn.execute(
                    select(
                        attachments.c.id,
                        attachments.c.direction,
                        attachments.c.mime,
                        attachments.c.filename,
                        attachments.c.size,
                        attachments.c.status,
                        attachments.c.created_at,
                    )
                    .where(attachments.c.ticket_id == ticket.id)
                    .order_by(attachments.c.id)
                )
            ]
            note_rows = await conn.execute(
                select(ticket_notes).where(ticket_notes.c.ticket_id == ticket.id).order_by(ticket_notes.c.id)
            )
            notes = [{"author": r.author_name, "text": r.text, "at": as_utc(r.created_at)} for r in note_rows]
        window_open = None
        if ticket.channel == "whatsapp":
            window_open = last_in is not None and now - last_in < WHATSAPP_WINDOW
        colleagues = [
            u
            for u in await self.accounts.list()
            if u.role in CONVERSATION_ROLES and not u.disabled and u.actor != ticket.mediator
        ]
        kb = self.content.current.kb
        services = sorted(
            (
                (c.id, c.display_name(self.text.lang))
                for c in kb.contacts.values()
                if c.kind in ("organisation", "authority", "helpline")
            ),
            key=lambda pair: pair[1].casefold(),
        )
        return {
            "ticket": ticket,
            "labels": labels,
            "referrals": ticket_referrals,
            "files": files,
            "services": services,
            "colleagues": colleagues,
            "transcript": transcript,
            "earlier": earlier,
            "notes": notes,
            "mine": ticket.mediator == session.user.actor,
            "window_open": window_open,
            "window_closes": (last_in + WHATSAPP_WINDOW) if last_in else None,
        }

    async def _open_ticket(self, request: Request) -> Ticket | None:
        return await self.queue.get(int(request.path_params["ticket_id"]))

    async def ticket(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        ticket = await self._open_ticket(request)
        if ticket is None:
            return self.render("message.html", 404, session=session, message=self.text("no_ticket"))
        now = self.clock()
        user = session.user
        await self.store.write(
            lambda conn: audit.record(
                conn, now, user.actor, user.name, "open", ticket_id=ticket.id, person_id=ticket.person_id
            )
        )
        view = await self._ticket_view(session, ticket)
        flash = request.query_params.get("told")
        query = str(request.query_params.get("q") or "").strip()[:200]
        found = await self._search_entries(query, ticket.language) if query and view["mine"] else []
        return self.render(
            "ticket.html", session=session, flash=flash[:300] if flash else None, query=query, found=found, **view
        )

    async def ticket_panel(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        ticket = await self._open_ticket(request)
        if ticket is None:
            return Response(status_code=404)
        return self.render("ticket_panel.html", session=session, **(await self._ticket_view(session, ticket)))

    # -- actions ----------------------------------------------------------------------------------

    def _mediator(self, session: StaffSession) -> Mediator:
        return Mediator(session.user.actor, session.user.name, session.user.login)

    async def _act(
        self,
        request: Request,
        session: StaffSession,
        kind: str,
        text: str = "",
        audit_action: str | None = None,
        *,
        target: Mediator | None = None,
        detail: str | None = None,
    ) -> Response:
        ticket_id = int(request.path_params["ticket_id"])
        now = self.clock()
        action = DeskAction(
            kind,
            self._mediator(session),
            ticket_id=ticket_id,
            text=text,
            in_place=True,
            coordinator=session.user.role in AUDIT_ROLES,
            target=target,
        )
        told = await self.desk.handle(action, None, at=now)
        ticket = await self.queue.get(ticket_id)
        user = session.user
        done = {
            "claim": ticket is not None and ticket.status == "claimed" and ticket.mediator == user.actor,
            "say": not told,
            "release": ticket is not None and ticket.status == "waiting",
            "close": ticket is not None and ticket.status == "closed",
            "transfer": ticket is not None and target is not None and ticket.mediator == target.id,
        }[kind]
        action_name = audit_action or kind
        detail = detail if done else "refused: " + "; ".join(told)[:180]
        await self.store.write(
            lambda conn: audit.record(
                conn,
                now,
                user.actor,
                user.name,
                action_name if done else "refused",
                ticket_id=ticket_id,
                person_id=ticket.person_id if ticket else None,
                detail=detail,
            )
        )
        where = f"/console/tickets/{ticket_id}"
        if told and not done:
            where += "?" + urlencode({"told": "; ".join(told)})
        if kind in ("close", "transfer") and done:
            where = "/console/inbox"
        return RedirectResponse(where, status_code=303)

    async def claim(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        return await self._act(request, session, "claim")

    async def say(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        text = str((form or {}).get("text") or "").strip()
        if not text:
            return RedirectResponse(f"/console/tickets/{request.path_params['ticket_id']}", status_code=303)
        return await self._act(request, session, "say", text[:MAX_TEXT], "write")

    async def release(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        return await self._act(request, session, "release")

    async def close(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        return await self._act(request, session, "close")

    async def transfer(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        """Hand the conversation to a colleague who works in the console (they see it live)."""
        login = str((form or {}).get("to") or "").strip().lower()
        colleague = await self.accounts.by_login(login) if login else None
        ticket_id = int(request.path_params["ticket_id"])
        if colleague is None or colleague.disabled or colleague.role not in CONVERSATION_ROLES:
            told = urlencode({"told": self._t("no_such_colleague")})
            return RedirectResponse(f"/console/tickets/{ticket_id}?{told}", status_code=303)
        target = Mediator(colleague.actor, colleague.name, colleague.login)
        return await self._act(request, session, "transfer", target=target, detail=f"to {colleague.login}")

    async def labels(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        """Replace the ticket's labels (comma-separated words) — for finding and counting, not for the person."""
        ticket_id = int(request.path_params["ticket_id"])
        raw = str((form or {}).get("labels") or "")
        wanted = sorted({_label(word) for word in raw.split(",") if _label(word)})[:MAX_LABELS]
        now = self.clock()
        user = session.user

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(delete(ticket_labels).where(ticket_labels.c.ticket_id == ticket_id))
            if wanted:
                await conn.execute(insert(ticket_labels), [{"ticket_id": ticket_id, "label": w} for w in wanted])
            await audit.record(
                conn, now, user.actor, user.name, "labels", ticket_id=ticket_id, detail=", ".join(wanted)[:200]
            )

        if await self.queue.get(ticket_id) is not None:
            await self.store.write(work)
        return RedirectResponse(f"/console/tickets/{ticket_id}", status_code=303)

    async def _search_entries(self, query: str, lang: str) -> list[dict[str, str]]:
        kb = self.content.current.kb
        words = [w for w in re.findall(r"\w+", query.casefold()) if len(w) > 1]
        scored: list[tuple[float, str]] = []
        for entry in kb.entries.values():
            texts = [entry.id, *(t.title for t in entry.translations.values())]
            haystack = " ".join(texts).casefold()
            score = sum(haystack.count(w) for w in words)
            if score:
                scored.append((score, entry.id))
        # The matcher too, as for a person's question (any language, misspelt).
        prediction = await self.content.current.matcher.match(query, None)
        for candidate in prediction.candidates[:5]:
            if candidate.intent in kb.entries:
                scored.append((candidate.confidence * 10, candidate.intent))
        best: dict[str, float] = {}
        for score, eid in scored:
            best[eid] = max(best.get(eid, 0.0), score)
        found = []
        for eid in sorted(best, key=lambda e: -best[e])[:5]:
            text = kb.entries[eid].translation(lang)
            found.append({"id": eid, "title": text.title, "lang": text.lang, "body": to_plain(text.answer)})
        return found

    async def refer(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        """Ask the person whether they agree to be referred to a partner service (a contact)."""
        ticket_id = int(request.path_params["ticket_id"])
        contact_id = str((form or {}).get("contact") or "")
        ticket = await self.queue.get(ticket_id)
        kb = self.content.current.kb
        contact = kb.contacts.get(contact_id)
        user = session.user
        if ticket is None or contact is None or ticket.status != "claimed" or ticket.mediator != user.actor:
            told = urlencode({"told": self._t("cannot_refer")})
            return RedirectResponse(f"/console/tickets/{ticket_id}?{told}", status_code=303)
        now = self.clock()
        locales = self.content.current.locales
        lang = ticket.language

        async def work(conn: AsyncConnection) -> None:
            referral_id = (
                await conn.execute(
                    insert(referrals)
                    .values(
                        ticket_id=ticket_id,
                        person_id=ticket.person_id,
                        contact_id=contact_id,
                        status="asked",
                        mediator=user.actor,
                        mediator_name=user.name,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(referrals.c.id)
                )
            ).scalar_one()
            question = locales.text(lang, "referral.ask", name=user.name, service=contact.display_name(lang))
            buttons = [
                Button(locales.text(lang, "button.yes"), f"{PAYLOAD_REFERRAL}{referral_id}:yes"),
                Button(locales.text(lang, "button.no"), f"{PAYLOAD_REFERRAL}{referral_id}:no"),
            ]
            await self.desk.tell_person(conn, ticket, question, now, buttons=buttons, intent="referral")
            await audit.record(
                conn,
                now,
                user.actor,
                user.name,
                "refer",
                ticket_id=ticket_id,
                person_id=ticket.person_id,
                detail=contact_id,
            )

        await self.store.write(work)
        return RedirectResponse(f"/console/tickets/{ticket_id}", status_code=303)

    async def referral_status(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        """Follow a referral the person agreed to: sent, accepted by the service, done (or cancelled)."""
        referral_id = int(request.path_params["referral_id"])
        wanted = str((form or {}).get("status") or "")
        allowed = REFERRAL_STEPS.get(wanted)
        now = self.clock()
        user = session.user

        async def work(conn: AsyncConnection) -> int | None:
            values: dict[str, Any] = {"status": wanted, "updated_at": now}
            values["follow_up_at"] = now + self.follow_up if wanted in ("sent", "accepted") else None
            condition = [referrals.c.id == referral_id, referrals.c.status.in_(allowed or ())]
            if user.role not in AUDIT_ROLES:
                condition.append(referrals.c.mediator == user.actor)
            row = (
                await conn.execute(
                    update(referrals).where(*condition).values(**values).returning(referrals.c.ticket_id)
                )
            ).first()
            if row is not None:
                await audit.record(conn, now, user.actor, user.name, "referral", ticket_id=row.ticket_id, detail=wanted)
            return row.ticket_id if row is not None else None

        ticket_id = await self.store.write(work) if allowed else None
        if ticket_id is None:
            return RedirectResponse("/console/inbox", status_code=303)
        return RedirectResponse(f"/console/tickets/{ticket_id}", status_code=303)

    async def file(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        """A file of a conversation, for the console only: shown inline if it is an image or a PDF."""
        file_id = int(request.path_params["file_id"])
        described = await self.files.describe(file_id)
        if described is None or described.status != "ready":
            return Response(status_code=404)
        data = await self.files.content(file_id) or b""
        mime = described.mime if described.mime in SHOWN_INLINE else "application/octet-stream"
        disposition = "inline" if mime in SHOWN_INLINE else "attachment"
        name = (described.filename or f"file-{file_id}").replace('"', "")
        user = session.user
        now = self.clock()
        await self.store.write(
            lambda conn: audit.record(
                conn, now, user.actor, user.name, "file", ticket_id=described.ticket_id, detail=f"file {file_id}"
            )
        )
        headers = {
            "Content-Disposition": f'{disposition}; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        }
        return Response(data, media_type=mime, headers=headers)

    async def send_file(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        """A photo or a PDF for the person (a letter to sign, a map, a form), with an optional caption."""
        ticket_id = int(request.path_params["ticket_id"])
        ticket = await self.queue.get(ticket_id)
        user = session.user
        upload = (form or {}).get("file")
        where = f"/console/tickets/{ticket_id}"
        if ticket is None or ticket.status != "claimed" or ticket.mediator != user.actor:
            return RedirectResponse(where + "?" + urlencode({"told": self._t("cannot_send_file")}), status_code=303)
        if upload is None or isinstance(upload, str):
            return RedirectResponse(where, status_code=303)
        data = await upload.read()
        mime = sniff_type(data)
        if mime is None:
            return RedirectResponse(where + "?" + urlencode({"told": self._t("file_type")}), status_code=303)
        filename = _safe_filename(upload.filename or "", mime)
        caption = str((form or {}).get("caption") or "").strip()[:1000]
        now = self.clock()

        async def work(conn: AsyncConnection) -> None:
            sent = await self.desk.send_file(conn, ticket, user.name, data, mime, filename, caption, now)
            await audit.record(
                conn,
                now,
                user.actor,
                user.name,
                "send_file" if sent else "refused",
                ticket_id=ticket_id,
                person_id=ticket.person_id,
                detail=f"{mime}, {len(data)} bytes",
            )

        await self.store.write(work)
        return RedirectResponse(where, status_code=303)

    async def _referrals(self, conn: AsyncConnection, ticket_id: int) -> list[dict[str, Any]]:
        kb = self.content.current.kb
        rows = await conn.execute(select(referrals).where(referrals.c.ticket_id == ticket_id).order_by(referrals.c.id))
        return [
            {
                "id": r.id,
                "service": kb.contacts[r.contact_id].display_name(self.text.lang)
                if r.contact_id in kb.contacts
                else r.contact_id,
                "status": r.status,
                "next": [step for step, before in REFERRAL_STEPS.items() if r.status in before],
                "follow_up_at": as_utc(r.follow_up_at),
            }
            for r in rows
        ]

    async def _follow_ups(self, session: StaffSession) -> list[dict[str, Any]]:
        """Referrals of this mediator whose follow-up day has come."""
        kb = self.content.current.kb
        query = (
            select(referrals)
            .where(
                referrals.c.mediator == session.user.actor,
                referrals.c.status.in_(("sent", "accepted")),
                referrals.c.follow_up_at <= self.clock(),
            )
            .order_by(referrals.c.follow_up_at)
        )
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            {
                "ticket_id": r.ticket_id,
                "service": kb.contacts[r.contact_id].display_name(self.text.lang)
                if r.contact_id in kb.contacts
                else r.contact_id,
                "status": r.status,
            }
            for r in rows
        ]

    async def note(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        """A private note: stored beside the ticket for colleagues, never sent to the person."""
        ticket_id = int(request.path_params["ticket_id"])
        text = str((form or {}).get("text") or "").strip()[:MAX_TEXT]
        ticket = await self.queue.get(ticket_id)
        if ticket is None or ticket.person_id is None or not text:
            return RedirectResponse(f"/console/tickets/{ticket_id}", status_code=303)
        now = self.clock()
        user = session.user
        person_id = ticket.person_id

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(
                insert(ticket_notes).values(
                    ticket_id=ticket_id,
                    person_id=person_id,
                    author=user.actor,
                    author_name=user.name,
                    text=text,
                    created_at=now,
                )
            )
            await audit.record(conn, now, user.actor, user.name, "note", ticket_id=ticket_id, person_id=person_id)

        await self.store.write(work)
        return RedirectResponse(f"/console/tickets/{ticket_id}", status_code=303)

    async def audit(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        ticket_id = request.query_params.get("ticket")
        entries = await audit.recent(
            self.store, ticket_id=int(ticket_id) if ticket_id and ticket_id.isdigit() else None
        )
        return self.render("audit.html", session=session, entries=entries)

    # -- live updates -----------------------------------------------------------------------------

    async def _signature(self) -> tuple[Any, ...]:
        """Changes whenever an open ticket, a message or a note changes (cheap: open tickets are few)."""
        async with self.store.engine.connect() as conn:
            open_tickets = tuple(
                (r.id, r.status, r.mediator, r.last_activity_at)
                for r in await conn.execute(
                    select(tickets.c.id, tickets.c.status, tickets.c.mediator, tickets.c.last_activity_at)
                    .where(tickets.c.status.in_(OPEN))
                    .order_by(tickets.c.id)
                )
            )
            last_closed = (await conn.execute(select(func.max(tickets.c.closed_at)))).scalar()
            last_message = (await conn.execute(select(func.max(messages.c.id)))).scalar()
            last_note = (await conn.execute(select(func.max(ticket_notes.c.id)))).scalar()
        return open_tickets, last_closed, last_message, last_note

    async def events(self, request: Request, session: StaffSession, form: FormData | None) -> Response:
        async def stream() -> AsyncIterator[str]:
            yield "retry: 2000\n\n"
            last = await self._signature()
            quiet = 0.0
            while not await request.is_disconnected():
                await asyncio.sleep(EVENTS_POLL_SECONDS)
                now_signature = await self._signature()
                if now_signature != last:
                    last = now_signature
                    quiet = 0.0
                    yield "event: change\ndata: {}\n\n"
                else:
                    quiet += EVENTS_POLL_SECONDS
                    if quiet >= EVENTS_KEEPALIVE_SECONDS:
                        quiet = 0.0
                        yield ": still here\n\n"

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


LONG_ANSWER = 280  # characters: longer bot answers are folded in the transcript


def _message(direction: str, text: str, intent: str | None, at: dt.datetime | None) -> dict[str, Any]:
    """A transcript line. The bot's own answers are Markdown: shown formatted (escaped, safe)."""
    html = None
    if direction == "out" and intent != "mediator":
        try:
            html = Markup(to_telegram_html(text))
        except ValueError:
            html = None
    return {
        "direction": direction,
        "text": text,
        "html": html,
        "intent": intent,
        "at": at,
        "fold": html is not None and len(text) > LONG_ANSWER,
        "first_line": text.strip().split("\n", 1)[0].strip("*")[:120],
    }


MAX_LABELS = 8


def _label(word: str) -> str:
    """A label: lower case, letters, digits and '-', at most 30 characters."""
    return re.sub(r"[^\w-]+", "-", word.strip().casefold()).strip("-")[:30]


# A referral's next status, and the statuses it may come from.
REFERRAL_STEPS: dict[str, tuple[str, ...]] = {
    "sent": ("agreed",),
    "accepted": ("sent",),
    "done": ("sent", "accepted"),
    "cancelled": ("asked", "agreed", "sent", "accepted"),
}


async def _too_large(request: Request, exc: Exception) -> Response:
    return Response("The form is too large.", status_code=413)


def _safe_filename(name: str, mime: str) -> str:
    """A plain file name for the person's app: no folders, no odd characters, the right extension."""
    stem = re.sub(r"[^\w.-]+", "_", name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip("._")[:80] or "document"
    extension = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}[mime]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return stem + extension
