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
from starlette.responses import JSONResponse, Response
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
    # Groups with topics: chat id -> thread id -> {"name", "closed"}; members: chat -> user -> status.
    topics: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    members: dict[int, dict[int, str]] = field(default_factory=dict)
    bot_manages_topics: bool = True  # the bot is an administrator with the "manage topics" right
    files: dict[str, bytes] = field(default_factory=dict)  # file_id -> content, for getFile and downloads
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

    def in_topic(self, chat_id: int, thread_id: int | None) -> list[str]:
        """Texts the bot posted in one topic of a group, in order."""
        return [
            c.params["text"]
            for c in self.sent(chat_id)
            if c.method == "sendMessage" and int(c.params.get("message_thread_id") or 0) == int(thread_id or 0)
        ]

    def topic_named(self, chat_id: int, prefix: str) -> int:
        """The thread id of the (last created, still existing) topic whose name starts with ``prefix``."""
        with self._lock:
            found = [t for t, topic in self.topics.get(chat_id, {}).items() if topic["name"].startswith(prefix)]
        if not found:
            raise AssertionError(f"no topic {prefix!r}; topics: {self.topics.get(chat_id)}")
        return found[-1]

    def delete_topic_by_hand(self, chat_id: int, thread_id: int) -> None:
        with self._lock:
            del self.topics[chat_id][thread_id]

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
        if request.headers.get("content-type", "").startswith("multipart/form-data"):  # files (sendPhoto...)
            files: dict[str, Any] = {}
            async with request.form() as form:
                for key, value in form.multi_items():
                    if isinstance(value, str):
                        files[key] = value
                    else:
                        files[key] = {"filename": value.filename, "content": await value.read()}
            return files
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
            "chat": {"id": int(params["chat_id"]), "type": "private" if int(params["chat_id"]) > 0 else "supergroup"},
            "from": BOT_USER,
        }
        if params.get("message_thread_id"):
            result["message_thread_id"] = int(params["message_thread_id"])
            result["is_topic_message"] = True
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
        refusal = self._topic_refusal(method, params)
        if refusal is not None:
            return self._record(method, params, 400, {"ok": False, "error_code": 400, "description": refusal})
        if method == "getFile" and str(params.get("file_id")) not in self.files:
            return self._record(
                method, params, 400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
            )
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
        if method == "getFile":
            file_id = str(params.get("file_id"))
            data = self.files[file_id]
            return {
                "file_id": file_id,
                "file_unique_id": "u" + file_id,
                "file_size": len(data),
                "file_path": f"documents/{file_id}",
            }
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
        if method == "createForumTopic":
            with self._lock:
                self._next_message_id += 1
                thread_id = self._next_message_id
                self.topics.setdefault(int(params["chat_id"]), {})[thread_id] = {
                    "name": params["name"],
                    "closed": False,
                }
            return {"message_thread_id": thread_id, "name": params["name"], "icon_color": 7322096}
        if method in ("closeForumTopic", "reopenForumTopic"):
            with self._lock:
                self.topics[int(params["chat_id"])][int(params["message_thread_id"])]["closed"] = (
                    method == "closeForumTopic"
                )
            return True
        if method == "deleteForumTopic":
            with self._lock:
                del self.topics[int(params["chat_id"])][int(params["message_thread_id"])]
            return True
        if method == "getChatMember":
            status = self.members.get(int(params["chat_id"]), {}).get(int(params["user_id"]), "left")
            user = {"id": int(params["user_id"]), "is_bot": False, "first_name": "Someone"}
            member: dict[str, Any] = {"status": status, "user": user}
            if status == "administrator":  # the Bot API sends every right of an administrator
                rights = (
                    "can_be_edited is_anonymous can_manage_chat can_delete_messages can_manage_video_chats "
                    "can_restrict_members can_promote_members can_change_info can_invite_users can_post_stories "
                    "can_edit_stories can_delete_stories can_manage_topics can_pin_messages"
                )
                member.update({right: right != "is_anonymous" for right in rights.split()})
            return member
        if method in ("sendPhoto", "sendDocument"):
            return self._message(params)
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

    def _topic_refusal(self, method: str, params: dict[str, Any]) -> str | None:
        """Telegram's answers for missing or closed topics in a forum group."""
        chat = params.get("chat_id")
        if (
            chat is None
            or int(chat) > 0
            or method
            not in (
                "sendMessage",
                "closeForumTopic",
                "reopenForumTopic",
                "deleteForumTopic",
            )
        ):
            return None
        thread = params.get("message_thread_id")
        if thread is None:
            return None
        with self._lock:
            topic = self.topics.get(int(chat), {}).get(int(thread))
        if topic is None:
            return "Bad Request: message thread not found"
        if method == "sendMessage" and topic["closed"] and not self.bot_manages_topics:
            return "Bad Request: TOPIC_CLOSED"  # an administrator with "manage topics" may still post
        if method == "closeForumTopic" and topic["closed"]:
            return "Bad Request: TOPIC_NOT_MODIFIED"
        return None

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

    async def download(self, request: Request) -> Response:
        """``https://api.telegram.org/file/bot<token>/<file_path>``, as ``getFile`` named it."""
        if request.path_params["token"] != self.token:
            return Response(status_code=401)
        path = request.path_params["path"]
        data = self.files.get(path.removeprefix("documents/"))
        with self._lock:
            self.calls.append(Call("download", {"file_path": path}, time.monotonic(), 200 if data else 404))
        return Response(data, media_type="application/octet-stream") if data is not None else Response(status_code=404)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self.handle, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self.download, methods=["GET"]),
            ]
        )


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


def photo_update(chat_id: int, file_id: str, *, caption: str | None = None, lang: str | None = "en") -> dict[str, Any]:
    """A photo as Telegram sends it: several sizes of one picture, smallest first."""
    update = text_update(chat_id, "", lang=lang)
    del update["message"]["text"]
    update["message"]["photo"] = [
        {"file_id": file_id + "-small", "file_unique_id": "s" + file_id, "width": 90, "height": 60},
        {"file_id": file_id, "file_unique_id": "l" + file_id, "width": 1280, "height": 853},
    ]
    if caption:
        update["message"]["caption"] = caption
    return update


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


def group_text_update(
    chat_id: int,
    user: dict[str, Any],
    text: str,
    *,
    thread_id: int | None = None,
    reply_to: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A message in a forum supergroup, in a topic (``thread_id``) or in General."""
    message: dict[str, Any] = {
        "message_id": next(_counter),
        "date": int(time.time()),
        "text": text,
        "chat": {"id": chat_id, "type": "supergroup", "title": "Mediators", "is_forum": True},
        "from": user,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    if thread_id is not None:
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
        # Inside a topic, Telegram makes every message a reply to the topic's first message.
        message["reply_to_message"] = reply_to or {
            "message_id": thread_id,
            "date": int(time.time()),
            "chat": message["chat"],
            "from": BOT_USER,
            "forum_topic_created": {"name": "topic", "icon_color": 7322096},
        }
    return {"update_id": next(_counter), "message": message}


def group_button_update(chat_id: int, user: dict[str, Any], data: str, *, message_id: int = 1) -> dict[str, Any]:
    return {
        "update_id": next(_counter),
        "callback_query": {
            "id": str(next(_counter)),
            "from": user,
            "chat_instance": "group",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "text": "card",
                "chat": {"id": chat_id, "type": "supergroup", "title": "Mediators", "is_forum": True},
                "from": BOT_USER,
            },
        },
    }
