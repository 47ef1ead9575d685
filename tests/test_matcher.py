"""Behaviour of the built-in matcher on typical and tricky inputs."""

from __future__ import annotations

import pytest

from nlu.matcher import BuiltinMatcher, Outcome


@pytest.mark.parametrize(
    ("text", "hint", "intent"),
    [
        ("how do I register with a family doctor", "en", "health.family_doctor"),
        ("cum ma inscriu la medicul de familie", "ro", "health.family_doctor"),
        ("cum mă înscriu la medicul de familie", "ro", "health.family_doctor"),
        ("як записатися до сімейного лікаря", "uk", "health.family_doctor"),
        ("yak zapysatysya do simeynoho likarya", "uk", "health.family_doctor"),
    ],
)
def test_same_question_in_scripts_and_spellings(matcher: BuiltinMatcher, text: str, hint: str, intent: str) -> None:
    assert matcher.predict(text, hint).intent == intent


@pytest.mark.parametrize(
    "text",
    [
        "what's the weather tomorrow",
        "who won the football match yesterday",
        "give me a recipe for pizza",
        "tell me a joke",
        "كم درجة الحرارة اليوم",
        "aaj ko cricket score k cha",
    ],
)
def test_out_of_scope_gets_no_answer(matcher: BuiltinMatcher, text: str) -> None:
    assert matcher.predict(text).intent is None


def test_gibberish_and_empty_get_no_match(matcher: BuiltinMatcher) -> None:
    assert matcher.predict("").outcome is Outcome.NONE
    assert matcher.predict("qwzx vbnm plkj").outcome is Outcome.NONE
    assert matcher.predict("!!! ???").outcome is Outcome.NONE


def test_hint_is_not_a_cage(matcher: BuiltinMatcher) -> None:
    # A Ukrainian user whose chosen language is Ukrainian writes in Russian.
    prediction = matcher.predict("как записаться к семейному врачу", "uk")
    assert prediction.language == "ru"
    assert prediction.intent == "health.family_doctor"
    # Short ambiguous Latin text keeps the hint.
    assert matcher.predict("doctor", "ne").language == "ne"


def test_suggestions_are_at_most_three_and_ranked(matcher: BuiltinMatcher) -> None:
    prediction = matcher.predict("doctor")
    assert prediction.outcome is Outcome.SUGGEST
    assert 1 <= len(prediction.candidates) <= 3
    confidences = [c.confidence for c in prediction.candidates]
    assert confidences == sorted(confidences, reverse=True)


def test_very_long_input_is_handled(matcher: BuiltinMatcher) -> None:
    text = "I need a family doctor for my child " * 500
    assert matcher.predict(text, "en").intent == "health.family_doctor"


def test_one_vague_word_gets_a_did_you_mean_not_a_guess(matcher) -> None:
    """ "office" or "card" could mean many entries: the bot offers the closest ones rather than
    answering one of them confidently; a word that names an entry is still answered."""
    for word in ("office", "form", "card"):
        prediction = matcher.predict(word, "en")
        assert prediction.outcome is not Outcome.ANSWER, (word, prediction)
    for word, entry in (
        ("asylum", "rights.asylum"),
        ("kindergarten", "education.kindergarten"),
        ("azil", "rights.asylum"),
    ):
        prediction = matcher.predict(word, "en")
        assert prediction.outcome is Outcome.ANSWER and prediction.intent == entry, (word, prediction)
