"""What the matcher builds is cached on disk and reused only for exactly the same content."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels.phone_language import language_of_number
from nlu import cache
from nlu.matcher import OUT_OF_SCOPE, BuiltinMatcher, Example

EXAMPLES = [
    Example("health.family_doctor", "en", "how do I register with a family doctor"),
    Example("health.family_doctor", "en", "I need a GP for my kids"),
    Example("work.find_job", "en", "how can I find a job here"),
    Example("work.find_job", "en", "looking for work in a factory"),
    Example(OUT_OF_SCOPE, "en", "what is the weather tomorrow"),
    Example(OUT_OF_SCOPE, "en", "who won the football match"),
]
QUESTIONS = ["family doctor registration", "any job for me", "weather today", "doctor for kids"]


@pytest.fixture
def cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def predictions(matcher: BuiltinMatcher) -> list[tuple]:
    return [(p.outcome, p.language, p.candidates, p.nearby) for p in (matcher.predict(q, "en") for q in QUESTIONS)]


def test_a_second_build_of_the_same_content_loads_the_cache_and_answers_the_same(cache_folder: Path) -> None:
    first = BuiltinMatcher(EXAMPLES)
    files = list(cache_folder.glob("matcher-*.npz"))
    assert len(files) == 1
    second = BuiltinMatcher(EXAMPLES)
    assert predictions(second) == predictions(first)
    assert first.predict("how do I register with a family doctor").intent == "health.family_doctor"


def test_changed_content_is_built_anew(cache_folder: Path) -> None:
    BuiltinMatcher(EXAMPLES)
    changed = BuiltinMatcher([*EXAMPLES, Example("work.find_job", "en", "where are jobs for foreigners")])
    assert len(list(cache_folder.glob("matcher-*.npz"))) == 2
    assert changed.predict("where are jobs for foreigners").intent == "work.find_job"


def test_a_damaged_cache_file_is_ignored_and_replaced(cache_folder: Path) -> None:
    expected = predictions(BuiltinMatcher(EXAMPLES))
    [path] = cache_folder.glob("matcher-*.npz")
    path.write_bytes(b"not a numpy file")
    assert predictions(BuiltinMatcher(EXAMPLES)) == expected
    assert path.read_bytes()[:2] == b"PK"  # written again, whole


def test_an_unwritable_cache_folder_only_costs_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocker / "cache"))
    assert BuiltinMatcher(EXAMPLES).predict("family doctor registration").intent == "health.family_doctor"


@pytest.mark.parametrize(
    ("number", "lang"),
    [
        ("+380501234567", "uk"),
        ("+9779812345678", "ne"),
        ("+40721234567", "ro"),
        ("+923001234567", "ur"),
        ("+8801712345678", "bn"),
        ("+963944123456", "ar"),
        ("+237671234567", "fr"),
        ("+919812345678", None),
        ("+93701234567", None),
        ("not a number", None),
        ("", None),
    ],
)
def test_a_whatsapp_numbers_country_is_a_language_hint(number: str, lang: str | None) -> None:
    assert language_of_number(number) == lang


def test_other_matcher_code_never_reads_this_codes_weights(cache_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After an upgrade that changes how text becomes features, the old files are not loaded."""
    BuiltinMatcher(EXAMPLES)
    built = sorted(cache_folder.iterdir())
    assert built
    before = cache.path_for("matcher", "same content")
    monkeypatch.setattr(cache, "CODE_VERSION", "another-version")
    assert cache.path_for("matcher", "same content") != before
    BuiltinMatcher(EXAMPLES)
    assert len(sorted(cache_folder.iterdir())) == 2 * len(built)  # built again, under another name
