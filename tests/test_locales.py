"""Interface strings: complete in every language, plural forms right, RTL marked, visible fallback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot import plurals
from bot.locales import RLM, Locales, load_locales, placeholders
from nlu.languages import LANGUAGES
from tests.conftest import PROJECT


def test_every_locale_has_every_key_with_the_same_placeholders(shipped_locales: Locales) -> None:
    locales, problems = load_locales(PROJECT / "locales")
    assert locales is not None
    assert [p.format(PROJECT) for p in problems] == []
    import yaml

    english = yaml.safe_load((PROJECT / "locales" / "en.yaml").read_text(encoding="utf-8"))
    for lang in LANGUAGES:
        data = yaml.safe_load((PROJECT / "locales" / f"{lang}.yaml").read_text(encoding="utf-8"))
        assert set(data) == set(english), lang
        for key, source in english.items():
            if key == "_meta":
                continue
            value = data[key]
            if isinstance(source, str):
                assert placeholders(value) == placeholders(source), (lang, key)
            elif isinstance(source, dict):
                assert set(value) == plurals.CATEGORIES[lang], (lang, key)
                assert all("{count}" in v for v in value.values()), (lang, key)


@pytest.mark.parametrize(
    ("lang", "numbers", "expected"),
    [
        ("ru", [1, 2, 5, 11, 21, 22, 25, 111], ["one", "few", "many", "many", "one", "few", "many", "many"]),
        ("uk", [1, 3, 12, 14, 23, 101], ["one", "few", "many", "many", "few", "one"]),
        (
            "ar",
            [0, 1, 2, 3, 10, 11, 99, 100, 102],
            ["zero", "one", "two", "few", "few", "many", "many", "other", "other"],
        ),
        ("ro", [0, 1, 2, 19, 20, 101, 120], ["few", "one", "few", "few", "other", "few", "other"]),
        ("fr", [0, 1, 2, 1_000_000], ["one", "one", "other", "many"]),
        ("en", [0, 1, 2], ["other", "one", "other"]),
    ],
)
def test_plural_rules(lang: str, numbers: list[int], expected: list[str]) -> None:
    assert [plurals.category(lang, n) for n in numbers] == expected


def test_plural_strings_are_chosen_by_number(shipped_locales: Locales) -> None:
    one = shipped_locales.text("ru", "entries.count", count=1)
    few = shipped_locales.text("ru", "entries.count", count=3)
    many = shipped_locales.text("ru", "entries.count", count=5)
    assert "1" in one and "3" in few and "5" in many
    assert len({one.replace("1", ""), few.replace("3", ""), many.replace("5", "")}) == 3
    assert shipped_locales.text("en", "entries.count", count=1) == "1 question"
    assert shipped_locales.text("en", "entries.count", count=7) == "7 questions"


@pytest.mark.parametrize("lang", ["ar", "ur"])
def test_right_to_left_lines_start_with_a_direction_mark(shipped_locales: Locales, lang: str) -> None:
    assert shipped_locales.is_rtl(lang)
    text = shipped_locales.text(lang, "crisis.message")
    assert all(line.startswith(RLM) for line in text.split("\n") if line)
    assert not shipped_locales.text("en", "crisis.message").startswith(RLM)


def test_native_language_names(shipped_locales: Locales) -> None:
    assert shipped_locales.native_name("uk") == "Українська"
    assert shipped_locales.native_name("ar") == "العربية"
    assert shipped_locales.native_name("ne") == "नेपाली"


def test_missing_string_falls_back_to_english_visibly(locales_copy: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = locales_copy / "uk.yaml"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("feedback.thanks:")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    locales, problems = load_locales(locales_copy)
    assert locales is not None
    assert any(p.field == "feedback.thanks" and "English" in p.message for p in problems.warnings)
    with caplog.at_level(logging.WARNING, logger="bot.locales"):
        text = locales.text("uk", "feedback.thanks")
    assert text == "Thank you for your feedback!"
    assert "locale uk has no string 'feedback.thanks'; using English" in caplog.text


def test_wrong_placeholder_is_an_error(locales_copy: Path) -> None:
    path = locales_copy / "fr.yaml"
    text = path.read_text(encoding="utf-8").replace("{language}", "{langue}", 1)
    path.write_text(text, encoding="utf-8")
    locales, problems = load_locales(locales_copy)
    assert locales is None
    assert any(p.field and p.field.startswith("language.") and "placeholders" in p.message for p in problems.errors)


def test_wrong_plural_categories_are_an_error(locales_copy: Path) -> None:
    path = locales_copy / "ru.yaml"
    data = path.read_text(encoding="utf-8")
    start = data.index("entries.count:")
    block_end = data.index("\n", data.index("other:", start))
    broken = data[:start] + 'entries.count:\n  one: "{count}"\n  other: "{count}"' + data[block_end:]
    path.write_text(broken, encoding="utf-8")
    locales, problems = load_locales(locales_copy)
    assert locales is None
    assert any(p.field == "entries.count" and "missing: few, many" in p.message for p in problems.errors)
