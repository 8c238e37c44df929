"""PubMed's MEDLINE format (.nbib): the records of a PubMed search with their abstracts, read as records to screen."""
from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from screenstack.cli import main
from screenstack.features.errors import ScreenstackError
from screenstack.features.records.corpus import ColumnSpec, load_records
from screenstack.features.records.tables import read_table

# As PubMed writes it ("Send to: Citation manager"): a blank line first, tags padded to four characters, continuation
# lines indented by six spaces (some with a trailing space), repeated tags, a book without TI, an empty AB.
NBIB = """
PMID- 31064148
OWN - NLM
STAT- MEDLINE
TI  - Methylphenidate for adults with attention-deficit/hyperactivity disorder: a 
      randomised trial.
LID - 10.1000/xyz [doi]
AB  - BACKGROUND: Adults with ADHD were randomised.
      RESULTS: It worked.
FAU - Smith, John
AU  - Smith J
AU  - Doe J
MH  - Adult

PMID- 31064149
BTI - Handbook of ADHD
AB  -
PT  - Book

PMID- 31064150
TI  - A trial without an abstract.
"""


def write(tmp_path, name, text, newline="\n"):
    path = tmp_path / name
    data = text.encode("latin-1") if text.startswith("\xd0\xcf") else text.replace("\n", newline).encode("utf-8")
    path.write_bytes(data)
    return path


def test_a_pubmed_export_is_read_tag_by_tag(tmp_path):
    frame = read_table(write(tmp_path, "pubmed.nbib", NBIB))
    assert frame.attrs["format"] == "medline"
    assert frame["PMID"].tolist() == ["31064148", "31064149", "31064150"]
    assert frame["TI"].tolist() == ["Methylphenidate for adults with attention-deficit/hyperactivity disorder: a "
                                    "randomised trial.", "Handbook of ADHD", "A trial without an abstract."]
    assert frame["AB"].tolist() == ["BACKGROUND: Adults with ADHD were randomised. RESULTS: It worked.", "", ""]
    assert frame["AU"].tolist()[0] == "Smith J; Doe J"  # a repeated tag's values joined


def test_records_come_with_pmids_as_ids_and_ti_ab_as_text(tmp_path):
    records = load_records(write(tmp_path, "pubmed.nbib", NBIB), labelled=False)
    assert records["id"].tolist() == ["31064148", "31064149", "31064150"]
    assert records["abstract"].iloc[0].startswith("BACKGROUND") and records["title"].iloc[1] == "Handbook of ADHD"
    assert records.attrs["columns"]["id"] == "PMID" and records.attrs["columns"]["text"] == ["TI", "AB"]
    named = load_records(write(tmp_path, "flags.nbib", NBIB), ColumnSpec.from_flags(None, "title,abstract", None),
                         labelled=False)  # a field's name means its tag
    assert named["title"].tolist() == records["title"].tolist()


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_pubmed_format_saved_as_txt_is_found_by_its_first_line(tmp_path, newline):
    # PubMed's "Save", Format: PubMed writes pubmed-<query>-set.txt: read as MEDLINE, not as a CSV of one column
    frame = read_table(write(tmp_path, "pubmed-adhd-set.txt", "\ufeff" + NBIB, newline))
    assert frame.attrs["format"] == "medline" and len(frame) == 3


@pytest.mark.parametrize("joined", [
    "PMID- 1\nTI  - First\nPMID- 2\nTI  - Second\n",  # no blank line between the files
    "PMID- 1\nTI  - First\nAB  - One.PMID- 2\nTI  - Second\n",  # the first file without its last newline
    "PMID- 1\nTI  - First\nAB  - One.\ufeffPMID- 2\nTI  - Second\n",  # and the second with its byte-order mark
])
def test_files_joined_with_cat_are_read_record_by_record(tmp_path, joined):
    # Without its last newline, the first file's last line took the next PMID line: one record of both (a helper's)
    frame = read_table(write(tmp_path, "joined.nbib", joined))
    assert frame["PMID"].tolist() == ["1", "2"] and frame["TI"].tolist() == ["First", "Second"]
    assert frame.get("AB", pd.Series([""]))[0] in ("", "One.")


def test_a_line_of_spaces_inside_a_record_is_passed_over(tmp_path):
    frame = read_table(write(tmp_path, "spaces.nbib", "PMID- 1\nTI  - A\n      \nAB  - one\n   \n      two\n"))
    assert frame["TI"].tolist() == ["A"] and frame["AB"].tolist() == ["one two"]


def test_stand_ins_for_a_missing_title_or_abstract(tmp_path):
    # A title only "[Not Available]." (PubMed's, for some non-English articles) is its original-language title TT;
    # a missing AB is the other abstract OAB; a book's title BTI where it has no TI.
    text = ("PMID- 1\nTI  - [Not Available].\nTT  - Essai randomise.\nOAB - Un essai.\n\n"
            "PMID- 2\nBTI - A handbook\nAB  - Its abstract.\n\nPMID- 3\nTI  - Own title.\nTT  - Titre.\n")
    frame = read_table(write(tmp_path, "stand-ins.nbib", text))
    assert frame["TI"].tolist() == ["Essai randomise.", "A handbook", "Own title."]
    assert frame["AB"].tolist() == ["Un essai.", "Its abstract.", ""]


def test_a_pmid_at_the_end_of_an_abstract_s_wrapped_line_is_text_not_a_record(tmp_path):
    # A helper's: split there, it made a record of id "23456789 ) with new methods." and cut the abstract short.
    text = ("PMID- 90000001\nTI  - First trial\nAB  - We re-analysed the cohort of our earlier report\n"
            "      (doi:10.1/x;PMID- 23456789\n      ) with new methods.\n\nPMID- 90000002\nTI  - Second trial\n")
    frame = read_table(write(tmp_path, "wrapped.nbib", text))
    assert frame["PMID"].tolist() == ["90000001", "90000002"]
    assert frame["AB"].iloc[0].endswith("(doi:10.1/x;PMID- 23456789 ) with new methods.")


def test_lines_are_counted_as_in_the_file_after_files_joined_with_cat(tmp_path):
    path = write(tmp_path, "joined.nbib", "PMID- 1\nTI  - First\nAB  - One. \x1aPMID- 2\nTI  - Second\nbad line here\n")
    with pytest.raises(ScreenstackError, match=r"line 5 is neither a tag"):
        read_table(path)
    frame = read_table(write(tmp_path, "fine.nbib", "PMID- 1\nTI  - First\nAB  - One. \x1aPMID- 2\nTI  - Second\n"))
    assert frame["AB"].tolist() == ["One.", ""] and frame["PMID"].tolist() == ["1", "2"]


def test_crlf_saved_again_in_text_mode_is_one_line_ending(tmp_path):
    frame = read_table(write(tmp_path, "crcrlf.nbib", NBIB, "\r\r\n"))
    assert frame["PMID"].tolist() == ["31064148", "31064149", "31064150"] and frame["AU"].iloc[0] == "Smith J; Doe J"


@pytest.mark.parametrize("name, text", [
    ("pubmed-set.txt", "PMID-  123\nTI  - Two spaces after the dash, a title, with commas\n"),
    ("ctrl-z.nbib", "PMID- 123\nTI  - An old export, a title, with commas\x1a"),
])
def test_pubmed_files_in_other_shapes(tmp_path, name, text):
    frame = read_table(write(tmp_path, name, text))
    assert frame.attrs["format"] == "medline" and frame["TI"].str.endswith("with commas").all()


@pytest.mark.parametrize("text, words", [
    ("PMID- 1\nTI  - A\nnot a tag\n", "line 3 is neither a tag"),
    ("PMID- 1\nTI  - A\nAB - one space\n", "line 3 is neither a tag"),  # the dash not in column five
    ("PMID- 1\nTI  - A\n\nAB  - B\n", r"line 4: a record starts with 'AB', not `PMID- `"),  # a blank line in a record
    ("PMID- 1\nTI  - A\nTI  - B\n", "line 3: a second TI line in the record from line 1"),  # not a list: "A; B"
    ("<1. >\nVN  - Ovid Technologies\nDB  - Embase\n", "is Ovid's citation text"),
    # ERIC's: no PMID tells where a record starts (a helper's were merged or split silently)
    ("\r\nOWN - ERIC\r\nTI  - Reading\r\nISSN - EISSN-2375-5636\r\n", "is ERIC's export .* Export the records from ERIC as RIS"),
    ("PMID- 1\nTI  - A\n\nOWN - ERIC\nTI  - B\n", r"line 4: a record starts with 'OWN', not `PMID- `"),
    ("OWN - NLM\nPMID- 1\nTI  - A\n", r"line 1: 'OWN - NLM' is no `PMID- ` line"),
    ("PMID- abc\nTI  - A\n", "line 1: PMID 'abc' is not a PubMed id"),
    ('<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet>\n', "is XML"),
    ("id,title,abstract\n1,A,B\n", r"line 1: 'id,title,abstract' is no `PMID- ` line, .* not PubMed's MEDLINE format"),
    ("TY  - JOUR\nTI  - A\nER  - \n", r"line 1: 'TY  - JOUR' is no `PMID- ` line"),
    ("\xd0\xcf\x11\xe0" + "x" * 20, "is an old-style Excel .xls workbook, not MEDLINE text"),
    ("\n\n", "no MEDLINE records"),
    ("", r"the file is empty. Give a file with at least one record \(from a `PMID- ` line\)"),
])
def test_a_damaged_export_is_refused_naming_the_line(tmp_path, text, words):
    path = write(tmp_path, "bad.nbib", text)
    with pytest.raises(ScreenstackError, match=words) as refused:
        read_table(path)
    assert str(refused.value).startswith(f"{path}: ")


def test_bytes_that_are_not_utf8_are_refused_naming_the_line(tmp_path):
    path = tmp_path / "latin1.nbib"
    path.write_bytes("PMID- 1\nTI  - Caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ScreenstackError, match=r"latin1.nbib: line 2 is not valid UTF-8"):
        read_table(path)


def test_as_labelled_records_it_is_refused_with_where_it_goes(tmp_path, capsys):
    path = write(tmp_path, "pubmed.nbib", NBIB + "\nPMID- 4\nAB  - [No abstract available]\n")
    assert main(["run", "--data", str(path), "--learners", "tfidf-svm", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err  # said first: no warning about a record's text before it
    assert "pubmed.nbib: PubMed's MEDLINE format has no label tag" in err[0] and "predict --data" in err[0]
    assert not (tmp_path / "out").exists()


def as_medline(frame: pd.DataFrame) -> str:
    """`frame`'s records (record_id, title, abstract) as PubMed writes them, lines wrapped at 80 characters."""
    def field(tag: str, value: str) -> list[str]:
        lines = textwrap.wrap(value, 80) or [""]
        return [f"{tag:<4}- {lines[0]}".rstrip()] + [f"      {line}" for line in lines[1:]]

    return "".join("\n" + "\n".join(["PMID- " + row.record_id, "OWN - NLM", *field("TI", row.title),
                                     *field("AB", row.abstract), "AU  - Smith J"]) + "\n"
                   for row in frame.itertuples())


def test_a_pubmed_search_screened_as_test_file_gets_the_csv_s_submission(tmp_path, tiny_corpus_files, capsys):
    # The same records as CSV and as PubMed's export: the same ids, texts, scores and submission, byte for byte.
    train, test = tiny_corpus_files
    records = pd.read_csv(test, dtype=str, keep_default_na=False)
    for column in ("title", "abstract"):  # MEDLINE wraps lines at spaces: one space between words in both files
        records[column] = [" ".join(text.split()) for text in records[column]]
    records.to_csv(test, index=False)
    nbib = write(tmp_path, "search.nbib", as_medline(records))
    flags = ["--learners", "tfidf-svm", "--folds", "2"]
    for name, path in (("csv", test), ("nbib", nbib)):
        assert main(["-q", "run", "--train", str(train), "--test", str(path), "--out", str(tmp_path / name), *flags]) == 0
    assert (tmp_path / "nbib" / "submission.csv").read_bytes() == (tmp_path / "csv" / "submission.csv").read_bytes()
    ids = pd.read_csv(tmp_path / "nbib" / "submission.csv", header=None, dtype=str)[0]
    assert ids.tolist() == records["record_id"].tolist()
    out = tmp_path / "update"
    assert main(["-q", "predict", "--run", str(tmp_path / "csv"), "--data", str(nbib), "--out", str(out)]) == 0
    ranked = pd.read_csv(out / "ranked.csv", dtype=str, encoding="utf-8-sig")
    assert sorted(ranked["id"]) == sorted(records["record_id"])
    # Real PMIDs beside the run's record numbers: no record can be recognised by its id, and the warning says why
    pubmed = write(tmp_path, "pubmed.nbib", as_medline(records.assign(record_id=[str(40000000 + i) for i in range(len(records))])))
    with pytest.warns(UserWarning, match="A MEDLINE file's ids are its PMIDs") as said:  # record_id is no PubMed id
        assert main(["-q", "predict", "--run", str(tmp_path / "csv"), "--data", str(pubmed), "--out", str(tmp_path / "p")]) == 0
    assert not any("Pass --id-col naming the file's column" in str(w.message) for w in said)  # none to name


def test_an_update_holding_screened_records_under_pmids_is_matched_and_said_without_a_warning(tmp_path, tiny_corpus_files,
                                                                                              caplog):
    # The run's ids are record_id, the update's PMIDs: where they hold the same ids, records already screened are
    # left out, and the difference of columns is an info line (it was a warning saying "10 of 110 did").
    import json
    import warnings

    train, test = tiny_corpus_files
    out = tmp_path / "run"
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out),
                 "--learners", "tfidf-svm", "--folds", "2"]) == 0
    screened = pd.read_csv(train, dtype=str, keep_default_na=False).iloc[:10]
    new = pd.read_csv(test, dtype=str, keep_default_na=False)
    update = write(tmp_path, "update.nbib", as_medline(pd.concat([screened, new])))
    with caplog.at_level("INFO", logger="screenstack"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["predict", "--run", str(out), "--data", str(update), "--out", str(tmp_path / "update")]) == 0
    assert not [w for w in caught if "ids read from column" in str(w.message)]
    assert "ids read from column 'PMID', not the run's 'record_id'" in caplog.text and "(10 of 110 did)" in caplog.text
    assert json.loads((tmp_path / "update" / "summary.json").read_text())["left_out_screened"] == 10


def test_id_col_names_the_pmid_tag_in_any_case_beside_a_csv_with_its_own_ids(tmp_path, tiny_corpus_files):
    # `--id-col pmid`: the MEDLINE test file's PMID; the training file, without such a column, keeps its record_id
    # (it was "train.csv: no column 'pmid'", where `--id-col PMID` worked).
    from screenstack.features.records.corpus import load_corpus

    train, test = tiny_corpus_files
    nbib = write(tmp_path, "search.nbib", as_medline(pd.read_csv(test, dtype=str, keep_default_na=False)))
    for typed in ("PMID", "pmid"):
        corpus = load_corpus(train, nbib, ColumnSpec(id_col=typed))
        assert corpus.test["id"].tolist() == pd.read_csv(test, dtype=str)["record_id"].tolist()
        assert corpus.train["id"].tolist() == pd.read_csv(train, dtype=str)["record_id"].tolist()


def test_a_csv_with_pubmed_ids_as_ids_beside_a_pubmed_search_and_its_update(tmp_path, tiny_corpus_files, caplog):
    # README's advice for PubMed updates: --id-col naming the file's PubMed ids. Beside a MEDLINE --test it was
    # "search.nbib: no column 'pubmedID'" (the MEDLINE file's own PMID not looked for); and predict on an update of new
    # records alone warned that the run needed PubMed ids, which it had.
    import json
    import warnings

    train, test = tiny_corpus_files
    labelled = pd.read_csv(train, dtype=str, keep_default_na=False)
    labelled.insert(1, "pubmedID", [str(30000000 + i) for i in range(len(labelled))])
    labelled.to_csv(train, index=False)
    search = pd.read_csv(test, dtype=str, keep_default_na=False)
    search["record_id"] = [str(31000000 + i) for i in range(len(search))]
    nbib = write(tmp_path, "search.nbib", as_medline(search.iloc[:60]))
    out = tmp_path / "run"
    assert main(["-q", "run", "--train", str(train), "--test", str(nbib), "--id-col", "pubmedID", "--out", str(out),
                 "--learners", "tfidf-svm", "--folds", "2"]) == 0
    ranked = pd.read_csv(out / "ranked.csv", dtype=str, encoding="utf-8-sig")
    assert sorted(ranked["id"]) == sorted(search["record_id"].iloc[:60])
    # The search as CSV, its PubMed ids in pubmedID: the run's id column is pubmedID, the update's PMID
    search.rename(columns={"record_id": "pubmedID"}).iloc[:60].to_csv(tmp_path / "search.csv", index=False)
    out = tmp_path / "run-csv"
    assert main(["-q", "run", "--train", str(train), "--test", str(tmp_path / "search.csv"), "--id-col", "pubmedID",
                 "--out", str(out), "--learners", "tfidf-svm", "--folds", "2"]) == 0
    update = write(tmp_path, "update.nbib", as_medline(search.iloc[60:]))  # new records alone: no id matches
    with caplog.at_level("INFO", logger="screenstack"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["predict", "--run", str(out), "--data", str(update), "--out", str(tmp_path / "update")]) == 0
    assert not [w for w in caught if "ids read from column" in str(w.message)]
    assert "ids read from column 'PMID', not the run's 'pubmedID'" in caplog.text and "needs its PubMed ids" not in caplog.text
    assert json.loads((tmp_path / "update" / "summary.json").read_text())["n_records"] == 40
    # The same records as a CSV of 9-digit accession numbers under `id`: long numbers too, but no PMIDs (helper-139)
    search.iloc[60:].assign(id=[str(620100000 + i) for i in range(40)]).drop(columns=["record_id"]).to_csv(
        tmp_path / "embase.csv", index=False)
    with pytest.warns(UserWarning, match=r"ids read from column 'id', not the run's 'pubmedID'.*\(0 of 40 did\)"):
        assert main(["-q", "predict", "--run", str(out), "--data", str(tmp_path / "embase.csv"), "--out",
                     str(tmp_path / "embase")]) == 0


def test_an_id_col_two_columns_match_but_for_case_is_refused_beside_a_test_file_too(tmp_path, tiny_corpus_files, capsys):
    # With --data it was refused; with --train/--test the training file fell back to record_id silently (helper-139).
    train, test = tiny_corpus_files
    both = pd.read_csv(train, dtype=str, keep_default_na=False)
    both.insert(1, "PMID", [str(30000000 + i) for i in range(len(both))])
    both.insert(2, "pmid", both["PMID"])
    both.to_csv(train, index=False)
    nbib = write(tmp_path, "search.nbib", as_medline(pd.read_csv(test, dtype=str, keep_default_na=False)))
    assert main(["run", "--train", str(train), "--test", str(nbib), "--id-col", "Pmid", "--learners", "tfidf-svm",
                 "--out", str(tmp_path / "out")]) == 2
    assert "--id-col 'Pmid': no column spelled so, and 2 spelled so but for case ('PMID', 'pmid')" in capsys.readouterr().err


def test_an_empty_pubmed_id_says_how_records_from_elsewhere_get_one(tmp_path, tiny_corpus_files, capsys):
    train, test = tiny_corpus_files
    labelled = pd.read_csv(train, dtype=str, keep_default_na=False)
    labelled.insert(1, "pubmedID", [str(30000000 + i) if i % 10 else "" for i in range(len(labelled))])
    labelled.to_csv(train, index=False)
    for column, said in (("pubmedID", True), ("record_id", False)):
        labelled.assign(record_id=labelled["pubmedID"] if column == "record_id" else labelled["record_id"]).to_csv(
            tmp_path / "data.csv", index=False)
        assert main(["run", "--data", str(tmp_path / "data.csv"), "--id-col", column, "--learners", "tfidf-svm",
                     "--out", str(tmp_path / "out")]) == 2
        error = capsys.readouterr().err
        assert f"column {column!r}: empty id (20 such)" in error and ("such as embase-17" in error) == said


def test_a_book_without_a_title_is_titled_by_its_book_title_before_its_original_language_title(tmp_path):
    # medline.STAND_INS: BTI first, then TT. Swapped, a book chapter without TI read its title in the original language.
    path = tmp_path / "book.nbib"
    path.write_text("PMID- 1\nBTI - Handbook of ADHD\nTT  - Handbuch der ADHS\nAB  - A chapter.\n")
    assert read_table(path)["TI"].tolist() == ["Handbook of ADHD"]
