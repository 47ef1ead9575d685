"""WhatsApp through the Twilio webhook and REST API: signatures, numbered menus, delivery."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx
import pytest
import yaml

from bot.server import create_app
from tests.conftest import PROJECT
from tests.fakes.servers import ThreadedServer, free_port
from tests.fakes.twilio_api import FakeTwilio
from tests.whatsapp.conftest import TEMPLATE, WhatsAppUser, choice_number, signed_post, whatsapp_settings


def locale(lang: str) -> dict:
    return yaml.safe_load((PROJECT / "locales" / f"{lang}.yaml").read_text(encoding="utf-8"))


def test_unsigned_or_wrongly_signed_webhooks_are_refused(service, fake_twilio: FakeTwilio) -> None:
    user = WhatsAppUser(fake_twilio, service, "+9779800000001")
    params = user.params("hello")
    url = service.url + "/webhooks/twilio/whatsapp"
    assert httpx.post(url, data=params).status_code == 403
    assert (
        signed_post(service.url, service.public_url, "/webhooks/twilio/whatsapp", params, "wrong-token").status_code
        == 403
    )
    tampered = signed_post(
        service.url, service.public_url, "/webhooks/twilio/whatsapp", params, fake_twilio.auth_token, signature=None
    )
    assert tampered.status_code == 200
    status = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    assert httpx.post(service.url + "/webhooks/twilio/status", data=status).status_code == 403


def test_signature_is_checked_against_the_public_url_behind_a_proxy(tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    port = free_port()
    public = "https://acasa.example.org/bot"  # what Twilio called; the proxy forwards to 127.0.0.1
    with ThreadedServer(create_app(whatsapp_settings(tmp_path, fake_twilio, public)), port=port) as server:
        server.public_url = public  # type: ignore[attr-defined]
        user = WhatsAppUser(fake_twilio, server, "+8801700000001")
        user.send("/start")  # signed for the public address: accepted
        params = user.params("hello")
        local = signed_post(server.url, server.url, "/webhooks/twilio/whatsapp", params, fake_twilio.auth_token)
        assert local.status_code == 403  # signed for the address the proxy used: refused


@pytest.mark.parametrize(
    ("lang", "number", "question", "entry"),
    [
        ("ne", "+9779800000002", "malai kaam chahiyo", "work.find_job"),
        ("bn", "+8801700000002", "ami kivabe kaj pabo", "work.find_job"),
        ("si", "+94770000002", "මට වැඩක් හොයාගන්නේ කොහොමද", "work.find_job"),
    ],
)
def test_flow_with_numbered_menus(
    service, fake_twilio: FakeTwilio, lang: str, number: str, question: str, entry: str
) -> None:
    strings = locale(lang)
    user = WhatsAppUser(fake_twilio, service, number)
    [picker] = user.send("hi")
    assert "1. " in picker and strings["_meta"]["name"] in picker
    [menu] = user.send(choice_number(picker, strings["_meta"]["name"]))
    assert strings["menu.title"] in menu
    assert strings["choice.reply_with_number"] in menu
    [topic] = user.send(choice_number(menu, strings["topic.work"]))
    assert strings["topic.work"] in topic
    parts = user.send_until(question, strings["choice.reply_with_number"])
    assert all(len(part) <= 1600 for part in parts)  # long answers arrive in parts
    answer = "\n".join(parts)
    assert "*" in answer  # WhatsApp bold
    assert len(parts) == 1  # the answer first, in one message
    [thanks] = user.send(choice_number(parts[-1], strings["button.helpful_yes"]))
    assert strings["feedback.thanks"] in thanks
    [again] = user.send_until(question, strings["choice.reply_with_number"])
    more = user.send_until(choice_number(again, strings["button.more"]), strings["choice.reply_with_number"])
    assert "https://" in more[-1] and strings["answer.sources"] in more[-1]  # the rest and the sources, on demand
    [menu_again] = user.send(strings["keywords.menu"][0])
    assert strings["menu.title"] in menu_again


def test_media_and_location_get_polite_answers(service, fake_twilio: FakeTwilio) -> None:
    user = WhatsAppUser(fake_twilio, service, "+919800000003")
    user.send("/start")
    user.send("2")  # English
    [reply] = user.send("", NumMedia="1", MediaUrl0="https://api.twilio.com/media/1", MediaContentType0="audio/ogg")
    assert "only read text" in reply
    [reply] = user.send("", Latitude="45.75", Longitude="21.22")
    assert "locations of offices" in reply


def test_duplicate_message_sid_is_processed_once(service, fake_twilio: FakeTwilio) -> None:
    user = WhatsAppUser(fake_twilio, service, "+9779800000004")
    params = user.params("/start")
    assert user.post(params).status_code == 200
    assert user.post(params).status_code == 200  # Twilio retried
    user.replies(1)
    time.sleep(1.0)
    assert len(fake_twilio.delivered("+9779800000004")) == 1


def test_429_and_5xx_are_retried(service, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail(429, 20429)
    fake_twilio.fail(500)
    user = WhatsAppUser(fake_twilio, service, "+9779800000005")
    user.send("/start")
    statuses = [c.status for c in fake_twilio.calls if c.params.get("To") == "whatsapp:+9779800000005"]
    assert statuses == [429, 500, 201]


def test_63016_holds_replies_sends_template_and_delivers_after_next_message(service, fake_twilio: FakeTwilio) -> None:
    user = WhatsAppUser(fake_twilio, service, "+919800000006")
    user.send("/start")
    fake_twilio.window_closed_for.add("+919800000006")
    assert user.post(user.params("2")).status_code == 200  # choose English; the reply bounces with 63016
    fake_twilio.wait_for(lambda: any(c.params.get("ContentSid") == TEMPLATE for c in fake_twilio.delivered()))
    template = [c for c in fake_twilio.delivered("+919800000006") if c.params.get("ContentSid")]
    assert len(template) == 1 and "Body" not in template[0].params
    user.seen = len(fake_twilio.delivered("+919800000006"))
    db = sqlite3.connect(service.db)
    assert db.execute("SELECT status FROM outbox").fetchall() == [("held",)]
    fake_twilio.window_closed_for.clear()
    held, new = user.send("how do I register with a family doctor", expect=2)
    assert "What do you need help with?" in held  # the held reply first
    assert "family doctor" in new.lower()


def test_reply_due_after_24_hours_is_held_without_trying(service, fake_twilio: FakeTwilio) -> None:
    """A late reply (for example a mediator's) is not sent as free text: template, then delivery."""
    import asyncio

    from bot.store import Store

    user = WhatsAppUser(fake_twilio, service, "+919800000007")
    user.send("/start")
    db = sqlite3.connect(service.db)
    db.execute("UPDATE people SET last_seen = '2026-01-01 00:00:00' WHERE platform_id = '+919800000007'")
    db.commit()

    async def late_reply() -> None:
        store = await Store.open(f"sqlite+aiosqlite:///{service.db}", migrate=False)
        try:
            await store.requeue(
                "whatsapp",
                "+919800000007",
                {"kind": "send", "text": "A late answer", "lang": "en", "buttons": []},
                held=False,
            )
        finally:
            await store.close()

    asyncio.run(late_reply())
    fake_twilio.wait_for(lambda: any(c.params.get("ContentSid") for c in fake_twilio.delivered("+919800000007")))
    time.sleep(1.0)
    free_text = [c for c in fake_twilio.calls if c.params.get("To") == "whatsapp:+919800000007" and "Body" in c.params]
    assert len(free_text) == 1  # only the first reply, sent while the window was open
    user.seen = len(fake_twilio.delivered("+919800000007"))
    late, answer = user.send("2", expect=2)
    assert late == "A late answer"  # held, then delivered before the answer to the new message
    assert "What do you need help with?" in answer


def test_status_callbacks_are_recorded_and_a_late_63016_is_held(service, fake_twilio: FakeTwilio) -> None:
    user = WhatsAppUser(fake_twilio, service, "+919800000008")
    user.send("/start")
    sid = fake_twilio.delivered("+919800000008")[0].sid
    status_path = "/webhooks/twilio/status"
    for status in ("sent", "delivered", "read"):
        params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": fake_twilio.account_sid}
        assert (
            signed_post(service.url, service.public_url, status_path, params, fake_twilio.auth_token).status_code == 204
        )
    db = sqlite3.connect(service.db)
    assert db.execute("SELECT status, body FROM deliveries WHERE platform_id = ?", (sid,)).fetchone() == ("read", "{}")
    user.send("2")
    sid = fake_twilio.delivered("+919800000008")[-1].sid
    params = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "63016"}
    assert signed_post(service.url, service.public_url, status_path, params, fake_twilio.auth_token).status_code == 204
    fake_twilio.wait_for(lambda: any(c.params.get("ContentSid") for c in fake_twilio.delivered("+919800000008")))
    assert db.execute("SELECT status FROM outbox").fetchall() == [("held",)]
