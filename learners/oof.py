"""The one out-of-fold routine for learners.

`oof_predict` fits a fresh clone of a learner on each fold's training part,
scores the held-out fold with it, and averages the fold models' scores on the
test records; the fold loop is `features.artifacts.crossfit.cross_fit`, which the
fine-tuner shares. A training record's OOF score therefore comes only from a
model that never saw its label, and test scores come from the same K models,
so a threshold chosen on OOF scores applies to them.

Test records are scored after the fold loop, by the K kept models, so they can
come in chunks (`chunked_fold_mean_scores`): a million test records need one
chunk's texts, vectors and TF-IDF matrices at a time. Each record's score is
its own fold models' mean, summed in fold order, so any chunking gives the
same bytes.

Every fit and score runs with BLAS on one thread (`on_one_blas_thread`).
"""
from __future__ import annotations

import functools
from typing import Iterable

import numpy as np
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from ..features.artifacts.crossfit import cross_fit
from ..features.artifacts.folds import FoldPlan
from ..features.records.corpus import texts

# Test records scored at a time: a million-record test set needs one chunk's texts, vectors and TF-IDF
# matrices at once (bench/scoring.py); the scores are the same bytes for any chunk size.
SCORE_CHUNK_ROWS = 50_000


def on_one_blas_thread(function):
    """`function` run with numpy's and scipy's BLAS on one thread. OpenBLAS splits a product's sums by its thread
    count, so the logistic learners' scores (liblinear and lbfgs alike) moved in their last bits with the machine's
    cores (helper-145: OMP_NUM_THREADS=1 against 2); on one thread they are the same bytes on any machine of one
    instruction set, and no slower at these sizes (bench/README.md, "BLAS on one thread"). torch, LightGBM and XGBoost
    keep their own threads."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return function(*args, **kwargs)
    return wrapper


def _take(X, index):
    if isinstance(X, list):
        return [X[i] for i in index]
    return X[index]


@on_one_blas_thread
def oof_predict(learner, X, y: np.ndarray, plan: FoldPlan, X_test=None, *, progress: bool = True, return_models: bool = False):
    """Cross-fitted scores for the training rows and fold-averaged scores for the test rows.

    Parameters
    ----------
    learner : estimator with ``fit`` and ``predict_proba``
    X : list of str or array, rows aligned with ``plan.ids``
    y : array of 0/1, aligned with ``plan.ids``
    plan : the shared fold plan
    X_test : rows to score with every fold model, or None
    return_models : also return the K fitted fold models (fold k at position k), to keep them

    Returns
    -------
    oof : float64 array, one score per training row, from the fold model that did not train on it
        (`features.artifacts.crossfit.cross_fit` asserts every row was validated once)
    test : float64 array, mean score of the fold models per test row (empty if no test)
    models : list of the fitted fold models, only with `return_models`

    Examples
    --------
    >>> oof, test = oof_predict(make_learner("tfidf-svm"), texts, y, plan, test_texts)  # doctest: +SKIP
    """
    assert len(y) == len(plan.ids), "labels must align with the fold plan"
    n_test = 0 if X_test is None else X_test.shape[0] if hasattr(X_test, "shape") else len(X_test)  # sparse has no len

    # A learner whose parameters depend on the count of included records fixes them from all training labels, once
    # (as the stratified fold plan reads that count): fold models of one run never differ in kind.
    learner = learner.for_labels(y) if hasattr(learner, "for_labels") else learner
    models: dict[int, object] = {}

    def fit_fold(k: int, train_index: np.ndarray, valid_index: np.ndarray):
        models[k] = clone(learner).fit(_take(X, train_index), y[train_index])
        return np.asarray(models[k].predict_proba(_take(X, valid_index))[:, 1], dtype=np.float64), np.zeros(0)

    oof, _ = cross_fit(plan, fit_fold, 0, desc=getattr(learner, "name", type(learner).__name__), progress=progress)
    fitted = [models[k] for k in sorted(models)]
    test = fold_mean_scores(fitted, X_test) if n_test else np.zeros(0)
    return (oof, test, fitted) if return_models else (oof, test)


def fold_mean_scores(models: list, X) -> np.ndarray:
    """Scores of new rows as `oof_predict` makes test scores: the fold models' mean, summed in fold order.

    The same sum in the same order as `cross_fit`, so the run's own test
    records get back exactly their test scores.
    """
    total = None
    # A learner may prepare the rows once for all its fold models (TF-IDF learners tokenise the texts once).
    shared = getattr(models[0], "fold_inputs", None) if models else None
    inputs = shared(models, X) if shared else [X] * len(models)
    for model, rows in zip(models, inputs):
        part = model.predict_proba(rows)[:, 1]
        total = np.zeros(len(part), dtype=np.float64) if total is None else total
        total += part / len(models)
    return total


def chunked_fold_mean_scores(models: list, chunks: Iterable) -> np.ndarray:
    """`fold_mean_scores` of each chunk of rows, concatenated: the same bytes as all rows at once.

    A row's score is its own fold models' mean, so only one chunk's rows (texts,
    vectors, TF-IDF matrix) are held at a time.

    Examples
    --------
    >>> test = chunked_fold_mean_scores(models, (texts[i:i + 50_000] for i in range(0, len(texts), 50_000)))  # doctest: +SKIP
    """
    parts = [fold_mean_scores(models, chunk) for chunk in chunks]
    return np.concatenate(parts) if parts else np.zeros(0)


def text_chunks(frame, rows: int = SCORE_CHUNK_ROWS) -> Iterable[list[str]]:
    """The record texts (`texts`) of a corpus frame, `rows` records at a time."""
    return (texts(frame.iloc[start:start + rows]) for start in range(0, len(frame), rows))
