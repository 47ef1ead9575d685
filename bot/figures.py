"""The city's figures: counts that outlive the messages they were counted from.

Once a day (a week, a month) is over in Timișoara, what happened in it is counted from the logs
into ``figures``: per channel × language × subject × metric, numbers only — no text, no person's
id. A period is rolled up once (``figure_periods`` says which), so re-running changes nothing,
and "forget" or the retention purge, which later delete the messages, never change past figures.
The purge rolls up first, so nothing is deleted uncounted.

Metrics (subject in brackets):
- ``messages``: messages received; ``questions``: free-text questions, of which ``answered``
  [entry], ``suggested`` (did-you-mean), ``unanswered``, ``out_of_scope`` [topic the bot has no
  entry for]; ``opened`` [entry] (from the menus); ``crisis`` (emergency replies); ``smalltalk``.
- ``people`` (distinct people who wrote; for days, weeks and months), ``new_people``.
- ``helpful`` / ``unhelpful`` [entry]: 👍 / 👎; ``page_helpful`` / ``page_unhelpful`` [entry]: the
  help centre's "was this helpful?" (channel ``help``).
- ``handoff_requested``, ``handoff_urgent``, ``handoff_out_of_hours``, ``handoff_topic`` [entry],
  ``handoff_claimed``, ``handoff_closed``, ``handoff_abandoned``, ``handoff_cancelled``,
  ``claim_wait`` and ``reply_wait`` [minutes bucket], ``rating`` [1–5].
- ``referral_made`` [partner], ``referral_done`` / ``_declined`` / ``_cancelled`` [partner].
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.handoff.schedule import Schedule
from bot.store import Store
from bot.store.base import as_utc, try_singleton
from bot.store.schema import (
    feedback,
    figure_periods,
    figures,
    messages,
    page_feedback,
    people,
    referrals,
    tickets,
)

log = logging.getLogger(__name__)

ZONE = ZoneInfo("Europe/Bucharest")  # the city's days, weeks and months
GRACE = dt.timedelta(hours=1)  # a period is counted this long after it ends (late deliveries)
WAIT_BUCKETS = (1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 1440)  # minutes; "more" above the last
MORE = "more"
SUPPRESS_BELOW = 5  # counts of 1–4 are never shown: a person could be singled out
PERIODS = ("day", "week", "month")
FINAL_REFERRALS = ("done", "declined", "cancelled")
Key = tuple[str, str, str, str]  # channel, language, subject, metric


# -- periods -------------------------------------------------------------------------------------


def local_day(at: dt.datetime) -> dt.date:
    return as_utc(at).astimezone(ZONE).date()  # type: ignore[union-attr]


def period_start(period: str, day: dt.date) -> dt.date:
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def period_end(period: str, start: dt.date) -> dt.date:
    """The first day after the period."""
    if period == "week":
        return start + dt.timedelta(days=7)
    if period == "month":
        return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start + dt.timedelta(days=1)


def utc_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in local days, as UTC instants."""

    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(0), ZONE).astimezone(dt.UTC)

    return midnight(start), midnight(end)


def wait_bucket(waited: dt.timedelta) -> str:
    minutes = waited.total_seconds() / 60
    for bound in WAIT_BUCKETS:
        if minutes <= bound:
            return str(bound)
    return MORE


def finished_periods(first_day: dt.date, now: dt.datetime) -> list[tuple[str, dt.date]]:
    """Every day, week and month from ``first_day`` that ended (plus the grace) before ``now``."""
    found: list[tuple[str, dt.date]] = []
    for period in PERIODS:
        start = period_start(period, first_day)
        while True:
            end = period_end(period, start)
            if utc_bounds(start, end)[1] + GRACE > now:
                break
            found.append((period, start))
            start = end
    return found


# -- rolling up ------------------------------------------------------------------------------------


async def roll_up(store: Store, schedule: Schedule, now: dt.datetime | None = None) -> int:
    """Count every finished period not counted yet; returns how many were. Safe to run at any time
    and on several instances at once (one counts, the others find nothing left)."""
    now = as_utc(now) or dt.datetime.now(dt.UTC)

    async def work(conn: AsyncConnection) -> int:
        if not await try_singleton(conn, "acasa:figures"):
            return 0
        first = await _first_day(conn)
        if first is None:
            return 0
        done = {(r.period, r.start) for r in (await conn.execute(select(figure_periods))).all()}
        todo = [p for p in finished_periods(first, now) if p not in done]
        for period, start in todo:
            counts = await _count(conn, period, start, schedule)
            where = {"period": period, "start": start}
            rows = [
                {**where, "channel": c, "language": lang, "subject": s, "metric": m, "value": v}
                for (c, lang, s, m), v in sorted(counts.items())
                if v
            ]
            if rows:
                await conn.execute(insert(figures), rows)
            await conn.execute(insert(figure_periods).values(period=period, start=start, rolled_at=now))
        return len(todo)

    counted = await store.write(work)
    if counted:
        log.info("figures: %d period(s) counted", counted)
    return counted


async def _first_day(conn: AsyncConnection) -> dt.date | None:
    """The first local day anything was logged (messages, tickets, 👍/👎, referrals, page ratings)."""
    firsts = []
    columns = (messages, tickets, feedback, referrals, page_feedback)
    for column in (table.c.created_at for table in columns):
        value = (await conn.execute(select(func.min(column)))).scalar()
        if value is not None:
            firsts.append(local_day(value))
    return min(firsts) if firsts else None


async def _count(conn: AsyncConnection, period: str, start: dt.date, schedule: Schedule) -> Counter[Key]:
    a, b = utc_bounds(start, period_end(period, start))
    counts: Counter[Key] = Counter()
    written = and_(messages.c.direction == "in", messages.c.created_at >= a, messages.c.created_at < b)
    by_person = (people.c.channel, func.coalesce(people.c.language, ""))
    rows = await conn.execute(
        select(*by_person, func.count(func.distinct(messages.c.person_id)))
        .select_from(messages.join(people, people.c.id == messages.c.person_id))
        .where(written)
        .group_by(*by_person)
    )
    for channel, lang, n in rows:
        counts[(channel, lang, "", "people")] += n
    if period != "day":  # weeks and months count only distinct people: the rest adds up from days
        return counts

    rows = await conn.execute(
        select(*by_person, messages.c.intent, func.count())
        .select_from(messages.join(people, people.c.id == messages.c.person_id))
        .where(written)
        .group_by(*by_person, messages.c.intent)
    )
    for channel, lang, outcome, n in rows:
        for subject, metric in _outcome_metrics(outcome):
            counts[(channel, lang, subject, metric)] += n

    rows = await conn.execute(
        select(*by_person, func.count()).where(people.c.first_seen >= a, people.c.first_seen < b).group_by(*by_person)
    )
    for channel, lang, n in rows:
        counts[(channel, lang, "", "new_people")] += n

    rows = await conn.execute(
        select(people.c.channel, feedback.c.language, feedback.c.entry_id, feedback.c.helpful, func.count())
        .select_from(feedback.join(people, people.c.id == feedback.c.person_id))
        .where(feedback.c.created_at >= a, feedback.c.created_at < b)
        .group_by(people.c.channel, feedback.c.language, feedback.c.entry_id, feedback.c.helpful)
    )
    for channel, lang, entry, helpful, n in rows:
        counts[(channel, lang, entry, "helpful" if helpful else "unhelpful")] += n

    rows = await conn.execute(
        select(page_feedback.c.language, page_feedback.c.entry_id, page_feedback.c.helpful, func.count())
        .where(page_feedback.c.created_at >= a, page_feedback.c.created_at < b)
        .group_by(page_feedback.c.language, page_feedback.c.entry_id, page_feedback.c.helpful)
    )
    for lang, entry, helpful, n in rows:  # "was this helpful?" on the help centre's pages
        counts[("help", lang, entry, "page_helpful" if helpful else "page_unhelpful")] += n

    _count_tickets(await _tickets_touching(conn, a, b), a, b, schedule, counts)
    await _count_referrals(conn, a, b, counts)
    return counts


def _outcome_metrics(outcome: str | None) -> list[tuple[str, str]]:
    """(subject, metric) pairs one received message counts towards."""
    found = [("", "messages")]
    if not outcome:
        return found
    kind, _, subject = outcome.partition(":")
    if kind in ("answered", "suggested", "unanswered", "nearby", "office"):
        found.append(("", "questions"))
    if kind == "office":  # an office asked for by name, answered with its card: no entry to rank
        found.append(("", "answered"))
    metric = {"nearby": "out_of_scope"}.get(kind, kind)
    if metric in ("answered", "opened", "suggested", "unanswered", "out_of_scope", "crisis", "smalltalk"):
        found.append((subject, metric))
    return found


async def _tickets_touching(conn: AsyncConnection, a: dt.datetime, b: dt.datetime) -> list:
    def within(column) -> object:
        return and_(column >= a, column < b)

    query = select(tickets).where(
        within(tickets.c.created_at)
        | within(tickets.c.claimed_at)
        | within(tickets.c.first_reply_at)
        | within(tickets.c.closed_at)
        | within(tickets.c.rated_at)
    )
    return list((await conn.execute(query)).all())


def _count_tickets(rows: Iterable, a: dt.datetime, b: dt.datetime, schedule: Schedule, counts: Counter[Key]) -> None:
    def within(value: dt.datetime | None) -> bool:
        return value is not None and a <= as_utc(value) < b  # type: ignore[operator]

    for t in rows:
        where = (t.channel, t.language or "")
        created = as_utc(t.created_at)
        if within(created):
            counts[(*where, "", "handoff_requested")] += 1
            if t.urgent:
                counts[(*where, "", "handoff_urgent")] += 1
            if not schedule.is_open(created):  # type: ignore[arg-type]
                counts[(*where, "", "handoff_out_of_hours")] += 1
            for entry in dict.fromkeys(t.topics or []):
                counts[(*where, str(entry), "handoff_topic")] += 1
        if within(t.claimed_at):
            counts[(*where, "", "handoff_claimed")] += 1
            counts[(*where, wait_bucket(as_utc(t.claimed_at) - created), "claim_wait")] += 1  # type: ignore[operator]
        if within(t.first_reply_at):
            counts[(*where, wait_bucket(as_utc(t.first_reply_at) - created), "reply_wait")] += 1  # type: ignore[operator]
        if within(t.closed_at) and t.status in ("closed", "abandoned", "cancelled"):
            counts[(*where, "", f"handoff_{t.status}")] += 1
        if within(t.rated_at) and t.rating is not None:
            counts[(*where, str(t.rating), "rating")] += 1


async def _count_referrals(conn: AsyncConnection, a: dt.datetime, b: dt.datetime, counts: Counter[Key]) -> None:
    where = (func.coalesce(tickets.c.channel, ""), func.coalesce(tickets.c.language, ""))
    joined = referrals.outerjoin(tickets, tickets.c.id == referrals.c.ticket_id)
    rows = await conn.execute(
        select(*where, referrals.c.contact_id, func.count())
        .select_from(joined)
        .where(referrals.c.created_at >= a, referrals.c.created_at < b)
        .group_by(*where, referrals.c.contact_id)
    )
    for channel, lang, partner, n in rows:
        counts[(channel, lang, partner, "referral_made")] += n
    rows = await conn.execute(
        select(*where, referrals.c.contact_id, referrals.c.status, func.count())
        .select_from(joined)
        .where(referrals.c.status.in_(FINAL_REFERRALS), referrals.c.updated_at >= a, referrals.c.updated_at < b)
        .group_by(*where, referrals.c.contact_id, referrals.c.status)
    )
    for channel, lang, partner, status, n in rows:
        counts[(channel, lang, partner, f"referral_{status}")] += n


# -- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    period: str
    start: dt.date
    channel: str
    language: str
    subject: str
    metric: str
    value: int


@dataclass
class Selection:
    """The figures of a period, optionally of one channel and one language."""

    start: dt.date
    end: dt.date  # inclusive
    channel: str | None = None
    language: str | None = None
    rows: list[Row] = field(default_factory=list)

    def days(self) -> list[Row]:
        return [r for r in self.rows if r.period == "day"]

    def total(self, metric: str) -> int:
        return sum(r.value for r in self.days() if r.metric == metric)

    def by(self, metric: str, key: str) -> dict[str, int]:
        """``metric`` summed per ``key``: "subject", "language", "channel" or "topic"."""
        found: Counter[str] = Counter()
        for r in self.days():
            if r.metric == metric:
                name = r.subject.split(".", 1)[0] if key == "topic" else getattr(r, key)
                found[name] += r.value
        return dict(found)

    def series(self, metric: str, period: str) -> list[tuple[dt.date, int]]:
        """``metric`` per week or month of the selection (every one, zeros included)."""
        found: Counter[dt.date] = Counter()
        for r in self.days():
            if r.metric == metric:
                found[period_start(period, r.start)] += r.value
        starts = []
        start = period_start(period, self.start)
        while start <= self.end:
            starts.append(start)
            start = period_end(period, start)
        return [(s, found[s]) for s in starts]

    def people(self, period: str) -> list[tuple[dt.date, int]]:
        """Distinct people per week or month, for the periods wholly counted."""
        found: Counter[dt.date] = Counter()
        for r in self.rows:
            if r.period == period and r.metric == "people":
                found[r.start] += r.value
        return sorted(found.items())

    def wait_percentile(self, metric: str, share: float) -> str | None:
        """The bucket ("15": up to 15 minutes) within which ``share`` of the waits fell; None without waits."""
        buckets = self.by(metric, "subject")
        total = sum(buckets.values())
        if not total:
            return None
        running = 0
        for bound in [*(str(b) for b in WAIT_BUCKETS), MORE]:
            running += buckets.get(bound, 0)
            if running >= share * total:
                return bound
        return MORE


async def select_figures(
    store: Store, start: dt.date, end: dt.date, channel: str | None = None, language: str | None = None
) -> Selection:
    """The figures of the days ``start``..``end`` (and the weeks and months that begin in them)."""
    query = select(figures).where(figures.c.start >= start, figures.c.start <= end)
    if channel:
        query = query.where(figures.c.channel == channel)
    if language:
        query = query.where(figures.c.language == language)
    async with store.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    chosen = [Row(r.period, r.start, r.channel, r.language, r.subject, r.metric, r.value) for r in rows]
    # A week or month is shown only when it lies wholly inside the selection.
    chosen = [r for r in chosen if r.period == "day" or period_end(r.period, r.start) <= end + dt.timedelta(days=1)]
    return Selection(start, end, channel, language, chosen)


# -- showing ---------------------------------------------------------------------------------------


def shown(value: int | None) -> str:
    """A count as it may be shown: 1–4 become "<5"."""
    if value is None:
        return "<5"
    return f"<{SUPPRESS_BELOW}" if 0 < value < SUPPRESS_BELOW else str(value)


def suppressed(cells: dict[str, int]) -> dict[str, int | None]:
    """A breakdown whose total is shown: counts of 1–4 hidden (None), and when only one is hidden,
    the next smallest too, so that it cannot be worked out from the total."""
    result: dict[str, int | None] = {k: (None if 0 < v < SUPPRESS_BELOW else v) for k, v in cells.items()}
    hidden = [k for k, v in result.items() if v is None]
    if len(hidden) == 1:
        others = sorted((v, k) for k, v in result.items() if v)
        if others:
            result[others[0][1]] = None
    return result


def share(part: int, whole: int) -> str:
    """A percentage, unless it would reveal a small count (of the part or of the rest)."""
    rest = whole - part
    if whole < 2 * SUPPRESS_BELOW or 0 < part < SUPPRESS_BELOW or 0 < rest < SUPPRESS_BELOW:
        return "—"
    return f"{round(100 * part / whole)}%"
