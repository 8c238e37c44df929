"""Screenstack's own ranked.csv given back as a training file is refused, naming the fix; predict still reads it."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from screenstack.cli import main
from screenstack.features.records.corpus import load_partly_screened
from screenstack.features.records.ranked_csv import RANKED_COLUMNS, is_ranked_csv
from screenstack.stacking.ranked import COLUMNS, write_ranked

FIX = "Type the new labels into the original file (its ids are ranked.csv's id column) and run again on it with a new --out."


@pytest.fixture(scope="module")
def review(tmp_path_factory):
    """A run on a partly screened file (100 of 160 records labelled): the file and the run folder."""
    root = tmp_path_factory.mktemp("review")
    rng = np.random.default_rng(0)
    words = {1: "aspirin trial randomised stroke".split(), 0: "cohort survey unrelated economics".split()}
    label = (np.arange(160) % 5 == 0).astype(int)
    pd.DataFrame({
        "record_id": [str(1000 + i) for i in range(160)],
        "title": [f"Title {i} {rng.choice(words[k])}" for i, k in enumerate(label)],
        "abstract": [" ".join(rng.choice(words[k], 20)) for k in label],
        "included": [str(k) if i < 100 else "-1" for i, k in enumerate(label)],
    }).to_csv(root / "partly.csv", index=False)
    assert main(["-q", "run", "--data", str(root / "partly.csv"), "--learners", "tfidf-svm,tfidf-logreg",
                 "--folds", "3", "--out", str(root / "run")]) == 0
    return root / "partly.csv", root / "run", label


def _labelled_copy(ranked, dest, label, top):
    """ranked.csv with the true labels of its first `top` rows typed into its `included` column, as a reviewer would."""
    frame = pd.read_csv(ranked, dtype=str, keep_default_na=False)
    truth = frame["id"].astype(int).sub(1000).map(lambda i: str(label[i]))
    frame.loc[: top - 1, "included"] = truth[:top]
    frame.to_csv(dest, index=False)
    return dest


def test_the_recognised_columns_are_those_ranked_csv_is_written_with(tmp_path):
    assert RANKED_COLUMNS == tuple(COLUMNS[:len(RANKED_COLUMNS)])
    records = pd.DataFrame({"id": ["a"], "title": ["T"], "input:abstract": ["x"], "input:included": ["-1"]})
    written = write_ranked(tmp_path / "ranked.csv", ["a"], [0.5], [1], [0.5], records)
    assert is_ranked_csv(pd.read_csv(written, nrows=0).columns)
    # a file holding some of those names (a search engine's rank, a score of its own) is an ordinary file
    assert not is_ranked_csv(["rank", "id", "title", "abstract", "score", "included"])
    # a ranked.csv whose scores were deleted (not to be swayed by them while screening) is still one
    assert is_ranked_csv([c for c in COLUMNS if c not in ("score", "probability", "expected_included")] + ["included"])


@pytest.mark.parametrize("top", [40, 0])
def test_ranked_csv_given_back_as_data_is_refused_naming_the_original_file(review, tmp_path, capsys, top):
    _, run, label = review
    data = _labelled_copy(run / "ranked.csv", tmp_path / "ranked_labelled.csv", label, top)
    assert main(["run", "--data", str(data), "--learners", "tfidf-svm", "--out", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{data}: this is screenstack's ranked.csv" in err and "only the records not screened at that run" in err
    assert "would drop every earlier label" in err and FIX in err
    assert "no record is labelled yet" not in err
    assert not (tmp_path / "o2").exists()


@pytest.mark.parametrize("deleted", [("score", "probability", "expected_included", "decision"), ("rank",),
                                     ("rank", "score", "decision", "probability", "expected_included"),
                                     ("score", "probability", "expected_included", "copy_of", "copy_label"),
                                     ("rank", "score", "decision", "copy_of", "copy_label")])
def test_ranked_csv_with_its_rank_or_decision_deleted_too_is_refused(review, tmp_path, capsys, deleted):
    # Deleting the decision or the rank beside the scores let it train on 40 labels, losing the run's 100.
    _, run, label = review
    data = _labelled_copy(run / "ranked.csv", tmp_path / "ranked_labelled.csv", label, 40)
    pd.read_csv(data, dtype=str, keep_default_na=False).drop(columns=list(deleted)).to_csv(data, index=False)
    assert main(["run", "--data", str(data), "--learners", "tfidf-svm", "--out", str(tmp_path / "o4")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{data}: this is screenstack's ranked.csv" in err and FIX in err
    assert not (tmp_path / "o4").exists()


def test_another_tool_s_export_with_its_own_score_and_decision_is_read_and_kept(review, tmp_path):
    # 0.3.32 took id, title and three of rank, score, decision, probability for ranked.csv's: such an export was refused
    # as --data, and predict dropped its columns as an earlier run's.
    partly, run, _ = review
    frame = pd.read_csv(partly, dtype=str, keep_default_na=False).rename(columns={"record_id": "id"})
    frame = frame[["id", "title", "abstract"]].assign(score="0.5", probability="0.1", decision="1",
                                                      included=pd.read_csv(partly, dtype=str)["included"])
    frame.to_csv(tmp_path / "export.csv", index=False)
    assert main(["-q", "run", "--data", str(tmp_path / "export.csv"), "--learners", "tfidf-svm", "--folds", "3",
                 "--out", str(tmp_path / "o5")]) == 0
    assert main(["-q", "predict", "--run", str(run), "--data", str(tmp_path / "export.csv"), "--out", str(tmp_path / "p5")]) == 0
    columns = pd.read_csv(tmp_path / "p5" / "ranked.csv", nrows=0).columns
    assert {"score (input)", "probability (input)", "decision (input)"} <= set(columns)


def test_ranked_csv_as_train_is_refused_and_so_is_one_a_spreadsheet_resaved(review, tmp_path, capsys):
    _, run, label = review
    ranked = _labelled_copy(run / "ranked.csv", tmp_path / "labelled.csv", label, 60)
    frame = pd.read_csv(ranked, dtype=str, keep_default_na=False).iloc[:60]
    frame.columns = [c.upper() for c in frame.columns]  # capitals: the header is read in any case
    frame.to_csv(tmp_path / "train.csv", index=False)
    test = tmp_path / "test.csv"
    test.write_text("id,title,abstract\nx1,New,A trial.\n")
    assert main(["run", "--train", str(tmp_path / "train.csv"), "--test", str(test), "--learners", "tfidf-svm",
                 "--out", str(tmp_path / "o3")]) == 2
    err = capsys.readouterr().err
    assert "train.csv: this is screenstack's ranked.csv" in err and "as --train" in err and FIX in err
    assert not (tmp_path / "o3").exists()


def test_the_original_file_with_the_new_labels_typed_in_still_trains_on_every_label(review, tmp_path):
    partly, run, label = review
    frame = pd.read_csv(partly, dtype=str, keep_default_na=False)
    top = pd.read_csv(run / "ranked.csv", dtype=str)["id"].head(20).astype(int) - 1000
    frame.loc[top, "included"] = [str(label[i]) for i in top]
    frame.to_csv(tmp_path / "partly2.csv", index=False)
    corpus = load_partly_screened(tmp_path / "partly2.csv")
    assert len(corpus.train) == 120 and len(corpus.test) == 40


def test_predict_still_scores_ranked_csv(review, tmp_path):
    # predict trains on nothing, so ranked.csv is a fine list of records to score: the run's own scores come back
    _, run, _ = review
    assert main(["-q", "predict", "--run", str(run), "--data", str(run / "ranked.csv"), "--out", str(tmp_path / "p")]) == 0
    scores = pd.read_csv(tmp_path / "p" / "scores.csv", dtype={"id": str}).set_index("id")["score"]
    ranked = pd.read_csv(run / "ranked.csv", dtype={"id": str}).set_index("id")["score"]
    np.testing.assert_allclose(scores.loc[ranked.index], ranked, atol=1e-8)
    # its ranked.csv holds the new rank, score, decision... once, and the input's own columns (abstract, included)
    columns = pd.read_csv(tmp_path / "p" / "ranked.csv", nrows=0).columns.tolist()
    assert columns == [*COLUMNS, "abstract", "included"]



def test_run_again_on_a_folder_whose_ranked_csv_the_reviewer_edited_is_refused_before_any_work(review, tmp_path, capsys):
    data, run, _ = review
    shutil.copytree(run, tmp_path / "run")
    ranked = tmp_path / "run" / "ranked.csv"
    ranked.write_bytes(ranked.read_bytes().replace(b"\r\n", b",seen\r\n", 5))  # notes typed in a spreadsheet
    state = {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()}
    args = ["run", "--data", str(data), "--learners", "tfidf-svm,tfidf-logreg", "--folds", "3", "--out", str(tmp_path / "run")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"screenstack: error: {ranked}: changed since `screenstack run` wrote it")
    assert f"Move it out of {tmp_path / 'run'}" in err and "type labels into the labelled file (--data, or --train)" in err
    assert {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()} == state
