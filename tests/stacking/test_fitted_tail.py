"""The fitted tail in `stack`: where the binormal ROC fitted to the blend's OOF scores flags more than F-beta's
bootstrap optimum, the threshold follows it, and the console, summary.json and the report say so."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from screenstack.stacking.report import write_report
from screenstack.stacking.threshold import separation

from .conftest import make_noise_run, make_run

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"


def test_a_weak_blend_flags_what_the_fitted_tail_asks_and_says_so_everywhere(tmp_path, caplog):
    with caplog.at_level("INFO", logger="screenstack"):
        # 15 included, ranked weakly: the fit weighs 30 against their 15 (60, as before 0.3.27, now outweigh it)
        summary = make_noise_run(tmp_path, {"weak-a": 4.0, "weak-b": 4.0}, n_train=150)
    decision = summary["decision"]
    tail = decision["fitted_tail"]
    assert tail["lowered"] and not decision["flags_everything"] and not decision["recall_floor_lowered"]
    assert tail["bootstrap_flagged_share"] < 0.6 < 0.8 < tail["flagged_share"] == decision["fbeta_flagged_share"]
    oof = pd.read_parquet(tmp_path / "blend_oof.parquet")
    assert tail["separation"] == separation(oof["label"].to_numpy(), oof["score"].to_numpy())
    assert summary["threshold"] == decision["fbeta_threshold"] == tail["threshold"] < tail["bootstrap_threshold"]
    [line] = [m for m in caplog.messages if m.startswith("fitted tail:")]
    assert (f"F7's bootstrap optimum would flag {100 * tail['bootstrap_flagged_share']:.1f}% of the OOF records" in line
            and f"(d' {tail['separation']:.2f}), weighed as 30 included records beside the 15 labelled ones," in line
            and f"flags {100 * tail['flagged_share']:.1f}%" in line)
    assert json.loads((tmp_path / "summary.json").read_text())["decision"]["fitted_tail"]["lowered"] is True
    page = write_report(tmp_path).read_text()
    assert (f"F7's bootstrap optimum ({tail['bootstrap_threshold']:.4g}, flagging {tail['bootstrap_flagged_share']:.1%}) "
            f"was lowered to {tail['threshold']:.4g} (flagging {tail['flagged_share']:.1%}), F7's optimum on the binormal ROC "
            f"fitted to the OOF scores (d' {tail['separation']:.2f}), weighed as 30 included records beside the 15 labelled "
            "ones, which expects") in page


def test_where_the_fitted_tail_flags_no_more_the_bootstrap_threshold_stays_and_no_tail_is_said(tmp_path, caplog):
    with caplog.at_level("INFO", logger="screenstack"):
        summary = make_run(tmp_path, seed=2)  # 4 learners ranking 7% included records well (blend AUC about 0.93)
    tail = summary["decision"]["fitted_tail"]
    assert not tail["lowered"] and summary["decision"]["fbeta_threshold"] == tail["bootstrap_threshold"]
    assert not any(m.startswith("fitted tail:") for m in caplog.messages)
    assert "binormal" not in write_report(tmp_path).read_text()


def test_the_fitted_tail_is_judged_on_the_labelled_records_alone_not_at_the_label_shifts_weight(tmp_path, caplog):
    """5 included training records among 400, records to screen far richer: the label shift lowers the threshold.
    What the fitted tail says is what it did to the labelled records' own threshold, with or without the shift (a
    helper's run had it claim the shift's work: "fitted tail: ... flags 84.4%", then "label shift: ... instead of 29.1%")."""
    from screenstack.cli import main

    data = pd.read_csv(DATASETS / "kitchenham_2010.csv", dtype=str, keep_default_na=False)
    included, excluded = data[data["label_included"] == "1"], data[data["label_included"] == "0"]
    train = pd.concat([included.iloc[:5], excluded.iloc[:400]])
    test = pd.concat([included.iloc[5:40], excluded.iloc[400:665]])
    columns = ["record_id", "title", "abstract"]
    train[[*columns, "label_included"]].to_csv(tmp_path / "train.csv", index=False)
    test[columns].to_csv(tmp_path / "test.csv", index=False)
    decisions, out = {}, tmp_path / "run"
    for max_shift in ("20", "1"):  # the learners fitted once, stacked under each
        caplog.clear()
        with caplog.at_level("INFO", logger="screenstack"):
            assert main(["run", "--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv"), "--learners",
                         "tfidf-svm,tfidf-logreg", "--max-shift", max_shift, "--out", str(out)]) == 0
        decisions[max_shift] = (json.loads((out / "summary.json").read_text())["decision"],
                                [m for m in caplog.messages if m.startswith("fitted tail:")])
    (shifted, said), (unshifted, said_unshifted) = decisions["20"], decisions["1"]
    assert shifted["shift"]["lowered"] and shifted["shift"]["weight"] > 1
    assert shifted["fitted_tail"] == unshifted["fitted_tail"] and said == said_unshifted
    # The shift starts from the labelled records' threshold, which is no higher than the fitted tail's.
    assert shifted["shift"]["threshold_before"] <= shifted["fitted_tail"]["threshold"]


def test_under_the_honest_floor_or_the_argmax_rule_no_fitted_tail_is_claimed(tmp_path):
    floored = make_noise_run(tmp_path / "floor", {"weak-a": 4.0, "weak-b": 4.0}, seed=1)["decision"]
    assert floored["flags_everything"] and not floored["fitted_tail"]["lowered"]
    assert make_noise_run(tmp_path / "argmax", {"weak-a": 4.0, "weak-b": 4.0}, threshold_rule="argmax")["decision"][
        "fitted_tail"] is None
