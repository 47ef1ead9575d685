"""Behaviour of the built-in matcher on typical and tricky inputs."""

from __future__ import annotations

import pytest

from nlu import cache
from nlu.matcher import CRISIS, BuiltinMatcher, Example, Outcome, Thresholds


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
    prediction = matcher.predict("hospital")  # the emergency, an interpreter, giving birth...
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


def test_the_danger_or_not_classifier_gives_a_second_opinion(tmp_path, monkeypatch) -> None:
    """Between the floor and the threshold of the many-label classifier, the danger-or-not one
    decides; with no floor and an unreachable threshold it decides alone."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    examples = [
        Example("health.family_doctor", "en", "how do I register with a family doctor"),
        Example("health.family_doctor", "en", "which documents for the family doctor"),
        Example("work.find_job", "en", "how can I find a job in a factory"),
        Example("work.find_job", "en", "looking for work as a driver"),
        Example(CRISIS + "medical", "en", "my friend fell from the roof and is not moving"),
        Example(CRISIS + "medical", "en", "he is not breathing and his lips are blue"),
        Example(CRISIS + "fire", "en", "smoke is coming under the door and we cannot get out"),
    ]
    only_second_opinion = Thresholds(crisis=1.01, crisis_floor=0.0, crisis_confirm=0.5)
    matcher = BuiltinMatcher(examples, thresholds=only_second_opinion)
    emergency = "my brother is not breathing his lips are blue"
    assert matcher.danger_probability(emergency) > 0.5 > matcher.danger_probability("find a job as a driver")
    assert matcher.danger(emergency) == "medical"
    assert matcher.danger("register with a family doctor please") is None

    never = Thresholds(crisis=1.01, crisis_floor=0.0, crisis_confirm=1.01)
    never_confirmed = BuiltinMatcher(examples, thresholds=never)
    assert never_confirmed.danger(emergency) is None

    from_cache = BuiltinMatcher(examples, thresholds=only_second_opinion)  # the second build loads the cache
    assert from_cache.danger_probability(emergency) == pytest.approx(matcher.danger_probability(emergency))


def test_without_examples_of_danger_there_is_no_second_opinion(matcher: BuiltinMatcher) -> None:
    plain = BuiltinMatcher([Example("work.find_job", "en", "find a job"), Example("health.insurance", "en", "a card")])
    assert plain.danger_probability("he is not breathing") == 0.0
    assert plain.danger("he is not breathing") is None
    assert matcher.danger_probability("my friend fell from the scaffolding and is bleeding a lot") > 0.5


def test_ordinary_words_are_those_of_two_ordinary_examples_and_no_danger(tmp_path, monkeypatch) -> None:
    """Words the emergency phrases' typo tolerance must leave alone; the same from the cache."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    examples = [
        Example("work.report_abuse", "fr", "l'agence doit me rendre mon passeport"),
        Example("work.report_abuse", "fr", "ils refusent de rendre les papiers"),
        Example("work.labour_rights", "fr", "le patron menace de me licencier"),
        Example("health.insurance", "fr", "la carte europeenne suffit"),
        Example(CRISIS + "self_harm", "fr", "je vais me pendre ce soir"),
        Example(CRISIS + "violence", "fr", "il menace de me tuer"),
    ]
    for matcher in (BuiltinMatcher(examples), BuiltinMatcher(examples)):  # built, then from the cache
        words = matcher.ordinary_words()
        assert "rendre" in words  # two ordinary examples hold it (phonetic forms throughout)
        assert "paseport" not in words and "likenkier" not in words  # only one does
        assert "menake" not in words  # "menace": an example of danger holds it too
        assert "pendre" not in words and "me" not in words  # danger only; too short to be corrected
