"""Fold models kept without pickle: every learner's files load back into a model that scores exactly as the fitted one."""
from __future__ import annotations

import numpy as np
import pytest

from screenstack.features.artifacts.folds import FoldPlan
from screenstack.features.artifacts.damage import DamagedArtifact
from screenstack.features.errors import ScreenstackError
from screenstack.learners import LEARNERS, make_learner, oof_predict
from screenstack.learners.oof import chunked_fold_mean_scores, fold_mean_scores
from screenstack.learners.persist import load_fold_models, model_files


def _split(X, y, n_fit: int):
    take = (lambda rows: [X[i] for i in rows]) if isinstance(X, list) else (lambda rows: X[rows])
    return take(np.arange(n_fit)), y[:n_fit], take(np.arange(n_fit, len(y)))


def _reloaded(learner):
    return make_learner(learner.name, **learner.get_params()).from_files(learner.to_files())


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_a_reloaded_model_scores_held_out_rows_exactly_as_the_fitted_one(name, toy, quick):
    X, y = toy(name, n=240, positives=40)
    X_fit, y_fit, X_new = _split(X, y, 180)
    fitted = quick(name).fit(X_fit, y_fit)
    loaded = _reloaded(fitted)
    np.testing.assert_array_equal(loaded.predict_proba(X_new), fitted.predict_proba(X_new))


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_saved_files_are_data_and_identical_for_identical_fits(name, toy, quick):
    X, y = toy(name)
    first, second = quick(name).fit(X, y).to_files(), quick(name).fit(X, y).to_files()
    assert first == second  # byte-identical, so a rerun's manifest is unchanged
    assert not any(data.startswith(b"\x80") for data in first.values())  # no pickle protocol header


@pytest.mark.parametrize("name", ["lightgbm", "xgboost"])
def test_an_early_stopped_booster_reloads_at_its_best_iteration(name, toy, quick):
    X, y = toy(name, n=400, positives=120, seed=3)
    X_fit, y_fit, X_new = _split(X, y, 300)
    fitted = quick(name, min_stopping_positives=5, early_stopping_rounds=3, n_estimators=300).fit(X_fit, y_fit)
    assert fitted.n_rounds_ < 300  # it did stop early
    loaded = _reloaded(fitted)
    assert loaded.n_rounds_ == fitted.n_rounds_
    np.testing.assert_array_equal(loaded.predict_proba(X_new), fitted.predict_proba(X_new))


@pytest.mark.parametrize("name", ["tfidf-svm", "tfidf-logreg"])
def test_the_rebuilt_tfidf_gives_the_same_matrix(name, toy):
    X, y = toy(name)
    fitted = make_learner(name).fit(X[:150], y[:150])
    loaded = _reloaded(fitted)
    new = X[150:] + ["olanzapine placebo words never seen before", ""]
    a, b = fitted.vectorizer_.transform(new), loaded.vectorizer_.transform(new)
    assert a.shape == b.shape and a.dtype == b.dtype and (a != b).nnz == 0


def _plan(y: np.ndarray, k: int = 3) -> FoldPlan:
    folds = np.zeros(len(y), dtype=int)
    for label in (0, 1):
        rows = np.flatnonzero(y == label)
        folds[rows] = np.arange(len(rows)) % k
    return FoldPlan(ids=np.array([f"r{i}" for i in range(len(y))]), labels=y, folds=folds, meta={"n_folds": k})


@pytest.mark.parametrize("name", ["tfidf-svm", "lightgbm", "logreg"])
def test_kept_fold_models_give_back_the_test_scores_of_oof_predict(name, toy, quick, tmp_path):
    X, y = toy(name, n=200, positives=30)
    X_train, y_train, X_test = _split(X, y, 150)
    oof, test, models = oof_predict(quick(name), X_train, y_train, _plan(y_train), X_test, progress=False, return_models=True)
    assert len(models) == 3
    for path, data in model_files(name, quick(name).get_params(), models, ("title", "abstract")).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    loaded = load_fold_models(tmp_path, "refit")
    np.testing.assert_array_equal(fold_mean_scores(loaded, X_test), test)
    # `screenstack predict` streams new records in chunks: the same bytes.
    chunked = chunked_fold_mean_scores(loaded, (X_test[start:start + 7] for start in range(0, len(X_test), 7)))
    assert chunked.tobytes() == test.tobytes()
    # Without return_models, the scores are the same: keeping the models changes nothing else.
    oof_again, test_again = oof_predict(quick(name), X_train, y_train, _plan(y_train), X_test, progress=False)
    np.testing.assert_array_equal(oof_again, oof)
    np.testing.assert_array_equal(test_again, test)


def test_a_missing_or_damaged_model_file_is_refused_by_name(toy, tmp_path):
    X, y = toy("logreg")
    with pytest.raises(ScreenstackError, match="no fold models.*delete it and refit"):
        load_fold_models(tmp_path, "Fix: delete it and refit.")
    models = [make_learner("logreg").fit(X, y)]
    for path, data in model_files("logreg", models[0].get_params(), models).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    (tmp_path / "models" / "fold0.safetensors").write_bytes(b"not arrays")
    with pytest.raises(DamagedArtifact, match=r"fold0\..*does not load.*Fix: refit"):
        load_fold_models(tmp_path, "Fix: refit.")
    (tmp_path / "models" / "models.json").write_text("{")
    with pytest.raises(DamagedArtifact, match=r"models\.json.*not readable"):
        load_fold_models(tmp_path, "Fix: refit.")
