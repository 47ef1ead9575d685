"""A local stand-in for the Telegram Bot API, speaking its HTTP interface.

It answers ``/bot<token>/<method>`` like Telegram does (form-encoded or JSON requests, ``reply_markup``
as JSON in a field), serves ``getUpdates`` long polling from a queue, records every call, and can be
told to fail: 429 with ``retry_after``, 5xx, 403 (blocked), slow answers (timeouts).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BOT_USER = {
    "id": 777000111,
    "is_bot": True,
    "first_name": "Acasă",
    "username": "acasa_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int


@dataclass
class Fault:
    status: int
    retry_after: int | None = None
    delay: float = 0.0
    description: str = "Internal Server Error"


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-token"
    calls: list[Call] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    down: bool = False  # every sending method answers 500 while set
    blocked_chats: set[int] = field(default_factory=set)
    webhook: dict[str, Any] = field(default_factory=dict)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _next_message_id: int = 1000
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- test helpers -----------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        delay: float = 0.0,
        description: str = "Internal Server Error",
    ) -> None:
        with self._lock:
            self.faults.setdefault(method, []).extend([Fault(status, retry_after, delay, description)] * times)

    def queue_update(self, update: dict[str, Any]) -> None:
        with self._lock:
            self._updates.append(update)

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Successful sendMessage/editMessageText calls, in order, optionally for one chat."""
        with self._lock:
            calls = [c for c in self.calls if c.status == 200 and c.method in ("sendMessage", "editMessageText")]
        return [c for c in calls if chat_id is None or int(c.params["chat_id"]) == chat_id]

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, condition, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls so far: {[(c.method, c.status) for c in self.calls][-20:]}")
            time.sleep(0.02)

    # -- the API ----------------------------------------------------------------------------------

    async def _params(self, request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            body = await request.body()
            return json.loads(body) if body else {}
        body = (await request.body()).decode()
        params: dict[str, Any] = {}
        for key, value in parse_qsl(body, keep_blank_values=True):
            if isinstance(value, str) and value[:1] in "[{":
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            params[key] = value
        return params

    def _message(self, params: dict[str, Any], message_id: int | None = None) -> dict[str, Any]:
        if message_id is None:
            self._next_message_id += 1
            message_id = self._next_message_id
        result = {
            "message_id": message_id,
            "date": int(time.time()),
            "text": params.get("text", ""),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "from": BOT_USER,
        }
        if params.get("reply_markup"):
            result["reply_markup"] = params["reply_markup"]
        return result

    async def handle(self, request: Request) -> JSONResponse:
        token, method = request.path_params["token"], request.path_params["method"]
        params = await self._params(request)
        if token != self.token:
            return self._record(method, params, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        with self._lock:
            queue = self.faults.get(method) or []
            fault = queue.pop(0) if queue else None
        if fault is None and self.down and method in ("sendMessage", "editMessageText", "answerCallbackQuery"):
            fault = Fault(500)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status == 200:
                fault = None  # only slow
        if fault is not None:
            body: dict[str, Any] = {"ok": False, "error_code": fault.status, "description": fault.description}
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
                body["description"] = f"Too Many Requests: retry after {fault.retry_after}"
            return self._record(method, params, fault.status, body)
        chat = params.get("chat_id")
        if method in ("sendMessage", "editMessageText") and chat is not None and int(chat) in self.blocked_chats:
            return self._record(
                method,
                params,
                403,
                {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
            )
        return self._record(method, params, 200, {"ok": True, "result": await self._result(method, params)})

    async def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "setWebhook":
            self.webhook = params
            return True
        if method == "deleteWebhook":
            self.webhook = {}
            return True
        if method == "getUpdates":
            return await self._get_updates(int(params.get("offset") or 0), float(params.get("timeout") or 0))
        if method == "sendMessage":
            return self._message(params)
        if method == "editMessageText":
            return self._message(params, int(params["message_id"]))
        if method == "answerCallbackQuery":
            return True
        if method == "sendVenue":
            return dict(
                self._message(params),
                venue={
                    "title": params.get("title"),
                    "address": params.get("address"),
                    "location": {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])},
                },
            )
        return True

    async def _get_updates(self, offset: int, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + min(timeout, 2.0)  # short polls keep tests quick
        while True:
            with self._lock:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = list(self._updates)
            if ready or time.monotonic() >= deadline:
                return ready
            await asyncio.sleep(0.05)

    def _record(self, method: str, params: dict[str, Any], status: int, body: dict[str, Any]) -> JSONResponse:
        with self._lock:
            self.calls.append(Call(method, params, time.monotonic(), status))
        return JSONResponse(body, status_code=status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/bot{token}/{method}", self.handle, methods=["GET", "POST"])])


# -- building updates as Telegram sends them ----------------------------------------------------

_counter = iter(range(10_000, 10_000_000))


def text_update(chat_id: int, text: str, *, lang: str | None = "en", update_id: int | None = None) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Test"}
    if lang:
        user["language_code"] = lang
    return {
        "update_id": update_id or next(_counter),
        "message": {
            "message_id": next(_counter),
            "date": int(time.time()),
            "text": text,
            "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
            "from": user,
        },
    }


def location_update(chat_id: int, latitude: float, longitude: float, *, lang: str | None = "en") -> dict[str, Any]:
    update = text_update(chat_id, "", lang=lang)
    del update["message"]["text"]
    update["message"]["location"] = {"latitude": latitude, "longitude": longitude}
    return update


def button_update(
    chat_id: int, data: str, *, message_id: int = 1, lang: str | None = "en", update_id: int | None = None
) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Test"}
    if lang:
        user["language_code"] = lang
    return {
        "update_id": update_id or next(_counter),
        "callback_query": {
            "id": str(next(_counter)),
            "from": user,
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "text": "menu",
                "chat": {"id": chat_id, "type": "private"},
                "from": BOT_USER,
            },
        },
    }
