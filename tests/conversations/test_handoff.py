"""The person's side of talking to a mediator, on a real engine and SQLite file."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from bot.engine import Engine
from bot.handoff.queue import HandoffQueue
from tests.conversations.conftest import PROJECT, Person, rows

EN = yaml.safe_load((PROJECT / "locales" / "en.yaml").read_text(encoding="utf-8"))
UK = yaml.safe_load((PROJECT / "locales" / "uk.yaml").read_text(encoding="utf-8"))
WEDNESDAY_NOON = dt.datetime(2027, 3, 3, 10, 0, tzinfo=dt.UTC)  # 12:00 in Timișoara
SATURDAY_NOON = dt.datetime(2027, 3, 6, 10, 0, tzinfo=dt.UTC)
CHRISTMAS_NOON = dt.datetime(2026, 12, 25, 10, 0, tzinfo=dt.UTC)  # a Friday, and a public holiday


@pytest.fixture
async def desk_engine(open_engine):
    """An engine with a mediator desk configured (the desk itself is not needed on this side)."""
    async with open_engine(mediator_chat_id=-1001, telegram_bot_token="1:x") as running:
        yield running


async def english_person(engine: Engine, name: str, at: dt.datetime = WEDNESDAY_NOON) -> Person:
    person = Person(engine, name)
    await person.send("/start", at=at)
    await person.press("English", at=at)
    return person


async def with_a_mediator(engine: Engine, name: str) -> Person:
    """An English-speaking person whose conversation a mediator ("tg:1") has claimed."""
    person = await english_person(engine, name)
    await person.send("person")
    await person.press("handoff:yes")
    queue = HandoffQueue(engine.store)
    [ticket] = await queue.waiting()
    await queue.claim(ticket.id, "tg:1")
    return person


def outbox(settings, kind: str | None = None) -> list[str]:
    found = rows(settings, "SELECT chat_id, body FROM outbox WHERE channel = 'desk' ORDER BY id")
    return [chat for chat, body in found if kind is None or f'"kind": "{kind}"' in body]


async def test_consent_then_queue_with_position_and_emergency_numbers(desk_engine: Engine, settings) -> None:
    first = await english_person(desk_engine, "first")
    await first.send("how do I register with a family doctor", at=WEDNESDAY_NOON)
    await first.send("person", at=WEDNESDAY_NOON)
    assert EN["handoff.consent"] in first.text
    assert first.payloads == ["handoff:yes", "handoff:no"]
    assert "Timișoara time" not in first.text  # mediators are at work on a Wednesday at noon
    await first.press("Yes, connect me")
    assert EN["handoff.queued"] in first.text and "You are number 1 in the queue." in first.text
    assert "112" in first.text  # the emergency numbers, always
    second = await english_person(desk_engine, "second")
    await second.send("talk to a person", at=WEDNESDAY_NOON)
    await second.press("handoff:yes")
    assert "You are number 2 in the queue." in second.text
    [(topics, summary, status)] = rows(settings, "SELECT topics, summary, status FROM tickets WHERE id = 1")
    assert "health.family_doctor" in topics and summary == "how do I register with a family doctor"
    assert status == "waiting"
    assert outbox(settings, "card") == ["queue", "queue"]  # one card per ticket for the desk


async def test_declining_or_ignoring_the_offer_creates_nothing(desk_engine: Engine, settings) -> None:
    person = await english_person(desk_engine, "decliner")
    await person.send("person")
    await person.press("No, not now")
    assert EN["handoff.declined"] in person.text
    await person.send("person")
    await person.send("how do I register with a family doctor")  # wrote something else instead
    assert "health.family_doctor" in person.intents
    await person.send(payload="handoff:yes")  # an old consent button asks again rather than queueing
    assert EN["handoff.consent"] in person.text
    assert rows(settings, "SELECT count(*) FROM tickets") == [(0,)]


async def test_the_general_human_question_offers_a_mediator(desk_engine: Engine) -> None:
    person = await english_person(desk_engine, "asker")
    await person.send("I would like to speak with a human mediator please")
    assert person.payloads == ["handoff:yes", "handoff:no"]


@pytest.mark.parametrize(
    ("moment", "back"),
    [(SATURDAY_NOON, "Monday 08.03 09:00"), (CHRISTMAS_NOON, "Monday 28.12 09:00")],
    ids=["weekend", "holiday"],
)
async def test_out_of_hours_says_when_mediators_are_back_and_still_queues(
    desk_engine: Engine, settings, moment: dt.datetime, back: str
) -> None:
    person = await english_person(desk_engine, "late", at=moment)
    await person.send("person", at=moment)
    assert back in person.text and "Monday–Friday 09:00–17:00" in person.text
    await person.send(payload="handoff:yes", at=moment)
    assert back in person.text and "112" in person.text
    assert rows(settings, "SELECT status FROM tickets") == [("waiting",)]


async def test_out_of_hours_in_ukrainian(desk_engine: Engine) -> None:
    person = Person(desk_engine, "olena", lang_hint="uk")
    await person.send("/start", at=SATURDAY_NOON)
    await person.press("Українська")
    await person.send("людина", at=SATURDAY_NOON)
    assert f"{UK['day.monday']} 08.03 09:00" in person.text
    assert f"{UK['day.monday']}–{UK['day.friday']} 09:00–17:00" in person.text


async def test_while_waiting_the_bot_keeps_messages_for_the_mediator(desk_engine: Engine, settings) -> None:
    person = await english_person(desk_engine, "waiter")
    await person.send("person", at=WEDNESDAY_NOON)
    await person.press("handoff:yes", at=WEDNESDAY_NOON)
    start = WEDNESDAY_NOON + dt.timedelta(minutes=5)
    await person.send("how do I register with a family doctor", at=start)
    assert person.intents == [None] and EN["handoff.waiting_note"] in person.text  # not answered by the bot
    assert "You are number 1 in the queue." in person.text
    await person.send("1", at=start + dt.timedelta(seconds=30))
    assert person.replies == []  # not a menu choice, and no repeated note within minutes
    await person.send("still here", at=start + dt.timedelta(minutes=4))
    assert EN["handoff.waiting_note"] in person.text
    await person.send(payload="topic:health:0", at=start + dt.timedelta(minutes=5))  # an old button
    assert EN["handoff.waiting_note"] in person.text
    logged = [text for (text,) in rows(settings, "SELECT text FROM messages WHERE direction = 'in'")]
    assert "how do I register with a family doctor" in logged and "1" in logged  # kept for the transcript
    assert outbox(settings, "relay") == []  # nobody has claimed it: nothing is sent to a topic yet


async def test_crisis_leads_to_an_urgent_ticket_ahead_of_others(desk_engine: Engine, settings) -> None:
    calm = await english_person(desk_engine, "calm")
    await calm.send("person")
    await calm.press("handoff:yes")
    scared = await english_person(desk_engine, "scared")
    await scared.send("help he is beating me")
    assert "112" in scared.replies[0].text
    await scared.press("human:urgent")
    await scared.press("handoff:yes")
    assert "You are number 1 in the queue." in scared.text
    queue = HandoffQueue(desk_engine.store)
    assert [t.urgent for t in await queue.waiting()] == [True, False]
    # A crisis while waiting makes a waiting ticket urgent too, and still shows the numbers first.
    await calm.send("he is beating me now")
    assert "112" in calm.replies[0].text
    assert all(t.urgent for t in await queue.waiting())
    assert len(outbox(settings, "card")) == 3  # the escalated ticket is announced again, as urgent


async def test_cancel_leaves_the_queue_and_the_bot_answers_again(desk_engine: Engine, settings) -> None:
    person = await english_person(desk_engine, "canceller")
    await person.send("person")
    await person.press("handoff:yes")
    await person.send("cancel")
    assert EN["handoff.cancelled"] in person.text
    assert rows(settings, "SELECT status FROM tickets") == [("cancelled",)]
    await person.send("how do I register with a family doctor")
    assert "health.family_doctor" in person.intents


async def test_rating_after_the_mediator_closed(desk_engine: Engine, settings) -> None:
    person = await english_person(desk_engine, "rater")
    await person.send("person")
    await person.press("handoff:yes")
    queue = HandoffQueue(desk_engine.store)
    [ticket] = await queue.waiting()
    assert await queue.claim(ticket.id, "tg:1")
    await person.send("thank you")
    assert person.replies == []  # with a mediator: relayed, the bot stays quiet
    assert outbox(settings, "relay") == [f"ticket:{ticket.id}"]
    assert await queue.close(ticket.id)
    await person.send("4")  # the first message after closing may be the rating
    assert EN["handoff.rated"] in person.text
    assert (await queue.get(ticket.id)).rating == 4  # type: ignore[union-attr]
    await person.send("5")  # later numbers are not ratings any more
    assert EN["handoff.rated"] not in person.text
    assert (await queue.get(ticket.id)).rating == 4  # type: ignore[union-attr]


async def test_forget_while_waiting_ends_the_ticket_without_the_person(desk_engine: Engine, settings) -> None:
    person = await english_person(desk_engine, "forgetter")
    await person.send("how do I register with a family doctor")
    await person.send("person")
    await person.press("handoff:yes")
    await person.send("forget")
    await person.press("forget:yes")
    assert rows(settings, "SELECT status, person_id, summary FROM tickets") == [("abandoned", None, None)]
    assert rows(settings, "SELECT count(*) FROM people") == [(0,)]


async def test_without_a_mediator_desk_the_bot_explains_how_to_reach_a_person(engine: Engine, settings) -> None:
    person = await english_person(engine, "nodesk")
    await person.send("person")
    assert person.intents == ["general.human"]
    assert rows(settings, "SELECT count(*) FROM tickets") == [(0,)]


async def test_forget_confirmed_by_number_while_in_the_queue(desk_engine: Engine, settings) -> None:
    """On WhatsApp "1" confirms; with a ticket open it must not be taken as a message for the mediator."""
    person = await english_person(desk_engine, "numbered")
    await person.send("person")
    await person.press("handoff:yes")
    await person.send("forget")
    assert person.payloads == ["forget:yes", "forget:no"]
    await person.send("1")
    assert rows(settings, "SELECT count(*) FROM people") == [(0,)]
    assert rows(settings, "SELECT status FROM tickets") == [("abandoned",)]


async def test_a_location_shared_while_waiting_reaches_the_transcript(desk_engine: Engine, settings) -> None:
    from bot.messages import Incoming, Location

    person = await english_person(desk_engine, "located")
    await person.send("person")
    await person.press("handoff:yes")
    await desk_engine.handle(Incoming(person.key, location=Location(45.75, 21.23)))
    logged = [text for (text,) in rows(settings, "SELECT text FROM messages WHERE direction = 'in'")]
    assert "📍 https://www.openstreetmap.org/?mlat=45.75&mlon=21.23" in logged


async def test_a_rating_only_counts_for_the_persons_own_ticket_and_once(desk_engine: Engine) -> None:
    queue = HandoffQueue(desk_engine.store)
    owner = await english_person(desk_engine, "owner")
    await owner.send("person")
    await owner.press("handoff:yes")
    [ticket] = await queue.waiting()
    await queue.claim(ticket.id, "tg:1")
    await queue.close(ticket.id)
    other = await english_person(desk_engine, "other")
    await other.send(payload=f"rate:{ticket.id}:1")  # someone else's ticket
    assert EN["handoff.rated"] not in other.text
    await owner.send(payload=f"rate:{ticket.id}:5")
    assert EN["handoff.rated"] in owner.text
    await owner.send(payload=f"rate:{ticket.id}:2")  # an old button pressed again
    assert (await queue.get(ticket.id)).rating == 5  # type: ignore[union-attr]


async def test_after_danger_words_a_typed_1_asks_for_a_person_urgently(desk_engine: Engine, settings) -> None:
    person = await english_person(desk_engine, "danger")
    await person.send("he is beating me, how do I register with a family doctor")
    assert "112" in person.replies[0].text
    assert person.replies[-1].buttons[0].payload == "human:urgent"  # "1" on WhatsApp
    await person.send("1")
    assert person.payloads == ["handoff:yes", "handoff:no"]
    await person.send("yes")  # typed instead of pressed
    assert EN["handoff.queued"] in person.text
    assert rows(settings, "SELECT urgent FROM tickets") == [(1,)]


@pytest.mark.parametrize(("lang", "native", "typed"), [("ro", "Română", "da"), ("uk", "Українська", "Так")])
async def test_consent_typed_in_the_persons_language(desk_engine: Engine, settings, lang, native, typed) -> None:
    person = Person(desk_engine, f"typed-{lang}", lang_hint=lang)
    await person.send("/start")
    await person.press(native)
    await person.send(payload="human")
    await person.send(typed)
    assert rows(settings, "SELECT language, status FROM tickets") == [(lang, "waiting")]


async def test_odd_digits_do_not_break_a_turn(desk_engine: Engine) -> None:
    person = await english_person(desk_engine, "digits")
    for text in ("²", "①", "٣"):
        await person.send(text)
        assert person.replies  # answered, not crashed


async def test_with_a_mediator_cancel_on_the_forget_question_keeps_the_conversation(
    desk_engine: Engine, settings
) -> None:
    person = await with_a_mediator(desk_engine, "careful")
    await person.send("forget")
    await person.send("Cancel")  # the label of the "do not delete" button, typed
    assert EN["forget.cancelled"] in person.text
    assert rows(settings, "SELECT status FROM tickets") == [("claimed",)]
    await person.send("stop")  # could be meant for the mediator: asked first
    assert EN["handoff.confirm_end"] in person.text
    await person.send("2")  # No
    assert rows(settings, "SELECT status FROM tickets") == [("claimed",)]


async def test_a_photo_caption_reaches_the_mediator(desk_engine: Engine, settings) -> None:
    from bot.messages import Incoming

    person = await with_a_mediator(desk_engine, "photographer")
    replies = await desk_engine.handle(Incoming(person.key, text="this letter came from IGI", media=True))
    assert replies == []  # the caption says it in words: nothing to ask
    [body] = [b for (b,) in rows(settings, "SELECT body FROM outbox WHERE channel = 'desk' AND body LIKE '%relay%'")]
    assert '"media": true' in body and "this letter came from IGI" in body


async def test_with_a_mediator_the_classifiers_alone_name_112_in_one_line_not_every_time(
    desk_engine: Engine, settings
) -> None:
    """Chat read as danger by the classifiers alone ("saturday ko flat shift kar raha hun", no danger
    phrase) names 112 in one line, at most every half hour; a danger phrase still brings every
    emergency number. Every message reaches the mediator."""
    person = await with_a_mediator(desk_engine, "chatty")
    chat = "saturday ko flat shift kar raha hun"  # read as danger, no phrase (tests/nlu/realistic/chat_dev2)
    assert desk_engine.content.current.crisis.detect(chat) is not None
    assert desk_engine.content.current.crisis.detect_phrase(chat) is None
    await person.send(chat, at=WEDNESDAY_NOON + dt.timedelta(minutes=5))
    assert [r.text for r in person.replies] == [EN["crisis.caution"]]
    await person.send(chat, at=WEDNESDAY_NOON + dt.timedelta(minutes=20))
    assert person.replies == []  # said a quarter of an hour ago, and a mediator is here
    await person.send(chat, at=WEDNESDAY_NOON + dt.timedelta(minutes=40))
    assert [r.text for r in person.replies] == [EN["crisis.caution"]]
    await person.send("he is beating me right now", at=WEDNESDAY_NOON + dt.timedelta(minutes=41))
    assert [r.text for r in person.replies] == [EN["crisis.message"]]
    assert len(outbox(settings, "relay")) == 4  # every message reached the mediator
    assert rows(settings, "SELECT status FROM tickets") == [("claimed",)]
