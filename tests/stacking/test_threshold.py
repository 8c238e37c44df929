"""Threshold choice and the screening metrics."""
from __future__ import annotations

import numpy as np
import pytest

from screenstack.features.errors import ScreenstackError
from screenstack.stacking.metrics import fbeta, wss
from screenstack.stacking import threshold
from screenstack.stacking.threshold import (RULES, _candidates, binormal_curve, choose_threshold, fbeta_curve,
                                           fitted_tail_threshold, separation)


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


def test_the_bootstrap_rule_maximises_f_beta_averaged_over_the_seeds_resamples():
    # Each seed's resamples are drawn once and kept (`bootstrap_counts`): the threshold is the one fresh draws give,
    # whichever sizes and seeds were asked for before, and no caller can change the kept draws.
    y, s = _data(2, n=120)
    for n, seed in ((120, 0), (120, 1), (90, 0), (120, 0)):
        counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=50)
        assert np.array_equal(threshold.bootstrap_counts(n, 50, seed), counts)  # a stack's thresholds as before 0.3.58
        best = max(fbeta_mean(y[:n], s[:n] >= c, counts) for c in _candidates(s[:n]))
        got = choose_threshold(y[:n], s[:n], 7.0, "bootstrap", n_boot=50, random_state=seed, fitted_tail=False)
        assert fbeta_mean(y[:n], s[:n] >= got, counts) == pytest.approx(best, rel=1e-12)
    with pytest.raises(ValueError, match="read-only"):
        threshold.bootstrap_counts(120, 50, 0)[0, 0] += 1


def fbeta_mean(y, flagged, counts, beta=7.0):
    """F-beta of `flagged` averaged over resamples given as each record's draw count (one row per resample)."""
    tp, positives, chosen = counts @ (y * flagged), counts @ y, counts @ flagged
    return np.mean(np.where(tp > 0, (1 + beta**2) * tp / np.maximum(beta**2 * positives + chosen, 1e-12), 0.0))


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


def _binormal(seed: int, n_excluded: int, n_included: int, d: float):
    """Scores of `n_excluded` excluded and `n_included` included records, the included ones shifted by d'."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n_excluded, dtype=int), np.ones(n_included, dtype=int)]
    return y, rng.normal(size=len(y)) + d * y


def test_separation_recovers_the_binormal_d_prime():
    for d in (0.8, 1.5, 2.5):
        y, s = _binormal(0, 4000, 1000, d)
        assert abs(separation(y, s) - d) < 0.08
    # Monotone transforms of the scores (a calibration, a rank) do not move it.
    y, s = _binormal(1, 500, 50, 1.2)
    assert separation(y, s) == pytest.approx(separation(y, np.exp(s)))


def test_the_binormal_curve_is_f_beta_on_the_fitted_roc():
    y, s = _binormal(2, 900, 100, 1.0)
    thresholds = _candidates(s)
    curve = binormal_curve(y, s, thresholds, 7.0)
    assert curve[0] == pytest.approx(fbeta(y, np.ones(len(y)), 7.0))  # flag everything: exactly flag-all's F7
    assert curve[-1] == 0  # flag no excluded record: the fitted curve finds no included one there
    # On plenty of binormal records the fitted curve follows the empirical one.
    empirical = fbeta_curve(y, s, thresholds, 7.0)
    assert np.max(np.abs(curve - empirical)) < 0.08


def test_a_weak_ranking_with_twenty_included_records_flags_more_than_the_bootstrap_optimum_and_finds_more_later():
    """The case the fitted tail is for: 20 included records ranked weakly (d' 1, ROC-AUC 0.76), records to screen
    drawn alike. Over 20 draws the bootstrap optimum alone misses about one included record in eight (one in three
    on the worst draw); with the tail, weighed as 30 included records beside their 20, the threshold's recall on fresh
    records rises, on the worst draw too, and so does F7."""
    with_tail, without = [], []
    for seed in range(20):
        y, s = _binormal(seed, 500, 20, 1.0)
        y_new, s_new = _binormal(100 + seed, 5000, 200, 1.0)
        for rows, tail in ((with_tail, True), (without, False)):
            t = choose_threshold(y, s, 7.0, "bootstrap", fitted_tail=tail)
            flagged = s_new >= t
            rows.append((flagged[y_new == 1].mean(), fbeta(y_new, flagged, 7.0)))
        assert choose_threshold(y, s, 7.0, fitted_tail=True) <= choose_threshold(y, s, 7.0, fitted_tail=False)
    with_tail, without = np.array(with_tail), np.array(without)
    assert with_tail[:, 0].mean() > without[:, 0].mean() + 0.03 and with_tail[:, 0].min() > without[:, 0].min() + 0.03
    assert with_tail[:, 1].mean() > without[:, 1].mean() + 0.01


def test_the_fit_weighs_less_beside_many_included_records_whose_own_tail_is_thinner(monkeypatch):
    """150 included records spread less than the excluded ones (sd 0.6, as most blends' are: 0.7-1.0): the fitted
    ROC's unit variance expects more of them to rank low than do. Alone (as before 0.3.27) the fit made the threshold
    flag a third of fresh records where their own curve asks a fifth, for lower F7; weighed as 30 records beside
    their 150, it flags little more than their curve asks, and F7 on fresh records is above the fit alone's on
    every draw and above the bootstrap optimum's on average."""
    def draw(seed, n_excluded, n_included):
        rng = np.random.default_rng(seed)
        y = np.r_[np.zeros(n_excluded, dtype=int), np.ones(n_included, dtype=int)]
        return y, np.r_[rng.normal(size=n_excluded), rng.normal(2.5, 0.6, size=n_included)]

    results = []
    for seed in range(10):
        y, s = draw(seed, 1500, 150)
        y_new, s_new = draw(50 + seed, 15000, 1500)
        weighed, bootstrap = choose_threshold(y, s, 7.0), choose_threshold(y, s, 7.0, fitted_tail=False)
        with monkeypatch.context() as m:
            m.setattr(threshold, "FIT_WEIGHT", None)  # the fitted ROC alone
            alone = choose_threshold(y, s, 7.0)
        results.append([fbeta(y_new, s_new >= t, 7.0) for t in (weighed, alone, bootstrap)]
                       + [np.mean(s_new >= t) for t in (weighed, alone, bootstrap)])
    results = np.array(results)
    assert (results[:, 0] > results[:, 1]).all() and results[:, 0].mean() > results[:, 2].mean()
    assert results[:, 3].mean() < 0.25 < 0.3 < results[:, 4].mean() and results[:, 5].mean() < 0.22


def test_a_strong_ranking_with_many_included_records_loses_next_to_nothing_on_fresh_records():
    """Included records above every excluded one all sit at the top quantile, so a strong ranking's d' is understated
    (2.7 for 3) and the tail flags somewhat more (53% against 45% here), where F-beta 7 barely notices."""
    y, s = _binormal(3, 900, 300, 3.0)
    y_new, s_new = _binormal(9, 9000, 3000, 3.0)
    tail, plain = choose_threshold(y, s, 7.0), choose_threshold(y, s, 7.0, fitted_tail=False)
    assert tail <= plain and separation(y, s) == pytest.approx(2.7, abs=0.05)
    assert fbeta(y_new, s_new >= tail, 7.0) > fbeta(y_new, s_new >= plain, 7.0) - 0.005


def test_the_argmax_rule_has_no_fitted_tail():
    y, s = _binormal(4, 500, 20, 1.0)
    assert choose_threshold(y, s, 7.0, "argmax") == choose_threshold(y, s, 7.0, "argmax", fitted_tail=False)
    assert choose_threshold(y, s, 7.0, "argmax") > fitted_tail_threshold(y, s, 7.0)


def test_the_fitted_tail_counts_the_shift_weight_and_the_prior_as_f_beta_does():
    y, s = _binormal(5, 800, 15, 1.5)
    plain = fitted_tail_threshold(y, s, 7.0)
    assert fitted_tail_threshold(y, s, 7.0, positive_weight=4.0) <= plain  # richer records to screen: flag more
    assert fitted_tail_threshold(y, s, 7.0, prior_positives=2.0) <= plain
    assert fitted_tail_threshold(np.zeros(10, dtype=int), np.arange(10.0), 7.0) < 0  # nothing to fit: flag everything
