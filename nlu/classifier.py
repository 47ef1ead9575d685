"""A discriminative classifier over the matcher's sparse features: multinomial logistic regression.

Nearest-example similarity is good at "this looks like that example" but cannot learn which words
*separate* two entries, or that "send money home" next to "residence permit" is still about money.
A linear model trained on every example at once learns exactly that: each feature gets a weight
per label (entry, out of scope, a nearby topic, a kind of danger), and the probabilities it gives
are comparable across messages.

Training is full-batch Adam on the TF-IDF matrix (scipy sparse products), deterministic, a few
seconds for the shipped knowledge base; the matcher caches the result (``nlu.cache``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from nlu import cache


@dataclass(frozen=True)
class TrainingOptions:
    iterations: int = 60
    learning_rate: float = 0.05
    l2: float = 1e-5
    # Labels with few examples weigh more (inverse frequency to this power): out-of-scope examples
    # outnumber any one entry's and must not drown them.
    balance: float = 1.0


class LinearClassifier:
    def __init__(self, labels: Sequence[str], weights: np.ndarray, bias: np.ndarray):
        self.labels = list(labels)
        self.weights = weights  # features x labels
        self.bias = bias

    @classmethod
    def fit(
        cls,
        matrix: sp.csr_matrix,
        targets: Sequence[int],
        labels: Sequence[str],
        options: TrainingOptions | None = None,
    ) -> LinearClassifier:
        """Train on ``matrix`` (examples x features, rows L2-normalised); ``targets`` index ``labels``."""
        options = options or TrainingOptions()
        targets = np.asarray(targets)
        n, features = matrix.shape
        size = len(labels)
        transposed = matrix.T.tocsr()
        onehot = np.zeros((n, size), np.float32)
        onehot[np.arange(n), targets] = 1.0
        counts = np.maximum(np.bincount(targets, minlength=size), 1)
        sample_weight = ((n / (size * counts)) ** options.balance)[targets].astype(np.float32)
        sample_weight /= sample_weight.sum()
        weights = np.zeros((features, size), np.float32)
        bias = np.zeros(size, np.float32)
        first = np.zeros_like(weights)
        second = np.zeros_like(weights)
        rate = options.learning_rate
        for step in range(1, options.iterations + 1):
            logits = matrix @ weights + bias
            logits -= logits.max(axis=1, keepdims=True)
            np.exp(logits, out=logits)
            logits /= logits.sum(axis=1, keepdims=True)
            residual = (logits - onehot) * sample_weight[:, None]
            gradient = transposed @ residual
            gradient += options.l2 * weights
            first *= 0.9
            first += 0.1 * gradient
            second *= 0.999
            second += 0.001 * gradient * gradient
            weights -= (rate / (1 - 0.9**step)) * first / (np.sqrt(second / (1 - 0.999**step)) + 1e-8)
            bias -= rate * 10 * residual.sum(axis=0)
        return cls(labels, weights, bias)

    def probabilities(self, feature_ids: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Probability of each label for one query (feature ids and their normalised values)."""
        logits = values.astype(np.float32) @ self.weights[feature_ids] + self.bias
        logits -= logits.max()
        np.exp(logits, out=logits)
        return logits / logits.sum()

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        labels = cache.pack(self.labels)
        return {prefix + "weights": self.weights, prefix + "bias": self.bias, prefix + "labels": labels}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str = "") -> LinearClassifier:
        return cls(cache.unpack(arrays[prefix + "labels"]), arrays[prefix + "weights"], arrays[prefix + "bias"])
