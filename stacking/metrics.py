"""Screening metrics: F-beta at a threshold, ranking quality, work saved, and intervals for the honest figures."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score


def fbeta(y: np.ndarray, flagged: np.ndarray, beta: float, positive_weight: float = 1.0) -> float:
    """F-beta of 0/1 decisions; 0 when nothing relevant is flagged. `positive_weight` counts every included record
    that many times: F-beta where included records are that much more common (`stacking.decision.shift_weight`)."""
    y, flagged = np.asarray(y, dtype=bool), np.asarray(flagged, dtype=bool)
    tp = float(np.sum(y & flagged))
    if tp == 0:
        return 0.0
    precision, recall = positive_weight * tp / (flagged.sum() + (positive_weight - 1) * tp), tp / y.sum()
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


def predictive_intervals(y: np.ndarray, flagged: np.ndarray, beta: float, n_records: int, n_draws: int = 4000,
                         level: float = 0.95, random_state: int = 0) -> tuple[tuple[float, float], tuple[float, float]]:
    """95% intervals of the F-beta and recall that `n_records` new records will see under these decisions' rule.

    The four outcome cells of the training records (tp, fp, fn, tn) give the
    shares for the new records: drawn from a Dirichlet with each cell's count
    plus half a pseudo-record (Jeffreys), so an empty cell stays uncertain
    (10 of 10 included records found is consistent with a recall well below 1).
    Each draw then deals `n_records` records into the cells, since a file of
    records to screen varies around those shares too; draws without an included
    record are left out. An interval for the training estimate alone held the
    test half's figure in 67-72% of 18 held-out halves; these held 89%
    (bench/calibration.py). Each interval is widened, if needed, to hold the
    training figure. Where every training record was flagged, no new one goes
    unflagged: recall is 1, and F-beta varies with the share included only.

    >>> f, r = predictive_intervals(np.r_[np.ones(10), np.zeros(90)], np.r_[np.ones(30), np.zeros(70)], 7, 100)
    >>> r[0] < 0.9 < r[1] == 1.0
    True
    """
    y, flagged = np.asarray(y, dtype=bool), np.asarray(flagged, dtype=bool)
    cells = np.array([np.sum(y & flagged), np.sum(~y & flagged), np.sum(y & ~flagged), np.sum(~y & ~flagged)])
    # A rule that flagged every record (the honest floor's) leaves none unflagged in any file: no pseudo-record there,
    # or recall would range down to 0 where it cannot fall below 1.
    prior = np.array([0.5, 0.5, 0.0, 0.0]) if flagged.all() else np.full(4, 0.5)
    rng = np.random.default_rng(random_state)
    possible = cells + prior > 0
    shares = np.zeros((n_draws, 4))
    shares[:, possible] = rng.dirichlet((cells + prior)[possible], size=n_draws)
    tp, fp, fn, _ = rng.multinomial(max(int(n_records), 1), shares).T
    has_included = tp + fn > 0
    tp, fp, fn = tp[has_included], fp[has_included], fn[has_included]
    b2 = beta**2
    values = {"fbeta": np.where(tp > 0, (1 + b2) * tp / np.maximum(b2 * (tp + fn) + tp + fp, 1), 0.0),
              "recall": tp / np.maximum(tp + fn, 1)}
    point = {"fbeta": fbeta(y, flagged, beta), "recall": cells[0] / max(cells[0] + cells[2], 1)}
    intervals = []
    for key in ("fbeta", "recall"):
        low, high = np.quantile(values[key], [(1 - level) / 2, (1 + level) / 2]) if len(values[key]) else (0.0, 1.0)
        intervals.append((float(min(low, point[key])), float(max(high, point[key]))))
    return intervals[0], intervals[1]


def paired_win_share(y: np.ndarray, a: np.ndarray, b: np.ndarray, beta: float, n_draws: int = 2000,
                     random_state: int = 0) -> float:
    """Share of bootstrap resamples of the records in which decisions `a` have a higher F-beta than decisions `b`.

    Paired: both are scored on the same resampled records, so what they agree
    on cancels out. The records enter only through the eight cells of
    (label, a, b), so a resample is a multinomial draw of those cells' counts.
    """
    y, a, b = (np.asarray(v, dtype=int) for v in (y, a, b))
    cells = np.bincount(4 * y + 2 * a + b, minlength=8)
    counts = np.random.default_rng(random_state).multinomial(len(y), cells / max(len(y), 1), size=n_draws)
    b2 = beta**2
    positives = counts[:, 4:].sum(axis=1)

    def f(tp, flagged):
        return np.where(tp > 0, (1 + b2) * tp / np.maximum(b2 * positives + flagged, 1), 0.0)

    # cell index 4y + 2a + b: a flags cells 2, 3, 6, 7; b flags 1, 3, 5, 7
    f_a = f(counts[:, 6] + counts[:, 7], counts[:, [2, 3, 6, 7]].sum(axis=1))
    f_b = f(counts[:, 5] + counts[:, 7], counts[:, [1, 3, 5, 7]].sum(axis=1))
    return float(np.mean(f_a > f_b))
