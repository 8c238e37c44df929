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
                     n_boot: int = 200, random_state: int = 0, prior_positives: float = 0.0, min_recall: float = 0.0) -> float:
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
    if rule == "argmax":
        curve = fbeta_curve(y, scores, thresholds, beta, prior_positives=prior_positives)
    elif rule == "smoothed":
        curve = _smoothed_curve(y, scores, thresholds, beta)
    else:
        rng = np.random.default_rng(random_state)
        weights = rng.multinomial(len(y), np.full(len(y), 1 / len(y)), size=n_boot).astype(float)
        curve = fbeta_curve(y, scores, thresholds, beta, weights, prior_positives).mean(axis=0)
    best = thresholds[int(np.argmax(curve))]
    if min_recall > 0:
        best = min(best, recall_threshold(y, scores, min_recall, prior_positives))
    return float(best)


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


def decide(scores: np.ndarray, threshold: float, share: float = 0.0) -> np.ndarray:
    """0/1 decisions: the score reaches the threshold, or the record is among the top `share` of `scores`.

    Test scores are the mean of the fold models, whose spread is narrower than
    the single models' OOF scores the threshold was chosen on, so the same raw
    threshold flags fewer test records than OOF records. Flagging at least the
    OOF-flagged share (as a rank) keeps the decision on the scale it was chosen on.
    """
    scores = np.asarray(scores, dtype=float)
    flagged = scores >= threshold
    n_top = int(np.ceil(share * len(scores) - 1e-9))
    if n_top:
        order = np.argsort(-scores, kind="stable")
        flagged[order[:n_top]] = True
    return flagged.astype(int)
