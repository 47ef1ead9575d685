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


def test_phrases_are_found_as_whole_words_the_leftmost_and_longest_first() -> None:
    detector = CrisisDetector(
        {
            "violence": ["he hit me", "he hit me with a knife", "m-a bătut"],
            "medical": ["not breathing", "unconscious", "सास फेर्न सकेन"],
        }
    )

    def found(text: str) -> str | None:
        match = detector.detect_phrase(text)
        return match.phrase if match else None

    assert found("he hit me with a knife, now he is outside") == "he hit me with a knife"
    assert found("he hit me yesterday") == "he hit me"
    assert found("she hit me") is None and found("unconsciousness test") is None  # whole words only
    assert found("my friend is not breathing and he hit me") == "not breathing"  # the leftmost
    assert found("ieri seara, m-a bătut!") == "m-a bătut"  # across a hyphen, after punctuation
    assert found("मेरो साथीले सास फेर्न सकेन") == "सास फेर्न सकेन"  # vowel signs are not letters to \w
    # A small typo in a long word is tolerated, the same way each time it is met.
    assert found("he is not breathng") == "not breathing" and found("he is not breathng") == "not breathing"
    assert found("he is not breeding") is None


def test_an_arabic_phrase_is_found_after_and_or_so_joined_to_it() -> None:
    detector = CrisisDetector({"medical": ["ما عم يتنفس", "الدم ما وقف"]})
    assert detector.detect_phrase("ابني وما عم يتنفس شو بعمل")  # "and he is not breathing"
    assert detector.detect_phrase("وقع عن الدرج فما عم يتنفس")  # "so he is not breathing"
    assert detector.detect_phrase("انجرح والدم ما وقف")  # "and the blood has not stopped"
    assert detector.detect_phrase("والدم ما وقف")
    # A word that begins with و or ف is not cut short into a phrase it is not.
    assert detector.detect_phrase("فما عم يتنفس") and not detector.detect_phrase("ما عم ينفس")


def test_an_illness_or_fire_told_as_over_is_set_aside_only_on_a_weak_reading() -> None:
    over = ["last month", "now he is fine"]
    text = "last month my colleague fell from the scaffolding, now he is fine; who pays the hospital?"
    weak = CrisisDetector({"medical": ["fell from the scaffolding"]}, _Reading(0.2), over=over)
    assert weak.told_as_over(text) == "last month"
    assert weak.detect(text) is None
    typo = "lsat month my colleague fell from the scaffolding, who pays the hospital bill?"
    assert weak.told_as_over(typo) is None and weak.detect(typo) is not None  # matched exactly only
    strong = CrisisDetector({"medical": ["fell from the scaffolding"]}, _Reading(0.9), over=over)
    assert strong.detect(text) is not None  # the matcher reads danger now: the alarm stands
    assert weak.detect("fell from the scaffolding last month") is not None  # too short to judge


def test_violence_being_held_a_child_or_suicide_told_as_over_still_raise_the_alarm() -> None:
    over = ["last month", "now i am safe"]
    for category, phrase, text in [
        ("violence", "hit me", "last month my boss hit me at the warehouse, can I still complain about it?"),
        ("self_harm", "kill myself", "last month I wanted to kill myself, now i am safe, is there a psychologist"),
        ("trafficking", "locked us in", "last month the agency locked us in the dormitory, where do we report it"),
        ("child_at_risk", "child is missing", "last month my child is missing for an hour, who do we tell now"),
    ]:
        detector = CrisisDetector({category: [phrase]}, _Reading(0.1), over=over)
        assert detector.detect(text) is not None, text


def test_words_that_it_is_happening_again_undo_the_words_that_it_is_over() -> None:
    detector = CrisisDetector({"medical": ["fainted"]}, _Reading(0.3), over=["last week"], again=["again", "iar"])
    assert detector.detect("last week he fainted at work, which doctor should he see now?") is None
    assert detector.detect("last week he fainted, now again he fainted and does not answer") is not None
    assert detector.told_as_over("last week he fainted, now again he fell down at work") is None


def test_the_words_that_danger_is_over_are_optional_and_checked(tmp_path: Path) -> None:
    crisis = tmp_path / "crisis.yaml"
    crisis.write_text('en:\n  medical: ["not breathing"]\n', encoding="utf-8")
    detector, problems = load_crisis_lexicon(crisis)
    assert detector is not None and not problems.errors
    assert detector.told_as_over("we were fine last month") is None
    (tmp_path / "over.yaml").write_text('en:\n  over: ["last month"]\n  again: ["again"]\n', encoding="utf-8")
    detector, problems = load_crisis_lexicon(crisis)
    assert detector is not None and detector.told_as_over("we were fine last month") == "last month"
    (tmp_path / "over.yaml").write_text('en:\n  over: "last month"\n', encoding="utf-8")
    detector, problems = load_crisis_lexicon(crisis)
    assert detector is None
    assert any("must be a list of phrases" in p.message for p in problems.errors), problems.errors


def test_the_shipped_words_that_danger_is_over_load() -> None:
    detector, problems = load_crisis_lexicon(PROJECT / "knowledge" / "nlu" / "crisis.yaml")
    assert detector is not None and not problems.errors
    assert detector.told_as_over("el shahr el madi et3awar f regli fel shoghl, hala2 mni7") == "el shahr el madi"
    assert detector.told_as_over("el shahr el madi wa2e3, w hala2 rja3 wa2e3 mara tanye") is None  # again
    assert detector.told_as_over("дитина зараз не дихає") is None
