"""The recall check: records to screen unlike the labelled ones (labels taken from the top of a ranked list)."""
from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd

from screenstack.features.artifacts.folds import FoldConfig, ensure_fold_plan
from screenstack.features.artifacts.outputs import write_learner_output
from screenstack.features.records.corpus import Corpus
from screenstack.stacking.report import write_report
from screenstack.stacking.decision import MIN_SHIFT_RECORDS, recall_check
from screenstack.stacking.stack import StackConfig, stack


def test_the_threshold_is_lowered_until_the_expected_recall_reaches_the_target():
    scores = np.linspace(1, 0, 100)
    p = np.r_[np.full(10, 0.5), np.full(90, 0.05)]  # 5 expected above 0.9, 4.5 below
    check = recall_check(scores, p, threshold=0.9, target=0.8)
    assert check["lowered"] and abs(check["expected_recall"] - 5 / 9.5) < 1e-9
    assert check["expected_recall_after"] >= 0.8
    # the highest threshold that reaches the target: one record fewer would fall short
    flagged = scores >= check["threshold"]
    assert p[flagged][:-1].sum() / p.sum() < 0.8 <= p[flagged].sum() / p.sum()
    assert check["flagged_share_before"] == 0.1 and check["flagged_share_after"] == flagged.mean()
    # midway between the last record flagged and the next: the scores as written (8 decimals) give the same flags
    assert scores[flagged].min() > check["threshold"] > scores[~flagged].max()
    written = np.round(scores, 8)
    assert np.array_equal(written >= check["threshold"], flagged)


def test_the_shares_said_count_the_records_without_text_as_flagged_as_they_are():
    scores = np.linspace(1, 0, 100)
    p = np.r_[np.full(10, 0.5), np.full(90, 0.05)]
    has_text = np.r_[np.ones(90, bool), np.zeros(10, bool)]  # the last 10: flagged whatever their score
    check = recall_check(scores, p, threshold=0.9, target=0.8, has_text=has_text)
    assert check["lowered"]
    flagged = (scores >= check["threshold"]) | ~has_text
    assert check["flagged_share_before"] == (10 + 10) / 100 and check["flagged_share_after"] == flagged.mean()


def test_records_like_the_labelled_ones_too_few_records_or_none_without_text_change_nothing():
    scores = np.linspace(1, 0, 100)
    assert not recall_check(scores, scores, threshold=0.3, target=0.8)["lowered"]  # already 0.91 expected above
    few = np.linspace(1, 0, MIN_SHIFT_RECORDS - 1)
    assert not recall_check(few, np.full(len(few), 0.1), threshold=0.9, target=0.8)["lowered"]
    # records without text are flagged anyway: their probabilities do not count
    p = np.r_[np.full(60, 0.01), np.full(40, 0.5)]
    has_text = np.r_[np.ones(60, bool), np.zeros(40, bool)]
    assert not recall_check(scores, p, threshold=0.5, target=0.6, has_text=has_text)["lowered"]
    assert recall_check(scores, p, threshold=0.5, target=0.6)["lowered"]


def _top_labelled_run(out):
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
    return stack(out, StackConfig())


def test_records_to_screen_unlike_the_labelled_ones_lower_the_threshold_and_say_so(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="screenstack"):
        summary = _top_labelled_run(tmp_path)
    check, honest = summary["decision"]["recall_check"], summary["honest"]
    assert check["lowered"] and check["expected_recall"] < honest["recall_interval"][0] <= check["expected_recall_after"]
    assert summary["threshold"] == check["threshold"] < check["threshold_before"]
    assert summary["n_test_flagged"] == round(check["flagged_share_after"] * 400) > round(check["flagged_share_before"] * 400)
    submission = pd.read_csv(tmp_path / "submission.csv", header=None)
    assert submission[1].sum() == summary["n_test_flagged"]
    assert any(m.startswith("recall check: the calibrated probabilities put") for m in caplog.messages)
    assert any("look unlike the records to screen" in w and "random sample" in w for w in summary["warnings"])
    assert json.loads((tmp_path / "summary.json").read_text())["decision"]["recall_check"]["lowered"] is True
    html = write_report(tmp_path).read_text()
    assert "lowered by the recall check" in html
    # The honest figures measure the threshold before the check: they say so, here and in the report.
    assert "recall check" in honest["threshold_lowered_by"]
    assert "the recall check lowered the one applied to the records to screen" in next(
        m for m in caplog.messages if m.startswith("honest estimate"))
    assert "These honest figures are of the threshold chosen on the labelled records" in html


def test_records_to_screen_like_the_labelled_ones_keep_the_threshold(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["decision"]["recall_check"]["lowered"] is False
    assert summary["decision"]["recall_check"]["expected_recall"] >= summary["honest"]["recall_interval"][0]
