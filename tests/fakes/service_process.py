"""`acasa serve` as a real process, for tests that kill and restart it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import PROJECT


class ServiceProcess:
    def __init__(self, tmp_path: Path, port: int, settings: dict[str, str], name: str = "server"):
        self.url = f"http://127.0.0.1:{port}"
        outside = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
        self.env = {
            **outside,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'acasa.db'}",
            "PORT": str(port),
            "LOG_LEVEL": "WARNING",
            **settings,
        }
        self.log = tmp_path / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        with self.log.open("ab") as log:  # the child keeps its own copy of the handle
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve"],
                cwd=PROJECT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop_now()
        raise AssertionError("service did not start:\n" + self.log.read_text())

    def signal(self, signum: int) -> int:
        assert self.process is not None
        self.process.send_signal(signum)
        return self.process.wait(timeout=20)

    def stop_now(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
