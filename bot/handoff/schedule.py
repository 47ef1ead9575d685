"""When human mediators work: a weekly schedule and holidays, in Timișoara time.

Read from ``knowledge/mediation.yaml`` (editors keep it). Outside these hours people can still
join the queue; they are told when mediators are back, and always given the emergency numbers.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.kb.problems import ProblemList
from bot.kb.yamlsrc import read_yaml

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
Span = tuple[dt.time, dt.time]


@dataclass(frozen=True)
class Schedule:
    timezone: ZoneInfo
    week: tuple[tuple[Span, ...], ...]  # Monday first
    holidays: dict[dt.date, str]

    def _spans(self, day: dt.date) -> tuple[Span, ...]:
        return () if day in self.holidays else self.week[day.weekday()]

    def is_open(self, at: dt.datetime) -> bool:
        local = at.astimezone(self.timezone)
        return any(start <= local.time() < end for start, end in self._spans(local.date()))

    def next_opening(self, at: dt.datetime) -> dt.datetime | None:
        """The next moment mediators start work (local time); None if the schedule is empty."""
        local = at.astimezone(self.timezone)
        for offset in range(0, 400):
            day = local.date() + dt.timedelta(days=offset)
            for start, _ in self._spans(day):
                moment = dt.datetime.combine(day, start, self.timezone)
                if moment > local:
                    return moment
        return None

    def weekly_spans(self) -> list[tuple[list[int], Span]]:
        """Runs of consecutive weekdays with the same hours, e.g. ([0..4], 09:00–17:00)."""
        runs: list[tuple[list[int], Span]] = []
        for index, spans in enumerate(self.week):
            for span in spans:
                if runs and runs[-1][1] == span and runs[-1][0][-1] == index - 1:
                    runs[-1][0].append(index)
                else:
                    runs.append(([index], span))
        return runs


ALWAYS_OPEN = Schedule(ZoneInfo("Europe/Bucharest"), tuple(((dt.time(0), dt.time.max),) for _ in DAYS), {})


def _span(text: object) -> Span | None:
    match = _SPAN.match(str(text).strip())
    if not match:
        return None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
        return None
    start = dt.time(h1, m1)
    end = dt.time.max if (h2, m2) == (24, 0) else dt.time(h2 % 24, m2)
    return (start, end) if start < end else None


def load_schedule(path: Path) -> tuple[Schedule | None, ProblemList]:
    problems = ProblemList()
    if not path.exists():
        problems.error(path, None, None, "the mediators' working hours are missing; copy the example in the guide.")
        return None, problems
    doc = read_yaml(path, problems)
    if doc is None:
        return None, problems
    data = doc.data if isinstance(doc.data, dict) else {}
    if not isinstance(doc.data, dict):
        problems.error(path, 1, None, "write 'timezone', 'hours' and 'holidays' fields.")
        return None, problems
    for key in data:
        if key not in ("timezone", "hours", "holidays"):
            problems.error(path, doc.line(key), str(key), "unknown field; use timezone, hours and holidays.")
    try:
        zone = ZoneInfo(str(data.get("timezone", "Europe/Bucharest")))
    except (ZoneInfoNotFoundError, ValueError):
        problems.error(path, doc.line("timezone"), "timezone", "not a time zone name; write Europe/Bucharest.")
        zone = ZoneInfo("Europe/Bucharest")
    hours = data.get("hours")
    week: list[tuple[Span, ...]] = []
    if not isinstance(hours, dict):
        problems.error(path, doc.line("hours"), "hours", "list the hours of each day, e.g. 'monday: [09:00-17:00]'.")
        hours = {}
    for day in hours:
        if day not in DAYS:
            message = f"'{day}' is not a day; use {', '.join(DAYS)}."
            problems.error(path, doc.line("hours", day), f"hours.{day}", message)
    for day in DAYS:
        items = hours.get(day) or []
        if not isinstance(items, list):
            items = [items]
        spans = []
        for index, item in enumerate(items):
            span = _span(item)
            if span is None:
                message = f"'{item}' is not a time span like 09:00-17:00."
                problems.error(path, doc.line("hours", day, index), f"hours.{day}", message)
            else:
                spans.append(span)
        week.append(tuple(sorted(spans)))
    holidays: dict[dt.date, str] = {}
    for index, item in enumerate(data.get("holidays") or []):
        when = item.get("date") if isinstance(item, dict) else None
        if isinstance(when, str):
            try:
                when = dt.date.fromisoformat(when)
            except ValueError:
                when = None
        if not isinstance(when, dt.date):
            problems.error(
                path, doc.line("holidays", index), "holidays", "each holiday needs a date like 2026-12-25 and a name."
            )
            continue
        holidays[when] = str(item.get("name") or "")
    if not any(week):
        problems.warning(path, doc.line("hours"), "hours", "no working hours at all: everyone is told 'out of hours'.")
    if problems.errors:
        return None, problems
    return Schedule(zone, tuple(week), holidays), problems


def office_hours(path: Path) -> Schedule:
    """The mediators' hours from ``path``; always open when the file is missing or wrong (the
    figures then count no request as out of hours, rather than failing)."""
    schedule, _ = load_schedule(path) if path.exists() else (None, None)
    return schedule or ALWAYS_OPEN
