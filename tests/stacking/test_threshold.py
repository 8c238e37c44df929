"""Threshold choice and the screening metrics."""
from __future__ import annotations

import numpy as np
import pytest

from screenstack.features.errors import ScreenstackError
from screenstack.stacking.metrics import fbeta, wss
from screenstack.stacking.threshold import RULES, _candidates, choose_threshold, fbeta_curve


def _data(seed=0, n=400, prevalence=0.06, signal=2.0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(int)
    y[:3] = 1
    return y, rng.normal(size=n) + signal * y


def test_fbeta_curve_matches_a_direct_count():
    y, s = _data()
    thresholds = _candidates(s)
    curve = fbeta_curve(y, s, thresholds, 7.0)
    direct = [fbeta(y, s >= t, 7.0) for t in thresholds]
    np.testing.assert_allclose(curve, direct)


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_is_deterministic_and_returns_a_threshold_near_the_argmax_value(rule):
    y, s = _data(1)
    t = choose_threshold(y, s, 7.0, rule)
    assert t == choose_threshold(y, s, 7.0, rule)
    best = max(fbeta(y, s >= c, 7.0) for c in _candidates(s))
    assert fbeta(y, s >= t, 7.0) >= 0.9 * best


def test_with_uninformative_scores_and_beta_7_nearly_everything_is_flagged():
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.3).astype(int)
    s = rng.random(300)
    t = choose_threshold(y, s, 7.0, "argmax")
    assert (s >= t).mean() > 0.9


def test_higher_beta_never_raises_the_threshold():
    y, s = _data(2)
    assert choose_threshold(y, s, 7.0, "argmax") <= choose_threshold(y, s, 1.0, "argmax")


def test_unknown_rule_lists_the_valid_ones():
    with pytest.raises(ScreenstackError, match="bootstrap"):
        choose_threshold(np.array([0, 1]), np.array([0.1, 0.9]), 7.0, "median")


def test_wss_at_95_of_a_perfect_and_a_reversed_ranking():
    y = np.array([1] * 10 + [0] * 90)
    perfect = -np.arange(100.0)
    assert wss(y, perfect) == pytest.approx((100 - 10) / 100 - 0.05)
    assert wss(y, -perfect) == pytest.approx(0 - 0.05)


def test_average_precision_matches_scikit_learn_with_ties():
    from sklearn.metrics import average_precision_score

    from screenstack.stacking.metrics import average_precision

    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(5, 200))
        y = (rng.random(n) < 0.2).astype(int)
        y[0] = 1
        scores = np.round(rng.random(n) * rng.integers(1, 10)) / 3  # many ties
        assert average_precision(y, scores) == pytest.approx(average_precision_score(y, scores), abs=1e-12)


def test_recall_floor_with_three_included_records_flags_most_records():
    from screenstack.stacking.threshold import recall_floor

    y, s = _data(4, n=600, prevalence=0.0, signal=3.0)  # exactly three included records, ranked near the top
    t_fbeta = choose_threshold(y, s, 7.0, "bootstrap", prior_positives=1.0)
    t = choose_threshold(y, s, 7.0, "bootstrap", prior_positives=1.0, min_recall=0.95)
    assert t <= t_fbeta and t == recall_floor(y, s, 0.95, 1.0)
    # (3 found + 1 prior x share flagged) / 4 >= 0.95 needs 80% of the records flagged.
    assert (s >= t).mean() >= 0.8 > (s >= t_fbeta).mean()


@pytest.mark.parametrize("included, share", [(5, 0.7), (10, 0.45), (19, 0.0), (200, 0.0)])
def test_recall_floor_fades_as_included_records_grow(included, share):
    from screenstack.stacking.threshold import recall_floor

    y = np.zeros(1000, dtype=int)
    y[-included:] = 1
    s = np.arange(1000.0)
    assert (s >= recall_floor(y, s, 0.95, 1.0)).mean() == pytest.approx(share, abs=0.002)
    # No floor without a prior: the labelled included records alone vouch for recall.
    assert (s >= recall_floor(y, s, 0.95, 0.0)).mean() == pytest.approx(0.0, abs=0.002)
