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
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
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
    # PubMed's "Save: Format PubMed" writes pubmed-<query>-set.txt: read as MEDLINE, not as a CSV of one column
    frame = read_table(write(tmp_path, "pubmed-adhd-set.txt", "\ufeff" + NBIB, newline))
    assert frame.attrs["format"] == "medline" and len(frame) == 3


def test_files_joined_without_a_blank_line_between_them_are_two_records(tmp_path):
    frame = read_table(write(tmp_path, "joined.nbib", "PMID- 1\nTI  - First\nPMID- 2\nTI  - Second\n"))
    assert frame["PMID"].tolist() == ["1", "2"] and frame["TI"].tolist() == ["First", "Second"]


@pytest.mark.parametrize("text, words", [
    ("PMID- 1\nTI  - A\nnot a tag\n", "line 3 is neither a tag"),
    ("PMID- 1\nTI  - A\nAB - one space\n", "line 3 is neither a tag"),  # the dash not in column five
    ("PMID- 1\nTI  - A\n\nTI  - B\n", "line 4: a record starts with 'TI', not `PMID- `"),
    ("\n\n", "no MEDLINE records"),
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
    path = write(tmp_path, "pubmed.nbib", NBIB)
    assert main(["run", "--data", str(path), "--learners", "tfidf-svm", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "pubmed.nbib: PubMed's MEDLINE format has no label tag" in err and "predict --data" in err
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
    with pytest.warns(UserWarning, match="A MEDLINE file's ids are its PMIDs") as said:  # record_id is no PubMed id
        assert main(["-q", "predict", "--run", str(tmp_path / "csv"), "--data", str(nbib), "--out", str(out)]) == 0
    assert not any("Pass --id-col naming the file's column" in str(w.message) for w in said)  # none to name
    ranked = pd.read_csv(out / "ranked.csv", dtype=str, encoding="utf-8-sig")
    assert sorted(ranked["id"]) == sorted(records["record_id"])
