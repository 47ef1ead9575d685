"""Full flows through the webhook: real HTTP in, real HTTP out to the fake Bot API."""

from __future__ import annotations

import httpx
import yaml

from tests.conftest import PROJECT
from tests.fakes.telegram_api import FakeTelegram, text_update
from tests.telegram.conftest import SECRET, TelegramUser, buttons_of


def locale(lang: str) -> dict:
    return yaml.safe_load((PROJECT / "locales" / f"{lang}.yaml").read_text(encoding="utf-8"))


def test_start_registers_webhook_with_secret(service, fake_telegram: FakeTelegram) -> None:
    assert fake_telegram.calls_to("getMe")
    assert fake_telegram.webhook["url"] == service.url + "/webhooks/telegram"
    assert fake_telegram.webhook["secret_token"] == SECRET
    health = httpx.get(service.url + "/healthz").json()
    assert health["status"] == "ok"


def test_full_flow_in_ukrainian(service, fake_telegram: FakeTelegram) -> None:
    olena = TelegramUser(fake_telegram, service.url, 5001, lang="uk")
    [picker] = olena.send("/start")
    assert picker["parse_mode"] == "HTML"
    assert buttons_of(picker)[0] == "lang:uk"  # preselected from language_code
    [welcome] = olena.press("lang:uk")  # language set + welcome + privacy + menu: one message
    assert locale("uk")["menu.title"] in welcome["text"]
    assert "topic:health:0" in buttons_of(welcome)
    [answer] = olena.send("як записатися до сімейного лікаря")
    assert "<b>" in answer["text"] and "https://" not in answer["text"]  # the answer first
    assert f"<i>{locale('uk')['answer.unreviewed']}</i>" in answer["text"]  # the note in italics
    rows = [[key["callback_data"] for key in row] for row in answer["reply_markup"]["inline_keyboard"]]
    assert rows == [  # short labels, two to a row
        ["more:health.family_doctor", "who:health.family_doctor"],
        ["fb:health.family_doctor:1", "fb:health.family_doctor:0"],
        ["menu"],
    ]
    [thanks] = olena.press("fb:health.family_doctor:1")
    assert locale("uk")["feedback.thanks"] in thanks["text"]
    olena.send("як записатися до сімейного лікаря")
    [more] = olena.press("more:health.family_doctor")
    assert "https://" in more["text"] and locale("uk")["answer.sources"] in more["text"]
    # every button press was acknowledged
    acks = [c.params["callback_query_id"] for c in fake_telegram.calls_to("answerCallbackQuery")]
    assert len(acks) == len(set(acks)) == 3, acks


def test_menu_navigation_edits_the_message(service, fake_telegram: FakeTelegram) -> None:
    ana = TelegramUser(fake_telegram, service.url, 5002, lang="ro")
    ana.send("/start")
    ana.press("lang:ro")
    [topic] = ana.press("topic:health:0")
    assert topic["method"] == "editMessageText"  # the menu message becomes the topic page
    [page2] = ana.press("topic:health:1")
    assert page2["method"] == "editMessageText"


def test_flow_in_arabic_and_nepali(service, fake_telegram: FakeTelegram) -> None:
    samir = TelegramUser(fake_telegram, service.url, 5003, lang="ar")
    [picker] = samir.send("كيف أقدم طلب لجوء في رومانيا")
    assert buttons_of(picker)[0] == "lang:ar"
    [answer] = samir.press("lang:ar")
    assert "\u200f" in answer["text"]
    assert "fb:rights.asylum:1" in buttons_of(answer)
    bikash = TelegramUser(fake_telegram, service.url, 5004, lang=None)
    bikash.send("/start")
    [_menu] = bikash.press("lang:ne")
    [answer] = bikash.send("malai kaam chahiyo")
    assert "fb:work.find_job:1" in buttons_of(answer)


def test_deep_link_preselects_language_and_topic(service, fake_telegram: FakeTelegram) -> None:
    poster = TelegramUser(fake_telegram, service.url, 5005, lang="en")
    [reply] = poster.send("/start ne_health")
    assert locale("ne")["topic.health"] in reply["text"]
    assert "e:health.family_doctor" in buttons_of(reply)
    entry = TelegramUser(fake_telegram, service.url, 5006, lang="en")
    [reply] = entry.send("/start uk_education-audient")
    assert "fb:education.audient:1" in buttons_of(reply)


def test_wrong_or_missing_secret_is_refused(service, fake_telegram: FakeTelegram) -> None:
    update = text_update(5007, "hello")
    url = service.url + "/webhooks/telegram"
    assert httpx.post(url, json=update).status_code == 403
    assert httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}).status_code == 403


def test_bad_input_gets_a_clear_status_and_the_service_stays_up(service, fake_telegram: FakeTelegram) -> None:
    url = service.url + "/webhooks/telegram"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    assert httpx.post(url, content=b"{not json", headers=headers).status_code == 400
    assert httpx.post(url, json=[1, 2], headers=headers).status_code == 400
    assert httpx.post(url, json={"message": {}}, headers=headers).status_code == 400
    assert httpx.post(url, content=b"x" * 1_100_000, headers=headers).status_code == 413
    assert httpx.post(url, json={"update_id": 1, "edited_message": {"x": 1}}, headers=headers).status_code == 200
    assert httpx.post(url, json={"update_id": 2, "poll": {"id": "1"}}, headers=headers).status_code == 200
    empty = text_update(5008, "")
    assert httpx.post(url, json=empty, headers=headers).status_code == 200
    user = TelegramUser(fake_telegram, service.url, 5009)
    [reply] = user.send("x" * 5000)
    assert "too long" in reply["text"]
    assert httpx.get(service.url + "/healthz").json()["status"] == "ok"


def test_duplicate_update_is_processed_once(service, fake_telegram: FakeTelegram) -> None:
    user = TelegramUser(fake_telegram, service.url, 5010)
    update = text_update(5010, "/start", update_id=424242)
    assert user.post(update).status_code == 200
    assert user.post(update).status_code == 200  # Telegram retried
    user.replies(1)
    import time

    time.sleep(1.0)
    assert len(fake_telegram.sent(5010)) == 1


def test_location_message_is_accepted(service, fake_telegram: FakeTelegram) -> None:
    from tests.fakes.telegram_api import location_update

    user = TelegramUser(fake_telegram, service.url, 5011)
    user.send("/start")
    user.press("lang:en")
    assert user.post(location_update(5011, 45.75, 21.22)).status_code == 200
    [reply] = user.replies(1)
    assert "locations of offices" in reply["text"]


def test_logs_carry_no_personal_data(service, fake_telegram: FakeTelegram, caplog) -> None:
    import logging

    from bot.logs import quiet_libraries

    quiet_libraries()  # what `acasa serve` does at start, whatever LOG_LEVEL says
    caplog.set_level(logging.DEBUG)
    user = TelegramUser(fake_telegram, service.url, 987654321)
    user.send("/start")
    user.press("lang:en")
    user.send("my name is Secretname and I need a family doctor")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot"))
    assert "987654321" not in logged and "Secretname" not in logged
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert fake_telegram.token not in everything and "987654321" not in everything
