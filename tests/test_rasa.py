"""Optional Rasa: training-data export and the HTTP client, against a local fake Rasa server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from bot.kb import KnowledgeBase
from nlu.matcher import BuiltinMatcher, Outcome
from nlu.rasa import RasaMatcher, export_training_data
from tests.conftest import PROJECT
from tests.fake_rasa import FakeRasa


def test_export_is_rasa_31_training_data(shipped_kb: KnowledgeBase) -> None:
    data = yaml.safe_load(export_training_data(shipped_kb.examples()))
    assert data["version"] == "3.1"
    intents = {item["intent"] for item in data["nlu"]}
    assert intents == set(shipped_kb.entries) | {"out_of_scope"}
    family = next(item for item in data["nlu"] if item["intent"] == "health.family_doctor")
    lines = family["examples"].splitlines()
    assert all(line.startswith("- ") for line in lines)
    assert shipped_kb.entries["health.family_doctor"].translations["uk"].examples[0] in {x[2:] for x in lines}
    outside = next(item for item in data["nlu"] if item["intent"] == "out_of_scope")["examples"]
    said = shipped_kb.statements["en"][0]  # things said mid-conversation are out of scope for Rasa too
    assert f"- {said}\n" in outside


def test_cli_export_writes_file(tmp_path) -> None:
    out = tmp_path / "nlu.yml"
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "nlu", "export-rasa", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["version"] == "3.1"


async def test_replace_mode_uses_rasa_ranking(matcher: BuiltinMatcher) -> None:
    with FakeRasa() as rasa:
        rasa.rankings["quiero un medico"] = [("health.family_doctor", 0.93), ("health.insurance", 0.04)]
        remote = RasaMatcher(rasa.url, matcher, mode="replace")
        try:
            prediction = await remote.match("quiero un medico", "en")
        finally:
            await remote.aclose()
    assert rasa.requests == [{"path": "/model/parse", "body": {"text": "quiero un medico"}}]
    assert prediction.outcome is Outcome.ANSWER
    assert prediction.intent == "health.family_doctor"
    assert prediction.source == "rasa"


async def test_replace_mode_respects_rasa_out_of_scope(matcher: BuiltinMatcher) -> None:
    with FakeRasa() as rasa:
        rasa.rankings["who won the match"] = [("out_of_scope", 0.97), ("work.find_job", 0.02)]
        remote = RasaMatcher(rasa.url, matcher, mode="replace")
        try:
            prediction = await remote.match("who won the match", "en")
        finally:
            await remote.aclose()
    assert prediction.intent is None


async def test_combine_mode_needs_agreement(matcher: BuiltinMatcher) -> None:
    text = "how do I register with a family doctor"
    assert matcher.predict(text, "en").intent == "health.family_doctor"
    with FakeRasa() as rasa:
        rasa.rankings[text] = [("health.family_doctor", 0.9)]
        remote = RasaMatcher(rasa.url, matcher, mode="combine")
        try:
            agreed = await remote.match(text, "en")
            rasa.rankings[text] = [("work.find_job", 0.95)]
            disagreed = await remote.match(text, "en")
        finally:
            await remote.aclose()
    assert agreed.intent == "health.family_doctor"
    assert agreed.source == "rasa+builtin"
    assert disagreed.intent is None
    assert {c.intent for c in disagreed.candidates} >= {"health.family_doctor", "work.find_job"}


async def test_server_error_falls_back_to_builtin(matcher: BuiltinMatcher) -> None:
    text = "how do I register with a family doctor"
    with FakeRasa() as rasa:
        rasa.fail_with = 500
        remote = RasaMatcher(rasa.url, matcher, mode="replace")
        try:
            prediction = await remote.match(text, "en")
        finally:
            await remote.aclose()
    assert len(rasa.requests) == 1
    assert prediction.source == "builtin"
    assert prediction.intent == "health.family_doctor"


async def test_unreachable_server_falls_back_to_builtin(matcher: BuiltinMatcher) -> None:
    with FakeRasa() as rasa:
        url = rasa.url
    remote = RasaMatcher(url, matcher, mode="replace", timeout=0.5)
    try:
        prediction = await remote.match("how do I register with a family doctor", "en")
    finally:
        await remote.aclose()
    assert prediction.source == "builtin"


def test_predict_cli_asks_rasa_when_configured() -> None:
    with FakeRasa() as rasa:
        rasa.rankings["ajutor"] = [("general.human", 0.88), ("general.privacy", 0.05)]
        env = {**os.environ, "RASA_URL": rasa.url, "RASA_MODE": "replace"}
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "nlu", "predict"],
            input='{"text": "ajutor"}\n',
            capture_output=True,
            text=True,
            cwd=PROJECT,
            env=env,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["intent"] == "general.human"
    assert rasa.requests[0]["body"] == {"text": "ajutor"}
