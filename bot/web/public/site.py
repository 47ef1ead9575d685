"""The public pages: the web chat and its API, and the help centre with the service directory.

Help pages are the knowledge base as plain HTML, one per entry and language, rendered on the
server and cached (by content version) with an ETag; the chat page is static apart from its
language. The chat API accepts a message only after it is stored (``accept_update``), answers
through the outbox, and streams a conversation's mailbox as server-sent events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import logging
import re
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import insert
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles

from bot.channels import web
from bot.content import ContentService
from bot.handlers.answer import _contacts, _notes, shown_sources
from bot.intake import Refused, parse_json_object, read_limited
from bot.kb.model import TOPICS, Contact, Entry
from bot.render import is_rtl, to_html
from bot.store import Store
from bot.store.schema import page_feedback
from nlu.languages import LANGUAGES

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
DEEP_LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CACHE_SECONDS = 300
STREAM_CHECK_SECONDS = 3.0  # a stream looks in the mailbox at least this often (news from other instances)
STREAM_SECONDS = 55.0  # then it ends; the browser reconnects (proxies close long idle requests)
LATE_COMMITS = dt.timedelta(seconds=30)  # a stream also looks at what was written this recently
MAX_STREAMS = 2_000  # open event streams in this process, and per address
MAX_STREAMS_PER_ADDRESS = 20
SEARCH_RESULTS = 5


class RateLimit:
    """At most ``count`` events per ``seconds`` per key (a conversation, an address), in this
    process: a sliding window of timestamps, forgotten once idle."""

    def __init__(self, count: int, seconds: float):
        self.count = count
        self.seconds = seconds
        self._seen: OrderedDict[str, list[float]] = OrderedDict()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        times = [t for t in self._seen.pop(key, []) if now - t < self.seconds]
        allowed = len(times) < self.count
        if allowed:
            times.append(now)
        self._seen[key] = times
        while len(self._seen) > 50_000:  # bounded memory under a flood of new keys
            self._seen.popitem(last=False)
        return allowed


class PublicSite:
    def __init__(
        self,
        store: Store,
        content: ContentService,
        news: web.WebNews,
        wake_inbox: Any,
        *,
        frame_origins: tuple[str, ...] = (),
        per_conversation: tuple[int, float] = (20, 60.0),
        per_address: tuple[int, float] = (120, 60.0),
        max_bytes: int = 20_000,
        public_url: str | None = None,
    ):
        self.store = store
        self.content = content
        self.news = news
        self.wake_inbox = wake_inbox
        self.frame_origins = frame_origins
        self.per_conversation = RateLimit(*per_conversation)
        self.per_address = RateLimit(*per_address)
        self.max_bytes = max_bytes
        self.reads = RateLimit(600, 60.0)  # mailbox reads and searches per address
        self.public_url = public_url.rstrip("/") if public_url else None
        self.streams: dict[str, int] = {}
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
        self._pages: OrderedDict[tuple[int, str], tuple[str, str]] = OrderedDict()

    # -- plumbing -----------------------------------------------------------------------------------

    def routes(self) -> list[Any]:
        return [
            Mount("/site/static", app=StaticFiles(directory=HERE / "static"), name="site-static"),
            Route("/chat", self.chat_page, methods=["GET"]),
            Route("/chat/widget.js", self.widget, methods=["GET"]),
            Mount(
                "/chat/api",
                app=Router(
                    [
                        Route("/send", self.send, methods=["POST"]),
                        Route("/messages", self.messages, methods=["GET"]),
                        Route("/stream", self.stream, methods=["GET"]),
                    ]
                ),
            ),
            Route("/help", self.help_root, methods=["GET"]),
            Route("/help/", self.help_root, methods=["GET"]),
            Route("/help/feedback", self.feedback, methods=["POST"]),
            Route("/help/{lang}/", self.help_home, methods=["GET"]),
            Route("/help/{lang}/search", self.help_search, methods=["GET"]),
            Route("/help/{lang}/services", self.help_services, methods=["GET"]),
            Route("/help/{lang}/{entry_id}", self.help_entry, methods=["GET"]),
            Route("/sitemap.xml", self.sitemap, methods=["GET"]),
            Route("/robots.txt", self.robots, methods=["GET"]),
        ]

    def _security(self, response: Response, *, frame: bool = False) -> Response:
        ancestors = " ".join(("'self'", *self.frame_origins)) if frame else "'none'"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"connect-src 'self'; frame-ancestors {ancestors}; form-action 'self'; base-uri 'none'"
        )
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def _t(self, lang: str):
        locales = self.content.current.locales

        def t(key: str, **values: object) -> str:
            return locales.text(lang, key, **values)

        return t

    def _languages(self) -> list[tuple[str, str]]:
        locales = self.content.current.locales
        return [(code, locales.native_name(code)) for code in LANGUAGES]

    def _render(self, template: str, lang: str, **values: Any) -> str:
        return self.env.get_template(template).render(
            lang=lang, rtl=is_rtl(lang), t=self._t(lang), languages=self._languages(), **values
        )

    def _cached_page(self, request: Request, key: str, build: Any) -> Response:
        """A help page from the cache of this content version, with an ETag (304 when unchanged)."""
        version = self.content.current.version
        found = self._pages.get((version, key))
        if found is None:
            html = build()
            if html is None:
                return self._security(HTMLResponse("Not found", status_code=404))
            found = (html, '"' + hashlib.sha256(html.encode()).hexdigest()[:20] + '"')
            self._pages[(version, key)] = found
            while len(self._pages) > 2_000:
                self._pages.popitem(last=False)
        html, etag = found
        headers = {"ETag": etag, "Cache-Control": f"public, max-age={CACHE_SECONDS}"}
        if request.headers.get("if-none-match") == etag:
            return self._security(Response(status_code=304, headers=headers))
        return self._security(HTMLResponse(html, headers=headers))

    # -- the web chat -------------------------------------------------------------------------------

    def _page_language(self, request: Request) -> tuple[str, bool]:
        """The language asked for (``?lang=``, explicit) or the browser's first known one."""
        asked = request.query_params.get("lang", "")[:2].lower()
        if asked in LANGUAGES:
            return asked, True
        for part in request.headers.get("accept-language", "").split(","):
            code = part.split(";")[0].strip()[:2].lower()
            if code in LANGUAGES:
                return code, False
        return "en", False

    async def chat_page(self, request: Request) -> Response:
        lang, explicit = self._page_language(request)
        start = request.query_params.get("start", "")
        start = start if DEEP_LINK.match(start) else ""  # as in a poster's link: "uk_health"
        html = self._render(
            "chat.html", lang, embed=request.query_params.get("embed") == "1", explicit=explicit, start=start
        )
        return self._security(HTMLResponse(html, headers={"Cache-Control": "no-store"}), frame=True)

    async def widget(self, request: Request) -> Response:
        script = (HERE / "static" / "widget.js").read_bytes()
        headers = {"Cache-Control": f"public, max-age={CACHE_SECONDS}", "Access-Control-Allow-Origin": "*"}
        return Response(script, media_type="text/javascript; charset=utf-8", headers=headers)

    async def send(self, request: Request) -> Response:
        address = client_address(request)
        try:
            body = await read_limited(request.stream(), request.headers.get("content-length"), self.max_bytes)
            data = web.check_message(parse_json_object(body, 8))
        except Refused as refused:
            return JSONResponse({"ok": False, "error": str(refused)}, status_code=refused.status)
        except web.Refused as refused:
            return JSONResponse({"ok": False, "error": str(refused)}, status_code=400)
        if not self.per_address.allow(address) or not self.per_conversation.allow(data["conversation"]):
            refusal = {"ok": False, "error": "too many messages; wait a moment"}
            return JSONResponse(refusal, status_code=429, headers={"Retry-After": "10"})
        conversation = data["conversation"]
        shown = web.person_shown(data)
        mailbox = None
        if shown is not None:  # stored with the message, so it comes before the answer in the conversation
            me = {"from": "me", "html": str(Markup.escape(shown)), "dir": "auto", "id": data["id"]}
            now = dt.datetime.now(dt.UTC)
            mailbox = {"conversation": conversation, "ref": f"in:{data['id']}", "body": me, "created_at": now}
        await self.store.accept_update(web.CHANNEL, web.update_key(data), data, web.chat_key(data), mailbox=mailbox)
        self.wake_inbox()
        return JSONResponse({"ok": True})

    async def messages(self, request: Request) -> Response:
        conversation = web.valid_conversation(request.query_params.get("conversation"))
        if conversation is None:
            return JSONResponse({"error": "conversation: a random id"}, status_code=400)
        if not self.reads.allow(client_address(request)):
            return JSONResponse({"error": "too many requests"}, status_code=429, headers={"Retry-After": "10"})
        after = _integer(request.query_params.get("after"))
        found = await web.mailbox(self.store, conversation, after)
        return JSONResponse({"messages": found}, headers={"Cache-Control": "no-store"})

    async def stream(self, request: Request) -> Response:
        """Server-sent events: the mailbox after ``after`` (or the Last-Event-ID the browser
        resends on reconnecting), then each new message as it arrives."""
        conversation = web.valid_conversation(request.query_params.get("conversation"))
        if conversation is None:
            return JSONResponse({"error": "conversation: a random id"}, status_code=400)
        after = max(_integer(request.query_params.get("after")), _integer(request.headers.get("last-event-id")))
        address = client_address(request)
        if sum(self.streams.values()) >= MAX_STREAMS or self.streams.get(address, 0) >= MAX_STREAMS_PER_ADDRESS:
            return JSONResponse({"error": "too many open streams"}, status_code=429, headers={"Retry-After": "10"})
        self.streams[address] = self.streams.get(address, 0) + 1
        given: set[int] = set()

        async def events():
            nonlocal after
            try:
                yield "retry: 2000\n\n"
                ends = time.monotonic() + STREAM_SECONDS
                while time.monotonic() < ends:
                    found = await web.mailbox(self.store, conversation, after, look_back=LATE_COMMITS)
                    for message in found:
                        seq = message["seq"]
                        if seq in given:  # (the last moments' messages may come again after a reconnection:
                            continue  # the browser skips those it shows already)
                        given.add(seq)
                        after = max(after, seq)
                        yield f"id: {after}\ndata: {json.dumps(message, ensure_ascii=False)}\n\n"
                    if await request.is_disconnected():
                        return
                    await self.news.wait(conversation, STREAM_CHECK_SECONDS)
            finally:
                self.streams[address] -= 1
                if not self.streams[address]:
                    del self.streams[address]

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    # -- the help centre ----------------------------------------------------------------------------

    async def help_root(self, request: Request) -> Response:
        lang, _ = self._page_language(request)
        return RedirectResponse(f"/help/{lang}/", status_code=302)

    def _known(self, request: Request) -> str | None:
        lang = request.path_params["lang"]
        return lang if lang in LANGUAGES else None

    async def help_home(self, request: Request) -> Response:
        lang = self._known(request)
        if lang is None:
            return self._security(HTMLResponse("Not found", status_code=404))
        kb = self.content.current.kb

        def build() -> str:
            topics = [(topic, kb.entries_in_topic(topic, lang)) for topic in TOPICS]
            return self._render(
                "help_home.html",
                lang,
                topics=[(t, e) for t, e in topics if e],
                path="",
                alternates=self._alternates(""),
            )

        return self._cached_page(request, f"home:{lang}", build)

    async def help_entry(self, request: Request) -> Response:
        lang = self._known(request)
        kb = self.content.current.kb
        entry = kb.entries.get(request.path_params["entry_id"])
        if lang is None or entry is None:
            return self._security(HTMLResponse("Not found", status_code=404))
        thanks = request.query_params.get("thanks") in ("1", "0")

        def build() -> str:
            return self._entry_page(entry, lang, thanks)

        return self._cached_page(request, f"entry:{lang}:{entry.id}:{thanks}", build)

    def _entry_page(self, entry: Entry, lang: str, thanks: bool) -> str:
        content = self.content.current
        text = entry.translation(lang)
        notes = [n.strip("_") for n in _notes(content.locales, entry, lang)]
        return self._render(
            "help_entry.html",
            lang,
            entry=entry,
            text=text,
            text_lang=text.lang,
            answer=Markup(to_html(text.answer)),
            notes=notes,
            contacts=[_card(c, lang) for c in _contacts(content.kb, entry)],
            sources=shown_sources(entry),
            checked=entry.last_verified.strftime("%d.%m.%Y"),
            related=[content.kb.entries[r] for r in entry.related if r in content.kb.entries],
            chat_start=f"{lang}_{entry.id.replace('.', '-')}",
            thanks=thanks,
            path=entry.id,
            alternates=self._alternates(entry.id),
        )

    async def help_search(self, request: Request) -> Response:
        lang = self._known(request)
        if lang is None:
            return self._security(HTMLResponse("Not found", status_code=404))
        query = request.query_params.get("q", "").strip()[:300]
        found: list[Entry] = []
        content = self.content.current
        if query and not self.reads.allow("search:" + client_address(request)):
            return self._security(HTMLResponse("Too many searches; wait a moment.", status_code=429))
        if query:
            prediction = await content.matcher.match(query, lang)
            ids = [prediction.intent] if prediction.intent in content.kb.entries else []
            ids += [c.intent for c in prediction.candidates if c.intent in content.kb.entries]
            found = [content.kb.entries[i] for i in dict.fromkeys(ids)][:SEARCH_RESULTS]
        html = self._render("help_search.html", lang, query=query, found=found, path="search", alternates=[])
        return self._security(HTMLResponse(html, headers={"Cache-Control": "no-store"}))

    async def help_services(self, request: Request) -> Response:
        lang = self._known(request)
        if lang is None:
            return self._security(HTMLResponse("Not found", status_code=404))
        kb = self.content.current.kb

        def build() -> str:
            groups = []
            for topic in TOPICS:
                ids: dict[str, None] = {}
                for entry in kb.entries_in_topic(topic, lang):
                    ids.update(dict.fromkeys(c for c in entry.contacts if c in kb.contacts))
                if ids:
                    groups.append((topic, [_card(kb.contacts[c], lang) for c in ids]))
            return self._render(
                "help_services.html", lang, groups=groups, path="services", alternates=self._alternates("services")
            )

        return self._cached_page(request, f"services:{lang}", build)

    async def feedback(self, request: Request) -> Response:
        """A help page's "Was this helpful?": counted, with no trace of who answered."""
        address = client_address(request)
        try:
            body = await read_limited(request.stream(), request.headers.get("content-length"), 2_000)
        except Refused as refused:
            return self._security(HTMLResponse(refused.reason, status_code=refused.status))
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", errors="replace")).items()}
        entry_id, lang, helpful = form.get("entry", ""), form.get("lang", ""), form.get("helpful", "")
        if entry_id not in self.content.current.kb.entries or lang not in LANGUAGES or helpful not in ("1", "0"):
            return self._security(HTMLResponse("Not a page of the help centre", status_code=400))
        if self.per_address.allow("feedback:" + address):
            now = dt.datetime.now(dt.UTC)
            row = {"entry_id": entry_id, "language": lang, "helpful": helpful == "1", "created_at": now}
            await self.store.write(lambda conn: conn.execute(insert(page_feedback).values(**row)))
        return RedirectResponse(f"/help/{lang}/{entry_id}?thanks={helpful}#feedback", status_code=303)

    def _alternates(self, path: str) -> list[tuple[str, str]]:
        return [(code, f"/help/{code}/{path}") for code in LANGUAGES]

    async def sitemap(self, request: Request) -> Response:
        base = self.public_url or str(request.base_url).rstrip("/")
        kb = self.content.current.kb
        paths = ["", "services", *sorted(kb.entries)]
        lines = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">',
        ]
        for path in paths:
            modified = kb.entries[path].last_verified.isoformat() if path in kb.entries else None
            for lang in LANGUAGES:
                lines.append(f"<url><loc>{base}/help/{lang}/{quote(path)}</loc>")
                if modified:
                    lines.append(f"<lastmod>{modified}</lastmod>")
                lines.extend(
                    f'<xhtml:link rel="alternate" hreflang="{other}" href="{base}/help/{other}/{quote(path)}"/>'
                    for other in LANGUAGES
                )
                lines.append("</url>")
        lines.append("</urlset>")
        headers = {"Cache-Control": f"public, max-age={CACHE_SECONDS}"}
        return Response("\n".join(lines), media_type="application/xml", headers=headers)

    async def robots(self, request: Request) -> Response:
        base = self.public_url or str(request.base_url).rstrip("/")
        body = f"User-agent: *\nAllow: /help/\nDisallow: /chat/api/\nDisallow: /console/\nSitemap: {base}/sitemap.xml\n"
        return Response(body, media_type="text/plain")


def _card(contact: Contact, lang: str) -> dict[str, Any]:
    """A contact as the directory and the help pages show it."""
    map_link = None
    if contact.coordinates:
        lat, lon = contact.coordinates
        map_link = f"https://www.openstreetmap.org/?{urlencode({'mlat': lat, 'mlon': lon})}#map=17/{lat}/{lon}"
    elif contact.address:
        map_link = "https://www.openstreetmap.org/search?" + urlencode({"query": contact.address})
    return {
        "id": contact.id,
        "name": contact.display_name(lang),
        "official": contact.official_name(lang),
        "address": contact.address,
        "phones": contact.phones,
        "email": contact.email,
        "website": contact.website,
        "hours": contact.hours,
        "note": contact.note(lang),
        "confirmed": contact.confirmed,
        "map": map_link,
        "coordinates": contact.coordinates,
    }


def _integer(value: str | None) -> int:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 18 else 0


def client_address(request: Request) -> str:
    """Who is asking, for rate limits: the address (as the trusted proxy says, see TRUSTED_PROXIES);
    an IPv6 address by its /64 network, which one household or phone gets."""
    host = request.client.host if request.client else "unknown"
    if ":" in host:
        try:
            return str(ipaddress.ip_network(f"{host}/64", strict=False))
        except ValueError:
            return host
    return host
