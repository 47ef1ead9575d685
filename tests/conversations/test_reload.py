"""Editors publish without a restart; a broken edit is refused and the old answer keeps serving."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import running_engine
from tests.conversations.conftest import PROJECT, Person

ENTRY = "health.family_doctor"


@pytest.fixture
def content_copy(tmp_path: Path) -> tuple[Path, Path]:
    kb = tmp_path / "knowledge"
    locales = tmp_path / "locales"
    shutil.copytree(PROJECT / "knowledge", kb)
    shutil.copytree(PROJECT / "locales", locales)
    return kb, locales


async def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_valid_edit_served_broken_edit_refused(settings, content_copy, caplog) -> None:
    kb, locales = content_copy
    english = kb / "entries" / ENTRY / "en.yaml"
    original = english.read_text(encoding="utf-8")
    settings = replace(settings, knowledge_dir=kb, locales_dir=locales, content_poll_seconds=0.05)
    async with running_engine(settings) as engine:
        person = Person(engine, "editor-watcher", lang_hint="en")
        await person.send("/start")
        await person.press("English")
        await person.send("how do I register with a family doctor")
        assert person.intents == [ENTRY]
        assert "NEW SENTENCE" not in person.text

        version = engine.content.current.version
        english.write_text(
            original.replace("answer: |\n", "answer: |\n  NEW SENTENCE from the editors.\n", 1), encoding="utf-8"
        )
        await wait_for(lambda: engine.content.current.version > version)
        await person.send("how do I register with a family doctor")
        assert "NEW SENTENCE from the editors." in person.text  # served without a restart

        version = engine.content.current.version
        caplog.set_level(logging.ERROR, logger="bot.content")
        english.write_text(original.replace("title:", "title: [unclosed", 1), encoding="utf-8")
        # The refusal and then its problems are logged by the reload thread: wait for the last.
        await wait_for(lambda: "content edit refused" in caplog.text and "not valid YAML" in caplog.text)
        assert engine.content.current.version == version
        assert "en.yaml" in caplog.text and "not valid YAML" in caplog.text
        await person.send("how do I register with a family doctor")
        assert person.intents == [ENTRY]
        assert "NEW SENTENCE from the editors." in person.text  # the last good version keeps serving

    check = subprocess.run(
        [sys.executable, "-m", "bot.cli", "kb", "check", "--kb", str(kb), "--locales", str(locales)],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=120,
    )
    assert check.returncode == 1
    assert f"ERROR: knowledge/entries/{ENTRY}/en.yaml, line 2: this is not valid YAML" in check.stdout


async def test_kb_reload_command_validates_and_triggers(settings, content_copy) -> None:
    kb, locales = content_copy
    settings = replace(settings, knowledge_dir=kb, locales_dir=locales, content_poll_seconds=0.05)
    async with running_engine(settings) as engine:
        version = engine.content.current.version
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot.cli", "kb", "reload", "--kb", str(kb), "--locales", str(locales)],
            capture_output=True,
            text=True,
            cwd=PROJECT,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        await wait_for(lambda: engine.content.current.version > version)
