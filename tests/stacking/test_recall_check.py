"""The recall check: records to screen unlike the labelled ones (labels taken from the top of a ranked list) are
said in a warning; the threshold stays as chosen (0.3.7-0.3.19 lowered it, at a cost in F7)."""
from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from screenstack.features.artifacts.folds import FoldConfig, ensure_fold_plan
from screenstack.features.artifacts.outputs import write_learner_output
from screenstack.features.records.corpus import Corpus
from screenstack.stacking.calibrate import fit_calibration
from screenstack.stacking.decision import recall_check, screen
from screenstack.stacking.set_apart import MIN_SHIFT_RECORDS
from screenstack.stacking.report import write_report
from screenstack.stacking.stack import StackConfig, stack


def test_an_expected_recall_below_the_honest_interval_is_found():
    scores = np.linspace(1, 0, 100)
    p = np.r_[np.full(10, 0.5), np.full(90, 0.05)]  # 5 expected above 0.9, 4.5 below
    check = recall_check(scores >= 0.9, p, target=0.8)
    assert check["below_interval"] and abs(check["expected_recall"] - 5 / 9.5) < 1e-9
    assert not recall_check(scores >= 0.9, p, target=0.5)["below_interval"]
    # helper-172: `--min-recall 1` was told of "a recall of 1.000, below the honest recall's 95% interval (1.000-1.000)"
    p = np.r_[np.full(99, 0.5), 3.5e-5]  # expected 0.99993 above the threshold, shown 1.000 as the interval's 1.000
    check = recall_check(scores >= 0.001, p, target=1.0)
    assert f"{check['expected_recall']:.3f}" == "1.000" and check["expected_recall"] < 1 and not check["below_interval"]
    assert recall_check(scores >= 0.001, p, target=1.0)["checked"]
    p = np.r_[np.full(99, 0.5), 0.05]  # 0.9990: shown below 1.000, and said so
    assert recall_check(scores >= 0.001, p, target=1.0)["below_interval"]


def test_records_like_the_labelled_ones_too_few_records_or_none_without_text_are_not_found_short():
    scores = np.linspace(1, 0, 100)
    assert not recall_check(scores >= 0.3, scores, target=0.8)["below_interval"]  # already 0.91 expected above
    few = np.linspace(1, 0, MIN_SHIFT_RECORDS - 1)
    unchecked = recall_check(few >= 0.9, np.full(len(few), 0.1), target=0.8)
    assert not unchecked["checked"] and not unchecked["below_interval"] and "expected_recall" not in unchecked
    assert recall_check(scores >= 0.3, scores, target=0.8)["checked"]
    # records without text are flagged anyway: their probabilities do not count
    p = np.r_[np.full(60, 0.01), np.full(40, 0.5)]
    has_text = np.r_[np.ones(60, bool), np.zeros(40, bool)]
    assert not recall_check(scores >= 0.5, p, target=0.6, has_text=has_text)["below_interval"]
    assert recall_check(scores >= 0.5, p, target=0.6)["below_interval"]


def _top_labelled_run(out, config=StackConfig()):
    """Labelled records whose included ones stand out (taken from the top of an earlier ranking) and records to screen
    whose included ones do not: the threshold chosen on the labelled records finds few of them."""
    rng = np.random.default_rng(0)
    n_train, n_test = 400, 400
    label = np.zeros(n_train + n_test)
    label[:n_train:8] = 1
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(len(label))], "title": "t", "abstract": "a", "label": label,
                          "split": ["train"] * n_train + ["test"] * n_test})
    frame.loc[n_train:, "label"] = np.nan
    corpus = Corpus(frame)
    plan = ensure_fold_plan(corpus, out, FoldConfig(n_folds=5, seed=0))
    # a few records that stand out, then many just below where the labelled included ones begin
    test_signal = np.r_[rng.normal(3.0, 0.3, 3), rng.normal(-0.6, 0.3, 300), rng.normal(-3.0, 0.5, n_test - 303)]
    for name, noise in {"tfidf-svm": 1.5, "tfidf-logreg": 1.6}.items():
        train = 3.0 * label[:n_train] + noise * rng.normal(size=n_train) - 1.0
        write_learner_output(out, name, plan, 1 / (1 + np.exp(-train)), corpus.test["id"],
                             1 / (1 + np.exp(-(test_signal + 0.3 * rng.normal(size=n_test)))), {"learner": name})
    return stack(out, config)


def test_records_to_screen_unlike_the_labelled_ones_are_warned_of_and_the_threshold_stays(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="screenstack"):
        summary = _top_labelled_run(tmp_path)
    check, honest = summary["decision"]["recall_check"], summary["honest"]
    assert check["below_interval"] and check["expected_recall"] < honest["recall_interval"][0]
    [warning] = [w for w in summary["warnings"] if "look unlike the records to screen" in w]
    low, high = honest["recall_interval"]
    assert warning.startswith(f"the labelled records look unlike the records to screen: at the threshold, the calibrated "
                              f"probabilities of the records to screen (Platt's, calibration.json, before ranked.csv's "
                              f"scaling) expect a recall of {check['expected_recall']:.3f}, "
                              f"below the honest recall's 95% interval ({low:.3f}-{high:.3f}), which may then overstate")
    assert "label a random sample of the records left" in warning
    assert warning in [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    # Only said: the threshold is the one chosen on the labelled records (less the shift correction's, if any), and
    # the honest figures measure it.
    assert summary["threshold"] == summary["blend"]["threshold"]
    assert "recall check" not in honest["threshold_lowered_by"]
    submission = pd.read_csv(tmp_path / "submission.csv", header=None)
    scores = pd.read_csv(tmp_path / "test_scores.csv")["score"].to_numpy()
    assert submission[1].sum() == summary["n_test_flagged"] == int((scores >= summary["threshold"]).sum())
    assert json.loads((tmp_path / "summary.json").read_text())["decision"]["recall_check"]["below_interval"] is True
    assert "look unlike the records to screen" in write_report(tmp_path).read_text()


def test_records_to_screen_like_the_labelled_ones_are_not_warned_of(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["decision"]["recall_check"]["below_interval"] is False
    assert summary["decision"]["recall_check"]["expected_recall"] >= summary["honest"]["recall_interval"][0]
    assert not [w for w in summary["warnings"] if "look unlike" in w]


def test_the_check_asks_platts_probabilities_not_the_counts_scaled_ones():
    # Labels from the top of a ranking: all 20 included labelled records score high, so the counts' scale (fitted on
    # them) shrinks whatever lies below the threshold, and asked with it the check saw an expected recall of 0.94 here
    # where 10 of the 70 included records to screen score above the threshold. Platt's probabilities say 0.85.
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(20, int), np.zeros(280, int)]
    oof = 1 / (1 + np.exp(-np.r_[rng.normal(2, 0.5, 20), rng.normal(-2, 1.5, 280)]))
    test = 1 / (1 + np.exp(-np.r_[rng.normal(2, 0.5, 10), rng.normal(-0.8, 0.5, 60), rng.normal(-2, 1.5, 930)]))
    screened = screen(y, oof, fit_calibration(oof, y), test, 0.5, {}, 0.9, 0, None)
    assert screened.screening["count_scale"]["below"] < 0.5
    assert screened.recall_check["below_interval"] and screened.recall_check["expected_recall"] < 0.86


def _scores(y, rng, strength=1.5):
    return 1 / (1 + np.exp(-rng.normal(np.where(np.asarray(y) == 1, strength, -strength), 1.0)))


def test_the_recall_check_counts_copies_of_labelled_records_at_their_label():
    # decision.screen: `unscaled[known] = probabilities[known]`. Dropped, copies of labelled papers entered the recall
    # check at their calibrated chance (a copy of an included paper at 0.6, of an excluded one at 0.1), not as known.
    rng = np.random.default_rng(4)
    y = (rng.random(400) < 0.1).astype(int)
    oof, test = _scores(y, rng), _scores((rng.random(300) < 0.1).astype(int), rng)
    calibration, threshold = fit_calibration(oof, y), float(np.quantile(test, 0.6))
    order = np.argsort(test)
    included_copies, excluded_copies = order[-10:], order[:60]  # at the top, and at the bottom
    records = pd.DataFrame({"copy_label": [""] * len(test)})
    records.loc[included_copies, "copy_label"], records.loc[excluded_copies, "copy_label"] = "1", "0"
    screened = screen(y, oof, calibration, test, threshold, {}, 0.9, 0, records)
    p = calibration.apply(test)
    p[included_copies], p[excluded_copies] = 1.0, 0.0
    assert screened.recall_check["expected_recall"] == pytest.approx(p[test >= threshold].sum() / p.sum())


def test_the_recall_check_counts_a_flagged_copy_of_an_included_paper_as_found_whatever_its_score():
    # `screen` flags copies of included labelled papers whatever their score (`flag_included_copies`) and puts them in
    # the recall check at probability 1; before 0.3.56 the check counted a record as found by its score, so each
    # flagged copy scoring below the threshold was a sure miss (helper-181): 15 such copies among 300 records took the
    # expected recall to 0.637 (0.990 counted as flagged) and raised the "labelled records look unlike the records to
    # screen" warning, every one of them flagged.
    rng = np.random.default_rng(4)
    y = (rng.random(400) < 0.1).astype(int)
    oof, test = _scores(y, rng), _scores((rng.random(300) < 0.1).astype(int), rng)
    threshold = float(np.quantile(test, 0.6))
    low = np.argsort(test)[:15]
    records = pd.DataFrame({"copy_label": [""] * len(test)})
    records.loc[low, "copy_label"] = "1"
    screened = screen(y, oof, fit_calibration(oof, y), test, threshold, {}, 0.9, 0, records)
    assert screened.decisions[low].all()
    assert not screened.recall_check["below_interval"]
