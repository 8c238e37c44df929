"""The fitted tail in `stack`: where the binormal ROC fitted to the blend's OOF scores flags more than F-beta's
bootstrap optimum, the threshold follows it, and the console, summary.json and the report say so."""
from __future__ import annotations

import json

import pandas as pd

from screenstack.stacking.report import write_report
from screenstack.stacking.threshold import separation

from .conftest import make_noise_run, make_run


def test_a_weak_blend_flags_what_the_fitted_tail_asks_and_says_so_everywhere(tmp_path, caplog):
    with caplog.at_level("INFO", logger="screenstack"):
        summary = make_noise_run(tmp_path, {"weak-a": 4.0, "weak-b": 4.0})  # 60 included, blend AUC about 0.74
    decision = summary["decision"]
    tail = decision["fitted_tail"]
    assert tail["lowered"] and not decision["flags_everything"] and not decision["recall_floor_lowered"]
    assert tail["bootstrap_flagged_share"] < 0.95 < decision["fbeta_flagged_share"]
    oof = pd.read_parquet(tmp_path / "blend_oof.parquet")
    assert tail["separation"] == separation(oof["label"].to_numpy(), oof["score"].to_numpy())
    assert summary["threshold"] == decision["fbeta_threshold"] < tail["bootstrap_threshold"]
    [line] = [m for m in caplog.messages if m.startswith("fitted tail:")]
    assert (f"F7's bootstrap optimum would flag {100 * tail['bootstrap_flagged_share']:.1f}% of the OOF records" in line
            and f"(d' {tail['separation']:.2f})" in line and f"flags {100 * decision['fbeta_flagged_share']:.1f}%" in line)
    assert json.loads((tmp_path / "summary.json").read_text())["decision"]["fitted_tail"]["lowered"] is True
    page = write_report(tmp_path).read_text()
    assert (f"F7's bootstrap optimum ({tail['bootstrap_threshold']:.4g}, flagging {tail['bootstrap_flagged_share']:.1%}) "
            f"was lowered to F7's optimum on the binormal ROC fitted to the OOF scores (d' {tail['separation']:.2f})") in page


def test_where_the_fitted_tail_flags_no_more_the_bootstrap_threshold_stays_and_no_tail_is_said(tmp_path, caplog):
    with caplog.at_level("INFO", logger="screenstack"):
        summary = make_run(tmp_path, seed=2)  # 4 learners ranking 7% included records well (blend AUC about 0.93)
    tail = summary["decision"]["fitted_tail"]
    assert not tail["lowered"] and summary["decision"]["fbeta_threshold"] == tail["bootstrap_threshold"]
    assert not any(m.startswith("fitted tail:") for m in caplog.messages)
    assert "binormal" not in write_report(tmp_path).read_text()
