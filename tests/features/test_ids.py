"""Ids across a --train/--test pair: the test file's own ids reach the submission, and a shared id is found
however a spreadsheet spelled it; rows the reader skips and columns it does not use are said."""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest

from screenstack.features.errors import ScreenstackError
from screenstack.features.records.corpus import ColumnSpec, load_corpus, load_partly_screened

TRAIN = "id,title,abstract,judgement\n1,Aspirin trial,A randomised trial.,1\n2,Mouse study,In mice.,0\n1000,Cohort,A cohort.,0\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def error_of(*args, **kwargs) -> str:
    with pytest.raises(ScreenstackError) as info:
        load_corpus(*args, **kwargs)
    assert "\n" not in str(info.value), "errors are one line"
    return str(info.value)


# --- the test file's id column --------------------------------------------------------------------

def test_test_file_whose_id_column_has_another_name_is_refused_naming_the_fix(tmp_path):
    train = write(tmp_path / "train.csv", TRAIN)
    test = write(tmp_path / "test.csv", "paper_id,title,abstract\n10,New,n\n11,Other,o\n")
    message = error_of(train, test)
    assert message.startswith(f"{test}: no id column")
    assert "found: paper_id, title, abstract" in message and "test-1" in message
    assert "Rename the test file's id column to 'id'" in message and "--id-col paper_id" in message


def test_a_web_of_science_export_is_read_by_its_accession_numbers_not_its_keywords(tmp_path):
    """Web of Science's tab-delimited export names columns by field tag: ID is Keywords Plus, UT the record's id
    (helper-161: the submission's ids were keywords, `ADHD; CHILDREN; TERM32`)."""
    header = "PT\tAU\tTI\tSO\tDE\tID\tAB\tPM\tUT"
    rows = [f"J\tSmith, A\tTrial {i}\tJ ADHD\tadhd\tRANDOMIZED-TRIAL; ATTENTION\tAbstract {i}.\t{100 + i}\tWOS:000{i}"
            for i in range(4)]
    train = write(tmp_path / "train.txt", "\n".join([header + "\tlabel", *(r + f"\t{int(i < 2)}" for i, r in enumerate(rows[:3]))]) + "\n")
    test = write(tmp_path / "test.txt", "\n".join([header, rows[3]]) + "\n")
    corpus = load_corpus(train, test)
    assert corpus.train["id"].tolist() == ["WOS:0000", "WOS:0001", "WOS:0002"] and corpus.test["id"].tolist() == ["WOS:0003"]
    assert corpus.train["title"].tolist() == ["Trial 0", "Trial 1", "Trial 2"]


def test_id_col_naming_the_test_files_column_keeps_the_training_files_id(tmp_path, caplog):
    train = write(tmp_path / "train.csv", TRAIN)
    test = write(tmp_path / "test.csv", "paper_id,title,abstract\n10,New,n\n11,Other,o\n")
    with caplog.at_level(logging.INFO, logger="screenstack"):
        corpus = load_corpus(train, test, ColumnSpec(id_col="paper_id"))
    assert corpus.train["id"].tolist() == ["1", "2", "1000"]
    assert corpus.test["id"].tolist() == ["10", "11"], "the submission carries the test file's own ids"
    assert "train.csv: no column 'paper_id' (--id-col): its own id column 'id' is used" in caplog.text


def test_id_col_naming_the_training_files_column_keeps_the_test_files_id(tmp_path):
    train = write(tmp_path / "train.csv", TRAIN.replace("id,", "pmid,", 1))
    test = write(tmp_path / "test.csv", "record_id,title,abstract\n10,New,n\n")
    corpus = load_corpus(train, test, ColumnSpec(id_col="pmid"))
    assert corpus.train["id"].tolist() == ["1", "2", "1000"] and corpus.test["id"].tolist() == ["10"]


def test_id_col_in_both_files_is_used_in_both(tmp_path):
    train = write(tmp_path / "train.csv", "pmid," + TRAIN.replace("\n1,", "\n71,1,").replace("\n2,", "\n72,2,")
                  .replace("\n1000,", "\n73,1000,"))
    test = write(tmp_path / "test.csv", "pmid,id,title,abstract\n80,1,New,n\n")
    corpus = load_corpus(train, test, ColumnSpec(id_col="pmid"))
    assert corpus.train["id"].tolist() == ["71", "72", "73"] and corpus.test["id"].tolist() == ["80"]


def test_id_col_in_neither_file_or_in_one_beside_a_file_without_ids_is_refused(tmp_path):
    train = write(tmp_path / "train.csv", TRAIN)
    test = write(tmp_path / "test.csv", "paper_id,title,abstract\n10,New,n\n")
    assert error_of(train, test, ColumnSpec(id_col="doi")).startswith(f"{train}: no column 'doi' (found: id, title")
    bare = write(tmp_path / "bare.csv", "title,abstract,judgement\nA,x,1\nB,y,0\n")
    assert error_of(bare, test, ColumnSpec(id_col="paper_id")).startswith(f"{bare}: no column 'paper_id'")


def test_files_without_ids_still_get_record_numbers(tmp_path):
    train = write(tmp_path / "train.csv", "title,abstract,judgement\nA,x,1\nB,y,0\n")
    test = write(tmp_path / "test.csv", "title,abstract\nC,z\n")
    assert load_corpus(train, test).test["id"].tolist() == ["test-1"]
    # a training file without ids beside a test file with them: the test file's ids are used
    assert load_corpus(train, write(tmp_path / "ids.csv", "id,title,abstract\n10,C,z\n")).test["id"].tolist() == ["10"]
    one = load_partly_screened(write(tmp_path / "data.csv", "title,abstract,included\nA,x,1\nB,y,0\nC,z,\n"))
    assert one.test["id"].tolist() == ["3"]


# --- ids shared by train and test -------------------------------------------------------------------

@pytest.mark.parametrize("train_id,test_id", [("1000", "1000.0"), ("1000.0", "1000"), ("1000", "01000"),
                                                 ("1000", "'1000"), ("'1000", "1000.0"),
                                                 ('"=""01000"""', "1000")])  # Excel's ="01000" (helper-161)
def test_an_id_shared_in_a_spreadsheets_spelling_is_refused(tmp_path, train_id, test_id):
    train = write(tmp_path / "train.csv", TRAIN.replace("\n1000,", f"\n{train_id},"))
    test = write(tmp_path / "test.csv", f"id,title,abstract\n10,New,n\n{test_id},Cohort,A cohort.\n")  # the same paper
    message = error_of(train, test)
    assert f"test.csv: row 3, column 'id': id {test_id!r} is also in" in message
    as_read = {'"=""01000"""': '="01000"'}.get(train_id, train_id)  # the CSV cell's text
    assert f"train.csv (row 4, as {as_read!r})" in message
    # helper-169: removed from the test file, the record's row is missing from the submission a competition wants whole
    assert "remove it from one of them (from train.csv to keep a submission row for every record of test.csv)." in message


def test_files_numbered_separately_are_refused_naming_the_id_the_submission_keeps(tmp_path):
    # A team's train.csv and test.csv, each numbered from 1 (helper-140): other papers under the same ids, where
    # "remove it from one of them" would have thrown the test file away. The advice given is followed below.
    train = write(tmp_path / "train.csv", TRAIN)
    test = write(tmp_path / "test.csv", "id,title,abstract\n1,New drug,n\n2,Other,o\n3,Third,t\n")
    message = error_of(train, test)
    assert message.startswith(f"{test}: row 2, column 'id': id '1' is also in {train} (row 2), where it is another paper")
    assert "2 shared id(s): 2 of other papers." in message and "remove it from one" not in message
    assert "the submission carries test.csv's, so give train.csv's records others in its 'id' (e.g. 'train-' before each: "\
           "'1' -> 'train-1')." in message
    lines = TRAIN.splitlines()
    renumbered = "\n".join([lines[0]] + [f"train-{line}" for line in lines[1:]]) + "\n"
    corpus = load_corpus(write(tmp_path / "renumbered.csv", renumbered), test)
    assert corpus.test["id"].tolist() == ["1", "2", "3"] and corpus.train["id"].tolist() == ["train-1", "train-2", "train-1000"]
    # one paper in both files beside two others: both said, whichever comes first
    train3 = write(tmp_path / "train3.csv", TRAIN + "3,Third paper,t,0\n")
    for name, rows in (("both.csv", "1,Aspirin trial,A randomised trial.\n2,Other,o\n3,New,n\n"),
                       ("other_first.csv", "2,Other,o\n1,Aspirin trial,A randomised trial.\n3,New,n\n")):
        message = error_of(train3, write(tmp_path / name, "id,title,abstract\n" + rows))
        assert "id '2' is also in" in message and "3 shared id(s): 2 of other papers, 1 the same paper in both (remove those from one file)" in message
    # mostly the same papers (helper-144): the refusal to keep a record in both, the others counted
    message = error_of(train, write(tmp_path / "mostly.csv", "id,title,abstract\n1,Aspirin trial,A randomised trial.\n"
                                                             "1000,Cohort,A cohort.\n2,Other,o\n"))
    assert "3 shared id(s), 1 of them other papers. A record cannot be in both train and test: remove it from one" in message
    # helper-142: a pair without text to tell is neither the same paper nor decides the refusal
    blank = write(tmp_path / "blank.csv", "id,title,abstract,judgement\n1,Aspirin trial,A randomised trial.,1\n2,,,0\n3,C,c,0\n")
    message = error_of(blank, write(tmp_path / "t2.csv", "id,title,abstract\n2,Other paper,o\n1,New drug,n\n"))
    assert "id '1' is also in" in message and "2 shared id(s): 1 of other papers, 1 without the text to tell." in message
    # only pairs without text, or the same paper: the refusal to keep a record in both
    assert "remove it from one of them" in error_of(blank, write(tmp_path / "t3.csv", "id,title,abstract\n2,Other paper,o\n"))


@pytest.mark.parametrize("screened_id,unscreened_id", [("481", "481"), ("481.0", "481"), ("481", "'481"), ("0481", "481.0"),
                                                       ("481", '" 481"')])
def test_one_id_twice_in_a_partly_screened_file_in_any_spelling_is_refused(tmp_path, screened_id, unscreened_id):
    # a labelled record and a record to score under one id (as a spreadsheet spelled it) would train and be scored
    data = write(tmp_path / "data.csv", f"id,title,abstract,included\n{screened_id},A,x,1\n2,B,y,0\n{unscreened_id},C,z,\n")
    with pytest.raises(ScreenstackError) as info:
        load_partly_screened(data)
    message = str(info.value)
    assert message.startswith(f"{data}: column 'id': id {screened_id!r} appears more than once (row 2") and "\n" not in message
    assert "row 4" in message and "remove the duplicate records" in message and "or pass another --id-col" in message
    assert "ids do" not in message  # one id repeated: no count
    if screened_id != unscreened_id:  # spelled as the file holds them, surrounding spaces too
        assert f"row 2 as {screened_id!r}, row 4 as {unscreened_id.strip(chr(34))!r}" in message


def test_a_file_merged_with_its_update_is_refused_once_with_the_count_of_repeated_ids(tmp_path):
    # a reviewer's naive merge of the file and an update that repeats 3 of its records: one refusal per rerun was slow
    rows = "".join(f"{i},T{i},x,{int(i == 1)}\n" for i in range(1, 7)) + "".join(f"{i},T{i},x,\n" for i in (2, 4, 5))
    data = write(tmp_path / "merged.csv", "id,title,abstract,included\n" + rows)
    with pytest.raises(ScreenstackError) as info:
        load_partly_screened(data)
    message = str(info.value)
    assert "id '2' appears more than once (row 3, row 8); 3 ids do." in message
    assert "keep one copy of each, with its label" in message


def test_ids_that_only_look_alike_are_not_shared(tmp_path):
    train = write(tmp_path / "train.csv", TRAIN)
    test = write(tmp_path / "test.csv", "id,title,abstract\n1000.5,New,n\nW1000,Other,o\n10000,Third,t\n")
    assert load_corpus(train, test).test["id"].tolist() == ["1000.5", "W1000", "10000"]


# --- rows and columns the reader leaves out ---------------------------------------------------------

def test_rows_of_separators_only_are_skipped_with_a_warning_naming_them(tmp_path):
    train = write(tmp_path / "train.csv", TRAIN)
    rows = "".join(f"{i},T{i},a\n" for i in range(10, 14))
    test = write(tmp_path / "test.csv", f"id,title,abstract\n{rows},,\n\n14,T14,a\n , ,\n")
    with pytest.warns(UserWarning) as caught:
        corpus = load_corpus(train, test)
    assert corpus.test["id"].tolist() == ["10", "11", "12", "13", "14"]
    messages = [str(w.message) for w in caught]
    assert [m for m in messages if "separators" in m] == [
        f"{test}: 2 rows hold only separators, no id or text (rows 6, 9), and are skipped as blank rows are: "
        "fill them in if they are records, or delete them."]


def test_blank_lines_alone_are_skipped_quietly(tmp_path):
    test = write(tmp_path / "test.csv", "id,title,abstract\n10,A,a\n\n11,B,b\n\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_corpus(write(tmp_path / "train.csv", TRAIN), test).test["id"].tolist() == ["10", "11"]


def test_a_label_column_in_the_test_file_is_said_to_be_unused(tmp_path, caplog):
    train = write(tmp_path / "train.csv", TRAIN)
    test = write(tmp_path / "test.csv", "id,title,abstract,judgement\n10,New,n,1\n11,Other,o,\n")
    with caplog.at_level(logging.INFO, logger="screenstack"):
        corpus = load_corpus(train, test)
    assert corpus.test["label"].isna().all()
    assert "test.csv: column 'judgement' is not used: only the training file's labels train" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="screenstack"):
        load_corpus(train, write(tmp_path / "plain.csv", "id,title,abstract\n10,New,n\n"))
    assert "is not used" not in caplog.text
    # A RIS test file exported from ASReview carries its labels as N1 notes: named so, not as a column it lacks.
    ris = write(tmp_path / "test.ris", "TY  - JOUR\nID  - 10\nTI  - New\nAB  - n\nN1  - ASReview_relevant\nER  - \n")
    with caplog.at_level(logging.INFO, logger="screenstack"):
        load_corpus(train, ris)
    assert ("test.ris: its ASReview label notes (N1  - ASReview_relevant, ...) are not used: only the training file's "
            "labels train") in caplog.text and "asreview_label" not in caplog.text


def test_an_id_col_naming_a_ris_tag_is_read_from_the_ris_file_beside_a_csv(tmp_path):
    # The RIS test file's AN (accession number) tags hold the ids --id-col AN names; its ID tags number the records.
    # It fell back to the ID tags ("no column 'AN'"), the submission's ids record numbers (helper-139).
    (tmp_path / "train.csv").write_text("AN,title,abstract,label\n31000001,A trial,x,1\n31000002,A mouse study,y,0\n"
                                        "31000003,A cohort,z,0\n31000004,Another trial,w,1\n")
    (tmp_path / "test.ris").write_text("TY  - JOUR\nID  - 1\nAN  - 32000001\nTI  - New\nER  - \n\n"
                                       "TY  - JOUR\nID  - 2\nAN  - 32000002\nTI  - Other\nER  - \n")
    corpus = load_corpus(tmp_path / "train.csv", tmp_path / "test.ris", ColumnSpec(id_col="AN"))
    assert corpus.test["id"].tolist() == ["32000001", "32000002"]
    assert corpus.train["id"].tolist() == ["31000001", "31000002", "31000003", "31000004"]


def test_a_training_file_without_ids_beside_test_ids_that_repeat_its_record_numbers_is_told_to_get_ids(tmp_path):
    # helper-144: "remove it from one of them" for 118 other papers, and "add an id column" said of a RIS file
    train = write(tmp_path / "train.csv", "title,abstract,judgement\nAspirin trial,x,1\nMouse study,y,0\nCohort,z,0\n")
    test = write(tmp_path / "test.csv", "id,title,abstract\n1,New,n\n2,Other,o\n")
    message = error_of(train, test)
    assert f"2 shared id(s): {train} has no id column, so its records are numbered 1, 2, ... as ids, which {test}'s ids repeat." in message
    assert "remove it from one of them" not in message and "in a RIS file an `ID  - ` line per record" in message
