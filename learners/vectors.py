"""Learners on cached vectors: the dense float32 matrices `screenstack extract` writes.

``logreg`` is a logistic regression on the vectors' pooled blocks, each scaled
to unit length; ``lightgbm`` and ``xgboost`` are gradient-boosted trees. All
weight the classes so that the few included records count as much as the many
excluded ones, and all are deterministic on CPU: same rows, labels and ``random_state`` give byte-identical scores.

The boosted learners stop early on a stratified validation split carved from
the rows `fit` receives. Under `oof_predict` those rows are the training folds
of the shared plan only, so the fold being scored takes no part in choosing the
number of rounds. The model keeps its best iteration rather than being refitted
on all rows: a refit would double the fitting time for a small gain.

Early stopping watches validation AUC, and only when the split holds at least
``min_stopping_positives`` included records; otherwise a fixed number of rounds
is fitted on all rows. On small reviews (a few dozen included records) the
stopping point chosen on a handful of validation positives is noise: folds stop
anywhere from 2 to 300 rounds, their scores land on different scales, and the
pooled OOF AUC drops (LightGBM on MiniLM vectors of cohen_ace_inhibitors, 41
included: 0.76 stopping early, 0.90 with 200 fixed rounds; 100 to 500 fixed
rounds all give 0.89-0.91). Even 33 validation positives are too few: on all
of bannach_brown_2019 (280 included), stopping early gave OOF AUC 0.876-0.917
(LightGBM) and 0.903-0.919 (XGBoost) over three seeds, 200 fixed rounds
0.927-0.934 and 0.927-0.930. So early stopping needs 100 validation positives,
which a competition-sized corpus (1,740 included of 27,000) gives and the
shared review datasets do not. Validation log-loss is not watched either: the
class weights make it rise while the ranking still improves.

A fitted learner is kept without pickle (`to_files` / `from_files`, see
`learners.persist`): ``logreg`` as the scaler's and model's arrays
(safetensors), ``lightgbm`` as booster text, ``xgboost`` as UBJSON. Loaded
models score new rows exactly as the fitted ones did.
"""
from __future__ import annotations

import logging
import signal
import threading
from contextlib import contextmanager

import lightgbm as lgb
import numpy as np
import xgboost as xgb
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_array, check_is_fitted

from .registry import register

log = logging.getLogger("screenstack")
_SAID_NO_EARLY_STOP: set[str] = set()  # learners that logged fitting without early stopping
_METRICS = {"auc": ("auc", "auc"), "logloss": ("binary_logloss", "logloss")}  # our name -> (LightGBM, XGBoost) name


@contextmanager
def interrupts_held():
    """Hold Ctrl-C (and the SIGTERM `screenstack` takes as it) until the block ends, then deliver it.

    XGBoost calls back into Python from C++ while it builds its training
    matrix (its DataIter), and a KeyboardInterrupt raised inside that callback
    corrupted its memory: an interrupted `run` aborted with "double free or
    corruption", a traceback and its lock left behind (a helper's timed
    interrupts: 1 in 25 runs; a bare fitting loop, 4 in 25). One fit takes
    seconds, so the wait is short. Outside the main thread signals cannot be
    handled, and nothing is held.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum, frame):
        if not caught:  # else Ctrl-C looks ignored for as long as the fit lasts
            log.warning("interrupted: stopping once XGBoost's current fit returns")
        caught.append(signum)

    # A signal ignored before stays ignored (a background job's SIGINT, as a shell starts it): held, it said
    # "stopping" and the fit went on to the end.
    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
              if signal.getsignal(number) is not signal.SIG_IGN}
    for number in before:
        signal.signal(number, hold)
    try:
        yield
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)
        if caught:
            signal.raise_signal(caught[0])  # to the handler before: KeyboardInterrupt, as if it came now


def _check_training(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = check_array(X, dtype=np.float32)
    y = np.asarray(y).astype(int)
    if y.shape != (len(X),):
        raise ValueError(f"y has shape {y.shape}; expected ({len(X)},), one 0/1 label per row of X.")
    if set(np.unique(y).tolist()) != {0, 1}:
        raise ValueError(f"training labels are {sorted(set(y.tolist()))}; a learner needs both 0 and 1.")
    return X, y


def _sample_weight(y: np.ndarray, class_weight: str | None) -> np.ndarray:
    """Weight n_excluded / n_included on included rows, 1 on the rest (LightGBM's ``scale_pos_weight``).

    Passed as sample weights rather than ``scale_pos_weight`` so that the
    validation score used for early stopping is weighted the same way.
    """
    if class_weight is None:
        return np.ones(len(y))
    if class_weight != "balanced":
        raise ValueError(f"class_weight={class_weight!r}: use 'balanced' or None.")
    positives = int(y.sum())
    return np.where(y == 1, (len(y) - positives) / positives, 1.0)


def _early_stopping_split(y: np.ndarray, fraction: float, min_positives: int, random_state: int):
    """Stratified (fit, valid) row indices, or None when validation would hold too few included records.

    Each class gives ``round(fraction * count)`` of its records to validation,
    clipped to at least one and at most all but one, so both sides always hold
    both classes; with fewer than ``min_positives`` included records (or fewer
    than 2 of a class) in validation there is no split.
    """
    rng = np.random.default_rng(random_state)
    fit, valid = [], []
    for label in (0, 1):
        rows = rng.permutation(np.flatnonzero(y == label))
        n_valid = min(max(1, round(fraction * len(rows))), len(rows) - 1)
        if n_valid < (max(1, min_positives) if label else 1):
            return None
        valid.append(rows[:n_valid])
        fit.append(rows[n_valid:])
    return np.sort(np.concatenate(fit)), np.sort(np.concatenate(valid))


class _VectorLearner(BaseEstimator, ClassifierMixin):
    """A learner reading a dense matrix; subclasses fit ``model_``, a fitted sklearn-API classifier."""

    input = "vectors"

    def predict_proba(self, X):
        check_is_fitted(self, "model_")
        # float64 like scikit-learn's estimators (XGBoost and float32 input give
        # float32), so fold averages and blends are not rounded to float32.
        return self.model_.predict_proba(check_array(X, dtype=np.float32)).astype(np.float64)


class _LoadedBooster:
    """A LightGBM booster read from its text, with the sklearn wrapper's binary `predict_proba`."""

    def __init__(self, booster: lgb.Booster):
        self.booster = booster

    def predict_proba(self, X):
        score = self.booster.predict(X)
        return np.column_stack([1.0 - score, score])


def unit_blocks(X, blocks) -> np.ndarray:
    """`X` (float64) with each block of columns (`blocks`: their widths; None or empty: the whole row) scaled to unit
    length in every row. Each row on its own (einsum, not BLAS), so chunked test scores stay byte-identical."""
    X = np.array(X, dtype=np.float64)
    widths = list(blocks or [X.shape[1]])
    if sum(widths) != X.shape[1]:
        raise ValueError(f"blocks={widths} cover {sum(widths)} columns; the vectors have {X.shape[1]}.")
    start = 0
    for width in widths:
        part = X[:, start:start + width]
        part /= np.maximum(np.sqrt(np.einsum("ij,ij->i", part, part)), 1e-12)[:, None]
        start += width
    return X


@register
class LogReg(_VectorLearner):
    """L2 logistic regression with balanced class weights on the vectors, each pooled block scaled to unit length.

    A sentence encoder's vectors carry their meaning in their direction, and
    a row of `extract`'s vectors joins several of them (the CLS token's and the
    mean of the tokens, of one layer or more), whose lengths differ. Scaled
    block by block, each counts alike and the regression compares directions.
    Standardising every column instead (the learner before 0.3.17, C = 0.02)
    gave each of the CLS block's hundreds of columns, most of them noise on
    MiniLM, the weight of a useful one. Over the protocol's 420 halves
    (bench/README.md, "The vector learner's scaling") the blocks scaled to unit
    length ranked the test halves better in every regime (learner ROC-AUC
    +0.026 with 3-20 included records, +0.012 on the full halves), and the
    default stack gained F7 +0.0043 +- 0.0015 on the halves whose labels are
    a random sample.

    Parameters
    ----------
    C : inverse regularisation strength (1: the rows' blocks are of unit length)
    blocks : widths of the consecutive blocks of a row scaled to unit length one by one; `fit-learners` sets them
        from the feature files (`learners.fit.block_widths`); None: the whole row is one block
    class_weight : ``"balanced"`` or None
    max_iter : L-BFGS iterations
    random_state : seed (L-BFGS is deterministic; kept for a uniform interface)
    """

    name = "logreg"

    def __init__(self, C=1.0, blocks=None, class_weight="balanced", max_iter=1000, random_state=0):
        self.C = C
        self.blocks = blocks
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y):
        X, y = _check_training(X, y)
        self.model_ = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter,
                                         random_state=self.random_state).fit(unit_blocks(X, self.blocks), y)
        self.standardise_ = None
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "model_")
        X = check_array(X, dtype=np.float32)
        if self.standardise_ is None:
            Z = unit_blocks(X, self.blocks)
        else:  # a model of 0.3.16 or before: standardised columns, in float32 as its StandardScaler did
            mean, scale = self.standardise_
            Z = X.copy()
            Z -= mean
            Z /= scale
            Z = Z.astype(np.float64)
        # einsum sums each row on its own, where BLAS's matrix-vector product blocks rows together and so
        # rounds a row's margin by which rows are scored with it: chunked test scores stay byte-identical.
        margin = np.einsum("ij,j->i", Z, self.model_.coef_[0].astype(np.float64)) + self.model_.intercept_[0]
        score = expit(margin)
        return np.column_stack([1.0 - score, score])

    def to_files(self) -> dict[str, bytes]:
        """The fitted model as arrays (safetensors), by file suffix."""
        check_is_fitted(self, "model_")
        return {"safetensors": save_arrays({"coef": self.model_.coef_, "intercept": self.model_.intercept_,
                                            "classes": self.model_.classes_})}

    def from_files(self, files: dict[str, bytes]):
        """This learner, fitted, from what `to_files` wrote (or, with the columns' mean and scale, 0.3.16's)."""
        arrays = load_arrays(files["safetensors"])
        model = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter, random_state=self.random_state)
        model.coef_, model.intercept_, model.classes_ = arrays["coef"], arrays["intercept"], arrays["classes"]
        model.n_features_in_ = arrays["coef"].shape[1]
        self.model_ = model
        # Runs of 0.3.16 and before standardised the columns: `predict` on such a run scores as it did.
        self.standardise_ = (arrays["mean"], arrays["scale"]) if "mean" in arrays else None
        self.classes_ = model.classes_
        return self


class _Boosted(_VectorLearner):
    """Shared fit for the boosted learners: class weights, then early stopping or fixed rounds.

    Subclasses implement ``_fit_booster(X, y, weight, valid, rounds)`` returning
    a fitted sklearn-API booster and the number of rounds it predicts with.
    """

    # The fewest included training records the default blend weighs their trees
    # from: with fewer they rank near chance (stacking.stack.blended_learners).
    min_included = 20

    def fit(self, X, y):
        X, y = _check_training(X, y)
        if self.stopping_metric not in _METRICS:
            raise ValueError(f"stopping_metric={self.stopping_metric!r}: use one of {', '.join(_METRICS)}.")
        weight = _sample_weight(y, self.class_weight)
        split = None
        if self.early_stopping_rounds:
            split = _early_stopping_split(y, self.validation_fraction, self.min_stopping_positives, self.random_state)
        if split is None:
            if self.early_stopping_rounds and self.name not in _SAID_NO_EARLY_STOP:
                # Once per learner per process, not once per fold model.
                _SAID_NO_EARLY_STOP.add(self.name)
                log.info("%s: the %d included records a fold model trains on are too few to stop early on "
                         "(its validation split needs %d); fitting %d rounds",
                         self.name, int(y.sum()), self.min_stopping_positives, self.fixed_rounds)
            self.model_, self.n_rounds_ = self._fit_booster(X, y, weight, None, self.fixed_rounds)
        else:
            fit, valid = split
            valid_set = (X[valid], y[valid], weight[valid])
            self.model_, self.n_rounds_ = self._fit_booster(X[fit], y[fit], weight[fit], valid_set, self.n_estimators)
        self.classes_ = np.array([0, 1])
        return self


@register
class LightGBM(_Boosted):
    """LightGBM on vectors, with class weights and early stopping (see the module docstring).

    Defaults suit 384-768 dense columns and 500-30,000 rows: shallow trees
    (``num_leaves=15``), a third of the columns per tree and 63 bins keep a
    fold of 21,600 x 768 near 8 CPU-seconds (bench/vector_learners.py).
    ``deterministic`` and ``force_col_wise`` make the scores byte-identical
    run to run.

    Parameters
    ----------
    n_estimators : most boosting rounds with early stopping
    learning_rate, num_leaves, min_child_samples, colsample_bytree, subsample,
    max_bin, reg_lambda : LightGBM's parameters of these names
    class_weight : ``"balanced"`` (weight n_excluded / n_included on included rows) or None
    early_stopping_rounds : stop after this many rounds without a better validation score; None: always ``fixed_rounds``
    stopping_metric : ``"auc"`` or ``"logloss"``, the validation score early stopping watches
    validation_fraction : share of each class held out for early stopping
    min_stopping_positives : fewest included records in the validation split to stop early on
    fixed_rounds : rounds fitted on all rows when there is no early stopping
    n_jobs : threads (-1: all cores)
    random_state : seed of the split, bagging and column sampling
    """

    name = "lightgbm"

    def __init__(self, n_estimators=1000, learning_rate=0.05, num_leaves=15, min_child_samples=20,
                 colsample_bytree=0.3, subsample=0.8, max_bin=63, reg_lambda=1.0, class_weight="balanced",
                 early_stopping_rounds=50, stopping_metric="auc", validation_fraction=0.15, min_stopping_positives=100,
                 fixed_rounds=200, n_jobs=-1, random_state=0):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.colsample_bytree = colsample_bytree
        self.subsample = subsample
        self.max_bin = max_bin
        self.reg_lambda = reg_lambda
        self.class_weight = class_weight
        self.early_stopping_rounds = early_stopping_rounds
        self.stopping_metric = stopping_metric
        self.validation_fraction = validation_fraction
        self.min_stopping_positives = min_stopping_positives
        self.fixed_rounds = fixed_rounds
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _fit_booster(self, X, y, weight, valid, rounds):
        model = lgb.LGBMClassifier(
            n_estimators=rounds, learning_rate=self.learning_rate, num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples, colsample_bytree=self.colsample_bytree,
            subsample=self.subsample, subsample_freq=1 if self.subsample < 1 else 0, max_bin=self.max_bin,
            reg_lambda=self.reg_lambda, n_jobs=self.n_jobs, random_state=self.random_state,
            metric=_METRICS[self.stopping_metric][0], deterministic=True, force_col_wise=True, verbose=-1,
        )
        if valid is None:
            return model.fit(X, y, sample_weight=weight), rounds
        X_valid, y_valid, w_valid = valid
        model.fit(X, y, sample_weight=weight, eval_X=(X_valid,), eval_y=(y_valid,), eval_sample_weight=[w_valid],
                  callbacks=[lgb.early_stopping(self.early_stopping_rounds, first_metric_only=True, verbose=False)])
        return model, int(model.best_iteration_ or rounds)

    def to_files(self) -> dict[str, bytes]:
        """The booster as LightGBM's model text (its best iteration, the one `predict_proba` uses)."""
        check_is_fitted(self, "model_")
        return {"lightgbm.txt": self.model_.booster_.model_to_string().encode()}

    def from_files(self, files: dict[str, bytes]):
        """This learner, fitted, from what `to_files` wrote."""
        booster = lgb.Booster(model_str=files["lightgbm.txt"].decode())
        self.model_, self.n_rounds_, self.classes_ = _LoadedBooster(booster), booster.num_trees(), np.array([0, 1])
        return self


@register
class XGBoost(_Boosted):
    """XGBoost (``hist``) on vectors, with class weights and early stopping (see the module docstring).

    Defaults mirror ``lightgbm``: depth-4 trees, a third of the columns per
    tree and 64 bins (a fold of 21,600 x 768 near 15 CPU-seconds). The
    ``hist`` method on CPU is deterministic for a fixed ``random_state``.

    Parameters
    ----------
    n_estimators : most boosting rounds with early stopping
    learning_rate, max_depth, min_child_weight, colsample_bytree, subsample,
    max_bin, reg_lambda : XGBoost's parameters of these names
    class_weight : ``"balanced"`` (weight n_excluded / n_included on included rows) or None
    early_stopping_rounds : stop after this many rounds without a better validation score; None: always ``fixed_rounds``
    stopping_metric : ``"auc"`` or ``"logloss"``, the validation score early stopping watches
    validation_fraction : share of each class held out for early stopping
    min_stopping_positives : fewest included records in the validation split to stop early on
    fixed_rounds : rounds fitted on all rows when there is no early stopping
    n_jobs : threads (-1: all cores)
    random_state : seed of the split, row and column sampling
    """

    name = "xgboost"

    def __init__(self, n_estimators=1000, learning_rate=0.05, max_depth=4, min_child_weight=1.0,
                 colsample_bytree=0.3, subsample=0.8, max_bin=64, reg_lambda=1.0, class_weight="balanced",
                 early_stopping_rounds=50, stopping_metric="auc", validation_fraction=0.15, min_stopping_positives=100,
                 fixed_rounds=200, n_jobs=-1, random_state=0):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.colsample_bytree = colsample_bytree
        self.subsample = subsample
        self.max_bin = max_bin
        self.reg_lambda = reg_lambda
        self.class_weight = class_weight
        self.early_stopping_rounds = early_stopping_rounds
        self.stopping_metric = stopping_metric
        self.validation_fraction = validation_fraction
        self.min_stopping_positives = min_stopping_positives
        self.fixed_rounds = fixed_rounds
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _fit_booster(self, X, y, weight, valid, rounds):
        model = xgb.XGBClassifier(
            n_estimators=rounds, learning_rate=self.learning_rate, max_depth=self.max_depth,
            min_child_weight=self.min_child_weight, colsample_bytree=self.colsample_bytree,
            subsample=self.subsample, max_bin=self.max_bin, reg_lambda=self.reg_lambda, tree_method="hist",
            n_jobs=self.n_jobs, random_state=self.random_state, eval_metric=_METRICS[self.stopping_metric][1],
            early_stopping_rounds=self.early_stopping_rounds if valid is not None else None,
        )
        with interrupts_held():
            if valid is None:
                return model.fit(X, y, sample_weight=weight, verbose=False), rounds
            X_valid, y_valid, w_valid = valid
            model.fit(X, y, sample_weight=weight, eval_set=[(X_valid, y_valid)], sample_weight_eval_set=[w_valid], verbose=False)
        return model, int(model.best_iteration) + 1

    def to_files(self) -> dict[str, bytes]:
        """The booster as XGBoost's UBJSON (with its best iteration, which `predict_proba` stops at)."""
        check_is_fitted(self, "model_")
        return {"xgboost.ubj": bytes(self.model_.get_booster().save_raw("ubj"))}

    def from_files(self, files: dict[str, bytes]):
        """This learner, fitted, from what `to_files` wrote."""
        model = xgb.XGBClassifier()
        model.load_model(bytearray(files["xgboost.ubj"]))
        self.model_, self.classes_ = model, np.array([0, 1])
        self.n_rounds_ = int(model.best_iteration) + 1 if hasattr(model, "best_iteration") else model.get_booster().num_boosted_rounds()
        return self
