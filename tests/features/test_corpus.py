"""Reading the input formats, and one clear error per kind of bad input."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from screenstack.cli import main
from screenstack.features.records.corpus import ColumnSpec, load_corpus, load_partly_screened, load_records, read_table, texts
from screenstack.features.errors import ScreenstackError

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"
COMPETITION_TRAIN = "id,title,abstract,judgement\n1,Aspirin trial,A randomised trial.,1\n2,Mouse study,In mice.,0\n3,Cohort,A cohort study.,0\n"
COMPETITION_TEST = "id,title,abstract\n10,New trial,Another trial.\n11,Review,A narrative review.\n"


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def error_of(call, *args, **kwargs) -> str:
    with pytest.raises(ScreenstackError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message, "errors are one line"
    return message



def test_the_same_file_as_train_and_test_is_refused_saying_so(tmp_path):
    train = write(tmp_path / "train.csv", COMPETITION_TRAIN)
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "train.csv").symlink_to(train)  # another path to the same file counts as the same
    message = error_of(load_corpus, train, tmp_path / "again" / "train.csv")
    assert "the same file" in message and "--data" in message
    # A folder given twice is named as a folder, not as one file given twice.
    assert "is a folder" in error_of(load_corpus, tmp_path / "again", tmp_path / "again")


def test_a_csv_column_named_like_the_ris_label_notes_is_said_to_be_a_column(tmp_path, caplog):
    text = COMPETITION_TRAIN.replace("judgement", "asreview_label")
    with caplog.at_level("INFO", logger="screenstack"):
        load_corpus(write(tmp_path / "labels.csv", text), spec=ColumnSpec(label_col="asreview_label"))
    assert "(label column 'asreview_label')" in caplog.text and "N1" not in caplog.text

# --- formats ------------------------------------------------------------------------------------

def test_competition_csv_train_and_test(tmp_path):
    corpus = load_corpus(write(tmp_path / "train.csv", COMPETITION_TRAIN), write(tmp_path / "test.csv", COMPETITION_TEST))
    assert corpus.train["id"].tolist() == ["1", "2", "3"]
    assert corpus.train["label"].tolist() == [1.0, 0.0, 0.0]
    assert corpus.test["id"].tolist() == ["10", "11"]
    assert corpus.test["label"].isna().all()
    assert texts(corpus.test) == ["New trial. Another trial.", "Review. A narrative review."]


def test_test_file_may_carry_a_judgement_column_which_is_ignored(tmp_path):
    test = write(tmp_path / "test.csv", "id,title,abstract,judgement\n10,New trial,Another trial.,1\n")
    corpus = load_corpus(write(tmp_path / "train.csv", COMPETITION_TRAIN), test)
    assert corpus.test["id"].tolist() == ["10"] and corpus.test["label"].isna().all()


def test_asreview_csv_without_abstract_column_screens_on_title(tmp_path):
    records = load_records(write(tmp_path / "r.csv", "record_id,title,label_included\n5,Only a title,1\n6,Another,0\n"))
    assert records["id"].tolist() == ["5", "6"]
    assert records["abstract"].tolist() == ["", ""]
    assert texts(records) == ["Only a title", "Another"]


def test_file_without_ids_gets_record_numbers_and_test_ids_do_not_collide(tmp_path):
    train = write(tmp_path / "train.csv", "title,abstract,included\nA,x,1\nB,y,0\n")
    test = write(tmp_path / "test.csv", "title,abstract\nC,z\nD,w\n")
    corpus = load_corpus(train, test)
    assert corpus.train["id"].tolist() == ["1", "2"]
    assert corpus.test["id"].tolist() == ["test-1", "test-2"]


def test_tsv_with_quoted_tabs_and_newlines(tmp_path):
    path = write(tmp_path / "r.tsv", 'record_id\ttitle\tabstract\tlabel\n1\t"Tab\there"\t"two\nlines"\t1\n2\tB\t\t0\n')
    records = load_records(path)
    assert records["title"].tolist() == ["Tab\there", "B"]
    assert records["abstract"].tolist() == ["two\nlines", ""]
    assert records["label"].tolist() == [1.0, 0.0]


def test_separator_sniffed_for_txt(tmp_path):
    records = load_records(write(tmp_path / "r.txt", "title\tabstract\tlabel\nA\tx\t1\nB\ty\t0\n"))
    assert records["title"].tolist() == ["A", "B"]


def test_xlsx_with_numbers_and_empty_cells(tmp_path):
    path = tmp_path / "r.xlsx"
    pd.DataFrame({"record_id": [10, 11, 12], "title": ["A", "B", None], "abstract": ["x", None, "NA"],
                  "included": [1, 0, 0]}).to_excel(path, index=False)
    records = load_records(path)
    assert records["id"].tolist() == ["10", "11", "12"]
    assert records["title"].tolist() == ["A", "B", ""]
    assert read_table(path)["abstract"].tolist() == ["x", "", "NA"], "a cell's text is read as it is"
    assert records["abstract"].tolist() == ["x", "", ""], "R's NA for a missing abstract is no abstract"
    assert records["label"].tolist() == [1.0, 0.0, 0.0]


@pytest.mark.parametrize("marker", ["[No abstract available]", "No abstract available.", "NA", "n/a", " Abstract not available ",
                                    "#N/A", "-", "[]", "[No abstract available]" + " " * 60])
def test_an_abstract_that_says_it_is_missing_is_no_abstract(tmp_path, marker):
    """Scopus and Embase write "[No abstract available]", R writes NA: such a record has a title alone, the phrase is
    not text a model learns from, and the user is told which column and row."""
    path = write(tmp_path / "r.csv", f'id,title,abstract,label\n1,[Not Available].,Real words,1\n2,B,"{marker}",0\n'
                                     '3,C,None of the patients were treated,0\n')
    with pytest.warns(UserWarning) as caught:
        records = load_records(path)
    assert records["title"].tolist() == ["", "B", "C"]
    assert records["abstract"].tolist() == ["Real words", "", "None of the patients were treated"]
    said = [str(w.message) for w in caught]
    assert any("column 'abstract': 1 record(s) hold" in line and "row 3" in line for line in said), said
    assert any("column 'title'" in line and "'[Not Available].'" in line and "row 2" in line for line in said), said


def test_a_cell_without_a_letter_or_digit_is_no_text_and_its_record_is_flagged_as_one_without_text(tmp_path):
    path = write(tmp_path / "r.csv", "id,title,abstract\n1,.,\n2,[No title available],-\n3,NA (sodium) intake,x\n")
    with pytest.warns(UserWarning, match="column 'title': 2 record"):
        records = load_records(path, labelled=False)
    assert records["title"].tolist() == ["", "", "NA (sodium) intake"] and records["abstract"].tolist() == ["", "", "x"]


def test_ris_takes_t1_and_n2_where_ti_and_ab_only_say_the_text_is_missing(tmp_path):
    path = write(tmp_path / "r.ris", "TY  - JOUR\nID  - r1\nTI  - [Not Available].\nT1  - Real title\n"
                                     "AB  - [No abstract available]\nN2  - Real abstract\nER  - \n\n"
                                     "TY  - JOUR\nID  - r2\nTI  - Title two\nAB  - [No abstract available]\nER  - \n")
    with pytest.warns(UserWarning, match="column 'abstract': 1 record"):
        records = load_records(path, labelled=False)
    assert records[["title", "abstract"]].values.tolist() == [["Real title", "Real abstract"], ["Title two", ""]]


def test_a_ris_abstract_over_several_ab_lines_is_read_whole_and_a_second_id_line_is_said(tmp_path):
    # rispy keeps the first line of a tag it takes as single: a helper's abstracts exported over two AB lines lost
    # their second half without a word, and the run scored what was left.
    path = write(tmp_path / "r.ris", "TY  - JOUR\nID  - r1\nTI  - Nudges\nTI  - for vaccination\nAB  - Background: low.\n"
                                     "AB  - Methods: letters.\nAB  - Results: up\n8 points, wrapped.\nLB  - 1\nLB  - 1\nER  - \n\n"
                                     "TY  - JOUR\nID  - r2\nID  - 7\nTI  - Another\nAB  - Text\nLB  - 0\nER  - \n")
    with pytest.warns(UserWarning, match=r"r.ris: 1 record\(s\) have an ID or LB line twice with other values \(first: "
                                         r"record 2, ID: r2 then 7\); the first line is read"):
        records = load_records(path, ColumnSpec(label_col="LB"))
    # A line wrapped after a repeated tag runs on too (a first build refused such a file as unparseable).
    assert records["abstract"].tolist() == ["Background: low. Methods: letters. Results: up 8 points, wrapped.", "Text"]
    assert records["title"].tolist() == ["Nudges for vaccination", "Another"] and records["id"].tolist() == ["r1", "r2"]
    assert records["label"].tolist() == [1.0, 0.0]  # the same label twice is that label, said nowhere


def test_xlsx_rows_are_read_by_the_rules_of_a_csv_files_rows(tmp_path):
    import openpyxl

    def workbook(*rows) -> Path:
        book = openpyxl.Workbook()
        for row in rows:
            book.active.append(row)
        book.save(tmp_path / "r.xlsx")
        return tmp_path / "r.xlsx"

    # Blank rows above the header and between records are skipped and counted in row numbers; one between records
    # may be a record cleared by mistake: named.
    path = workbook([], [None, " "], ["title", "abstract", "included"], ["A", "x", 1], [], ["B", "y", 0], [None, "  ", None],
                    ["C", "z", 2], [], [])
    with pytest.warns(UserWarning, match=r"2 rows between records are empty, no id or text \(rows 5, 7\)"), \
            pytest.raises(ScreenstackError, match=r"row 8, column 'included': label '2' is not 0 or 1"):
        load_records(path)
    # An error cell is the text it shows: refused as a label, no text in a title (as in a CSV export of the sheet).
    path = workbook(["title", "abstract", "included"], ["A", "x", 1], ["#REF!", "y", 0], ["C", "z", "#N/A"])
    with pytest.raises(ScreenstackError, match=r"row 4, column 'included': label '#N/A' is not 0 or 1"):
        load_records(path)
    path = workbook(["title", "abstract", "included"], ["A", "x", 1], ["#REF!", "y", 0], ["C", "z", 0.0])
    with pytest.warns(UserWarning, match=r"column 'title': 1 record\(s\) hold '#REF!'"):
        records = load_records(path)
    assert records["title"].tolist() == ["A", "", "C"] and records["label"].tolist() == [1.0, 0.0, 0.0]
    # Data under a column without a name is refused, as in a CSV file.
    path = workbook(["title", "abstract", "included"], ["A", "x", 1], ["B", "y", 0, None, "stray"])
    with pytest.raises(ScreenstackError, match=r"column 5 has no name in the header row, but row 3 has data there \('stray'\)"):
        load_records(path)


RIS = """TY  - JOUR
ID  - r1
T1  - First title
AB  - First abstract
LI  - 1
LB  - 7
ER  - 

TY  - JOUR
ID  - r2
TI  - Second title
N2  - Second abstract
LI  - 0
"""


def test_ris_fields_labels_via_label_col_and_last_record_without_end_tag(tmp_path):
    records = load_records(write(tmp_path / "r.ris", RIS), ColumnSpec(label_col="LI"))
    assert records["id"].tolist() == ["r1", "r2"], "the record without ER is kept"
    assert records["title"].tolist() == ["First title", "Second title"]
    assert records["abstract"].tolist() == ["First abstract", "Second abstract"]
    assert records["label"].tolist() == [1.0, 0.0]


def test_a_ris_tag_as_label_col_reads_the_field_rispy_puts_it_in(tmp_path):
    """data/README: "--label-col TAG (e.g. LB, or a rispy field name such as label)"; LB was refused as no column."""
    text = RIS.replace("LB  - 7", "LB  - 1") + "LB  - 0\n"
    by_tag = load_records(write(tmp_path / "r.ris", text), ColumnSpec(label_col="LB"))
    assert by_tag["label"].tolist() == [1.0, 0.0]
    pd.testing.assert_frame_equal(by_tag, load_records(tmp_path / "r.ris", ColumnSpec(label_col="label")))


def test_ris_labels_are_never_guessed(tmp_path):
    # LB maps to rispy's `label` field: it must not be taken for the inclusion label.
    message = error_of(load_records, write(tmp_path / "r.ris", RIS))
    assert "r.ris: no record has an ASReview label note" in message and "--label-col" in message and "LI" in message


def test_ris_as_unlabelled_test_file(tmp_path):
    records = load_records(write(tmp_path / "r.ris", RIS), labelled=False)
    assert records["label"].isna().all() and len(records) == 2


def test_flags_override_detection(tmp_path):
    path = write(tmp_path / "r.csv", "key,headline,summary,keywords,decision\na,T1,S1,k1,1\nb,T2,S2,k2,0\n")
    records = load_records(path, ColumnSpec.from_flags("key", "headline, summary,keywords", "decision"))
    assert records["id"].tolist() == ["a", "b"]
    assert records["title"].tolist() == ["T1", "T2"]
    assert records["abstract"].tolist() == ["S1 k1", "S2 k2"]
    assert records["label"].tolist() == [1.0, 0.0]


def test_flags_name_columns_as_detection_finds_them_whatever_their_case(tmp_path):
    # Found without flags, `ID,Title,ABSTRACT,Judgement` was refused with them: "no column 'title'".
    path = write(tmp_path / "r.csv", "ID,Title,ABSTRACT,Judgement\n1,T1,S1,1\n2,T2,S2,0\n")
    records = load_records(path, ColumnSpec.from_flags(" id", "title,abstract", "judgement"))
    pd.testing.assert_frame_equal(records, load_records(path))
    assert records["id"].tolist() == ["1", "2"] and records["label"].tolist() == [1.0, 0.0]
    both = write(tmp_path / "two.csv", "id,Title,title,judgement\n1,T1,t1,1\n2,T2,t2,0\n")  # spelled exactly: that one
    assert load_records(both, ColumnSpec.from_flags(None, "title", None))["title"].tolist() == ["t1", "t2"]
    assert ("--text-cols 'TITLE': no column spelled so, and 2 spelled so but for case ('Title', 'title'). Pass the one "
            "meant, spelled as the header has it.") in error_of(load_records, both, ColumnSpec.from_flags(None, "TITLE", None))
    assert "--text-cols title,Title,abstract names column 'Title' twice" in error_of(
        load_records, path, ColumnSpec.from_flags(None, "title,Title,abstract", None))  # read twice: its words counted so


def test_real_dataset_reads_with_registered_counts():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Cohen ADHD has records with no text; they are kept
        records = load_records(DATASETS / "cohen_adhd.csv")
    assert len(records) == 851 and int(records["label"].sum()) == 20
    assert records["id"].is_unique


def test_records_without_any_text_warn_but_stay(tmp_path):
    with pytest.warns(UserWarning, match=r"r\.csv: 1 record.*row 3"):
        records = load_records(write(tmp_path / "r.csv", "title,abstract,label\nA,x,1\n,,0\n"))
    assert len(records) == 2


# --- bad input: one line naming the file, the row/column and the fix ----------------------------

def test_missing_file(tmp_path):
    message = error_of(load_corpus, tmp_path / "nope.csv")
    assert "nope.csv" in message and "no such file" in message


def test_a_missing_file_names_its_flag_and_split_only_for_train_and_test(tmp_path):
    from screenstack.features.records.corpus import load_partly_screened

    assert error_of(load_corpus, tmp_path / "nope.csv").startswith("--train ")
    assert "screenstack split" in error_of(load_corpus, tmp_path / "nope.csv")
    message = error_of(load_partly_screened, tmp_path / "nope.csv")
    assert message.startswith("--data ") and "split" not in message, "a --data file is not made by split"


@pytest.mark.parametrize("content", ["", "id,title,abstract,judgement\n", "\n\n  \n"])
def test_empty_file_or_header_only(tmp_path, content):
    message = error_of(load_corpus, write(tmp_path / "train.csv", content))
    assert "train.csv" in message and ("empty" in message or "no records" in message or "no header" in message)


def test_missing_title_column_names_found_and_expected(tmp_path):
    message = error_of(load_corpus, write(tmp_path / "train.csv", "id,heading,judgement\n1,A,1\n2,B,0\n"))
    assert "train.csv" in message and "found: id, heading, judgement" in message
    assert "title" in message and "--text-cols" in message


def test_missing_label_column_names_found_and_expected(tmp_path):
    message = error_of(load_corpus, write(tmp_path / "train.csv", "id,title,abstract\n1,A,x\n"))
    assert "found: id, title, abstract" in message and "label_included" in message and "--label-col" in message


def test_flag_naming_absent_column(tmp_path):
    message = error_of(load_records, write(tmp_path / "r.csv", COMPETITION_TRAIN), ColumnSpec(id_col="pmid"))
    assert "'pmid'" in message and "found: id, title, abstract, judgement" in message and "--id-col" in message


def test_text_cols_naming_the_label_the_id_or_a_column_twice_is_refused(tmp_path):
    # The label among the text columns gave every training record its answer in its text (no error at all with --data).
    path = write(tmp_path / "r.csv", COMPETITION_TRAIN)
    message = error_of(load_records, path, ColumnSpec.from_flags(None, "title,judgement", None))
    assert "--text-cols names the label column 'judgement'" in message
    # --label-col naming a column read as text by default is --label-col's mistake, not --text-cols'
    message = error_of(load_records, path, ColumnSpec.from_flags(None, None, "title"))
    assert "--label-col title names a text column ('title' is read as text: title, abstract)" in message
    assert "--text-cols" not in message
    # The id column as text: TF-IDF learnt the ids and failed inside the learner with "empty vocabulary".
    message = error_of(load_records, path, ColumnSpec.from_flags(None, "id,abstract", None))
    assert "--text-cols names the id column 'id'" in message
    # --id-col naming a text column is --id-col's mistake, not --text-cols' (a flag the user never gave)
    message = error_of(load_records, path, ColumnSpec.from_flags("title", None, None))
    assert message.endswith("r.csv: --id-col title names a column of the records' text, which screenstack reads as their "
                            "title. Pass --id-col naming the column of record ids (a DOI, PubMed id or record number), or "
                            "leave it out.")
    assert "listed twice" in error_of(ColumnSpec.from_flags, None, "abstract, abstract", None)


@pytest.mark.parametrize("bad", ["2", "yes", "0.5", "1.01", "inf"])
def test_label_outside_0_1_names_row_and_column(tmp_path, bad):
    path = write(tmp_path / "train.csv", f"id,title,abstract,judgement\n1,A,x,1\n2,B,y,{bad}\n3,C,z,0\n")
    message = error_of(load_corpus, path)
    assert "train.csv: row 3, column 'judgement'" in message and repr(bad) in message and "0 (exclude) or 1 (include)" in message
    assert "row 3" in error_of(load_partly_screened, path), "a partly screened file refuses them too"


def test_labels_outside_0_1_are_counted_by_value(tmp_path):
    # "label 'no' is not 0 or 1 (278 such)" counted the file's 'yes' labels too, unnamed (a helper's finding).
    rows = "".join(f"{i},T{i},a,{label}\n" for i, label in enumerate(["no", "yes", "no", "no", "1", "yes", "0"]))
    message = error_of(load_corpus, write(tmp_path / "train.csv", "id,title,abstract,judgement\n" + rows))
    assert "label 'no' is not 0 or 1 (5 such: 'no' 3, 'yes' 2)." in message
    # Words of a decision: the numbers that replace them, not "fix those rows" of the whole file.
    assert message.endswith("Labels must be 0 (exclude) or 1 (include): replace 'no' with 0, 'yes' with 1 (in a "
                            "spreadsheet, find and replace in that column, matching entire cells).")


def test_a_partly_screened_file_s_undecided_labels_are_said_to_be_emptied(tmp_path):
    # helper-156's 'maybe' beside 'include' and 'exclude' dropped the replacements, and 'unlabeled' got "fix those rows"
    rows = "".join(f"T{i},a,{label}\n" for i, label in enumerate(["include", "exclude", "Maybe", "exclude", "", "include"]))
    message = error_of(load_partly_screened, write(tmp_path / "review.csv", "title,abstract,included\n" + rows))
    assert message.endswith("replace 'exclude' with 0, 'include' with 1 (in a spreadsheet, find and replace in that column, "
                            "matching entire cells: 'include' is also in 'included'), and empty the cells holding 'maybe' if "
                            "those records are not decided yet (they are then scored and ranked), else fix them or pass "
                            "another --label-col.")


@pytest.mark.parametrize("unscreened", ["", "-1", "ASReview_not_seen", "NA"])
def test_unscreened_record_in_a_training_file_points_to_data(tmp_path, unscreened):
    path = write(tmp_path / "train.csv", f"id,title,abstract,judgement\n1,A,x,1\n2,B,y,{unscreened}\n3,C,z,0\n4,D,w,\n")
    message = error_of(load_corpus, path)
    assert f"train.csv: row 3, column 'judgement': label {unscreened!r} marks a record not screened yet" in message
    assert "`--data FILE` instead of --train" in message and "(2 such)" in message


def test_duplicate_ids_name_the_rows(tmp_path):
    path = write(tmp_path / "train.csv", "id,title,abstract,judgement\n1,A,x,1\n2,B,y,0\n1,C,z,0\n")
    message = error_of(load_corpus, path)
    assert "train.csv: column 'id': id '1'" in message and "row 2, row 4" in message


def test_empty_id(tmp_path):
    message = error_of(load_corpus, write(tmp_path / "train.csv", "id,title,abstract,judgement\n1,A,x,1\n ,B,y,0\n"))
    assert "train.csv: row 3, column 'id': empty id" in message


def test_an_id_with_a_line_break_is_refused_as_it_would_split_the_submissions_line(tmp_path):
    message = error_of(load_corpus, write(tmp_path / "test.csv", 'id,title,abstract\n1,A,x\n"12\n34",B,y\n'))
    assert "test.csv: row 3, column 'id': id '12\\n34' holds a line break" in message


def test_ids_shared_by_train_and_test(tmp_path):
    train = write(tmp_path / "train.csv", COMPETITION_TRAIN)
    test = write(tmp_path / "test.csv", "id,title,abstract\n10,X,x\n3,Y,y\n")
    message = error_of(load_corpus, train, test)
    assert "test.csv: row 3, column 'id': id '3' is also in" in message and "train.csv (row 4)" in message


def test_ids_shared_because_train_has_no_id_column_gives_the_hint(tmp_path):
    train = write(tmp_path / "train.csv", "title,abstract,label\nA,x,1\nB,y,0\n")
    test = write(tmp_path / "test.csv", "id,title,abstract\n2,C,z\n")
    assert "has no id column, so its records are numbered 1, 2, ... as ids" in error_of(load_corpus, train, test)


@pytest.mark.parametrize("label, missing", [("0", "included (1)"), ("1", "excluded (0)")])
def test_class_absent_from_train(tmp_path, label, missing):
    path = write(tmp_path / "train.csv", f"record_id,title,abstract,label_included\n1,A,x,{label}\n2,B,y,{label}\n")
    message = error_of(load_corpus, path)
    assert "train.csv: column 'label_included' has no " + missing in message


def test_undecodable_text_names_row_and_column(tmp_path):
    path = write(tmp_path / "train.csv", "id,title,abstract,judgement\n1,A,x,1\n2,B,caf\xe9 au lait,0\n".encode("latin-1"))
    message = error_of(load_corpus, path)
    assert "train.csv: row 3, column 'abstract' is not valid UTF-8" in message and "UTF-8" in message


def test_a_file_in_shift_jis_is_named_so_with_the_conversion(tmp_path):
    # helper-169: a Japanese team's Excel export was told to "fix the text in that cell"
    rows = "id,title,abstract,judgement\n1,糖尿病の治療,ランダム化比較試験,1\n2,B,naïve,0\n"
    path = write(tmp_path / "train.csv", rows.encode("cp932", errors="replace"))
    message = error_of(load_corpus, path)
    assert message.endswith("is not valid UTF-8 text (byte 0x93). It reads as Shift-JIS (cp932), as Excel saves CSV in "
                            f"Japanese: re-save it as CSV UTF-8, or convert it (iconv -f cp932 -t utf-8 {path} > "
                            f"{tmp_path / 'train-utf8.csv'}).")
    # helper-171: English abstracts a Japanese Excel saved, their signs and Greek letters in cp932
    english = write(tmp_path / "english.csv", "id,title,abstract,judgement\n1,Dose 5 ± 2 mg,TNF-α at 37 °C,1\n2,B,x,0\n".encode("cp932"))
    assert "It reads as Shift-JIS (cp932)" in error_of(load_corpus, english)
    # Windows-1252 accents before letters decode as kanji, never as kana: not called Shift-JIS
    latin = write(tmp_path / "latin.csv", "id,title,abstract,judgement\n1,Na\xefve,r\xe9sum\xe9s,1\n2,B,x,0\n".encode("cp1252"))
    assert "Shift-JIS" not in error_of(load_corpus, latin) and "fix the text in that cell" in error_of(load_corpus, latin)


def test_undecodable_header(tmp_path):
    path = write(tmp_path / "train.csv", "id,t\xeftle,abstract,judgement\n1,A,x,1\n".encode("latin-1"))
    assert "the header row is not valid UTF-8" in error_of(load_corpus, path)


def test_undecodable_ris_names_the_record(tmp_path):
    path = write(tmp_path / "r.ris", "TY  - JOUR\nTI  - a\nER  - \nTY  - JOUR\nTI  - caf\xe9\nER  - \n".encode("latin-1"))
    assert "r.ris: record 2 is not valid UTF-8" in error_of(load_records, path, labelled=False)


def test_row_with_extra_fields(tmp_path):
    path = write(tmp_path / "train.csv", "id,title,abstract,judgement\n1,A,x,1\n2,B,y,z,0\n")
    message = error_of(load_corpus, path)
    assert "train.csv: row 3 has 5 fields but the header has 4" in message and "quoting" in message


def test_unclosed_quote(tmp_path):
    path = write(tmp_path / "train.csv", 'id,title,abstract,judgement\n1,A,x,1\n2,"B,y,0\n3,C,z,0\n')
    message = error_of(load_corpus, path)
    assert "train.csv: cannot parse row 3" in message and "quote in the record that starts on line 3 is never closed" in message


def test_not_a_ris_file(tmp_path):
    message = error_of(load_records, write(tmp_path / "r.ris", "just some text\nmore text\n"), labelled=False)
    assert "r.ris: cannot parse it as RIS (Expected start tag on line 1: 'just some text')" in message
    # A tag with one space before its dash reads as the same words as a right one: quoted as it is, with the fix.
    message = error_of(load_records, write(tmp_path / "r.ris", "TY - JOUR\nTI  - a\nER  - \n"), labelled=False)
    assert ("r.ris: cannot parse it as RIS (Expected start tag on line 1: 'TY - JOUR'; a tag is its two characters in "
            "capitals, two spaces, a dash and a space: 'TY  - JOUR')") in message
    # Inside a record a mistyped tag was read as the line before's text (an abstract in the title): refused, in a .txt too.
    for mistyped, meant in (("AB   - b", "AB  - b"), ("  AB  - b", "AB  - b"), ("AB\t- b", "AB  - b"),
                            ("AB  -b", "AB  - b"), ("ER -", "ER  - ")):
        message = error_of(load_records, write(tmp_path / "r.txt", f"TY  - JOUR\nTI  - a\n{mistyped}\nER  - \n"),
                           labelled=False)
        assert f"r.txt: cannot parse it as RIS (Mistyped tag on line 3: {mistyped!r}; " in message and repr(meant) in message
    # Letters that are no RIS tag, or with no space before the dash, are text (a wrapped abstract: a helper's
    # `T2-weighted` line was refused), and a tag with no value whose last space went is empty.
    read = load_records(write(tmp_path / "r.ris", "TY  - JOUR\nTI  - a\nN2  -\nAB  - IL-6 and\nIL - 6 levels on\n"
                                                  "T2-weighted MRI\nKW  -\nER  - \n"), labelled=False)
    assert read[["title", "abstract"]].values.tolist() == [["a", "IL-6 and IL - 6 levels on T2-weighted MRI"]]
    # A tag's letters with one space each side are text, as an abbreviation list in an abstract is, and said.
    with pytest.warns(UserWarning, match=r"r.ris: 1 line\(s\) in records look like a tag with one space before its dash "
                                         r"\(first: record 1, 'AD - Alzheimer disease'\) .* write it 'AD  - Alzheimer disease'"):
        read = load_records(write(tmp_path / "r.ris", "TY  - JOUR\nTI  - a\nAB  - b\nAD - Alzheimer disease\nER  - \n"),
                            labelled=False)
    assert read["abstract"].tolist() == ["b AD - Alzheimer disease"]
    # A record of lower-case or indented tags, or a stray line between records, is refused as before, never skipped.
    one = "TY  - JOUR\nID  - 1\nTI  - a\nER  - \n"
    for odd in ("ty  - JOUR\nid  - 2\ner  - \n", "  TY  - JOUR\n  ID  - 2\n  ER  - \n", "A stray line\n"):
        message = error_of(load_records, write(tmp_path / "r.ris", one + odd + one.replace("1", "3")), labelled=False)
        assert f"r.ris: cannot parse it as RIS (Expected start tag on line 5: {odd.splitlines()[0]!r}" in message
    # EndNote's "Unicode" RIS saved as .txt: named as RIS to re-export, not as a CSV to save from Excel.
    path = tmp_path / "u.txt"
    path.write_bytes(("\ufeff" + one).encode("utf-16-le"))
    assert "u.txt: is UTF-16 text (as some reference managers export it)" in error_of(load_records, path, labelled=False)
    # A table whose first header starts TY is no RIS file.
    assert load_records(write(tmp_path / "t.csv", "TY-ID,title,abstract\n1,a,b\n"), labelled=False)["title"].tolist() == ["a"]


def test_ris_from_a_database_with_its_preamble_lone_cr_endings_or_saved_as_txt_is_read(tmp_path):
    # Wiley's downloads start with Provider/Database/Content lines (and a concatenation has them between records):
    # refused as "Expected start tag". A lone-CR file was "2 records start ... but 0 could be read". EndNote saves
    # RIS as .txt: read as a CSV, it was "row 7 repeats the header row".
    preamble = 'Provider: John Wiley & Sons, Ltd\nDatabase: Wiley Online Library\nContent: text/plain; charset="UTF-8"\n\n'
    text = preamble + RIS + "ER  - \n\n" + preamble + RIS.replace("r1", "r3").replace("r2", "r4")
    expected = load_records(write(tmp_path / "plain.ris", RIS + "ER  - \n" + RIS.replace("r1", "r3").replace("r2", "r4")),
                            ColumnSpec(label_col="LI"))
    assert expected["id"].tolist() == ["r1", "r2", "r3", "r4"]
    joined = "\ufeff1.\n" + text.replace(preamble, "\ufeff", 1).replace(preamble, "\ufeff2.\n")  # two BOM files, `cat`
    # The first of two joined files without its last newline; EndNote's closing EF line and an old export's Ctrl-Z.
    unended = RIS + "ER  - " + RIS.replace("r1", "r3").replace("r2", "r4") + "ER  - \nEF\n\x1a"
    for name, body in (("wiley.ris", text), ("cr.ris", text.replace("\n", "\r")), ("endnote.txt", text),
                       ("joined.txt", joined), ("unended.ris", unended)):
        read = load_records(write(tmp_path / name, body.encode()), ColumnSpec(label_col="LI"))
        pd.testing.assert_frame_equal(read[["id", "title", "abstract", "label"]], expected[["id", "title", "abstract", "label"]])
        assert read.attrs["columns"]["format"] == "ris", name


def test_old_xls_and_folder_refused(tmp_path):
    assert "Save it as .xlsx or .csv" in error_of(load_records, write(tmp_path / "r.xls", b"\xd0\xcf\x11\xe0"))
    assert "is a folder" in error_of(load_records, tmp_path)


def test_a_workbook_with_several_sheets_says_which_it_read(tmp_path):
    # Records on the second sheet were refused as "a header but no records", naming no sheet.
    path = tmp_path / "r.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"note": []}).to_excel(writer, sheet_name="notes", index=False)
        pd.DataFrame({"record_id": [1, 2], "title": ["A", "B"], "included": [1, 0]}).to_excel(writer, sheet_name="data", index=False)
    with pytest.warns(UserWarning, match=r"r.xlsx: read its first visible worksheet 'notes'; its other sheets \('data'\) are not read"):
        message = error_of(load_records, path)
    assert "r.xlsx: the file has no records on its first sheet 'notes', the one read" in message


def test_a_cover_sheet_before_the_records_sheet_is_named_where_a_column_is_missing(tmp_path):
    # A cover sheet with rows of its own was refused as "no title column ... Rename the titles' column title, or pass
    # --text-cols", neither of which reads the sheet the records are on.
    path = tmp_path / "r.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"info": ["exported 2026-11-30"]}).to_excel(writer, sheet_name="About", index=False)
        pd.DataFrame({"record_id": [1, 2], "title": ["A", "B"], "included": [1, 0]}).to_excel(writer, sheet_name="Records", index=False)
    with pytest.warns(UserWarning, match="its other sheets"):
        message = error_of(load_records, path)
    assert ("r.xlsx: no title column (expected one of title, primary_title, ti; found: info, on the workbook's first sheet "
            "'About', the one read; the records on another ('Records')? Move that sheet first or save it as CSV).") in message


def test_broken_xlsx(tmp_path):
    message = error_of(load_records, write(tmp_path / "r.xlsx", b"id,title\n1,A\n"))
    assert "r.xlsx: is not an Excel workbook (.xlsx is a zip archive); it looks like text" in message and ".csv" in message
    message = error_of(load_records, write(tmp_path / "r.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)))
    assert "is an old-style .xls workbook or a password-protected one" in message
    pd.DataFrame({"title": ["A"]}).to_excel(tmp_path / "whole.xlsx", index=False)
    write(tmp_path / "r.xlsx", (tmp_path / "whole.xlsx").read_bytes()[:300])  # cut short
    assert "r.xlsx: cannot read it as an Excel workbook" in error_of(load_records, tmp_path / "r.xlsx")
    import zipfile

    with zipfile.ZipFile(tmp_path / "r.xlsx", "w") as archive:  # a workbook zipped up
        archive.write(tmp_path / "whole.xlsx", "whole.xlsx")
    assert "r.xlsx: is a zip archive of other files, not an Excel .xlsx workbook. Decompress it first" in \
        error_of(load_records, tmp_path / "r.xlsx")
    with zipfile.ZipFile(tmp_path / "r.xlsx", "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    assert "r.xlsx: is an OpenDocument spreadsheet (.ods)" in error_of(load_records, tmp_path / "r.xlsx")


def test_xlsx_rows_past_a_wrong_dimension_tag_and_a_chart_sheet_first_are_read(tmp_path):
    import zipfile

    import openpyxl

    path, fixed = tmp_path / "w.xlsx", tmp_path / "r.xlsx"
    pd.DataFrame({"title": [f"T{i}" for i in range(30)], "included": [i % 2 for i in range(30)]}).to_excel(path, index=False)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(fixed, "w") as target:  # a writer that says A1:B10
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:A10"', data)
            target.writestr(item, data)
    assert len(load_records(fixed)) == 30
    book = openpyxl.load_workbook(path)
    from openpyxl.chart import BarChart, Reference

    chart = BarChart()
    chart.add_data(Reference(book["Sheet1"], min_col=2, min_row=1, max_row=31))
    book.create_chartsheet("Chart1", 0).add_chart(chart)
    book.save(path)
    with pytest.warns(UserWarning, match=r"read its first visible worksheet 'Sheet1'; its other sheets \('Chart1'\)"):
        assert len(load_records(path)) == 30


def test_formulas_are_told_by_their_saved_values_however_the_writer_spells_them(tmp_path):
    import zipfile

    import openpyxl

    book = openpyxl.Workbook()
    for row in (["title", "included", "note"], ["A", 1, "x"], ["B", 0, "y"]):
        book.active.append(row)
    book.save(tmp_path / "base.xlsx")

    def patched(name: str, cell: bytes, xml: bytes) -> Path:
        with zipfile.ZipFile(tmp_path / "base.xlsx") as source, zipfile.ZipFile(tmp_path / name, "w") as target:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename == "xl/worksheets/sheet1.xml":
                    data = re.sub(rb'<c r="' + cell + rb'"[^>]*>.*?</c>', xml, data, count=1, flags=re.S)
                if item.filename == "xl/workbook.xml":  # as Excel saves it: computed, not to be computed on opening
                    data = data.replace(b'fullCalcOnLoad="1"', b"")
                target.writestr(item, data)
        return tmp_path / name

    # Excel's ="" result: an empty <v> of a text cell, a value like any other
    records = load_records(patched("empty.xlsx", b"C2", b'<c r="C2" t="str"><f>IF(B2=1,"","y")</f><v></v></c>'))
    assert records["title"].tolist() == ["A", "B"]
    # a namespace prefix, a line break before an attribute: formulas all the same, unsaved
    for name, xml in (("ns.xlsx", b'<c r="B3"><x:f xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">0+1</x:f></c>'),
                      ("nl.xlsx", b'<c r="B3"><f\nt="normal">0+1</f></c>')):
        assert f"{name}: cell B3 holds a formula without a saved value (1 such)" in error_of(load_records, patched(name, b"B3", xml))
    # xlsxwriter's 0 for a formula it did not compute, the workbook asking to be computed on opening
    placeholder = patched("zero.xlsx", b"B3", b'<c r="B3"><f>IF(1,1,0)</f><v>0</v></c>')
    with zipfile.ZipFile(placeholder) as source, zipfile.ZipFile(tmp_path / "xw.xlsx", "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, data.replace(b"<calcPr ", b'<calcPr fullCalcOnLoad="1" ')
                            if item.filename == "xl/workbook.xml" else data)
    assert load_records(placeholder)["title"].tolist() == ["A", "B"]  # computed: 0 is its value
    assert "xw.xlsx: cell B3 holds a formula without a saved value (1 such): the workbook asks to be computed when opened" \
        in error_of(load_records, tmp_path / "xw.xlsx")
    # a hidden first sheet is not the one a reader sees first
    book = openpyxl.load_workbook(tmp_path / "base.xlsx")
    lists = book.create_sheet("Lists", 0)
    lists.append(["choices"])
    lists.sheet_state = "hidden"
    book.active = 1
    book.save(tmp_path / "hidden.xlsx")
    with pytest.warns(UserWarning, match=r"read its first visible worksheet 'Sheet'"):
        assert load_records(tmp_path / "hidden.xlsx")["title"].tolist() == ["A", "B"]


def test_a_workbooks_escaped_characters_are_read_as_the_characters(tmp_path):
    """Excel saves a carriage return in a cell as `_x000D_` (a CSV's CRLF line breaks opened and saved as .xlsx), and a
    literal `_x000D_` as `_x005F_x000D_`; openpyxl leaves both as written (helper-161: the word before each joined it
    into one TF-IDF token, and the XLSX copy of a paper no longer matched its CSV copy)."""
    import openpyxl

    book = openpyxl.Workbook()  # openpyxl writes the text as given: these are the bytes Excel writes
    for row in (["title", "abstract", "included"], ["Objective:_x000D_\nTo compare", "a _x005F_x000D_ b_x0009_c", 1],
                ["B", "_x00e9_t_x00E9_", 0], ["C _xD83D__xDE00_", "lone _xD83D_, nul _x0000_ as written", 0]):
        book.active.append(row)
    book.save(tmp_path / "excel.xlsx")
    records = load_records(tmp_path / "excel.xlsx")
    assert records["title"].tolist() == ["Objective:\r\nTo compare", "B", "C \U0001F600"]  # a surrogate pair joined
    assert records["abstract"].tolist() == ["a _x000D_ b\tc", "\u00e9t\u00e9", "lone _xD83D_, nul _x0000_ as written"]


def test_a_formula_without_a_saved_value_is_refused_naming_its_cell(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    for row in (["title", "included"], ["A", 1], ["B", "=0+1"], ["C", "=1-1"]):
        book.active.append(row)
    book.save(tmp_path / "r.xlsx")  # openpyxl saves formulas without computing them
    message = error_of(load_records, tmp_path / "r.xlsx")
    assert "r.xlsx: cell B3 holds a formula without a saved value (2 such)" in message and "save it" in message


def test_values_hash_as_their_text_whatever_the_pandas_version():
    # A test split's labels are missing (NaN). pandas 3's astype(str) kept them missing, which hashed otherwise than
    # pandas 2's "nan", so a run folder made under one version was refused under the other as another --test file.
    import hashlib

    from screenstack.features.records.corpus import update_row_hashes

    def digest(values):
        found = hashlib.sha256()
        update_row_hashes(found, values, as_str=True)
        return found.hexdigest()

    assert digest(pd.Series([0.0, 1.0, np.nan])) == digest(pd.Series(["0.0", "1.0", "nan"], dtype=object))
    assert digest(pd.Series(["a", None], dtype=object)) == digest(pd.Series(["a", "None"], dtype=object))


def test_fingerprint_changes_with_a_label(tmp_path):
    a = load_corpus(write(tmp_path / "a.csv", COMPETITION_TRAIN))
    b = load_corpus(write(tmp_path / "b.csv", COMPETITION_TRAIN.replace("In mice.,0", "In mice.,1")))
    assert a.fingerprint("train") != b.fingerprint("train")
    assert np.array_equal(a.train["label"], [1, 0, 0])


# --- separators and large fields ----------------------------------------------------------------

def test_megabyte_abstract_loads(tmp_path):
    abstract = "Long, detailed abstract; with commas. " * 28_000  # about 1 MB, past csv's 128 KiB field limit
    path = write(tmp_path / "train.csv", f'id,title,abstract,judgement\n1,A,"{abstract}",1\n2,B,short,0\n')
    records = load_records(path)
    assert records["abstract"].tolist() == [abstract.strip(), "short"]
    import csv
    assert csv.field_size_limit() == 131072, "the process-wide csv limit is restored"


def test_tab_separated_file_named_csv_loads(tmp_path):
    path = write(tmp_path / "train.csv", 'id\ttitle\tabstract\tjudgement\n1\tA, with a comma\t"x, y"\t1\n2\tB\t"two\nlines"\t0\n')
    records = load_records(path)
    assert records["title"].tolist() == ["A, with a comma", "B"]
    assert records["abstract"].tolist() == ["x, y", "two\nlines"]
    assert records["label"].tolist() == [1.0, 0.0]


def test_semicolon_csv_from_excel_loads_with_right_columns(tmp_path):
    text = ('\ufeffid;title;abstract;score;judgement\r\n'
            '1;Aspirin, a trial;Dose 0,5 mg, twice daily;0,75;1\r\n'
            '2;"Quoted; with semicolon";"He said ""no"", twice";1,5;0\r\n')
    records = load_records(write(tmp_path / "train.csv", text))
    assert records["id"].tolist() == ["1", "2"]
    assert records["title"].tolist() == ["Aspirin, a trial", "Quoted; with semicolon"]
    assert records["abstract"].tolist() == ["Dose 0,5 mg, twice daily", 'He said "no", twice']
    assert records["label"].tolist() == [1.0, 0.0]


def test_excel_sep_line_names_the_separator(tmp_path):
    records = load_records(write(tmp_path / "train.csv", "sep=;\nid;title,with comma;judgement\n1;A, b;1\n2;C;0\n"),
                           ColumnSpec(text_cols=("title,with comma",)))
    assert records["title"].tolist() == ["A, b", "C"]


def test_header_commas_inside_quotes_do_not_decide_the_separator(tmp_path):
    records = load_records(write(tmp_path / "r.csv", '"title, primary";abstract;label\nA, b;x, y;1\nC;z;0\n'),
                           ColumnSpec(text_cols=("title, primary", "abstract")))
    assert records["title"].tolist() == ["A, b", "C"] and records["abstract"].tolist() == ["x, y", "z"]


def test_wrong_field_count_names_the_detected_separator(tmp_path):
    path = write(tmp_path / "train.csv", "id;title;abstract;judgement\n1;A;x;1\n2;B;y;z;0\n")
    message = error_of(load_corpus, path)
    assert "train.csv: row 3 has 5 fields but the header has 4" in message
    assert "semicolon separator was detected from the header row" in message



def test_header_split_by_tabs_and_rows_by_commas_is_named(tmp_path):
    # Each row read as one field: records with an id and no text, then "no record is labelled yet".
    path = write(tmp_path / "train.csv", "id\ttitle\tabstract\tjudgement\n1,A,x,1\n2,B,y,0\n")
    message = error_of(load_corpus, path)
    assert "train.csv: the header row is split by tabs but no data row holds one; the rows look split by commas" in message
    assert "(row 2: '1,A,x,1')" in message

# --- partly screened files (--data) and ASReview's label conventions ------------------------------

# As ASReview LAB exports RIS (rispy's writer): a counter line before each record, the label as one
# N1 note among the record's other notes, an abstract continued on a line without a tag, a record
# without any N1 (never seen).
ASREVIEW_RIS = """1.
TY  - JOUR
TI  - Methylphenidate in adults with ADHD
AB  - A randomised trial of methylphenidate.
Outcomes were measured at 12 weeks.
N1  - Imported from PubMed
N1  - ASReview_relevant
AU  - Smith, J
AU  - Doe, A
PY  - 2001
ER  - 

2.
TY  - JOUR
TI  - Atomoxetine in mice
AB  - An animal study.
N1  - ASReview_irrelevant
ER  - 

3.
TY  - JOUR
TI  - Stimulants and sleep
AB  - A cohort study.
N1  - ASReview_not_seen
N1  - check the full text
ER  - 

4.
TY  - JOUR
TI  - Guanfacine extended release
AB  - A placebo-controlled trial.
N1  - <p>ASReview_relevant</p>
ER  - 

5.
TY  - JOUR
TI  - A narrative review of ADHD
N1  - ASReview_irrelevant
N1  - duplicate of 12
ER  - 

6.
TY  - JOUR
TI  - Bupropion for ADHD
AB  - An open-label study.
ER  - 
"""


def test_asreview_ris_export_trains_on_its_labels_and_scores_the_rest(tmp_path, caplog):
    with caplog.at_level("INFO", logger="screenstack"):
        corpus = load_partly_screened(write(tmp_path / "export.ris", ASREVIEW_RIS))
    # The labels' source as the file holds it: notes, not a column of an internal name.
    assert "2 included (ASReview's N1 label notes)" in caplog.text and "asreview_label" not in caplog.text
    assert corpus.train["id"].tolist() == ["1", "2", "4", "5"], "labelled records first, in file order"
    assert corpus.train["label"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert corpus.test["id"].tolist() == ["3", "6"], "not_seen and no label note at all: scored"
    assert corpus.test["label"].isna().all()
    assert corpus.train["abstract"].iloc[0] == "A randomised trial of methylphenidate. Outcomes were measured at 12 weeks."
    assert corpus.screen_columns["title"].tolist() == ["Stimulants and sleep", "Bupropion for ADHD"]
    assert corpus.screen_columns["notes"].tolist() == ["ASReview_not_seen; check the full text", ""]


def test_conflicting_asreview_label_notes_on_one_record_are_refused_naming_it(tmp_path):
    # The last note won: an irrelevant record turned included by a second, contradicting note.
    both = ASREVIEW_RIS.replace("N1  - <p>ASReview_relevant</p>", "N1  - ASReview_irrelevant\nN1  - ASReview_relevant")
    message = error_of(load_partly_screened, write(tmp_path / "both.ris", both))
    assert "both.ris: record 4 (Guanfacine extended release) has conflicting ASReview label notes " \
           "(ASReview_irrelevant, ASReview_relevant)" in message


def test_asreview_ris_as_a_training_file(tmp_path):
    labelled = ASREVIEW_RIS.replace("N1  - ASReview_not_seen", "N1  - ASReview_irrelevant").replace(
        "AB  - An open-label study.", "AB  - An open-label study.\nN1  - ASReview_irrelevant")
    corpus = load_corpus(write(tmp_path / "labelled.ris", labelled))
    assert corpus.train["label"].tolist() == [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    message = error_of(load_corpus, write(tmp_path / "export.ris", ASREVIEW_RIS))
    assert "export.ris: record 3, column 'asreview_label': label 'ASReview_not_seen' marks a record not screened yet" in message
    assert "--data FILE" in message


RAYYAN_NOTES = ['RAYYAN-INCLUSION: {"Ana"=>"Included", "Bo"=>"Included"} | RAYYAN-LABELS: RCT',
                # a note on a line of its own: a CSV cell's line break, a RIS file's second N1 line (helper-158)
                'RAYYAN-INCLUSION: {"Ana"=>"Excluded"}\nRAYYAN-EXCLUSION-REASONS: wrong population',
                'RAYYAN-INCLUSION: {"Ana"=>"Included", "Bo"=>"Excluded"}',  # a conflict: nobody has decided it
                "",  # not screened yet
                'RAYYAN-INCLUSION: {"Ana"=>"Maybe"} | USER-NOTES: {"Ana"=>["check the dose"]}',
                'RAYYAN-INCLUSION: {"Ana {A}"=>"Excluded", "Bo"=>"Excluded"}',  # braces in a name
                "RAYYAN-INCLUSION: {'Ana'=>'Included'}"]  # not as Rayyan writes it: said, not passed over


@pytest.mark.parametrize("suffix", [".csv", ".ris"])
def test_a_rayyan_export_trains_on_its_agreed_decisions_and_ranks_the_rest(tmp_path, suffix):
    """helper-156: Rayyan keeps its decisions in each record's notes; the file was refused as one with no label column,
    pointing to predict. Agreed decisions train; Maybe, a conflict or none at all: scored and ranked, and said."""
    titles = [f"Paper {i}" for i in range(len(RAYYAN_NOTES))]
    if suffix == ".csv":
        pd.DataFrame({"key": [f"r{i}" for i in range(len(titles))], "title": titles, "abstract": "text",
                      "notes": RAYYAN_NOTES}).to_csv(tmp_path / "rayyan.csv", index=False)
    else:
        write(tmp_path / "rayyan.ris", "".join(f"TY  - JOUR\nTI  - {t}\nAB  - text\n"
                                              + "".join(f"N1  - {line}\n" for line in n.splitlines())
                                              + "ER  - \n\n" for t, n in zip(titles, RAYYAN_NOTES)))
    with pytest.warns(UserWarning, match=r"3 record\(s\) have Rayyan decisions that say Maybe, disagree or cannot be read "
                      r"\(first: " + (r"row 4" if suffix == ".csv" else r"record 3")
                      + r", \{\"Ana\"=>\"Included\", \"Bo\"=>\"Excluded\"\}\): they are scored and ranked as not screened yet"):
        corpus = load_partly_screened(tmp_path / f"rayyan{suffix}")
    assert corpus.train["title"].tolist() == ["Paper 0", "Paper 1", "Paper 5"]
    assert corpus.train["label"].tolist() == [1.0, 0.0, 0.0]
    assert corpus.test["title"].tolist() == ["Paper 2", "Paper 3", "Paper 4", "Paper 6"]


def test_rayyan_notes_beside_a_label_column_of_the_file_s_own_are_not_read_nor_warned_of(tmp_path):
    # helper-157: the Maybe warning ("scored and ranked as not screened yet") came where the file's own column trained
    frame = pd.DataFrame({"title": [f"Paper {i}" for i in range(7)], "abstract": "text", "notes": RAYYAN_NOTES,
                          "included": ["1", "0", "1", "", "0", "0", "1"]})
    frame.to_csv(tmp_path / "own.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        corpus = load_partly_screened(tmp_path / "own.csv")
    assert corpus.train["label"].tolist() == [1.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    # --label-col notes: the advice is to leave it out, not to empty cells of Rayyan's decisions
    frame.assign(included="").to_csv(tmp_path / "empty.csv", index=False)  # helper-159: no column named by what it is
    assert error_of(load_partly_screened, tmp_path / "empty.csv").endswith(
        "Pass --label-col rayyan_inclusion: Rayyan's decisions in its notes hold labels.")
    message = error_of(load_partly_screened, tmp_path / "own.csv", ColumnSpec(label_col="notes"))
    assert message.endswith("leave --label-col out: Rayyan's decisions in these notes are read by themselves (into a "
                            "column 'rayyan_inclusion').")


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx"])
@pytest.mark.parametrize("column", ["included", "label_included", "asreview_label"])  # the last: ASReview LAB 2's
def test_asreview_tables_mark_unscreened_records_empty_or_minus_one(tmp_path, suffix, column):
    frame = pd.DataFrame({"title": ["A", "B", "C", "D", "E", "F"], "abstract": ["a", "b", "c", "d", "e", "f"],
                          "authors": ["X", "Y", "Z", "W", "V", "U"], column: [1, None, 0, -1, 1, 0]})
    path = tmp_path / f"review{suffix}"
    if suffix == ".xlsx":
        frame.to_excel(path, index=False)  # numbers, and an empty cell
    else:
        frame.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")  # 1.0, "", -1.0 as pandas writes them
    corpus = load_partly_screened(path)
    assert corpus.train["id"].tolist() == ["1", "3", "5", "6"] and corpus.train["label"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert corpus.test["id"].tolist() == ["2", "4"], "ids are record numbers of the one file: never shared"
    assert corpus.screen_columns["authors"].tolist() == ["Y", "W"]


def test_partly_screened_file_with_its_own_ids_and_every_record_labelled(tmp_path):
    corpus = load_partly_screened(write(tmp_path / "all.csv", COMPETITION_TRAIN))
    assert corpus.train["id"].tolist() == ["1", "2", "3"] and corpus.test.empty
    assert corpus.fingerprint("train") == load_corpus(tmp_path / "all.csv").fingerprint("train")


def test_partly_screened_file_needs_labelled_records_of_both_classes(tmp_path):
    none = write(tmp_path / "none.csv", "title,abstract,included\nA,x,\nB,y,-1\n")
    assert "none.csv: no record is labelled yet (column 'included'" in error_of(load_partly_screened, none)
    assert "Screen some records first" in error_of(load_partly_screened, none)
    # The column picked first is empty and another holds the labels: the fix is --label-col, not more screening.
    other = write(tmp_path / "other.csv", "title,abstract,label_included,included\nA,x,,1\nB,y,,0\nC,z,,\n")
    assert error_of(load_partly_screened, other).endswith("Pass --label-col included: that column holds labels.")
    one_class = write(tmp_path / "one.csv", "title,abstract,included\nA,x,1\nB,y,\nC,z,1\n")
    assert "one.csv: column 'included' has no excluded (0) records among 2" in error_of(load_partly_screened, one_class)


@pytest.mark.parametrize("command", ["run", "extract", "fit-learners"])
def test_data_flag_is_exclusive_with_train_and_test_and_named_in_help(tmp_path, capsys, command):
    data, out = write(tmp_path / "review.csv", COMPETITION_TRAIN), tmp_path / "out"
    for flags, words in ((["--data", str(data), "--train", str(data)], "--data and --train together"),
                         (["--data", str(data), "--test", str(data)], "--data and --test together"),
                         ([], "no input file: give --data FILE"),
                         (["--test", str(data)], "--train is missing: give the labelled records as --train FILE beside --test")):
        assert main([command, *flags, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], err
    assert not out.exists(), "refused before anything is written"
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert f"screenstack {command} --data " in capsys.readouterr().out


@pytest.mark.parametrize("command", ["run", "extract", "fit-learners"])
def test_every_stage_needs_records_to_screen_with_train(tmp_path, capsys, command):
    # fit-learners and extract took --train alone, and `stack` then wrote an empty submission.csv with exit 0.
    train = write(tmp_path / "train.csv", COMPETITION_TRAIN)
    learners = ["--learners", "tfidf-svm"] if command != "extract" else ["--model", "minilm"]
    assert main([command, "--train", str(train), *learners, "--out", str(tmp_path / "out")]) == 2
    assert "--test is missing" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_corpus_records_the_training_files_text_columns(tmp_path):
    path = write(tmp_path / "r.csv", "key,headline,summary,keywords,decision\na,T1,S1,k1,1\nb,T2,S2,k2,0\n")
    corpus = load_corpus(path, spec=ColumnSpec.from_flags("key", "headline,summary,keywords", "decision"))
    assert corpus.text_columns == ("headline", "summary", "keywords")
    assert load_corpus(write(tmp_path / "t.csv", COMPETITION_TRAIN)).text_columns == ("title", "abstract")


def test_every_record_labelled_in_one_label_column_names_another_that_has_records_to_screen(tmp_path):
    # A dataset's full labels (label_included, picked first) beside the screening decisions so far (included).
    both = write(tmp_path / "both.csv", "title,abstract,label_included,included\nA,x,1,1\nB,y,0,\nC,z,1,-1\nD,w,0,0\n")
    with pytest.warns(UserWarning, match=r"both.csv: column 'label_included' labels every record, but column 'included' "
                                         r"has 2 records not screened yet: run again with --label-col "
                                         r"included \(and a new --out\)"):
        corpus = load_partly_screened(both)
    assert corpus.test.empty
    corpus = load_partly_screened(both, ColumnSpec(label_col="included"))
    assert corpus.test["title"].tolist() == ["B", "C"]


def test_labels_typed_into_a_second_label_column_are_said_not_to_train(tmp_path):
    # helper-143: a reviewer's new labels in a column of their own beside the export's label_included were scored as
    # not screened and trained nothing, without a word ("828 labelled" did not go up).
    two = write(tmp_path / "two.csv", "id,title,abstract,label_included,included\n1,A,x,1,\n2,B,y,0,\n3,C,z,,1\n"
                                      "4,D,w,,0\n5,E,v,,\n")
    with pytest.warns(UserWarning) as said:
        corpus = load_partly_screened(two)
    assert [str(w.message) for w in said] == [
        f"{two}: column 'included' labels 2 record(s) that column 'label_included', whose labels train, leaves not "
        "screened (first: row 4): they are scored as not screened and their labels train nothing. Copy them into "
        "'label_included', or pass --label-col included if that column holds every label."]
    assert corpus.test["title"].tolist() == ["C", "D", "E"]
    # both columns agreeing on what is screened: nothing to say
    agreeing = write(tmp_path / "agreeing.csv", "id,title,abstract,label_included,included\n1,A,x,1,1\n2,B,y,0,0\n3,C,z,,\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_partly_screened(agreeing)


def test_labels_as_ranked_csv_writes_them_are_read_back(tmp_path):
    # ranked.csv neutralises -1 as '-1; cells copied from it into the --data file read as they were written.
    ranked = write(tmp_path / "ranked.csv", "rank,id,title,abstract,included\n1,a,A,x,1\n2,b,B,y,'-1\n3,c,C,z,0\n4,d,D,w,'-1\n"
                                            "5,e,E,v,'1\n")
    corpus = load_partly_screened(ranked)
    assert corpus.train["id"].tolist() == ["a", "c", "e"] and corpus.train["label"].tolist() == [1.0, 0.0, 1.0]
    assert corpus.test["id"].tolist() == ["b", "d"]


def test_r_exports_na_labels_as_records_not_screened_yet(tmp_path):
    """R's write.csv writes an empty label as NA: in a partly screened file that record is scored, not refused."""
    path = write(tmp_path / "review.csv", '"id","title","abstract","included"\n"1","A","x",1\n"2","B","y",NA\n"3","C","z",0\n')
    corpus = load_partly_screened(path)
    assert corpus.train["id"].tolist() == ["1", "3"] and corpus.test["id"].tolist() == ["2"]


def test_labels_a_spreadsheets_number_format_wrote_read_as_their_numbers(tmp_path):
    """Excel with two decimals writes 1.00 and -1.00; other tools 01 or +1: the numbers 1, 0 and -1 they are."""
    path = write(tmp_path / "review.csv", "id,title,abstract,included\n1,A,x,1.00\n2,B,y,-1.00\n3,C,z,0.00\n4,D,w,+1\n"
                                          "5,E,v,00\n6,F,u,01\n")
    corpus = load_partly_screened(path)
    assert corpus.train["id"].tolist() == ["1", "3", "4", "5", "6"]
    assert corpus.train["label"].tolist() == [1.0, 0.0, 1.0, 0.0, 1.0] and corpus.test["id"].tolist() == ["2"]



def test_labels_with_a_decimal_comma_read_as_their_numbers(tmp_path):
    # A European locale's semicolon CSV writes 1,0 and 0,0; they were refused as "not 0 or 1". 1,000 stays refused.
    path = write(tmp_path / "review.csv", 'id;title;abstract;included\n1;A;x;1,0\n2;B;y;-1,00\n3;C;z;0,0\n4;D;w;1,00\n')
    corpus = load_partly_screened(path)
    assert corpus.train["label"].tolist() == [1.0, 0.0, 1.0] and corpus.test["id"].tolist() == ["2"]
    path = write(tmp_path / "thousand.csv", 'id;title;abstract;included\n1;A;x;1,000\n2;B;y;0\n')
    assert "label '1,000' is not 0 or 1" in error_of(load_corpus, path)

def test_zoteros_abstract_note_is_read_and_an_abstract_column_of_another_name_is_pointed_to(tmp_path):
    # Zotero's CSV export: "Title", "Abstract Note". Before, the records were silently screened on their titles alone.
    path = write(tmp_path / "zotero.csv", "Key,Title,Abstract Note,included\nK1,Aspirin,A trial of aspirin.,1\nK2,Other,Not a trial.,0\n")
    records = load_records(path)
    assert records["abstract"].tolist() == ["A trial of aspirin.", "Not a trial."]
    # Its Key (Rayyan's key) is each record's id from one export to the next: read as the ids, not record numbers,
    # so that next month's export is matched by it.
    assert records["id"].tolist() == ["K1", "K2"] and records.attrs["columns"]["id"] == "Key"
    both = write(tmp_path / "both.csv", "key,record_id,title,included\nK1,7,Aspirin,1\nK2,8,Other,0\n")
    assert load_records(both)["id"].tolist() == ["7", "8"]  # ASReview's record_id first, as before
    # A `key` of another kind (empty or repeated cells) leaves the records numbered, as before 0.3.43, with a word.
    topics = write(tmp_path / "topics.csv", "key,title,included\ntopic1,Aspirin,1\ntopic1,Other,0\n,Third,0\n")
    with pytest.warns(UserWarning, match=r"topics.csv: column 'key' is not read as the records' ids, as a Zotero or "
                                         r"Rayyan key would be: some are empty or repeated; records are numbered instead"):
        assert load_records(topics)["id"].tolist() == ["1", "2", "3"]
    path = write(tmp_path / "other.csv", "Key,Title,Abstract text,included\nK1,Aspirin,A trial of aspirin.,1\nK2,Other,Not a trial.,0\n")
    with pytest.warns(UserWarning, match=r"other.csv: no abstract column by a name .* screened on their titles alone; column "
                                         r"'Abstract text' looks like one: to read it, rename it abstract, or pass --text-cols "
                                         r"\"Title,Abstract text\" if every input file names its columns so"):
        records = load_records(path)
    assert records["abstract"].tolist() == ["", ""]


def test_a_column_of_long_text_under_another_name_is_pointed_to_where_no_abstract_is_read(tmp_path):
    # A team's `summary_text` column was left unread without a word: the run screened titles alone.
    abstract = "A randomised trial of aspirin in adults with a first stroke, over two years. " * 14  # 1,092 characters
    authors = "Smith J; Doe A; " * 10
    path = tmp_path / "team.csv"
    pd.DataFrame({"id": [1, 2, 3], "title": ["Aspirin", "Other", "Third"], "authors": [authors] * 3,
                  "summary_text": [abstract, abstract[:900], ""], "judgement": [1, 0, 0]}).to_csv(path, index=False)
    with pytest.warns(UserWarning, match=r"team.csv: no abstract column by a name .* titles alone; column 'summary_text' "
                                         r"holds long text \(half its cells 899 characters or more\), perhaps the abstracts: "
                                         r"to read it, rename it abstract, or pass --text-cols \"title,summary_text\""):
        records = load_records(path)
    assert records["abstract"].tolist() == ["", "", ""]
    # An abstract column with every cell empty reads nothing either.
    pd.DataFrame({"id": [1, 2], "title": ["A", "B"], "abstract": ["", ""], "summary_text": [abstract, abstract],
                  "judgement": [1, 0]}).to_csv(tmp_path / "empty.csv", index=False)
    with pytest.warns(UserWarning, match=r"empty.csv: column 'abstract' is empty, so the records are screened on their "
                                         r"titles alone; column 'summary_text' holds long text"):
        load_records(tmp_path / "empty.csv")
    with warnings.catch_warnings():  # short columns, a few long notes, a label column's name, or an abstract read: nothing
        warnings.simplefilter("error")
        for name, columns in {"short.csv": {"authors": [authors, "x", "y"]}, "notes.csv": {"notes": [abstract, "", ""]},
                              "labels.csv": {"label_abstract_screening": ["1", "0", "0"]},
                              "read.csv": {"abstract": ["x", "y", "z"], "notes": [abstract] * 3}}.items():
            pd.DataFrame({"id": [1, 2, 3], "title": ["A", "B", "C"], **columns, "judgement": [1, 0, 0]}).to_csv(
                tmp_path / name, index=False)
            load_records(tmp_path / name)


def test_ris_errors_count_lines_from_one_and_an_empty_ris_asks_for_a_record_not_a_header(tmp_path):
    message = error_of(load_records, write(tmp_path / "r.ris", "ID  - 78\nTI  - A title\nER  - \n"))
    assert "on line 1: 'ID  - 78'" in message and "line 0" not in message
    message = error_of(load_records, write(tmp_path / "e.ris", ""))
    assert "e.ris: the file is empty. Give a file with at least one record (from `TY  - ` to `ER  - `)." in message


def test_a_test_file_without_the_training_file_s_abstract_column_is_warned_about(tmp_path):
    """A test.csv exported without abstracts would be scored on titles by models that learned from titles and
    abstracts: said, naming both files' columns (predict says the same of an update)."""
    (tmp_path / "train.csv").write_text("id,title,abstract,judgement\n1,A trial,x,1\n2,A mouse study,y,0\n")
    (tmp_path / "test.csv").write_text("id,title\n10,New\n11,Other\n")
    with pytest.warns(UserWarning, match=r"test.csv: text columns title, where .*train.csv has title\+abstract: its records "
                                         r"are scored on title alone"):
        load_corpus(tmp_path / "train.csv", tmp_path / "test.csv")


def test_no_title_column_offers_fixes_that_work_when_only_one_file_lacks_it(tmp_path):
    # A test file with its columns in Japanese: "--text-cols タイトル,抄録" as advised was then refused in train.csv.
    path = write(tmp_path / "test.csv", "id,タイトル,抄録\n1,A,x\n")
    message = error_of(load_records, path, ColumnSpec.from_flags(None, None, None))
    assert message.endswith("test.csv: no title column (expected one of title, primary_title, ti; found: id, タイトル, "
                            "抄録). Rename the titles' column title (and the abstracts' "
                            "abstract), or pass --text-cols TITLE,ABSTRACT if every input file names its columns so.")


def test_a_file_written_without_its_header_row_is_told_to_add_one_in_a_short_line(tmp_path):
    # A helper's finding: test.csv written with header=False was refused as "no title column (... found: 852, <a whole
    # abstract>)", 1,344 characters long.
    abstract = "Quantitative effects of a drug on the metabolism of rats. " * 10
    path = write(tmp_path / "test.csv", f"852,Quantitative effects,{abstract}\n853,Another,x\n")
    message = error_of(load_records, path, ColumnSpec.from_flags(None, None, None))
    assert message.endswith("test.csv: its first row looks like a record, not a header row naming the columns (it reads "
                            "'852', 'Quantitative effects', 'Quantitative effects of a drug on the...'). Add a header row "
                            "above it: id,title,abstract (and the label column, judgement or label_included, in a training "
                            "file), in the order of its columns.")
    assert len(message) < 400
    # a real header without a title column keeps its own message
    assert "no title column" in error_of(load_records, write(tmp_path / "other.csv", "id,name\n1,A\n"),
                                         ColumnSpec.from_flags(None, None, None))


def test_a_file_without_its_header_row_whose_first_record_is_unscreened_is_told_to_add_one(tmp_path):
    # A helper's finding: the first record's empty label cell left its column without a name, and the refusal said
    # "Name the column in the header row, or delete its data": the labels of every other row.
    path = write(tmp_path / "review.csv", "5,Stimulants and sleep,Some abstract,\n6,Methylphenidate trial,A trial,1\n")
    message = error_of(load_records, path, ColumnSpec.from_flags(None, None, None), labelled="partly")
    assert message.endswith("review.csv: its first row looks like a record, not a header row naming the columns (it reads "
                            "'5', 'Stimulants and sleep', 'Some abstract', ...). Add a header row above it: "
                            "id,title,abstract (and the label column, judgement or label_included, in a training file), "
                            "in the order of its columns.")
    # a real header with an unnamed last column keeps its own message
    named = write(tmp_path / "named.csv", "id,title,abstract,\n6,Methylphenidate trial,A trial,1\n")
    assert "column 4 has no name in the header row" in error_of(load_records, named, ColumnSpec.from_flags(None, None, None))


def test_a_label_column_that_holds_no_label_is_not_said_to_be_unused(tmp_path, caplog):
    # predict said "column 'included' is not used: ... to train on these labels ..." of an update whose column was empty.
    from screenstack.features.records.labels import say_labels_unused

    table = pd.DataFrame({"title": ["A", "B", "C", "D"], "included": ["", "-1", "'-1", "-1,00"]})
    with caplog.at_level("INFO", logger="screenstack"):
        say_labels_unused(tmp_path / "u.csv", list(table.columns), None, "why", table=table)
        assert not caplog.messages
        say_labels_unused(tmp_path / "u.csv", list(table.columns), None, "why", table=table.assign(included=["", "1", "", ""]))
    assert caplog.messages == [f"{tmp_path / 'u.csv'}: column 'included' is not used: why"]


def test_a_column_named_three_times_keeps_each_copys_cells_under_a_name_of_its_own(tmp_path):
    # The first copy keeps the name, the others get .1, .2 (as pandas names them): a third copy named .1 again
    # replaced the second's cells with its own.
    with pytest.warns(UserWarning, match="names column 'note' twice"):
        frame = read_table(write(tmp_path / "r.csv", "id,title,abstract,note,note,note\n1,A,x,first,second,third\n"))
    assert list(frame.columns) == ["id", "title", "abstract", "note", "note.1", "note.2"]
    assert frame.iloc[0].tolist() == ["1", "A", "x", "first", "second", "third"]


def test_header_commas_inside_quotes_never_outnumber_its_real_separators(tmp_path):
    # As test_header_commas_inside_quotes_do_not_decide_the_separator, with more commas inside the quoted name than
    # semicolons outside it: counted, they made a European Excel file read as comma-separated and refused.
    records = load_records(write(tmp_path / "r.csv", '"title, primary, or secondary, or other";abstract;label\nA, b;x, y;1\nC;z;0\n'),
                           ColumnSpec(text_cols=("title, primary, or secondary, or other", "abstract")))
    assert records["title"].tolist() == ["A, b", "C"] and records["abstract"].tolist() == ["x, y", "z"]


def test_columns_alike_but_for_case_are_found_by_name_in_the_first_as_the_warning_says(tmp_path):
    # The warning says a column found by its name reads the first of two spelled alike but for case: ids and titles
    # (`ids.pick_column`) must come from that one, not the later one.
    path = write(tmp_path / "r.csv", "ID,Title,abstract,id,title,label\nA1,Real title,x,9,a note,1\nA2,Other,y,9,a note,0\n")
    with pytest.warns(UserWarning, match="alike but for case"):
        records = load_records(path)
    assert records["id"].tolist() == ["A1", "A2"] and records["title"].tolist() == ["Real title", "Other"]
