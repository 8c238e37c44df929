"""`stacking.calibrate`: probabilities a reviewer can add up, stored as plain numbers."""
from __future__ import annotations

import numpy as np
import pytest

from screenstack.features.errors import ScreenstackError
from screenstack.stacking.calibrate import Calibration, count_scale, expected_count, fit_calibration, scaled


def _scores(n: int, seed: int, shift: float = -3.0):
    """Scores in (0, 1) and labels drawn from a known logistic model of their logit."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(2 * z + shift)))).astype(int)
    return 1 / (1 + np.exp(-z)), y


def test_probabilities_lie_in_0_1_and_never_fall_as_the_score_rises():
    scores, y = _scores(2000, 0)
    grid = np.r_[0.0, np.linspace(0, 1, 501), 1.0]  # exact 0 and 1 included: blend scores reach them
    p = fit_calibration(scores, y).apply(grid)
    assert np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
    assert (np.diff(p) >= 0).all() and p[-1] > p[0]


def test_expected_count_on_new_records_matches_the_real_count():
    scores, y = _scores(3000, 1)
    new_scores, new_y = _scores(3000, 2)
    p = fit_calibration(scores, y).apply(new_scores)
    # The real count is a Poisson-binomial draw around the sum: within 3 of its standard deviations.
    assert abs(p.sum() - new_y.sum()) < 3 * np.sqrt(np.sum(p * (1 - p)))
    assert abs(p.sum() - new_y.sum()) / new_y.sum() < 0.15


def test_three_perfectly_separated_included_records_give_a_finite_cautious_fit():
    rng = np.random.default_rng(0)
    scores = np.r_[rng.random(297) * 0.5, [0.9, 0.95, 0.99]]
    y = np.r_[np.zeros(297), np.ones(3)]
    calibration = fit_calibration(scores, y)
    p = calibration.apply(scores)
    assert np.isfinite(calibration.slope) and 0 < calibration.slope < 50
    assert p.max() < 0.99, "three records cannot make one certain"
    assert abs(p.sum() - 3) < 1


def test_a_blend_that_ranks_backwards_gets_one_constant_probability():
    scores, y = _scores(1000, 3)
    calibration = fit_calibration(1 - scores, y)
    assert calibration.slope == 0
    p = calibration.apply(np.linspace(0, 1, 11))
    assert np.ptp(p) == 0 and abs(p[0] - y.mean()) < 0.01


def test_calibration_round_trips_through_json_exactly(tmp_path):
    scores, y = _scores(500, 4)
    calibration = fit_calibration(scores, y)
    (tmp_path / "calibration.json").write_text(calibration.to_json())
    loaded = Calibration.load(tmp_path / "calibration.json")
    assert loaded == calibration
    np.testing.assert_array_equal(loaded.apply(scores), calibration.apply(scores))


@pytest.mark.parametrize("content", ["{not json", '{"slope": 1.0}', '{"slope": -1.0, "intercept": 0.0}', "[1, 2]",
                                     '{"slope": 1.0, "intercept": 0.0, "method": "isotonic"}'])
def test_a_damaged_calibration_file_is_refused_by_name(tmp_path, content):
    path = tmp_path / "calibration.json"
    path.write_text(content)
    with pytest.raises(ScreenstackError, match=r"calibration\.json.*screenstack stack --out"):
        Calibration.load(path)


def test_a_missing_calibration_file_is_refused_by_name(tmp_path):
    with pytest.raises(ScreenstackError, match=r"calibration\.json: missing"):
        Calibration.load(tmp_path / "calibration.json")


def test_expected_count_holds_its_estimate_and_the_real_count():
    scores, y = _scores(2000, 5)
    new_scores, new_y = _scores(2000, 6)
    threshold = np.quantile(new_scores, 0.7)
    below = new_scores < threshold
    estimate, low, high = expected_count(scores, y, new_scores, below, threshold)
    assert 0 <= low < estimate < high <= below.sum()
    assert low <= new_y[below].sum() <= high
    assert expected_count(scores, y, new_scores, np.zeros(len(new_scores), bool), threshold) == (0.0, 0.0, 0.0)
    assert expected_count(scores, y, new_scores, below, threshold) == (estimate, low, high), "deterministic"


def test_the_flagged_count_interval_holds_where_three_included_records_are_labelled():
    # 3 included of 540 labelled records leave the share among the records to screen anywhere from about 0.2% to
    # 1.5% (drawn here from its Jeffreys posterior). The count among the flagged is then skewed upwards about the
    # calibrated estimate: the symmetric normal interval alone held it in 86 of these 100 reviews.
    held = 0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        y = np.r_[np.ones(3, int), np.zeros(537, int)]
        share = rng.beta(3.5, 537.5)
        new_y = (rng.random(1000) < share).astype(int)
        scores, new_scores = (1 / (1 + np.exp(-rng.normal(2 * labels, 1))) for labels in (y, new_y))
        threshold = np.quantile(new_scores, 0.85)
        flagged = new_scores >= threshold
        _, low, high = expected_count(scores, y, new_scores, flagged, threshold)
        held += low <= new_y[flagged].sum() <= high
    assert held >= 93


def test_the_count_left_below_the_threshold_is_not_inflated_where_excluded_records_spread_wider_than_included_ones():
    # Included records ranked tightly at the top, excluded ones spread (logits N(2, 1) and N(-2, 2)): the log-odds
    # then fall faster at the bottom than Platt's line, whose probabilities below the threshold summed to 6.6 times the
    # included records there over these 40 reviews (as on the protocol's halves and reviewers' files: 2-5 times).
    def review(rng, n0, n1):
        z = np.r_[rng.normal(-2, 2, n0), rng.normal(2, 1, n1)]
        return 1 / (1 + np.exp(-z)), np.r_[np.zeros(n0, int), np.ones(n1, int)]

    truth, estimated, platt, held = 0, 0.0, 0.0, 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        scores, y = review(rng, 1000, 15)
        new_scores, new_y = review(rng, 2000, 30)
        below = new_scores < 0.5
        estimate, low, high = expected_count(scores, y, new_scores, below, 0.5)
        truth, estimated = truth + new_y[below].sum(), estimated + estimate
        platt += fit_calibration(scores, y).apply(new_scores[below]).sum()
        held += low <= new_y[below].sum() <= high
    assert platt > 5 * truth and estimated < 2.5 * truth and held >= 37


def test_the_left_below_interval_reaches_the_truth_where_no_included_labelled_record_lies_below_the_threshold():
    # Labels taken from the top of a ranking: the 12 included labelled records score high (logits N(2.5, 0.6)), those
    # left spread lower (N(1, 1)). No resample of the labelled records has an included one below the threshold, so
    # with the scale's half-record prior fixed the interval held the count left below in 15 of these 40 reviews; with
    # the prior drawn from Gamma(0.5), 33.
    def review(rng, n0, n1, mean, sd):
        z = np.r_[rng.normal(-2, 2, n0), rng.normal(mean, sd, n1)]
        return 1 / (1 + np.exp(-z)), np.r_[np.zeros(n0, int), np.ones(n1, int)]

    held = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        scores, y = review(rng, 400, 12, 2.5, 0.6)
        new_scores, new_y = review(rng, 2000, 30, 1.0, 1.0)
        below = new_scores < 0.5
        _, low, high = expected_count(scores, y, new_scores, below, 0.5)
        held += low <= new_y[below].sum() <= high
    assert held >= 30


def test_scaled_probabilities_never_fall_as_the_score_rises_across_the_threshold():
    # More included labelled records below the threshold than Platt expects, fewer above: each side's own ratio would
    # rank a record just below the threshold above one just above it, and ranked.csv would read out of order.
    scores = np.r_[np.linspace(0.05, 0.5, 400), np.linspace(0.45, 0.59, 20), np.linspace(0.6, 0.95, 30)]
    y = np.r_[np.zeros(400, int), np.ones(20, int), np.zeros(30, int)]
    calibration, threshold = fit_calibration(scores, y), 0.6
    below, above = count_scale(calibration, scores, y, threshold)
    assert below == above, "pooled"
    grid = np.linspace(0, 1, 201)
    assert (np.diff(scaled(calibration.apply(grid), grid >= threshold, (below, above))) >= 0).all()


def test_scores_beyond_the_oof_range_get_the_probability_at_its_edge():
    # Three included records on top of the OOF ranking: a test score of 1 (above every OOF score, as a rank
    # average gives) must not be carried by the slope to near certainty.
    oof = np.r_[np.linspace(0.01, 0.9, 297), [0.93, 0.95, 0.97]]
    calibration = fit_calibration(oof, np.r_[np.zeros(297), np.ones(3)])
    at_edge, beyond = calibration.apply(np.array([0.97, 1.0]))
    assert at_edge == beyond and beyond < 0.9
    assert calibration.apply(np.array([0.0]))[0] == calibration.apply(np.array([0.01]))[0]


def test_the_count_interval_never_reaches_past_the_records_counted():
    # calibrate.expected_count: the high end's clip to the records counted dropped, 1 record at probability 0.3 had
    # an interval up to 1.3 ("Both are clipped to [0, number counted]").
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.1).astype(int)
    oof = 1 / (1 + np.exp(-rng.normal(3 * y - 1.5, 1)))
    for n in (1, 2, 3):
        scores = np.r_[np.full(n, 0.6), rng.random(100) * 0.3]
        counted = np.arange(len(scores)) < n
        estimate, low, high = expected_count(oof, y, scores, counted, 0.5)
        assert 0 <= low <= estimate <= high <= n
