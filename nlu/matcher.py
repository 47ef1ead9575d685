"""The built-in question matcher.

Every example question of the knowledge base (and every out-of-scope example) becomes a sparse
TF-IDF vector over several feature families that make spelling variants meet:

- ``w`` whole normalised words in their own script;
- ``p`` words in the phonetic Latin form (romanised and native script meet here);
- ``g`` character 3- and 4-grams of the phonetic form (misspellings, inflections);
- ``s`` consonant skeletons of words (vowel-free romanisation, Arabic and Urdu abjads).

A linear classifier (``nlu.classifier``) learns from all the examples at once which features tell
the labels apart. The labels are the entries, "out of scope", topics next to the knowledge base
("nearby:money": named, never answered) and kinds of immediate danger ("crisis:medical"). A
second, two-label classifier over the same features (danger or not) gives a second opinion on
danger: trained only to tell emergencies from everything else, it recognises some that the
many-label one spreads over related entries. It confirms a weak reading of danger and never
vetoes one: as a veto it cost one emergency for every two or three false alarms it spared
(long messages told by someone else, which it reads as ordinary).
Unknown query words are corrected against the vocabulary with rapidfuzz before scoring. The most
probable entry is answered, offered as "did you mean", or refused by thresholds on its
probability and its lead over the runner-up; a nearby topic or "out of scope" on top means no
answer.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np
import scipy.sparse as sp
from rapidfuzz import fuzz, process

from nlu import cache
from nlu.classifier import LinearClassifier, TrainingOptions
from nlu.langid import LanguageIdentifier
from nlu.normalize import normalize
from nlu.translit import phonetic_word, skeleton_word, to_latin

OUT_OF_SCOPE = "__out_of_scope__"
# What people say in the middle of a conversation ("I sent you the photo", "the office was closed"):
# no question for an entry, and no danger. Its own label, so that these many ordinary statements
# weigh as much as any one kind of danger when the classifier learns to tell them apart.
STATEMENT = "__statement__"
NO_ANSWER = (OUT_OF_SCOPE, STATEMENT)
_DANGER = "danger_"  # prefix of the danger-or-not classifier's arrays in the cache
_DANGER_BALANCE = 0.5
# Pseudo-intents that are never answered with an entry: a named topic the bot has no entry for
# ("nearby:money"), and a kind of immediate danger ("crisis:medical").
NEARBY = "nearby:"
CRISIS = "crisis:"
_PSEUDO = (NEARBY, CRISIS)


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
    nearby: str | None = None  # no entry answers it, but it is about this topic ("money")

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
            "nearby": self.nearby,
        }


class Matcher(Protocol):
    async def match(self, text: str, lang_hint: str | None = None) -> Prediction: ...


@dataclass(frozen=True)
class Thresholds:
    """Decision thresholds on the calibrated confidence (see ``BuiltinMatcher.predict``)."""

    answer: float = 0.09  # the most probable label must be an entry with at least this probability
    answer_margin: float = 0.01
    suggest: float = 0.05
    max_suggestions: int = 3
    short_query_words: int = 2
    short_query_margin: float = 0.25  # a short query's winner must lead by this share of its score
    one_word_answer: float = 0.5  # one word ("office", "card") is answered only this surely; else did-you-mean
    short_no_answer: float = 0.2  # a short query's "no answer" or nearby topic below this: did-you-mean
    crisis: float = 0.23  # the kinds of danger together at least this probable: an emergency ...
    crisis_words: int = 3  # ... in a message of at least this many words (shorter ones say too little)
    crisis_floor: float = 0.15  # between this and ``crisis``: an emergency if the second opinion ...
    crisis_confirm: float = 0.4  # ... (the danger-or-not classifier) is at least this sure, ...
    crisis_confirm_below: float = 0.3  # ... and no entry is this probable ("a job in a warehouse")


@dataclass(frozen=True)
class FeatureWeights:
    word: float = 1.0
    phonetic: float = 1.0
    grams: float = 1.0
    skeleton: float = 0.6


def _is_entry(label: str) -> bool:
    """A label that is an entry, not out of scope, a statement, a nearby topic or a kind of danger."""
    return label not in NO_ANSWER and not label.startswith(_PSEUDO)


@dataclass(frozen=True)
class _Reading:
    text: str
    ids: np.ndarray
    values: np.ndarray
    scores: dict[str, float]


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
    vocabulary_buckets: dict[tuple[str, int], list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.vocabulary_buckets:
            # Spelling correction looks only at words of similar length with the same first letter.
            for feature in self.feature_ids:
                if feature.startswith("p:") and len(feature) > 4:
                    word = feature[2:]
                    self.vocabulary_buckets.setdefault((word[0], len(word)), []).append(word)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "features": cache.pack(list(self.feature_ids)),
            "idf": self.idf,
            "indptr": self.indptr,
            "doc_ids": self.doc_ids,
            "values": self.values,
            "doc_count": np.array(self.doc_count),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> _Index:
        names = cache.unpack(arrays["features"])
        return cls(
            feature_ids={name: i for i, name in enumerate(names)},
            idf=arrays["idf"],
            indptr=arrays["indptr"],
            doc_ids=arrays["doc_ids"],
            values=arrays["values"],
            doc_count=int(arrays["doc_count"]),
        )


class BuiltinMatcher:
    """TF-IDF over multilingual forms, a linear classifier over them, and decision thresholds."""

    def __init__(
        self,
        examples: Iterable[Example],
        *,
        language_samples: Iterable[tuple[str, str]] = (),
        thresholds: Thresholds | None = None,
        weights: FeatureWeights | None = None,
        spelling_correction: bool = True,
        training: TrainingOptions | None = None,
    ):
        self.thresholds = thresholds or Thresholds()
        self.weights = weights or FeatureWeights()
        self.spelling_correction = spelling_correction
        examples = sorted(examples, key=lambda e: e.intent)
        if not examples:
            raise ValueError("the matcher needs at least one example")
        self._examples = examples
        language_samples = list(language_samples)
        # Everything built below depends only on these: a restart with the same content reuses it.
        training = training or TrainingOptions()
        key = hashlib.sha256(repr((self.weights, training)).encode())
        for lang, text in language_samples:
            key.update(f"{lang}\x1f{text}\x1e".encode())
        for e in examples:
            key.update(f"{e.intent}\x1f{e.lang}\x1f{e.text}\x1e".encode())
        cached = cache.load("matcher", key.hexdigest())
        if cached is not None:
            self._index = _Index.from_arrays(cached)
            self._classifier = LinearClassifier.from_arrays(cached)
            has_danger = _DANGER + "labels" in cached
            self._danger = LinearClassifier.from_arrays(cached, prefix=_DANGER) if has_danger else None
            self.languages = LanguageIdentifier.from_arrays(cached)
        else:
            example_forms = [_forms(e.text) for e in examples]
            self._index = self._build(examples, example_forms)
            self._classifier = self._train(examples, training)
            self._danger = self._train_danger(examples, training)
            # Every example, out-of-scope ones included, is text in a known language.
            samples = [(lang, normalize(text)) for lang, text in language_samples]
            samples += [(e.lang, " ".join(forms.words)) for e, forms in zip(examples, example_forms, strict=True)]
            self.languages = LanguageIdentifier(samples, normalized=True)
            arrays = self._index.to_arrays() | self._classifier.to_arrays() | self.languages.to_arrays()
            if self._danger is not None:
                arrays |= self._danger.to_arrays(prefix=_DANGER)
            cache.save("matcher", key.hexdigest(), arrays)
        self._correction_cache: dict[str, list[tuple[str, float]]] = {}
        self._ordinary_words: frozenset[str] | None = None
        self._last: _Reading | None = None

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
        return _Index(
            feature_ids=feature_ids,
            idf=idf,
            indptr=indptr,
            doc_ids=docs[order],
            values=values[order],
            doc_count=n,
        )

    def _matrix(self) -> sp.csr_matrix:
        index = self._index
        shape = (index.doc_count, len(index.feature_ids))
        return sp.csc_matrix((index.values, index.doc_ids, index.indptr), shape=shape).tocsr()

    def _train(self, examples: list[Example], options: TrainingOptions | None) -> LinearClassifier:
        labels = sorted({e.intent for e in examples})
        position = {label: i for i, label in enumerate(labels)}
        return LinearClassifier.fit(self._matrix(), [position[e.intent] for e in examples], labels, options)

    def _train_danger(self, examples: list[Example], options: TrainingOptions | None) -> LinearClassifier | None:
        """The danger-or-not classifier, when there are examples of both."""
        targets = [int(e.intent.startswith(CRISIS)) for e in examples]
        if len(set(targets)) < 2:
            return None
        # Half-balanced: fully balanced, it would start from "one message in two is danger", and a
        # message it knows few words of ("my code is Quokka-77") would read as danger.
        options = dataclasses.replace(options or TrainingOptions(), balance=_DANGER_BALANCE)
        return LinearClassifier.fit(self._matrix(), targets, ["safe", "danger"], options)

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

    def _query(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The query's known feature ids and their TF-IDF values, L2-normalised like the examples."""
        index = self._index
        forms = _forms(text)
        feats = self._features(forms)
        if self.spelling_correction:
            for word in forms.phonetic:
                if len(word) >= 4 and ("p:" + word) not in index.feature_ids:
                    for fixed, similarity in self._corrections(word):
                        feats["p:" + fixed] += self.weights.phonetic * similarity
        ids: list[int] = []
        values: list[float] = []
        for f, c in feats.items():
            fid = index.feature_ids.get(f)
            if fid is not None:
                ids.append(fid)
                values.append((1 + math.log(c) if c >= 1 else c) * float(index.idf[fid]))
        vector = np.asarray(values, dtype=np.float32)
        norm = float(np.sqrt(np.dot(vector, vector))) if len(vector) else 0.0
        return np.asarray(ids, dtype=np.int64), vector / (norm or 1.0)

    def _read(self, text: str) -> _Reading:
        """The features and label probabilities of ``text``. The last text's are kept: the bot asks
        several times about one message (danger, the second opinion, then the answer), and so does
        the Rasa combination."""
        if self._last is None or self._last.text != text:
            ids, values = self._query(text)
            scores: dict[str, float] = {}
            if len(ids):
                probabilities = self._classifier.probabilities(ids, values)
                scores = dict(zip(self._classifier.labels, probabilities.tolist(), strict=True))
            self._last = _Reading(text, ids, values, scores)
        return self._last

    def intent_scores(self, text: str) -> dict[str, float]:
        """The probability of every label (entries, out of scope, nearby topics, kinds of danger);
        empty when the text shares no feature with any example."""
        return dict(self._read(text).scores)

    def predict(self, text: str, lang_hint: str | None = None) -> Prediction:
        language = self.languages.detect(text, lang_hint)
        scores = self.intent_scores(text)
        if not scores:
            return Prediction(Outcome.NONE, language)
        t = self.thresholds
        top_label = max(scores, key=scores.__getitem__)
        words = len(text.split())
        short = words <= t.short_query_words
        # One or two words that only weakly read as "not for an entry" ("papers", "documents"):
        # a did-you-mean helps more than "I don't know" or a topic named on one word.
        vague = short and not _is_entry(top_label) and scores[top_label] < t.short_no_answer
        if top_label.startswith(NEARBY) and not vague:
            return Prediction(Outcome.NONE, language, nearby=top_label[len(NEARBY) :])
        entries = sorted(
            ((i, s) for i, s in scores.items() if _is_entry(i)),
            key=lambda kv: kv[1],
            reverse=True,
        )
        candidates = tuple(Candidate(i, round(s, 4)) for i, s in entries[: t.max_suggestions + 1])
        if not candidates or (top_label in NO_ANSWER and not vague):
            return Prediction(Outcome.NONE, language, ())
        best, second = entries[0][1], entries[1][1] if len(entries) > 1 else 0.0
        margin = t.answer_margin
        if short:
            # One or two words ("hospital", "permit") rarely say which of several entries is meant.
            margin = max(margin, best * t.short_query_margin)
        sure = best >= t.one_word_answer if words == 1 else True
        if top_label == entries[0][0] and best >= t.answer and best - second >= margin and sure:
            return Prediction(Outcome.ANSWER, language, candidates)
        suggestions = tuple(c for c in candidates[: t.max_suggestions] if c.confidence >= t.suggest)
        if suggestions:
            return Prediction(Outcome.SUGGEST, language, suggestions)
        return Prediction(Outcome.NONE, language, ())

    def ordinary_words(self) -> frozenset[str]:
        """Phonetic words of at least five letters that two examples or more hold and
        no example of danger does: words of ordinary messages ("plendre", "eating"), which the
        emergency phrases' typo tolerance must not take for a lexicon word ("pendre", "beating").
        One example is not enough: a typo of a danger word can occur once in an ordinary question."""
        if self._ordinary_words is None:
            index = self._index
            danger = np.fromiter((e.intent.startswith(CRISIS) for e in self._examples), bool, len(self._examples))
            starts = index.indptr[:-1]
            in_danger = np.add.reduceat(danger[index.doc_ids].astype(np.int32), starts)
            in_all = np.diff(index.indptr)
            ordinary = (in_danger == 0) & (in_all >= 2)
            self._ordinary_words = frozenset(
                f[2:] for f, fid in index.feature_ids.items() if f.startswith("p:") and len(f) >= 7 and ordinary[fid]
            )
        return self._ordinary_words

    def danger_probability(self, text: str) -> float:
        """The second opinion: how sure the danger-or-not classifier is that ``text`` is an emergency."""
        if self._danger is None:
            return 0.0
        reading = self._read(text)
        return float(self._danger.probabilities(reading.ids, reading.values)[1]) if len(reading.ids) else 0.0

    def _danger_scores(self, text: str) -> dict[str, float]:
        """The many-label classifier's probability of each kind of danger ("medical": 0.12)."""
        return {i[len(CRISIS) :]: s for i, s in self._read(text).scores.items() if i.startswith(CRISIS)}

    def danger_level(self, text: str) -> float:
        """How strongly ``text`` reads like danger: the larger of the two classifiers' readings."""
        return max(sum(self._danger_scores(text).values()), self.danger_probability(text))

    def likely_danger(self, text: str) -> str | None:
        """The kind of danger ``text`` reads most like, however weakly (None when it shares no
        feature with any example)."""
        danger = self._danger_scores(text)
        return max(danger, key=danger.__getitem__) if danger else None

    def danger(self, text: str) -> str | None:
        """The kind of immediate danger ``text`` reads like ("medical"), or None. One or two words
        ("menu", "ok") give the classifiers too little to go on: only the crisis phrases judge them."""
        t = self.thresholds
        if len(text.split()) < t.crisis_words:
            return None
        scores = self._read(text).scores
        danger = self._danger_scores(text)
        total = sum(danger.values())
        if not danger or total < t.crisis_floor:
            return None
        if total < t.crisis:
            entry = max((s for i, s in scores.items() if _is_entry(i)), default=0.0)
            if entry >= t.crisis_confirm_below or self.danger_probability(text) < t.crisis_confirm:
                return None
        return max(danger.items(), key=lambda kv: kv[1])[0]

    async def match(self, text: str, lang_hint: str | None = None) -> Prediction:
        return self.predict(text, lang_hint)
