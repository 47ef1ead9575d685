"""/metrics over real HTTP, scraped the way Prometheus does, after people have written."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from bot.metrics import may_scrape, route_label
from bot.server import create_app
from tests.fakes.servers import ThreadedServer, free_port
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.conftest import TelegramUser, service_settings


def value(text: str, series: str) -> float:
    found = re.search(rf"^{re.escape(series)} ([0-9.e+-]+)$", text, re.M)
    assert found, f"{series} not in\n{text}"
    return float(found.group(1))


def test_metrics_count_requests_matching_and_the_backlog(service, fake_telegram: FakeTelegram) -> None:
    person = TelegramUser(fake_telegram, service.url, 8101, lang="en")
    person.send("/start")
    person.press("lang:en")
    person.send("how do I register with a family doctor")
    scraped = httpx.get(service.url + "/metrics", timeout=10)
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert value(text, 'acasa_http_requests_total{method="POST",route="/webhooks/telegram",status="200"}') >= 3
    assert value(text, "acasa_matcher_seconds_count") >= 1
    assert value(text, 'acasa_matcher_seconds_bucket{le="+Inf"}') == value(text, "acasa_matcher_seconds_count")
    assert value(text, "acasa_inbox_waiting") >= 0 and value(text, "acasa_outbox_retrying") >= 0
    assert value(text, "acasa_content_version") >= 1
    assert "8101" not in text and "family doctor" not in text  # no chat ids, no words
    again = httpx.get(service.url + "/metrics", timeout=10).text
    assert value(again, 'acasa_http_requests_total{method="GET",route="/metrics",status="200"}') >= 1


def test_a_metrics_token_is_required_when_configured(tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    port = free_port()
    settings = service_settings(tmp_path, fake_telegram, port, metrics_token="s3cret-for-prometheus")
    with ThreadedServer(create_app(settings), port=port) as server:
        assert httpx.get(server.url + "/metrics", timeout=10).status_code == 403
        wrong = httpx.get(server.url + "/metrics", headers={"Authorization": "Bearer guess"}, timeout=10)
        assert wrong.status_code == 403
        right = httpx.get(
            server.url + "/metrics", headers={"Authorization": "Bearer s3cret-for-prometheus"}, timeout=10
        )
        assert right.status_code == 200 and "acasa_http_requests_total" in right.text


def test_only_private_addresses_scrape_without_a_token_and_routes_stay_fixed_names() -> None:
    assert may_scrape("127.0.0.1", None, None) and may_scrape("10.1.2.3", None, None)
    assert not may_scrape("8.8.8.8", None, None) and not may_scrape(None, None, None)
    assert route_label("/console/tickets/42") == "/console" and route_label("/media/abc123token") == "/media"
    assert route_label("/wp-admin.php") == "other"
