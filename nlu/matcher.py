"""The built-in question matcher.

Every example question of the knowledge base (and every out-of-scope example) becomes a sparse
TF-IDF vector over several feature families that make spelling variants meet:

- ``w`` whole normalised words in their own script;
- ``p`` words in the phonetic Latin form (romanised and native script meet here);
- ``g`` character 3- and 4-grams of the phonetic form (misspellings, inflections);
- ``s`` consonant skeletons of words (vowel-free romanisation, Arabic and Urdu abjads).

Unknown query words are corrected against the vocabulary with rapidfuzz before scoring. A query
is scored against all examples at once (numpy), each intent takes the score of its best example,
and the winner is accepted, offered as "did you mean", or refused by thresholds on the score and
its margin over the runner-up. An out-of-scope example that beats every intent means "no match".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np
from rapidfuzz import fuzz, process

from nlu.langid import LanguageIdentifier
from nlu.normalize import normalize
from nlu.translit import phonetic_word, skeleton_word, to_latin

OUT_OF_SCOPE = "__out_of_scope__"


class Outcome(StrEnum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    NONE = "none"


@dataclass(frozen=True)
class Example:
    intent: str
    lang: str
    text: str


@dataclass(frozen=True)
class Candidate:
    intent: str
    confidence: float


@dataclass(frozen=True)
class Prediction:
    outcome: Outcome
    language: str
    candidates: tuple[Candidate, ...] = ()
    source: str = "builtin"

    @property
    def intent(self) -> str | None:
        """The entry to answer with, or None when the bot would not answer directly."""
        return self.candidates[0].intent if self.outcome is Outcome.ANSWER else None

    @property
    def confidence(self) -> float:
        return self.candidates[0].confidence if self.candidates else 0.0

    @property
    def alternatives(self) -> tuple[Candidate, ...]:
        """Further candidates: all of them for did-you-mean, the runners-up for an answer."""
        if self.outcome is Outcome.ANSWER:
            return self.candidates[1:]
        return self.candidates

    def to_json(self) -> dict[str, object]:
        return {
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "language": self.language,
            "alternatives": [{"intent": c.intent, "confidence": round(c.confidence, 4)} for c in self.alternatives],
        }


class Matcher(Protocol):
    async def match(self, text: str, lang_hint: str | None = None) -> Prediction: ...


@dataclass(frozen=True)
class Thresholds:
    """Decision thresholds on the calibrated confidence (see ``BuiltinMatcher.predict``)."""

    answer: float = 0.5
    answer_margin: float = 0.08
    suggest: float = 0.3
    max_suggestions: int = 3
    out_of_scope_margin: float = 0.0


@dataclass(frozen=True)
class FeatureWeights:
    word: float = 1.0
    phonetic: float = 1.0
    grams: float = 1.0
    skeleton: float = 0.6


def _char_grams(word: str, sizes: Sequence[int] = (3, 4)) -> Iterable[str]:
    padded = f"<{word}>"
    for size in sizes:
        if len(padded) < size:
            continue
        for i in range(len(padded) - size + 1):
            yield padded[i : i + size]


@dataclass
class _QueryForms:
    words: list[str]
    phonetic: list[str]
    skeletons: list[str]


def _forms(text: str) -> _QueryForms:
    normalized = normalize(text)
    words = normalized.split()
    latin_words = [to_latin(w) for w in words]
    phon = [phonetic_word(w) for w in latin_words if w]
    skel = [skeleton_word(w) for w in latin_words if w]
    return _QueryForms(words, [p for p in phon if p], [s for s in skel if len(s) > 1])


@dataclass
class _Index:
    feature_ids: dict[str, int]
    idf: np.ndarray
    indptr: np.ndarray
    doc_ids: np.ndarray
    values: np.ndarray
    doc_count: int
    intent_starts: np.ndarray
    intents: list[str]
    phonetic_vocab: list[str] = field(default_factory=list)


class BuiltinMatcher:
    """TF-IDF over multilingual forms, nearest example per intent, with calibrated thresholds."""

    def __init__(
        self,
        examples: Iterable[Example],
        *,
        language_samples: Iterable[tuple[str, str]] = (),
        thresholds: Thresholds | None = None,
        weights: FeatureWeights | None = None,
        spelling_correction: bool = True,
    ):
        self.thresholds = thresholds or Thresholds()
        self.weights = weights or FeatureWeights()
        self.spelling_correction = spelling_correction
        examples = sorted(examples, key=lambda e: e.intent)
        if not examples:
            raise ValueError("the matcher needs at least one example")
        self._examples = examples
        self._index = self._build(examples)
        samples = list(language_samples) + [(e.lang, e.text) for e in examples if e.intent != OUT_OF_SCOPE]
        self.languages = LanguageIdentifier(samples)
        self._correction_cache: dict[str, list[tuple[str, float]]] = {}

    # -- building -----------------------------------------------------------------------------

    def _features(self, forms: _QueryForms) -> Counter[str]:
        feats: Counter[str] = Counter()
        w = self.weights
        for word in forms.words:
            feats["w:" + word] += w.word
        for word in forms.phonetic:
            feats["p:" + word] += w.phonetic
            for gram in _char_grams(word):
                feats["g:" + gram] += w.grams
        for skel in forms.skeletons:
            feats["s:" + skel] += w.skeleton
        return feats

    def _build(self, examples: list[Example]) -> _Index:
        doc_feats = [self._features(_forms(e.text)) for e in examples]
        df: Counter[str] = Counter()
        for feats in doc_feats:
            df.update(feats.keys())
        n = len(examples)
        feature_ids = {f: i for i, f in enumerate(sorted(df))}
        idf = np.zeros(len(feature_ids), dtype=np.float32)
        for f, i in feature_ids.items():
            idf[i] = math.log((1 + n) / (1 + df[f])) + 1.0
        rows: list[list[tuple[int, float]]] = [[] for _ in feature_ids]
        for doc, feats in enumerate(doc_feats):
            vec = {
                feature_ids[f]: (1 + math.log(c)) * idf[feature_ids[f]] if c >= 1 else c * idf[feature_ids[f]]
                for f, c in feats.items()
            }
            norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            for fid, v in vec.items():
                rows[fid].append((doc, v / norm))
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        for i, postings in enumerate(rows):
            indptr[i + 1] = indptr[i] + len(postings)
        doc_ids = np.fromiter((d for postings in rows for d, _ in postings), dtype=np.int32, count=int(indptr[-1]))
        values = np.fromiter((v for postings in rows for _, v in postings), dtype=np.float32, count=int(indptr[-1]))
        intents: list[str] = []
        starts: list[int] = []
        for i, e in enumerate(examples):
            if not intents or intents[-1] != e.intent:
                intents.append(e.intent)
                starts.append(i)
        phonetic_vocab = sorted(f[2:] for f in feature_ids if f.startswith("p:") and len(f) > 4)
        return _Index(feature_ids, idf, indptr, doc_ids, values, n, np.array(starts), intents, phonetic_vocab)

    # -- matching -----------------------------------------------------------------------------

    def _corrections(self, word: str) -> list[tuple[str, float]]:
        cached = self._correction_cache.get(word)
        if cached is not None:
            return cached
        found = process.extract(word, self._index.phonetic_vocab, scorer=fuzz.ratio, score_cutoff=80, limit=2)
        result = [(choice, score / 100.0) for choice, score, _ in found if choice != word]
        if len(self._correction_cache) < 100_000:
            self._correction_cache[word] = result
        return result

    def intent_scores(self, text: str) -> dict[str, float]:
        """Cosine similarity of the best example of each intent (0 for intents with no overlap)."""
        index = self._index
        forms = _forms(text)
        feats = self._features(forms)
        if self.spelling_correction:
            for word in forms.phonetic:
                if len(word) >= 4 and ("p:" + word) not in index.feature_ids:
                    for fixed, similarity in self._corrections(word):
                        feats["p:" + fixed] += self.weights.phonetic * similarity
        query: list[tuple[int, float]] = []
        for f, c in feats.items():
            fid = index.feature_ids.get(f)
            if fid is not None:
                query.append((fid, (1 + math.log(c) if c >= 1 else c) * float(index.idf[fid])))
        if not query:
            return {}
        # Unknown features count towards the query norm: a long text that shares one word is not a match.
        unknown = sum(
            ((1 + math.log(c)) if c >= 1 else c) ** 2 * 9.0 for f, c in feats.items() if f not in index.feature_ids
        )
        norm = math.sqrt(sum(w * w for _, w in query) + unknown) or 1.0
        slices_docs = []
        slices_vals = []
        for fid, w in query:
            start, end = index.indptr[fid], index.indptr[fid + 1]
            slices_docs.append(index.doc_ids[start:end])
            slices_vals.append(index.values[start:end] * (w / norm))
        docs = np.concatenate(slices_docs)
        vals = np.concatenate(slices_vals)
        scores = np.bincount(docs, weights=vals, minlength=index.doc_count)
        best = np.maximum.reduceat(scores, index.intent_starts)
        return {intent: float(s) for intent, s in zip(index.intents, best, strict=True) if s > 0}

    def predict(self, text: str, lang_hint: str | None = None) -> Prediction:
        language = self.languages.detect(text, lang_hint)
        scores = self.intent_scores(text)
        out_of_scope = scores.pop(OUT_OF_SCOPE, 0.0)
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        if not ranked:
            return Prediction(Outcome.NONE, language)
        t = self.thresholds
        top_score = ranked[0][1]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        candidates = tuple(Candidate(i, round(min(1.0, s), 4)) for i, s in ranked[: t.max_suggestions + 1])
        if out_of_scope >= top_score + t.out_of_scope_margin:
            return Prediction(Outcome.NONE, language, ())
        if top_score >= t.answer and top_score - second >= t.answer_margin:
            return Prediction(Outcome.ANSWER, language, candidates)
        suggestions = tuple(c for c in candidates[: t.max_suggestions] if c.confidence >= t.suggest)
        if suggestions:
            return Prediction(Outcome.SUGGEST, language, suggestions)
        return Prediction(Outcome.NONE, language, ())

    async def match(self, text: str, lang_hint: str | None = None) -> Prediction:
        return self.predict(text, lang_hint)
