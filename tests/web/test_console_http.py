"""The web console over real HTTP, without a browser: roles, CSRF, sign-in, and a mediator's work."""

from __future__ import annotations

import re
import threading

import httpx
import yaml

from bot.web.console import ROUTES
from tests.conftest import PROJECT
from tests.fakes.telegram_api import FakeTelegram
from tests.handoff.conftest import ANA, MediatorGroup, db_rows
from tests.telegram.conftest import TelegramUser
from tests.web.conftest import PASSWORD, STAFF, StaffBrowser, csrf_of, staff


def locale(lang: str) -> dict:
    return yaml.safe_load((PROJECT / "locales" / f"{lang}.yaml").read_text(encoding="utf-8"))


def ask_for_a_person(fake: FakeTelegram, url: str, chat_id: int, lang: str, question: str) -> TelegramUser:
    person = TelegramUser(fake, url, chat_id, lang=lang)
    person.send("/start")
    person.press(f"lang:{lang}")
    person.send(question)
    person.send(locale(lang)["keywords.human"][0])
    person.press("handoff:yes")
    return person


def test_every_route_refuses_the_wrong_role_a_stranger_and_a_missing_csrf_token(console_service, browsers) -> None:
    stranger = httpx.Client(base_url=console_service.url, follow_redirects=False, timeout=10)
    browsers.append(stranger)
    for spec in ROUTES:
        path = re.sub(r"{\w+:int}", "1", spec.path)
        response = stranger.request(
            spec.method, "/console" + path, data={"csrf": "x"} if spec.method == "POST" else None
        )
        assert response.status_code in (303, 401), (spec, response.status_code)
        if response.status_code == 303:
            assert response.headers["location"] == "/console/login"
    for member in STAFF:
        browser = StaffBrowser(console_service.url, member, browsers)
        browser.sign_in()
        for spec in ROUTES:
            if spec.name in ("events", "logout"):
                continue  # a stream, and the end of the session: below
            path = "/console" + re.sub(r"{\w+:int}", "1", spec.path)
            if spec.method == "GET":
                response = browser.client.get(path)
            else:
                missing = browser.client.post(path, data={})
                wrong = browser.client.post(path, data={"csrf": "forged"})
                response = browser.post(path, text="hello")
            if member.role not in spec.roles:
                assert response.status_code == 403, (member.role, spec, response.status_code)
                continue
            if spec.method == "POST":
                assert missing.status_code == 403 and wrong.status_code == 403, (member.role, spec)
            # allowed: done, redirected, or refused for the form's content (400) or a missing thing (404)
            assert response.status_code in (200, 303, 400, 404), (member.role, spec, response.status_code)
        with browser.client.stream("GET", "/console/events") as events:
            allowed = member.role in next(s for s in ROUTES if s.name == "events").roles
            assert events.status_code == (200 if allowed else 403)
        assert browser.client.post("/console/logout", data={}).status_code == 403  # no CSRF token
        assert browser.post("/console/logout").status_code == 303
        assert browser.client.get("/console/").status_code == 303  # signed out: back to the sign-in page


def test_signing_in_needs_the_second_factor_and_is_throttled(console_service, browsers) -> None:
    maria = staff("maria")
    client = httpx.Client(base_url=console_service.url, follow_redirects=False, timeout=10)
    browsers.append(client)
    token = csrf_of(client.get("/console/login").text)
    assert client.post("/console/login", data={"login": "maria", "password": PASSWORD}).status_code == 403
    signed = client.post("/console/login", data={"csrf": token, "login": "maria", "password": PASSWORD})
    assert signed.headers["location"] == "/console/second-factor"
    assert client.get("/console/inbox").headers["location"] == "/console/second-factor"  # no inbox without it
    page = client.get("/console/second-factor")
    wrong = client.post("/console/second-factor", data={"csrf": csrf_of(page.text), "code": "000000"})
    assert wrong.status_code == 401
    assert "HttpOnly" in signed.headers["set-cookie"] and "SameSite=strict" in signed.headers["set-cookie"]

    intruder = httpx.Client(base_url=console_service.url, follow_redirects=False, timeout=10)
    browsers.append(intruder)
    token = csrf_of(intruder.get("/console/login").text)
    for _ in range(5):
        bad = intruder.post("/console/login", data={"csrf": token, "login": "dan", "password": "guess" * 3})
        assert bad.status_code == 401
    locked = intruder.post("/console/login", data={"csrf": token, "login": "dan", "password": PASSWORD})
    assert locked.status_code == 429  # even the right password, for 15 minutes
    assert maria.totp is not None


def test_a_mediator_takes_answers_notes_and_closes_in_the_browser(console_service, fake_telegram, browsers) -> None:
    olena = ask_for_a_person(fake_telegram, console_service.url, 7101, "uk", "як записатися до сімейного лікаря")
    maria = StaffBrowser(console_service.url, staff("maria"), browsers)
    inbox = maria.sign_in()
    assert "#1" in inbox.text and "uk" in inbox.text

    claimed = maria.post("/console/tickets/1/claim")
    assert claimed.status_code == 303 and claimed.headers["location"] == "/console/tickets/1"
    [joined] = olena.replies(1)
    assert "Maria" in joined["text"]
    page = maria.client.get("/console/tickets/1")
    assert "сімейного лікаря" in page.text  # the transcript

    maria.post("/console/tickets/1/say", text="Добрий день! Чим можу допомогти?")
    [said] = olena.replies(1)
    assert "Добрий день! Чим можу допомогти?" in said["text"]
    maria.post("/console/tickets/1/note", text="Needs a Ukrainian-speaking doctor; call back Monday")
    assert "call back Monday" in maria.client.get("/console/tickets/1").text
    olena.send("Дякую, мені потрібен лікар", expect=0)
    fake_telegram.wait_for(lambda: "мені потрібен лікар" in maria.client.get("/console/tickets/1/panel").text)

    closed = maria.post("/console/tickets/1/close")
    assert closed.headers["location"] == "/console/inbox"
    closing = olena.replies(2)
    assert locale("uk")["handoff.rate"] in closing[1]["text"]
    everything = " ".join(c.params.get("text", "") for c in fake_telegram.sent(7101))
    assert "call back Monday" not in everything  # a private note never reaches the person
    assert everything.count("Добрий день! Чим можу допомогти?") == 1

    actions = [a for (a,) in db_rows(console_service.db, "SELECT action FROM audit_log ORDER BY id")]
    assert actions[:1] == ["sign_in"] and {"open", "claim", "write", "note", "close"} <= set(actions)
    texts = " ".join(str(row) for row in db_rows(console_service.db, "SELECT * FROM audit_log"))
    assert "Добрий день" not in texts and "call back Monday" not in texts  # no message text in the audit trail

    coordinator = StaffBrowser(console_service.url, staff("coord"), browsers)
    coordinator.sign_in()
    trail = coordinator.client.get("/console/audit?ticket=1").text
    assert "Maria" in trail and "took" in trail and "closed" in trail
    assert maria.client.get("/console/audit").status_code == 403


def _race(first, second) -> None:
    """Run both at the same moment."""
    start = threading.Barrier(2)

    def run(work) -> None:
        start.wait()
        work()

    threads = [threading.Thread(target=run, args=(work,)) for work in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_a_claim_race_between_the_web_console_and_the_telegram_desk_has_one_winner(
    two_desks_service, fake_telegram, browsers
) -> None:
    group = MediatorGroup(fake_telegram, two_desks_service.url)
    maria = StaffBrowser(two_desks_service.url, staff("maria"), browsers)
    maria.sign_in()
    holders = set()
    for ticket_id, chat in enumerate((7201, 7202, 7203, 7204), start=1):
        person = ask_for_a_person(fake_telegram, two_desks_service.url, chat, "en", "where is a family doctor")
        group.wait_for_card(ticket_id)
        path = f"/console/tickets/{ticket_id}/claim"
        _race(lambda path=path: maria.post(path), lambda ticket_id=ticket_id: group.claim(ANA, ticket_id))
        [joined] = person.replies(1)
        [(holder,)] = db_rows(two_desks_service.db, "SELECT mediator FROM tickets WHERE id = ?", ticket_id)
        assert holder in ("web:maria", f"tg:{ANA['id']}")
        assert ("Maria" in joined["text"]) == (holder == "web:maria")
        holders.add(holder)
        fake_telegram.wait_for(
            lambda: not db_rows(two_desks_service.db, "SELECT 1 FROM outbox WHERE status = 'pending'")
        )
        assert len(fake_telegram.sent(chat)) == person.seen  # told once who joined, nothing more


def test_forget_deletes_private_notes_and_keeps_an_anonymous_audit_trail(
    console_service, fake_telegram, browsers
) -> None:
    amir = ask_for_a_person(fake_telegram, console_service.url, 7401, "en", "how do I renew my residence permit")
    maria = StaffBrowser(console_service.url, staff("maria"), browsers)
    maria.sign_in()
    assert maria.client.get("/console/tickets/1").status_code == 200
    maria.post("/console/tickets/1/claim")
    amir.replies(1)
    maria.post("/console/tickets/1/note", text="Amir K., born 1990, works at the bakery on Str. Mureș")
    amir.send("forget")
    amir.press("forget:yes")
    fake_telegram.wait_for(lambda: not db_rows(console_service.db, "SELECT 1 FROM people"))
    assert db_rows(console_service.db, "SELECT count(*) FROM ticket_notes") == [(0,)]
    trail = db_rows(console_service.db, "SELECT action, ticket_id, person_id FROM audit_log WHERE ticket_id = 1")
    assert {"open", "claim", "note"} <= {action for action, _, _ in trail}
    assert all(person is None for _, _, person in trail)  # the entries stay, without the person
    page = maria.client.get("/console/tickets/1").text
    assert "bakery" not in page


def test_a_referral_needs_the_persons_consent_and_comes_back_for_follow_up(
    console_service, fake_telegram, browsers
) -> None:
    from tests.telegram.conftest import buttons_of

    uk = locale("uk")
    olena = ask_for_a_person(fake_telegram, console_service.url, 7501, "uk", "потрібен юрист, відмовили в притулку")
    maria = StaffBrowser(console_service.url, staff("maria"), browsers)
    maria.sign_in()
    maria.post("/console/tickets/1/claim")
    olena.replies(1)

    assert (
        maria.post("/console/tickets/1/refer", contact="nobody")
        .headers["location"]
        .startswith("/console/tickets/1?told=")
    )
    maria.post("/console/tickets/1/refer", contact="jrs_romania")
    [question] = olena.replies(1)
    assert "Maria" in question["text"] and "JRS" in question["text"]
    assert buttons_of(question) == ["ref:1:yes", "ref:1:no"]
    assert db_rows(console_service.db, "SELECT status FROM referrals") == [("asked",)]
    page = maria.client.get("/console/tickets/1").text
    assert "waiting for the person" in page and 'data-step="sent"' not in page  # nothing to send before yes

    dan = StaffBrowser(console_service.url, staff("dan"), browsers)
    dan.sign_in()
    dan.post("/console/referrals/1/status", status="cancelled")  # not his referral
    assert db_rows(console_service.db, "SELECT status FROM referrals") == [("asked",)]

    [thanks] = olena.press("ref:1:yes")
    assert uk["referral.agreed"].split("{")[0].strip() in thanks["text"]
    olena.press("ref:1:no", expect=1)  # answered already: nothing changes
    assert db_rows(console_service.db, "SELECT status FROM referrals") == [("agreed",)]
    assert "the person agreed" in maria.client.get("/console/tickets/1").text

    maria.post("/console/referrals/1/status", status="done")  # not before it was sent
    assert db_rows(console_service.db, "SELECT status FROM referrals") == [("agreed",)]
    maria.post("/console/referrals/1/status", status="sent")
    inbox = maria.client.get("/console/inbox").text
    assert "Referrals to follow up today" in inbox and "#1" in inbox
    maria.post("/console/referrals/1/status", status="accepted")
    maria.post("/console/referrals/1/status", status="done")
    assert db_rows(console_service.db, "SELECT status, follow_up_at FROM referrals") == [("done", None)]
    assert "Referrals to follow up today" not in maria.client.get("/console/inbox").text
    trail = [a for (a,) in db_rows(console_service.db, "SELECT action FROM audit_log WHERE ticket_id = 1")]
    assert trail.count("refer") == 1 and trail.count("referral") == 3


def test_a_new_account_is_set_up_from_its_one_time_link(console_service, browsers) -> None:
    import pyotp

    from tests.test_cli import acasa_env

    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{console_service.db}", "PUBLIC_URL": console_service.url}
    added = acasa_env(env, "user", "add", "ioana", "--name", "Ioana", "--role", "mediator")
    assert added.returncode == 0, added.stderr
    link = next(line for line in added.stdout.splitlines() if "/console/setup/" in line).strip()
    assert link.startswith(console_service.url)
    client = httpx.Client(base_url=console_service.url, follow_redirects=False, timeout=10)
    browsers.append(client)
    page = client.get(link)
    assert page.status_code == 200 and "Ioana" in page.text
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page.text).group(1)
    form = {"csrf": csrf_of(page.text), "secret": secret, "password": "short", "password_again": "short"}
    form["code"] = pyotp.TOTP(secret).now()
    assert client.post(link, data=form).status_code == 400  # too short a password
    form["password"] = form["password_again"] = "a long and private passphrase"
    form["code"] = "123456" if pyotp.TOTP(secret).now() != "123456" else "654321"
    assert client.post(link, data=form).status_code == 400  # the authenticator app was not set up
    form["code"] = pyotp.TOTP(secret).now()
    assert client.post(link, data=form).headers["location"] == "/console/login"
    assert client.get(link).status_code == 404  # a one-time link

    token = csrf_of(client.get("/console/login").text)
    signed = client.post("/console/login", data={"csrf": token, "login": "ioana", "password": form["password"]})
    assert signed.headers["location"] == "/console/second-factor"
    page = client.get("/console/second-factor")
    code = pyotp.TOTP(secret).now()
    assert client.post("/console/second-factor", data={"csrf": csrf_of(page.text), "code": code}).status_code == 303
    assert client.get("/console/inbox").status_code == 200

    listed = acasa_env(env, "user", "list")
    assert "ioana" in listed.stdout and "2FA" in listed.stdout and "active" in listed.stdout
    assert acasa_env(env, "user", "disable", "ioana").returncode == 0
    assert client.get("/console/inbox").status_code == 303  # signed out everywhere
    reset = acasa_env(env, "user", "reset", "ioana")
    assert "/console/setup/" in reset.stdout
    assert acasa_env(env, "user", "add", "ioana", "--role", "mediator").returncode == 1  # the login is taken
    refused = acasa_env(env, "user", "add", "x", "--role", "boss")
    assert refused.returncode == 2 and "invalid choice: 'boss'" in refused.stderr


def test_an_oversized_form_is_refused_before_it_is_read(console_service, browsers) -> None:
    maria = StaffBrowser(console_service.url, staff("maria"), browsers)
    maria.sign_in()
    huge = maria.post("/console/tickets/1/note", text="x" * 200_000)
    assert huge.status_code == 413
    login = httpx.post(console_service.url + "/console/login", data={"login": "a" * 100_000, "password": "b"})
    assert login.status_code == 413
    assert maria.client.get("/console/inbox").status_code == 200  # the service is fine


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_photos_and_pdfs_people_send_reach_the_console(console_two_channels, fake_telegram, fake_twilio, browsers):
    from tests.fakes.telegram_api import photo_update
    from tests.whatsapp.conftest import WhatsAppUser, choice_number

    service = console_two_channels
    maria = StaffBrowser(service.url, staff("maria"), browsers)
    maria.sign_in()
    olena = ask_for_a_person(fake_telegram, service.url, 7601, "uk", "мені прийшов лист з IGI")
    maria.post("/console/tickets/1/claim")
    olena.replies(1)
    fake_telegram.files["PHOTO-OF-LETTER"] = JPEG
    assert olena.post(photo_update(7601, "PHOTO-OF-LETTER", caption="ось лист", lang="uk")).status_code == 200
    fake_telegram.wait_for(lambda: db_rows(service.db, "SELECT status FROM attachments") == [("ready",)])
    page = maria.client.get("/console/tickets/1").text
    assert '<img src="/console/files/1"' in page and "ось лист" in page  # the caption is relayed as text
    shown = maria.client.get("/console/files/1")
    assert shown.status_code == 200 and shown.content == JPEG
    assert shown.headers["content-type"] == "image/jpeg" and shown.headers["x-content-type-options"] == "nosniff"
    assert [c.params["file_path"] for c in fake_telegram.calls_to("download")] == ["documents/PHOTO-OF-LETTER"]

    raj = WhatsAppUser(fake_twilio, service, "+9779800003333")
    [picker] = raj.send("hello")
    raj.send(choice_number(picker, "English"))
    [consent] = raj.send("I want to talk to a person")
    raj.send(choice_number(consent, locale("en")["button.connect"]))
    maria.post("/console/tickets/2/claim")
    raj.replies(1)
    fake_twilio.media["ME0001"] = ("application/pdf", PDF)
    params = raj.params(
        "", NumMedia="1", MediaUrl0=fake_twilio.media_url("ME0001"), MediaContentType0="application/pdf"
    )
    assert raj.post(params).status_code == 200
    fake_telegram.wait_for(lambda: ("ready",) in db_rows(service.db, "SELECT status FROM attachments WHERE id = 2"))
    pdf = maria.client.get("/console/files/2")
    assert pdf.content == PDF and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("inline")
    assert "📎" in maria.client.get("/console/tickets/2").text
    assert browsers[0] is not None
    files_opened = db_rows(service.db, "SELECT count(*) FROM audit_log WHERE action = 'file'")
    assert files_opened == [(2,)]

    # Files from the mediator: a photo on Telegram, a PDF on WhatsApp (Twilio fetches it from us).
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    sent = maria.client.post(
        "/console/tickets/1/send-file",
        data={"csrf": maria.csrf, "caption": "карта до IGI"},
        files={"file": ("map to IGI.png", png, "image/png")},
    )
    assert sent.headers["location"] == "/console/tickets/1"
    fake_telegram.wait_for(lambda: bool(fake_telegram.calls_to("sendPhoto")))
    [photo] = fake_telegram.calls_to("sendPhoto")
    assert photo.params["photo"]["content"] == png and photo.params["photo"]["filename"] == "map_to_IGI.png"
    assert photo.params["caption"] == "👤 Maria: карта до IGI" and int(photo.params["chat_id"]) == 7601
    disguised = maria.client.post(
        "/console/tickets/1/send-file",
        data={"csrf": maria.csrf},
        files={"file": ("letter.pdf", b"MZ\x90\x00", "application/pdf")},
    )
    assert "told=" in disguised.headers["location"]  # judged by its bytes: not a PDF
    huge = maria.client.post(
        "/console/tickets/1/send-file",
        data={"csrf": maria.csrf},
        files={"file": ("big.pdf", b"%PDF-" + bytes(11_000_000), "application/pdf")},
    )
    assert huge.status_code == 413
    forged = maria.client.post("/console/tickets/1/send-file", files={"file": ("a.png", png, "image/png")})
    assert forged.status_code == 403  # no CSRF token

    maria.client.post(
        "/console/tickets/2/send-file", data={"csrf": maria.csrf}, files={"file": ("form.pdf", PDF, "application/pdf")}
    )
    fake_twilio.wait_for(lambda: any(c.params.get("MediaUrl") for c in fake_twilio.delivered("+9779800003333")))
    [with_media] = [c for c in fake_twilio.delivered("+9779800003333") if c.params.get("MediaUrl")]
    assert with_media.params["MediaUrl"].startswith(service.url + "/media/")
    assert httpx.get(with_media.params["MediaUrl"]).content == PDF  # what Twilio fetches
    assert httpx.get(service.url + "/media/" + "x" * 40).status_code == 404
    # A person's own file is never served at the public address.
    [(person_ref,)] = db_rows(service.db, "SELECT platform_ref FROM attachments WHERE id = 1")
    assert httpx.get(service.url + "/media/" + person_ref).status_code == 404
    actions = [a for (a,) in db_rows(service.db, "SELECT action FROM audit_log WHERE action = 'send_file'")]
    assert actions == ["send_file", "send_file"]

    olena.send("forget", expect=1)
    olena.press("forget:yes")
    fake_telegram.wait_for(
        lambda: db_rows(service.db, "SELECT count(*) FROM attachments WHERE ticket_id = 1") == [(0,)]
    )
    assert maria.client.get("/console/files/1").status_code == 404
