"""Mediators' working hours: reading the editors' file, and what "open" and "back at" mean."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.handoff.schedule import load_schedule
from tests.conftest import PROJECT

UTC = dt.UTC


def test_shipped_hours_are_valid_and_mean_weekdays_nine_to_five() -> None:
    schedule, problems = load_schedule(PROJECT / "knowledge" / "mediation.yaml")
    assert schedule is not None and not problems.errors
    assert schedule.is_open(dt.datetime(2027, 3, 3, 7, 0, tzinfo=UTC))  # Wednesday 09:00 in Timișoara
    assert not schedule.is_open(dt.datetime(2027, 3, 3, 6, 59, tzinfo=UTC))
    assert not schedule.is_open(dt.datetime(2027, 3, 3, 15, 0, tzinfo=UTC))  # 17:00 local: closed
    assert not schedule.is_open(dt.datetime(2027, 3, 6, 10, 0, tzinfo=UTC))  # Saturday
    assert not schedule.is_open(dt.datetime(2026, 12, 1, 10, 0, tzinfo=UTC))  # National Day (Tuesday)
    # Friday evening before a Monday holiday-free week: back on Monday 09:00 local time.
    back = schedule.next_opening(dt.datetime(2027, 3, 5, 16, 0, tzinfo=UTC))
    assert back is not None and (back.isoformat(), back.strftime("%A")) == ("2027-03-08T09:00:00+02:00", "Monday")
    # Over Orthodox Easter 2027 (Friday 30 April to Monday 3 May) and summer time (UTC+3).
    back = schedule.next_opening(dt.datetime(2027, 4, 29, 15, 0, tzinfo=UTC))
    assert back is not None and back.isoformat() == "2027-05-04T09:00:00+03:00"


def test_mistakes_are_reported_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "mediation.yaml"
    path.write_text(
        "timezone: Europe/Bucharest\n"
        "hours:\n"
        "  monday: ['9-17']\n"
        "  funday: ['09:00-17:00']\n"
        "  tuesday: ['17:00-09:00']\n"
        "holidays:\n"
        "  - {date: 2026-02-30, name: nope}\n",
        encoding="utf-8",
    )
    schedule, problems = load_schedule(path)
    assert schedule is None
    messages = [(p.line, p.message) for p in problems.errors]
    assert (3, "'9-17' is not a time span like 09:00-17:00.") in messages
    assert any(line == 4 and "'funday' is not a day" in text for line, text in messages)
    assert any(line == 5 and "17:00-09:00" in text for line, text in messages)
    assert any(line == 7 and "each holiday needs a date" in text for line, text in messages)


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    schedule, problems = load_schedule(tmp_path / "mediation.yaml")
    assert schedule is None and "working hours are missing" in problems.errors[0].message
