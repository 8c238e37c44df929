"""Calibration: the blend's scores as probabilities of inclusion, for expected counts.

A blend score ranks records but is no probability: the logistic blend is
class-balanced (it acts as if half the records were included) and the rank
average is a mean of ranks. `fit_calibration` maps scores to probabilities
with Platt scaling, ``p = 1 / (1 + exp(-(slope * logit(score) + intercept)))``,
fitted on the blend's honest (nested) OOF scores. Two numbers cannot follow the
noise of a handful of included records the way isotonic regression's steps
do, and Platt's smoothed targets, ``(n1 + 1) / (n1 + 2)`` for included and
``1 / (n0 + 2)`` for excluded records, act as a weak prior that keeps the slope
finite when the OOF scores separate the classes perfectly. A negative slope
(the blend ranks no better than chance) is set to 0: every record then gets
the smoothed share of included records.

Scores are clipped into the range of the OOF scores the fit saw: beyond it
there is no evidence, and a rank average gives every record above all OOF
records the score 1, whose logit would otherwise carry the fitted slope to
near-certain probabilities (with 3 included training records, the top 20 of a
review expected 19.9 included where 7 were; clipped, 3.5).

The fit is stored as plain numbers in ``OUT/calibration.json``;
`Calibration.load` and `Calibration.apply` score records in a later process
(`screenstack predict`) without refitting.

Platt's two parameters put too much probability below a threshold: on the
labelled records themselves, those below it summed to 436 where 167 were
included (the protocol's natural halves), and on the records to screen the
count "left below" came out 2-5 times the truth (its smoothed target for
excluded records alone, ``1 / (n0 + 2)``, floors every probability). The
counts therefore use `count_scale`: the probabilities on each side of the
threshold scaled so that, on the labelled records, they add up to the
included records there. The label-shift estimate (`estimate_shift`) and so
every decision keep Platt's probabilities as they are.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..features.artifacts import sets
from ..features.artifacts.atomic import read_json
from ..features.errors import ScreenstackError

METHOD = "platt-logit"
EPS = 1e-6  # scores are clipped into [EPS, 1 - EPS] before the logit: blend scores of exactly 0 or 1 stay finite


@dataclass(frozen=True)
class Calibration:
    """Platt scaling on the logit of a blend score; `apply` gives probabilities of inclusion."""

    slope: float
    intercept: float
    n_records: int = 0      # the OOF records it was fitted on (for the record)
    n_included: int = 0
    method: str = METHOD
    score_min: float = 0.0  # the OOF scores' range: scores outside it are clipped into it
    score_max: float = 1.0

    def apply(self, scores: np.ndarray) -> np.ndarray:
        """Probabilities of inclusion, in [0, 1], non-decreasing in the score."""
        clipped = np.clip(np.asarray(scores, dtype=float), self.score_min, self.score_max)
        return _sigmoid(self.slope * logit(clipped) + self.intercept)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def load(cls, path: str | Path) -> Calibration:
        """The calibration `stack` wrote to `path`; anything else is refused in one line naming the fix."""
        path = Path(path)
        fix = f"Run {sets.stack_command(path.parent)} again: it rewrites {path.name}."
        try:
            found = read_json(path)
            calibration = cls(**found)
            finite = np.isfinite([calibration.slope, calibration.intercept, calibration.score_min, calibration.score_max]).all()
            finite = finite and calibration.score_min <= calibration.score_max
        except FileNotFoundError:
            raise ScreenstackError(f"{path}: missing. {fix}") from None
        except (OSError, ValueError, TypeError) as error:
            raise ScreenstackError(f"{path}: not a calibration ({error}). {fix}") from None
        if calibration.method != METHOD or not finite or calibration.slope < 0:
            raise ScreenstackError(f"{path}: not a {METHOD} calibration with a finite, non-negative slope and a score range. {fix}")
        return calibration


def fit_calibration(scores: np.ndarray, y: np.ndarray) -> Calibration:
    """Platt scaling of honest OOF `scores` against labels `y` (see the module docstring).

    >>> c = fit_calibration(np.r_[np.linspace(0.1, 0.5, 90), np.linspace(0.4, 0.9, 10)], np.r_[np.zeros(90), np.ones(10)])
    >>> c.apply(np.array([0.1, 0.9])).round(2).tolist()
    [0.0, 1.0]
    """
    y = np.asarray(y, dtype=int)
    scores = np.asarray(scores, dtype=float)
    slope, intercept = _fit_logits(logit(scores), y)
    return Calibration(slope, intercept, len(y), int(y.sum()), score_min=float(scores.min()), score_max=float(scores.max()))


def estimate_shift(calibration: Calibration, oof_scores: np.ndarray, scores: np.ndarray, iterations: int = 1000) -> tuple[float, float]:
    """``(training share, estimated share)`` of included records: the labelled records' and the records to screen.

    The labelled records may hold a far smaller share of included records than
    the records still to screen (a review's first labelled records; the
    protocol's few-included halves, 2.5-21 times). Scores calibrated on the
    labelled records then understate the records to screen; the EM of
    Saerens, Latinne and Decaestecker (2002) finds the share under which the
    probabilities, re-weighted to it, average to it. The training share is the
    calibrated OOF probabilities' mean, so that with no shift the estimate
    starts and stays near it.

    >>> c = fit_calibration(np.r_[np.linspace(0, 0.5, 95), np.linspace(0.5, 1, 5)], np.r_[np.zeros(95), np.ones(5)])
    >>> train, test = estimate_shift(c, np.r_[np.linspace(0, 0.5, 95), np.linspace(0.5, 1, 5)], np.r_[np.linspace(0, 0.5, 60), np.linspace(0.5, 1, 40)])
    >>> round(test / train, 1) > 3
    True
    """
    p = calibration.apply(scores)
    train = float(np.mean(calibration.apply(oof_scores)))
    share = train
    if not len(p) or not 0 < train < 1:
        return train, train
    for _ in range(iterations):
        up, down = share / train, (1 - share) / (1 - train)
        new = float(np.mean(up * p / (up * p + down * (1 - p))))
        if abs(new - share) < 1e-9:
            break
        share = new
    return train, share


def count_scale(calibration: Calibration, oof_scores: np.ndarray, y: np.ndarray, threshold: float) -> tuple[float, float]:
    """Factors ``(below, above)`` for the calibrated probabilities of records scoring below `threshold` and at or above
    it, so that the labelled (OOF) records' own probabilities, so scaled, add up to the included records on each side.

    Two bins of a histogram recalibration on top of Platt's curve, each ratio
    ``(included + 0.5) / (probabilities + 0.5)``: the posterior mean of a
    multiplier on Platt's expected count of included records, under a
    Gamma(0.5, 0.5) prior centred on Platt being right (so a side with no
    included record does not zero its records). Where the ratio below would
    exceed the one above, a record just below the threshold would outrank one
    just above, so both take the pooled ratio (isotonic regression on two bins).
    Recomputed from 291 kept runs (bench/README.md, "The expected counts
    scaled on each side of the threshold"), the count left below fell from 2-3
    times the truth to 1.1-1.2 times it (up to twice it with fewer than 10
    included labelled records), its intervals holding it 232 times in 238.

    >>> scores, y = np.r_[np.linspace(0.1, 0.5, 90), np.linspace(0.4, 0.9, 10)], np.r_[np.zeros(90), np.ones(10)]
    >>> below, above = count_scale(fit_calibration(scores, y), scores, y, 0.45)
    >>> below <= above
    True
    """
    oof_scores = np.asarray(oof_scores, dtype=float)
    return _ratios(calibration.apply(oof_scores), np.asarray(y, dtype=int), oof_scores >= threshold)


def scaled(probabilities: np.ndarray, above: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    """`probabilities` times `count_scale`'s factor for their side of the threshold (`above`: at or above it), at most 1."""
    return np.minimum(1.0, np.asarray(probabilities, dtype=float) * np.where(above, scale[1], scale[0]))


def _ratios(p: np.ndarray, y: np.ndarray, above: np.ndarray, rng: np.random.Generator | None = None) -> tuple[float, float]:
    """`count_scale`'s two factors from probabilities `p` and labels `y`; where `rng` is given (`expected_count`'s
    bootstrap), each prior's half record is drawn from Gamma(0.5) instead: a resample cannot vary a side's count of 0
    included records, and with the prior fixed the "left below" interval held 20 of 22 reruns after labelling the top
    100 rows of ranked.csv (drawn, 22; bench/README.md, "The expected counts scaled on each side of the threshold")."""
    def ratio(included: float, expected: float, prior: float = 0.5) -> float:
        return (included + (rng.gamma(prior) if rng is not None else prior)) / (expected + prior)

    below, upper = ratio(float(y[~above].sum()), float(p[~above].sum())), ratio(float(y[above].sum()), float(p[above].sum()))
    if below > upper:
        below = upper = ratio(float(y.sum()), float(p.sum()), 1.0)
    return below, upper


def _fit_logits(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt's slope and intercept on logits `x`: smoothed targets, a negative slope set to 0."""
    n1, n0 = int(y.sum()), int(len(y) - y.sum())
    target = np.where(y == 1, (n1 + 1) / (n1 + 2), 1 / (n0 + 2))
    slope, intercept = _newton(x, target)
    if slope < 0:  # no ranking to speak of: a constant probability, never one that falls as the score rises
        share = float(target.mean())
        slope, intercept = 0.0, float(np.log(share / (1 - share)))
    return slope, intercept


def _newton(x: np.ndarray, target: np.ndarray, iterations: int = 100) -> tuple[float, float]:
    """Slope and intercept minimising the cross-entropy of ``sigmoid(slope * x + intercept)`` to `target`.

    Newton's method on two parameters, each step halved until the loss falls:
    deterministic, and the smoothed targets keep the minimum finite. A tiny
    ridge keeps the step defined when every x is equal.
    """
    X = np.column_stack([x, np.ones_like(x)])
    share = float(target.mean())
    theta = np.array([0.0, np.log(share / (1 - share))])
    loss = _cross_entropy(X @ theta, target)
    for _ in range(iterations):
        p = _sigmoid(X @ theta)
        gradient = X.T @ (p - target)
        hessian = (X * (p * (1 - p))[:, None]).T @ X + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        for _ in range(30):
            new_loss = _cross_entropy(X @ (theta - step), target)
            if new_loss <= loss:
                break
            step = step / 2
        else:
            break  # no step lowers the loss: at the minimum, up to rounding
        theta, loss = theta - step, new_loss
        if np.abs(step).max() < 1e-10:
            break
    return float(theta[0]), float(theta[1])


def _cross_entropy(z: np.ndarray, target: np.ndarray) -> float:
    # log(1 + exp(z)) - target * z, written to stay finite for large |z|
    return float(np.sum(np.logaddexp(0, z) - target * z))


def logit(scores) -> np.ndarray:
    """The log-odds of `scores`, clipped into [EPS, 1 - EPS] first: what the calibration and the logistic blend fit on."""
    s = np.clip(np.asarray(scores, dtype=float), EPS, 1 - EPS)
    return np.log(s / (1 - s))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * z))  # no overflow warning for large |z|


def expected_count(oof_scores: np.ndarray, y: np.ndarray, scores: np.ndarray, counted: np.ndarray, threshold: float,
                   at_share: np.ndarray | None = None, n_boot: int = 100, n_draws: int = 40,
                   random_state: int = 0) -> tuple[float, float, float]:
    """Expected included records among the `counted` `scores`, with a 95% interval: ``(estimate, low, high)``.

    Records marked `at_share` (records with neither title nor abstract, whose
    score is the empty text's) count at the labelled records' share of included
    ones instead, and each refit at its resample's share.

    The estimate is the sum of the counted records' calibrated probabilities,
    scaled on each side of `threshold` (`count_scale`). Two things make the true
    count differ: the calibration's own error (Platt fits and their scales on
    bootstrap resamples of the OOF records, the scales' priors drawn: `_ratios`)
    and chance in which records turn out included. The interval is the wider, at
    each end, of two that combine them:

    - a normal one, the estimate plus or minus 1.96 standard deviations,
      whose variance adds the sum's variance over the refits and the
      Poisson-binomial chance variance ``sum p (1 - p)``;
    - the 2.5 and 97.5 percentiles of counts drawn, `n_draws` per refit, from the
      binomial whose mean and variance are the refit's sum and chance variance
      (the Poisson-binomial's usual approximation: one draw per record and
      refit would cost a million draws per refit for a million records).

    With a handful of included labelled records the calibration's share can be
    half the truth or twice it, and a count's error is then skewed upwards,
    which the drawn counts follow and the symmetric interval did not (it held
    the count among the flagged records in 12 of 17 reviewer's runs with fewer
    than 10 included labelled records; the wider of the two, 15 of 17). A count
    of 0-2 left below the threshold is the other way round: drawn counts put
    the low end at 1 or more where 0 were left, and the normal interval's low
    end, clipped at 0, holds it (bench/README.md, "The expected counts'
    intervals, skewed"). Both are clipped to [0, number counted].
    """
    y = np.asarray(y, dtype=int)
    counted = np.asarray(counted, dtype=bool)
    # The interval of records counted at the share was drawn around their scores' probabilities, which no longer were
    # what was counted: 40 records without text in an update, 1.5 expected (at a 3.7% share), 95% interval 1.3-3.3.
    shared = np.zeros(int(counted.sum()), dtype=bool) if at_share is None else np.asarray(at_share, dtype=bool)[counted]
    if not counted.any():
        return 0.0, 0.0, 0.0
    calibration = fit_calibration(oof_scores, y)
    oof_above = np.asarray(oof_scores, dtype=float) >= threshold
    above = np.asarray(scores, dtype=float)[counted] >= threshold  # sides of the scores as given, before the clipping
    scores_counted = np.clip(np.asarray(scores, dtype=float)[counted], calibration.score_min, calibration.score_max)
    p = scaled(calibration.apply(scores_counted), above, count_scale(calibration, oof_scores, y, threshold))
    p[shared] = float(np.mean(y))
    estimate = float(p.sum())
    x, x_counted = logit(oof_scores), logit(scores_counted)
    # Two streams: the resamples stay those the normal interval alone drew (before 0.3.40), so the wider of the two
    # never falls inside it.
    rng, chance = np.random.default_rng(random_state), np.random.default_rng([random_state, 1])
    factors = np.random.default_rng([random_state, 2])
    sums, drawn = [], []
    for _ in range(n_boot):
        rows = rng.integers(0, len(y), len(y))
        slope, intercept = _fit_logits(x[rows], y[rows])
        scale = _ratios(_sigmoid(slope * x[rows] + intercept), y[rows], oof_above[rows], factors)
        refit = scaled(_sigmoid(slope * x_counted + intercept), above, scale)
        refit[shared] = float(np.mean(y[rows]))
        sums.append(float(refit.sum()))
        drawn.append(_chance_counts(refit, n_draws, chance))
    spread = 1.96 * np.sqrt(float(np.sum(p * (1 - p))) + float(np.var(sums)))
    low, high = np.percentile(np.concatenate(drawn), [2.5, 97.5])
    return estimate, float(max(0.0, min(estimate - spread, low))), float(min(counted.sum(), max(estimate + spread, high)))


def _chance_counts(p: np.ndarray, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """`n_draws` counts of included records among records with probabilities `p`: binomial draws with the
    Poisson-binomial's mean ``sum p`` and variance ``sum p (1 - p)`` (n = (sum p)^2 / sum p^2, never above len(p))."""
    mean, squares = float(p.sum()), float(np.sum(p * p))
    if squares <= 0:
        return np.zeros(n_draws)
    n = int(min(len(p), max(1, round(mean * mean / squares))))
    return rng.binomial(n, min(1.0, mean / n), n_draws).astype(float)
