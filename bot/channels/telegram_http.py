"""python-telegram-bot's HTTP transport, on aiohttp.

The library's own transport (httpx) cost about 5 ms of CPU per message in profiles of
`acasa serve` under load — most of the time spent sending a reply. aiohttp (already used by the
Twilio client) does the same requests for a fraction of that. Only the transport changes: the
library still builds every request and reads every answer, errors included.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

USER_AGENT = "acasa (python-telegram-bot; aiohttp)"
_DEFAULT = type(BaseRequest.DEFAULT_NONE)  # "not given": use this transport's own timeout


class AiohttpRequest(BaseRequest):
    def __init__(self, *, connections: int = 32, read_timeout: float = 10.0, connect_timeout: float = 5.0):
        self._connections = connections
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            await self.initialize()
        assert self._session is not None
        read = self._read_timeout if isinstance(read_timeout, _DEFAULT) else read_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, _DEFAULT) else connect_timeout
        write = read if isinstance(write_timeout, _DEFAULT) else write_timeout
        # aiohttp has no separate write timeout: the whole request may take connect + write + read.
        total = None if read is None else (connect or 0) + (write or 0) + read
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)
        data: Any = None
        if request_data is not None:
            files = request_data.multipart_data
            if files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mime) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mime)
                data = form
            else:
                data = request_data.json_parameters
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
