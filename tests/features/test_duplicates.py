"""Copies of a record under another id are said, once per kind, naming the first pair: a reviewer dedupes before
screening, and a paper labelled both ways teaches both."""
from __future__ import annotations

import html
import json
import unicodedata
import warnings

import numpy as np
import pandas as pd
import pytest

from screenstack.features.records.corpus import load_corpus, load_partly_screened


def _write(path, rows):
    pd.DataFrame(rows, columns=["id", "title", "abstract", "judgement"][: len(rows[0])]).to_csv(path, index=False)
    return path


def _train_rows():
    return [(f"t{i}", f"Paper {i} on topic {i % 7}", f"Abstract of paper {i}.", int(i % 5 == 0)) for i in range(40)]


def _said(caught) -> list[str]:
    return [str(w.message) for w in caught if "title and abstract" in str(w.message) or "title(s) and abstract(s)" in str(w.message)]


def test_copies_across_and_within_the_files_are_said_with_their_first_ids(tmp_path):
    # t1 is excluded, t0 included: a copy of each, and a second copy of t0 labelled otherwise
    train = _train_rows() + [("t1-again", "paper 1 ON topic 1", "Abstract of paper 1", 0),
                             ("t0-again", "PAPER 0 on topic 0!", "Abstract of  paper 0", 0)]
    test = [(f"s{i}", f"New paper {i}", f"New abstract {i}.") for i in range(20)]
    test += [("s-copy", "Paper 3 on topic 3", "Abstract of paper 3."), ("s1-again", "New paper 1", "New abstract 1."),
             ("s2-again", "new paper 2", "new abstract 2")]
    with pytest.warns(UserWarning) as caught:
        load_corpus(_write(tmp_path / "train.csv", train), _write(tmp_path / "test.csv", test))
    said = _said(caught)
    assert len(said) == 3
    assert said[0].startswith(f"{tmp_path / 'train.csv'}: 1 title(s) and abstract(s) labelled both included and excluded "
                              "under different ids (first: id 't0' included, id 't0-again' excluded)")
    assert said[1].startswith(f"{tmp_path / 'test.csv'}: 1 record(s) to screen have the title and abstract of a labelled "
                              "record (first: id 's-copy', as labelled id 't3', excluded)")
    assert said[2].startswith(f"{tmp_path / 'test.csv'}: 2 record(s) to screen repeat another's title and abstract "
                              "(first: id 's1-again', as id 's1')")


def test_records_without_an_abstract_and_distinct_records_are_not_called_copies(tmp_path):
    # A bare "Correction" or "Reply" is no copy of another; nor is a title whose words run on into the abstract.
    train = _train_rows() + [("e1", "", "", 0), ("e2", "", "", 1), ("c1", "Correction", "", 1), ("c2", "Correction", "", 0),
                             ("j1", "A B", "C", 0)]
    test = [(f"s{i}", f"New paper {i}", f"New abstract {i}.") for i in range(20)] + [("e3", "", ""), ("r1", "Reply", ""),
                                                                                        ("r2", "Reply", ""), ("j2", "A", "B C")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_corpus(_write(tmp_path / "train.csv", train), _write(tmp_path / "test.csv", test))
    assert _said(caught) == []


def test_a_partly_screened_file_names_an_unscreened_copy_of_a_screened_record(tmp_path):
    rows = [(*row[:3], str(row[3])) for row in _train_rows()] + [("u1", "Paper 5 on topic 5", "Abstract of paper 5.", ""),
                                                                 ("u2", "PAPER 5 on topic 5", "Abstract of paper 5", "")]
    with pytest.warns(UserWarning) as caught:
        load_partly_screened(_write(tmp_path / "data.csv", rows))
    # Both name the labelled record, as ranked.csv does; neither is "a repeat of another record to screen".
    assert [m[m.index("data.csv"):] for m in _said(caught)] == [
        "data.csv: 2 record(s) to screen have the title and abstract of a labelled record (first: id 'u1', as labelled id "
        "'t5', included): probably the same paper under another id, already screened. They are scored and listed like the "
        "others; ranked.csv's copy_of and copy_label name the labelled record."]


def test_the_warnings_given_reading_the_files_are_kept_in_the_summary_and_the_report(tmp_path):
    # The console shows them before the long work; a reviewer reading the report an hour later must see them too.
    from screenstack.cli import main

    test = [(f"s{i}", f"New paper {i}", f"New abstract {i}.") for i in range(20)]
    test += [("s-copy", "Paper 3 on topic 3", "Abstract of paper 3.")]
    train, test_file = _write(tmp_path / "train.csv", _train_rows()), _write(tmp_path / "test.csv", test)
    with pytest.warns(UserWarning, match="s-copy"):
        assert main(["-q", "run", "--train", str(train), "--test", str(test_file), "--learners", "tfidf-logreg",
                     "--folds", "3", "--out", str(tmp_path / "run")]) == 0
    said = json.loads((tmp_path / "run" / "summary.json").read_text())["input_warnings"]
    assert len(said) == 1 and said[0].startswith(f"{test_file}: 1 record(s) to screen have the title and abstract of a "
                                                 "labelled record (first: id 's-copy', as labelled id 't3', excluded)")
    report = (tmp_path / "run" / "report.html").read_text()
    assert f"<li>reading the records: {html.escape(said[0])}</li>" in report
    # Stacked again alone, the records are not read: what was said reading them stays in the summary.
    assert main(["-q", "stack", "--out", str(tmp_path / "run"), "--max-shift", "1"]) == 0
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["input_warnings"] == said


def test_a_run_again_whose_files_give_other_warnings_for_the_same_records_says_them_as_they_are_now(tmp_path, caplog):
    # A blank line added to the test file moves the row a warning names; records, learners and stack are as they were.
    from screenstack.cli import main

    test = [(f"s{i}", f"New paper {i}", f"New abstract {i}.") for i in range(20)] + [("s-empty", "", "")]
    train, test_file = _write(tmp_path / "train.csv", _train_rows()), _write(tmp_path / "test.csv", test)
    command = ["-q", "run", "--train", str(train), "--test", str(test_file), "--learners", "tfidf-logreg", "--folds", "3",
               "--out", str(tmp_path / "run")]
    with pytest.warns(UserWarning, match="row 22"):
        assert main(command) == 0
    header, *rows = test_file.read_text().splitlines(keepends=True)
    test_file.write_text(header + "\n" + "".join(rows))
    with pytest.warns(UserWarning, match="row 23"), caplog.at_level("INFO", logger="screenstack"):
        assert main(["fit-learners", *command[2:]]) == 0  # the stage alone: it says the stack keeps the old warnings
    assert any("gave other warnings than when the stack" in m and "screenstack stack --out" in m for m in caplog.messages)
    with pytest.warns(UserWarning, match="row 23"):
        assert main(command) == 0
    said = json.loads((tmp_path / "run" / "summary.json").read_text())["input_warnings"]
    assert [line for line in said if "neither title nor abstract" in line] == [
        f"{test_file}: 1 record(s) have neither title nor abstract (first: row 23)."]
    assert "(first: row 23)" in (tmp_path / "run" / "report.html").read_text()


def test_texts_are_compared_by_their_words_and_signs_alone_in_any_script():
    # The fast path for ASCII texts must read them as the rule for any text does: letters, digits and signs, case-folded.
    from screenstack.features.records.duplicates import _normal, _words

    rng = np.random.default_rng(0)
    alphabet = list("aZ09 _-.,;:!?()[]'\"\t\n/+<>=") + ["é", "ß", "Ω", "—", "…", "µ", "²", "Ⅻ", "中", "≥", "\u00ad"]
    texts = ["".join(rng.choice(alphabet, size=rng.integers(0, 30))) for _ in range(2000)]
    ascii_texts = [t for t in texts if t.isascii() and "<" not in t]
    assert len(ascii_texts) > 100
    assert _normal(pd.Series(ascii_texts)).tolist() == [_words(t.casefold()) for t in ascii_texts]
    rule = [_words(unicodedata.normalize("NFKC", t.replace("\u00ad", "")).casefold()) for t in texts if "<" not in t]
    assert _normal(pd.Series([t for t in texts if "<" not in t])).tolist() == rule
    assert _normal(pd.Series(["Straße"]))[0] == _normal(pd.Series(["STRASSE"]))[0] == "strasse"
    # One title as exports write it: composed or decomposed accents, HTML markup and entities, a ligature.
    forms = ["Étude randomisée du méthylphénidate", unicodedata.normalize("NFD", "Étude randomisée du méthylphénidate"),
             "<i>Étude</i> randomis&eacute;e du m&#233;thylph&eacute;nidate", "ÉTUDE RANDOMISÉE DU MÉTHYLPHÉNIDATE",
             "Étude random\u00adisée du méthyl&amp;shy;phénidate".replace("&amp;shy;", "")]
    assert len(set(_normal(pd.Series(forms)))) == 1
    same = [("Water intake (H<sub>2</sub>O)", "Water intake (H2O)"), ("Ca<sup>2+</sup> influx", "Ca2+ influx"),
            ("Low dose<br/>trial", "Low dose trial"), ("A &amp;amp; B", "A & B"), ("Low-dose clozapine.", "low dose CLOZAPINE"),
            # XML abstracts from Crossref or Scopus: tags with a namespace, comments
            ("<jats:p>Low dose <jats:italic>tri</jats:italic>al</jats:p>", "Low dose trial"), ("<!-- x -->Low dose trial", "Low dose trial")]
    for a, b in same:
        assert _normal(pd.Series([a]))[0] == _normal(pd.Series([b]))[0], (a, b)
    # Signs that change what a title says are kept, and what lies between comparison signs counts.
    differ = [("CD4+ T-cell counts", "CD4- T-cell counts"), ("patients aged <18 years", "patients aged ≥18 years"),
              ("aged <6 and >12 years", "aged <3 and >12 years"), ("n&lt;5 vs n&gt;9", "n<7 vs n>9")]
    for a, b in differ:
        assert _normal(pd.Series([a]))[0] != _normal(pd.Series([b]))[0], (a, b)
