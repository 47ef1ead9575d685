"""The web chat over real HTTP: a browser's messages stored before the answer, answered through the
outbox into the conversation's mailbox, read back by polling and by the event stream (which
resumes after the last message it gave); bad input refused between good input, nothing twice, a
mediator reached from the web, and "forget"."""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import httpx

from bot.channels.web import MAX_TEXT
from tests.web.conftest import StaffBrowser, staff


class WebPerson:
    """A browser on the web chat, speaking its JSON API as chat.js does."""

    def __init__(self, url: str, opened: list[httpx.Client], lang: str | None = None):
        self.url = url
        self.lang = lang
        self.conversation = secrets.token_urlsafe(18)
        self.client = httpx.Client(base_url=url, timeout=10)
        opened.append(self.client)
        self.last_seq = 0

    def post(self, **message: object) -> httpx.Response:
        body = {"conversation": self.conversation, "id": secrets.token_urlsafe(9), **message}
        if self.lang:
            body["lang"] = self.lang
        self.last_seq = max([m["seq"] for m in self.mailbox()] or [0])
        return self.client.post("/chat/api/send", json=body)

    def send(self, text: str, *, expect: int = 1, **extra: object) -> list[dict]:
        response = self.post(text=text, **extra)
        assert response.status_code == 200, response.text
        return self.replies(expect)

    def press(self, payload: str, label: str = "", *, expect: int = 1) -> list[dict]:
        assert self.post(payload=payload, label=label or payload).status_code == 200
        return self.replies(expect)

    def mailbox(self, after: int = 0) -> list[dict]:
        response = self.client.get("/chat/api/messages", params={"conversation": self.conversation, "after": after})
        assert response.status_code == 200
        return response.json()["messages"]

    def replies(self, count: int, timeout: float = 20) -> list[dict]:
        """The bot's or a mediator's messages since the last post, once there are ``count``."""
        deadline = time.monotonic() + timeout
        while True:
            theirs = [m for m in self.mailbox(self.last_seq) if m.get("from") != "me"]
            if len(theirs) >= count:
                self.last_seq = theirs[count - 1]["seq"]
                return theirs[:count]
            assert time.monotonic() < deadline, f"no reply: {theirs}"
            time.sleep(0.1)


def start(person: WebPerson, lang: str) -> None:
    assert person.post(text=f"/start {lang}", quiet=True).status_code == 200
    person.replies(1)


def test_a_ukrainian_question_is_answered_in_ukrainian_and_bad_input_loses_nothing(console_service, browsers) -> None:
    person = WebPerson(console_service.url, browsers, lang="uk")
    start(person, "uk")
    api = person.client

    # Between good messages: broken JSON, a wrong id, an oversized body, both text and a button.
    assert (
        api.post("/chat/api/send", content=b"{not json", headers={"content-type": "application/json"}).status_code
        == 400
    )
    wrong = {"conversation": "short", "id": "abcdefgh", "text": "hello"}
    assert api.post("/chat/api/send", json=wrong).status_code == 400
    huge = api.post(
        "/chat/api/send", json={"conversation": person.conversation, "id": "abcdefgh1", "text": "x" * 30_000}
    )
    assert huge.status_code == 413
    both = api.post(
        "/chat/api/send", json={"conversation": person.conversation, "id": "abcdefgh2", "text": "a", "payload": "menu"}
    )
    assert both.status_code == 400 and "either text or payload" in both.json()["error"]
    too_long = person.post(text="я" * (MAX_TEXT + 1))
    assert too_long.status_code == 400

    [answer] = person.send("як записатися до сімейного лікаря")
    assert answer["lang"] == "uk" and answer["dir"] == "ltr"
    assert "<b>Реєстрація у сімейного лікаря</b>" in answer["html"] or "сімейн" in answer["html"]
    assert any(b["payload"].startswith(("more:", "src:")) for b in answer["buttons"])  # buttons as buttons
    mine = [m for m in person.mailbox() if m.get("from") == "me"]
    assert [m["html"] for m in mine] == ["як записатися до сімейного лікаря"]  # shown once, as typed

    # The same message posted twice (a retry after a lost answer) is answered once.
    again = {
        "conversation": person.conversation,
        "id": "same-id-123",
        "text": "де отримати щеплення для дитини",
        "lang": "uk",
    }
    assert api.post("/chat/api/send", json=again).status_code == 200
    assert api.post("/chat/api/send", json=again).status_code == 200
    [answer] = person.replies(1)
    time.sleep(1.0)
    assert [m for m in person.mailbox(answer["seq"]) if m.get("from") != "me"] == []  # nothing more came


def test_no_html_gets_through_in_either_direction(console_service, browsers) -> None:
    person = WebPerson(console_service.url, browsers, lang="en")
    start(person, "en")
    [reply] = person.send('<img src=x onerror="alert(1)"><script>alert(2)</script> where is the office')
    mine = [m for m in person.mailbox() if m.get("from") == "me"][-1]
    assert mine["html"].startswith("&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&lt;script&gt;")
    assert "<script" not in reply["html"] and "<img" not in reply["html"]
    for message in person.mailbox():
        assert "<script" not in message["html"] and "<img" not in message["html"]  # only as escaped text


def test_the_stream_resumes_after_the_last_message_it_gave(console_service, browsers) -> None:
    person = WebPerson(console_service.url, browsers, lang="en")
    start(person, "en")
    url = f"{console_service.url}/chat/api/stream"
    client = person.client
    with client.stream("GET", url, params={"conversation": person.conversation, "after": 0}) as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        first = _next_event(events)
    last_id = first["id"]
    person.post(text="free romanian classes?")  # sent while no stream is open
    person.replies(1)
    headers = {"Last-Event-ID": str(last_id)}
    with client.stream("GET", url, params={"conversation": person.conversation}, headers=headers) as events:
        resumed = _next_event(events, after=last_id)  # (the last moments' messages may come again: skipped)
    assert resumed["id"] > last_id and resumed["data"]["from"] == "me"  # what came after, in order
    assert client.get(url, params={"conversation": "../../etc"}).status_code == 400


def _next_event(response: httpx.Response, after: int = 0) -> dict:
    """The next event with a message newer than ``after``, as the browser shows it."""
    event: dict = {}
    for line in response.iter_lines():
        if line.startswith("id: "):
            event["id"] = int(line[4:])
        elif line.startswith("data: "):
            event["data"] = json.loads(line[6:])
        elif not line and "data" in event:
            if event["data"]["seq"] > after:
                return event
            event = {}
    raise AssertionError("the stream ended")


def test_too_many_messages_are_refused_for_a_while_and_nothing_accepted_is_lost(console_service, browsers) -> None:
    person = WebPerson(console_service.url, browsers, lang="en")
    start(person, "en")
    codes = [person.post(text=f"thanks {n}").status_code for n in range(25)]
    assert codes.count(200) == 19 and set(codes[19:]) == {429}  # 20 a minute, the start included
    deadline = time.monotonic() + 60
    while len([m for m in person.mailbox() if m.get("from") != "me"]) < 1 + 19:  # every accepted one answered
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert len([m for m in person.mailbox() if m.get("from") == "me"]) == 19


def test_a_mediator_answers_a_web_conversation_from_the_console_and_forget_leaves_nothing(
    console_service, browsers, tmp_path: Path
) -> None:
    person = WebPerson(console_service.url, browsers, lang="en")
    start(person, "en")
    person.send("my employer keeps my passport what can i do")
    [offer] = person.send("mediator")
    assert any(b["payload"] == "handoff:yes" for b in offer["buttons"]), offer
    person.press("handoff:yes", "Yes")

    maria = StaffBrowser(console_service.url, staff("maria"), browsers)
    maria.sign_in()
    inbox = maria.client.get("/console/inbox").text
    ticket_id = int(inbox.split('href="/console/tickets/', 1)[1].split('"', 1)[0])
    assert "web" in inbox
    assert maria.post(f"/console/tickets/{ticket_id}/claim").status_code == 303
    person.replies(1)  # "a mediator has joined"
    assert (
        maria.post(f"/console/tickets/{ticket_id}/say", text="Hello, I am Maria. Where do you work?").status_code == 303
    )
    [said] = person.replies(1)
    assert said.get("from") == "mediator" and "Where do you work?" in said["html"]

    # A mediator's photo arrives as a link to it, with the caption.
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    sent = maria.client.post(
        f"/console/tickets/{ticket_id}/send-file",
        data={"csrf": maria.csrf, "caption": "the form to fill in"},
        files={"file": ("form.png", png, "image/png")},
    )
    assert sent.status_code == 303
    [photo] = person.replies(1)
    assert "the form to fill in" in photo["html"] and 'download="form.png"' in photo["html"]
    link = photo["html"].split('href="', 1)[1].split('"', 1)[0]
    assert link.startswith("/media/") and person.client.get(link).content == png

    db = tmp_path / "acasa.db"
    [confirm] = person.send("forget")
    assert any(b["payload"] == "forget:yes" for b in confirm["buttons"]), confirm
    [farewell] = person.press("forget:yes", "Yes", expect=1)
    assert farewell.get("farewell") is True  # the browser then starts a new conversation
    with closing(sqlite3.connect(db)) as conn:  # read once, the last trace of the conversation went too
        for table, column in (("web_messages", "conversation"), ("people", "platform_id")):
            assert conn.execute(
                f"SELECT count(*) FROM {table} WHERE {column} = ?", (person.conversation,)
            ).fetchone() == (0,)
        inbox = conn.execute("SELECT update_key, chat_key, payload FROM inbox WHERE channel = 'web'").fetchall()
        assert inbox and not any(person.conversation in str(row) for row in inbox)  # handled: keys only
    assert person.mailbox() == []


def test_the_widget_is_small_and_loads_nothing_from_elsewhere(console_service, browsers) -> None:
    client = httpx.Client(base_url=console_service.url, timeout=10)
    browsers.append(client)
    widget = client.get("/chat/widget.js")
    assert widget.status_code == 200 and widget.headers["content-type"].startswith("text/javascript")
    page = client.get("/chat", params={"lang": "ne", "embed": "1"})
    assert page.status_code == 200 and '<html lang="ne" dir="ltr">' in page.text
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
    assets = [widget.content, client.get("/site/static/chat.js").content, client.get("/site/static/site.css").content]
    assert sum(len(a) for a in assets) <= 30_000  # everything the widget brings, no framework
    for asset in assets:
        assert b"http://" not in asset and b"https://" not in asset.replace(b"https://ACASA", b"")
    assert 'src="/site/static/chat.js"' in page.text and "set-cookie" not in page.headers  # no cookies
    rtl = client.get("/chat", params={"lang": "ur"}).text
    assert '<html lang="ur" dir="rtl">' in rtl


def test_odd_ids_numbers_and_floods_are_refused_without_errors(console_service, browsers) -> None:
    client = httpx.Client(base_url=console_service.url, timeout=10)
    browsers.append(client)
    good = secrets.token_urlsafe(18)
    newline = {"conversation": good + "\n", "id": "abcdefgh", "text": "hello"}
    assert client.post("/chat/api/send", json=newline).status_code == 400  # not a 500 from the database
    assert client.post("/chat/api/send", json=[1, 2]).status_code == 400
    label = {"conversation": good, "id": "abcdefgh", "payload": "menu", "label": "x" * 65}
    assert client.post("/chat/api/send", json=label).status_code == 400
    for after in ("\u00b2", "-1", "9" * 40):
        assert client.get("/chat/api/messages", params={"conversation": good, "after": after}).status_code == 200
    big = client.post(
        "/help/feedback",
        content=b"entry=" + b"x" * 5_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert big.status_code == 413

    # One address may hold 20 event streams open at once; the next is refused until one closes.
    streams = [client.stream("GET", "/chat/api/stream", params={"conversation": good}) for _ in range(21)]
    opened = [s.__enter__() for s in streams[:20]]
    try:
        assert all(r.status_code == 200 for r in opened)
        with streams[20] as refused:
            assert refused.status_code == 429
    finally:
        for stream in streams[:20]:
            stream.__exit__(None, None, None)
