"""The command-line contracts other tools rely on, run as real processes."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import PROJECT


def acasa_env(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``acasa`` with these settings in the environment (and no .env file of the project)."""
    import os

    full = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, cwd=PROJECT, timeout=180, env=full
    )


def acasa(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True, cwd=PROJECT, timeout=180
    )


def test_predict_writes_one_line_per_input_in_order() -> None:
    lines = [
        {"text": "how do I register with a family doctor", "lang": "en"},
        {"text": "будет ли завтра дождь в тимишоаре"},
        {"text": "malai kaam chahiyo timisoara ma", "lang": "ne"},
        {"text": "hospital"},
        {"text": "my friend fell from the scaffolding and is bleeding a lot", "lang": "en"},
        {"text": "where can I buy a prepaid sim card with only my passport", "lang": "en"},
        {"text": "unde e biroul IGI", "lang": "ro"},
        {"text": "bad injured blood every where pls", "lang": "en"},
    ]
    result = acasa("nlu", "predict", stdin="".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(lines)
    for row in out:
        keys = {"intent", "confidence", "language", "alternatives", "nearby", "crisis", "crisis_kind", "offices"}
        assert set(row) == keys | {"names_112"}
        assert 0.0 <= row["confidence"] <= 1.0
        assert len(row["alternatives"]) <= 3
        assert all(set(a) == {"intent", "confidence"} and 0 <= a["confidence"] <= 1 for a in row["alternatives"])
    assert out[0]["intent"] == "health.family_doctor" and out[0]["language"] == "en"
    assert out[1]["intent"] is None and out[1]["language"] == "ru"
    assert [row["crisis"] for row in out] == [False, False, False, False, True, False, False, False]
    # The immigration office's card; no answer, but 112 first (a missed emergency, read at 0.12).
    assert [(row["offices"], row["names_112"]) for row in out[6:]] == [(["igi_timis"], False), ([], True)]
    assert not any(row["offices"] or row["names_112"] for row in out[:6])
    assert out[4]["crisis_kind"] == "medical"
    assert out[5]["intent"] is None and out[5]["nearby"] == "sim_card"
    assert out[2]["intent"] == "work.find_job" and out[2]["language"] == "ne"
    assert out[3]["intent"] is None  # one ambiguous word: did-you-mean, not an answer
    assert out[3]["alternatives"], "an ambiguous question should offer choices"


def test_predict_reports_bad_lines_and_keeps_going() -> None:
    result = acasa("nlu", "predict", stdin='not json\n{"text": "family doctor registration", "lang": "en"}\n')
    assert result.returncode == 0
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0]["intent"] is None and out[0]["error"] == "invalid input line"
    assert out[1]["intent"] == "health.family_doctor"
    assert "line 1" in result.stderr


def test_ask_json_shape_and_language() -> None:
    result = acasa("ask", "--lang", "uk", "--json", "як записатися до сімейного лікаря")
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert set(reply) == {"intent", "language", "text", "buttons"}
    assert reply["intent"] == "health.family_doctor"
    assert reply["language"] == "uk"
    assert "https://" not in reply["text"]  # the answer first; sources on demand
    payloads = [b["payload"] for b in reply["buttons"]]
    assert payloads == [
        "more:health.family_doctor",
        "who:health.family_doctor",
        "fb:health.family_doctor:1",
        "fb:health.family_doctor:0",
        "menu",
    ]


def test_ask_plain_text_for_people() -> None:
    result = acasa("ask", "--lang", "en", "I need a family doctor")
    assert result.returncode == 0, result.stderr
    assert "**" not in result.stdout
    assert "1. " in result.stdout


def test_ask_out_of_scope_is_honest() -> None:
    result = acasa("ask", "--lang", "en", "--json", "tell me a joke about cats")
    reply = json.loads(result.stdout)
    assert reply["intent"] is None
    assert "do not have an answer" in reply["text"]


def test_ask_rejects_unknown_language() -> None:
    result = acasa("ask", "--lang", "xx", "hello")
    assert result.returncode == 1
    assert "unknown language 'xx'" in result.stderr


def test_eval_prints_per_language_and_confusions(tmp_path) -> None:
    labelled = tmp_path / "set.jsonl"
    labelled.write_text(
        "\n".join(
            json.dumps(x, ensure_ascii=False)
            for x in [
                {"text": "how do I register with a family doctor", "lang": "en", "intent": "health.family_doctor"},
                {"text": "who won the football match", "lang": "en", "intent": None},
                {"text": "як записатися до сімейного лікаря", "lang": "uk", "intent": "health.family_doctor"},
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    result = acasa("nlu", "eval", str(labelled))
    assert result.returncode == 0, result.stderr
    assert "In scope: 100.0% answered correctly (2/2)" in result.stdout
    assert "Out of scope answered (should be low): 0.0% (0/1)" in result.stdout
    uk = next(line for line in result.stdout.splitlines() if line.startswith("  uk "))
    assert uk.split()[1] == "100.0%" and "1/1" in uk, uk
    assert "Most confused" in result.stdout


def test_eval_of_a_set_of_emergencies_and_ordinary_messages_measures_the_alarm_only(tmp_path) -> None:
    labelled = tmp_path / "danger.jsonl"
    rows = [
        {"text": "my friend fell from the scaffolding and is bleeding a lot", "lang": "en", "kind": "emergency"},
        {"text": "I burnt the rice again, my wife will laugh at me", "lang": "en", "kind": "not_emergency"},
        # Missed by the alarm (no phrase, a weak reading), but the reply still starts with 112.
        {"text": "bad injured blood every where pls", "lang": "en", "kind": "emergency"},
    ]
    labelled.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    result = acasa("nlu", "eval", str(labelled))
    assert result.returncode == 0, result.stderr
    assert "Emergencies recognised: 50.0% (1/2); false alarms: 0.0% (0/1)" in result.stdout
    assert "Missed emergencies whose reply still names 112: 1/1" in result.stdout
    assert "Out of scope" not in result.stdout and "In scope" not in result.stdout  # no entry labels to judge
    en = next(line for line in result.stdout.splitlines() if line.startswith("  en "))
    assert en.split()[1] == "50.0%" and "1/2" in en, en


def test_chat_runs_as_the_readme_says(tmp_path) -> None:
    """`acasa chat` on a fresh database: picker, then a question, one message per line."""
    db = tmp_path / "chat.db"
    script = "/start\n2\nhow do I register with a family doctor\n"
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--db", str(db), "--user", "tester"],
        input=script,
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # nothing but the conversation: no migration or library lines
    assert result.stdout.startswith("> /start\n\nPlease choose your language")  # what was sent, then the reply
    assert "  2. English" in result.stdout
    assert "Language set to English" in result.stdout
    assert "Registering with a family doctor" in result.stdout
    assert db.exists()
    again = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--db", str(db), "--user", "tester"],
        input="menu\n",
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=180,
    )
    assert "What do you need help with?" in again.stdout  # remembered across runs


def test_a_new_database_reports_its_migrations_in_one_line(tmp_path) -> None:
    db = tmp_path / "fresh.db"
    command = [sys.executable, "-m", "bot.cli", "chat", "--db", str(db), "--user", "t", "--log-level", "INFO"]
    first = subprocess.run(command, input="", capture_output=True, text=True, cwd=PROJECT, timeout=180)
    assert first.returncode == 0, first.stderr
    lines = first.stderr.strip().splitlines()
    assert len(lines) == 1 and "database schema upgraded from empty to 00" in lines[0], lines
    second = subprocess.run(command, input="", capture_output=True, text=True, cwd=PROJECT, timeout=180)
    assert second.stderr == ""  # already current: not a word


def test_kb_doubts_lists_every_unconfirmed_claim_by_entry() -> None:
    result = acasa("kb", "doubts")
    assert result.returncode == 0, result.stderr
    assert "rights.temporary_protection_end (checked " in result.stdout
    assert "2027" in result.stdout
    assert result.stdout.strip().splitlines()[-1].endswith("entries.")
