"""Screening metrics: F-beta at a threshold, ranking quality, work saved, and intervals for the honest figures."""
from __future__ import annotations

import numpy as np
from scipy.stats import beta as beta_distribution
from sklearn.metrics import roc_auc_score


def fbeta(y: np.ndarray, flagged: np.ndarray, beta: float) -> float:
    """F-beta of 0/1 decisions; 0 when nothing relevant is flagged."""
    y, flagged = np.asarray(y, dtype=bool), np.asarray(flagged, dtype=bool)
    tp = float(np.sum(y & flagged))
    if tp == 0:
        return 0.0
    precision, recall = tp / flagged.sum(), tp / y.sum()
    return (1 + beta**2) * precision * recall / (beta**2 * precision + recall)


def average_precision(y: np.ndarray, scores: np.ndarray) -> float:
    """Average precision, as `sklearn.metrics.average_precision_score` computes it (tied scores form one step).

    Written out because greedy blend selection calls it hundreds of times per
    fit, where scikit-learn's input validation costs more than the sum itself.
    """
    y = np.asarray(y, dtype=float)
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    tp = np.cumsum(y[order])[last_of_tie]
    if tp[-1] == 0:
        return 0.0
    precision = tp / (last_of_tie + 1)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def wss(y: np.ndarray, scores: np.ndarray, recall: float = 0.95) -> float:
    """Work saved over sampling at `recall` (Cohen et al. 2006).

    Screening in score order (ties broken against the method: included records
    last), the share of records left unread once `recall` of the included ones
    are found, minus the ``1 - recall`` that random order would save.
    """
    y = np.asarray(y, dtype=int)
    order = np.lexsort((y, -np.asarray(scores, dtype=float)))
    found = np.cumsum(y[order])
    needed = int(np.ceil(recall * y.sum()))
    read = int(np.searchsorted(found, needed) + 1)
    return (len(y) - read) / len(y) - (1 - recall)


def screening_metrics(y: np.ndarray, scores: np.ndarray, threshold: float, beta: float) -> dict[str, float]:
    """F-beta, recall and precision at `threshold`; ROC-AUC, AP and WSS@95 of the ranking."""
    y = np.asarray(y, dtype=int)
    scores = np.asarray(scores, dtype=float)
    flagged = scores >= threshold
    tp = int(np.sum(flagged & (y == 1)))
    return {
        "fbeta": fbeta(y, flagged, beta),
        "recall": tp / max(int(y.sum()), 1),
        "precision": tp / max(int(flagged.sum()), 1),
        "flagged_share": float(flagged.mean()),
        "roc_auc": float(roc_auc_score(y, scores)),
        "average_precision": average_precision(y, scores),
        "wss95": wss(y, scores, 0.95),
    }


def recall_interval(found: int, included: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact binomial) interval for a recall of `found` out of `included`.

    Not a bootstrap: resampling 10 included records that were all found finds
    them all again, so a bootstrap says "1.000 to 1.000" where 10 of 10 is
    consistent with a true recall down to 0.69.

    >>> [round(v, 2) for v in recall_interval(10, 10)]
    [0.69, 1.0]
    """
    if included == 0:
        return 0.0, 1.0
    alpha = 1 - level
    low = float(beta_distribution.ppf(alpha / 2, found, included - found + 1)) if found > 0 else 0.0
    high = float(beta_distribution.ppf(1 - alpha / 2, found + 1, included - found)) if found < included else 1.0
    return low, high


def fbeta_interval(y: np.ndarray, flagged: np.ndarray, beta: float, n_boot: int = 2000, level: float = 0.95,
                   random_state: int = 0) -> tuple[float, float]:
    """Bayesian bootstrap interval of the F-beta of fixed 0/1 decisions over the records.

    F-beta depends on the records only through the shares of the four cells
    (tp, fp, fn, tn), so resampling records is drawing those shares: here from
    a Dirichlet with each cell's count plus half a pseudo-record (Jeffreys).
    The half record keeps an empty cell uncertain: when every included record
    was found and nothing else flagged, a plain bootstrap says "1.000 to 1.000".
    Widened, if needed, to hold the point estimate.

    >>> [round(v, 2) for v in fbeta_interval(np.r_[np.ones(20), np.zeros(80)], np.r_[np.ones(20), np.zeros(80)], 7)]
    [0.89, 1.0]
    """
    y, flagged = np.asarray(y, dtype=bool), np.asarray(flagged, dtype=bool)
    cells = np.array([np.sum(y & flagged), np.sum(~y & flagged), np.sum(y & ~flagged), np.sum(~y & ~flagged)])
    tp, fp, fn, _ = np.random.default_rng(random_state).dirichlet(cells + 0.5, size=n_boot).T
    b2 = beta**2
    values = (1 + b2) * tp / (b2 * (tp + fn) + tp + fp)  # F-beta from the cells' shares
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    point = fbeta(y, flagged, beta)
    return float(min(low, point)), float(max(high, point))
