"""The mediator desk's texts: checked against English, and chosen with MEDIATOR_LANGUAGE."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.handoff.desk_text import desk_languages, load_desk_text
from tests.conftest import PROJECT


def test_shipped_desk_texts_are_complete() -> None:
    assert desk_languages(PROJECT / "locales") == ["en", "ro"]
    for lang in ("en", "ro"):
        text, problems = load_desk_text(PROJECT / "locales", lang)
        assert text is not None and not problems, [p.format() for p in problems]
    romanian, _ = load_desk_text(PROJECT / "locales", "ro")
    assert romanian is not None and romanian("claim_button", id=7) == "Preia #7"


def test_a_wrong_placeholder_or_key_is_an_error_and_a_gap_falls_back_to_english(tmp_path: Path) -> None:
    shutil.copytree(PROJECT / "locales" / "desk", tmp_path / "desk")
    path = tmp_path / "desk" / "ro.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Preia #{id}", "Preia #{numar}") + 'claim_buton: "x"\n', encoding="utf-8")
    desk, problems = load_desk_text(tmp_path, "ro")
    assert desk is None
    messages = [(p.field, p.message) for p in problems.errors]
    assert ("claim_button", "the placeholders must be the same as in English: {id}.") in messages
    assert any(field == "claim_buton" and "not a desk text" in message for field, message in messages)
    path.write_text("\n".join(line for line in text.splitlines() if not line.startswith("yours:")), encoding="utf-8")
    desk, problems = load_desk_text(tmp_path, "ro")
    assert desk is not None and desk("yours", id=3) == "#3 is yours."
    assert [p.field for p in problems.warnings] == ["yours"]
