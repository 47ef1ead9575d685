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

import functools
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
_SHORTLIST = 16  # intents whose scores are computed in full for each query


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

    answer: float = 0.18
    answer_margin: float = 0.01
    suggest: float = 0.1
    max_suggestions: int = 3
    short_query_words: int = 2
    short_query_margin: float = 0.25  # a short query's winner must lead by this share of its score
    out_of_scope_margin: float = 0.0


@dataclass(frozen=True)
class FeatureWeights:
    word: float = 1.0
    phonetic: float = 1.0
    grams: float = 1.0
    skeleton: float = 0.6
    unknown: float = 9.0  # squared weight of a query feature no example has (dilutes long off-topic text)
    runner_up_examples: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)  # weights of an intent's 2nd, 3rd... best examples


@functools.lru_cache(maxsize=200_000)
def _char_grams(word: str, sizes: Sequence[int] = (3, 4)) -> tuple[str, ...]:
    """``g:`` features of one phonetic word (cached: words repeat across thousands of examples)."""
    padded = f"<{word}>"
    return tuple(
        "g:" + padded[i : i + size] for size in sizes if len(padded) >= size for i in range(len(padded) - size + 1)
    )


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
    intent_ends: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    out_of_scope: int | None = None  # position of the out-of-scope pseudo-intent, if any
    vocabulary_buckets: dict[tuple[str, int], list[str]] = field(default_factory=dict)


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
        example_forms = [_forms(e.text) for e in examples]
        self._index = self._build(examples, example_forms)
        # Every example, out-of-scope ones included, is text in a known language.
        samples = [(lang, normalize(text)) for lang, text in language_samples]
        samples += [(e.lang, " ".join(forms.words)) for e, forms in zip(examples, example_forms, strict=True)]
        self.languages = LanguageIdentifier(samples, normalized=True)
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
                feats[gram] += w.grams
        for skel in forms.skeletons:
            feats["s:" + skel] += w.skeleton
        return feats

    def _build(self, examples: list[Example], example_forms: list[_QueryForms]) -> _Index:
        # Flat (doc, feature, weight) triples sorted by feature give a compressed sparse column
        # matrix without per-feature Python lists: the build stays fast for a 100x larger KB.
        doc_feats = [self._features(forms) for forms in example_forms]
        feature_ids: dict[str, int] = {}
        df: list[int] = []
        for feats in doc_feats:
            for f in feats:
                fid = feature_ids.setdefault(f, len(feature_ids))
                if fid == len(df):
                    df.append(0)
                df[fid] += 1
        n = len(examples)
        idf = (np.log((1 + n) / (1 + np.asarray(df, dtype=np.float64))) + 1.0).astype(np.float32)
        total = sum(len(f) for f in doc_feats)
        docs = np.empty(total, dtype=np.int32)
        fids = np.empty(total, dtype=np.int32)
        tf = np.empty(total, dtype=np.float32)
        position = 0
        for doc, feats in enumerate(doc_feats):
            size = len(feats)
            docs[position : position + size] = doc
            fids[position : position + size] = [feature_ids[f] for f in feats]
            tf[position : position + size] = list(feats.values())
            position += size
        values = np.where(tf >= 1, 1 + np.log(np.maximum(tf, 1)), tf) * idf[fids]
        norms = np.sqrt(np.bincount(docs, weights=values.astype(np.float64) ** 2, minlength=n))
        values = (values / np.maximum(norms[docs], 1e-9)).astype(np.float32)
        order = np.argsort(fids, kind="stable")
        indptr = np.zeros(len(feature_ids) + 1, dtype=np.int64)
        np.cumsum(np.bincount(fids, minlength=len(feature_ids)), out=indptr[1:])
        intents: list[str] = []
        starts: list[int] = []
        for i, e in enumerate(examples):
            if not intents or intents[-1] != e.intent:
                intents.append(e.intent)
                starts.append(i)
        # Spelling correction looks only at words of similar length with the same first letter.
        buckets: dict[tuple[str, int], list[str]] = {}
        for feature in feature_ids:
            if feature.startswith("p:") and len(feature) > 4:
                word = feature[2:]
                buckets.setdefault((word[0], len(word)), []).append(word)
        out_of_scope = intents.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in intents else None
        return _Index(
            feature_ids=feature_ids,
            idf=idf,
            indptr=indptr,
            doc_ids=docs[order],
            values=values[order],
            doc_count=n,
            intent_starts=np.array(starts),
            intents=intents,
            intent_ends=np.array([*starts[1:], n]),
            out_of_scope=out_of_scope,
            vocabulary_buckets=buckets,
        )

    # -- matching -----------------------------------------------------------------------------

    def _corrections(self, word: str) -> list[tuple[str, float]]:
        cached = self._correction_cache.get(word)
        if cached is not None:
            return cached
        buckets = self._index.vocabulary_buckets
        nearby = [w for size in range(len(word) - 2, len(word) + 3) for w in buckets.get((word[0], size), ())]
        found = process.extract(word, nearby, scorer=fuzz.ratio, score_cutoff=80, limit=2)
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
        unknown = self.weights.unknown * sum(
            ((1 + math.log(c)) if c >= 1 else c) ** 2 for f, c in feats.items() if f not in index.feature_ids
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
        extra = self.weights.runner_up_examples
        if not extra:
            return {intent: float(s) for intent, s in zip(index.intents, best, strict=True) if s > 0}
        # Several examples of one intent agreeing is evidence too: an intent's score is a weighted
        # mean of its best few example similarities. Only a shortlist of intents by best example
        # (plus the out-of-scope pseudo-intent) can end up in the ranking, so only they are averaged.
        weights = np.array((1.0, *extra))
        k = len(weights)
        shortlist = np.argpartition(-best, min(_SHORTLIST, len(best) - 1))[:_SHORTLIST]
        if index.out_of_scope is not None:
            shortlist = np.union1d(shortlist, [index.out_of_scope])
        result: dict[str, float] = {}
        for i in shortlist:
            if best[i] <= 0:
                continue
            segment = scores[index.intent_starts[i] : index.intent_ends[i]]
            top = np.partition(segment, len(segment) - k)[-k:] if len(segment) > k else segment
            top = np.sort(top)[::-1]
            result[index.intents[i]] = float(np.dot(top, weights[: len(top)]) / weights.sum())
        return result

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
        margin = t.answer_margin
        if len(text.split()) <= t.short_query_words:
            # One or two words ("doctor", "permit") rarely say which of several entries is meant.
            margin = max(margin, top_score * t.short_query_margin)
        if top_score >= t.answer and top_score - second >= margin:
            return Prediction(Outcome.ANSWER, language, candidates)
        suggestions = tuple(c for c in candidates[: t.max_suggestions] if c.confidence >= t.suggest)
        if suggestions:
            return Prediction(Outcome.SUGGEST, language, suggestions)
        return Prediction(Outcome.NONE, language, ())

    async def match(self, text: str, lang_hint: str | None = None) -> Prediction:
        return self.predict(text, lang_hint)
