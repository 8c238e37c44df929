"""A finished run folder built from synthetic learner outputs: fold plan, OOF files, stack summary."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from screenstack.features.records.corpus import Corpus
from screenstack.features.artifacts.folds import FoldConfig, ensure_fold_plan
from screenstack.features.artifacts.outputs import write_learner_output
from screenstack.features.artifacts.records import write_screening_records
from screenstack.stacking.stack import StackConfig, stack

LEARNERS = {"tfidf-svm": 1.0, "tfidf-logreg": 1.1, "logreg": 1.6, "lightgbm": 2.2}  # name -> noise of its scores


def make_run(out, n_train: int = 600, n_test: int = 150, seed: int = 0):
    """Write a run folder as `fit-learners` and `stack` leave it, with scores that depend on the labels."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    label = (rng.random(n) < 0.07).astype(float)
    label[:2], label[2:n_train:50] = 1, 1  # enough included records for every fold
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "title": [f"t{i}" for i in range(n)], "abstract": "a",
                          "label": label, "split": ["train"] * n_train + ["test"] * n_test})
    frame.loc[n_train:, "label"] = np.nan
    corpus = Corpus(frame)
    plan = ensure_fold_plan(corpus, out, FoldConfig(n_folds=5, seed=0))
    signal = 2.0 * label + rng.normal(size=n)
    for name, noise in LEARNERS.items():
        score = 1 / (1 + np.exp(-(signal + noise * rng.normal(size=n) - 2)))
        write_learner_output(out, name, plan, score[:n_train], corpus.test["id"], score[n_train:], {"learner": name})
    write_screening_records(out, corpus)  # as fit-learners leaves it: without it, stack warns of a killed fit
    return stack(out, StackConfig(beta=7.0))


def ten_percent_plan(out, n_train: int = 600):
    """``(labels, corpus, plan)`` of `n_train` labelled records, every tenth included, and 50 to screen (labels NaN)."""
    n = n_train + 50
    label = np.zeros(n)
    label[:n_train:10] = 1
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "title": [f"t{i}" for i in range(n)], "abstract": "a",
                          "label": label, "split": ["train"] * n_train + ["test"] * 50})
    frame.loc[n_train:, "label"] = np.nan
    corpus = Corpus(frame)
    return label, corpus, ensure_fold_plan(corpus, out, FoldConfig(n_folds=5, seed=0))


def make_noise_run(out, noises: dict[str, float], n_train: int = 600, seed: int = 0, **config):
    """A run whose learners see the labels through `noises` (name -> noise; inf: pure noise), stacked with `config`."""
    rng = np.random.default_rng(seed)
    label, corpus, plan = ten_percent_plan(out, n_train)
    n = len(label)
    for name, noise in noises.items():
        signal = rng.normal(size=n) if np.isinf(noise) else 3.0 * label + noise * rng.normal(size=n)
        score = 1 / (1 + np.exp(-(signal - 2)))
        write_learner_output(out, name, plan, score[:n_train], corpus.test["id"], score[n_train:], {"learner": name})
    write_screening_records(out, corpus)
    return stack(out, StackConfig(**config))


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    make_run(out)
    return out
