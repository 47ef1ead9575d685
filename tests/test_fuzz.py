"""Property-based fuzzing of every public endpoint over real HTTP, with and without valid secrets.

Over ten thousand generated requests — Telegram updates of every shape (and of none), Twilio form
posts signed correctly or not, garbage bytes, odd methods and paths — must never get a 5xx, and
everything the service stored must then be processed without a single failure.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from bot.server import create_app
from tests.fakes.servers import ThreadedServer, free_port
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.handoff.conftest import GROUP, desk_settings
from tests.telegram.conftest import SECRET

EXAMPLES = {"telegram": 4500, "whatsapp": 2500, "status": 1500, "anything": 1500}  # 10,000 requests


def fuzz(examples: int) -> settings:
    return settings(FUZZ, max_examples=examples)


FUZZ = settings(
    deadline=None,
    database=None,
    derandomize=True,  # the same requests on every run: a failure can be reproduced
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)

# -- strategies -------------------------------------------------------------------------------

json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_any = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
ids = st.integers(min_value=1, max_value=2**40) | st.integers() | st.just(GROUP) | json_leaf
texts = (
    st.text(max_size=200)
    | st.sampled_from(["/start", "/menu", "/human", "human", "forget", "yes", "1", "2", "da", "stop", "/close"])
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=50).map(lambda t: t + "\ud800")
)
user = st.fixed_dictionaries(
    {"id": ids, "is_bot": st.booleans(), "first_name": st.text(max_size=20)},
    optional={"language_code": st.sampled_from(["en", "uk", "ar", "zz"]) | json_leaf, "username": json_leaf},
)
chat = st.fixed_dictionaries(
    {"id": ids, "type": st.sampled_from(["private", "supergroup", "group", "channel"]) | json_leaf},
    optional={"is_forum": st.booleans(), "title": json_leaf},
)
message = st.fixed_dictionaries(
    {"message_id": ids, "date": st.integers(min_value=0, max_value=2**32) | json_leaf, "chat": chat | json_any},
    optional={
        "text": texts | json_leaf,
        "caption": texts,
        "from": user | json_any,
        "message_thread_id": ids,
        "is_topic_message": st.booleans(),
        "location": st.fixed_dictionaries({"latitude": json_leaf, "longitude": json_leaf}) | json_any,
        "photo": st.lists(st.fixed_dictionaries({"file_id": json_leaf, "width": ids, "height": ids}), max_size=2),
        "entities": json_any,
        "reply_to_message": json_any,
    },
)
callback = st.fixed_dictionaries(
    {"id": st.text(max_size=20) | json_leaf, "from": user | json_any, "chat_instance": json_leaf},
    optional={
        "message": message | json_any,
        "data": st.sampled_from(["lang:en", "menu", "human", "claim:1", "claim:99999999999", "forget:yes"]) | texts,
    },
)
update = st.fixed_dictionaries(
    {"update_id": st.integers(min_value=0, max_value=2**62) | ids},
    optional={"message": message | json_any, "callback_query": callback | json_any, "edited_message": json_any},
)
telegram_body = update | json_any | st.binary(max_size=300).map(lambda b: {"raw": b})
form_value = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
whatsapp_params = st.fixed_dictionaries(
    {"MessageSid": st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True) | form_value},
    optional={
        "From": st.sampled_from(["whatsapp:+40700000009", "whatsapp:+9779800000009"]) | form_value,
        "Body": texts.filter(lambda t: "\ud800" not in t) | form_value,
        "NumMedia": st.sampled_from(["0", "1", "x", ""]),
        "MediaUrl0": form_value,
        "Latitude": st.sampled_from(["45.75", "nan", "inf", "1e400", "abc"]),
        "Longitude": st.sampled_from(["21.22", "-inf", "999"]),
        "ButtonPayload": form_value,
        "ProfileName": form_value,
        "WaId": form_value,
    },
)
status_params = st.fixed_dictionaries(
    {"MessageSid": st.from_regex(r"SM[0-9]{32}", fullmatch=True) | form_value},
    optional={
        "MessageStatus": st.sampled_from(["sent", "delivered", "read", "failed", "undelivered"]) | form_value,
        "ErrorCode": st.sampled_from(["63016", "30008", ""]) | form_value,
    },
)

UPDATE_IDS = itertools.count(10**9)

# -- the service ------------------------------------------------------------------------------


class ErrorRecords(logging.Handler):
    """What the service logged at ERROR or above, while the module ran."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def fuzz_service(tmp_path: Path) -> Iterator[tuple[ThreadedServer, Path, ErrorRecords]]:
    """The service with Telegram, WhatsApp and a mediator desk, on fakes of both platforms."""
    fake_tg, fake_tw = FakeTelegram(), FakeTwilio()
    with ThreadedServer(fake_tg.app()) as tg_server, ThreadedServer(fake_tw.app()) as tw_server:
        fake_tg.url, fake_tw.url = tg_server.url, tw_server.url  # type: ignore[attr-defined]
        port = free_port()
        settings_ = replace(
            desk_settings(tmp_path, fake_tg, fake_tw, port),
            telegram_messages_per_second=None,  # replies to thousands of made-up chats: no pacing
            whatsapp_messages_per_second=None,
        )
        errors = ErrorRecords()
        logging.getLogger("bot").addHandler(errors)
        try:
            with ThreadedServer(create_app(settings_), port=port) as server:
                yield server, tmp_path / "acasa.db", errors
        finally:
            logging.getLogger("bot").removeHandler(errors)


def no_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])


def telegram_bytes(body: Any) -> bytes:
    if isinstance(body, dict) and isinstance(body.get("raw"), bytes):
        return body["raw"]
    return json.dumps(body).encode()


def twilio_post(server: ThreadedServer, client: httpx.Client, path: str, params: dict[str, str], signed: bool):
    body = urlencode(params)
    token = FakeTwilio.auth_token
    signature = RequestValidator(token).compute_signature(server.url + path, params) if signed else "bad"
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
    return client.post(server.url + path, content=body, headers=headers)


def raw_request(server: ThreadedServer, method: str, path: str, body: bytes, content_type: str, length: str | None):
    """Raw HTTP, so that even a Content-Length that lies reaches the service; the status, or None
    when the HTTP server closed the connection without one (how it refuses what is not HTTP)."""
    host, port = server.url.removeprefix("http://").split(":")
    head = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        "Connection: close",
        f"X-Telegram-Bot-Api-Secret-Token: {SECRET}",
    ]
    if content_type:
        head.append(f"Content-Type: {content_type}")
    head.append(f"Content-Length: {length if length is not None else len(body)}")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        with contextlib.suppress(ConnectionError):
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        with contextlib.suppress(ConnectionError, TimeoutError):
            while chunk := sock.recv(65536):
                answer += chunk
    return int(answer.split(b" ", 2)[1]) if answer else None


any_path = st.sampled_from(["/healthz", "/webhooks/telegram", "/webhooks/twilio/whatsapp", "/webhooks/twilio/status"])
any_path |= st.text(alphabet="abcdefghijklmnopqrstuvwxyz/%.-_~0123456789", max_size=40).map(lambda p: "/" + p)


def test_ten_thousand_requests_get_no_server_error_and_what_was_stored_is_processed(tmp_path: Path) -> None:
    with fuzz_service(tmp_path) as (server, db, errors), httpx.Client(timeout=30) as client:

        @fuzz(EXAMPLES["telegram"])
        @given(
            body=telegram_body,
            secret=st.sampled_from([SECRET, SECRET, SECRET, "", "wrong", SECRET + "x"]),
            fresh=st.integers(0, 3),
        )
        def telegram(body: Any, secret: str, fresh: int) -> None:
            if fresh and isinstance(body, dict) and "raw" not in body:  # mostly updates Telegram has not sent yet
                body["update_id"] = next(UPDATE_IDS)
            headers = {"Content-Type": "application/json"}
            if secret:
                headers["X-Telegram-Bot-Api-Secret-Token"] = secret
            url = server.url + "/webhooks/telegram"
            no_server_error(client.post(url, content=telegram_bytes(body), headers=headers))

        @fuzz(EXAMPLES["whatsapp"])
        @given(params=whatsapp_params, signed=st.booleans())
        def whatsapp(params: dict[str, str], signed: bool) -> None:
            no_server_error(twilio_post(server, client, "/webhooks/twilio/whatsapp", params, signed))

        @fuzz(EXAMPLES["status"])
        @given(params=status_params, signed=st.booleans())
        def status(params: dict[str, str], signed: bool) -> None:
            no_server_error(twilio_post(server, client, "/webhooks/twilio/status", params, signed))

        @fuzz(EXAMPLES["anything"])
        @given(
            method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
            path=any_path,
            body=st.binary(max_size=500),
            content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""]),
            length=st.sampled_from([None, "-1", "abc", "99999999999999999999", "0"]),
        )
        def anything(method: str, path: str, body: bytes, content_type: str, length: str | None) -> None:
            answer = raw_request(server, method, path, body, content_type, length)
            assert answer is None or answer < 500, answer

        for fuzzer in (telegram, whatsapp, status, anything):
            fuzzer()

        deadline = time.monotonic() + 120
        with closing(sqlite3.connect(db)) as conn:
            stored = conn.execute("SELECT count(*) FROM inbox").fetchone()[0]
            while conn.execute("SELECT count(*) FROM inbox WHERE processed_at IS NULL").fetchone()[0]:
                assert time.monotonic() < deadline, "updates still waiting after two minutes"
                time.sleep(0.2)
            failed = conn.execute("SELECT count(*) FROM inbox WHERE attempts > 0").fetchone()[0]
        assert stored > 1000  # the fuzzing reached the engine, not only the checks in front of it
        assert failed == 0, [r.getMessage()[:600] for r in errors.records][:6]
        assert [r.getMessage()[:200] for r in errors.records] == []
        assert client.get(server.url + "/healthz").status_code == 200
