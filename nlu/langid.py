"""Language identification: script first, then a character n-gram model trained on the KB.

The person's chosen language is a hint, not a cage: a short or ambiguous message keeps the hint,
a clear message in another language is recognised as such (a Ukrainian user writing Russian).
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable

import numpy as np

from nlu import cache
from nlu.languages import LANGUAGES, NATIVE_SCRIPT
from nlu.normalize import normalize

_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x024F, "latin"),
    (0x0370, 0x03FF, "greek"),
    (0x0400, 0x052F, "cyrillic"),
    (0x0600, 0x06FF, "arabic"),
    (0x0750, 0x077F, "arabic"),
    (0xFB50, 0xFDFF, "arabic"),
    (0xFE70, 0xFEFF, "arabic"),
    (0x0900, 0x097F, "devanagari"),
    (0x0980, 0x09FF, "bengali"),
    (0x0B80, 0x0BFF, "tamil"),
    (0x0D80, 0x0DFF, "sinhala"),
)

# Nats in favour of the chosen language: a fixed part, and a part that fades with length, so one
# borrowed word ("doctor", "visa") keeps the person's language but a full sentence can overrule it.
_HINT_BONUS = 2.5
_SHORT_TEXT_HINT_BONUS = 4.0
_NGRAM_SIZES = (1, 2, 3, 4)


@functools.lru_cache(maxsize=8192)
def script_of(char: str) -> str | None:
    if unicodedata.category(char)[0] not in "LM":
        return None
    code = ord(char)
    for start, end, name in _SCRIPT_RANGES:
        if start <= code <= end:
            return name
    return None


def dominant_script(text: str) -> str | None:
    counts: Counter[str] = Counter(map(script_of, text))
    counts.pop(None, None)
    return counts.most_common(1)[0][0] if counts else None


@functools.lru_cache(maxsize=200_000)
def _word_ngrams(word: str) -> tuple[str, ...]:
    padded = f" {word} "
    return tuple(padded[i : i + size] for size in _NGRAM_SIZES for i in range(len(padded) - size + 1))


def _ngrams(normalized: str) -> Iterable[str]:
    for word in normalized.split():
        yield from _word_ngrams(word)


class LanguageIdentifier:
    """Naive Bayes over character n-grams, restricted to the languages that use the text's script."""

    def __init__(self, samples: Iterable[tuple[str, str]], *, normalized: bool = False):
        """``samples`` are (language, text); pass ``normalized=True`` if the texts already are."""
        counts: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
        for lang, text in samples:
            normalized_text = text if normalized else normalize(text)
            script = dominant_script(normalized_text)
            if script is None:
                continue
            counts[script][lang].update(_ngrams(normalized_text))
        self._logprob: dict[str, dict[str, dict[str, float]]] = {}
        self._unseen: dict[str, dict[str, float]] = {}
        self._tables: dict[str, tuple[dict[str, int], list[str], np.ndarray] | None] = {}
        for script, by_lang in counts.items():
            vocabulary = set().union(*by_lang.values())
            self._logprob[script] = {}
            self._unseen[script] = {}
            for lang, grams in by_lang.items():
                total = sum(grams.values()) + 0.5 * len(vocabulary)
                self._logprob[script][lang] = {g: math.log((c + 0.5) / total) for g, c in grams.items()}
                self._unseen[script][lang] = math.log(0.5 / total)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The trained tables as arrays (for ``nlu.cache``)."""
        arrays: dict[str, np.ndarray] = {}
        tables = [(script, lang) for script, by_lang in self._logprob.items() for lang in by_lang]
        arrays["langid_tables"] = cache.pack([f"{script} {lang}" for script, lang in tables])
        arrays["langid_unseen"] = np.array([self._unseen[s][lang] for s, lang in tables], dtype=np.float64)
        for i, (script, lang) in enumerate(tables):
            table = self._logprob[script][lang]
            arrays[f"langid_grams_{i}"] = cache.pack(list(table))
            arrays[f"langid_logprob_{i}"] = np.fromiter(table.values(), dtype=np.float64, count=len(table))
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> LanguageIdentifier:
        identifier = cls(())
        for i, name in enumerate(cache.unpack(arrays["langid_tables"])):
            script, lang = name.split(" ")
            grams = cache.unpack(arrays[f"langid_grams_{i}"])
            identifier._logprob.setdefault(script, {})[lang] = dict(
                zip(grams, arrays[f"langid_logprob_{i}"].tolist(), strict=True)
            )
            identifier._unseen.setdefault(script, {})[lang] = float(arrays["langid_unseen"][i])
        return identifier

    def candidates(self, script: str | None) -> tuple[str, ...]:
        if script is None:
            return ()
        trained = tuple(lang for lang in LANGUAGES if lang in self._logprob.get(script, {}))
        if trained:
            return trained
        return tuple(lang for lang in LANGUAGES if NATIVE_SCRIPT[lang] == script)

    def guess(self, text: str, hint: str | None = None, *, short: bool = False) -> str | None:
        """The language to offer first, or None without real evidence.

        A greeting or a one- or two-word message ("hello", "namaste", "salam") says little about
        the language: the platform's ``hint`` (the phone's language) stands unless the script
        rules it out, and a script only one language uses decides. Longer text is identified.
        """
        normalized = normalize(text)
        script = dominant_script(normalized)
        candidates = self.candidates(script)
        if len(candidates) == 1:
            return candidates[0]
        if short or len(normalized.split()) <= 2:
            return hint if hint and (not candidates or hint in candidates) else None
        return self.detect(text, hint) if candidates else hint

    def detect(self, text: str, hint: str | None = None) -> str:
        """The most likely language of ``text``; the hint wins when the text does not say otherwise."""
        normalized = normalize(text)
        script = dominant_script(normalized)
        candidates = self.candidates(script)
        if not candidates:
            return hint or "en"
        if len(candidates) == 1:
            return candidates[0]
        grams = list(_ngrams(normalized))
        hint_bonus = _HINT_BONUS + _SHORT_TEXT_HINT_BONUS / max(1, len(normalized.split()))
        table = self._table(script)
        if table is None:
            return hint if hint in candidates else candidates[0]
        index, langs, logprob = table
        unseen = len(index)  # the last row: the log-probability of a gram a language never had
        rows = np.fromiter((index.get(g, unseen) for g in grams), dtype=np.intp, count=len(grams))
        scores = logprob[rows].sum(axis=0) / max(1, len(grams)) * min(len(grams), 12)
        best_lang, best_score = candidates[0], -math.inf
        for lang, score in zip(langs, scores.tolist(), strict=True):
            if lang not in candidates:
                continue
            if lang == hint:
                score += hint_bonus
            if score > best_score:
                best_lang, best_score = lang, score
        return best_lang

    def _table(self, script: str) -> tuple[dict[str, int], list[str], np.ndarray] | None:
        """One gram -> row index and a grams x languages matrix of log-probabilities for ``script``:
        one dictionary lookup per gram instead of one per gram and language (long Latin-script
        messages could be any of the eleven languages)."""
        if script in self._tables:
            return self._tables[script]
        by_lang = self._logprob.get(script)
        if not by_lang:
            self._tables[script] = None
            return None
        langs = [lang for lang in LANGUAGES if lang in by_lang]
        index: dict[str, int] = {}
        for lang in langs:
            for gram in by_lang[lang]:
                index.setdefault(gram, len(index))
        matrix = np.empty((len(index) + 1, len(langs)), dtype=np.float64)
        for column, lang in enumerate(langs):
            matrix[:, column] = self._unseen[script][lang]
            table = by_lang[lang]
            rows = np.fromiter((index[g] for g in table), dtype=np.intp, count=len(table))
            matrix[rows, column] = np.fromiter(table.values(), dtype=np.float64, count=len(table))
        self._tables[script] = (index, langs, matrix)
        return self._tables[script]
