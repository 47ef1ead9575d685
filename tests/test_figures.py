"""The city's figures from a seeded history of three months, with retention purges and a
"forget" in between: every figure checked against counts made independently from the history."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from bot.figures import (
    SUPPRESS_BELOW,
    roll_up,
    select_figures,
    share,
    shown,
    suppressed,
)
from bot.handoff.queue import HandoffQueue
from bot.handoff.schedule import DAYS, Schedule
from bot.messages import ConversationKey
from bot.store import Store, Turn
from bot.store.schema import figure_periods, figures, referrals
from bot.store.turns import HandoffEffects

CITY = ZoneInfo("Europe/Bucharest")
START = dt.datetime(2026, 8, 31, 6, 0, tzinfo=dt.UTC)  # a Monday
OFFICE = Schedule(CITY, tuple(((dt.time(9), dt.time(17)),) if i < 5 else () for i in range(len(DAYS))), {})
OUTCOMES = [
    ("answered:health.family_doctor", "how do I find a family doctor"),
    ("answered:rights.residence_permit", "my permit expires"),
    ("opened:education.school_enrolment", "[button] e:education.school_enrolment"),
    ("suggested:rights.asylum", "papers"),
    ("unanswered:", "where is the office"),
    ("unanswered:work.find_job", "agency took my money"),
    ("nearby:money", "how to open a bank account"),
    ("office:igi_timis", "unde e biroul IGI"),
    ("crisis", "my friend is bleeding a lot"),
    ("smalltalk", "thanks"),
    (None, "[button] menu"),
]


@dataclass(frozen=True)
class Said:
    at: dt.datetime
    chat: str
    channel: str
    language: str
    outcome: str | None
    text: str


def city_day(at: dt.datetime) -> dt.date:
    return at.astimezone(CITY).date()


def history() -> list[Said]:
    """Ninety days of people writing: 40 on Telegram in Ukrainian, 12 on WhatsApp in Nepali."""
    rng = random.Random(2026)
    people = [("telegram", "uk", f"5550{n:03d}") for n in range(40)] + [
        ("whatsapp", "ne", f"+97798000{n:03d}") for n in range(12)
    ]
    said = []
    for channel, lang, chat in people:
        first = START + dt.timedelta(days=rng.randrange(80), hours=rng.randrange(14))
        for n in range(rng.randrange(2, 9)):
            at = first + dt.timedelta(days=rng.randrange(0, 10) * (n > 0), minutes=7 * n)
            outcome, text = rng.choice(OUTCOMES)
            said.append(Said(at, chat, channel, lang, outcome, text))
    return sorted(said, key=lambda s: s.at)


async def seed(store: Store, said: list[Said], until: dt.datetime) -> None:
    for s in [s for s in said if s.at < until]:
        state = await store.load(ConversationKey(s.channel, s.chat))
        state.language = s.language
        helpful = [(s.outcome.split(":")[1], s.language, True)] if (s.outcome or "").startswith("answered:") else []
        turn = Turn(state=state, at=s.at, incoming_text=s.text, outcome=s.outcome, replies=[("re", None)])
        turn.feedback = helpful
        await store.save(turn)


def expected_days(said: list[Said]) -> Counter[tuple]:
    """What the figures must say per day, counted here from the history itself."""
    want: Counter[tuple] = Counter()
    people_per_day: dict[tuple, set[str]] = {}
    first_seen: dict[str, dt.datetime] = {}
    for s in said:
        where = (city_day(s.at), s.channel, s.language)
        want[(*where, "", "messages")] += 1
        people_per_day.setdefault(where, set()).add(s.chat)
        first_seen.setdefault(s.chat, s.at)
        if s.outcome is None:
            continue
        kind, _, subject = s.outcome.partition(":")
        if kind in ("answered", "suggested", "unanswered", "nearby", "office"):
            want[(*where, "", "questions")] += 1
        if kind == "office":  # an office's card: a question answered, with no entry to rank
            want[(*where, "", "answered")] += 1
            continue
        want[(*where, subject, {"nearby": "out_of_scope"}.get(kind, kind))] += 1
        if kind == "answered":  # everyone who got an answer here said 👍
            want[(*where, subject, "helpful")] += 1
    for where, chats in people_per_day.items():
        want[(*where, "", "people")] = len(chats)
    for s in said:
        if first_seen[s.chat] == s.at:
            want[(city_day(s.at), s.channel, s.language, "", "new_people")] += 1
    return want


async def actual_days(store: Store) -> Counter[tuple]:
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(figures).where(figures.c.period == "day"))).all()
    return Counter({(r.start, r.channel, r.language, r.subject, r.metric): r.value for r in rows})


async def test_figures_survive_retention_and_forget_and_match_the_history(store: Store) -> None:
    said = history()
    end = START + dt.timedelta(days=91)
    counted_days: set[dt.date] = set()
    # The history arrives week by week; the service rolls up and purges (30-day retention) as it goes.
    moment = START
    while moment < end:
        moment += dt.timedelta(days=7)
        await seed(store, [s for s in said if s.at >= moment - dt.timedelta(days=7)], moment)
        assert await roll_up(store, OFFICE, moment) > 0
        await store.purge_messages(dt.timedelta(days=30), now=moment)
        counted_days |= {d for d in (city_day(s.at) for s in said) if d < city_day(moment)}
    # Someone asks to be forgotten after their messages were counted.
    forgotten = said[0]
    state = await store.load(ConversationKey(forgotten.channel, forgotten.chat))
    await store.save(Turn(state=state, at=end, incoming_text="forget", forget=True))
    await store.purge_messages(dt.timedelta(days=30), now=end + dt.timedelta(days=60))  # every message is gone
    assert await store.count("messages") == 0

    assert await roll_up(store, OFFICE, end) == 0  # nothing new: re-running counts nothing twice
    want = expected_days([s for s in said if city_day(s.at) in counted_days])
    got = await actual_days(store)
    assert len(want) > 500 and sum(want.values()) > 800  # a history worth checking
    assert got == want

    # Weeks and months count distinct people (someone writing on three days of a week is one).
    selection = await select_figures(store, dt.date(2026, 9, 1), dt.date(2026, 9, 30), channel="telegram")
    september = {s.chat for s in said if s.channel == "telegram" and city_day(s.at).month == 9}
    assert selection.people("month") == [(dt.date(2026, 9, 1), len(september))]
    days_total = sum(v for k, v in want.items() if k[0].month == 9 and k[1] == "telegram" and k[4] == "messages")
    assert selection.total("messages") == days_total
    assert sum(n for _, n in selection.series("messages", "week")) == days_total

    # No text and no identifier anywhere in the figures.
    async with store.engine.connect() as conn:
        stored = (await conn.execute(select(figures))).all()
    assert [c.name for c in figures.columns] == ["period", "start", "channel", "language", "subject", "metric", "value"]
    words = {s.text for s in said} | {s.chat for s in said}
    assert not any(str(cell) in words for row in stored for cell in row)


async def test_hand_offs_waits_ratings_and_referrals_are_counted_on_the_day_they_happen(store: Store) -> None:
    queue = HandoffQueue(store)
    monday = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)  # 10:00 in Timișoara: the office is open
    state = await store.load(ConversationKey("telegram", "777"))
    state.language = "ar"
    person = await store.save(Turn(state=state, at=monday, incoming_text="help", outcome="unanswered"))
    assert person is not None
    waits = [3, 3, 12, 12, 12, 50, 50, 200]  # minutes from request to claim
    ids = []
    for n, wait in enumerate(waits):
        at = monday + dt.timedelta(minutes=50 * n)  # 10:00 to 15:50 in the city
        ticket = await queue.enqueue(person, "telegram", "ar", ["rights.asylum"], urgent=n == 0, at=at)
        await queue.claim(ticket.id, "tg:1", at=at + dt.timedelta(minutes=wait))
        await queue.first_reply(ticket.id, at=at + dt.timedelta(minutes=wait + 1))
        await queue.close(ticket.id, at=at + dt.timedelta(minutes=wait + 30))
        ids.append(ticket.id)
    saturday = monday + dt.timedelta(days=5, hours=4)  # the office is closed
    late = await queue.enqueue(person, "telegram", "ar", [], at=saturday)
    await queue.close(late.id, "abandoned", at=saturday + dt.timedelta(days=1))
    tuesday = monday + dt.timedelta(days=1)
    for ticket_id, rating in zip(ids, [5, 5, 4, 5, 5, 1, 5], strict=False):  # the next day, as people rate
        state = await store.load(ConversationKey("telegram", "777"))
        await store.save(
            Turn(state=state, at=tuesday, incoming_text=str(rating), handoff=HandoffEffects(rating=(ticket_id, rating)))
        )
    referral = {"ticket_id": ids[0], "person_id": person, "contact_id": "jrs", "mediator": "tg:1"}
    async with store.engine.begin() as conn:  # referrals as the console records them
        await conn.execute(
            insert(referrals),
            [
                {**referral, "status": status, "mediator_name": "Ana", "created_at": monday, "updated_at": tuesday}
                for status in ("done", "done", "declined", "sent", "done", "done", "done")
            ],
        )
    assert await roll_up(store, OFFICE, dt.datetime(2026, 11, 10, 12, tzinfo=dt.UTC)) > 0
    week = await select_figures(store, dt.date(2026, 11, 2), dt.date(2026, 11, 8), language="ar")
    assert week.total("handoff_requested") == 9
    assert week.total("handoff_urgent") == 1
    assert week.total("handoff_out_of_hours") == 1
    assert week.total("handoff_claimed") == 8 and week.total("handoff_closed") == 8
    assert week.total("handoff_abandoned") == 1
    assert week.by("handoff_topic", "subject") == {"rights.asylum": 8}
    assert week.by("claim_wait", "subject") == {"5": 2, "15": 3, "60": 2, "240": 1}
    assert week.wait_percentile("claim_wait", 0.5) == "15" and week.wait_percentile("claim_wait", 0.9) == "240"
    assert week.by("rating", "subject") == {"5": 5, "4": 1, "1": 1}
    assert week.by("referral_made", "subject") == {"jrs": 7}
    assert week.total("referral_done") == 5 and week.total("referral_declined") == 1
    async with store.engine.connect() as conn:
        periods = (await conn.execute(select(figure_periods.c.period))).scalars().all()
    assert {"day", "week"} <= set(periods) and "month" not in periods  # November is not over


def test_small_counts_are_never_shown() -> None:
    assert [shown(n) for n in (0, 1, 4, 5, 120)] == ["0", "<5", "<5", "5", "120"]
    # One hidden cell beside a total could be worked out: the next smallest is hidden too.
    assert suppressed({"uk": 40, "ne": 3, "ar": 9, "fr": 0}) == {"uk": 40, "ne": None, "ar": None, "fr": 0}
    assert suppressed({"uk": 40, "ne": 3, "ar": 2}) == {"uk": 40, "ne": None, "ar": None}
    assert suppressed({"uk": 40, "ne": 12}) == {"uk": 40, "ne": 12}
    assert share(30, 40) == "75%"
    assert share(37, 40) == "—" and share(3, 40) == "—" and share(4, 8) == "—"  # would reveal fewer than 5
    assert SUPPRESS_BELOW == 5
