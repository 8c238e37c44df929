"""Choosing the decision threshold that maximises F-beta on OOF scores.

With beta = 7 and a handful of included records, the plain argmax of the OOF
F-beta curve sits just under one particular included record's score, and a
test set's weakest included records fall below it. The default rule instead
maximises the *expected* F-beta over bootstrap resamples of the OOF records,
which smooths the curve where it is decided by single records and leans
towards the side where missing an included record costs most, and flags at
least what F-beta's optimum flags where the recall below the weakest
labelled included record comes from a binormal ROC fitted to the OOF scores
(`fitted_tail_threshold`: the included records' tail, which resampling
cannot see, weighed against their own curve by their count). Where the
labels hold too few included records to vouch for recall at all, the recall
floor (`recall_floor`) lowers that threshold further.
"""
from __future__ import annotations

import functools
from typing import Literal

import numpy as np

from ..features.errors import ScreenstackError

Rule = Literal["bootstrap", "argmax"]
FIT_WEIGHT = 30.0  # the fitted ROC's recall counts as this many included records beside the labelled ones' (`fitted_tail_threshold`)
RULES = ("bootstrap", "argmax")


def _candidates(scores: np.ndarray) -> np.ndarray:
    """Thresholds between consecutive distinct scores, plus one below all (flag everything)."""
    distinct = np.unique(scores)
    middles = (distinct[1:] + distinct[:-1]) / 2
    below = distinct[0] - max(1e-6, 1e-6 * abs(distinct[0]))
    return np.concatenate([[below], middles, [distinct[-1]]])


def fbeta_curve(y: np.ndarray, scores: np.ndarray, thresholds: np.ndarray, beta: float, weights: np.ndarray | None = None,
                prior_positives: float = 0.0, positive_weight: float = 1.0) -> np.ndarray:
    """F-beta of flagging ``scores >= t`` for each t in `thresholds` (sorted ascending).

    `weights` may be a (B, n) matrix of per-record weights (bootstrap counts):
    then the result is one curve per row. `prior_positives` adds that many
    included records spread evenly over all records (see `choose_threshold`).
    `positive_weight` counts every included record (the prior's too) that many
    times: F-beta where included records are that much more common.
    """
    y = (np.asarray(y, dtype=float) + prior_positives / len(y)) * positive_weight
    weights = np.ones((1, len(y))) if weights is None else np.atleast_2d(weights)
    order = np.argsort(scores, kind="stable")
    cut = np.searchsorted(scores[order], thresholds, side="left")  # records below t
    ordered = weights[:, order].astype(float)  # one gather of the (B, n) weights, not two
    pos, cnt = np.zeros((2, len(weights), len(y) + 1))  # column 0: no record below t
    np.cumsum(ordered * y[order], axis=1, out=pos[:, 1:])
    np.cumsum(ordered, axis=1, out=cnt[:, 1:])
    tp = pos[:, -1:] - pos[:, cut]
    # Flagged records weigh 1, included ones `positive_weight` (with 1 this is the count of flagged records).
    flagged = (cnt[:, -1:] - cnt[:, cut]) + tp * (1 - 1 / positive_weight)
    b2 = beta**2
    curve = np.where(tp > 0, (1 + b2) * tp / np.maximum(b2 * pos[:, -1:] + flagged, 1e-12), 0.0)
    return curve[0] if len(curve) == 1 else curve


def separation(y: np.ndarray, scores: np.ndarray) -> float:
    """The fitted binormal ROC's separation d': the included records' mean position on the excluded records' scale.

    Each included record's score is placed among the excluded records' (the
    share of them scored below it, ties counted half, kept inside (0, 1)) and
    that share turned into a standard normal quantile; their mean is d'. With
    unit variance this is the equal-variance binormal model of signal
    detection: flagging the share f of the excluded records finds the share
    ``Phi(d' + Phi^-1(f))`` of the included ones.
    """
    from scipy.special import ndtri  # here, not above: `stack --help` reads RULES from this module

    y = np.asarray(y, dtype=int)
    excluded = np.sort(np.asarray(scores, dtype=float)[y == 0])
    included = np.asarray(scores, dtype=float)[y == 1]
    below = np.searchsorted(excluded, included, side="left")
    ties = np.searchsorted(excluded, included, side="right") - below
    return float(np.mean(ndtri((below + ties / 2 + 0.5) / (len(excluded) + 1))))


def binormal_curve(y: np.ndarray, scores: np.ndarray, thresholds: np.ndarray, beta: float, prior_positives: float = 0.0,
                   positive_weight: float = 1.0, fit_weight: float | None = None) -> np.ndarray:
    """F-beta of flagging ``scores >= t`` for each t in `thresholds` where the included records' recall is the
    fitted binormal ROC's (see `separation`) at the excluded records' share flagged; `prior_positives` and
    `positive_weight` as in `fbeta_curve`. With `fit_weight`, the recall is the labelled included records' own
    share above t and the fitted ROC's, weighed as their count to `fit_weight` (see `fitted_tail_threshold`)."""
    from scipy.special import ndtr, ndtri

    y = np.asarray(y, dtype=int)
    scores = np.asarray(scores, dtype=float)
    excluded = np.sort(scores[y == 0])
    n0, n1 = len(excluded), int(y.sum())
    false_share = (n0 - np.searchsorted(excluded, thresholds, side="left")) / n0
    recall = ndtr(separation(y, scores) + ndtri(false_share))  # ndtri(0) is -inf: no excluded record flagged, recall 0
    if fit_weight is not None:
        labelled = (n1 - np.searchsorted(np.sort(scores[y == 1]), thresholds, side="left")) / n1
        recall = (n1 * labelled + fit_weight * recall) / (n1 + fit_weight)
    flagged_share = (n0 * false_share + n1 * recall) / (n0 + n1)
    recall = (n1 * recall + prior_positives * flagged_share) / (n1 + prior_positives)  # the prior's records at chance
    positives = (n1 + prior_positives) * positive_weight
    found = positives * recall
    return (1 + beta**2) * found / np.maximum(beta**2 * positives + found + n0 * false_share, 1e-12)


def fitted_tail_threshold(y: np.ndarray, scores: np.ndarray, beta: float, prior_positives: float = 0.0,
                          positive_weight: float = 1.0) -> float:
    """The threshold on `scores` that maximises F-beta where the recall is the binormal ROC fitted to them and the
    labelled included records' own, weighed `FIT_WEIGHT` to their count (`binormal_curve`).

    The OOF curve says "recall 1" just below the weakest labelled included
    record, and bootstrap resamples of the same records cannot see further:
    with 10-20 included records the included records to screen that rank
    below all of them are what a threshold misses. The fitted curve goes on
    below them, at the slope the whole ranking implies: a weak ranking (d'
    about 1, ROC-AUC 0.75) of a review with 13% included records flags nearly
    everything, a strong one little more than the OOF optimum. Its unit
    variance overstates the tail of most blends (fitted freely, the included
    records' spread is 0.7-1.0 of the excluded records'), which is why it is a
    floor under F-beta's threshold, not a replacement. Over the protocol's 420
    halves it alone took the halves more than 0.05 below flagging every record
    from 11 to 0 (F7 -0.0026 +- 0.0019 over the 300); with the recall prior
    lowered from 0.5 to 0.35 beside it, F7 +0.0043 +- 0.0023 and 6 -> 2 halves
    below among the 300 (bench/README.md, "The fitted tail").

    The fit is for what the labelled included records cannot show; where they
    are many, their own curve has sampled the tail, and the fit's unit variance
    made the threshold flag far more than they ask (on a plentiful fold of
    `bannach_brown_2019`, 224 included training records, 58% of the test
    records against their own optimum's 33%: F7 0.907 against 0.939; weighed
    as below, 36% and 0.935). So the recall is a mixture: the labelled
    records' own share above t counted n times, the fitted ROC's `FIT_WEIGHT`
    (30) times, a prior worth
    30 included records: with 5 the fit is six sevenths of it, with 224 about
    an eighth. Over the protocol's 300 held-out halves and 30 plentiful folds
    (0.3.27; bench/README.md, "The fitted tail weighed against the labelled
    records' own curve"), against the fit alone: F7 +0.0029 +- 0.0008 (86
    wins, 30 losses; full +0.013, medium +0.007, plentiful folds +0.010, few
    included +0.001, small +0.000), the halves more than 0.05 below flagging
    everything unchanged (3); weighed as 5, 10 or 20 records it gained more
    on the full halves and put one or two more halves below.
    """
    y = np.asarray(y, dtype=int)
    scores = np.asarray(scores, dtype=float)
    thresholds = _candidates(scores)
    if y.sum() == 0 or y.sum() == len(y):
        return float(thresholds[0])
    curve = binormal_curve(y, scores, thresholds, beta, prior_positives, positive_weight, FIT_WEIGHT)
    return float(thresholds[int(np.argmax(curve))])


@functools.lru_cache(maxsize=8)
def bootstrap_counts(n: int, n_boot: int, random_state: int) -> np.ndarray:
    """How often each of `n` records is drawn in each of `n_boot` bootstrap resamples (read-only, the smallest integer
    type that holds them). The draws depend on `n` and the seed alone, and a stack asks for the same few sizes dozens
    of times (each learner's and blend's per-fold thresholds on the same fold plan): drawn once each, the stack of a
    competition-sized run takes about half the time (bench/README.md, "The bootstrap's draws made once")."""
    counts = np.random.default_rng(random_state).multinomial(n, np.full(n, 1 / n), size=n_boot)
    counts = counts.astype(np.min_scalar_type(counts.max()))
    counts.flags.writeable = False
    return counts


def choose_threshold(y: np.ndarray, scores: np.ndarray, beta: float = 7.0, rule: Rule = "bootstrap",
                     n_boot: int = 200, random_state: int = 0, prior_positives: float = 0.0, min_recall: float = 0.0,
                     positive_weight: float = 1.0, fitted_tail: bool = True) -> float:
    """The threshold on `scores` that maximises F-beta (plain or expected over bootstrap resamples; the bootstrap
    rule no higher than `fitted_tail_threshold` unless `fitted_tail` is False), lowered where needed to the recall
    floor (see `recall_floor`).

    ``prior_positives`` is a prior on recall: that many included records are
    assumed to exist that the OOF scores rank no better than chance, i.e.
    spread evenly over every record. With a handful of included records the
    OOF curve says "recall 1" just below the weakest of them, which the next
    included record often misses; the prior makes every unflagged record cost
    a share of recall, so the choice leans towards flagging more, down to
    flagging everything when the ranking is weak. With hundreds of included
    records its effect vanishes.

    ``positive_weight`` is for records to screen richer in included records
    than the labelled ones (see `stacking.calibrate.estimate_shift`): each
    included record counts that many times in F-beta, as it would among the
    records to screen, and the recall floor assumes that many times
    `prior_positives` at chance.

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
        curve = fbeta_curve(y, scores, thresholds, beta, prior_positives=prior_positives, positive_weight=positive_weight)
    else:
        weights = bootstrap_counts(len(y), n_boot, random_state)
        curve = fbeta_curve(y, scores, thresholds, beta, weights, prior_positives, positive_weight).mean(axis=0)
    best = thresholds[int(np.argmax(curve))]
    if rule == "bootstrap" and fitted_tail:
        best = min(best, fitted_tail_threshold(y, scores, beta, prior_positives, positive_weight))
    if min_recall > 0:
        best = min(best, recall_floor(y, scores, min_recall, prior_positives * positive_weight))
    return float(best)


def recall_floor(y: np.ndarray, scores: np.ndarray, min_recall: float, prior_positives: float) -> float:
    """The threshold that flags the share of records the labels cannot vouch for.

    The labelled included records count as found (F-beta's threshold takes
    care of them); `prior_positives` more are assumed to exist that the
    ranking places at chance, so flagging a share s of the records finds s of
    them. The floor flags the share s at which the estimated recall
    ``(n + prior_positives * s) / (n + prior_positives)`` reaches `min_recall`,
    n being the labelled included records: with 1 prior and a 95% target,
    80% of the records with 3 included records, 45% with 10, none from 19 on;
    with the default 0.35, 52% with 3, none from 7 on, unless the records to
    screen look richer in included records (`choose_threshold`'s
    `positive_weight` multiplies the prior: 0.35 x 4 flags 84% with 3, 24% with
    20).

    A review's first labelled records often hold far fewer included ones than
    what is left to screen, so F-beta's best threshold on them flags too
    little, and a missed included record costs beta^2 times an extra read.
    Over 107 few-included halves of the shared datasets this floor lifted F7
    from 0.60 to 0.73, above flagging everything (0.70), and left halves with
    20 or more included records as they were (bench/README.md, "protocol").

    >>> float(np.mean(np.arange(100) >= recall_floor(np.r_[np.zeros(97), np.ones(3)], np.arange(100.0), 0.95, 1.0)))
    0.8
    """
    n, m = int(np.sum(y)), prior_positives
    share = 0.0 if m <= 0 else min(1.0, max(0.0, 1 - (1 - min_recall) * (n + m) / m))
    scores = np.asarray(scores, dtype=float)
    thresholds = _candidates(scores)
    above = len(scores) - np.searchsorted(np.sort(scores), thresholds, side="left")
    # Candidates ascend and the first flags everything, so one always qualifies.
    return float(thresholds[np.flatnonzero(above >= share * len(scores) - 1e-9)[-1]])


def fold_decisions(y: np.ndarray, scores: np.ndarray, folds: np.ndarray, threshold_of) -> np.ndarray:
    """0/1 decisions on OOF `scores` where each fold's threshold is ``threshold_of(labels, scores)`` of the other folds'
    records: no record is judged by a threshold its label helped choose."""
    decisions = np.zeros(len(y), dtype=int)
    for k in np.unique(folds):
        inside = folds == k
        decisions[inside] = apply_threshold(scores[inside], threshold_of(y[~inside], scores[~inside]))
    return decisions


def apply_threshold(scores: np.ndarray, threshold: float) -> np.ndarray:
    """0/1 decisions: include where the score reaches the threshold."""
    return (np.asarray(scores, dtype=float) >= threshold).astype(int)

