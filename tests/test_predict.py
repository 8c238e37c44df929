"""`screenstack predict`: a finished run's fold models, blender and threshold applied to new records.

The key property: predicting the run's own test file gives back exactly the
run's test scores and decisions, without refitting or unpickling anything.
"""
from __future__ import annotations

import html
import json
import logging
import pickle
import re
import shutil
import warnings
from dataclasses import replace
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

import screenstack.learners.fit as fit_module
import screenstack.stacking.fitted_run as fitted_run_module
from screenstack.cli import main
from screenstack.features.artifacts.outputs import write_learner_output
from screenstack.features.artifacts.folds import load_fold_plan
from screenstack.stacking.blend import BLENDERS, blend_state, load_blend, make_blender
from screenstack.stacking.decision import said_threshold
from screenstack.stacking.page import console_words

DATASETS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"
pytestmark = pytest.mark.filterwarnings("ignore:.*neither title nor abstract")


def _files(folder: Path) -> tuple[Path, Path]:
    data = pd.read_csv(DATASETS / "cohen_atypical_antipsychotics.csv", dtype=str, keep_default_na=False)
    folder.mkdir(parents=True, exist_ok=True)
    train, test = folder / "train.csv", folder / "test.csv"
    data.iloc[:200][["record_id", "title", "abstract", "label_included"]].to_csv(train, index=False)
    data.iloc[200:300][["record_id", "title", "abstract"]].to_csv(test, index=False)
    return train, test


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    """A finished TF-IDF run: (run folder, train.csv, test.csv)."""
    root = tmp_path_factory.mktemp("text-run")
    train, test = _files(root)
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--learners", "tfidf-svm,tfidf-logreg",
                 "--folds", "3", "--out", str(root / "run")]) == 0
    return root / "run", train, test


@pytest.fixture
def run_copy(text_run, tmp_path):
    """A copy of the finished run that a test may damage."""
    run, train, test = text_run
    shutil.copytree(run, tmp_path / "run")
    return tmp_path / "run", train, test


def _predict(run, data, out, *extra):
    return main(["-q", "predict", "--run", str(run), "--data", str(data), "--out", str(out), *extra])


def _run_with_columns(tmp_path, text_cols: str, rename: dict, **added) -> Path:
    """A TF-IDF run of `_files`' records with columns `added` (name -> function of the file's frame) and then `rename`d,
    reading `--text-cols text_cols`: the run folder (its test file, so named, is ``named-test.csv`` beside it)."""
    for path in _files(tmp_path):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame.assign(**{name: make(frame) for name, make in added.items()}).rename(columns=rename).to_csv(
            tmp_path / f"named-{path.name}", index=False)
    assert main(["-q", "run", "--train", str(tmp_path / "named-train.csv"), "--test", str(tmp_path / "named-test.csv"),
                 "--text-cols", text_cols, "--learners", "tfidf-svm", "--folds", "3", "--out", str(tmp_path / "run")]) == 0
    return tmp_path / "run"


def test_predict_on_the_run_test_file_gives_its_test_scores_and_decisions(text_run, tmp_path):
    run, _, test = text_run
    assert _predict(run, test, tmp_path / "pred") == 0
    pred = tmp_path / "pred"
    assert (pred / "scores.csv").read_bytes() == (run / "test_scores.csv").read_bytes()
    assert (pred / "submission.csv").read_bytes() == (run / "submission.csv").read_bytes()
    assert (pred / "ranked.csv").read_bytes() == (run / "ranked.csv").read_bytes()
    summary = json.loads((pred / "summary.json").read_text())
    run_summary = json.loads((run / "summary.json").read_text())
    assert summary["threshold"] == run_summary["threshold"] and summary["run"] == str(run.resolve())
    assert summary["n_records"] == 100 and summary["n_flagged"] == run_summary["n_test_flagged"]


def test_new_records_in_another_format_and_order_get_the_scores_of_the_same_texts(text_run, tmp_path):
    run, _, test = text_run
    records = pd.read_csv(test, dtype=str, keep_default_na=False).iloc[::-1]
    records["judgement"] = "1"  # labels in the new file are ignored
    records.to_csv(tmp_path / "update.tsv", sep="\t", index=False)
    assert _predict(run, tmp_path / "update.tsv", tmp_path / "pred") == 0
    scores = pd.read_csv(tmp_path / "pred" / "scores.csv", dtype={"id": str}).set_index("id")["score"]
    expected = pd.read_csv(run / "test_scores.csv", dtype={"id": str}).set_index("id")["score"]
    assert scores.index.tolist() == records["record_id"].tolist()
    pd.testing.assert_series_equal(scores.sort_index(), expected.sort_index())


def test_a_ris_update_of_a_csv_run_is_read_by_its_own_title_and_abstract_tags(text_run, tmp_path):
    run, _, test = text_run
    records = pd.read_csv(test, dtype=str, keep_default_na=False)
    records = records[(records["title"] != "") & (records["abstract"] != "")].iloc[:20]
    entries = [f"TY  - JOUR\nID  - {r.record_id}\nTI  - {r.title}\nAB  - {r.abstract}\nER  - \n" for r in records.itertuples()]
    (tmp_path / "update.ris").write_text("\n".join(entries))
    assert _predict(run, tmp_path / "update.ris", tmp_path / "pred") == 0
    scores = pd.read_csv(tmp_path / "pred" / "scores.csv", dtype={"id": str}).set_index("id")["score"]
    expected = pd.read_csv(run / "test_scores.csv", dtype={"id": str}).set_index("id")["score"]
    pd.testing.assert_series_equal(scores, expected.loc[records["record_id"]].rename_axis("id"))
    # A table whose title and abstract columns have other names (here TI and AB) is read by them too.
    records.rename(columns={"record_id": "id", "title": "TI", "abstract": "AB"}).to_csv(tmp_path / "wos.csv", index=False)
    assert _predict(run, tmp_path / "wos.csv", tmp_path / "wos") == 0
    assert (tmp_path / "wos" / "scores.csv").read_bytes() == (tmp_path / "pred" / "scores.csv").read_bytes()


def test_nothing_is_unpickled(text_run, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("predict unpickled something")

    for module, name in ((pickle, "load"), (pickle, "loads"), (joblib, "load")):
        monkeypatch.setattr(module, name, refuse)
    run, _, test = text_run
    assert _predict(run, test, tmp_path / "pred") == 0
    assert (tmp_path / "pred" / "scores.csv").read_bytes() == (run / "test_scores.csv").read_bytes()


def test_an_update_overlapping_the_last_search_leaves_out_its_training_records_and_says_so(text_run, tmp_path, caplog):
    run, train, test = text_run
    screened = pd.read_csv(train, dtype=str, keep_default_na=False).iloc[:50].drop(columns="label_included")
    new = pd.read_csv(test, dtype=str, keep_default_na=False)
    pd.concat([new.iloc[:5], screened, new.iloc[5:]]).to_csv(tmp_path / "update.csv", index=False)
    caplog.set_level("INFO", logger="screenstack")
    assert main(["predict", "--run", str(run), "--data", str(tmp_path / "update.csv"), "--out", str(tmp_path / "pred")]) == 0
    said = [m for m in caplog.messages if m.startswith("left out")]
    assert said == [f"left out 50 of 150 records of {tmp_path / 'update.csv'} that are the run's training records (the first: "
                    f"row 7, id {screened['record_id'].iloc[0]!r}): their labels are known, and the run's models saw them"]
    for ours, theirs in (("scores.csv", "test_scores.csv"), ("submission.csv", "submission.csv"), ("ranked.csv", "ranked.csv")):
        assert (tmp_path / "pred" / ours).read_bytes() == (run / theirs).read_bytes()  # the new records alone, as the run scored them
    summary = json.loads((tmp_path / "pred" / "summary.json").read_text())
    assert summary["left_out_screened"] == 50 and summary["n_records"] == 100


@pytest.mark.parametrize("name", ["ranked.csv", "left_out.csv"])  # left_out.csv: the screened records README says to check
def test_predicting_again_never_replaces_a_ranked_csv_the_reviewer_edited(text_run, tmp_path, capsys, monkeypatch, name):
    run, _, test = text_run
    assert _predict(run, test, tmp_path / "pred") == 0
    ranked = tmp_path / "pred" / name
    edited = ranked.read_bytes() + b"note,typed,in\r\n"
    ranked.write_bytes(edited)
    capsys.readouterr()

    def unread(*args, **kwargs):
        raise AssertionError("refused only after reading the records (and making their vectors)")

    monkeypatch.setattr("screenstack.stacking.new_records.load_new_records", unread)
    assert _predict(run, test, tmp_path / "pred") == 2
    error = capsys.readouterr().err.strip()
    assert f"{ranked}: changed since `screenstack predict` wrote it" in error and len(error.splitlines()) == 1
    assert "add them there and run it again" in error and "gave as --data" not in error  # an update trains nothing
    assert ranked.read_bytes() == edited


def test_the_same_file_from_another_working_folder_gives_the_same_bytes(text_run, tmp_path, monkeypatch):
    run, _, test = text_run
    assert _predict(run, test, tmp_path / "pred") == 0
    first = {p.name: p.read_bytes() for p in (tmp_path / "pred").iterdir() if p.is_file()}
    monkeypatch.chdir(test.parent)  # the same file named by a relative path, from its own folder
    assert _predict(run, test.name, tmp_path / "pred") == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "pred").iterdir() if p.is_file()} == first
    assert json.loads(first["summary.json"])["data"] == str(test.resolve())


def test_a_file_of_training_records_alone_is_refused(text_run, tmp_path, capsys):
    run, train, _ = text_run
    assert _predict(run, train, tmp_path / "pred") == 2
    error = capsys.readouterr().err
    assert f"{train}: all 200 records are the run's training records (the first: row 2, id '" in error  # header = row 1
    assert "nothing new to score" in error and len(error.strip().splitlines()) == 1
    assert not (tmp_path / "pred").exists()


def test_training_ids_a_spreadsheet_rewrote_are_still_left_out(text_run, tmp_path, caplog):
    run, train, test = text_run
    screened = pd.read_csv(train, dtype=str, keep_default_na=False).iloc[:30].drop(columns="label_included")
    assert screened["record_id"].str.fullmatch(r"[1-9]\d*").all()
    ids = screened["record_id"]
    screened["record_id"] = ([f"{i}.0" for i in ids[:10]] + [f"00{i}" for i in ids[10:20]] + [f" {i} " for i in ids[20:25]]
                             + [f"'{i}" for i in ids[25:28]] + [f"'{i}.0" for i in ids[28:]])  # ' : a spreadsheet's text marker
    new = pd.read_csv(test, dtype=str, keep_default_na=False)
    pd.concat([screened, new]).to_csv(tmp_path / "update.csv", index=False)
    caplog.set_level("INFO", logger="screenstack")
    assert main(["predict", "--run", str(run), "--data", str(tmp_path / "update.csv"), "--out", str(tmp_path / "pred")]) == 0
    said = [m for m in caplog.messages if m.startswith("left out")]
    assert len(said) == 1 and "left out 30 of 130 records" in said[0]
    assert f"(the first: row 2, id '{ids.iloc[0]}.0', the run's '{ids.iloc[0]}')" in said[0]
    for ours, theirs in (("scores.csv", "test_scores.csv"), ("submission.csv", "submission.csv"), ("ranked.csv", "ranked.csv")):
        assert (tmp_path / "pred" / ours).read_bytes() == (run / theirs).read_bytes()


def test_an_update_without_ids_is_scored_whole_with_a_warning_that_its_overlap_cannot_be_found(text_run, tmp_path):
    run, train, test = text_run
    screened = pd.read_csv(train, dtype=str, keep_default_na=False).iloc[:10]
    texts = pd.concat([screened, pd.read_csv(test, dtype=str, keep_default_na=False)])[["title", "abstract"]]
    texts = texts[(texts["title"] != "") | (texts["abstract"] != "")]  # a row of empty cells alone is no record
    texts.to_csv(tmp_path / "update.csv", index=False)
    with pytest.warns(UserWarning) as caught:
        assert _predict(run, tmp_path / "update.csv", tmp_path / "pred") == 0
    said = [str(w.message) for w in caught]
    assert any(re.search(r"update.csv: no id column \(id, record_id or key; found: title, abstract\).*--id-col", m) for m in said)
    # The run's fold plan keeps its records' text hashes: the screened papers are named, with a training id and label.
    with_abstract = int((screened["abstract"] != "").sum())
    first = screened[screened["abstract"] != ""].iloc[0]
    label = "included" if first["label_included"] == "1" else "excluded"
    assert any(m.endswith(f"update.csv: {with_abstract} record(s) to screen have the title and abstract of a record the run "
                          f"trained on (first: id 'test-1', as the run's id {first['record_id']!r}, {label}): probably the "
                          "same paper under another id, already screened. They are scored and listed like the others; "
                          "ranked.csv's copy_of and copy_label name the labelled record.")
               for m in said)
    summary = json.loads((tmp_path / "pred" / "summary.json").read_text())
    assert summary["n_records"] == len(texts) and summary["left_out_screened"] == 0
    # The run's records still to screen are in the update too, under ids of its own: named, to be screened once (a
    # helper's update with DOIs for ids had them in both lists, unsaid).
    listed = pd.read_csv(test, dtype=str, keep_default_na=False)
    listed = listed[(listed["abstract"] != "") & ~listed["abstract"].isin(screened["abstract"])]
    assert any(re.search(rf"update.csv: {len(listed)} record\(s\) have the title and abstract of a record the run lists to "
                         rf"screen \(first: id 'test-\d+', as the run's id '\d+'\): the same paper under another id, in both "
                         r"lists. Screen each once \(ranked.csv's copy_of names the run's record\).", m) for m in said)
    # ranked.csv names each copy's training record and label, so none is screened again, and each of the run's
    # records to screen.
    ranked = pd.read_csv(tmp_path / "pred" / "ranked.csv", dtype=str, keep_default_na=False)
    known = {(r.title, r.abstract): (r.record_id, "") for r in listed[::-1].itertuples()}
    known |= {(r.title, r.abstract): (r.record_id, r.label_included) for r in screened[::-1].itertuples() if r.abstract}
    named = [known.get((r.title, r.abstract), ("", "")) for r in ranked.itertuples()]
    assert list(zip(ranked["copy_of"], ranked["copy_label"])) == named
    assert sum(n[1] != "" for n in named) == with_abstract and sum(n[0] != "" for n in named) == with_abstract + len(listed)
    # Their label is known: counted as such in the probabilities and the expected included records, not as a chance.
    copies = ranked[ranked["copy_label"] != ""]
    assert (copies["probability"].astype(float) == copies["copy_label"].astype(float)).all()
    assert summary["expected_included"] == pytest.approx(ranked["probability"].astype(float).sum())
    for name, decision in (("expected_flagged", "1"), ("expected_below", "0")):  # the two parts add up, as ranked.csv's rows
        part = ranked[ranked["decision"] == decision]
        assert summary[name] == pytest.approx(part["probability"].astype(float).sum(), abs=1e-4)  # as written
        low, high = summary[f"{name}_interval"]
        assert (part["copy_label"] == "1").sum() <= low <= summary[name] <= high  # no fewer than the known included copies


def test_new_records_under_reused_ids_are_scored_and_the_screened_ones_left_out_by_id_and_title(text_run, tmp_path):
    run, train, _ = text_run
    # A new export numbers its rows from 1, as the run's did: the ids of training records, but other papers.
    data = pd.read_csv(DATASETS / "cohen_atypical_antipsychotics.csv", dtype=str, keep_default_na=False)
    new = data.iloc[300:320].assign(record_id=[str(i) for i in range(1, 21)])[["record_id", "title", "abstract"]]
    new.iloc[:3, 1] = ""  # untitled: compared by title and abstract, which differ too (a helper saw these dropped)
    new.iloc[3, 1] = "Olanzapine\xa0versus  risperidone"  # exported with a non-breaking space: named as read, not escaped
    assert (new["abstract"].iloc[:3] != "").all()
    new.to_csv(tmp_path / "update.csv", index=False)
    with pytest.warns(UserWarning, match=r"update.csv: 20 record\(s\) have the id of a record the run trained on but not its "
                      r"title and abstract \(first: row 2, id '1', no title\): .*so they are scored as new rather than "
                      r"left out as screened"):
        assert _predict(run, tmp_path / "update.csv", tmp_path / "pred") == 0
    summary = json.loads((tmp_path / "pred" / "summary.json").read_text())
    assert summary["n_records"] == 20 and summary["left_out_screened"] == 0
    assert [m[m.index("update.csv"):m.index(" (first")] for m in summary["input_warnings"]] == [
        "update.csv: 20 record(s) have the id of a record the run trained on but not its title and abstract"]
    # Rows as a spreadsheet numbers them, blank lines counted (the warning said row 2 of a file whose first is row 3).
    lines = (tmp_path / "update.csv").read_text().splitlines(keepends=True)
    (tmp_path / "blank.csv").write_text(lines[0] + "\n" + "".join(lines[1:]))
    with pytest.warns(UserWarning, match=r"blank.csv: 20 record\(s\) .* \(first: row 3, id '1', no title\)"):
        assert _predict(run, tmp_path / "blank.csv", tmp_path / "blank") == 0
    new.iloc[3:].to_csv(tmp_path / "titled.csv", index=False)
    with pytest.warns(UserWarning, match=r'\(first: row 2, id \'4\', "Olanzapine versus risperidone"\)'):
        assert _predict(run, tmp_path / "titled.csv", tmp_path / "titled") == 0
    # A title two papers share ("Erratum") with other abstracts, and records without text on both sides: scored, since
    # their texts do not show them to be the training records (a helper saw such new papers dropped).
    screened = pd.read_csv(train, dtype=str, keep_default_na=False)[["record_id", "title", "abstract"]]
    alike = screened.iloc[:2].assign(abstract=["Another abstract altogether.", "A reply to the letter above."])
    empty = screened[(screened["title"] == "") & (screened["abstract"] == "")].iloc[:1]
    assert len(empty) == 1
    pd.concat([alike, empty, new.iloc[3:]]).to_csv(tmp_path / "alike.csv", index=False)
    # (The record without text on both sides is scored, the others showing reused ids, but not named as another paper.)
    with pytest.warns(UserWarning, match=r"alike.csv: 19 record\(s\) have the id of a record the run trained on"):
        assert _predict(run, tmp_path / "alike.csv", tmp_path / "alike") == 0
    summary = json.loads((tmp_path / "alike" / "summary.json").read_text())
    assert summary["left_out_screened"] == 0 and summary["n_records"] == 3 + 17
    # The same papers under ids of their own get the same scores: the reused ids changed nothing but the ids.
    new.assign(record_id=[f"n{i}" for i in range(20)]).to_csv(tmp_path / "own.csv", index=False)
    assert _predict(run, tmp_path / "own.csv", tmp_path / "own") == 0
    scores = [pd.read_csv(tmp_path / folder / "scores.csv")["score"].to_numpy() for folder in ("pred", "own")]
    assert np.array_equal(*scores)
    # The whole search exported again, numbered as the run's (its training records first): those left out by id and
    # title, the 20 new papers after them scored; ids that only number rows need no --id-col where titles are kept.
    screened = pd.read_csv(train, dtype=str, keep_default_na=False)[["record_id", "title", "abstract"]]
    whole = pd.concat([screened, new.assign(record_id=[str(i) for i in range(201, 221)])])
    whole.to_csv(tmp_path / "whole.csv", index=False)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        assert _predict(run, tmp_path / "whole.csv", tmp_path / "whole") == 0
    assert not [w for w in said if "have the id of a record the run trained on" in str(w.message)]
    summary = json.loads((tmp_path / "whole" / "summary.json").read_text())
    # Its records without text are left out too: no record with a text under the run's ids differs, so the ids are
    # the run's (a helper saw them listed to screen again, "another paper under a reused id").
    textless = int(((screened["title"] == "") & (screened["abstract"] == "")).sum())
    assert textless and summary["n_records"] == 20 and summary["left_out_screened"] == 200
    # Which were left out, with the run's id and the label the reviewer gave each, to check them by.
    left_out = pd.read_csv(tmp_path / "whole" / "left_out.csv", dtype=str)
    labels = pd.read_csv(train, dtype=str, keep_default_na=False).set_index("record_id")["label_included"]
    assert list(left_out.columns) == ["id", "run_id", "label", "title"] and len(left_out) == 200
    assert (left_out["id"] == left_out["run_id"]).all() and (left_out["label"] == labels[left_out["run_id"]].to_numpy()).all()
    titles = screened.set_index("record_id")["title"]  # to check them by without looking ids up (a helper's)
    assert (left_out["title"].fillna("") == titles[left_out["id"]].str.strip().to_numpy()).all()
    assert pd.read_csv(tmp_path / "pred" / "left_out.csv").empty  # none left out: the header alone


def test_a_run_without_title_hashes_refuses_ids_that_only_number_rows_until_an_id_column_is_named(text_run, tmp_path,
                                                                                                  capsys, monkeypatch):
    # A run folder of 0.3.8 or before: its fold plan keeps no title hashes, so a match by id alone cannot be trusted.
    monkeypatch.setattr(fitted_run_module, "load_fold_plan", lambda out: replace(load_fold_plan(out), keys=None))
    run, _, _ = text_run
    data = pd.read_csv(DATASETS / "cohen_atypical_antipsychotics.csv", dtype=str, keep_default_na=False).iloc[300:320]
    data = data.assign(record_id=[str(i) for i in range(1, 21)])  # a new export numbers its rows from 1, as the run's did
    data[["record_id", "pubmedID", "title", "abstract"]].to_csv(tmp_path / "update.csv", index=False)
    assert _predict(run, tmp_path / "update.csv", tmp_path / "pred") == 2
    error = capsys.readouterr().err
    assert "all 20 records are the run's training records" in error and len(error.strip().splitlines()) == 1
    assert "if they are new records, their ids only number the rows, so pass --id-col" in error
    # Some overlap only, as a longer new export would have: still refused, no new record silently left out.
    longer = pd.read_csv(DATASETS / "cohen_atypical_antipsychotics.csv", dtype=str, keep_default_na=False).iloc[300:900]
    longer.assign(record_id=[str(i) for i in range(1, 601)])[["record_id", "title", "abstract"]].to_csv(tmp_path / "long.csv", index=False)
    assert _predict(run, tmp_path / "long.csv", tmp_path / "pred") == 2
    error = capsys.readouterr().err
    assert "long.csv: its ids only number the rows (1, 2, ...) and 200 of them are ids of the run's training records" in error
    assert "--id-col" in error and len(error.strip().splitlines()) == 1 and not (tmp_path / "pred").exists()
    assert "(A run made by screenstack 0.3.9 or later, in a new --out, keeps its records' titles" in error  # the way out
    # The run's ids are record_id's row numbers too: naming a new column here alone would recognise no screened record.
    assert "the run read its ids from 'record_id', so rerun `screenstack run` with the same --id-col first" in error
    assert _predict(run, tmp_path / "update.csv", tmp_path / "pred", "--id-col", "pubmedID") == 0
    assert json.loads((tmp_path / "pred" / "summary.json").read_text())["n_records"] == 20


def test_predict_gives_the_expected_included_below_the_threshold_with_the_interval_stack_gives(text_run, tmp_path, caplog):
    run, _, test = text_run
    caplog.set_level("INFO", logger="screenstack")
    assert main(["predict", "--run", str(run), "--data", str(test), "--out", str(tmp_path / "pred")]) == 0
    summary = json.loads((tmp_path / "pred" / "summary.json").read_text())
    screening = json.loads((run / "summary.json").read_text())["screening"]
    assert summary["expected_below_interval"] == screening["expected_below_interval"]
    assert summary["expected_flagged_interval"] == screening["expected_flagged_interval"]
    for key in ("n_records", "n_flagged", "expected_included", "expected_flagged", "expected_below"):  # run's names, run's figures
        assert summary[key] == pytest.approx(screening[key]), key
    low, high = screening["expected_below_interval"]
    line = next(m for m in caplog.messages if m.startswith("predict:"))
    f_low, f_high = screening["expected_flagged_interval"]
    assert (f"{screening['n_flagged']} of {screening['n_records']} records flagged" in line and f"expected relevant among "
            f"them {screening['expected_flagged']:.1f} (95% interval {f_low:.1f}-{f_high:.1f}), left below the threshold "
            f"{screening['expected_below']:.1f} ({low:.1f}-{high:.1f})" in line)


def test_predicting_again_after_a_restack_says_it_replaces_the_earlier_stack_predictions(run_copy, tmp_path, caplog):
    run, _, test = run_copy
    caplog.set_level("INFO", logger="screenstack")

    def replacing():
        caplog.clear()
        assert main(["predict", "--run", str(run), "--data", str(test), "--out", str(tmp_path / "pred")]) == 0
        return [m for m in caplog.messages if m.startswith("replacing")]

    assert replacing() == []
    assert replacing() == []  # the same stack: the same predictions again, nothing to say
    before = json.loads((run / "summary.json").read_text())["threshold"]
    # A review at 13% included ranked weakly: F7 and even F2 on the fitted tail flag every record; F1's argmax does not.
    assert main(["-q", "stack", "--out", str(run), "--beta", "1", "--threshold-rule", "argmax"]) == 0
    after = json.loads((run / "summary.json").read_text())["threshold"]
    assert after != before
    assert replacing() == [f"replacing predictions made with an earlier stack of {run} (its threshold {said_threshold(before)} -> "
                           f"{said_threshold(after)})"]
    assert json.loads((tmp_path / "pred" / "summary.json").read_text())["threshold"] == after
    assert replacing() == []


def test_the_summary_lists_the_learners_the_blend_uses(run_copy, tmp_path, resign):
    run, _, test = run_copy
    state = json.loads((run / "blend.json").read_text())
    Z = np.random.default_rng(0).random((20, len(state["learners"])))
    left_out = make_blender("rank-average", use=[True] + [False] * (len(state["learners"]) - 1)).fit(Z, np.r_[np.zeros(10), np.ones(10)])
    (run / "blend.json").write_text(json.dumps(blend_state(left_out, state["learners"])))
    resign(run, "stack")  # as if the stack had written it
    assert _predict(run, test, tmp_path / "pred") == 0
    assert json.loads((tmp_path / "pred" / "summary.json").read_text())["learners"] == state["learners"][:1]


def test_a_learner_the_blend_leaves_out_is_not_loaded_and_the_scores_are_the_run_test_scores(tmp_path, monkeypatch):
    import screenstack.stacking.fitted_run as fitted_run_module
    import screenstack.stacking.stack as stack_module

    train, test = _files(tmp_path)
    frame = pd.read_csv(train, dtype=str, keep_default_na=False)
    frame.loc[frame["label_included"].eq("1").cumsum().gt(6), "label_included"] = "0"  # 6 included: the rank average
    frame.to_csv(train, index=False)
    with monkeypatch.context() as patched:  # tfidf-svm weighed from 10 included records only, as if it were a boosted learner
        patched.setattr(stack_module, "min_included", lambda name: 10 if name == "tfidf-svm" else 0)
        assert main(["-q", "run", "--train", str(train), "--test", str(test), "--learners", "tfidf-svm,tfidf-logreg",
                     "--folds", "3", "--out", str(tmp_path / "run")]) == 0
    run = tmp_path / "run"
    state = json.loads((run / "blend.json").read_text())
    assert state["method"] == "single" and state["learners"] == ["tfidf-logreg", "tfidf-svm"]  # one weighed: its scores
    assert state["state"]["weights"] == [1.0, 0.0]
    loaded = []
    real = fitted_run_module.load_fold_models
    monkeypatch.setattr(fitted_run_module, "load_fold_models", lambda folder, fix: loaded.append(Path(folder).name) or real(folder, fix))
    shutil.rmtree(run / "learners" / "tfidf-svm" / "models")  # the left-out learner cannot be scored: no matter
    assert _predict(run, test, tmp_path / "pred") == 0
    assert loaded == ["tfidf-logreg"]
    for ours, theirs in (("scores.csv", "test_scores.csv"), ("submission.csv", "submission.csv"), ("ranked.csv", "ranked.csv")):
        assert (tmp_path / "pred" / ours).read_bytes() == (run / theirs).read_bytes()
    assert json.loads((tmp_path / "pred" / "summary.json").read_text())["learners"] == ["tfidf-logreg"]


def test_a_text_setting_other_than_the_run_is_refused(text_run, tmp_path, capsys):
    run, _, test = text_run
    assert _predict(run, test, tmp_path / "pred", "--text-cols", "title") == 2
    error = capsys.readouterr().err
    assert "--text-cols title: the run's texts came from columns title,abstract" in error
    assert not (tmp_path / "pred").exists()
    assert _predict(run, test, tmp_path / "pred", "--text-cols", "title,abstract") == 0  # the run's own: fine


def test_an_updates_own_names_for_the_run_text_columns_are_given_by_text_cols_in_the_run_order(text_run, tmp_path, capsys):
    # helper-164: `predict --text-cols "title,Abstract Text"` was refused ("give title,abstract"), so an update whose
    # abstracts sat under another name could only be scored on its titles.
    run, _, test = text_run
    renamed = tmp_path / "renamed.csv"
    pd.read_csv(test, dtype=str, keep_default_na=False).rename(columns={"title": "Headline", "abstract": "Abstract Text"}).to_csv(
        renamed, index=False)
    assert _predict(run, renamed, tmp_path / "pred", "--text-cols", "Headline,Abstract Text") == 0
    assert (tmp_path / "pred" / "scores.csv").read_bytes() == (run / "test_scores.csv").read_bytes()
    capsys.readouterr()
    for swapped in ("abstract,title", "Headline,title", "Abstract Text,Headline", "Headline"):  # another role, or fewer
        assert _predict(run, renamed, tmp_path / "other", "--text-cols", swapped) == 2
        error = capsys.readouterr().err
        assert f"--text-cols {swapped}: the run's texts came from columns title,abstract" in error
        assert "Give this file's columns holding what they held, in that order (a title's or abstract's name" in error
    # Names that say nothing, given in the other order (helper-165): scored as asked, with a warning that the "titles"
    # are the longer texts.
    plain = tmp_path / "plain.csv"
    pd.read_csv(renamed, dtype=str, keep_default_na=False).rename(columns={"Headline": "A", "Abstract Text": "B"}).to_csv(
        plain, index=False)
    with pytest.warns(UserWarning, match=r"--text-cols B,A: median text length B: \d+ characters \(the run's title: \d+\); "
                                         r"A: \d+ characters \(the run's abstract: \d+\), in its records against the run's "
                                         r"records to screen: another kind of text, or the columns in another order\?"):
        assert _predict(run, plain, tmp_path / "swapped", "--text-cols", "B,A") == 0


def test_a_run_that_read_its_title_under_another_name_scores_an_update_with_a_title_column(tmp_path):
    # helper-164: a run of `--text-cols "Article Title,Abstract"` refused an update's `title` (and a RIS file's TI) as
    # "no title column (... looked for Article Title, title, ...; found: ..., title, ...)": only the built-in names
    # counted as a title, and the run's first text column is its title whatever its name.
    _run_with_columns(tmp_path, "Article Title,Abstract", {"title": "Article Title", "abstract": "Abstract"})
    test = tmp_path / "test.csv"
    assert _predict(tmp_path / "run", test, tmp_path / "pred") == 0
    assert (tmp_path / "pred" / "scores.csv").read_bytes() == (tmp_path / "run" / "test_scores.csv").read_bytes()


def test_a_run_that_read_its_columns_in_another_order_reads_an_updates_columns_by_name_first(tmp_path, capsys):
    # A run of `--text-cols Abstract,Title` read each abstract as a title: an update's `abstract` is still read first
    # (matched by name, as the run matched it, before the title's role is looked for), not its `title`.
    _run_with_columns(tmp_path, "Abstract,Title", {"title": "Title", "abstract": "Abstract"})
    test = tmp_path / "test.csv"
    capsys.readouterr()
    for wrong in ("title,abstract", "Article Title,Abstract Text"):  # the run's Title first, or a title's name there
        assert _predict(tmp_path / "run", test, tmp_path / "wrong", "--text-cols", wrong) == 2
        assert f"--text-cols {wrong}: the run's texts came from columns Abstract,Title" in capsys.readouterr().err
    # Names that say nothing: judged against the run's own records to screen, whose first text was the longer.
    plain = tmp_path / "plain.csv"
    pd.read_csv(test, dtype=str, keep_default_na=False).rename(columns={"abstract": "A", "title": "B"}).to_csv(plain, index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _predict(tmp_path / "run", plain, tmp_path / "plain", "--text-cols", "A,B") == 0
    assert not [w for w in caught if "another order" in str(w.message)]
    assert (tmp_path / "plain" / "scores.csv").read_bytes() == (tmp_path / "run" / "test_scores.csv").read_bytes()
    with pytest.warns(UserWarning, match=r"median text length B: \d+ characters \(the run's Abstract: \d+\); A: \d+ "
                                         r"characters \(the run's Title: \d+\)"):
        assert _predict(tmp_path / "run", plain, tmp_path / "swapped", "--text-cols", "B,A") == 0
    for out, extra in (("pred", ()), ("given", ("--text-cols", "abstract,title"))):  # the run's names, in its order
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert _predict(tmp_path / "run", test, tmp_path / out, *extra) == 0
        assert not [w for w in caught if "another order" in str(w.message)]  # as the run read them: no alarm
        assert (tmp_path / out / "scores.csv").read_bytes() == (tmp_path / "run" / "test_scores.csv").read_bytes()


def test_a_run_that_read_its_abstract_under_another_name_scores_an_updates_abstract_column(tmp_path, capsys):
    # helper-165: a run of `--text-cols "Headline,Abstract Text"` scored a CSV, RIS or MEDLINE update's abstracts as
    # missing ("no column Abstract Text"), and refused `--text-cols title,abstract` for them. A name that says abstract
    # is the abstract's; one that says nothing ("Headline") is matched by --text-cols, which the refusal says.
    _run_with_columns(tmp_path, "Headline,Abstract Text", {"title": "Headline", "abstract": "Abstract Text"})
    test = tmp_path / "test.csv"
    capsys.readouterr()
    assert _predict(tmp_path / "run", test, tmp_path / "pred") == 2
    assert "no column Headline, which the run read first, as its titles" in capsys.readouterr().err
    assert _predict(tmp_path / "run", test, tmp_path / "given", "--text-cols", "title,abstract") == 0
    assert (tmp_path / "given" / "scores.csv").read_bytes() == (tmp_path / "run" / "test_scores.csv").read_bytes()


def test_a_runs_second_text_column_that_is_no_abstract_is_not_read_from_an_updates_abstract(tmp_path, capsys):
    # helper-166: a run of `--text-cols title,keywords` read an update's Abstract (or a MEDLINE file's AB) for its
    # keywords, silently (36 of 120 flagged, not 59): a second column is the abstract by its name, not its place.
    _run_with_columns(tmp_path, "title,keywords", {}, keywords=lambda frame: frame["abstract"].str[:40])
    test = tmp_path / "test.csv"
    with pytest.warns(UserWarning, match="no column keywords") as said:
        assert _predict(tmp_path / "run", test, tmp_path / "pred") == 0  # the update has title, abstract: no keywords
    assert not [w for w in said if "looks like one" in str(w.message)]  # an abstract is no keywords column to rename
    assert [w for w in said if "Where the file holds it under another name, give --text-cols with its names for the run's "
            "title, keywords, in that order." in str(w.message)]  # helper-168: the warning named no way to read them
    capsys.readouterr()
    assert _predict(tmp_path / "run", test, tmp_path / "wrong", "--text-cols", "keywords,title") == 2  # out of place
    assert "--text-cols keywords,title: the run's texts came from columns title,keywords" in capsys.readouterr().err
    # An abstract given for the keywords (helper-167: silent) is read as asked, and its length (40 characters in the
    # run's, the whole abstract here) warned of.
    with pytest.warns(UserWarning, match=r"--text-cols title,abstract: median text length abstract: \d+ characters "
                                         r"\(the run's keywords: 40\)"):
        assert _predict(tmp_path / "run", test, tmp_path / "abstracts", "--text-cols", "title,abstract") == 0
    assert (tmp_path / "pred" / "scores.csv").read_bytes() != (tmp_path / "run" / "test_scores.csv").read_bytes()
    upper = tmp_path / "upper.csv"
    pd.read_csv(tmp_path / "named-test.csv", dtype=str, keep_default_na=False).rename(columns=str.title).to_csv(upper, index=False)
    assert _predict(tmp_path / "run", upper, tmp_path / "upper") == 0  # "Keywords": the run's name, case aside
    assert (tmp_path / "upper" / "scores.csv").read_bytes() == (tmp_path / "run" / "test_scores.csv").read_bytes()


def test_an_encoder_option_for_a_run_without_vectors_is_not_used_and_says_so(text_run, tmp_path, caplog):
    """A monthly script naming the model must not fail in the month the run's blend leaves the vector learners out."""
    run, _, test = text_run
    assert main(["predict", "--run", str(run), "--data", str(test), "--out", str(tmp_path / "pred"), "--model", "minilm"]) == 0
    assert "predict: --model not used: the run's blend uses no vector learners (tfidf-logreg, tfidf-svm)" in caplog.text
    assert (tmp_path / "pred" / "scores.csv").read_bytes() == (run / "test_scores.csv").read_bytes()


def test_predict_serves_a_run_whose_ranked_csv_the_reviewer_edited_or_moved_out(run_copy, tmp_path):
    """The reviewer screens in the run's ranked.csv (README's path), then scores next month's update: predict does
    not read that file, so notes typed into it, or moving it out as `stack` asks, do not stop the update."""
    run, _, test = run_copy
    ranked = run / "ranked.csv"
    lines = ranked.read_text().splitlines(keepends=True)
    ranked.write_text(lines[0] + lines[1].rstrip("\n") + ",screened: include\n" + "".join(lines[2:]))
    assert _predict(run, test, tmp_path / "edited") == 0
    assert (tmp_path / "edited" / "scores.csv").read_bytes() == (run / "test_scores.csv").read_bytes()
    ranked.rename(tmp_path / "run-ranked-screened.csv")
    assert _predict(run, test, tmp_path / "moved") == 0
    assert (tmp_path / "moved" / "scores.csv").read_bytes() == (run / "test_scores.csv").read_bytes()


def test_predict_refuses_a_run_another_process_is_writing(run_copy, tmp_path, capsys):
    from screenstack.features.artifacts.runfolder import RunFolder

    run, _, test = run_copy
    with RunFolder(run).lock():  # another open file holds it, as another process would
        assert _predict(run, test, tmp_path / "pred") == 2
    error = capsys.readouterr().err
    assert f"--run {run}: another screenstack process (pid " in error and "is writing it. Wait for it to finish, then predict again" in error
    assert not (tmp_path / "pred").exists()
    assert _predict(run, test, tmp_path / "pred") == 0  # once it is done


def test_predict_reads_a_run_on_a_file_system_without_locks(run_copy, tmp_path, monkeypatch):
    """helper-157: flock failing with ENOLCK (some network mounts) ended predict in a traceback, where it had worked."""
    import errno

    import screenstack.features.artifacts.runfolder as runfolder

    run, _, test = run_copy
    flock = runfolder.fcntl.flock

    def no_locks(fd, operation):
        if operation & runfolder.fcntl.LOCK_SH:
            raise OSError(errno.ENOLCK, "No locks available")
        return flock(fd, operation)

    monkeypatch.setattr(runfolder.fcntl, "flock", no_locks)
    assert _predict(run, test, tmp_path / "pred") == 0
    assert not (run / runfolder.LOCK_FILE).exists()


def test_a_command_writing_a_folder_on_a_file_system_without_locks_is_refused_in_one_line(run_copy, capsys, monkeypatch):
    """helper-159: stack (and predict's own --out) ended in a traceback on ENOLCK and left an empty .lock behind."""
    import errno

    import screenstack.features.artifacts.runfolder as runfolder

    run, _, _ = run_copy
    before = {p.relative_to(run): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(runfolder.fcntl, "flock", no_locks)
    assert main(["-q", "stack", "--out", str(run), "--beta", "5"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"screenstack: error: --out {run}: its file system takes no locks (No locks available), and screenstack locks a "
        "folder it writes, so that two commands never write it at once. Use an --out on a local disk.")
    assert {p.relative_to(run): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()} == before


def test_predict_holds_its_run_against_writers_to_the_end(run_copy, tmp_path, capsys, monkeypatch):
    """A `stack` started 8 s into a predict succeeded (helper-153), and the predictions named a stack gone by then."""
    import screenstack.stacking.predict as predicting
    from screenstack.features.artifacts.runfolder import RunFolder

    run, _, test = run_copy
    said, scoring = [], predicting.predict

    def stack_meanwhile(*args, **kwargs):  # another process's stack, started as predict scores
        said.append(main(["-q", "stack", "--out", str(run), "--beta", "5"]))
        return scoring(*args, **kwargs)

    monkeypatch.setattr(predicting, "predict", stack_meanwhile)
    assert _predict(run, test, tmp_path / "pred") == 0
    assert said == [2] and "is reading it (`screenstack predict` with it as --run)" in capsys.readouterr().err
    assert json.loads((tmp_path / "pred" / "summary.json").read_text())["run_stack_version"] == RunFolder(run).version("stack")


def test_a_run_predict_is_reading_refuses_writers_and_serves_other_readers(run_copy, tmp_path, capsys):
    """A `stack` started while predict worked replaced the stack the predictions name (helper-153): predict holds
    --run for reading to its end, so a writer is refused in one line saying so, while a second predict shares it."""
    from screenstack.features.artifacts.runfolder import LOCK_FILE, RunFolder

    run, _, test = run_copy
    before = {p.relative_to(run): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}
    with RunFolder(run).reading("--run", "predict"):  # another process's predict, mid-way
        assert main(["-q", "stack", "--out", str(run), "--beta", "5"]) == 2
        error = capsys.readouterr().err
        assert f"--out {run}: another screenstack process is reading it (`screenstack predict` with it as --run). " \
               "Wait for it to finish, or use another --out." in error
        assert _predict(run, test, tmp_path / "second") == 0  # readers share the folder
    assert {p.relative_to(run): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()} == before
    assert not (run / LOCK_FILE).exists()  # the last reader out removes the lock file, as a writer does
    assert main(["-q", "stack", "--out", str(run), "--beta", "5"]) == 0  # once predict is done


@pytest.mark.parametrize("first", [False, True], ids=["restacked", "first-stack"])
def test_a_stack_left_half_moved_in_is_refused_until_a_writing_command_finishes_it(run_copy, tmp_path, capsys, monkeypatch,
                                                                                   first):
    """A helper's `stack --beta 5` failed while moving its files in (a file made immutable, a kill): predict called
    the new blend.json damaged and advised the old stack's command, or went on with the old threshold beside the new
    ranked.csv. A first stack so left was called a stack whose manifest was deleted, to be moved aside (helper-155)."""
    import os

    from screenstack.features.artifacts import sets

    run, train, test = run_copy
    if first:  # a folder never stacked: the finishing command is `stack`, as `report` needs a stack
        run = tmp_path / "fitted"
        assert main(["-q", "fit-learners", "--train", str(train), "--test", str(test), "--learners", "tfidf-svm",
                     "--folds", "3", "--out", str(run)]) == 0
    moves, replace = [], os.replace

    def third_fails(source, target):  # the third file moved from the staging folder into the run's
        if ".staging" in Path(source).parts and ".staging" not in Path(target).parts:
            moves.append(target)
        if len(moves) == 3:
            raise OSError(5, "Input/output error", str(source), None, str(target))
        replace(source, target)

    monkeypatch.setattr(sets.os, "replace", third_fails)
    assert main(["-q", "stack", "--out", str(run), "--beta", "5"]) == 2
    monkeypatch.setattr(sets.os, "replace", replace)
    capsys.readouterr()
    assert _predict(run, test, tmp_path / "pred") == 2
    finisher = "stack" if first else "report"
    assert capsys.readouterr().err.strip() == (
        f"screenstack: error: --run {run}: an interrupted command left its new stack outputs half moved in "
        f"({run / '.staging'}). Any command that writes into the folder finishes them: run `screenstack {finisher} --out "
        f"{run}`, then predict again.")
    assert not (tmp_path / "pred").exists()
    assert main(["-q", finisher, "--out", str(run), *(["--beta", "5"] if first else [])]) == 0
    assert json.loads((run / "summary.json").read_text())["beta"] == 5.0  # the stack asked for, finished
    assert _predict(run, test, tmp_path / "pred") == 0


def test_a_folder_where_a_stack_file_was_written_is_said_so_with_what_to_move(run_copy, tmp_path, capsys):
    run, _, test = run_copy
    (run / "blend.json").unlink()
    (run / "blend.json").mkdir()
    assert _predict(run, test, tmp_path / "pred") == 2
    assert (f"{run / 'blend.json'}: damaged (a folder stands where the file was written). Move that folder out of {run}, "
            "then: Run `screenstack stack --out") in capsys.readouterr().err


def test_a_file_in_place_of_the_manifests_folder_is_refused_not_read_unchecked(run_copy, tmp_path, capsys):
    run, _, test = run_copy
    shutil.rmtree(run / ".manifests")
    (run / ".manifests").touch()
    assert _predict(run, test, tmp_path / "pred") == 2
    assert f"--run {run}: {run / '.manifests'} is a file where the run keeps its folder of manifests, so none of its " \
           "files can be checked" in capsys.readouterr().err


def test_a_manifest_the_permissions_keep_from_being_read_is_said_as_that_not_as_damaged(run_copy, tmp_path, capsys,
                                                                                         monkeypatch):
    # A helper's chmod 000 learner manifest: predict said "damaged (unreadable manifest)", stack "Permission denied".
    import errno

    run, _, test = run_copy
    unreadable, read_text = run / ".manifests" / "learners%tfidf-svm.json", Path.read_text

    def refused(path, *args, **kwargs):
        if Path(path) == unreadable:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refused)
    assert _predict(run, test, tmp_path / "pred") == 2
    error = capsys.readouterr().err
    assert f"{unreadable}: Permission denied; check the permissions" in error and "damaged" not in error


@pytest.mark.parametrize("unreadable", ["manifest", "folder"])
def test_a_staged_set_the_permissions_keep_from_being_read_is_neither_deleted_nor_passed_over(run_copy, tmp_path, capsys,
                                                                                              monkeypatch, unreadable):
    """The next writer deleted a staged set whose manifest it could not read, without a word, and predict went on past
    it (or past a .staging it could not list), reading the old set's files beside what the set would move in."""
    import errno

    run, _, test = run_copy
    staged = run / ".staging" / "stack"
    staged.mkdir(parents=True)
    (staged / "MANIFEST.json").write_text('{"set": "stack", "files": {}, "meta": {}, "inputs": {}}')
    refused_path = staged / "MANIFEST.json" if unreadable == "manifest" else run / ".staging"
    read_text, iterdir = Path.read_text, Path.iterdir

    def refuse(path):
        if Path(path) == refused_path:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(Path, "read_text", lambda path, *a, **k: refuse(path) or read_text(path, *a, **k))
    monkeypatch.setattr(Path, "iterdir", lambda path: refuse(path) or iterdir(path))
    for command in (["predict", "--run", str(run), "--data", str(test), "--out", str(tmp_path / "pred")],
                    ["stack", "--out", str(run)]):
        assert main(["-q", *command]) == 2
        assert f"{refused_path}: Permission denied; check the permissions" in capsys.readouterr().err
    assert (staged / "MANIFEST.json").is_file() and not (tmp_path / "pred").exists()


def test_predictions_into_the_run_folder_are_refused(text_run, capsys):
    run, _, test = text_run
    before = (run / "submission.csv").read_bytes()
    assert _predict(run, test, run) == 2
    assert "is the run folder itself" in capsys.readouterr().err
    for inside in (run / "update1", run / "learners" / "x"):  # the second would sit among the learners to stack
        assert _predict(run, test, inside) == 2
        assert (f"--out {inside}: is inside the screenstack folder {run}, among its own files. Give a folder of its own "
                f"beside it, e.g. --out {run.parent / 'update1'}") in capsys.readouterr().err
        assert not inside.exists()
    assert (run / "submission.csv").read_bytes() == before


def test_a_damaged_model_file_is_refused_by_name_with_the_fix(run_copy, tmp_path, capsys):
    run, _, test = run_copy
    model = run / "learners" / "tfidf-svm" / "models" / "fold1.safetensors"
    model.write_bytes(model.read_bytes()[:-10])
    assert _predict(run, test, tmp_path / "pred") == 2
    error = capsys.readouterr().err
    assert f"{model}: damaged" in error and f"`screenstack run --config {run / 'config.toml'} --out {run}`" in error  # a copy
    assert not (tmp_path / "pred").exists()
    model.unlink()
    assert _predict(run, test, tmp_path / "pred") == 2
    assert f"{model}: missing (moved or deleted)" in capsys.readouterr().err


def test_an_update_written_without_its_header_row_is_refused_as_run_refuses_it(text_run, tmp_path, capsys):
    # predict said "no title column (... found: 851, Clozapine and risperidone ..., <an abstract>)"
    run, _, test = text_run
    pd.read_csv(test, dtype=str, keep_default_na=False).to_csv(tmp_path / "nohead.csv", index=False, header=False)
    assert _predict(run, tmp_path / "nohead.csv", tmp_path / "pred") == 2
    error = capsys.readouterr().err
    assert "nohead.csv: its first row looks like a record, not a header row naming the columns" in error
    assert "Add a header row above it: id,title,abstract" in error and not (tmp_path / "pred").exists()


def test_a_deleted_fold_plan_is_named_with_the_runs_own_command_which_restores_it(run_copy, tmp_path, capsys):
    # "Run fit-learners with this --out" was refused in turn: fit-learners alone does not know the run's input files
    run, _, test = run_copy
    ranked = (run / "ranked.csv").read_bytes()
    (run / "folds.parquet").unlink()
    for command in (["predict", "--run", str(run), "--data", str(test), "--out", str(tmp_path / "pred")],
                    ["stack", "--out", str(run)]):
        assert main(["-q", *command]) == 2
        error = capsys.readouterr().err
        assert f"{run / 'folds.parquet'}: missing (moved or deleted). Rerun `screenstack run --config {run / 'config.toml'} " \
               f"--out {run}`" in error and "fit-learners" not in error
    assert main(["-q", "run", "--config", str(run / "config.toml"), "--out", str(run)]) == 0
    assert (run / "ranked.csv").read_bytes() == ranked  # the same plan drawn again: every learner reused


def test_a_deleted_stack_manifest_is_refused_with_the_way_to_write_the_stack_again(run_copy, tmp_path, capsys):
    run, _, test = run_copy
    (run / ".manifests" / "stack.json").unlink()
    assert _predict(run, test, tmp_path / "pred") == 2
    error = capsys.readouterr().err
    files = "submission.csv, test_scores.csv, ranked.csv, summary.json, calibration.json, blend.json, blend_oof.parquet"
    assert f"move the stack's files aside ({files}) and rerun `screenstack stack --out {run} --learners" in error
    assert "If a copy left it out, copy the run folder whole" in error
    (tmp_path / "aside").mkdir()
    for name in files.split(", "):
        (run / name).rename(tmp_path / "aside" / name)
    command = re.search(r"rerun `screenstack (stack [^`]*)`", error).group(1)
    assert main(["-q", *command.split()]) == 0  # as it says
    assert (run / "submission.csv").read_bytes() == (tmp_path / "aside" / "submission.csv").read_bytes()
    assert _predict(run, test, tmp_path / "pred") == 0


@pytest.mark.parametrize("manifest,moved", [("folds.json", "folds.parquet"), ("learners%tfidf-svm.json", "learners/tfidf-svm")])
def test_a_deleted_manifest_of_a_runs_set_is_refused_with_a_way_on_in_place(run_copy, tmp_path, capsys, manifest, moved):
    # "copy the run folder whole" copies the gap: the way on is in place, the set's files moved aside and written again
    run, _, test = run_copy
    submission = (run / "submission.csv").read_bytes()
    (run / ".manifests" / manifest).unlink()
    assert main(["-q", "stack", "--out", str(run)]) == 2
    error = capsys.readouterr().err
    said = "move the folder learners/tfidf-svm/ aside" if "/" in moved else f"move {moved} aside"
    assert f"If it was deleted, {said}. Rerun `screenstack run --config {run / 'config.toml'} --out {run}`" in error
    (run / moved).rename(tmp_path / "aside")
    assert main(["-q", "run", "--config", str(run / "config.toml"), "--out", str(run)]) == 0  # as it says
    assert (run / "submission.csv").read_bytes() == submission
    assert _predict(run, test, tmp_path / "pred") == 0


def test_a_run_stacked_before_the_blender_was_kept_is_told_to_restack(run_copy, tmp_path, capsys):
    run, _, test = run_copy
    (run / "blend.json").unlink()
    assert _predict(run, test, tmp_path / "pred") == 2
    assert f"screenstack stack --out {run}" in capsys.readouterr().err
    assert main(["-q", "stack", "--out", str(run)]) == 0
    assert _predict(run, test, tmp_path / "pred") == 0


def test_learners_fitted_without_models_still_stack_and_predict_says_to_refit(tmp_path, monkeypatch, capsys):
    train, test = _files(tmp_path)
    monkeypatch.setattr(fit_module, "model_files", lambda *args: {})  # as fit-learners wrote before models were kept
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--learners", "tfidf-svm", "--folds", "3",
                 "--out", str(tmp_path / "old")]) == 0
    assert (tmp_path / "old" / "submission.csv").is_file()
    monkeypatch.undo()
    assert _predict(tmp_path / "old", test, tmp_path / "pred") == 2
    error = capsys.readouterr().err
    assert "learners/tfidf-svm: no fold models" in error and "--learners tfidf-svm" in error
    # Doing what it says: the refit keeps the models, and predict then works.
    shutil.rmtree(tmp_path / "old" / "learners" / "tfidf-svm")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["-q", "fit-learners", "--train", str(train), "--test", str(test), "--learners", "tfidf-svm",
                     "--folds", "3", "--out", str(tmp_path / "old")]) == 0
    assert not any("refitting" in str(w.message) for w in caught)  # deleted as told: refitted, not a warning (helper-176)
    assert main(["-q", "stack", "--out", str(tmp_path / "old")]) == 0
    assert _predict(tmp_path / "old", test, tmp_path / "pred") == 0


def test_a_run_blending_a_fine_tuned_learner_is_refused(run_copy, tmp_path, capsys, monkeypatch):
    run, _, test = run_copy
    plan = load_fold_plan(run)
    scores = pd.read_parquet(run / "learners" / "tfidf-svm" / "oof.parquet")["score"].to_numpy()
    tests = pd.read_parquet(run / "learners" / "tfidf-svm" / "test.parquet")
    name = "finetune-tiny-linear"
    write_learner_output(run, name, plan, scores, tests["id"], tests["score"].to_numpy(),
                         {"learner": name, "kind": "crossfit", "input": "text", "finetune": {}})
    assert main(["-q", "stack", "--out", str(run)]) == 0
    versions = fitted_run_module.package_versions  # and its stack another version's: that warning's way on is none
    monkeypatch.setattr(fitted_run_module, "package_versions", lambda: {**versions(), "screenstack": "9.9.9"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _predict(run, test, tmp_path / "pred") == 2
    error = capsys.readouterr().err
    assert f"learners/{name}: is a fine-tuned encoder, whose fold weights are not kept" in error
    assert "--learners" in error
    # helper-176: two ways on (restack, run --config) were said first, neither of which leads to a prediction
    assert not [str(w.message) for w in caught if "makes it with" in str(w.message)]


@pytest.mark.parametrize("method", sorted(BLENDERS))
def test_a_blender_reloaded_from_its_json_state_scores_exactly_as_fitted(method):
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.2).astype(int)
    Z = 1 / (1 + np.exp(-(y[:, None] + rng.normal(size=(300, 3)))))
    fitted = make_blender(method).fit(Z[:200], y[:200])
    state = json.loads(json.dumps(blend_state(fitted, ["a", "b", "c"])))
    assert state["learners"] == ["a", "b", "c"] and state["method"] == method
    np.testing.assert_array_equal(load_blend(state).predict(Z[200:]), fitted.predict(Z[200:]))


def test_vectors_not_made_by_extract_are_refused(tmp_path, capsys):
    from screenstack.features.artifacts.store import write_vectors
    from screenstack.features.records.corpus import load_corpus
    from screenstack.learners.fit import fit_learners

    train, test = _files(tmp_path)
    corpus = load_corpus(train, test)
    vectors = np.random.default_rng(0).normal(size=(len(corpus.frame), 8)).astype(np.float32)
    features = write_vectors(tmp_path / "toy.parquet", corpus.frame["id"], corpus.frame["split"], vectors, {"model": "toy"})
    fit_learners(corpus, tmp_path / "run", ("logreg",), (str(features),), progress=False)
    assert main(["-q", "stack", "--out", str(tmp_path / "run")]) == 0
    assert _predict(tmp_path / "run", test, tmp_path / "pred") == 2
    assert "toy.parquet: its metadata lacks layers, pooling, max_length, dtype, store_dtype" in capsys.readouterr().err


def test_a_run_copied_without_its_manifests_is_refused_by_every_command_that_reads_it(run_copy, tmp_path, capsys):
    """`cp -r RUN/* COPY` leaves out hidden folders: with no manifests nothing could be checked, and `stack` there
    ignored the records to screen (records without text went unflagged) while `predict` read an edited calibration."""
    run, train, test = run_copy
    shutil.rmtree(run / ".manifests")
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    said = f"{run}: holds a run's files but no .manifests/ folder, so none of them can be checked"
    for command in (["predict", "--run", str(run), "--data", str(test), "--out", str(tmp_path / "pred")],
                    ["stack", "--out", str(run)], ["report", "--out", str(run)],
                    ["run", "--train", str(train), "--test", str(test), "--learners", "tfidf-svm,tfidf-logreg",
                     "--folds", "3", "--out", str(run)]):
        assert main(["-q", *command]) == 2, command
        error = capsys.readouterr().err.strip()
        assert said in error and "Copy the run folder whole (`cp -r RUN COPY`)" in error and "\n" not in error, command
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before and not (tmp_path / "pred").exists()


def test_an_empty_manifests_folder_or_a_deleted_manifest_does_not_let_files_be_read_or_replaced_unchecked(
        text_run, tmp_path, capsys):
    run, train, test = text_run
    copy = tmp_path / "copy"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns(".manifests"))
    (copy / ".manifests").mkdir()  # `mkdir C/.manifests` after `cp -r RUN/* C`
    (copy / ".staging" / "x").mkdir(parents=True)  # and a staged "set" to finish, which is none
    (copy / ".staging" / "x" / "MANIFEST.json").write_text("{}")
    for command in (["stack", "--out", str(copy)], ["predict", "--run", str(copy), "--data", str(test), "--out",
                                                      str(tmp_path / "p1")]):
        assert main(["-q", *command]) == 2
        assert f"{copy}: folds.parquet has no manifest (.manifests/folds.json is missing), so it cannot be checked" \
            in capsys.readouterr().err
    pred = tmp_path / "pred"  # predictions whose manifest was deleted: `run` there replaced them
    assert _predict(run, test, pred) == 0
    (pred / ".manifests" / "predict.json").unlink()
    notes = tmp_path / "notes"  # a folder of the reviewer's own, with an empty .manifests/
    (notes / ".manifests").mkdir(parents=True)
    (notes / "ranked.csv").write_text("my notes\n")
    for folder in (pred, notes):
        before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        capsys.readouterr()
        assert main(["-q", "run", "--train", str(train), "--test", str(test), "--learners", "tfidf-svm", "--folds", "3",
                     "--out", str(folder)]) == 2
        error = capsys.readouterr().err  # every such file at once: submission.csv among the predictions, ranked.csv here
        assert re.search(rf"{re.escape(str(folder))}: (submission|ranked)\.csv(, [a-z_.]+)* (is|are) listed in no manifest "
                         r"there \(a file of your own, or one whose manifest was deleted or edited\)", error), error
        assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_a_damaged_predictions_manifest_is_named_and_predict_writes_them_again(text_run, tmp_path, capsys):
    # It was called a folder of other files ("not predictions"), with no way to write them again in place.
    run, train, test = text_run
    out = tmp_path / "update"
    assert main(["-q", "predict", "--run", str(run), "--data", str(test), "--out", str(out)]) == 0
    (out / ".manifests" / "predict.json").write_text("[]")
    capsys.readouterr()
    assert main(["-q", "predict", "--run", str(run), "--data", str(test), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert f"{out / 'ranked.csv'}: {out / '.manifests' / 'predict.json'}, which listed it, is damaged" in error, error
    assert f"So is {out / 'left_out.csv'} (move it to {tmp_path / 'update-left_out-screened.csv'})" in error  # both at once
    (out / "ranked.csv").rename(tmp_path / "ranked-screened.csv")  # as the message says
    (out / "left_out.csv").rename(tmp_path / "update-left_out-screened.csv")
    assert main(["-q", "predict", "--run", str(run), "--data", str(test), "--out", str(out)]) == 0
    assert (out / "ranked.csv").read_bytes() == (tmp_path / "ranked-screened.csv").read_bytes()


def test_a_file_of_the_users_that_a_command_does_not_write_is_left_alone_and_not_refused(text_run, tmp_path):
    run, _, test = text_run
    mine = tmp_path / "run"
    shutil.copytree(run, mine)
    (mine / "scores.csv").write_text("id,score\n")  # predict --run and report write no scores.csv there
    assert _predict(mine, test, tmp_path / "pred") == 0
    assert main(["-q", "report", "--out", str(mine)]) == 0
    (tmp_path / "pred" / "notes.html").write_text("my notes\n")  # predict writes no notes.html
    assert _predict(mine, test, tmp_path / "pred") == 0
    assert (mine / "scores.csv").read_text() == "id,score\n" and (tmp_path / "pred" / "notes.html").read_text() == "my notes\n"


def test_a_predict_folder_given_as_a_run_is_named_with_its_run_and_never_overwritten(text_run, tmp_path, capsys):
    run, train, test = text_run
    pred = tmp_path / "pred"
    assert _predict(run, test, pred) == 0
    ranked = pred / "ranked.csv"
    ranked.write_text(ranked.read_text().replace("\n", ",\n", 1))  # the reviewer's notes, as an extra column's header
    before = {p: p.read_bytes() for p in pred.rglob("*") if p.is_file()}
    capsys.readouterr()
    said = f"{pred}: holds `screenstack predict`'s predictions made with the models of run {run.resolve()}, not a run folder."
    for command in (["run", "--train", str(train), "--test", str(test), "--learners", "tfidf-svm", "--out", str(pred)],
                    ["stack", "--out", str(pred)], ["report", "--out", str(pred)],
                    ["predict", "--run", str(pred), "--data", str(test), "--out", str(tmp_path / "again")]):
        assert main(["-q", *command]) == 2, command
        error = capsys.readouterr().err.strip()
        assert said in error and f"Give the run folder ({run.resolve()})" in error and "\n" not in error, command
    assert {p: p.read_bytes() for p in pred.rglob("*") if p.is_file()} == before and not (tmp_path / "again").exists()


def test_predictions_of_another_file_or_into_another_run_are_refused_and_nothing_is_lost(text_run, tmp_path, capsys):
    run, train, test = text_run
    other = tmp_path / "other.csv"
    pd.read_csv(test, dtype=str).iloc[:10].to_csv(other, index=False)
    pred = tmp_path / "pred"
    assert _predict(run, test, pred) == 0
    def files(folder):
        return {p.name: p.read_bytes() for p in folder.glob("*.*") if p.is_file()}

    before = files(pred)
    assert _predict(run, test, pred) == 0  # the same file again: the same bytes
    assert files(pred) == before
    capsys.readouterr()
    assert _predict(run, other, pred) == 2  # next month's file into last month's folder
    error = capsys.readouterr().err
    assert f"--out {pred}: already holds the predictions for {str(test)!r} of run" in error and "Traceback" not in error
    assert files(pred) == before
    edited = tmp_path / "edited.csv"  # the same file with an abstract fixed since: said so (helper-164), not "another"
    shutil.copy(test, edited)
    assert _predict(run, edited, tmp_path / "pred-edited") == 0
    kept = files(tmp_path / "pred-edited")
    edited.write_text(edited.read_text().replace(",", ", ", 1))
    capsys.readouterr()
    assert _predict(run, edited, tmp_path / "pred-edited") == 2
    assert files(tmp_path / "pred-edited") == kept  # the predictions of the file as it was stay
    error = capsys.readouterr().err
    assert f"already holds the predictions for {str(edited)!r} as it was then (it has changed since)" in error
    # another run's folder: its ranked.csv, submission.csv and summary.json stay
    second = tmp_path / "second"
    shutil.copytree(run, second)
    kept = files(second)
    assert _predict(run, other, second) == 2
    error = capsys.readouterr().err
    assert f"--out {second}: already holds ranked.csv, submission.csv, summary.json, report.html that are not predictions" in error
    assert files(second) == kept


def test_an_update_without_an_abstract_column_is_scored_on_titles_as_empty_abstracts_are(text_run, tmp_path, capsys):
    run, _, test = text_run
    frame = pd.read_csv(test, dtype=str, keep_default_na=False).iloc[:20]
    frame[["record_id", "title"]].to_csv(tmp_path / "titles.csv", index=False)
    frame.assign(abstract="").to_csv(tmp_path / "empty.csv", index=False)
    with pytest.warns(UserWarning, match="titles.csv: no abstract column .*scored without it"):
        assert _predict(run, tmp_path / "titles.csv", tmp_path / "a") == 0
    # Abstracts under a name the run did not read: the warning says which column, and how to have it read.
    frame.rename(columns={"abstract": "Summary"}).to_csv(tmp_path / "summary.csv", index=False)
    with pytest.warns(UserWarning, match=r"summary.csv: no abstract column .*scored without it.*Column 'Summary' looks "
                                         r"like one: rename it abstract to have it read\."):
        assert _predict(run, tmp_path / "summary.csv", tmp_path / "s") == 0
    # A Cohen dataset's label_abstract_screening is a label, not abstracts: not offered as them (as `run` does not).
    frame[["record_id", "title"]].assign(label_abstract_screening="0").to_csv(tmp_path / "labels.csv", index=False)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        assert _predict(run, tmp_path / "labels.csv", tmp_path / "l") == 0
    assert [str(w.message) for w in said if "no abstract column" in str(w.message)]
    assert not [w for w in said if "looks like one" in str(w.message)]
    assert _predict(run, tmp_path / "empty.csv", tmp_path / "b") == 0
    assert (tmp_path / "a" / "scores.csv").read_bytes() == (tmp_path / "b" / "scores.csv").read_bytes()
    frame[["record_id", "abstract"]].to_csv(tmp_path / "notitle.csv", index=False)
    assert _predict(run, tmp_path / "notitle.csv", tmp_path / "c") == 2
    error = capsys.readouterr().err
    assert "notitle.csv: no title column (the run read its texts from title, abstract; looked for title, primary_title, ti" in error
    assert "Fix --text-cols" not in error


def test_an_update_without_an_abstract_column_makes_no_label_shift_estimate(text_run, tmp_path, caplog):
    """Titles alone score lower than the run's titles and abstracts; read as a shift, that made predict flag a whole
    update. Without a column the run read, the threshold is the run's, and it is said."""
    run, _, test = text_run
    frame = pd.read_csv(test, dtype=str, keep_default_na=False)
    frame[["record_id", "title"]].to_csv(tmp_path / "titles.csv", index=False)
    with caplog.at_level(logging.INFO, logger="screenstack"), pytest.warns(UserWarning, match="no abstract column"):
        assert main(["predict", "--run", str(run), "--data", str(tmp_path / "titles.csv"), "--out", str(tmp_path / "a")]) == 0
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["max_shift"] == 1.0 and summary["shift"]["weight"] == 1.0 and not summary["shift"]["lowered"]
    [line] = [m for m in caplog.messages if m.startswith("label shift: not estimated")]
    assert "lack the run's column(s) abstract" in line and "titles.csv" in line
    titles = summary["titles_only"]  # every record a title alone: said once more there, for the same reason
    assert titles["records"] > 0 and titles["shift"] == "the label shift is not estimated (its records lack the run's column(s) abstract)"
    caplog.clear()
    frame.assign(abstract="").to_csv(tmp_path / "empty.csv", index=False)  # the column there, every cell empty
    with caplog.at_level(logging.INFO, logger="screenstack"):
        assert main(["predict", "--run", str(run), "--data", str(tmp_path / "empty.csv"), "--out", str(tmp_path / "e")]) == 0
    assert json.loads((tmp_path / "e" / "summary.json").read_text())["max_shift"] == 1.0
    assert [m for m in caplog.messages if m.startswith("label shift: not estimated") and "abstract column is empty" in m]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="screenstack"):
        assert main(["predict", "--run", str(run), "--data", str(test), "--out", str(tmp_path / "b")]) == 0  # as before
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["max_shift"] == 20.0
    assert not [m for m in caplog.messages if m.startswith("label shift: not estimated")]


def _shifted_run(folder: Path, dataset: str = "cohen_atypical_antipsychotics", folds: int = 3,
                 **files: tuple[slice, slice]) -> Path:
    """A TF-IDF run of `dataset`'s records with title and abstract: each of `files` (train, test and updates)
    NAME=(excluded records, included records) written as NAME.csv, labelled for train only."""
    data = pd.read_csv(DATASETS / f"{dataset}.csv", dtype=str, keep_default_na=False)
    data = data[(data["title"] != "") & (data["abstract"] != "")][["record_id", "title", "abstract", "label_included"]]
    included, excluded = data[data["label_included"] == "1"], data[data["label_included"] == "0"]
    for name, (out, inside) in files.items():
        frame = pd.concat([excluded.iloc[out], included.iloc[inside]])
        (frame if name == "train" else frame.drop(columns="label_included")).to_csv(folder / f"{name}.csv", index=False)
    assert main(["-q", "run", "--train", str(folder / "train.csv"), "--test", str(folder / "test.csv"),
                 "--learners", "tfidf-logreg,tfidf-svm", "--folds", str(folds), "--out", str(folder / "run")]) == 0
    return folder / "run"


def test_an_update_richer_in_included_records_than_the_run_records_to_screen_is_flagged_more_a_poorer_one_not_less(
        tmp_path, caplog):
    """The run's records to screen hold the labelled records' share of included records, so `stack` corrects
    nothing; an update with half of its records included gets a lower threshold, and one with hardly any the run's."""
    run = _shifted_run(tmp_path, train=(slice(0, 300), slice(0, 10)), test=(slice(300, 450), slice(10, 12)),
                       rich=(slice(450, 510), slice(15, 75)), poor=(slice(510, 630), slice(75, 76)))
    run_summary = json.loads((run / "summary.json").read_text())
    assert not run_summary["decision"]["shift"]["lowered"] and run_summary["threshold"] > 0, run_summary["decision"]["shift"]

    with caplog.at_level("INFO", logger="screenstack"):
        assert main(["predict", "--run", str(run), "--data", str(tmp_path / "rich.csv"), "--out", str(tmp_path / "rich")]) == 0
    summary = json.loads((tmp_path / "rich" / "summary.json").read_text())
    assert summary["shift"]["lowered"] and summary["shift"]["estimated_share"] > 3 * summary["shift"]["train_share"]
    assert summary["threshold"] < summary["run_threshold"] == run_summary["threshold"]
    scores = pd.read_csv(tmp_path / "rich" / "scores.csv")["score"].to_numpy()
    assert summary["n_flagged"] == int(np.sum(scores >= summary["threshold"])) > int(np.sum(scores >= run_summary["threshold"]))
    # Nearly all flagged, and why, as `stack` warns: the share --max-shift 1 would flag is the run's threshold's.
    before = np.mean(scores >= run_summary["threshold"])
    assert summary["n_flagged"] / summary["n_records"] > 0.9 >= before
    assert summary["warnings"][-1] == (
        f"the threshold flags {summary['n_flagged'] / summary['n_records']:.0%} of these records because they look "
        f"{summary['shift']['estimated_share'] / summary['shift']['train_share']:.1f} times as rich in included records as "
        f"the run's labelled ones (the label shift line, shift in summary.json); if they are not, --max-shift 1 flags "
        f"{before:.0%}")
    [line] = [m for m in caplog.messages if m.startswith("label shift")]
    assert line.endswith("(--max-shift 1: the run's threshold)")
    [line] = [m for m in caplog.messages if m.startswith("predict:")]
    assert f"(threshold {said_threshold(summary['threshold'])}: {run}'s {run_summary['threshold']:.4g}, lowered for these records by the label shift" in line
    # At the update's estimated share the expected counts are several times the calibrated ones (a helper's update:
    # "estimated 13.3% against 1.3%", then "expected relevant among them 1.3, left below the threshold 0.0").
    shifted = summary["at_estimated_shift"]
    assert shifted["expected_included"] > 3 * summary["expected_included"]
    rough = "; rough, as the blend barely separates the labelled records" if shifted["rough"] else ""  # OOF d' 0.95 here
    assert line.split("; wrote")[0].endswith(f"at the label shift's estimate ({shifted['estimated_share']:.1%} included{rough}) about "
                                            f"{shifted['expected_flagged']:.1f} among them and {shifted['expected_below']:.1f} below")
    # The advice works as said, on these predictions alone: the run is not stacked again.
    assert main(["-q", "predict", "--run", str(run), "--data", str(tmp_path / "rich.csv"), "--out", str(tmp_path / "rich1"),
                 "--max-shift", "1"]) == 0
    unshifted = json.loads((tmp_path / "rich1" / "summary.json").read_text())
    assert unshifted["threshold"] == run_summary["threshold"] and unshifted["max_shift"] == 1 and summary["max_shift"] == 20
    assert json.loads((run / "summary.json").read_text()) == run_summary

    caplog.clear()
    with caplog.at_level("INFO", logger="screenstack"):
        assert main(["predict", "--run", str(run), "--data", str(tmp_path / "poor.csv"), "--out", str(tmp_path / "poor")]) == 0
    summary = json.loads((tmp_path / "poor" / "summary.json").read_text())
    assert summary["threshold"] == run_summary["threshold"] and not summary["shift"]["lowered"]
    assert not any(m.startswith("label shift") for m in caplog.messages)
    assert f"(threshold {said_threshold(run_summary['threshold'])} of {run})" in next(m for m in caplog.messages if m.startswith("predict:"))


def test_a_run_whose_blend_does_not_beat_flagging_everything_at_the_label_shifts_weight_flags_every_record(
        tmp_path, caplog):
    """22 included training records in 522, records to screen 43% included: the blend beats flagging every labelled
    record, but not at the shift's weight, so every record to screen is flagged, and the label-shift line, not the
    recall floor, says why (console, summary.json, report)."""
    run = _shifted_run(tmp_path, folds=5, train=(slice(100, 600), slice(25, 47)), test=(slice(700, 760), slice(100, 146)))
    with caplog.at_level("INFO", logger="screenstack"):
        assert main(["stack", "--out", str(run)]) == 0  # reused: its lines said again
    summary = json.loads((run / "summary.json").read_text())
    decision, floor = summary["decision"], summary["decision"]["shift"]["honest_floor"]
    assert floor["flags_everything"] and floor["fbeta_honest"] <= floor["flag_all_fbeta"]
    assert summary["n_test_flagged"] == summary["n_test"] > 100 and summary["threshold"] == 0.0
    assert not decision["flags_everything"] and not decision["recall_floor_lowered"]  # neither floor of the labelled records
    assert not [m for m in caplog.messages if m.startswith(("recall floor", "honest floor"))]
    [line] = [m for m in caplog.messages if m.startswith("label shift")]
    said = (f"the threshold flags 100.0% of the OOF records instead of {100 * decision['shift']['oof_flagged_share_before']:.1f}%: "
            f"the honest floor, since at that weight the blend's honest OOF F7 ({floor['fbeta_honest']:.3f}) does not beat "
            f"flagging every record ({floor['flag_all_fbeta']:.3f}) (if the labelled records are a random sample of the "
            "search, the shift is chance: --max-shift 1 makes no correction)")
    assert line.endswith(said)
    assert main(["-q", "report", "--out", str(run)]) == 0
    report = (run / "report.html").read_text()
    assert "lowered by the recall floor" not in report and said.split(" (if the labelled")[0].split(": ", 1)[1] in report
    assert "<strong>every record is flagged because of that correction</strong> (100% of the records to screen" in report


def test_an_update_of_a_run_whose_honest_floor_flags_every_record_is_all_flagged_and_warned_why(tmp_path, caplog):
    run = _shifted_run(tmp_path, train=(slice(0, 300), slice(0, 25)), test=(slice(300, 450), slice(25, 28)),
                       update=(slice(450, 510), slice(30, 90)))
    assert json.loads((run / "summary.json").read_text())["decision"]["flags_everything"]
    with caplog.at_level("WARNING", logger="screenstack"):
        assert _predict(run, tmp_path / "update.csv", tmp_path / "pred") == 0
    summary = json.loads((tmp_path / "pred" / "summary.json").read_text())
    said = ("the threshold flags 100% of these records: the run's blend does not beat flagging every record on its labelled "
            "records (its honest floor, said in its summary.json and report); label more records, add them to the run's labelled file and "
            "`screenstack run` again (a new --out) to flag fewer")
    assert summary["n_flagged"] == summary["n_records"] and summary["warnings"] == [said]
    assert said in caplog.messages  # on the console too, -q or not


def test_an_update_is_judged_by_the_honest_floor_at_its_own_shift_on_the_runs_folds(tmp_path):
    """From 20 included training records, `predict` judges the blend against flagging every record at the weight its
    update's shift estimate gives, from the run's honest OOF records and their folds, as `stack` does for its own."""
    from screenstack.stacking.config import StackConfig
    from screenstack.stacking.decision import honest_floor_at_shift

    run = _shifted_run(tmp_path, "bannach_brown_2019", train=(slice(0, 300), slice(0, 25)),
                       test=(slice(300, 450), slice(25, 28)), rich=(slice(450, 510), slice(30, 90)))
    assert json.loads((run / "summary.json").read_text())["threshold"] > 0  # the run's own honest floor flags not all
    assert main(["-q", "predict", "--run", str(run), "--data", str(tmp_path / "rich.csv"), "--out", str(tmp_path / "rich")]) == 0
    summary = json.loads((tmp_path / "rich" / "summary.json").read_text())
    shift = summary["shift"]
    assert shift["weight"] > 1 and "honest_floor" in shift
    oof = pd.read_parquet(run / "blend_oof.parquet")
    config = StackConfig(**{k: v for k, v in json.loads((run / "summary.json").read_text())["config"].items() if k != "learners"})
    prior = config.prior_positives if shift["prior_scaled"] else config.prior_positives / shift["weight"]
    assert shift["honest_floor"] == honest_floor_at_shift(oof["label"].to_numpy(), oof["score"].to_numpy(),
                                                          oof["fold"].to_numpy(), config, prior, shift["weight"])
    flagged_everything = summary["n_flagged"] == summary["n_records"]
    assert shift["honest_floor"]["flags_everything"] <= flagged_everything


def test_a_run_that_corrected_for_its_records_to_screen_keeps_that_threshold_for_any_update(tmp_path, caplog):
    """`stack` lowered its threshold for records to screen far richer in included records than the labelled ones;
    predict gives the run's own file the run's decisions, and an update as poor as the labelled records never
    a higher threshold than the run's (the estimate on a handful of included records is noisy)."""
    run = _shifted_run(tmp_path, train=(slice(0, 300), slice(0, 8)), test=(slice(300, 360), slice(8, 68)),
                       update=(slice(400, 518), slice(70, 72)), richer=(slice(520, 530), slice(72, 130)))
    run_summary = json.loads((run / "summary.json").read_text())
    shift = run_summary["decision"]["shift"]
    assert shift["lowered"] and run_summary["threshold"] < shift["threshold_before"]
    assert _predict(run, tmp_path / "test.csv", tmp_path / "same") == 0  # the run's records: the run's decisions
    assert (tmp_path / "same" / "submission.csv").read_bytes() == (run / "submission.csv").read_bytes()
    # The same estimate leads to the run's threshold, not below it: summary.json says nothing was lowered, as the
    # console, which has no "label shift" line then, does; the counts at the estimated share are still given.
    same = json.loads((tmp_path / "same" / "summary.json").read_text())
    assert not same["shift"]["lowered"] and same["shift"]["estimated_share"] > 3 * same["shift"]["train_share"]
    assert same["at_estimated_shift"] == run_summary["screening"]["at_estimated_shift"]
    with caplog.at_level("INFO", logger="screenstack"):
        assert main(["predict", "--run", str(run), "--data", str(tmp_path / "update.csv"), "--out", str(tmp_path / "pred")]) == 0
    summary = json.loads((tmp_path / "pred" / "summary.json").read_text())
    assert not summary["shift"]["lowered"] and summary["threshold"] == run_summary["threshold"]
    # The line and a warning say why an update poorer than the run's records to screen gets the run's low threshold,
    # and the way out.
    scores = pd.read_csv(tmp_path / "pred" / "scores.csv")["score"].to_numpy()
    assert summary["n_flagged"] > 0.9 * summary["n_records"]
    assert (f"because the run's threshold was lowered for its own records to screen by the label shift; `screenstack stack "
            f"--out {run} --learners tfidf-logreg,tfidf-svm --max-shift 1` keeps the labelled records' "
            f"{said_threshold(shift['threshold_before'])}, which flags "
            f"{np.mean(scores >= shift['threshold_before']):.0%} of these") in summary["warnings"][-1]
    # Records without text added to the update: flagged anyway, but the run's own shift is still why nearly all are.
    blank = pd.DataFrame({"record_id": [f"blank{i}" for i in range(130)], "title": "", "abstract": ""})
    pd.concat([pd.read_csv(tmp_path / "update.csv", dtype=str, keep_default_na=False), blank]).to_csv(
        tmp_path / "blank.csv", index=False)
    assert _predict(run, tmp_path / "blank.csv", tmp_path / "blank") == 0
    assert json.loads((tmp_path / "blank" / "summary.json").read_text())["warnings"][-1].startswith(
        "the threshold flags 100% of these records because the run's threshold was lowered for its own records")
    [line] = [m for m in caplog.messages if m.startswith("predict:")]
    assert (f"(threshold {said_threshold(summary['threshold'])} of {run}, lowered there for its own records to screen by the label "
            f"shift, which no update flags fewer than (`screenstack stack --out {run} --learners tfidf-logreg,tfidf-svm "
            f"--max-shift 1` keeps the labelled records' {said_threshold(shift['threshold_before'])} for it and its "
            "updates))") in line
    # and the page (helper-170: it gave the run's threshold alone, flagging nearly all without a reason)
    assert summary["run_threshold_before"] == shift["threshold_before"]
    assert (f"the run's {summary['run_threshold']:.4g}, itself lowered for the run's own records to screen by its label "
            f"shift (its labelled records' own: {shift['threshold_before']:.4g}; <code>screenstack stack --out {run} "
            "--learners tfidf-logreg,tfidf-svm --max-shift 1</code> keeps that)") in (tmp_path / "pred" / "report.html").read_text()


def test_an_update_richer_than_a_corrected_runs_records_says_what_max_shift_1_keeps(tmp_path, caplog):
    # helper-171: the line said "instead of" the labelled records' share, as if --max-shift 1 went back to it, where it
    # keeps the run's own threshold, itself lowered for the run's records to screen
    run = _shifted_run(tmp_path, train=(slice(0, 300), slice(0, 8)), test=(slice(300, 450), slice(8, 16)),
                       richer=(slice(520, 530), slice(72, 130)))
    run_summary = json.loads((run / "summary.json").read_text())
    assert run_summary["decision"]["shift"]["lowered"]
    with caplog.at_level("INFO", logger="screenstack"):
        assert main(["predict", "--run", str(run), "--data", str(tmp_path / "richer.csv"), "--out", str(tmp_path / "richer")]) == 0
    richer = json.loads((tmp_path / "richer" / "summary.json").read_text())
    assert richer["shift"]["lowered"] and richer["threshold"] < run_summary["threshold"]
    [line] = [m for m in caplog.messages if m.startswith("label shift")]
    oof = pd.read_parquet(run / "blend_oof.parquet")
    assert line.endswith(f"(--max-shift 1: the run's threshold, {said_threshold(run_summary['threshold'])}, flagging "
                         f"{np.mean(oof['score'] >= run_summary['threshold']):.1%} of them)")


@pytest.mark.parametrize("column, values", [("fold", "text"), ("fold", 0), ("fold", np.nan), ("label", 2), ("label", 0),
                                            ("score", np.inf), ("score", 2.0), ("fold", "dropped"), ("", "no rows")])
def test_a_blend_oof_file_damaged_where_predict_reads_it_is_refused_in_one_line(run_copy, tmp_path, capsys, column, values,
                                                                                resign):
    """Folds and labels the label shift's honest floor is judged on (`shift_weight`): a file that passes its checksums
    but holds no such values is named, with the fix, before any record is scored."""
    run, _, test = run_copy
    oof = pd.read_parquet(run / "blend_oof.parquet")
    if values == "dropped":
        oof = oof.drop(columns=column)
    elif values == "no rows":
        oof = oof.iloc[:0]
    else:
        oof[column] = values
    oof.to_parquet(run / "blend_oof.parquet", index=False)
    resign(run, "stack")
    assert _predict(run, test, tmp_path / "pred") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"screenstack: error: {run / 'blend_oof.parquet'}: damaged (it") and f"screenstack stack --out {run}" in err
    assert not (tmp_path / "pred").exists()  # refused before anything is written


@pytest.mark.parametrize("damage", [{"config": "junk"}, {"decision": "x"}, {"decision": {"shift": [1, 2]}},
                                    {"decision": {"shift": {"lowered": False, "threshold_before": float("nan")}}},
                                    {"decision": {"shift": {"lowered": False, "threshold_before": True}}},
                                    {"decision": {"shift": {"lowered": True}}}])
def test_a_summary_damaged_where_predict_reads_its_threshold_is_refused_in_one_line(run_copy, tmp_path, capsys, damage,
                                                                                     resign):
    run, _, test = run_copy
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, **damage}))
    resign(run, "stack")  # the checksums pass: only reading the summary finds the damage
    assert _predict(run, test, tmp_path / "pred") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{run / 'summary.json'}" in err and f"screenstack stack --out {run}" in err
    assert not (tmp_path / "pred").exists()


def test_records_the_run_already_listed_to_screen_are_scored_again_and_said_so(text_run, tmp_path, caplog):
    """Next month's export still holds last month's unscreened records: scored again, and the reviewer is told."""
    run, _, _ = text_run
    data = pd.read_csv(DATASETS / "cohen_atypical_antipsychotics.csv", dtype=str, keep_default_na=False)
    data.iloc[250:350][["record_id", "title", "abstract"]].to_csv(tmp_path / "update.csv", index=False)  # 50 of the run's
    with pytest.warns(UserWarning) as caught:  # a warning, kept in summary.json and report.html (a helper's update)
        assert main(["predict", "--run", str(run), "--data", str(tmp_path / "update.csv"), "--out", str(tmp_path / "pred")]) == 0
    said = [str(w.message) for w in caught if "the ids of the run's records to screen" in str(w.message)]
    assert len(said) == 1 and said[0].startswith(f"50 of the 100 records of {tmp_path / 'update.csv'} have the ids")
    assert "the first: id '" in said[0] and said[0].endswith("in both lists. Screen each once: their ids are in the run's ranked.csv.")
    assert said[0] in json.loads((tmp_path / "pred" / "summary.json").read_text())["input_warnings"]
    assert html.escape(said[0]) in (tmp_path / "pred" / "report.html").read_text(encoding="utf-8")
    assert len(pd.read_csv(tmp_path / "pred" / "scores.csv")) == 100
    # Another review's export numbering its records anew: the same ids, other titles, told apart (all had been "in
    # both lists"); a title on one side alone is another paper too (a helper's renumbered update: all such were).
    update = data.iloc[250:350][["record_id", "title", "abstract"]]
    assert (update["title"].iloc[:20].str.strip() == "").sum() == 1 and update["title"].iloc[20].strip()
    update.iloc[:20, 1] = [f"Another paper {i}" for i in range(20)]  # one of them where the run's record has no title
    update.iloc[20, 1] = ""  # and one without, where the run's has one
    other = 21
    update.to_csv(tmp_path / "renumbered.csv", index=False)
    with pytest.warns(UserWarning) as caught:
        assert main(["predict", "--run", str(run), "--data", str(tmp_path / "renumbered.csv"), "--out", str(tmp_path / "p2")]) == 0
    assert any(str(m.message).startswith(f"50 of the 100 records of {tmp_path / 'renumbered.csv'} have the ids of the run's "
                                         "records") and str(m.message).endswith(
               f"scored here; {50 - other} of them are in both lists, {other} have other titles (other papers under those "
               "ids). Screen each once: their ids are in the run's ranked.csv.") for m in caught)
    # Every one another paper: not "0 of them are in both lists", which read against the warning of text copies.
    titled = data.iloc[250:300][["record_id", "title", "abstract"]]
    titled = titled[titled["title"].str.strip() != ""]  # the run's records without a title cannot be told apart
    titled.assign(title=[f"Another paper {i}" for i in range(len(titled))]).to_csv(tmp_path / "all_other.csv", index=False)
    caplog.clear()
    with caplog.at_level("INFO", logger="screenstack"):
        assert main(["predict", "--run", str(run), "--data", str(tmp_path / "all_other.csv"), "--out", str(tmp_path / "p3")]) == 0
    assert any(m.endswith("scored here; every one has another title (other papers under those ids), so none is in both "
                          "lists") for m in caplog.messages), caplog.messages


def test_a_run_that_kept_no_titles_of_its_records_to_screen_tells_no_title_apart(run_copy, tmp_path, caplog):
    # helper-157: a run without records.parquet (an older one) had 193 of 200 "other titles": every title against none
    run, _, test = run_copy
    (run / "records.parquet").unlink()
    (run / ".manifests" / "records.json").unlink()
    for manifest in (run / ".manifests").glob("*.json"):  # as a run made before records.parquet was kept
        made = json.loads(manifest.read_text())
        made.get("inputs", {}).pop("records", None)
        manifest.write_text(json.dumps(made))
    with caplog.at_level("INFO", logger="screenstack"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["predict", "--run", str(run), "--data", str(test), "--out", str(tmp_path / "pred")]) == 0
    said = [m for m in caplog.messages if "have the ids of the run's records to screen" in m]
    assert len(said) == 1 and said[0].endswith("scored here; where they are those records, they are in both lists"), caplog.messages


def test_an_update_whose_probabilities_expect_less_recall_than_the_run_vouched_for_is_warned_of(tmp_path, resign, caplog):
    """As `stack` checks its records to screen, predict checks an update: where the calibrated probabilities put
    fewer of its included records above the run's threshold than the run's honest recall interval allows, the console
    and the summary warn that the update looks unlike the run's labelled records; the threshold stays the run's.
    (A run whose honest interval starts at 0.99 stands in for an update unlike the labelled records.)"""
    run = _shifted_run(tmp_path, train=(slice(0, 300), slice(0, 10)), test=(slice(300, 450), slice(10, 12)))
    test = tmp_path / "test.csv"
    summary = json.loads((run / "summary.json").read_text())
    summary["honest"]["recall_interval"] = [0.99, 1.0]
    (run / "summary.json").write_text(json.dumps(summary))
    resign(run, "stack")
    with caplog.at_level("INFO", logger="screenstack"):
        assert main(["predict", "--run", str(run), "--data", str(test), "--out", str(tmp_path / "pred")]) == 0
    predicted = json.loads((tmp_path / "pred" / "summary.json").read_text())
    check = predicted["recall_check"]
    assert check["below_interval"] and check["expected_recall"] < 0.99
    [warning] = [w for w in predicted["warnings"] if w.startswith("these records look unlike")]
    others = [w for w in predicted["warnings"] if w != warning]  # any `stack` gives these records too
    assert warning.startswith(f"these records look unlike the run's labelled records: at the run's threshold, their "
                              f"calibrated probabilities (Platt's, the run's calibration.json, before ranked.csv's scaling) "
                              f"expect a recall of {check['expected_recall']:.3f}, below the run's "
                              f"honest recall's 95% interval (0.990-1.000), which may then overstate the recall here. "
                              f"Records of another search or topic do this")
    assert warning in [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert predicted["threshold"] == predicted["run_threshold"] == summary["threshold"]
    assert predicted["n_flagged"] == summary["n_test_flagged"]
    # The run's own interval: nothing to say.
    summary["honest"]["recall_interval"] = [0.0, 1.0]
    (run / "summary.json").write_text(json.dumps(summary))
    resign(run, "stack")
    assert main(["-q", "predict", "--run", str(run), "--data", str(test), "--out", str(tmp_path / "pred2")]) == 0
    again = json.loads((tmp_path / "pred2" / "summary.json").read_text())
    assert again["warnings"] == others and again["recall_check"]["below_interval"] is False


def test_a_run_stacked_with_the_removed_smoothed_rule_asks_to_be_stacked_again(tmp_path):
    # 0.3.11 removed --threshold-rule smoothed; predict re-chooses the threshold with the run's rule, so it cannot go on.
    from screenstack.features.errors import ScreenstackError
    from screenstack.stacking.fitted_run import _stack_config

    summary = {"config": {"threshold_rule": "smoothed", "beta": 7.0}, "decision": {"shift": {}}, "threshold": 0.5}
    with pytest.raises(ScreenstackError, match=r"summary.json: stacked with --threshold-rule smoothed, which screenstack no "
                                               r"longer has since 0.3.11 .*Run `screenstack stack --out run`"):
        _stack_config(summary, tmp_path / "summary.json", "Run `screenstack stack --out run` (it keeps the blender), then predict again.")
    assert _stack_config({**summary, "config": {"threshold_rule": "argmax"}}, tmp_path / "summary.json", "")[0].threshold_rule == "argmax"


def test_predict_on_a_run_whose_fit_stopped_short_says_to_finish_the_fit_not_to_stack(tmp_path, capsys):
    """`stack` refuses a fit that stopped before a learner it was asked for, so predict's advice names the fit."""
    train, test = _files(tmp_path)
    run = tmp_path / "run"
    assert main(["-q", "fit-learners", "--train", str(train), "--test", str(test), "--learners", "tfidf-svm",
                 "--folds", "3", "--out", str(run)]) == 0
    from screenstack.features.artifacts.runfolder import RunFolder

    RunFolder(run).record_requested_learners(("tfidf-svm", "tfidf-logreg"))  # as a fit stopped before tfidf-logreg leaves it
    capsys.readouterr()
    assert _predict(run, test, tmp_path / "pred") == 2
    error = capsys.readouterr().err
    assert "The last fit-learners stopped before tfidf-logreg: rerun the same fit-learners" in error, error
    assert main(["-q", "stack", "--out", str(run)]) == 2  # what the advice steers clear of


def test_an_update_flagged_mostly_for_lacking_text_is_warned_so(tmp_path):
    """Records with neither title nor abstract are flagged whatever their score; where they make most of what is
    flagged, the warning says so, not that the labels are too few."""
    run = _shifted_run(tmp_path, train=(slice(0, 300), slice(0, 10)), test=(slice(300, 450), slice(10, 12)))
    assert not json.loads((run / "summary.json").read_text())["decision"]["flags_everything"]
    ranked = pd.read_csv(run / "test_scores.csv", dtype={"id": str}).sort_values("score")["id"]
    chosen = list(ranked.iloc[:8]) + list(ranked.iloc[-2:])  # 8 of the run's lowest-scored records to screen, 2 top ones
    update = pd.read_csv(tmp_path / "test.csv", dtype=str, keep_default_na=False).set_index("record_id").loc[chosen].reset_index()
    blank = pd.DataFrame({"record_id": [f"blank{i}" for i in range(90)], "title": "", "abstract": ""})
    pd.concat([update, blank]).to_csv(tmp_path / "update.csv", index=False)
    assert _predict(run, tmp_path / "update.csv", tmp_path / "pred") == 0
    summary = json.loads((tmp_path / "pred" / "summary.json").read_text())
    assert summary["n_flagged"] >= 90 and summary["n_records"] == 100
    share, with_text = 90 / summary["n_flagged"], (summary["n_flagged"] - 90) / 10
    assert with_text <= 0.9  # the records with text alone would raise no warning
    assert summary["warnings"][-1] == (f"the threshold flags {summary['n_flagged']}% of these records: {share:.0%} of the "
                                       "flagged records have neither title nor abstract, flagged since no model can rank "
                                       f"them (of those with text it flags {with_text:.0%}); give their titles and "
                                       "abstracts to have them ranked")


def test_an_update_flagged_nearly_all_under_a_large_beta_is_put_down_to_it_and_a_handful_of_records_to_nothing():
    from screenstack.stacking.config import StackConfig
    from screenstack.stacking.fitted_run import FittedRun
    from screenstack.stacking.predict import _flags_most_warning

    def warning(beta: float, n: int):
        run = FittedRun(Path("run"), [], 0.5, None, None, frozenset(), config=StackConfig(beta=beta), threshold_before=0.5)
        scores = np.r_[np.full(n - 1, 0.9), 0.1]  # all but one above the run's threshold
        return _flags_most_warning(run, scores, (scores >= 0.5).astype(int), 0.5, {}, None)

    assert warning(30.0, 60) == ("the threshold flags 98% of these records: the run's --beta 30 counts a missed included "
                                 "record 900 times an extra read, so flagging nearly everything scores best; a smaller "
                                 "--beta flags fewer")
    assert warning(7.0, 60).endswith("the run's labelled records cannot support a tighter threshold for them; label some "
                                     "of these records, add them to the run's labelled file and `screenstack run` again (a new --out) to flag fewer")
    assert warning(7.0, 40) is None  # 39 of 40 records: too few to say anything of the labels


def test_a_predict_killed_after_moving_its_files_in_is_finished_by_the_same_command(text_run, tmp_path, monkeypatch, capsys):
    # Its files in place and its manifest still staged: the same predict, run again, refused the folder as holding
    # "files that are not predictions" before its lock would have finished the commit.
    import os

    run, _, test = text_run
    real_replace = os.replace

    def killed(source, target, *args, **kwargs):
        if Path(target) == tmp_path / "pred" / ".manifests" / "predict.json":
            raise KeyboardInterrupt
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", killed)
    assert _predict(run, test, tmp_path / "pred") == 130
    monkeypatch.setattr(os, "replace", real_replace)
    assert (tmp_path / "pred" / "ranked.csv").is_file() and (tmp_path / "pred" / ".staging" / "predict" / "MANIFEST.json").is_file()
    capsys.readouterr()
    with pytest.warns(UserWarning, match="finishing the 'predict' outputs"):
        assert _predict(run, test, tmp_path / "pred") == 0
    assert (tmp_path / "pred" / "ranked.csv").read_bytes() == (run / "ranked.csv").read_bytes()


def test_an_update_workbook_with_a_cover_sheet_first_is_refused_naming_the_sheets(text_run, tmp_path, capsys):
    # run and fit-learners named the sheet read and the others; predict said only "Rename the file's title column".
    run, _, test = text_run
    path = tmp_path / "update.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"About": ["search of 2026-12"]}).to_excel(writer, sheet_name="Cover", index=False)
        pd.read_csv(test, dtype=str, keep_default_na=False).to_excel(writer, sheet_name="Records", index=False)
    with pytest.warns(UserWarning, match="its other sheets"):
        assert main(["-q", "predict", "--run", str(run), "--data", str(path), "--out", str(tmp_path / "pred")]) == 2
    assert ("found: About, on the workbook's first sheet 'Cover', the one read; the records on another ('Records')? Move "
            "that sheet first or save it as CSV)") in capsys.readouterr().err
    assert not (tmp_path / "pred").exists()


def test_a_threshold_below_every_score_is_said_so_on_predicts_line(tmp_path, caplog):
    # 3 included of 15 labelled records: the threshold lies below every score, which predict's line gave as "-1e-06"
    # where stack's says "below every score" (a helper's finding).
    run = _shifted_run(tmp_path, train=(slice(0, 12), slice(0, 3)), test=(slice(12, 20), slice(3, 4)))
    assert json.loads((run / "summary.json").read_text())["threshold"] < 0
    with caplog.at_level(logging.INFO, logger="screenstack"):
        assert main(["predict", "--run", str(run), "--data", str(tmp_path / "test.csv"), "--out", str(tmp_path / "pred")]) == 0
    assert f"records flagged (threshold below every score of {run});" in caplog.text and "-1e-06" not in caplog.text


def test_an_update_of_records_without_text_alone_is_not_said_to_have_some_with_text():
    # "(of those with text it flags 0%)" where none had text read as if some had (a helper's update of blank records).
    from screenstack.stacking.fitted_run import FittedRun
    from screenstack.stacking.predict import _flags_most_warning

    run = FittedRun(Path("run"), [], 0.5, None, None, frozenset(), threshold_before=0.5)
    scores = np.full(60, 0.1)  # the empty text's score, below the threshold: flagged for lacking text alone
    warning = _flags_most_warning(run, scores, np.ones(60, dtype=int), 0.5, {}, np.ones(60, dtype=bool))
    assert warning == ("the threshold flags 100% of these records: 100% of the flagged records have neither title nor "
                       "abstract, flagged since no model can rank them (none has text); give their titles and abstracts "
                       "to have them ranked")


def test_predict_writes_a_page_of_its_counts_warnings_and_top_records(tmp_path, tiny_corpus_files):
    # A reviewer's update had no report.html: only the csv and json files (helper-136).
    train, test = tiny_corpus_files
    run = tmp_path / "run"
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(run), "--learners", "tfidf-svm",
                 "--folds", "2"]) == 0
    out = tmp_path / "pred"
    assert main(["-q", "predict", "--run", str(run), "--data", str(test), "--out", str(out)]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text())
    ranked = pd.read_csv(out / "ranked.csv", dtype=str, keep_default_na=False)
    assert f"{summary['n_flagged']:,} of {summary['n_records']:,}" in page
    assert f"{summary['expected_below']:.1f}" in page and "Screen these first" in page
    assert html.escape(ranked["title"].iloc[0]) in page and html.escape(ranked["title"].iloc[19]) in page
    assert all(console_words(w) in page for w in summary["warnings"])
    # A command in a warning is set as code on the page, not between the console's backticks (helper-178).
    assert any("`screenstack run`" in w for w in summary["warnings"]) and "<code>screenstack run</code>" in page
    assert "`" not in page.split("<h2>Warnings</h2>")[1].split("</section>")[0]
    again = tmp_path / "again"
    assert main(["-q", "predict", "--run", str(run), "--data", str(test), "--out", str(again)]) == 0
    named = (again / "report.html").read_text(encoding="utf-8").replace("predictions: again<", "predictions: pred<")
    assert named == page  # no clock in it: the same records give the same page


def test_left_out_ids_and_titles_a_spreadsheet_would_run_are_quoted(tmp_path, tiny_corpus_files):
    # left_out.csv is opened in a spreadsheet to check the records left out: a cell starting with = or @ ran as a formula
    train, test = tiny_corpus_files
    labelled = pd.read_csv(train, dtype=str, keep_default_na=False).assign(record_id=lambda d: "@" + d["record_id"])
    labelled.loc[0, "title"] = "=HYPERLINK(1)"
    labelled.to_csv(train, index=False)
    tested = pd.read_csv(test, dtype=str, keep_default_na=False).assign(record_id=lambda d: "@" + d["record_id"])
    tested.to_csv(test, index=False)
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(tmp_path / "run"), "--learners",
                 "tfidf-svm", "--folds", "2"]) == 0
    pd.concat([labelled.iloc[:5].drop(columns="label_included"), tested.iloc[:20]]).to_csv(tmp_path / "u.csv", index=False)
    assert _predict(tmp_path / "run", tmp_path / "u.csv", tmp_path / "pred") == 0
    left_out = pd.read_csv(tmp_path / "pred" / "left_out.csv", dtype=str, keep_default_na=False)
    assert left_out["id"].tolist() == ["'" + i for i in labelled["record_id"].iloc[:5]]
    assert left_out["title"].iloc[0] == "'=HYPERLINK(1)" and set(left_out["label"]) <= {"0", "1"}


def test_a_run_whose_records_parquet_predates_text_hashes_is_told_the_run_command_that_keeps_its_stack(run_copy, tmp_path,
                                                                                                          monkeypatch):
    # helper-147: a 0.3.25 run's records.parquet, present but without text hashes, was called missing, and the advice
    # ("run the same fit-learners command") removed the run's stack, report and config.toml.
    run, _, test = run_copy
    monkeypatch.setattr(fitted_run_module, "records_to_screen", lambda records: None)  # as for a folder of 0.3.38
    with pytest.warns(UserWarning, match="records.parquet predates 0.3.39") as said:
        assert _predict(run, test, tmp_path / "p") == 0
    [line] = [str(w.message) for w in said if "predates 0.3.39" in str(w.message)]
    assert ("To write it (reusing the learners fitted) and make the stack again: `screenstack run --config "
            f"{run / 'config.toml'} --out {run}`.") in line and "no records.parquet" not in line
    # Without the run's config.toml (a folder made stage by stage): fit-learners, then the stack it removes.
    (run / "config.toml").unlink()
    with pytest.warns(UserWarning, match="records.parquet predates 0.3.39") as said:
        assert _predict(run, test, tmp_path / "q") == 0
    [line] = [str(w.message) for w in said if "predates 0.3.39" in str(w.message)]
    assert (f"The same `screenstack fit-learners` command with --out {run} writes it (reusing the learners fitted), then "
            f"`screenstack stack --out {run} --learners tfidf-logreg,tfidf-svm` makes the stack again") in line


def test_a_stack_of_another_version_is_said_by_predict_and_report(text_run, tmp_path, monkeypatch, caplog):
    # helper-147: predict applied 0.3.10's blend and threshold, and report drew 0.3.10's figures under this version's
    # account of the methods, without a word.
    from screenstack.stacking import report as report_module

    run, _, test = text_run
    versions = fitted_run_module.package_versions
    monkeypatch.setattr(fitted_run_module, "package_versions", lambda: {**versions(), "screenstack": "9.9.9"})
    with pytest.warns(UserWarning, match=r"its stack was made by screenstack \S+, whose blend and threshold are applied "
                                         rf"as they were made; `screenstack stack --out {re.escape(str(run))} .*` makes it "
                                         r"with 9\.9\.9's\."):
        assert _predict(run, test, tmp_path / "p") == 0
    assert any("its stack was made by screenstack" in w for w in json.loads((tmp_path / "p" / "summary.json").read_text())["warnings"])
    copy = shutil.copytree(run, tmp_path / "run")
    monkeypatch.setattr(report_module, "__version__", "9.9.9")
    caplog.set_level("WARNING", logger="screenstack")
    assert main(["-q", "report", "--out", str(copy)]) == 0
    assert any("the page's account of the methods this one's (9.9.9)" in r.getMessage() for r in caplog.records)
    # and on the page, read when the console's line is long gone (helper-176: only its versions footer said so)
    page = (copy / "report.html").read_text(encoding="utf-8")
    warned = page[page.index("<h2>Warnings</h2>"):page.index("</section>", page.index("<h2>Warnings</h2>"))]
    assert "its figures are that version&#x27;s, the page&#x27;s account of the methods this one&#x27;s (9.9.9)" in warned


def test_a_run_without_a_stack_is_not_said_never_stacked_where_its_stack_may_have_been_removed(text_run, tmp_path, capsys):
    # helper-147: "was never stacked" after a stack removed by fit-learners (an input changed): not what happened.
    _, train, test = text_run
    out = tmp_path / "fitted"
    assert main(["-q", "fit-learners", "--train", str(train), "--test", str(test), "--learners", "tfidf-svm",
                 "--folds", "3", "--out", str(out)]) == 0
    capsys.readouterr()
    assert _predict(out, test, tmp_path / "p") == 2
    error = capsys.readouterr().err
    assert (f"blend.json: missing ({out} has no stack: never stacked, or one removed with the outputs it was made from)."
            in error and f"screenstack stack --out {out}" in error)


def test_the_folder_a_refusal_suggests_for_predictions_pastes_where_its_path_has_a_space(run_copy, tmp_path, capsys):
    # helper-166: "e.g. --out my runs/update1", pasted, was "unrecognized arguments: runs/update1".
    import shlex

    run, _, test = run_copy
    spaced = tmp_path / "my runs" / "r1"
    spaced.parent.mkdir()
    shutil.move(run, spaced)
    capsys.readouterr()
    assert _predict(spaced, test, spaced) == 2
    error = capsys.readouterr().err
    assert f"e.g. --out {shlex.quote(str(spaced.parent / 'update1'))}." in error


def test_a_run_of_columns_named_nothing_takes_a_files_title_and_abstract_and_warns_of_texts_given_out_of_order(tmp_path):
    # helper-168: a run of `Headline,Body` refused `--text-cols title,abstract` (so a RIS update could never be scored),
    # and `title,Tags,Body` for a run of title,Body,Tags read the tags as the body, without a word.
    _run_with_columns(tmp_path, "Headline,Body,Tags", {"title": "Headline", "abstract": "Body"},
                      Tags=lambda frame: frame["abstract"].str[:30])
    standard = tmp_path / "standard.csv"
    pd.read_csv(tmp_path / "named-test.csv", dtype=str, keep_default_na=False).rename(
        columns={"Headline": "title", "Body": "abstract"}).to_csv(standard, index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _predict(tmp_path / "run", standard, tmp_path / "pred", "--text-cols", "title,abstract,Tags") == 0
    assert not [w for w in caught if "another order" in str(w.message)]
    assert (tmp_path / "pred" / "scores.csv").read_bytes() == (tmp_path / "run" / "test_scores.csv").read_bytes()
    assert _predict(tmp_path / "run", standard, tmp_path / "own", "--text-cols", "title,Tags,abstract") == 2  # Tags out of place
    other = tmp_path / "other.csv"
    pd.read_csv(standard, dtype=str, keep_default_na=False).rename(columns={"abstract": "Text", "Tags": "Keys"}).to_csv(
        other, index=False)
    with pytest.warns(UserWarning, match=r"median text length Keys: \d+ characters \(the run's Body: \d+\); Text: \d+ "
                                         r"characters \(the run's Tags: 30\)"):
        assert _predict(tmp_path / "run", other, tmp_path / "swapped", "--text-cols", "title,Keys,Text") == 0


@pytest.mark.parametrize("made_by", [None, "0.3.16"])
def test_the_way_to_the_labelled_records_threshold_is_the_runs_own_stack_and_no_other_versions_threshold(tmp_path, made_by):
    # helper-176: on a 0.3.16 run predict said `stack --max-shift 1` "keeps the labelled records' 0.2125"; that command
    # stacks anew with this version's blend, whose threshold was 0.8125. helper-178: a bare `stack --out RUN --max-shift 1`
    # stacked every learner with the defaults where the run's stack had blended one, with --recall-prior 0.5.
    from types import SimpleNamespace

    from screenstack.stacking.config import StackConfig
    from screenstack.stacking.page import _run_lowered
    from screenstack.stacking.predict import _threshold_origin, unshifted_command

    run = SimpleNamespace(out=tmp_path / "r", threshold=0.19, threshold_before=0.2125, made_by=made_by,
                          learners=["tfidf-svm"], config=StackConfig(learners=("tfidf-svm",), prior_positives=0.5))
    command = f"screenstack stack --out {run.out} --learners tfidf-svm --recall-prior 0.5 --max-shift 1"
    assert unshifted_command(run) == f"`{command}`"
    said = _threshold_origin(run, 0.19, {})
    page = _run_lowered({"run": str(run.out), "run_threshold": 0.19, "run_threshold_before": 0.2125,
                         "run_stack_made_by": made_by, "run_unshifted_command": unshifted_command(run)})
    if made_by:
        assert f"`{command}` makes the stack again with this version's blend, with the threshold its labelled records" in said
        assert "0.2125" not in said + page and f"{command}</code> makes the stack again with this version's blend" in page
    else:
        assert f"`{command}` keeps the labelled records' 0.2125 for it and its updates" in said
        assert f"(its labelled records' own: 0.2125; <code>{command}</code> keeps that)" in page
