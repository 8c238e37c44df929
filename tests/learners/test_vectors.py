"""What the vector learners add to the common checks: class weights and early stopping."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from screenstack.learners import make_learner
from screenstack.learners.vectors import _early_stopping_split

BOOSTED = ["lightgbm", "xgboost"]


@pytest.mark.parametrize("positives", [2, 3, 10])
def test_early_stopping_split_puts_included_records_on_both_sides(positives):
    y = np.zeros(200, dtype=int)
    y[:positives] = 1
    fit, valid = _early_stopping_split(y, 0.15, min_positives=1, random_state=0)
    assert y[fit].sum() >= 1 and y[valid].sum() >= 1
    assert np.array_equal(np.sort(np.concatenate([fit, valid])), np.arange(200))
    assert abs(len(valid) - 30) <= 1
    again = _early_stopping_split(y, 0.15, min_positives=1, random_state=0)
    assert np.array_equal(fit, again[0]) and np.array_equal(valid, again[1])


def test_no_early_stopping_split_with_too_few_included_records():
    y = np.zeros(1000, dtype=int)
    y[:1] = 1
    assert _early_stopping_split(y, 0.15, min_positives=1, random_state=0) is None
    y[:100] = 1  # 15 would go to validation
    assert _early_stopping_split(y, 0.15, min_positives=20, random_state=0) is None
    y[:140] = 1  # 21 would go to validation
    assert _early_stopping_split(y, 0.15, min_positives=20, random_state=0)[1].size == 150


@pytest.mark.parametrize("name", BOOSTED)
def test_early_stopping_stops_before_the_round_limit_deterministically(name, toy, quick):
    X, y = toy(name, n=1000, positives=150)
    learner = quick(name, n_estimators=2000, learning_rate=0.3, min_stopping_positives=20)
    first, second = clone(learner).fit(X, y), clone(learner).fit(X, y)
    assert 1 <= first.n_rounds_ < 2000 and first.n_rounds_ == second.n_rounds_
    assert first.predict_proba(X).tobytes() == second.predict_proba(X).tobytes()


@pytest.mark.parametrize("positives", [1, 3, 30])
@pytest.mark.parametrize("name", BOOSTED)
def test_too_few_included_records_to_stop_early_fit_fixed_rounds(name, positives, toy, quick):
    X, y = toy(name, n=300, positives=positives)
    learner = quick(name, fixed_rounds=40).fit(X, y)
    assert learner.n_rounds_ == 40
    assert np.isfinite(learner.predict_proba(X)).all()


@pytest.mark.parametrize("name", BOOSTED)
def test_without_early_stopping_fixed_rounds_are_fitted(name, toy, quick):
    X, y = toy(name, n=1000, positives=150)
    assert quick(name, early_stopping_rounds=None, fixed_rounds=17).fit(X, y).n_rounds_ == 17


@pytest.mark.parametrize("name", ["logreg", *BOOSTED])
def test_balanced_weights_raise_included_scores(name, toy, quick):
    # With 5% included, an unweighted model scores them low; weighting the
    # classes equally lifts them, which recall-heavy screening relies on.
    X, y = toy(name, n=400, positives=20)
    balanced = quick(name).fit(X, y).predict_proba(X)[:, 1].mean()
    unweighted = quick(name, class_weight=None).fit(X, y).predict_proba(X)[:, 1].mean()
    assert balanced > unweighted


@pytest.mark.parametrize("name", ["logreg", *BOOSTED])
def test_bad_inputs_raise_value_errors(name, toy, quick):
    X, y = toy(name, n=60, positives=6)
    with pytest.raises(ValueError, match="both 0 and 1"):
        quick(name).fit(X, np.zeros(60, dtype=int))
    with pytest.raises(ValueError, match="one 0/1 label per row"):
        quick(name).fit(X, y[:50])
    if name != "logreg":
        with pytest.raises(ValueError, match="'balanced' or None"):
            quick(name, class_weight="even").fit(X, y)
        with pytest.raises(ValueError, match="stopping_metric='f1': use one of auc, logloss"):
            quick(name, stopping_metric="f1").fit(X, y)


@pytest.mark.parametrize("name", ["SIGINT", "SIGHUP"])
def test_ctrl_c_during_an_xgboost_fit_is_delivered_once_the_fit_returns(toy, quick, monkeypatch, caplog, name):
    # A KeyboardInterrupt raised inside XGBoost's C++ callbacks aborted `run` ("double free or corruption").
    # SIGHUP (a closed terminal), which `screenstack` takes as Ctrl-C since 0.3.46, is held as Ctrl-C is (helper-142).
    import os
    import signal

    import xgboost as xgb

    from screenstack.cli import _terminated

    number = getattr(signal, name)
    real_fit, finished = xgb.XGBClassifier.fit, []

    def interrupted_fit(self, *args, **kwargs):
        os.kill(os.getpid(), number)  # arrives while XGBoost works
        fitted = real_fit(self, *args, **kwargs)
        finished.append(True)
        return fitted

    monkeypatch.setattr(xgb.XGBClassifier, "fit", interrupted_fit)
    X, y = toy("xgboost", n=200, positives=30)
    # A shell starts a background job (`make test &`) with Ctrl-C ignored, and Python keeps that: give the test the
    # handler an interactive Python has (for SIGHUP, the one `screenstack.cli.main` installs).
    handler = signal.default_int_handler if name == "SIGINT" else _terminated
    started_with = signal.signal(number, handler)
    try:
        with pytest.raises(KeyboardInterrupt), caplog.at_level("WARNING", logger="screenstack"):
            quick("xgboost").fit(X, y)
        assert finished, "the interrupt came before XGBoost returned"
        assert caplog.messages == ["interrupted: stopping once XGBoost's current fit returns"]  # said at once, once
        assert signal.getsignal(number) is handler  # Ctrl-C works as before afterwards
        # Ignored before, as in that background job (or under nohup): it stays ignored, and nothing says the fit is
        # stopping (it said so, then fitted every learner and exited 0).
        signal.signal(number, signal.SIG_IGN)
        caplog.clear()
        quick("xgboost").fit(X, y)
        assert not caplog.messages and signal.getsignal(number) is signal.SIG_IGN
    finally:
        signal.signal(number, started_with)


def test_logreg_compares_each_blocks_direction_not_its_length(toy):
    # A row of `extract`'s vectors joins pooled blocks of different lengths (CLS, mean): each counts alike.
    X, y = toy("logreg", n=200, positives=40)
    half = X.shape[1] // 2
    louder = X.copy()
    louder[:, :half] *= 50.0  # one block's length changes; no block's direction does
    fitted = make_learner("logreg", blocks=[half, X.shape[1] - half]).fit(X, y)
    louder_fit = make_learner("logreg", blocks=[half, X.shape[1] - half]).fit(louder, y)
    np.testing.assert_allclose(louder_fit.predict_proba(louder), fitted.predict_proba(X), rtol=1e-6)
    whole_row = make_learner("logreg").fit(louder, y)  # as one block the loud half drowns the other
    assert not np.allclose(whole_row.predict_proba(louder), fitted.predict_proba(X), rtol=1e-3)


def test_logreg_refuses_blocks_that_do_not_cover_the_vectors(toy):
    X, y = toy("logreg")
    with pytest.raises(ValueError, match=r"blocks=\[3, 3\] cover 6 columns; the vectors have"):
        make_learner("logreg", blocks=[3, 3]).fit(X, y)


def test_a_logreg_model_of_0_3_16_standardised_columns_scores_as_it_did(toy):
    # `predict` on a run made before 0.3.17 loads its fold models: they scored standardised columns.
    from safetensors.numpy import save as save_arrays
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = toy("logreg", n=200, positives=40)
    old = make_pipeline(StandardScaler(), LogisticRegression(C=0.02, class_weight="balanced", max_iter=1000)).fit(X[:150], y[:150])
    scaler, model = old[0], old[-1]
    files = {"safetensors": save_arrays({"mean": scaler.mean_, "scale": scaler.scale_, "coef": model.coef_,
                                         "intercept": model.intercept_, "classes": model.classes_})}
    loaded = make_learner("logreg", C=0.02, class_weight="balanced", max_iter=1000, random_state=0).from_files(files)
    np.testing.assert_allclose(loaded.predict_proba(X[150:])[:, 1], old.predict_proba(X[150:])[:, 1], rtol=1e-6)
