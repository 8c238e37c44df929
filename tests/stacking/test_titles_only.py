"""Records to screen with a title but no abstract, where the labelled records nearly all have one: said, and kept out
of the label-shift estimate and the recall check; where the labelled records hold as many, nothing changes."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from screenstack.cli import main
from screenstack.stacking.set_apart import titles_unlike_labelled

pytestmark = pytest.mark.filterwarnings("ignore:.*neither title nor abstract", "ignore:.*no abstract")


def records_and_keys(n_labelled: int, labelled_titles_only: int, n_screen: int, screen_titles_only: int):
    records = pd.DataFrame({"id": [f"s{i}" for i in range(n_screen)], "has_text": "1",
                            "has_abstract": ["0"] * screen_titles_only + ["1"] * (n_screen - screen_titles_only)})
    keys = pd.DataFrame({"title_key": np.ones(n_labelled, dtype=np.uint64),
                         "text_key": np.r_[np.zeros(labelled_titles_only), np.ones(n_labelled - labelled_titles_only)].astype(np.uint64)})
    return records, keys


def test_titles_without_abstracts_the_labelled_records_lack_are_found():
    finding = titles_unlike_labelled(*records_and_keys(500, 1, 100, 100))
    assert finding.found.all() and finding.share == 1.0 and finding.labelled_share == pytest.approx(0.002)
    part = titles_unlike_labelled(*records_and_keys(500, 1, 100, 30))
    assert part.found.sum() == 30 and part.found[:30].all()


@pytest.mark.parametrize("labelled, screen", [(50, 12), (50, 15), (0, 0), (100, 30)])
def test_titles_without_abstracts_in_the_labelled_share_change_nothing(labelled, screen):
    # 10% of 500 labelled, 12-15% of 100 to screen: chance; 20% and 30%: not twice the share
    assert not titles_unlike_labelled(*records_and_keys(500, labelled, 100, screen)).found.any()


def test_the_warning_says_whether_the_shift_was_estimated_without_them():
    from screenstack.stacking.set_apart import TITLES_ONLY_WARNING, said_of_titles, say_titles_only

    records, keys = records_and_keys(500, 1, 200, 60)
    found = titles_unlike_labelled(records, keys)
    decisions = np.r_[np.ones(10), np.zeros(190)].astype(int)
    said = say_titles_only(decisions, found, {"records": 140})
    assert said["flagged"] == 10 and said["share"] == 0.3
    assert said_of_titles(TITLES_ONLY_WARNING, said).startswith(
        "60 record(s) to screen have a title but no abstract (30.0% of those with text, against 0.2% of the labelled ones), "
        "10 of them flagged: ")
    assert "and the label shift is estimated without them." in said_of_titles(TITLES_ONLY_WARNING, said)
    # a summary from before the run's text columns were kept says the same
    assert said_of_titles(TITLES_ONLY_WARNING, said) == said_of_titles(
        TITLES_ONLY_WARNING, {k: v for k, v in said.items() if k != "text_columns"})
    assert "the label shift is not estimated (fewer than 50" in say_titles_only(decisions, found, {"records": 40})["shift"]


def test_records_kept_before_the_abstract_flag_change_nothing():
    records, keys = records_and_keys(500, 0, 100, 100)
    assert titles_unlike_labelled(records.drop(columns="has_abstract"), keys) is None
    assert titles_unlike_labelled(records, None) is None


@pytest.fixture
def blanked(tiny_corpus_files, tmp_path):
    """``(train, test)``: the test file with every abstract blanked, as an export without abstracts gives it (one of
    its 100 records has no title either)."""
    train, test = tiny_corpus_files
    frame = pd.read_csv(test, dtype=str, keep_default_na=False)
    frame["abstract"] = ""
    frame.to_csv(tmp_path / "test-titles.csv", index=False)
    return train, tmp_path / "test-titles.csv"


def test_a_test_file_without_abstracts_is_said_and_kept_out_of_the_label_shift(blanked, tmp_path, caplog):
    train, test = blanked
    out = tmp_path / "run"
    assert main(["fit-learners", "-q", "--train", str(train), "--test", str(test), "--out", str(out),
                 "--learners", "tfidf-svm,tfidf-logreg"]) == 0
    caplog.clear()
    assert main(["stack", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    said = summary["decision"]["titles_only"]
    assert said["records"] == 99 and said["share"] == 1.0 and said["labelled_share"] < 0.2
    assert (f"99 record(s) to screen have a title but no abstract, unlike the labelled records: {said['flagged']} of them "
            "flagged; the label shift is not estimated (fewer than 50 other records to screen)") in caplog.text
    assert any("have a title but no abstract" in w and "Give their abstracts" in w for w in summary["warnings"])
    # helper-169: counted at probabilities calibrated on titles with abstracts they read as "left below 0.2 (0.0-2.0)"
    # where 12 relevant records were; they are counted apart, as records no count holds for
    screening = summary["screening"]
    assert screening["not_counted"] == {"records": 99, "flagged": said["flagged"], "text_columns": ["title", "abstract"]}
    assert screening["expected_below"] == screening["expected_below_interval"][1] == 0  # the one record without text: flagged
    not_counted = (f"not counting the 99 with a title but no abstract unlike the labelled records ({said['flagged']} of them "
                   "flagged), for which no count holds")
    assert f"left below the threshold 0.0 (0.0-0.0); {not_counted}" in caplog.text
    assert summary["decision"]["shift"]["records"] == 0 and summary["decision"]["shift"]["weight"] == 1.0
    assert not summary["decision"]["recall_check"]["checked"]  # nor is the recall checked on them
    # their flags are the threshold's (bench/titles_only.py: F7 0.78 against 0.68 for flagging them all)
    flags = pd.read_csv(out / "submission.csv", header=None)[1]
    assert flags.sum() == said["flagged"] + 1 < 100
    assert main(["report", "--out", str(out)]) == 0
    assert "have a title but no abstract" in (out / "report.html").read_text() and not_counted in (out / "report.html").read_text()
    # predict on the same export of records decides alike, from the run's labelled records
    assert main(["predict", "-q", "--run", str(out), "--data", str(test), "--out", str(tmp_path / "update")]) == 0
    update = json.loads((tmp_path / "update" / "summary.json").read_text())
    # (the shift for the reason predict gives first: its scores are not comparable, whatever the count)
    assert update["titles_only"] == {**said, "shift": "the label shift is not estimated (its abstract column is empty in every record)"}
    assert update["n_flagged"] == flags.sum()
    assert any("have a title but no abstract" in w for w in update["warnings"])
    assert update["not_counted"] == screening["not_counted"] and not_counted in (tmp_path / "update" / "report.html").read_text()


def test_a_test_file_with_abstracts_is_decided_as_before(tiny_corpus_files, tmp_path):
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    assert main(["fit-learners", "-q", "--train", str(train), "--test", str(test), "--out", str(out),
                 "--learners", "tfidf-svm,tfidf-logreg"]) == 0
    assert main(["stack", "-q", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["decision"]["titles_only"] == {} and not any("no abstract" in w for w in summary["warnings"])
    records = pd.read_parquet(out / "records.parquet")
    test_frame = pd.read_csv(test, dtype=str, keep_default_na=False)
    assert records["has_abstract"].tolist() == np.where(test_frame["abstract"].str.strip() != "", "1", "0").tolist()


@pytest.mark.parametrize("included_lacking, excluded_lacking, fires", [(3, 20, True), (2, 20, False), (12, 20, True), (1, 0, False)])
def test_included_training_records_without_abstracts_far_commoner_than_excluded_ones_are_found(included_lacking, excluded_lacking,
                                                                                               fires):
    # 3 of 3 included records without an abstract against 10% of 200 excluded: far commoner; 2 of 3: chance.
    from screenstack.stacking.set_apart import included_without_abstracts

    n_included = 3 if included_lacking <= 3 else 12
    labels = np.r_[np.ones(n_included), np.zeros(200)]
    lacking = np.r_[np.arange(n_included) < included_lacking, np.arange(200) < excluded_lacking]
    keys = pd.DataFrame({"title_key": np.ones(len(labels), dtype=np.uint64), "text_key": (~lacking).astype(np.uint64)})
    said = included_without_abstracts(keys, labels)
    assert bool(said) == fires
    if fires:
        assert said == {"records": included_lacking, "included": n_included, "share": included_lacking / n_included,
                        "excluded_share": 0.1}


def test_a_run_whose_included_records_alone_lack_abstracts_warns_that_the_learners_may_learn_that(tmp_path):
    from ..conftest import DATASETS

    data = pd.read_csv(DATASETS / "cohen_adhd.csv", dtype=str, keep_default_na=False)[["record_id", "title", "abstract", "label_included"]]
    train, test = data.iloc[:600].copy(), data.iloc[600:700].drop(columns="label_included")
    train.loc[train["label_included"] == "1", "abstract"] = ""  # included records added by hand, titles alone
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    assert main(["-q", "run", "--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv"), "--folds", "3",
                 "--learners", "tfidf-svm,tfidf-logreg", "--out", str(tmp_path / "run")]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    said = summary["decision"]["included_without_abstracts"]
    assert said["records"] == said["included"] == int((train["label_included"] == "1").sum())
    assert any(w.startswith(f"{said['records']} of the {said['included']} included training records have no abstract (100%")
               and "may take a missing abstract for a sign of inclusion" in w for w in summary["warnings"])
    assert "may take a missing abstract" in (tmp_path / "run" / "report.html").read_text()


def test_labelled_records_without_abstracts_beside_records_to_screen_with_them_are_said(tiny_corpus_files, tmp_path):
    # The reverse of the titles-only warning: a training file whose abstracts were all lost ran on titles alone, was
    # applied to records with abstracts (another share flagged), and said nothing.
    from screenstack.stacking.set_apart import abstracts_unlike_labelled

    assert abstracts_unlike_labelled(*records_and_keys(500, 500, 100, 5))["share"] == 1.0
    assert abstracts_unlike_labelled(*records_and_keys(500, 60, 100, 10)) == {}  # 12% against 10%: alike
    assert abstracts_unlike_labelled(*records_and_keys(700, 139, 100, 0)) == {}  # 20% against none: most have one
    train, test = tiny_corpus_files
    frame = pd.read_csv(train, dtype=str, keep_default_na=False).assign(abstract="")
    frame.to_csv(tmp_path / "train-titles.csv", index=False)
    out = tmp_path / "run"
    assert main(["-q", "run", "--train", str(tmp_path / "train-titles.csv"), "--test", str(test), "--out", str(out),
                 "--learners", "tfidf-svm,tfidf-logreg", "--folds", "3"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    said = summary["decision"]["abstracts_unlike_labelled"]
    assert said["share"] == 1.0 and said["screen_share"] < 0.1
    assert any(w.startswith(f"{said['records']} labelled record(s) have a title but no abstract (100.0% of those with text")
               and "run again with --text-cols title" in w for w in summary["warnings"])
    assert main(["-q", "predict", "--run", str(out), "--data", str(test), "--out", str(tmp_path / "update")]) == 0
    update = json.loads((tmp_path / "update" / "summary.json").read_text())
    assert update["abstracts_unlike_labelled"] == said and any("labelled record(s) have a title but no abstract" in w
                                                                for w in update["warnings"])


def test_a_run_whose_first_column_is_no_title_names_its_own_columns(tiny_corpus_files, tmp_path):
    # helper-168: a run of `--text-cols Abstract,Headline` given an update without Headline was told its records had
    # "a title but no abstract" and to give their abstracts, which they had.
    train, test = tiny_corpus_files
    renamed = {"abstract": "Abstract", "title": "Headline"}
    pd.read_csv(train, dtype=str, keep_default_na=False).rename(columns=renamed).to_csv(tmp_path / "t.csv", index=False)
    pd.read_csv(test, dtype=str, keep_default_na=False).rename(columns=renamed).to_csv(tmp_path / "s.csv", index=False)
    update = tmp_path / "update.csv"
    pd.read_csv(test, dtype=str, keep_default_na=False).rename(columns=renamed).drop(columns="Headline").to_csv(update, index=False)
    out = tmp_path / "run"
    assert main(["-q", "run", "--train", str(tmp_path / "t.csv"), "--test", str(tmp_path / "s.csv"), "--out", str(out),
                 "--text-cols", "Abstract,Headline", "--learners", "tfidf-svm", "--folds", "3"]) == 0
    assert main(["-q", "predict", "--run", str(out), "--data", str(update), "--out", str(tmp_path / "u")]) == 0
    said = json.loads((tmp_path / "u" / "summary.json").read_text())
    warning = next(w for w in said["warnings"] if "record(s) to screen have" in w)
    assert warning.startswith(f"{said['titles_only']['records']} record(s) to screen have text in Abstract but none in "
                              "Headline (")
    assert "Give their Headline (an export with Headline)" in warning and "abstract" not in warning


def test_where_no_record_to_screen_is_counted_no_count_is_said(blanked, tmp_path, caplog):
    # helper-171: every record to screen a title alone, the counts of none of them read "0.0 (95% interval 0.0-0.0)"
    # where 22 relevant records were among the flagged
    train, test = blanked
    frame = pd.read_csv(test, dtype=str, keep_default_na=False)
    frame[frame["title"] != ""].to_csv(tmp_path / "titled.csv", index=False)
    out = tmp_path / "run"
    with caplog.at_level("INFO", logger="screenstack"):
        assert main(["run", "--train", str(train), "--test", str(tmp_path / "titled.csv"), "--out", str(out),
                     "--learners", "tfidf-svm,tfidf-logreg", "--folds", "3"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    screening = summary["screening"]
    assert screening["not_counted"]["records"] == screening["n_records"] == 99
    said = ("no count of the relevant among them or below the threshold holds: every one has a title but no abstract "
            "unlike the labelled records")
    assert f"{screening['n_flagged']} of 99 records to screen flagged; {said}" in caplog.messages
    assert not [m for m in caplog.messages if "expected relevant among them" in m]
    report = (out / "report.html").read_text()
    assert said in report and "not counted" in report
    caplog.clear()
    with caplog.at_level("INFO", logger="screenstack"):
        assert main(["predict", "--run", str(out), "--data", str(tmp_path / "titled.csv"), "--out",
                     str(tmp_path / "u")]) == 0
    [line] = [m for m in caplog.messages if m.startswith("predict:")]
    assert f"; {said}; wrote " in line and "expected relevant" not in line
    assert said in (tmp_path / "u" / "report.html").read_text()


def test_titles_alone_commoner_but_not_twice_as_common_as_among_the_labelled_records_are_not_set_apart():
    # set_apart._far_commoner: "more than twice the labelled share" dropped, a large update with 15% titles alone
    # against the labelled records' 10% (z about 10) had them all set apart: left out of the counts and the estimate.
    def records(alone, n):
        return pd.DataFrame({"has_text": ["1"] * n, "has_abstract": ["0"] * alone + ["1"] * (n - alone)})

    labelled = pd.DataFrame({"title_key": np.ones(10_000, dtype=np.uint64),
                             "text_key": np.r_[np.zeros(1_000), np.ones(9_000)].astype(np.uint64)})
    assert not titles_unlike_labelled(records(1_500, 10_000), labelled).found.any()   # 15% against 10%
    assert titles_unlike_labelled(records(2_500, 10_000), labelled).found.sum() == 2_500  # 25% against 10%
