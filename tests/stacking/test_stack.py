"""`stack`: the files it writes, its honesty, its determinism and its refusals."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from screenstack.features.errors import ScreenstackError
from screenstack.features.artifacts.outputs import read_learner_outputs, write_learner_output
from screenstack.features.artifacts.folds import load_fold_plan
from screenstack.stacking.blend import BLENDERS, load_blend, make_blender, nested_oof
from screenstack.stacking.report import write_report
from screenstack.stacking.stack import StackConfig, stack
from screenstack.stacking.stack_said import percent, stack_warnings

from .conftest import LEARNERS, make_noise_run, make_run


def test_submission_is_headerless_id_decision_in_test_order(run_dir):
    submission = pd.read_csv(run_dir / "submission.csv", header=None, names=["id", "judgement"], dtype={"id": str})
    test = pd.read_parquet(run_dir / "learners" / "tfidf-svm" / "test.parquet")
    assert submission["id"].tolist() == test["id"].tolist()
    assert set(submission["judgement"]) <= {0, 1}
    scores = pd.read_csv(run_dir / "test_scores.csv", dtype={"id": str})
    assert list(scores.columns) == ["id", "score"] and scores["id"].tolist() == test["id"].tolist()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (submission["judgement"] == (scores["score"] >= summary["threshold"]).astype(int)).all()


def test_summary_reports_every_learner_and_the_blend(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    keys = {"fbeta", "fbeta_honest", "recall", "precision", "roc_auc", "average_precision", "wss95", "threshold"}
    assert set(summary["learners"]) == set(LEARNERS)
    for metrics in [*summary["learners"].values(), summary["blend"]]:
        assert keys <= set(metrics)
    assert summary["beta"] == 7.0 and summary["fold_plan"]["n_folds"] == 5
    assert set(summary["blend_candidates"]) == set(BLENDERS)
    assert "numpy" in summary["versions"]


def test_same_inputs_give_byte_identical_outputs(tmp_path):
    make_run(tmp_path / "a")
    make_run(tmp_path / "b")
    for name in ("submission.csv", "test_scores.csv", "blend_oof.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@pytest.mark.parametrize("method", list(BLENDERS))
def test_a_blenders_nested_oof_scores_ignore_their_folds_labels(run_dir, method):
    plan = load_fold_plan(run_dir)
    Z = np.column_stack([pd.read_parquet(run_dir / "learners" / n / "oof.parquet")["score"] for n in LEARNERS])
    before = nested_oof(make_blender(method), Z, plan.labels, plan.folds)
    flipped = plan.labels.copy()
    inside = plan.folds == 2
    flipped[inside] = 1 - flipped[inside]
    after = nested_oof(make_blender(method), Z, flipped, plan.folds)
    np.testing.assert_array_equal(before[inside], after[inside])
    if method != "rank-average":  # the only blender that reads no labels
        assert not np.array_equal(before[~inside], after[~inside])


def test_blending_beats_the_weakest_learner(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    weakest = min(m["roc_auc"] for m in summary["learners"].values())
    assert summary["blend"]["roc_auc"] > weakest


def test_unknown_blend_or_learner_is_refused_naming_the_valid_ones(run_dir):
    with pytest.raises(ScreenstackError, match="logistic"):
        stack(run_dir, StackConfig(blend="magic"))
    with pytest.raises(ScreenstackError, match=r"nope is not a learner in .*\(found: lightgbm"):
        stack(run_dir, StackConfig(learners=("nope",)))


def test_a_learner_from_another_fold_plan_is_refused(tmp_path):
    make_run(tmp_path)
    plan = load_fold_plan(tmp_path)
    shuffled = type(plan)(plan.ids, plan.labels, np.roll(plan.folds, 1), plan.meta)
    test_ids = pd.read_parquet(tmp_path / "learners" / "logreg" / "test.parquet")["id"]
    write_learner_output(tmp_path, "stray", shuffled, np.full(len(plan.ids), 0.5), test_ids, np.full(len(test_ids), 0.5), {})
    with pytest.raises(ScreenstackError, match="do not follow"):
        stack(tmp_path)


def test_a_learner_that_lists_the_records_to_screen_in_another_order_is_refused(tmp_path):
    # Blended as they stood, each record's score would be averaged with another record's (helper-179's mutation: with
    # this check gone no test failed, and the submission mixed records).
    make_run(tmp_path)
    plan = load_fold_plan(tmp_path)
    oof = pd.read_parquet(tmp_path / "learners" / "logreg" / "oof.parquet")
    test = pd.read_parquet(tmp_path / "learners" / "logreg" / "test.parquet")
    write_learner_output(tmp_path, "logreg", plan, oof["score"].to_numpy(), test["id"].to_numpy()[::-1],
                         test["score"].to_numpy()[::-1], {"learner": "logreg"})
    with pytest.raises(ScreenstackError, match=r"learners/tfidf-svm: scored other test records than logreg"):
        stack(tmp_path, StackConfig(learners=("logreg", "tfidf-svm")))


def test_no_learner_outputs_says_which_command_to_run(tmp_path):
    with pytest.raises(ScreenstackError, match="fit-learners"):
        stack(tmp_path)


def _few_included_run(out, included: int = 3):
    """A run folder whose training records hold only `included` included records, ranked near the top by every learner."""
    from screenstack.features.records.corpus import Corpus
    from screenstack.features.artifacts.folds import FoldConfig, ensure_fold_plan

    rng = np.random.default_rng(1)
    n_train, n_test = 400, 200
    label = np.zeros(n_train + n_test)
    label[:included] = 1
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(len(label))], "title": "t", "abstract": "a", "label": label,
                          "split": ["train"] * n_train + ["test"] * n_test})
    frame.loc[n_train:, "label"] = np.nan
    corpus = Corpus(frame)
    plan = ensure_fold_plan(corpus, out, FoldConfig(n_folds=5, seed=0))
    for name, noise in LEARNERS.items():
        score = 1 / (1 + np.exp(-(3.0 * label + noise * rng.normal(size=len(label)) - 2)))
        write_learner_output(out, name, plan, score[:n_train], corpus.test["id"], score[n_train:], {"learner": name})


def test_with_three_included_records_the_recall_floor_flags_most_records_and_says_so(tmp_path, caplog):
    _few_included_run(tmp_path)
    with caplog.at_level("INFO", logger="screenstack"):
        summary = stack(tmp_path)
    decision = summary["decision"]
    assert summary["blend"]["method"] == "rank-average"  # too few included records to fit blend weights
    # With the recall prior 0.35, 3 included records need 52% flagged for an estimated recall of 95%:
    # (3 + 0.35 f) / 3.35 >= 0.95. (The shift EM sees, 2.3 times, changes nothing: the blend separates them, d' 3.0.)
    assert decision["recall_floor_lowered"] and decision["oof_flagged_share"] >= 0.52 > 0.1 > decision["fbeta_flagged_share"]
    assert not decision["shift"]["lowered"] and not decision["shift"]["prior_scaled"]
    assert summary["n_test_flagged"] >= 0.45 * summary["n_test"]
    floor_lines = [message for message in caplog.messages if "recall floor" in message]
    assert floor_lines and "--min-recall 0.9" in floor_lines[0]  # the way out for labels that are a random sample
    caplog.clear()
    with caplog.at_level("INFO", logger="screenstack"):
        stack(tmp_path, StackConfig(min_recall=0.9, prior_positives=1.0))  # a prior under which 0.9 still needs the floor
    floor_lines = [message for message in caplog.messages if "recall floor" in message]
    assert floor_lines and "--min-recall 0.9" not in floor_lines[0]  # not suggested to who already uses it
    stack(tmp_path)  # the report says it too, where the floor is the default's
    assert "<code>--min-recall 0.9 --max-shift 1</code> flags fewer" in write_report(tmp_path).read_text()
    # Without the floor, F-beta alone flags a small share: the floor is what made the difference.
    bare = stack(tmp_path, StackConfig(min_recall=0.0))
    assert not bare["decision"]["recall_floor_lowered"] and bare["n_test_flagged"] < summary["n_test_flagged"]


def test_with_many_included_records_the_floor_changes_nothing(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["n_train_included"] >= 20 and summary["blend"]["method"] == "logistic"
    assert not summary["decision"]["recall_floor_lowered"]


def test_same_inputs_give_byte_identical_ranked_list_calibration_and_summary(tmp_path):
    make_run(tmp_path / "a", n_train=300, n_test=40)
    make_run(tmp_path / "b", n_train=300, n_test=40)
    for name in ("ranked.csv", "calibration.json", "summary.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_summary_holds_honest_figures_whose_intervals_hold_them(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    honest, screening = summary["honest"], summary["screening"]
    low, high = honest["fbeta_interval"]
    assert 0 <= low <= honest["fbeta"] <= high <= 1 and high - low > 0.01
    low, high = honest["recall_interval"]
    assert low <= honest["recall"] == honest["found"] / honest["included"] <= high
    assert honest["included"] == summary["n_train_included"]
    assert screening["n_flagged"] == summary["n_test_flagged"] and screening["n_records"] == summary["n_test"]
    assert screening["expected_flagged"] + screening["expected_below"] == pytest.approx(screening["expected_included"])
    low, high = screening["expected_below_interval"]
    assert 0 <= low <= screening["expected_below"] <= high <= summary["n_test"] - summary["n_test_flagged"]
    low, high = screening["expected_flagged_interval"]  # the count a reviewer reads against: not a bare figure
    assert 0 <= low < screening["expected_flagged"] < high <= summary["n_test_flagged"]
    assert summary["warnings"] == []  # a good ranking, many included records, no learner far ahead


def test_console_leads_with_the_honest_estimate_then_the_records_to_screen(tmp_path, caplog):
    with caplog.at_level("INFO", logger="screenstack"):
        summary = make_run(tmp_path, n_train=300, n_test=40)
    lines = [m for m in caplog.messages if m.startswith(("honest estimate", f"{summary['n_test_flagged']} of 40 records", "blend "))]
    assert [line.split()[0] for line in lines] == ["honest", str(summary["n_test_flagged"]), "blend"]
    assert "95% interval" in lines[0] and "included training records found" in lines[0]
    assert "expected relevant among them" in lines[1] and "left below the threshold" in lines[1]
    assert "expected relevant among them {:.1f} (95% interval {:.1f}-{:.1f})".format(
        summary["screening"]["expected_flagged"], *summary["screening"]["expected_flagged_interval"]) in lines[1]


def test_a_learner_far_ahead_of_the_blend_is_named_in_a_warning(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="screenstack"):
        summary = make_noise_run(tmp_path, {"good": 0.7, "noise-a": np.inf, "noise-b": np.inf, "noise-c": np.inf}, blend="rank-average")
    assert summary["learners"]["good"]["fbeta_honest"] > summary["blend"]["fbeta_honest"] + 0.02
    [warning] = [w for w in summary["warnings"] if "beats the blend" in w]
    assert warning.startswith("good alone beats the blend on honest OOF F7")
    # The command with the stack's other options (helper-158: `--learners good` alone lost a --beta 5)
    assert warning.endswith("consider `screenstack stack --out OUT --blend rank-average --learners good` (OUT this run "
                            "folder); nothing is refitted")
    # summary.json names no folder (the same bytes wherever it is); the console names this one, to be pasted (helper-160)
    said = warning.replace("--out OUT ", f"--out {tmp_path} ").replace(" (OUT this run folder)", "")
    assert said in caplog.messages and warning not in caplog.messages
    # Where the blend weighs that learner alone (`--learners good`, or the others weighed 0), the advice would change nothing.
    alone = {**summary, "blend": {**summary["blend"], "weights": {name: float(name == "good") for name in summary["learners"]}}}
    assert not any("beats the blend" in w for w in stack_warnings(alone))


def test_following_the_warning_gives_the_figure_it_quoted(tmp_path):
    # A blend of one column reorders the pooled OOF records fold by fold (a helper: 0.896 quoted, 0.830 after following it).
    summary = make_noise_run(tmp_path, {"good": 0.7, "noise-a": np.inf, "noise-b": np.inf, "noise-c": np.inf}, blend="rank-average")
    [warning] = [w for w in summary["warnings"] if "beats the blend" in w]
    quoted = summary["learners"]["good"]
    for blend in ("auto", "logistic"):
        alone = stack(tmp_path, StackConfig(learners=("good",), blend=blend))
        assert alone["blend"]["method"] == "single" and alone["blend"]["weights"] == {"good": 1.0}
        assert f"({quoted['fbeta_honest']:.3f} against" in warning and alone["honest"]["fbeta"] == quoted["fbeta_honest"]
        assert alone["blend"]["roc_auc"] == quoted["roc_auc"] and not alone["warnings"]
        assert list(alone["blend_candidates"]) == ["single"]  # blends of one column are no candidates
    scores = pd.read_csv(tmp_path / "test_scores.csv")["score"].to_numpy()
    state = json.loads((tmp_path / "blend.json").read_text())
    assert state["method"] == "single" and state["learners"] == ["good"]
    own = read_learner_outputs(tmp_path, ("good",))["good"][1]["score"].to_numpy()
    assert np.abs(scores - own).max() < 1e-8  # the learner's own test scores (written to 8 decimals)
    assert np.array_equal(load_blend(state).predict(own[:, None]), own)  # as predict applies the run's blend.json


def test_with_ten_included_records_a_learners_lead_is_not_taken_for_a_real_one(tmp_path):
    noises = {"good": 0.7, "noise-a": np.inf, "noise-b": np.inf, "noise-c": np.inf}
    summary = make_noise_run(tmp_path, noises, n_train=100, blend="rank-average")
    assert summary["n_train_included"] == 10
    assert summary["best_learner"]["fbeta_honest"] > summary["blend"]["fbeta_honest"] + 0.02
    assert not any("beats the blend" in w for w in summary["warnings"])


def test_a_blend_that_barely_ranks_is_said_to_and_its_flag_everything_threshold_too(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="screenstack"):
        summary = make_noise_run(tmp_path, {"weak-a": 8.0, "weak-b": 8.0}, seed=0)
    assert 0.55 <= summary["blend"]["roc_auc"] < 0.6 and not summary["decision"]["ranks_at_chance"]
    assert any(w.startswith("the blend cannot rank these records: honest OOF ROC-AUC") for w in summary["warnings"])
    if summary["decision"]["flagged_share"] > 0.9:
        assert sum(w.startswith("the threshold flags") for w in summary["warnings"]) == 1
    assert all(w in caplog.messages for w in summary["warnings"])


def test_two_included_records_flag_nearly_everything_with_one_warning(tmp_path):
    _few_included_run(tmp_path, included=2)
    summary = stack(tmp_path, StackConfig(prior_positives=3))  # the floor flags 92% of records
    decision = summary["decision"]
    assert decision["oof_flagged_share"] > 0.9
    assert decision["flagged_share"] == summary["n_test_flagged"] / summary["n_test"] > 0.9
    flags = [w for w in summary["warnings"] if w.startswith("the threshold flags")]
    assert len(flags) == 1 and flags[0].startswith(f"the threshold flags {percent(decision['flagged_share'])} of the records "
                                                   "to screen: --recall-prior 3 (default 0.35) asks for more recall than 2 "
                                                   "included training records can vouch for")
    summary["config"]["prior_positives"] = StackConfig.prior_positives  # the defaults: the labels are what is short
    assert any(w.startswith(f"the threshold flags {percent(decision['flagged_share'])} of the records to screen: 2 included "
                            "training records") and w.endswith("label more records to flag fewer") for w in stack_warnings(summary))


def test_a_raised_recall_floor_is_named_as_what_flags_nearly_everything(tmp_path):
    """A helper's `stack --min-recall 1` flagged every record and was told to label more records, which flag as many."""
    _few_included_run(tmp_path, included=2)
    summary = stack(tmp_path, StackConfig(min_recall=1.0, prior_positives=3))
    assert [w for w in summary["warnings"] if w.startswith("the threshold flags")] == [
        f"the threshold flags {percent(summary['decision']['flagged_share'])} of the records to screen: --min-recall 1 "
        "(default 0.95) and --recall-prior 3 (default 0.35) ask for more recall than 2 included training records can vouch "
        "for at a tighter threshold; a lower value, or more labelled records, may flag fewer"]


def test_the_warning_judges_the_share_of_the_records_to_screen_not_of_the_oof_records(tmp_path):
    """A reviewer's run flagged 330 of 350 records to screen (94%) with no warning: the OOF share was 87%."""
    _few_included_run(tmp_path, included=2)
    summary = stack(tmp_path, StackConfig(prior_positives=3))
    decision = summary["decision"]
    decision.update(oof_flagged_share=0.87, flagged_share=0.94)
    assert any(w.startswith("the threshold flags 94% of the records to screen") for w in stack_warnings(summary))
    decision.update(oof_flagged_share=0.94, flagged_share=0.87)
    assert not any(w.startswith("the threshold flags") for w in stack_warnings(summary))
    del decision["flagged_share"]  # a summary.json from before 0.3.4: the OOF share, said so
    assert any(w.startswith("the threshold flags 94% of the OOF records") for w in stack_warnings(summary))
    # A handful of records to screen, all flagged, says nothing of the labels (helper-160: a test file of one record
    # was "100% ... a weak ranking" at AUC 0.93): below 50 that reason is not given, as predict's updates, but the
    # others are (helper-162: the OOF share in their place mixed two files' figures and silenced a --beta 20).
    decision.update(oof_flagged_share=0.6, flagged_share=1.0)
    summary["config"]["prior_positives"] = StackConfig.prior_positives  # the defaults: the labels are what is short
    for records, warned in ((1, False), (49, False), (50, True)):
        summary["screening"]["n_records"] = records
        assert any(w.startswith("the threshold flags 100% of the records to screen: 2 included training records")
                   for w in stack_warnings(summary)) == warned
    summary["beta"], decision["recall_floor_lowered"], summary["screening"]["n_records"] = 20.0, False, 1
    assert any(w.startswith("the threshold flags 100% of the records to screen: --beta 20") for w in stack_warnings(summary))


def test_a_large_beta_is_named_as_what_flags_nearly_everything_and_a_share_short_of_all_is_not_100(tmp_path):
    """--beta 1000 on a well-ranked review flagged 425 of 426 records; the warning said "100%" and blamed a weak ranking."""
    _few_included_run(tmp_path, included=2)
    summary = stack(tmp_path, StackConfig(prior_positives=3))
    decision = summary["decision"]
    decision.update(recall_floor_lowered=False, flagged_share=425 / 426)
    summary["beta"] = 1000.0
    assert [w for w in stack_warnings(summary) if w.startswith("the threshold flags")] == [
        "the threshold flags 99.8% of the records to screen: --beta 1000 counts a missed included record 1e+06 times an "
        "extra read, so flagging nearly everything scores best; a smaller --beta flags fewer"]
    summary["beta"], summary["config"]["prior_positives"] = 7.0, StackConfig.prior_positives
    assert any(w.startswith("the threshold flags 99.8% of the records to screen: 2 included training records and a weak "
                            "ranking") for w in stack_warnings(summary))


def test_records_without_title_or_abstract_are_flagged_and_counted(tmp_path, caplog):
    """No learner can rank a record without text, so `stack` flags it whatever its score, and says how many."""
    from screenstack.features.artifacts.folds import FoldConfig, ensure_fold_plan
    from screenstack.features.artifacts.records import write_screening_records
    from screenstack.features.records.corpus import Corpus

    rng = np.random.default_rng(0)
    n_train, n_test = 400, 60
    n = n_train + n_test
    label = np.zeros(n)
    label[:n_train:10] = 1
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "title": "t", "abstract": "a", "label": label,
                          "split": ["train"] * n_train + ["test"] * n_test})
    frame.loc[n_train:, "label"] = np.nan
    textless = [f"r{i}" for i in (n_train + 1, n_train + 7, n_train + 30)]
    frame.loc[frame["id"].isin(textless), ["title", "abstract"]] = ""
    corpus = Corpus(frame)
    out = tmp_path / "run"
    plan = ensure_fold_plan(corpus, out, FoldConfig(n_folds=5, seed=0))
    signal = 3.0 * label + rng.normal(size=n)
    signal[frame["id"].isin(textless).to_numpy()] = -10  # an empty text's score: the lowest of all
    for name in ("tfidf-svm", "logreg"):
        score = 1 / (1 + np.exp(-(signal + rng.normal(size=n) - 2)))
        write_learner_output(out, name, plan, score[:n_train], corpus.test["id"], score[n_train:], {"learner": name})
    write_screening_records(out, corpus)
    with caplog.at_level("INFO", logger="screenstack"):
        summary = stack(out, StackConfig(beta=7.0, min_recall=0))
    submission = pd.read_csv(out / "submission.csv", header=None, names=["id", "decision"]).set_index("id")["decision"]
    assert (submission[textless] == 1).all()
    assert summary["decision"]["flagged_without_text"] == 3
    assert summary["n_test_flagged"] == int(submission.sum()) < n_test  # the threshold still decides the others
    assert any(m.startswith("3 record(s) to screen have neither title nor abstract") and "(3 of them scored below the threshold)" in m
               for m in caplog.messages)
    ranked = pd.read_csv(out / "ranked.csv", dtype=str)
    assert (ranked.set_index("id").loc[textless, "decision"] == "1").all()
    # A reviewer reads down to the last flagged row, in order of the chance of inclusion: the textless records, lowest
    # scored, sit at the labelled share's probability (10%), after the records with text as likely, before the others.
    flagged = int(submission.sum())
    assert (ranked["decision"][:flagged] == "1").all() and (ranked["decision"][flagged:] == "0").all()
    probability, is_textless = ranked["probability"].astype(float).to_numpy(), ranked["id"].isin(textless).to_numpy()
    first = int(np.flatnonzero(is_textless)[0])
    assert is_textless[first:first + 3].all() and set(probability[is_textless]) == {0.1}
    assert (probability[:first] >= 0.1).all() and (probability[first + 3:] < 0.1).all() and first + 3 < flagged
    # Their chance of inclusion is the labelled records' share (10%), not the calibrated chance of the empty text's score.
    probability = ranked.set_index("id")["probability"].astype(float)
    assert (probability[textless] == 0.1).all() and (probability.drop(textless) != 0.1).all()
    assert np.isclose(summary["screening"]["expected_included"], probability.sum(), atol=1e-3)


def test_records_without_text_above_the_threshold_are_reported_too(caplog):
    """The console names every record without text to screen; summary.json counts those the threshold had left out."""
    from screenstack.stacking.set_apart import flag_without_text

    records = pd.DataFrame({"id": ["a", "b", "c", "d"], "has_text": ["1", "0", "0", "1"]})
    decisions = np.array([0, 1, 0, 1])
    with caplog.at_level("INFO", logger="screenstack"):
        added = flag_without_text(decisions, records)
    assert added == 1 and decisions.tolist() == [0, 1, 1, 1]
    assert "2 record(s) to screen have neither title nor abstract: all flagged, since no model can rank them " \
           "(1 of them scored below the threshold)" in caplog.messages


def test_a_copy_of_an_included_labelled_record_is_flagged_whatever_its_score(caplog):
    """Its paper is known to be included: below the threshold it was a sure miss. A copy of an excluded one keeps the
    threshold's decision (a review may mark a duplicate excluded whose first copy it included), said in the console."""
    from screenstack.stacking.set_apart import flag_included_copies, known_copies

    records = pd.DataFrame({"id": list("abcdef"), "copy_label": ["1", "1", "0", "0", "", "1 and 0"]})
    probabilities, known = known_copies(np.array([0.01, 0.9, 0.8, 0.02, 0.3, 0.05]), records)
    decisions = np.array([0, 1, 1, 0, 0, 0])
    with caplog.at_level("INFO", logger="screenstack"):
        flag_included_copies(decisions, probabilities, known)
    assert decisions.tolist() == [1, 1, 1, 0, 0, 0]
    assert "1 copy(ies) of included labelled records flagged (as included), which the threshold had left out" in caplog.messages
    assert any(m.startswith("1 flagged record(s) copy an excluded labelled record (ranked.csv's copy_label 0)")
               for m in caplog.messages)
    # helper-143: known papers read as new finds among the relevant records expected among the flagged
    assert ("2 flagged record(s) copy an included labelled record (ranked.csv's copy_label 1): papers already known to be "
            "included, counted among the relevant ones expected among the flagged") in caplog.messages

def test_a_misspelt_learner_is_named_as_a_typo_and_a_known_one_not_fitted_points_to_fit_learners(run_dir):
    with pytest.raises(ScreenstackError, match=r"--learners: tfidf-svn is not a learner in .* Check the spelling"):
        stack(run_dir, StackConfig(learners=("tfidf-svn",)))
    missing = next(name for name in ("xgboost", "lightgbm", "logreg", "tfidf-logreg") if name not in LEARNERS)
    with pytest.raises(ScreenstackError, match=f"no outputs for learner\\(s\\) {missing} .*Run fit-learners for them"):
        stack(run_dir, StackConfig(learners=(missing,)))
    with pytest.raises(ScreenstackError, match=r"no outputs for learner\(s\) finetune-bert-linear .*Fine-tuned ones "
                                               r"\(finetune-bert-linear\) are made by `screenstack extract --finetune"):
        stack(run_dir, StackConfig(learners=("finetune-bert-linear",)))


def test_nearly_every_record_flagged_for_lack_of_text_is_said_to_be_that_not_too_few_labels(tmp_path):
    from screenstack.cli import main

    from ..conftest import DATASETS

    data = pd.read_csv(DATASETS / "cohen_adhd.csv", dtype=str, keep_default_na=False)
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    data.iloc[:700][["record_id", "title", "abstract", "label_included"]].to_csv(train, index=False)
    frame = data.iloc[700:800][["record_id", "title", "abstract"]].reset_index(drop=True)
    frame.loc[5:, ["title", "abstract"]] = ["NA", "[No abstract available]"]  # an export that gave 95 records no text
    frame.to_csv(test, index=False)
    with pytest.warns(UserWarning, match="read as no text there"):
        assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(tmp_path / "run"),
                     "--learners", "tfidf-svm,tfidf-logreg", "--folds", "3"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    [line] = [w for w in summary["warnings"] if w.startswith("the threshold flags")]
    assert line.startswith("the threshold flags 95% of the records to screen: 100% of the flagged records have neither title nor abstract, "
                           "flagged since no model can rank them (of those with text it flags "), line
    assert "label more records" not in line


def test_stack_config_flags_name_the_options_given_and_nothing_for_defaults():
    assert StackConfig().flags() == ""
    config = StackConfig(learners=("tfidf-svm", "logreg"), min_recall=0.9, max_shift=1.0, prior_positives=0.5, seed=3)
    assert config.flags() == "--learners tfidf-svm,logreg --seed 3 --recall-prior 0.5 --min-recall 0.9 --max-shift 1"


def test_a_damaged_stack_says_the_command_with_its_own_options_and_following_it_restores_the_submission(tmp_path, capsys):
    # The fix said `stack --out OUT`, which restacked with the defaults: another submission than the damaged one's.
    from screenstack.cli import main

    make_run(tmp_path)
    assert main(["-q", "stack", "--out", str(tmp_path), "--min-recall", "0.9", "--max-shift", "1", "--learners",
                 "tfidf-svm,logreg"]) == 0
    submission = (tmp_path / "submission.csv").read_bytes()
    first, rest = submission.split(b"\n", 1)
    (tmp_path / "submission.csv").write_bytes(first[:-1] + (b"0" if first.endswith(b"1") else b"1") + b"\n" + rest)
    assert main(["report", "--out", str(tmp_path)]) == 2
    command = f"screenstack stack --out {tmp_path} --learners logreg,tfidf-svm --min-recall 0.9 --max-shift 1"  # by name
    assert f"Run `{command}` again: it rewrites the stack outputs." in capsys.readouterr().err
    with pytest.warns(UserWarning, match=r"submission.csv: damaged; stacking again with --learners lightgbm,logreg,tfidf-logreg,"
                                         r"tfidf-svm, not the options it was made with \(--learners logreg,tfidf-svm "
                                         r"--min-recall 0.9 --max-shift 1\)"):
        assert main(["-q", "stack", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "submission.csv").read_bytes() != submission
    assert main(["-q", *command.split()[1:]]) == 0
    assert (tmp_path / "submission.csv").read_bytes() == submission


def test_a_blended_learner_deleted_with_its_manifest_is_said_as_deleted_by_report_and_predict(tmp_path, capsys):
    # With the folder's manifest gone too, report and predict called the stack "stale" and said to run the stack
    # command it was made with, which then refused for want of the deleted learner.
    import shutil

    from screenstack.cli import main

    out = tmp_path / "run"
    make_run(out)
    assert main(["-q", "stack", "--out", str(out), "--min-recall", "0.9"]) == 0
    shutil.rmtree(out / "learners" / "logreg")
    (out / ".manifests" / "learners%logreg.json").unlink()
    others = ",".join(sorted(name for name in LEARNERS if name != "logreg"))
    updates = tmp_path / "update.csv"
    pd.DataFrame({"id": ["u1", "u2"], "title": ["a b", "c d"], "abstract": ["e f", "g h"]}).to_csv(updates, index=False)
    for command in (["report", "--out", str(out)], ["predict", "--run", str(out), "--data", str(updates),
                                                    "--out", str(tmp_path / "predicted")]):
        capsys.readouterr()
        assert main(["-q", *command]) == 2
        error = capsys.readouterr().err
        assert f"{out / 'learners' / 'logreg'}: deleted, but blend.json" in error and "stale" not in error
        assert "--learners logreg` with the options that made" in error
        assert f"Or blend the others: `screenstack stack --out {out} --learners {others} --min-recall 0.9`." in error
    with pytest.warns(UserWarning, match="the stack there blended a learner since deleted; stacking again"):
        assert main(["-q", "stack", "--out", str(out), "--learners", others, "--min-recall", "0.9"]) == 0
    assert main(["-q", "report", "--out", str(out)]) == 0


def test_a_blended_fine_tuned_learner_deleted_with_its_manifest_is_said_as_deleted_with_the_fine_tuner_as_its_refit(
        tmp_path, capsys):
    # report called the stack "stale" and said to run the stack command it was made with, which refused.
    import shutil

    from screenstack.cli import main

    out = tmp_path / "run"
    make_run(out)
    plan = load_fold_plan(out)
    test_ids = pd.read_parquet(out / "learners" / "logreg" / "test.parquet")["id"]
    rng = np.random.default_rng(1)
    write_learner_output(out, "finetune-minilm-linear", plan, 0.5 * plan.labels + 0.5 * rng.random(len(plan.labels)),
                         test_ids, rng.random(len(test_ids)), {"learner": "finetune-minilm-linear"})
    assert main(["-q", "stack", "--out", str(out)]) == 0
    shutil.rmtree(out / "learners" / "finetune-minilm-linear")
    (out / ".manifests" / "learners%finetune-minilm-linear.json").unlink()
    capsys.readouterr()
    assert main(["-q", "report", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert f"{out / 'learners' / 'finetune-minilm-linear'}: deleted, but blend.json" in error and "stale" not in error
    assert f"Rerun `screenstack extract --finetune --out {out}` (or `run --finetune`) with the run's options" in error
    others = ",".join(sorted(LEARNERS))
    assert f"Or blend the others: `screenstack stack --out {out} --learners {others}`." in error


def test_a_deleted_learner_folder_is_said_as_deleted_with_both_ways_on(tmp_path, capsys):
    # Deleting learner folders is what some refusals say to do; stack then called the folder "damaged (missing)" and
    # offered only a refit, not the blend of the learners left.
    import shutil

    from screenstack.cli import main

    make_run(tmp_path)
    shutil.rmtree(tmp_path / "learners" / "logreg")
    assert main(["-q", "stack", "--out", str(tmp_path), "--min-recall", "0.9"]) == 2
    error = capsys.readouterr().err
    others = ",".join(sorted(name for name in LEARNERS if name != "logreg"))
    assert f"{tmp_path / 'learners' / 'logreg'}: deleted, but {tmp_path} still lists it among its learners" in error
    assert "--learners logreg` with the options that made" in error and "--seed" in error and "damaged" not in error
    assert f"Or blend the others: `screenstack stack --out {tmp_path} --learners {others}`." in error
    assert main(["-q", "stack", "--out", str(tmp_path), "--learners", others]) == 0
    assert set(json.loads((tmp_path / "summary.json").read_text())["learners"]) == set(others.split(","))


def test_a_damaged_stack_of_every_learner_is_made_again_without_one_fitted_later(tmp_path, capsys):
    # Where the stack blended every learner in OUT its options said no --learners, so following them after another
    # learner was fitted blended that one too: another submission, and no word of it.
    from screenstack.cli import main

    make_run(tmp_path)
    assert main(["-q", "stack", "--out", str(tmp_path), "--beta", "4", "--recall-prior", "0.123456789"]) == 0
    submission = (tmp_path / "submission.csv").read_bytes()
    plan = load_fold_plan(tmp_path)
    test_ids = pd.read_csv(tmp_path / "test_scores.csv", dtype={"id": str})["id"]
    rng = np.random.default_rng(5)
    write_learner_output(tmp_path, "xgboost", plan, rng.random(len(plan.ids)), test_ids, rng.random(len(test_ids)),
                         {"learner": "xgboost"})
    (tmp_path / "submission.csv").write_bytes(submission + b"x")
    assert main(["report", "--out", str(tmp_path)]) == 2
    command = f"screenstack stack --out {tmp_path} --beta 4 --learners lightgbm,logreg,tfidf-logreg,tfidf-svm --recall-prior 0.123456789"
    assert f"Run `{command}` again" in capsys.readouterr().err  # every digit given: 0.123457 would be another stack
    assert main(["-q", *command.split()[1:]]) == 0
    assert (tmp_path / "submission.csv").read_bytes() == submission


def test_a_damaged_fold_plan_manifest_is_named_once_with_its_own_fix(tmp_path, capsys):
    # Every learner reads the fold plan: stack named its manifest once per learner, with a learner's refit as the fix.
    from screenstack.cli import main

    make_run(tmp_path)
    manifest = tmp_path / ".manifests" / "folds.json"
    manifest.write_bytes(manifest.read_bytes()[:30])
    assert main(["-q", "stack", "--out", str(tmp_path), "--beta", "5"]) == 2
    error = capsys.readouterr().err
    assert error.count(str(manifest)) == 1 and "draws the fold plan again" in error


def test_stack_without_learners_says_when_it_blends_others_than_the_stack_it_replaces(tmp_path, caplog):
    # A helper's finding: after `run --learners` in a folder holding more learners, README's `stack --out OUT
    # --min-recall 0.9 --max-shift 1` blended every learner there, the submission the five-learner run's, unsaid.
    from screenstack.cli import main

    make_run(tmp_path)
    assert main(["-q", "stack", "--out", str(tmp_path), "--learners", "tfidf-svm,logreg"]) == 0
    submission = (tmp_path / "submission.csv").read_bytes()
    caplog.set_level("INFO", logger="screenstack")
    assert main(["-q", "stack", "--out", str(tmp_path), "--min-recall", "0.9"]) == 0  # a warning: said under -q too
    said = [r.getMessage() for r in caplog.records
            if "where the stack it replaces blended" in r.getMessage() and r.levelname == "WARNING"]
    command = f"screenstack stack --out {tmp_path} --learners logreg,tfidf-svm"
    assert said == [f"{tmp_path}: stacking every learner there (lightgbm,logreg,tfidf-logreg,tfidf-svm), where the stack "
                    f"it replaces blended logreg,tfidf-svm: `{command}` makes that one again"], said
    assert main(["-q", *command.split()[1:]]) == 0
    assert (tmp_path / "submission.csv").read_bytes() == submission
    caplog.clear()
    assert main(["stack", "--out", str(tmp_path), "--learners", "tfidf-svm"]) == 0  # named: nothing to say
    assert not [r for r in caplog.records if "where the stack it replaces blended" in r.getMessage()]
