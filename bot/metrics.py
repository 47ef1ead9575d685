"""Operators' metrics in the Prometheus text format, at ``/metrics``.

Counted in this process: HTTP requests by route and status, and how long matching a question
takes (a histogram). Read from the database when scraped: platform updates waiting, replies in
the outbox by status and how many of them are being retried, tickets waiting for a mediator, and
the live content version. Labels are fixed route names and statuses — never a chat id, a person or
a text — so the metrics can be kept and shared freely.

Access: with ``METRICS_TOKEN`` set, a scraper sends ``Authorization: Bearer <token>``; without it,
only clients on a loopback or private address are answered (a Prometheus next to the service).
"""

from __future__ import annotations

import hmac
import ipaddress
import threading
from collections import Counter
from typing import Any

MATCH_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
ROUTES = (
    "/healthz",
    "/metrics",
    "/webhooks/telegram",
    "/webhooks/twilio/whatsapp",
    "/webhooks/twilio/status",
    "/console",
    "/media",
    "/chat/api/send",
    "/chat/api/stream",
    "/chat/api/messages",
    "/chat",
    "/help",
    "/site",
    "/sitemap.xml",
)


def route_label(path: str) -> str:
    """A fixed name for a request's route: ids and tokens in paths never become labels."""
    for route in ROUTES:
        if path == route or path.startswith(route + "/"):
            return route
    return "other"


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.match_buckets = [0] * len(MATCH_BUCKETS)
        self.match_count = 0
        self.match_sum = 0.0

    def count_request(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests[(method, route_label(path), status)] += 1

    def observe_match(self, seconds: float) -> None:
        with self._lock:
            self.match_count += 1
            self.match_sum += seconds
            for index, bound in enumerate(MATCH_BUCKETS):
                if seconds <= bound:
                    self.match_buckets[index] += 1

    def render(self, gauges: dict[str, Any]) -> str:
        """The exposition text: this process's counters, then the gauges read at scrape time."""
        lines = [
            "# HELP acasa_http_requests_total HTTP requests answered, by route and status.",
            "# TYPE acasa_http_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), count in sorted(self.requests.items()):
                lines.append(
                    f'acasa_http_requests_total{{method="{method}",route="{route}",status="{status}"}} {count}'
                )
            lines += [
                "# HELP acasa_matcher_seconds Time to match one question (built-in matcher and Rasa, if used).",
                "# TYPE acasa_matcher_seconds histogram",
            ]
            for bound, count in zip(MATCH_BUCKETS, self.match_buckets, strict=True):
                lines.append(f'acasa_matcher_seconds_bucket{{le="{bound}"}} {count}')
            lines.append(f'acasa_matcher_seconds_bucket{{le="+Inf"}} {self.match_count}')
            lines.append(f"acasa_matcher_seconds_sum {self.match_sum:.6f}")
            lines.append(f"acasa_matcher_seconds_count {self.match_count}")
        for name, (help_text, value) in gauges.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
            if isinstance(value, dict):
                for label, number in sorted(value.items()):
                    lines.append(f'{name}{{status="{label}"}} {number}')
            else:
                lines.append(f"{name} {value}")
        return "\n".join(lines) + "\n"


METRICS = Metrics()  # one per process, as Prometheus expects of a scraped target


def may_scrape(client_host: str | None, authorization: str | None, token: str | None) -> bool:
    """The token when one is configured; otherwise a loopback or private address only."""
    if token:
        given = (authorization or "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    try:
        address = ipaddress.ip_address(client_host or "")
    except ValueError:
        return False
    return address.is_loopback or address.is_private
