"""A local stand-in for Twilio's REST API (the Messages resource), speaking its HTTP interface.

It accepts ``POST /2010-04-01/Accounts/<sid>/Messages.json`` with basic auth and form parameters
(To, From, Body or ContentSid/ContentVariables, StatusCallback), answers like Twilio (201 and a
message resource, or an error document with Twilio's error code), records every call, and can be
told to fail: 429, 5xx, 63016 (outside the 24-hour window), 21610 (the person opted out).
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ERRORS = {
    63016: (400, "Failed to send freeform message because you are outside the allowed window."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
}


@dataclass
class Sent:
    params: dict[str, str]
    at: float
    status: int
    sid: str | None = None


@dataclass
class FakeTwilio:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "test-auth-token-0123456789abcdef"
    calls: list[Sent] = field(default_factory=list)
    faults: list[tuple[int, int | None]] = field(default_factory=list)  # (http status, twilio code)
    down: bool = False
    window_closed_for: set[str] = field(default_factory=set)  # numbers that get 63016 for free text
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # media sid -> (content type, bytes)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, status: int, code: int | None = None, times: int = 1) -> None:
        with self._lock:
            self.faults.extend([(status, code)] * times)

    def delivered(self, number: str | None = None) -> list[Sent]:
        with self._lock:
            calls = [c for c in self.calls if c.status == 201]
        return [c for c in calls if number is None or c.params.get("To") == f"whatsapp:{number}"]

    def wait_for(self, condition, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls: {[(c.status, c.params.get('To')) for c in self.calls][-10:]}")
            time.sleep(0.02)

    def _error(self, params: dict[str, str], status: int, code: int | None) -> JSONResponse:
        message = ERRORS.get(code or 0, (status, "error"))[1] if code else "Service unavailable"
        body = {
            "code": code or status,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        with self._lock:
            self.calls.append(Sent(params, time.monotonic(), status))
        return JSONResponse(body, status_code=status)

    async def messages(self, request: Request) -> JSONResponse:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        if request.path_params["sid"] != self.account_sid or request.headers.get("authorization") != expected:
            return self._error(params, 401, 20003)
        with self._lock:
            fault = self.faults.pop(0) if self.faults else None
        if fault is None and self.down:
            fault = (503, None)
        if (
            fault is None
            and params.get("Body") is not None
            and params.get("To", "").removeprefix("whatsapp:") in self.window_closed_for
        ):
            fault = (400, 63016)
        if fault is not None:
            return self._error(params, *fault)
        sid = f"SM{next(self._ids):032d}"
        with self._lock:
            self.calls.append(Sent(params, time.monotonic(), 201, sid))
        return JSONResponse(
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": params.get("To"),
                "from": params.get("From"),
                "body": params.get("Body"),
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            },
            status_code=201,
        )

    def media_url(self, media_sid: str) -> str:
        """Where Twilio keeps a file a person sent (the ``MediaUrl0`` of their message)."""
        return f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Messages/MM1/Media/{media_sid}"  # type: ignore[attr-defined]

    async def media_file(self, request: Request) -> Response:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return Response(status_code=401)
        found = self.media.get(request.path_params["media"])
        if found is None:
            return Response(status_code=404)
        return Response(found[1], media_type=found[0])

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/2010-04-01/Accounts/{sid}/Messages.json", self.messages, methods=["POST"]),
                Route("/2010-04-01/Accounts/{sid}/Messages/{message}/Media/{media}", self.media_file, methods=["GET"]),
            ]
        )
