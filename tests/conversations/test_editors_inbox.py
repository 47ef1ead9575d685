"""The editors' inbox of questions the bot could not answer well: kept from real conversations
(no answer, only a did-you-mean, an answer that got 👎), grouped per language by
`acasa kb unanswered`, with no trace of who asked, and gone with "forget"."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conversations.conftest import PROJECT, Person, rows


async def test_inbox_from_real_conversations(settings, engine) -> None:
    person = Person(engine, "amira")
    await person.send("/start")
    await person.press("English")
    await person.send("where is the office")  # nothing fits
    assert person.intents == [None] and not any(p.startswith("e:") for p in person.payloads)
    await person.send("card")  # only a did-you-mean
    assert sum(p.startswith("e:") for p in person.payloads) >= 2
    await person.send("how do I register with a family doctor")
    await person.press("👎")
    other = Person(engine, "bogdan")
    await other.send("/start")
    await other.press("English")
    await other.send("office?")

    kept = rows(settings, "SELECT language, text, kind, entry_id FROM unanswered ORDER BY id")
    assert kept == [
        ("en", "where is the office", "none", None),
        ("en", "card", "suggest", None),
        ("en", "how do I register with a family doctor", "unhelpful", "health.family_doctor"),
        ("en", "office?", "suggest", None),  # one word: a did-you-mean, never a guess
    ]

    env = {**os.environ, "DATABASE_URL": settings.database_url}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "kb", "unanswered", "--json", "--lang", "en"],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    groups = json.loads(result.stdout)
    office = groups[0]
    assert office["count"] == 2 and office["kinds"] == {"none": 1, "suggest": 1}
    assert set(office["questions"]) == {"where is the office", "office?"}
    assert {g["count"] for g in groups[1:]} == {1}
    unhelpful = next(g for g in groups if g["kinds"] == {"unhelpful": 1})
    assert unhelpful["unhelpful_answers"] == ["health.family_doctor"]
    assert unhelpful["nearest_entries"][0]["entry"] == "health.family_doctor"
    assert "amira" not in result.stdout and "bogdan" not in result.stdout  # nobody's identity

    await person.send("forget")
    await person.press("forget:yes")
    assert rows(settings, "SELECT text FROM unanswered") == [("office?",)]
