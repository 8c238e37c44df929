"""Choosing the decision threshold that maximises F-beta on OOF scores.

With beta = 7 and a handful of included records, the plain argmax of the OOF
F-beta curve sits just under one particular included record's score, and a
test set's weakest included records fall below it. The default rule instead
maximises the *expected* F-beta over bootstrap resamples of the OOF records,
which smooths the curve where it is decided by single records and leans
towards the side where missing an included record costs most.
"""
from __future__ import annotations

from typing import Literal

import numpy as np

from ..features.errors import ScreenstackError

Rule = Literal["bootstrap", "argmax", "smoothed"]
RULES = ("bootstrap", "argmax", "smoothed")


def _candidates(scores: np.ndarray) -> np.ndarray:
    """Thresholds between consecutive distinct scores, plus one below all (flag everything)."""
    distinct = np.unique(scores)
    middles = (distinct[1:] + distinct[:-1]) / 2
    below = distinct[0] - max(1e-6, 1e-6 * abs(distinct[0]))
    return np.concatenate([[below], middles, [distinct[-1]]])


def fbeta_curve(y: np.ndarray, scores: np.ndarray, thresholds: np.ndarray, beta: float, weights: np.ndarray | None = None,
                prior_positives: float = 0.0) -> np.ndarray:
    """F-beta of flagging ``scores >= t`` for each t in `thresholds` (sorted ascending).

    `weights` may be a (B, n) matrix of per-record weights (bootstrap counts):
    then the result is one curve per row. `prior_positives` adds that many
    included records spread evenly over all records (see `choose_threshold`).
    """
    y = np.asarray(y, dtype=float) + prior_positives / len(y)
    weights = np.ones((1, len(y))) if weights is None else np.atleast_2d(weights)
    order = np.argsort(scores, kind="stable")
    cut = np.searchsorted(scores[order], thresholds, side="left")  # records below t
    zero = np.zeros((len(weights), 1))
    pos = np.hstack([zero, np.cumsum(weights[:, order] * y[order], axis=1)])
    cnt = np.hstack([zero, np.cumsum(weights[:, order], axis=1)])
    tp = pos[:, -1:] - pos[:, cut]
    flagged = cnt[:, -1:] - cnt[:, cut]
    b2 = beta**2
    curve = np.where(tp > 0, (1 + b2) * tp / np.maximum(b2 * pos[:, -1:] + flagged, 1e-12), 0.0)
    return curve[0] if len(curve) == 1 else curve


def choose_threshold(y: np.ndarray, scores: np.ndarray, beta: float = 7.0, rule: Rule = "bootstrap",
                     n_boot: int = 200, random_state: int = 0, prior_positives: float = 0.0, min_recall: float = 0.0,
                     positive_weight: float = 1.0) -> float:
    """The threshold on `scores` that maximises F-beta (plain or expected over bootstrap resamples),
    lowered where needed to reach an estimated recall of `min_recall` (see `recall_threshold`).

    ``prior_positives`` is a prior on recall: that many included records are
    assumed to exist that the OOF scores rank no better than chance, i.e.
    spread evenly over every record. With a handful of included records the
    OOF curve says "recall 1" just below the weakest of them, which the next
    included record often misses; the prior makes every unflagged record cost
    a share of recall, so the choice leans towards flagging more, down to
    flagging everything when the ranking is weak. With hundreds of included
    records its effect vanishes.

    Examples
    --------
    >>> round(choose_threshold(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]), beta=1, rule="argmax"), 3)
    0.225
    """
    if rule not in RULES:
        raise ScreenstackError(f"unknown threshold rule {rule!r}. Valid: {', '.join(RULES)}.")
    y = np.asarray(y, dtype=int)
    scores = np.asarray(scores, dtype=float)
    thresholds = _candidates(scores)
    # Each included record counts `positive_weight` times: F-beta as if included records were that much
    # more common among the records screened than among those labelled (see `prevalence_weight`).
    base = np.where(y == 1, positive_weight, 1.0)
    if rule == "argmax":
        curve = fbeta_curve(y, scores, thresholds, beta, base, prior_positives)
    elif rule == "smoothed":
        curve = _smoothed_curve(y, scores, thresholds, beta)
    else:
        rng = np.random.default_rng(random_state)
        weights = rng.multinomial(len(y), np.full(len(y), 1 / len(y)), size=n_boot).astype(float)
        curve = fbeta_curve(y, scores, thresholds, beta, weights * base, prior_positives).mean(axis=0)
    best = thresholds[int(np.argmax(curve))]
    if min_recall > 0:
        best = min(best, recall_threshold(y, scores, min_recall, prior_positives))
    elif min_recall < 0:  # experimental: the prior-only floor
        best = min(best, prior_floor_threshold(y, scores, -min_recall, prior_positives))
    return float(best)


def prior_floor_threshold(y: np.ndarray, scores: np.ndarray, target: float, prior_positives: float) -> float:
    """The threshold flagging the share s of records with (n + m s) / (n + m) = target: the labelled included
    records count as found, and the prior ones (found in proportion to the records flagged) must make up the rest."""
    n, m = int(np.sum(y)), prior_positives
    share = 0.0 if m <= 0 else min(1.0, max(0.0, 1 - (1 - target) * (n + m) / m))
    thresholds = _candidates(np.asarray(scores, dtype=float))
    above = len(scores) - np.searchsorted(np.sort(scores), thresholds, side="left")
    return float(thresholds[np.flatnonzero(above >= share * len(scores) - 1e-9)[-1]])


def recall_threshold(y: np.ndarray, scores: np.ndarray, target: float, prior_positives: float = 0.0) -> float:
    """The highest threshold whose estimated recall reaches `target`.

    Estimated recall at t: the included records scoring at least t, plus
    `prior_positives` spread evenly over all records (an included record the
    ranking has not seen), over the included records plus the prior. With
    hundreds of included records this is the OOF recall; with a handful it
    asks to flag a large share, down to everything. F-beta's optimum depends
    on the share of included records, which differs between the records a
    model learns from and those it screens (a review's first labelled batch
    may hold far fewer), whereas a recall target does not.

    >>> recall_threshold(np.array([0, 1, 0, 1]), np.array([0.1, 0.2, 0.3, 0.9]), 1.0) <= 0.2
    True
    """
    y = np.asarray(y, dtype=int)
    scores = np.asarray(scores, dtype=float)
    thresholds = _candidates(scores)
    above = len(scores) - np.searchsorted(np.sort(scores), thresholds, side="left")
    positives = np.sort(scores[y == 1])
    positives_above = len(positives) - np.searchsorted(positives, thresholds, side="left")
    recall = (positives_above + prior_positives * above / len(scores)) / (len(positives) + prior_positives)
    # Candidates ascend and the first flags everything (recall 1), so one always qualifies.
    return float(thresholds[np.flatnonzero(recall >= target - 1e-12)[-1]])


def prevalence_weight(y: np.ndarray, oof: np.ndarray, test: np.ndarray, n_iter: int = 200) -> float:
    """How much more common included records look among the test records than among the labelled ones, as an odds ratio >= 1.

    The OOF scores are calibrated to the labelled records by Platt scaling;
    the share of included test records is then estimated by EM on the test
    scores (Saerens, Latinne & Decaestecker 2002, "Adjusting the outputs of a
    classifier to new a priori probabilities"), and the same EM on the OOF
    scores corrects for the calibration's own bias. A first labelled batch of
    a review often holds far fewer included records than what is left to
    screen; F-beta's best threshold then flags too little. Only an increase is
    used: fewer included test records than expected costs little at beta 7.
    """
    from sklearn.linear_model import LogisticRegression

    def logit(v):
        v = np.clip(np.asarray(v, dtype=float), 1e-9, 1 - 1e-9)
        return np.log(v / (1 - v)).reshape(-1, 1)

    y = np.asarray(y, dtype=int)
    if len(test) == 0 or y.sum() == 0 or y.sum() == len(y):
        return 1.0
    prior = y.mean()
    platt = LogisticRegression(C=1.0).fit(logit(oof), y)

    def em(scores):
        posterior = platt.predict_proba(logit(scores))[:, 1]
        share = prior
        for _ in range(n_iter):
            ratio = (share / (1 - share)) / (prior / (1 - prior))
            adjusted = ratio * posterior / (ratio * posterior + 1 - posterior)
            new = float(np.clip(adjusted.mean(), 1e-6, 1 - 1e-6))
            if abs(new - share) < 1e-9:
                break
            share = new
        return share

    odds = lambda share: share / (1 - share)  # noqa: E731
    return max(1.0, odds(em(test)) / odds(em(oof)))


def _smoothed_curve(y, scores, thresholds, beta):
    """Expected F-beta with each included record's rank spread by a Gaussian kernel.

    Scores become ranks in [0, 1] so the bandwidth (Silverman's rule over the
    included records' ranks) does not depend on a learner's scale. The kernel
    gives the weakest included records' neighbourhood a share of recall, so the
    threshold is not set just above the next unseen one.
    """
    from scipy.stats import norm

    order = np.sort(scores)
    n = len(scores)
    rank = lambda v: np.searchsorted(order, v, side="left") / n  # noqa: E731
    pos_rank = rank(scores[y == 1])
    bandwidth = max(1.06 * pos_rank.std() * len(pos_rank) ** -0.2, 1 / n)
    t_rank = rank(thresholds)
    tp = norm.sf((t_rank[:, None] - pos_rank[None, :]) / bandwidth).sum(axis=1)
    tp[0] = len(pos_rank)  # below every score: everything is flagged
    negatives = (y == 0).sum() - np.searchsorted(np.sort(scores[y == 0]), thresholds, side="left")
    b2 = beta**2
    return (1 + b2) * tp / (b2 * len(pos_rank) + tp + negatives)


def apply_threshold(scores: np.ndarray, threshold: float) -> np.ndarray:
    """0/1 decisions: include where the score reaches the threshold."""
    return (np.asarray(scores, dtype=float) >= threshold).astype(int)

