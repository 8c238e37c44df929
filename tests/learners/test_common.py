"""Checks every registered learner must pass, text and vector ones alike (scikit-learn's common checks)."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from screenstack.features.errors import ScreenstackError
from screenstack.learners import LEARNERS, make_learner

NAMES = sorted(LEARNERS)


def test_registry_holds_text_and_vector_learners():
    assert {"tfidf-svm", "tfidf-logreg", "logreg", "lightgbm", "xgboost"} <= set(NAMES)
    assert {LEARNERS[name].input for name in NAMES} == {"text", "vectors"}


def test_unknown_learner_and_parameter_list_the_valid_ones():
    with pytest.raises(ScreenstackError, match="Available: .*lightgbm"):
        make_learner("lightgbn")
    with pytest.raises(ScreenstackError, match="Valid: .*n_estimators"):
        make_learner("xgboost", n_estimator=10)


@pytest.mark.parametrize("name", NAMES)
def test_params_round_trip_through_clone(name):
    learner = make_learner(name, random_state=7)
    params = learner.get_params()
    assert learner.name == name and params["random_state"] == 7
    assert clone(learner).get_params() == params
    assert type(learner)(**params).get_params() == params
    assert make_learner(name).set_params(**params).get_params() == params


@pytest.mark.parametrize("name", NAMES)
def test_predict_before_fit_raises_not_fitted(name, toy):
    X, _ = toy(name, n=20, positives=5)
    with pytest.raises(NotFittedError):
        make_learner(name).predict_proba(X)


@pytest.mark.parametrize("name", NAMES)
def test_scores_are_probabilities_and_separate_a_toy_problem(name, toy, quick):
    X, y = toy(name, n=300, positives=30, seed=0)
    X_new, y_new = toy(name, n=200, positives=20, seed=1)
    learner = quick(name)
    assert learner.fit(X, y) is learner
    proba = learner.predict_proba(X_new)
    assert proba.shape == (200, 2) and proba.dtype == np.float64
    assert np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(learner.classes_) == [0, 1]
    assert roc_auc_score(y_new, proba[:, 1]) > 0.9


@pytest.mark.parametrize("name", NAMES)
def test_two_fits_give_identical_scores(name, toy):
    X, y = toy(name, n=300, positives=30)
    X_new, _ = toy(name, n=100, positives=10, seed=1)
    # All cores, as in production: threads must not change the scores.
    learner = make_learner(name)
    if "fixed_rounds" in learner.get_params():
        learner.set_params(fixed_rounds=10)
    first = clone(learner).fit(X, y).predict_proba(X_new)
    second = clone(learner).fit(X, y).predict_proba(X_new)
    assert first.tobytes() == second.tobytes()


@pytest.mark.parametrize("positives", [2, 3])
@pytest.mark.parametrize("name", NAMES)
def test_fits_with_only_a_few_included_records(name, positives, toy, quick):
    # The training folds of a tiny review can hold 2 or 3 included records;
    # every learner (and the boosted ones' early-stopping split) must cope.
    X, y = toy(name, n=120, positives=positives)
    X_new, _ = toy(name, n=40, positives=4, seed=1)
    proba = quick(name).fit(X, y).predict_proba(X_new)
    assert proba.shape == (40, 2) and np.isfinite(proba).all()
    assert (proba >= 0).all() and (proba <= 1).all()
