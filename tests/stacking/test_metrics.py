"""`stacking.metrics.predictive_intervals`: intervals a reviewer can read as "what the records to screen will see"."""
from __future__ import annotations

import numpy as np

from screenstack.stacking.metrics import fbeta, predictive_intervals

CELLS = np.array([0.045, 0.25, 0.005, 0.7])  # shares of tp, fp, fn, tn: recall 0.9, 5% included, 29.5% flagged


def _sample(rng, n):
    counts = rng.multinomial(n, CELLS)
    y = np.repeat([1, 0, 1, 0], counts)
    flagged = np.repeat([1, 1, 0, 0], counts)
    return y, flagged


def test_ten_of_ten_found_is_not_read_as_certain_recall():
    y, flagged = np.r_[np.ones(10), np.zeros(415)], np.r_[np.ones(200), np.zeros(225)]
    (f_low, f_high), (r_low, r_high) = predictive_intervals(y, flagged, 7, 426)
    assert 0.6 < r_low < 0.9 and r_high == 1.0
    assert f_low < fbeta(y, flagged, 7) <= f_high and f_high - f_low > 0.1


def test_intervals_hold_the_figures_of_new_records_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    held_f = held_r = 0
    for rep in range(200):
        y, flagged = _sample(rng, 600)
        new_y, new_flagged = _sample(rng, 600)
        (f_low, f_high), (r_low, r_high) = predictive_intervals(y, flagged, 7, 600, n_draws=2000, random_state=rep)
        held_f += f_low <= fbeta(new_y, new_flagged, 7) <= f_high
        held_r += r_low <= new_y[new_flagged == 1].sum() / new_y.sum() <= r_high
    assert held_f >= 180 and held_r >= 180  # 90% of 200; nominal 95%


def test_intervals_hold_the_training_figures_and_repeat_exactly():
    rng = np.random.default_rng(1)
    y, flagged = _sample(rng, 300)
    (f_low, f_high), (r_low, r_high) = predictive_intervals(y, flagged, 7, 1000)
    assert f_low <= fbeta(y, flagged, 7) <= f_high
    assert r_low <= y[flagged == 1].sum() / y.sum() <= r_high
    assert predictive_intervals(y, flagged, 7, 1000) == ((f_low, f_high), (r_low, r_high))
    # More records to screen: less room for chance, a narrower interval.
    (wide_low, wide_high), _ = predictive_intervals(y, flagged, 7, 100)
    assert wide_high - wide_low > f_high - f_low


def test_paired_win_share_tells_a_real_lead_from_chance():
    from screenstack.stacking.metrics import paired_win_share

    rng = np.random.default_rng(2)
    y = (rng.random(800) < 0.05).astype(int)
    blend = np.where(y == 1, rng.random(800) < 0.8, rng.random(800) < 0.3).astype(int)  # misses a fifth
    better = np.where(y == 1, 1, blend)  # the same, but finds every included record
    assert paired_win_share(y, blend, blend, 7) == 0.0  # a tie is no win
    assert paired_win_share(y, better, blend, 7) > 0.95
    assert paired_win_share(y, blend, better, 7) == 0.0
    swapped = blend.copy()
    one_in, one_out = np.flatnonzero((y == 1) & (blend == 1))[0], np.flatnonzero((y == 1) & (blend == 0))[0]
    swapped[one_in], swapped[one_out] = 0, 1  # finds one other included record instead: no real lead
    assert 0.2 < paired_win_share(y, swapped, blend, 7) < 0.8


def test_a_rule_that_flagged_every_record_has_recall_1_and_only_f_beta_uncertain():
    """80 training records, 4 included, all flagged (the honest floor): 40 records to screen cannot lose one."""
    y = np.r_[np.ones(4), np.zeros(76)]
    (f_low, f_high), (r_low, r_high) = predictive_intervals(y, np.ones(80), 7, 40)
    assert (r_low, r_high) == (1.0, 1.0)
    assert 0 < f_low < fbeta(y, np.ones(80), 7) < f_high <= 1  # the share of included records still varies
