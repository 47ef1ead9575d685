"""Oversized bodies are refused while they stream in: the service's memory does not follow them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from tests.fakes.servers import free_port
from tests.fakes.service_process import ServiceProcess
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.conftest import SECRET

MB = 1024 * 1024
WEBHOOKS = ("/webhooks/telegram", "/webhooks/twilio/whatsapp", "/webhooks/twilio/status")


def peak_memory_mb(pid: int) -> float:
    """The most resident memory the process has had (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


async def huge_body(size: int) -> AsyncIterator[bytes]:
    chunk = b"x" * MB
    for _ in range(size // MB):
        yield chunk
        await asyncio.sleep(0)


async def post_huge(url: str, *, announce_length: bool) -> int | None:
    """Post 200 MB; the status the service answered, or None if it closed the connection first."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "X-Twilio-Signature": "unsigned"}
    size = 200 * MB
    if announce_length:
        headers["Content-Length"] = str(size)
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            response = await client.post(url, content=huge_body(size), headers=headers)
            return response.status_code
    except (httpx.WriteError, httpx.ReadError, httpx.RemoteProtocolError):
        return None


def test_concurrent_200_mb_bodies_are_refused_without_growing_memory(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    port = free_port()
    service = ServiceProcess(
        tmp_path,
        port,
        {
            "TELEGRAM_BOT_TOKEN": fake_telegram.token,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_BASE_URL": fake_telegram.url,  # type: ignore[attr-defined]
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "token",
            "TWILIO_WHATSAPP_FROM": "whatsapp:+40700000001",
            "TWILIO_TEMPLATE_SID": "HX" + "0" * 32,
            "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
        },
    ).start()
    try:
        assert service.process is not None
        before = peak_memory_mb(service.process.pid)

        async def attack() -> list[int | None]:
            posts = [
                post_huge(service.url + path, announce_length=announce)
                for path in WEBHOOKS
                for announce in (True, False, True, False)  # four each; two without a length (chunked)
            ]
            return await asyncio.gather(*posts)

        results = asyncio.run(attack())
        assert all(status in (413, None) for status in results), results
        assert results.count(413) >= 6  # at least the ones that announced their length are told why
        peak = peak_memory_mb(service.process.pid)
        assert peak < 300, f"peak resident memory {peak:.0f} MB (it was {before:.0f} MB before)"
        assert httpx.get(service.url + "/healthz", timeout=10).status_code == 200
    finally:
        service.stop_now()
