"""Toy problems for the learner tests, in the input each learner reads (texts or vectors)."""
from __future__ import annotations

import numpy as np
import pytest

from screenstack.learners import LEARNERS, make_learner

INCLUDED_WORDS = "olanzapine risperidone quetiapine schizophrenia randomised placebo trial relapse".split()
EXCLUDED_WORDS = "mouse liver kinase protein culture receptor binding assay".split()
SHARED_WORDS = "study patients effect results clinical data analysis group outcome review".split()


def _texts(labels: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Short documents: four topic words that give the label away, six filler words shared by both classes."""
    docs = []
    for label in labels:
        topic = INCLUDED_WORDS if label else EXCLUDED_WORDS
        words = list(rng.choice(topic, 4)) + list(rng.choice(SHARED_WORDS, 6))
        docs.append(" ".join(rng.permutation(words)))
    return docs


def _vectors(labels: np.ndarray, rng: np.random.Generator, dim: int = 16) -> np.ndarray:
    X = rng.normal(size=(len(labels), dim)).astype(np.float32)
    X[:, :4] += 1.5 * labels[:, None]
    return X


@pytest.fixture
def toy():
    """``toy(name, n, positives, seed)`` -> ``(X, y)`` in learner NAME's input, `positives` of them included.

    Included records are separable from excluded ones (distinct topic words, or
    shifted vector columns), so any working learner ranks them with AUC near 1.
    """

    def make(name: str, n: int = 200, positives: int = 30, seed: int = 0):
        rng = np.random.default_rng(seed)
        y = np.zeros(n, dtype=int)
        y[rng.choice(n, positives, replace=False)] = 1
        X = _texts(y, rng) if LEARNERS[name].input == "text" else _vectors(y, rng)
        return X, y

    return make


@pytest.fixture
def quick():
    """``quick(name, **params)`` -> the learner with fewer boosting rounds, on one thread.

    Toy data gain nothing from more rounds or threads, and spinning OpenMP
    threads stall when other work shares the test machine's cores (scikit-learn
    likewise sets fast parameters for its common checks).
    """

    def make(name: str, **params):
        learner = make_learner(name, **params)
        fast = {"n_estimators": 100, "fixed_rounds": 50, "n_jobs": 1}
        return learner.set_params(**{k: v for k, v in fast.items() if k in learner.get_params() and k not in params})

    return make
