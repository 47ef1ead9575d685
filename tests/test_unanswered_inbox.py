"""Grouping the editors' inbox: similar questions per language, counts, trend and nearest entries."""

from __future__ import annotations

import datetime as dt

from bot.unanswered import Question, as_json, as_text, group_questions

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def ask(text: str, lang: str = "en", kind: str = "none", days_ago: float = 1, entry: str | None = None) -> Question:
    return Question(lang, text, kind, NOW - dt.timedelta(days=days_ago), entry)


def test_similar_questions_group_within_a_language_most_asked_first() -> None:
    questions = [
        ask("where can I buy a SIM card", days_ago=2),
        ask("where can i buy sim card?", days_ago=1),
        ask("buy a sim card where", kind="suggest", days_ago=9),
        ask("is there a mosque in Timisoara", days_ago=3),
        ask("where can I buy a SIM card", lang="ro", days_ago=1),  # another language: its own group
        ask("how long does the asylum interview take", kind="unhelpful", entry="rights.asylum", days_ago=1),
    ]
    nearest_asked: list[str] = []

    def nearest(text: str) -> list[tuple[str, float]]:
        nearest_asked.append(text)
        return [("general.bank_account", 0.2), ("rights.residence_permit", 0.1), ("health.insurance", 0.05)]

    groups = group_questions(questions, nearest)
    assert [(g.language, g.count) for g in groups] == [("en", 3), ("en", 1), ("en", 1), ("ro", 1)]
    sim = groups[0]
    assert sim.kinds() == {"none": 2, "suggest": 1}
    assert sim.trend(NOW) == (2, 1)  # two this week, one the week before: rising
    assert sim.examples()[0] == "where can i buy sim card?"  # the most recent first
    assert sim.nearest == [("general.bank_account", 0.2), ("rights.residence_permit", 0.1)]
    assert len(nearest_asked) == 4  # once per group, not per question
    text = as_text(groups, NOW)
    assert "[en] 3× (2 none, 1 suggest; last 7 days 2 ↑ 1)" in text
    assert "👎 on: rights.asylum" in text
    assert text.endswith("6 question(s) in 4 group(s).")
    first = as_json(groups, NOW)[0]
    assert first["count"] == 3 and first["last_7_days"] == 2 and first["previous_7_days"] == 1
    assert first["nearest_entries"][0] == {"entry": "general.bank_account", "probability": 0.2}
