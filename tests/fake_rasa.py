"""A local stand-in for a Rasa server (`rasa run --enable-api`), speaking its HTTP API.

It answers ``POST /model/parse`` with a canned ranking per text, can be told to fail with a
status code, and records every request it received.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeRasa:
    def __init__(self) -> None:
        self.rankings: dict[str, list[tuple[str, float]]] = {}
        self.fail_with: int | None = None
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append({"path": self.path, "body": body})
                if self.path != "/model/parse":
                    self._send(404, {"error": "not found"})
                elif fake.fail_with:
                    self._send(fake.fail_with, {"version": "3.6.20", "status": "failure", "message": "boom"})
                else:
                    ranking = fake.rankings.get(body.get("text", ""), [("nlu_fallback", 0.3)])
                    items = [{"name": n, "confidence": c} for n, c in ranking]
                    self._send(
                        200, {"text": body.get("text"), "intent": items[0], "intent_ranking": items, "entities": []}
                    )

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeRasa:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
