"""The emergency phrase search itself: the forms a phrase is found in, and the words that tell
danger is over (the bot's replies to these are tested in tests/conversations/)."""

from __future__ import annotations

from pathlib import Path

from bot.crisis import CrisisDetector, load_crisis_lexicon

PROJECT = Path(__file__).resolve().parent.parent


class _Reading:
    """A fixed reading of every message: the danger level the matcher would give."""

    def __init__(self, level: float):
        self._level = level

    def kind(self, text: str) -> str | None:
        return "medical" if self._level >= 0.25 else None

    def level(self, text: str) -> float:
        return self._level


def test_an_arabic_phrase_is_found_after_and_or_so_joined_to_it() -> None:
    detector = CrisisDetector({"medical": ["ما عم يتنفس", "الدم ما وقف"]})
    assert detector.detect_phrase("ابني وما عم يتنفس شو بعمل")  # "and he is not breathing"
    assert detector.detect_phrase("وقع عن الدرج فما عم يتنفس")  # "so he is not breathing"
    assert detector.detect_phrase("انجرح والدم ما وقف")  # "and the blood has not stopped"
    assert detector.detect_phrase("والدم ما وقف")
    # A word that begins with و or ف is not cut short into a phrase it is not.
    assert detector.detect_phrase("فما عم يتنفس") and not detector.detect_phrase("ما عم ينفس")


def test_words_that_danger_is_over_match_exactly_and_set_only_a_weak_reading_aside() -> None:
    over = ["last month", "now i am safe"]
    text = "last month my boss hit me at the warehouse, can I still complain about it?"
    weak = CrisisDetector({"violence": ["hit me"]}, _Reading(0.2), over=over)
    assert weak.told_as_over(text) == "last month"
    assert weak.detect(text) is None
    assert weak.told_as_over("lsat month my boss hit me at the warehouse, can I complain?") is None  # no typos
    assert weak.detect("lsat month my boss hit me at the warehouse, can I complain?") is not None
    strong = CrisisDetector({"violence": ["hit me"]}, _Reading(0.9), over=over)
    assert strong.detect(text) is not None  # the matcher reads danger now: the alarm stands
    short = "last month he hit me"  # too short to judge
    assert weak.detect(short) is not None
    suicide = CrisisDetector({"self_harm": ["kill myself"]}, _Reading(0.1), over=over)
    assert suicide.detect("last month I wanted to kill myself, now i am safe, is there a psychologist") is not None


def test_the_words_that_danger_is_over_are_optional_and_checked(tmp_path: Path) -> None:
    crisis = tmp_path / "crisis.yaml"
    crisis.write_text('en:\n  medical: ["not breathing"]\n', encoding="utf-8")
    detector, problems = load_crisis_lexicon(crisis)
    assert detector is not None and not problems.errors
    assert detector.told_as_over("we were fine last month") is None
    (tmp_path / "over.yaml").write_text('en:\n  over: ["last month"]\n', encoding="utf-8")
    detector, problems = load_crisis_lexicon(crisis)
    assert detector is not None and detector.told_as_over("we were fine last month") == "last month"
    (tmp_path / "over.yaml").write_text('en:\n  over: "last month"\n', encoding="utf-8")
    detector, problems = load_crisis_lexicon(crisis)
    assert detector is None
    assert any("must be a list of phrases" in p.message for p in problems.errors), problems.errors


def test_the_shipped_words_that_danger_is_over_load() -> None:
    detector, problems = load_crisis_lexicon(PROJECT / "knowledge" / "nlu" / "crisis.yaml")
    assert detector is not None and not problems.errors
    assert detector.told_as_over("el shahr el madi el m3allem darabni, hala2 ba3d ma fi shi") == "el shahr el madi"
    assert detector.told_as_over("дитина зараз не дихає") is None
