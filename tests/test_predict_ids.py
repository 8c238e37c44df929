"""`screenstack predict` and the run's record ids: the run's id column is used, a run without one is said to be
unable to recognise records already screened, and a --run or --out that is no fit folder is refused by name."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from screenstack.cli import main

DATASETS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"
pytestmark = pytest.mark.filterwarnings("ignore:.*neither title nor abstract")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs on one partly screened file (150 labelled of 200): by its `doi` column, and without an id column;
    and an update holding 50 of the screened records and 100 new ones, with `doi` and `pubmedID` columns."""
    root = tmp_path_factory.mktemp("id-runs")
    data = pd.read_csv(DATASETS / "cohen_atypical_antipsychotics.csv", dtype=str, keep_default_na=False)
    data = data[data["title"] != ""].assign(doi=lambda d: "10.1000/pmid." + d["pubmedID"])
    part = data.iloc[:200][["doi", "title", "abstract", "label_included"]].copy()
    part.loc[part.index[150:], "label_included"] = ""
    part.to_csv(root / "noid.csv", index=False)
    part.drop(columns="doi").to_csv(root / "rownum.csv", index=False)
    pd.concat([data.iloc[:50], data.iloc[300:400]])[["doi", "pubmedID", "title", "abstract"]].to_csv(root / "update.csv", index=False)
    for name, extra in (("by-doi", ["--data", str(root / "noid.csv"), "--id-col", "doi"]),
                        ("rownum", ["--data", str(root / "rownum.csv")])):
        assert main(["-q", "run", *extra, "--learners", "tfidf-logreg", "--folds", "3", "--out", str(root / name)]) == 0
    return root


def _predict(run, data, out, *extra):
    return main(["-q", "predict", "--run", str(run), "--data", str(data), "--out", str(out), *extra])


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def test_predict_reads_ids_from_the_run_id_column_and_leaves_out_the_screened_records(runs, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the run's id column is found: nothing to warn about
        assert _predict(runs / "by-doi", runs / "update.csv", tmp_path / "pred") == 0
    assert _summary(tmp_path / "pred")["left_out_screened"] == 50 and _summary(tmp_path / "pred")["n_records"] == 100


def test_ids_match_regardless_of_case_and_an_update_s_labels_and_copies_are_said(runs, tmp_path, caplog):
    # Another export spells the DOIs in capitals, labels some records, and lists one new paper twice.
    update = pd.read_csv(runs / "update.csv", dtype=str).assign(doi=lambda d: d["doi"].str.upper(), label_included="")
    update.loc[update.index[60:70], "label_included"] = "1"
    update = pd.concat([update, update.iloc[[99]].assign(doi="10.1000/OTHER-DB.1")])
    update.to_csv(tmp_path / "upper.csv", index=False)
    with caplog.at_level("INFO", logger="screenstack"), pytest.warns(UserWarning) as caught:
        assert main(["predict", "--run", str(runs / "by-doi"), "--data", str(tmp_path / "upper.csv"), "--out", str(tmp_path / "pred")]) == 0
    assert _summary(tmp_path / "pred")["left_out_screened"] == 50 and _summary(tmp_path / "pred")["n_records"] == 101
    assert any(m.startswith(f"left out 50 of 151 records of {tmp_path / 'upper.csv'} that are the run's training records "
                            "(the first: row 2, id '10.1000/PMID.") for m in caplog.messages)
    assert f"{tmp_path / 'upper.csv'}: column 'label_included' is not used: predict fits nothing" in caplog.text
    [copies] = [str(w.message) for w in caught if "repeat another's title and abstract" in str(w.message)]
    assert "(first: id '10.1000/OTHER-DB.1', as id '10.1000/PMID." in copies


def test_an_id_col_other_than_the_run_id_column_still_overrides_it_and_is_said_to_differ(runs, tmp_path):
    with pytest.warns(UserWarning, match=r"update.csv: ids read from column 'pubmedID', not the run's 'doi': a record already "
                                         r"screened is recognised only where both hold the same id \(0 of 150 did\)"):
        assert _predict(runs / "by-doi", runs / "update.csv", tmp_path / "pred", "--id-col", "pubmedID") == 0
    assert _summary(tmp_path / "pred")["left_out_screened"] == 0


def test_a_run_without_an_id_column_says_screened_records_cannot_be_recognised(runs, tmp_path, capsys):
    numbered = pd.read_csv(runs / "update.csv", dtype=str).assign(record_id=[str(i) for i in range(1, 151)])
    numbered.to_csv(tmp_path / "numbered.csv", index=False)  # row numbers, as the run's ids are: not refused, not matched
    for data, extra in ((runs / "update.csv", ["--id-col", "pubmedID"]), (tmp_path / "numbered.csv", [])):
        with pytest.warns(UserWarning) as caught:
            assert _predict(runs / "rownum", data, tmp_path / data.stem, *extra) == 0
        said = [str(w.message) for w in caught if "cannot be recognised" in str(w.message)]
        assert len(said) == 1 and "the run's records had no id column (their ids are row numbers)" in said[0]
        assert "rerun `screenstack run` with --id-col naming a real id column" in said[0]
        assert _summary(tmp_path / data.stem)["left_out_screened"] == 0 and _summary(tmp_path / data.stem)["n_records"] == 150
    assert "error" not in capsys.readouterr().err


@pytest.mark.parametrize("column, role", [("title", "title"), ("Abstract", "abstract")])
def test_an_id_col_naming_a_text_column_is_refused_as_such_not_blamed_on_text_cols(runs, tmp_path, capsys, column, role):
    # It said "--text-cols names the id column", a flag predict was not given (the run's text columns were).
    assert _predict(runs / "by-doi", runs / "update.csv", tmp_path / "pred", "--id-col", column) == 2
    error = capsys.readouterr().err
    assert f"--id-col {column} names a column of the records' text, which the run reads as their {role}" in error
    assert "--text-cols" not in error and len(error.strip().splitlines()) == 1
    assert not (tmp_path / "pred").exists()


def test_an_id_col_among_the_text_cols_given_is_blamed_on_id_col_in_predict_which_takes_the_runs_text_cols(runs, tmp_path, capsys):
    # It said "--text-cols names the id column", then "leave title out of --text-cols", which predict refuses (the
    # run's text columns are the only ones it reads).
    assert _predict(runs / "by-doi", runs / "update.csv", tmp_path / "pred", "--id-col", "title", "--text-cols", "title,abstract") == 2
    error = capsys.readouterr().err
    assert "--id-col title names a column of the records' text, which the run reads as their title" in error
    assert "--text-cols" not in error and len(error.strip().splitlines()) == 1 and not (tmp_path / "pred").exists()


@pytest.mark.parametrize("text_cols, way", [("title,abstract", ", or leave title out of --text-cols."), ("title", " (a DOI, PubMed id or record number).")])
def test_run_names_both_flags_and_offers_leaving_the_column_out_only_where_text_is_left(runs, tmp_path, capsys, text_cols, way):
    assert main(["-q", "run", "--data", str(runs / "noid.csv"), "--id-col", "title", "--text-cols", text_cols, "--out", str(tmp_path / "r")]) == 2
    error = capsys.readouterr().err
    assert f"--id-col title is one of --text-cols ({text_cols}): a column holds either the ids or text" in error
    assert error.strip().endswith(way) and not (tmp_path / "r").exists()


@pytest.mark.parametrize("tag, role", [("TI", "title"), ("T1", "title"), ("N2", "abstract")])
def test_a_ris_tag_of_the_text_as_id_col_is_refused_as_text_by_the_tag_typed(runs, tmp_path, capsys, tag, role):
    # RIS tags name the fields rispy reads them into (TI: title): it was blamed on --text-cols, under the field's name.
    update = pd.read_csv(runs / "update.csv", dtype=str, keep_default_na=False).iloc[:60]
    title_tag, abstract_tag = ("T1" if tag == "T1" else "TI"), ("N2" if tag == "N2" else "AB")
    (tmp_path / "update.ris").write_text("".join(f"TY  - JOUR\nID  - {r.doi}\n{title_tag}  - {r.title}\n{abstract_tag}  - "
                                                 f"{r.abstract}\nER  - \n\n" for r in update.itertuples()))
    assert _predict(runs / "by-doi", tmp_path / "update.ris", tmp_path / "pred", "--id-col", tag) == 2
    error = capsys.readouterr().err
    assert f"--id-col {tag} names a column of the records' text, which the run reads as their {role}" in error
    assert "--text-cols" not in error and not (tmp_path / "pred").exists()


def test_an_update_without_an_id_column_says_how_to_add_one_where_none_can_be_named(runs, tmp_path):
    # "Pass --id-col with the column that holds the run's record ids" could not be followed: the file has none.
    update = pd.read_csv(runs / "update.csv", dtype=str, keep_default_na=False)[["title", "abstract"]]
    update.to_csv(tmp_path / "noids.csv", index=False)
    with pytest.warns(UserWarning, match="no id column") as said:
        assert _predict(runs / "by-doi", tmp_path / "noids.csv", tmp_path / "pred") == 0
    line = next(str(w.message) for w in said if "no id column" in str(w.message))
    assert "(the run's 'doi'), pass --id-col with it; else add those ids to the file (in RIS, an ID tag)" in line


def test_a_data_folder_as_run_is_refused_as_not_a_run_folder(runs, tmp_path, capsys):
    (tmp_path / "d1").mkdir()
    (tmp_path / "d1" / "update.csv").write_bytes((runs / "update.csv").read_bytes())
    (tmp_path / "empty").mkdir()
    for folder in ("d1", "empty"):
        assert _predict(tmp_path / folder, runs / "update.csv", tmp_path / "pred") == 2
        error = capsys.readouterr().err
        assert f"--run {tmp_path / folder}: not a run folder" in error and "screenstack stack" not in error
        assert len(error.strip().splitlines()) == 1
    (tmp_path / "a_file").write_text("x")
    assert _predict(tmp_path / "a_file", runs / "update.csv", tmp_path / "pred") == 2
    assert f"--run {tmp_path / 'a_file'}: is a file, not a run folder" in capsys.readouterr().err
    # --out naming a file: refused before the update is read (a missing --data would otherwise be the error)
    assert _predict(runs / "by-doi", tmp_path / "no_such.csv", tmp_path / "a_file") == 2
    assert f"--out {tmp_path / 'a_file'}: is a file, not a folder" in capsys.readouterr().err


def test_an_out_holding_other_files_is_refused_suggesting_an_update_folder(runs, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert _predict(runs / "by-doi", runs / "update.csv", tmp_path) == 2
    error = capsys.readouterr().err
    assert f"--out {tmp_path}: not a run folder" in error and f"e.g. --out {tmp_path / 'update1'}" in error


def test_a_prediction_s_own_ranked_csv_given_back_is_read_by_the_run_s_ids_without_a_warning(runs, tmp_path):
    # Its `id` column holds the run's DOIs (the doi column, equal to it, is not repeated): the warning's fix, --id-col
    # doi, named a column it has not (helper-139).
    assert _predict(runs / "by-doi", runs / "update.csv", tmp_path / "first") == 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _predict(runs / "by-doi", tmp_path / "first" / "ranked.csv", tmp_path / "again") == 0
    assert not [w for w in caught if "ids read from column" in str(w.message)]
    assert _summary(tmp_path / "again")["n_records"] == 100


def test_long_numbers_of_another_kind_beside_a_run_s_ids_are_still_warned_of(runs, tmp_path):
    # Only a MEDLINE file's PMIDs beside a run of PubMed-like ids pass as the run's kind without a match: an export of
    # 9-digit accession numbers under `id` beside the run's DOIs, or PMIDs in a CSV, can match none and are warned of.
    update = pd.read_csv(runs / "update.csv", dtype=str).iloc[50:]
    update.assign(id=[str(620100000 + i) for i in range(len(update))]).drop(columns=["doi"]).to_csv(tmp_path / "e.csv",
                                                                                                     index=False)
    with pytest.warns(UserWarning, match=r"ids read from column 'id', not the run's 'doi'.*\(0 of 100 did\)"):
        assert _predict(runs / "by-doi", tmp_path / "e.csv", tmp_path / "pred") == 0
