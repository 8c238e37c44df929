"""`oof_predict`: every row scored once, by a model that never saw its label; test scores average the fold models."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from screenstack.features.artifacts.folds import FoldPlan
from screenstack.learners import LEARNERS, make_learner, oof_predict


def _plan(y: np.ndarray, n_folds: int = 4, seed: int = 0) -> FoldPlan:
    folds = np.empty(len(y), dtype=np.int64)
    splitter = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    for k, (_, valid) in enumerate(splitter.split(np.zeros(len(y)), y)):
        folds[valid] = k
    return FoldPlan(np.array([f"r{i}" for i in range(len(y))], dtype=object), y, folds, {"n_folds": n_folds})


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_changing_a_folds_labels_leaves_its_oof_scores_unchanged(name, toy, quick):
    X, y = toy(name, n=160, positives=24)
    plan = _plan(y)
    learner = quick(name)
    oof, _ = oof_predict(learner, X, y, plan, progress=False)
    assert not np.isnan(oof).any() and ((oof >= 0) & (oof <= 1)).all()
    k = 2
    relabelled = y.copy()
    relabelled[plan.folds == k] = 1 - relabelled[plan.folds == k]
    again, _ = oof_predict(learner, X, relabelled, plan, progress=False)
    in_k = plan.folds == k
    # Fold k is scored by the model fitted on the other folds, whose labels did
    # not change; every other fold's model trained on the flipped labels.
    assert np.array_equal(oof[in_k], again[in_k])
    assert not np.array_equal(oof[~in_k], again[~in_k])


def test_test_scores_are_the_mean_of_the_fold_models(toy):
    X, y = toy("logreg", n=160, positives=24)
    X_test, _ = toy("logreg", n=50, positives=5, seed=1)
    plan = _plan(y, n_folds=5)
    learner = make_learner("logreg")
    oof, test = oof_predict(learner, X, y, plan, X_test, progress=False)
    fold_models = [clone(learner).fit(X[train], y[train]) for _, train, _ in plan.splits()]
    expected = np.mean([model.predict_proba(X_test)[:, 1].astype(np.float64) for model in fold_models], axis=0)
    np.testing.assert_allclose(test, expected, rtol=1e-12)
    for model, (_, _, valid) in zip(fold_models, plan.splits()):
        np.testing.assert_array_equal(oof[valid], model.predict_proba(X[valid])[:, 1])


def test_text_rows_are_taken_by_index(toy):
    X, y = toy("tfidf-logreg", n=120, positives=20)
    oof, test = oof_predict(make_learner("tfidf-logreg"), X, y, _plan(y), X[:7], progress=False)
    assert oof.shape == (120,) and test.shape == (7,) and not np.isnan(oof).any()


def test_no_test_rows_give_an_empty_test_array(toy):
    X, y = toy("logreg", n=80, positives=12)
    _, test = oof_predict(make_learner("logreg"), X, y, _plan(y), None, progress=False)
    assert test.shape == (0,)


def test_a_plan_that_leaves_rows_unvalidated_is_refused(toy):
    X, y = toy("logreg", n=80, positives=12)
    plan = _plan(y)
    holes = FoldPlan(plan.ids, plan.labels, np.where(np.arange(80) == 5, 9, plan.folds), plan.meta)
    with pytest.raises(AssertionError, match="cover every training row"):
        oof_predict(make_learner("logreg"), X, y, holes, progress=False)


def test_oof_predict_is_the_shared_fold_loop(monkeypatch, toy):
    # The fine-tuner goes through the same `cross_fit` (tests/extract/test_finetune.py).
    from screenstack.features.artifacts import crossfit
    from screenstack.learners import oof

    calls = []
    monkeypatch.setattr(oof, "cross_fit", lambda plan, *a, **kw: calls.append(plan) or crossfit.cross_fit(plan, *a, **kw))
    X, y = toy("logreg", n=80, positives=12)
    plan = _plan(y)
    oof_predict(make_learner("logreg"), X, y, plan, progress=False)
    assert calls == [plan]


def test_logistic_scores_are_the_same_bytes_whatever_the_blas_thread_count():
    # helper-145: OpenBLAS splits a product's sums by its threads, so OMP_NUM_THREADS=1 and 2 wrote other bytes.
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    y = (rng.random(600) < 0.1).astype(int)
    X = (rng.normal(size=(600, 1024)) + 0.05 * y[:, None]).astype(np.float32)
    runs = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            oof, test, models = oof_predict(make_learner("logreg"), X, y, _plan(y), X[:50], progress=False, return_models=True)
        runs.append((oof.tobytes(), test.tobytes(), [m.model_.coef_.tobytes() for m in models]))
    assert runs[0] == runs[1]
