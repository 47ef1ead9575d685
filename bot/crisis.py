"""Recognise messages about immediate danger, in any language, before anything else happens.

Two recognisers, either one is enough:

- the lexicon (``knowledge/nlu/crisis.yaml``) lists short phrases per language and category. A
  message matches when it contains a phrase as whole words, in its own script or in the phonetic
  Latin form (so romanised "mujhe maar raha hai" meets "مجھے مار رہا ہے"), or, for longer phrases,
  with a small typo;
- the matcher, trained on whole examples of emergencies told in plain words
  (``knowledge/nlu/emergencies.yaml``: "my friend fell from the scaffolding and is bleeding"),
  judges the whole message.

Two exceptions to "either one is enough", both in a message of seven words or more:

- a phrase naming an illness, an injury or a fire, in a message the matcher reads as clearly
  ordinary ("if someone has a heart attack, which number do I call?"), does not raise the alarm;
- nor does danger told as over (``knowledge/nlu/over.yaml``) in a message the matcher does not read
  as dangerous now, when no second danger is named beside it ("last year he hit me, now he has a
  knife"): an illness, injury or fire told in the past or as over, below 0.5 ("our factory caught
  fire last month, how do I find a new job?"); violence or ending one's life, found by a phrase,
  only below 0.25 and only when the person says they are safe now ("last year my boss hit me; I
  changed my job and I am fine now, can I still complain?"). A time in the past is not enough
  there: "she got a protection order last month; now he broke in and is hitting her" reads at 0.05.
  Danger the classifiers found without a phrase gives way, whatever kind they name, to words that
  it is over and the person is safe now, below 0.5 ("cut my finger with knife while cooking
  biryani, it stopped bleeding already" reads as violence at 0.34).

A call for help now (``urgent`` in ``over.yaml``: "venez vite", "памагите") raises it on a weaker
reading of the whole message than the classifiers trust alone (0.2): emergencies typed short and
misspelt ("onek rokto jaitese help koren") read at 0.16-0.39.

Being held and a child at risk always raise it, and so does danger told as happening again ("last
month he beat me, now he is here again"): "he is beating me, how do I register with a family
doctor" is danger, whatever else it asks.

Showing emergency numbers once too often is harmless; missing a crisis is not.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rapidfuzz import fuzz, process

from bot.kb.lexicon import read_lexicon
from bot.kb.model import CRISIS_CATEGORIES
from bot.kb.problems import ProblemList
from nlu.normalize import normalize
from nlu.translit import phonetic, to_latin

_FUZZY_MIN_WORD = 5
_FUZZY_CUTOFF = 88
# A phrase is set aside only in a message of at least this many words (enough for the matcher to
# judge) that the matcher reads as danger less than this: emergencies the phrases found in the
# development sets read at 0.17 and above, ordinary questions with a danger word mostly below 0.1.
_CONTEXT_WORDS = 7
_ORDINARY_LEVEL = 0.1
# Only an illness, an injury or a fire is named in questions the matcher reads as clearly ordinary
# ("what if someone has a stroke?").
_MAY_BE_SET_ASIDE = frozenset({"medical", "fire"})
_MIN_ABJAD_FORM = 5
_MAX_REMEMBERED = 100_000  # typo corrections kept (a word and its lexicon word: about 20 MB at most)
# Told as over, danger is set aside when the matcher reads the message as dangerous less than this:
# an illness, injury or fire below 0.5; violence or ending one's life (and only with words that the
# person is safe now) below 0.25: told as over, ordinary questions in the development sets read at
# 0.2 and below, danger that has started once more at 0.4 and above ("last year he beat me, now he
# is outside our building" reads at 0.95). Never being held or a child at risk.
_WEAK_READING = 0.5  # also the bar for danger the classifiers found without a phrase
_OVER_LEVEL = {"medical": _WEAK_READING, "fire": _WEAK_READING, "violence": 0.25, "self_harm": 0.25}
# A call for help now ("send an ambulance", "памагите", "chhito aaunus") in a message of at least
# three words raises the alarm on a reading the classifiers alone do not trust (from 0.2): short,
# misspelt emergencies of the development sets read at 0.16-0.39 ("blessé grave sang partout svp
# vite"), ordinary messages with such words mostly below 0.15.
_URGENT_LEVEL = 0.2
_URGENT_WORDS = 3
# A message of three or more words that reads like danger at least this weakly, though no alarm is
# raised, may still be an emergency the recognisers missed: when the bot cannot answer it, its reply
# starts with the emergency number. The emergencies the development sets miss read at 0.12 and
# above; of the ordinary questions the bot cannot answer, about one in twelve reads this high, of the
# chatty statements half to two thirds ("bus late again"): a line too many costs little, a missed
# number much.
_CAUTION_LEVEL = 0.1


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"  # what ``\\w`` matches in a str pattern


def _leading_word(text: str, start: int = 0) -> str:
    """The run of word characters at ``start`` (empty if the character there is not one)."""
    end = start
    while end < len(text) and _is_word_char(text[end]):
        end += 1
    return text[start:end]


class _PhraseFinder:
    """The leftmost phrase that stands as whole words in a text, the longest where several start
    at the same place: what one big ``(?<!\\w)(?:long|...|short)(?!\\w)`` regex finds, built in
    milliseconds instead of the half second such a regex of thousands of phrases takes to compile.
    A phrase can only start where the text's word equals the phrase's first word, so phrases are
    grouped by it: a place in the text is compared with a handful of phrases, not hundreds.
    """

    def __init__(self, phrases: list[str]):
        self._by_first_word: dict[str, list[str]] = {}
        for phrase in sorted(phrases, key=len, reverse=True):
            self._by_first_word.setdefault(_leading_word(phrase), []).append(phrase)

    def search(self, text: str) -> str | None:
        return next(self.find_all(text), None)

    def find_all(self, text: str) -> Iterator[str]:
        """Every phrase found, left to right, the next one searched after the end of the last."""
        after_word = False
        skip_to = 0
        for index, char in enumerate(text):
            if not after_word and index >= skip_to:
                for phrase in self._by_first_word.get(_leading_word(text, index), ()):
                    end = index + len(phrase)
                    if text.startswith(phrase, index) and (end == len(text) or not _is_word_char(text[end])):
                        yield phrase
                        skip_to = end
                        break
            after_word = _is_word_char(char)


@dataclass(frozen=True)
class CrisisMatch:
    category: str
    phrase: str  # the lexicon phrase found, or "" when the matcher recognised the message as a whole


class DangerReader(Protocol):
    """The matcher's reading of a whole message."""

    def kind(self, text: str) -> str | None:
        """The kind of danger ``text`` reads like ("medical"), or None."""

    def level(self, text: str) -> float:
        """How strongly ``text`` reads like danger happening now, from 0 to 1."""

    def likely_kind(self, text: str) -> str | None:
        """The kind of danger ``text`` reads most like, however weakly; None for small talk."""


def _forms(text: str) -> tuple[str, str]:
    normalized = normalize(text)
    return normalized, phonetic(to_latin(normalized))


# Arabic writes "and" and "so" as a letter joined to the next word: "وما عم يتنفس" (and he is not
# breathing), "والدم" (and the blood). A message is also searched without them.
_ARABIC_CONJUNCTIONS = re.compile(r"(?<!\w)[وف](?=\w\w)")


@functools.lru_cache(maxsize=1024)
def _message_forms(text: str) -> tuple[str, ...]:
    """The forms of a message the phrases are searched in (kept for the last messages: the phrases,
    the words that danger is over and those that the person is safe are searched in the same ones)."""
    normalized, phon = _forms(text)
    bare = _ARABIC_CONJUNCTIONS.sub("", normalized)
    if bare == normalized:
        return normalized, phon
    return normalized, phon, bare, phonetic(to_latin(bare))


class _PhraseIndex:
    """Phrases found as whole words in a message, in their own script or in the phonetic Latin
    form, each with the category it was listed under."""

    def __init__(self, phrases: dict[str, list[str]]):
        self.by_form: dict[str, CrisisMatch] = {}
        for category, items in phrases.items():
            for phrase in items:
                forms = _message_forms(phrase)
                for normalized, phon in zip(forms[::2], forms[1::2], strict=True):
                    if len(normalized) >= 3:
                        self.by_form.setdefault(normalized, CrisisMatch(category, phrase))
                    # The Latin form of a short word written without vowels is only a few consonants,
                    # shared by ordinary words: "انتحار" (suicide) becomes "ntr", as does "ناطر" (waiting).
                    if len(phon.replace(" ", "")) >= (3 if normalized.isascii() else _MIN_ABJAD_FORM):
                        self.by_form.setdefault(phon, CrisisMatch(category, phrase))
        self.finder = _PhraseFinder(list(self.by_form)) if self.by_form else None

    def search(self, *forms: str) -> CrisisMatch | None:
        if self.finder is None:
            return None
        for form in forms:
            found = self.finder.search(form)
            if found:
                return self.by_form[found]
        return None

    def distinct(self, *forms: str) -> set[str]:
        """The phrases found in any of ``forms``, each by its phonetic form: "m-a bătut" found in
        one form and "m-a batut" in another are one phrase."""
        if self.finder is None:
            return set()
        return {_forms(self.by_form[f].phrase)[1] for form in forms for f in self.finder.find_all(form)}


class CrisisDetector:
    def __init__(
        self,
        phrases: dict[str, list[str]],
        reader: DangerReader | None = None,
        *,
        over: list[str] = (),
        again: list[str] = (),
        safe: list[str] = (),
        urgent: list[str] = (),
    ):
        """``phrases`` maps a category to phrases in any language; ``reader`` judges the whole
        message when no phrase is found, and a phrase in a longer message. ``over`` are words that
        tell the danger is in the past ("last month", "during the war"; ``knowledge/nlu/over.yaml``),
        ``safe`` words that tell the person is safe now or it has ended ("now I am safe", "I am
        divorced"; they tell it is over too), ``again`` words that tell it is happening once more
        ("again", "iar"), ``urgent`` calls for help now ("send an ambulance", "come quickly")."""
        self._reader = reader
        self._phrases = _PhraseIndex(phrases)
        # Exact matches only: a typo tolerated here could set a real emergency aside.
        self._over = _PhraseIndex({"over": list(over)})
        self._safe = _PhraseIndex({"safe": list(safe)})
        self._again = _PhraseIndex({"again": list(again)})
        self._urgent = _PhraseIndex({"urgent": list(urgent)})
        # Typo tolerance works word by word: a misspelt word close to a lexicon word is replaced by
        # it, then the phrases are searched again.
        # Only words of phrases written in Latin letters: a transliterated native-script phrase
        # ("інсульт" -> "insult") must not catch an ordinary word of another language ("insulte").
        latin = {
            phonetic(to_latin(normalize(p))) for items in phrases.values() for p in items if normalize(p).isascii()
        }
        vocabulary = sorted({w for f in latin for w in f.split() if len(w) >= _FUZZY_MIN_WORD})
        self._known = frozenset(vocabulary)
        self._ordinary: frozenset[str] = frozenset()
        self._corrections: dict[str, str | None] = {}
        # A typo keeps the length within one letter: only words that long are compared.
        self._by_length: dict[int, list[str]] = {}
        for word in vocabulary:
            for size in (len(word) - 1, len(word), len(word) + 1):
                self._by_length.setdefault(size, []).append(word)

    def with_reader(self, reader: DangerReader, ordinary_words: frozenset[str] = frozenset()) -> CrisisDetector:
        """The same phrases (not compiled again) with ``reader`` asked too. ``ordinary_words``
        (phonetic forms) are never taken for a typo of a lexicon word: "je veux me plaindre" (to
        complain) is not "me pendre" (to hang myself), "he is eating" not "beating"."""
        detector = copy.copy(self)
        detector._reader = reader
        detector._ordinary = ordinary_words
        return detector

    def detect(self, text: str) -> CrisisMatch | None:
        if not text:
            return None
        found = self.detect_phrase(text)
        reader = self._reader
        if reader is None:
            return found
        if found is None:
            kind = reader.kind(text)
            found = CrisisMatch(kind, "") if kind is not None else None
        if found is None:
            return self._called_for_help(reader, text)
        if self._set_aside(reader, text, found):
            return None
        return found

    def _called_for_help(self, reader: DangerReader, text: str) -> CrisisMatch | None:
        """A call for help now in a message that reads, if only weakly, like danger: people in an
        emergency write short and misspelt ("onek rokto jaitese help koren"), and neither a
        phrase nor the classifiers alone are sure."""
        # Most messages hold no call for help: that search comes before the others.
        if len(text.split()) < _URGENT_WORDS or self._urgent.search(*_message_forms(text)) is None:
            return None
        if self.told_as_over(text) is not None or reader.level(text) < _URGENT_LEVEL:
            return None
        kind = reader.likely_kind(text)
        return CrisisMatch(kind, "") if kind is not None else None

    def may_be_danger(self, text: str) -> bool:
        """Whether ``text``, though no alarm is raised for it, reads however weakly like danger: an
        emergency can be told in words no phrase holds and the classifiers are unsure of ("bad
        injured blood every where pls" reads at 0.12). Not an alarm: a reason to name 112 when the
        bot cannot answer."""
        reader = self._reader
        if reader is None or len(text.split()) < _URGENT_WORDS or reader.likely_kind(text) is None:
            return False
        return reader.level(text) >= _CAUTION_LEVEL

    def detect_phrase(self, text: str) -> CrisisMatch | None:
        """A phrase of the lexicon in ``text``, if any."""
        if self._phrases.finder is None:
            return None
        forms = _message_forms(text)
        found = self._phrases.search(*forms)
        if found:
            return found
        phon = forms[1]
        corrected = []
        changed = False
        for word in phon.split():
            if len(word) >= _FUZZY_MIN_WORD and word not in self._known and word not in self._ordinary:
                fixed = self._correction(word)
                if fixed:
                    word, changed = fixed, True
            corrected.append(word)
        return self._phrases.search(" ".join(corrected)) if changed else None

    def _correction(self, word: str) -> str | None:
        """The lexicon word ``word`` is a small typo of, if any; remembered, as words recur."""
        if word in self._corrections:
            return self._corrections[word]
        nearby = self._by_length.get(len(word), ())
        best = process.extractOne(word, nearby, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF)
        fixed = best[0] if best else None
        if len(self._corrections) < _MAX_REMEMBERED:
            self._corrections[word] = fixed
        return fixed

    def told_as_over(self, text: str) -> str | None:
        """The words of ``text`` that tell its danger is over ("last month"), if any, unless others
        tell it is happening again ("last week he fainted, now again he fell"). Words that the
        person is safe now tell it is over too."""
        return self._cue(self._over, text) or self._cue(self._safe, text)

    def told_as_safe(self, text: str) -> str | None:
        """The words of ``text`` that tell the person is safe now ("now I am safe"), if any, unless
        others tell it is happening again."""
        return self._cue(self._safe, text)

    def _cue(self, cues: _PhraseIndex, text: str) -> str | None:
        forms = _message_forms(text)
        found = cues.search(*forms)
        if found is None or self._again.search(*forms) is not None:
            return None
        return found.phrase

    def _set_aside(self, reader: DangerReader, text: str, found: CrisisMatch) -> bool:
        """Danger in a message long enough to judge that the matcher does not read as dangerous
        now: a phrase naming an illness, injury or fire in a clearly ordinary question ("if someone
        has a heart attack, which number?"), or danger told as over ("my son had a high fever last
        week, now he is fine; which vaccines are left?")."""
        if len(text.split()) < _CONTEXT_WORDS:
            return False
        level = reader.level(text)
        if not found.phrase:
            # The classifiers' own reading (never under ``_ORDINARY_LEVEL``). The kind they name is
            # often not the one told ("cut my finger while cooking, it stopped bleeding" reads as
            # violence): any kind is set aside when the message says it is over and the person is
            # safe now; an illness, injury or fire also when it is only told in the past.
            if level >= _WEAK_READING:
                return False
            if found.category in _MAY_BE_SET_ASIDE:
                return self.told_as_over(text) is not None
            return self.told_as_safe(text) is not None
        if found.category not in _OVER_LEVEL:
            return False
        if found.category in _MAY_BE_SET_ASIDE and level < _ORDINARY_LEVEL:
            return True
        if level >= _OVER_LEVEL[found.category] or self.told_as_over(text) is None:
            return False
        # Violence or suicide: a time in the past is not enough ("she got a protection order last
        # month; now he broke in and is hitting her" reads at 0.05), the person must say they are
        # safe now.
        if found.category not in _MAY_BE_SET_ASIDE and self.told_as_safe(text) is None:
            return False
        # Told as over, but is that all? A second danger named in the message ("last year he beat
        # me, now he is here with a knife") may be the one happening now.
        return len(self._phrases.distinct(*_message_forms(text))) <= 1


OVER_FILE = "over.yaml"  # beside crisis.yaml; optional


def load_crisis_lexicon(path: Path) -> tuple[CrisisDetector | None, ProblemList]:
    """The phrases of ``path`` (``crisis.yaml``) and, when there is one, the words of ``over.yaml``
    beside it."""
    phrases, problems = read_lexicon(path, CRISIS_CATEGORIES, "the crisis lexicon (the bot must recognise emergencies)")
    cues: dict[str, list[tuple[str, str]]] = {"over": [], "again": [], "safe": [], "urgent": []}
    if (path.parent / OVER_FILE).exists():
        read, over_problems = read_lexicon(
            path.parent / OVER_FILE,
            ("over", "safe", "again", "urgent"),
            "the words that tell whether danger is happening now",
        )
        problems.extend(over_problems)
        if read is None:
            return None, problems
        cues = read
    if phrases is None:
        return None, problems
    detector = CrisisDetector(
        {c: [p for _, p in items] for c, items in phrases.items()},
        over=[cue for _, cue in cues["over"]],
        again=[cue for _, cue in cues["again"]],
        safe=[cue for _, cue in cues["safe"]],
        urgent=[cue for _, cue in cues["urgent"]],
    )
    return detector, problems
