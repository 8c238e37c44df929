"""Blenders: small estimators that turn a matrix of learners' scores into one score.

Every blender is fitted on OOF scores only (one column per learner) and maps
scores to [0, 1], higher = include. `nested_oof` gives a blender's own honest
OOF scores: for each fold, the blender is fitted on the other folds' rows.

`blend_state` / `load_blend` keep a fitted blender as plain JSON numbers
(``OUT/blend.json``: the ECDF's sorted OOF scores and weights, or the
logistic meta-learner's coefficients), which `screenstack predict` applies to
new records; JSON floats round-trip exactly, so the loaded blender gives the
same scores.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from ..features.errors import ScreenstackError
from .calibrate import logit
from .metrics import average_precision

BLENDERS: dict[str, type] = {}


def _register(cls: type) -> type:
    assert cls.name not in BLENDERS, f"blender {cls.name!r} registered twice"
    BLENDERS[cls.name] = cls
    return cls


def make_blender(name: str, **params):
    """A blender by name (`SingleLearner`'s too, which `stack` picks itself); an unknown name lists the valid ones."""
    if name == SingleLearner.name:
        return SingleLearner(**params)
    if name not in BLENDERS:
        raise ScreenstackError(f"unknown blend method {name!r}. Valid: auto, {', '.join(BLENDERS)}.")
    return BLENDERS[name](**params)


class _EcdfMixin:
    """Map each column to the share of OOF scores at or below it, so columns spread
    differently over [0, 1] (a boosted tree's near 0 and 1, a squashed SVM margin's
    about 0.5) become comparable, and test scores land on the same scale as the OOF
    scores they were fitted on."""

    def _fit_ecdf(self, Z):
        self.sorted_ = np.sort(Z, axis=0)

    def _ecdf(self, Z):
        return self._at_or_below(Z) / self.sorted_.shape[0]

    def _at_or_below(self, Z):
        """Per column, how many OOF scores are at or below each of Z's: whole numbers, which sum exactly."""
        return np.column_stack([np.searchsorted(self.sorted_[:, j], Z[:, j], side="right") for j in range(Z.shape[1])])

    def get_state(self) -> dict:
        check_is_fitted(self, "weights_")
        return {"sorted": self.sorted_.tolist(), "weights": self.weights_.tolist()}

    def set_state(self, state: dict):
        self.sorted_ = np.array(state["sorted"], dtype=float).reshape(-1, len(state["weights"]))
        self.weights_ = np.array(state["weights"], dtype=float)
        return self


@_register
class LogisticBlend(BaseEstimator):
    """Logistic regression on the logits of the learners' scores, class-balanced.

    `use`: one flag per column, the learners weighed (None: all). The others
    get weight 0, so the fitted model still reads every column.
    """

    name = "logistic"

    def __init__(self, C=1.0, use=None):
        self.C = C
        self.use = use

    def fit(self, Z, y):
        use = np.ones(Z.shape[1], dtype=bool) if self.use is None else np.asarray(self.use, dtype=bool)
        assert use.shape == (Z.shape[1],) and use.any(), "one flag per learner column, at least one set"
        self.model_ = LogisticRegression(C=self.C, class_weight="balanced", max_iter=1000).fit(logit(Z[:, use]), y)
        coef = np.zeros((1, Z.shape[1]))
        coef[0, use] = self.model_.coef_[0]
        self.model_.coef_, self.model_.n_features_in_ = coef, Z.shape[1]
        self.weights_ = self.model_.coef_[0]
        return self

    def get_state(self) -> dict:
        check_is_fitted(self, "model_")
        return {"coef": self.model_.coef_.tolist(), "intercept": self.model_.intercept_.tolist(), "classes": self.model_.classes_.tolist()}

    def set_state(self, state: dict):
        self.model_ = LogisticRegression(C=self.C, class_weight="balanced", max_iter=1000)
        self.model_.coef_, self.model_.intercept_ = np.array(state["coef"], dtype=float), np.array(state["intercept"], dtype=float)
        self.model_.classes_, self.model_.n_features_in_ = np.array(state["classes"]), self.model_.coef_.shape[1]
        self.weights_ = self.model_.coef_[0]
        return self

    def predict(self, Z):
        check_is_fitted(self, "model_")
        return self.model_.predict_proba(logit(Z))[:, 1]


@_register
class RankAverage(_EcdfMixin, BaseEstimator):
    """The mean of the learners' OOF-ECDF ranks, equal weights.

    `use`: one flag per column, the learners averaged (None: all). The others
    get weight 0 but keep their ECDF, so the fitted state covers every column.
    """

    name = "rank-average"

    def __init__(self, use=None):
        self.use = use

    def fit(self, Z, y):
        self._fit_ecdf(Z)
        use = np.ones(Z.shape[1], dtype=bool) if self.use is None else np.asarray(self.use, dtype=bool)
        assert use.shape == (Z.shape[1],) and use.any(), "one flag per learner column, at least one set"
        self.weights_ = use / use.sum()
        return self

    def predict(self, Z):
        check_is_fitted(self, "sorted_")
        # The counts summed as whole numbers and divided once: ranks that tie in sum tie in float too, so ranked.csv
        # keeps such records in the file's order, and a learner of weight 0 changes no score (`ecdf @ weights`, 1/3
        # each, differed in the last bit between records whose ranks summed alike, and with the zero columns).
        used = self.weights_ > 0
        return self._at_or_below(Z)[:, used].sum(axis=1) / (self.sorted_.shape[0] * used.sum())


@_register
class GreedySelection(_EcdfMixin, BaseEstimator):
    """Greedy ensemble selection with replacement (Caruana et al. 2004) on ECDF ranks.

    Each step adds the learner whose inclusion most improves the average
    precision of the running mean; the weights are how often each was picked.
    """

    name = "caruana"

    def __init__(self, n_steps=20):
        self.n_steps = n_steps

    def fit(self, Z, y):
        self._fit_ecdf(Z)
        R = self._ecdf(Z)
        counts = np.zeros(Z.shape[1])
        running = np.zeros(len(y))
        for step in range(self.n_steps):
            gains = [average_precision(y, (running * step + R[:, j]) / (step + 1)) for j in range(Z.shape[1])]
            best = int(np.argmax(gains))  # first best on ties: deterministic
            counts[best] += 1
            running = (running * step + R[:, best]) / (step + 1)
        self.weights_ = counts / counts.sum()
        return self

    def predict(self, Z):
        check_is_fitted(self, "weights_")
        # As the rank average: whole-number counts times whole-number picks (weights are picks / n_steps), divided once,
        # so records whose weighted ranks sum alike score alike to the last bit.
        picks = np.rint(self.weights_ * self.n_steps)
        return (self._at_or_below(Z) @ picks) / (self.sorted_.shape[0] * picks.sum())


class SingleLearner(BaseEstimator):
    """The one learner a stack weighs, its scores unchanged: what `stack` blends when one learner is weighed.

    Any blender fitted on one column maps it through a function of the
    fold's other records (a logistic fit, an ECDF), a different one in each
    fold of `nested_oof`, which reorders the pooled OOF records: on a helper's
    run `--learners tfidf-svm` alone scored an honest F7 of 0.830 through the
    logistic blend, where the warning that advised it quoted the learner's
    own 0.896. Not in `BLENDERS` (not a `--blend` choice, nor a candidate
    beside the others); `use` as the other blenders' (None: the first column).
    """

    name = "single"

    def __init__(self, use=None):
        self.use = use

    def fit(self, Z, y):
        use = np.eye(Z.shape[1], dtype=bool)[0] if self.use is None else np.asarray(self.use, dtype=bool)
        assert use.shape == (Z.shape[1],) and use.sum() == 1, "one flag per learner column, one set"
        self.weights_ = use.astype(float)
        return self

    def get_state(self) -> dict:
        check_is_fitted(self, "weights_")
        return {"weights": self.weights_.tolist()}

    def set_state(self, state: dict):
        self.weights_ = np.array(state["weights"], dtype=float)
        if self.weights_.ndim != 1 or np.sum(self.weights_ == 1) != 1 or np.sum(self.weights_ != 0) != 1:
            raise ValueError("a single learner's weights hold one 1 and zeros")
        return self

    def predict(self, Z):
        check_is_fitted(self, "weights_")
        return np.asarray(Z, dtype=float)[:, int(np.argmax(self.weights_))]


def blend_state(blender, learners: list[str]) -> dict:
    """A fitted blender as JSON-ready data: its name, parameters, the learner columns in order, its arrays."""
    return {"format": 1, "method": blender.name, "params": blender.get_params(), "learners": list(learners),
            "state": blender.get_state()}


def load_blend(state: dict):
    """The fitted blender `blend_state` described; a malformed state raises ValueError (the caller names the file)."""
    try:
        if state.get("format") != 1:
            raise ValueError(f"format {state.get('format')!r}, this screenstack reads 1")
        return make_blender(state["method"], **state["params"]).set_state(state["state"])
    except (KeyError, TypeError, AttributeError, ScreenstackError) as error:
        raise ValueError(f"not a blender state ({type(error).__name__}: {error})") from None


def nested_oof(blender, Z: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Honest OOF scores of a blender: fold k's rows are scored by a blender fitted on the other folds."""
    out = np.full(len(y), np.nan)
    for k in np.unique(folds):
        inside = folds == k
        out[inside] = clone(blender).fit(Z[~inside], y[~inside]).predict(Z[inside])
    assert not np.isnan(out).any()
    return out
