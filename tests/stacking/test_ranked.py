"""``ranked.csv``: the list a reviewer screens from, as `write_ranked` and `stack` write it."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from screenstack.features.artifacts.folds import load_fold_plan
from screenstack.features.artifacts.outputs import write_learner_output
from screenstack.features.errors import ScreenstackError
from screenstack.features.records.corpus import load_records, read_table
from screenstack.stacking import stack as stack_module
from screenstack.stacking.calibrate import Calibration, count_scale, scaled
from screenstack.stacking.config import StackConfig
from screenstack.stacking.ranked import COLUMNS, write_ranked
from screenstack.stacking.stack import stack

from .conftest import make_run


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_rows_go_by_score_then_input_order_with_the_running_expected_count(tmp_path):
    ids = ["b", "a", "c", "d"]
    path = write_ranked(tmp_path / "ranked.csv", ids, [0.5, 0.5, 0.9, 0.1], [1, 1, 1, 0], [0.25, 0.25, 0.5, 0.125], None)
    frame = _read(path)
    assert list(frame.columns) == COLUMNS
    assert frame["id"].tolist() == ["c", "b", "a", "d"]  # the tie at 0.5 keeps the input's order
    assert frame["rank"].tolist() == ["1", "2", "3", "4"] and frame["decision"].tolist() == ["1", "1", "1", "0"]
    assert frame["expected_included"].astype(float).tolist() == [0.5, 0.75, 1.0, 1.125]
    assert (frame["title"] == "").all()



def test_records_flagged_whatever_their_score_close_the_flagged_part(tmp_path):
    """A record flagged below the threshold (no title, no abstract) is listed with the flagged ones, not at the bottom."""
    path = write_ranked(tmp_path / "ranked.csv", ["low", "top", "mid", "notext"], [0.2, 0.9, 0.5, 0.1], [0, 1, 1, 1],
                        [0.1, 0.6, 0.3, 0.05], None)
    frame = _read(path)
    assert frame["id"].tolist() == ["top", "mid", "notext", "low"]
    assert frame["decision"].tolist() == ["1", "1", "1", "0"]

def _records(ids, titles, **columns):
    frame = pd.DataFrame({"id": ids, "title": titles}, dtype=object)
    for name, values in columns.items():
        frame[f"input:{name}"] = values
    return frame


def test_an_input_column_named_like_a_renamed_one_is_kept_beside_it(tmp_path):
    records = _records(["a", "b"], ["A", "B"], score=["s1", "s2"], **{"score (input)": ["t1", "t2"], "note": ["n1", "n2"]})
    path = write_ranked(tmp_path / "ranked.csv", ["a", "b"], [0.9, 0.1], [1, 0], [0.5, 0.1], records)
    frame = _read(path)
    assert list(frame.columns) == [*COLUMNS, "score (input 2)", "score (input)", "note"]
    assert frame["score (input 2)"].tolist() == ["s1", "s2"] and frame["score (input)"].tolist() == ["t1", "t2"]


def test_formula_cells_are_neutralised_in_every_text_column(tmp_path):
    risky = ["=HYPERLINK(\"x\")", "+1+cmd|' /C calc'!A0", "-2-A1", "@SUM(A1)", "\tcmd", "\rcmd"]
    n = len(risky)
    numbers = ["-1", "+1", "-0.5", "1e-3", "-1", "0"]  # plain numbers (ASReview's -1 label) read back as they were
    records = _records([f"r{i}" for i in range(n)], risky, authors=risky[::-1], note=["plain"] * n, included=numbers)
    path = write_ranked(tmp_path / "ranked.csv", [f"r{i}" for i in range(n)], np.linspace(1, 0, n), np.ones(n),
                        np.full(n, 0.5), records)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert frame["title"].tolist() == ["'" + cell for cell in risky]
    assert frame["authors"].tolist() == ["'" + cell for cell in risky[::-1]]
    assert (frame["note"] == "plain").all()
    assert frame["included"].tolist() == numbers
    for column in ("score", "probability", "expected_included"):
        assert not frame[column].str.startswith(("=", "+", "-", "@", "'")).any()


def test_ids_quoted_against_formulas_read_back_as_the_original_ids(tmp_path):
    ids = ["=1+1", "+cmd", "-A1", "@SUM(A1)", "-1", "'plain", "it's", "r7"]  # "-1": a number, written unquoted
    n = len(ids)
    first = write_ranked(tmp_path / "ranked.csv", ids, np.linspace(1, 0, n), np.ones(n), np.full(n, 0.5),
                         _records(ids, [f"t{i}" for i in range(n)]))
    assert _read(first)["id"].tolist()[:4] == ["'=1+1", "'+cmd", "'-A1", "'@SUM(A1)"]
    records = load_records(first, labelled=False)  # as predict, --data or --train read it
    assert records["id"].tolist() == ids
    # Given back to the writer (predict on ranked.csv): the same id cells, and its id column is not repeated as input
    table = read_table(first)
    again = records[["id", "title"]].join(table.add_prefix("input:"))
    second = write_ranked(tmp_path / "again.csv", ids, np.linspace(1, 0, n), np.ones(n), np.full(n, 0.5), again)
    assert _read(second)["id"].tolist() == _read(first)["id"].tolist()
    assert "id (input)" not in _read(second).columns


def test_input_columns_that_repeat_id_or_title_are_left_out_and_clashing_names_marked(tmp_path):
    ids, titles = ["r1", "r2"], ["Aspirin", "Statins"]
    records = _records(ids, titles, record_id=ids, title=titles, score=["3", "4"], authors=["A", "B"])
    frame = _read(write_ranked(tmp_path / "ranked.csv", ids, [0.2, 0.8], [0, 1], [0.1, 0.6], records))
    assert list(frame.columns) == [*COLUMNS, "score (input)", "authors"]
    assert frame[["id", "title", "score (input)", "authors"]].values.tolist() == [["r2", "Statins", "4", "B"],
                                                                              ["r1", "Aspirin", "3", "A"]]


@pytest.mark.parametrize("with_records", [False, True])
def test_no_records_to_screen_give_the_header_alone(tmp_path, with_records):
    records = _records([], [], authors=[]) if with_records else None
    path = write_ranked(tmp_path / "ranked.csv", [], [], [], [], records)
    assert path.read_text(encoding="utf-8-sig").splitlines() == [",".join(COLUMNS + (["authors"] if with_records else []))]
    # a byte-order mark first: Excel reads a CSV file without one in the system's code page (accents garbled)
    assert path.read_bytes().startswith(b"\xef\xbb\xbfrank,")


def test_stack_writes_ranked_csv_consistent_with_its_other_files(run_dir):
    frame = _read(run_dir / "ranked.csv")
    scores = pd.read_csv(run_dir / "test_scores.csv", dtype={"id": str})
    submission = pd.read_csv(run_dir / "submission.csv", header=None, names=["id", "judgement"], dtype={"id": str})
    assert sorted(frame["id"]) == sorted(scores["id"]) and frame["rank"].astype(int).tolist() == list(range(1, len(scores) + 1))
    by_id = frame.set_index("id")
    np.testing.assert_allclose(by_id.loc[scores["id"], "score"].astype(float), scores["score"], atol=1e-8)
    assert (by_id.loc[submission["id"], "decision"].astype(int).to_numpy() == submission["judgement"].to_numpy()).all()
    assert (np.diff(frame["score"].astype(float)) <= 0).all()
    probability = frame["probability"].astype(float).to_numpy()
    assert (np.diff(probability) <= 1e-6).all(), "probabilities follow the scores"
    np.testing.assert_allclose(frame["expected_included"].astype(float), np.cumsum(probability), atol=2e-3)
    # The stored calibration, scaled on each side of the threshold as summary.json says and as the labelled records'
    # OOF scores give again, gives these probabilities (what `screenstack predict` relies on).
    calibration = Calibration.load(run_dir / "calibration.json")
    summary = json.loads((run_dir / "summary.json").read_text())
    oof = pd.read_parquet(run_dir / "blend_oof.parquet")
    scale = summary["screening"]["count_scale"]
    assert count_scale(calibration, oof["score"], oof["label"], summary["threshold"]) == (scale["below"], scale["above"])
    test_scores = scores["score"].to_numpy()
    np.testing.assert_allclose(scaled(calibration.apply(test_scores), test_scores >= summary["threshold"], (scale["below"], scale["above"])),
                               by_id.loc[scores["id"], "probability"].astype(float), atol=1e-6)


def test_stack_puts_the_records_titles_and_columns_in_ranked_csv(tmp_path, monkeypatch):
    make_run(tmp_path, n_train=300, n_test=30)
    test_ids = pd.read_parquet(tmp_path / "learners" / "logreg" / "test.parquet")["id"].tolist()
    records = _records(test_ids, [f"=title {i}" for i in range(30)], doi=[f"10.1/{i}" for i in range(30)], record_id=test_ids)
    monkeypatch.setattr(stack_module, "read_screening_records", lambda out: records)
    stack(tmp_path, StackConfig(seed=1))  # other options than make_run's stack, made without these records: not reused
    frame = _read(tmp_path / "ranked.csv")
    assert list(frame.columns) == [*COLUMNS, "doi"]
    assert frame.set_index("id").loc[test_ids[3], ["title", "doi"]].tolist() == ["'=title 3", "10.1/3"]


def test_stack_refuses_to_replace_a_ranked_csv_the_reviewer_edited_and_keeps_it(tmp_path):
    make_run(tmp_path, n_train=300, n_test=30)
    ranked = tmp_path / "ranked.csv"
    edited = ranked.read_bytes().replace(b"\r\n", b",screened: yes\r\n", 3)  # notes typed in a spreadsheet
    ranked.write_bytes(edited)
    with pytest.raises(ScreenstackError) as info:
        stack(tmp_path, StackConfig(seed=1))  # other options: the stack would be written again
    message = str(info.value)
    assert message.startswith(f"{ranked}: changed since `screenstack stack` wrote it") and "\n" not in message
    assert f"Move it out of {tmp_path}" in message and "then run `screenstack stack` again" in message
    assert ranked.read_bytes() == edited  # nothing the reviewer typed is lost
    ranked.rename(tmp_path.parent / "screened.csv")  # moved out, as the message says: stack writes it again
    with pytest.warns(UserWarning, match=f"{ranked}: missing; stacking again"):
        stack(tmp_path, StackConfig(seed=1))
    assert ranked.is_file() and ranked.read_bytes() != edited



def test_new_learner_outputs_never_remove_a_ranked_csv_the_reviewer_edited(tmp_path):
    """New outputs of a learner remove the stack set made from the old ones (fit-learners on other vectors,
    say): an edited ranked.csv stops them before anything moves, in one line, and OUT stays as it was."""
    make_run(tmp_path, n_train=300, n_test=30)
    ranked = tmp_path / "ranked.csv"
    ranked.write_bytes(ranked.read_bytes().replace(b"\r\n", b",screened: yes\r\n", 3))
    state = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    plan = load_fold_plan(tmp_path)
    old = pd.read_parquet(tmp_path / "learners" / "logreg" / "oof.parquet")
    test = pd.read_parquet(tmp_path / "learners" / "logreg" / "test.parquet")
    refit = lambda: write_learner_output(tmp_path, "logreg", plan, 1 - old["score"].to_numpy(), test["id"],  # noqa: E731
                                         1 - test["score"].to_numpy(), {"learner": "logreg"})
    with pytest.raises(ScreenstackError) as info:
        refit()
    message = str(info.value)
    assert message.startswith(f"{ranked}: changed since it was written") and "\n" not in message
    assert "this command would remove it with the outputs it was made from" in message and f"Move it out of {tmp_path}" in message
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == state
    ranked.rename(tmp_path.parent / "screened.csv")  # moved out: the new outputs land and the stale stack set goes
    refit()
    assert not (tmp_path / "submission.csv").exists()


def test_stack_refuses_records_of_other_test_records(tmp_path, monkeypatch):
    make_run(tmp_path, n_train=300, n_test=30)
    monkeypatch.setattr(stack_module, "read_screening_records", lambda out: _records(["x"], ["t"]))
    with pytest.raises(ScreenstackError, match="records.parquet: holds other records.*fit-learners"):
        stack(tmp_path)


def test_stack_with_no_records_to_screen_writes_the_header_and_says_so(tmp_path, caplog):
    with caplog.at_level("INFO", logger="screenstack"):
        make_run(tmp_path, n_train=300, n_test=0)
    assert (tmp_path / "ranked.csv").read_text(encoding="utf-8-sig").splitlines() == [",".join(COLUMNS)]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["screening"]["n_records"] == 0 and summary["screening"]["expected_below"] == 0
    assert any("no records to screen" in message for message in caplog.messages)
    # the honest intervals are then for records like the labelled ones, and say so (they read as the records to screen)
    assert any("95% intervals for 300 records like the labelled ones" in message for message in caplog.messages)


def test_with_no_records_to_screen_the_header_has_the_input_columns_a_file_with_rows_would_have():
    # helper-172: a run of every record labelled wrote "id (input)" and "title (input)", which rows would have dropped
    from screenstack.stacking.ranked import _input_columns

    empty = pd.DataFrame({"id": [], "title": [], "input:id": [], "input:title": [], "input:abstract": [], "input:judgement": []})
    assert list(_input_columns(empty, np.array([]), np.array([])).columns) == ["abstract", "judgement"]


def test_run_on_a_partly_screened_file_lists_its_records_with_their_columns(tmp_path):
    from screenstack.cli import main

    rng = np.random.default_rng(0)
    words = {1: "aspirin trial randomised stroke".split(), 0: "cohort survey unrelated economics".split()}
    label = (np.arange(160) % 5 == 0).astype(int)
    frame = pd.DataFrame({
        "record_id": [str(1000 + i) for i in range(160)],
        "title": [f"Title {i} {rng.choice(words[k])}" for i, k in enumerate(label)],
        "abstract": [" ".join(rng.choice(words[k], 20)) for k in label],
        "authors": [f"-Smith {i}" for i in range(160)],
        "label_included": [str(k) if i < 100 else "" for i, k in enumerate(label)],
    })
    frame.loc[120, "title"] = "=cmd|' /C calc'!A0"
    frame.to_csv(tmp_path / "partly.csv", index=False)
    out = tmp_path / "run"
    assert main(["-q", "run", "--data", str(tmp_path / "partly.csv"), "--learners", "tfidf-svm,tfidf-logreg", "--out", str(out)]) == 0
    ranked = _read(out / "ranked.csv")
    # record_id and title repeat ranked.csv's own id and title columns: left out
    assert list(ranked.columns) == [*COLUMNS, "abstract", "authors", "label_included"]
    assert sorted(ranked["id"]) == frame["record_id"][100:].tolist()
    row = ranked.set_index("id").loc["1120"]
    assert row["title"] == "'=cmd|' /C calc'!A0" and row["authors"] == "'-Smith 120"
    found = ranked["id"].map(dict(zip(frame["record_id"], label))).to_numpy()
    assert found[:12].mean() > 0.8, "the included records come first"


def test_an_input_title_or_id_column_differing_only_by_surrounding_spaces_is_still_left_out(tmp_path):
    # The reader strips ids and titles; one title with a stray tab or space must not bring the whole column back.
    ids, titles = ["r1", "r2"], ["Aspirin", "Statins"]
    records = _records(ids, titles, record_id=[" r1", "r2"], title=["Aspirin", "\tStatins "], authors=["A", "B"])
    frame = _read(write_ranked(tmp_path / "ranked.csv", ids, [0.2, 0.8], [0, 1], [0.1, 0.6], records))
    assert list(frame.columns) == [*COLUMNS, "authors"]


def test_tied_scores_keep_the_input_files_row_order_not_the_ids_as_text(tmp_path):
    ids = ["153", "1000", "146", "20", "7"]
    scores = [0.4, 0.4, 0.4, 0.9, 0.4]
    first = _read(write_ranked(tmp_path / "a.csv", ids, scores, [1] * 5, [0.2] * 5, None))
    assert first["id"].tolist() == ["20", "153", "1000", "146", "7"]  # as text: 1000, 146, 153, 7
    write_ranked(tmp_path / "b.csv", ids, scores, [1] * 5, [0.2] * 5, None)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_run_lists_records_with_the_same_text_in_file_order_and_the_submission_in_test_order(tmp_path):
    from screenstack.cli import main

    words = {1: "aspirin trial randomised stroke".split(), 0: "cohort survey unrelated economics".split()}
    rng = np.random.default_rng(1)
    label = (np.arange(100) % 5 == 0).astype(int)
    train = pd.DataFrame({"record_id": [str(i) for i in range(1, 101)],
                          "title": [f"Title {i} {rng.choice(words[k])}" for i, k in enumerate(label)],
                          "abstract": [" ".join(rng.choice(words[k], 20)) for k in label], "label_included": label.astype(str)})
    # Records to screen: five with the very same text (so the same score), ids that sort differently as text and as numbers
    same = ["153", "1000", "146", "999", "5000"]
    other = [str(200 + i) for i in range(10)]
    screen_ids = [*other[:5], *same, *other[5:]]
    screen = pd.DataFrame({"record_id": screen_ids, "label_included": "",
                           "title": ["Aspirin stroke trial" if i in same else f"Other {i} {rng.choice(words[0])}" for i in screen_ids],
                           "abstract": [" ".join(words[1] * 3) if i in same else " ".join(rng.choice(words[0], 20)) for i in screen_ids]})
    # ... and one that repeats a labelled record (included) under another id: one paper from two databases.
    screen_ids.append("7777")
    screen = pd.concat([screen, train.iloc[[5]].assign(record_id="7777", label_included="")])
    pd.concat([train, screen]).to_csv(tmp_path / "partly.csv", index=False)
    out = tmp_path / "run"
    assert main(["-q", "run", "--data", str(tmp_path / "partly.csv"), "--learners", "tfidf-logreg", "--out", str(out)]) == 0
    ranked = _read(out / "ranked.csv")
    tied = ranked[ranked["id"].isin(same)]
    assert tied["score"].nunique() == 1, "the same text, the same score"
    assert tied["id"].tolist() == same  # the file's order, not 1000, 146, 153, 5000, 999
    assert tied.index.tolist() == list(range(tied.index[0], tied.index[0] + 5)), "tied rows sit together"
    # Each copy names what it repeats: the first of the five (to screen, so no label), or the labelled record and its label.
    copies = ranked.set_index("id")[["copy_of", "copy_label"]]
    assert copies.loc[same].values.tolist() == [["", ""]] + [["153", ""]] * 4
    assert copies.loc["7777"].tolist() == ["6", "1"] and (copies.loc[other] == "").all().all()
    submission = pd.read_csv(out / "submission.csv", header=None, names=["id", "judgement"], dtype=str)
    scores = pd.read_csv(out / "test_scores.csv", dtype={"id": str})
    assert submission["id"].tolist() == scores["id"].tolist() == screen_ids  # the test file's order, whatever the ranking
