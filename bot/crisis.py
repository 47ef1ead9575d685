"""Recognise messages about immediate danger, in any language, before anything else happens.

The lexicon (``knowledge/nlu/crisis.yaml``) lists short phrases per language and category. A
message matches when it contains a phrase as whole words, in its own script or in the phonetic
Latin form (so romanised "mujhe maar raha hai" meets "مجھے مار رہا ہے"), or, for longer phrases,
with a small typo. Showing emergency numbers once too often is harmless; missing a crisis is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.kb.problems import ProblemList
from bot.kb.yamlsrc import read_yaml
from nlu.languages import ENGLISH_NAMES
from nlu.normalize import normalize
from nlu.translit import phonetic, to_latin

CATEGORIES = ("violence", "self_harm", "medical", "trafficking", "child_at_risk")
_FUZZY_MIN_WORD = 5
_FUZZY_CUTOFF = 88


@dataclass(frozen=True)
class CrisisMatch:
    category: str
    phrase: str


def _forms(text: str) -> tuple[str, str]:
    normalized = normalize(text)
    return normalized, phonetic(to_latin(normalized))


class CrisisDetector:
    def __init__(self, phrases: dict[str, list[str]]):
        """``phrases`` maps a category to phrases in any language."""
        self._by_form: dict[str, CrisisMatch] = {}
        for category, items in phrases.items():
            for phrase in items:
                for form in _forms(phrase):
                    if form and len(form) >= 3:
                        self._by_form.setdefault(form, CrisisMatch(category, phrase))
        forms = sorted(self._by_form, key=len, reverse=True)
        self._pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, forms)) + r")(?!\w)") if forms else None
        # Typo tolerance works word by word: a misspelt word close to a lexicon word is replaced by
        # it, then the phrases are searched again.
        # Only words of phrases written in Latin letters: a transliterated native-script phrase
        # ("інсульт" -> "insult") must not catch an ordinary word of another language ("insulte").
        latin = {
            phonetic(to_latin(normalize(p))) for items in phrases.values() for p in items if normalize(p).isascii()
        }
        self._vocabulary = sorted({w for f in latin for w in f.split() if len(w) >= _FUZZY_MIN_WORD})
        self._known = frozenset(self._vocabulary)

    def detect(self, text: str) -> CrisisMatch | None:
        if not text or self._pattern is None:
            return None
        normalized, phon = _forms(text)
        for form in (normalized, phon):
            found = self._pattern.search(form)
            if found:
                return self._by_form[found.group()]
        corrected = []
        changed = False
        for word in phon.split():
            if len(word) >= _FUZZY_MIN_WORD and word not in self._known:
                best = process.extractOne(word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF)
                if best and abs(len(best[0]) - len(word)) <= 1:  # a typo, not another word
                    word, changed = best[0], True
            corrected.append(word)
        if changed:
            found = self._pattern.search(" ".join(corrected))
            if found:
                return self._by_form[found.group()]
        return None


def load_crisis_lexicon(path: Path) -> tuple[CrisisDetector | None, ProblemList]:
    problems = ProblemList()
    doc = read_yaml(path, problems) if path.exists() else None
    if doc is None:
        if not problems:
            problems.error(path, None, None, "the crisis lexicon is missing; the bot must recognise emergencies.")
        return None, problems
    if not isinstance(doc.data, dict):
        problems.error(path, 1, None, "list phrases under a language code and a category, e.g. 'en: violence: [...]'.")
        return None, problems
    phrases: dict[str, list[str]] = {c: [] for c in CATEGORIES}
    for lang, categories in doc.data.items():
        if lang == "categories":
            continue
        if lang not in ENGLISH_NAMES:
            problems.error(path, doc.line(lang), str(lang), f"'{lang}' is not a language code the bot knows.")
            continue
        if not isinstance(categories, dict):
            problems.error(path, doc.line(lang), lang, "must list categories (violence, self_harm, ...).")
            continue
        for category, items in categories.items():
            if category not in CATEGORIES:
                problems.error(
                    path,
                    doc.line(lang, category),
                    f"{lang}.{category}",
                    f"'{category}' is not a category; use one of {', '.join(CATEGORIES)}.",
                )
            elif not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
                problems.error(path, doc.line(lang, category), f"{lang}.{category}", "must be a list of phrases.")
            else:
                phrases[category].extend(items)
    if problems.errors:
        return None, problems
    return CrisisDetector(phrases), problems
