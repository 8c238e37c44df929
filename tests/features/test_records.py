"""The records to screen kept in OUT (`records.parquet`), and `--data` through the commands that write it."""
from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from screenstack.cli import main
from screenstack.features.artifacts.records import read_screening_records, write_screening_records
from screenstack.features.artifacts.damage import DamagedArtifact
from screenstack.features.artifacts.runfolder import RunFolder
from screenstack.features.errors import ScreenstackError
from screenstack.features.records.corpus import Corpus, load_corpus, load_partly_screened
from screenstack.learners.fit import fit_learners

# The dataset slice holds records without text; the corpus tests cover that warning.
pytestmark = pytest.mark.filterwarnings("ignore:.*neither title nor abstract")


@pytest.fixture
def review_file(tmp_path, tiny_corpus_files):
    """A reviewer's partly screened file: the 300 tiny-corpus records, every third test one labelled -1, the rest empty."""
    train, test = (pd.read_csv(path, dtype=str, keep_default_na=False) for path in tiny_corpus_files)
    test["label_included"] = ["-1" if i % 3 == 0 else "" for i in range(len(test))]
    frame = pd.concat([train, test], ignore_index=True).sample(frac=1.0, random_state=0)  # screened records anywhere
    frame.insert(2, "doi", [f"10.1000/{i:04d}" for i in range(len(frame))])
    frame["year"] = "2001"
    path = tmp_path / "review.csv"
    frame.to_csv(path, index=False)
    return path


def test_an_export_of_many_columns_keeps_them_all_without_a_warning_each(tmp_path, review_file):
    # Added one at a time, each column past about 100 printed pandas' "highly fragmented" warning (a Zotero export
    # has 87 columns; a wide one gave thousands of lines).
    import warnings

    file = pd.read_csv(review_file, dtype=str, keep_default_na=False)
    wide = pd.concat([file, pd.DataFrame({f"extra{i}": [str(i)] * len(file) for i in range(150)})], axis=1)
    wide.to_csv(review_file, index=False)
    corpus = load_partly_screened(review_file)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas' PerformanceWarning among them
        write_screening_records(tmp_path / "run", corpus)
    records = read_screening_records(tmp_path / "run")
    assert records.columns.tolist()[7:] == [f"input:{c}" for c in wide.columns]
    assert records["input:extra149"].eq("149").all() and records["id"].tolist() == corpus.test["id"].tolist()


def test_fit_learners_keeps_the_records_to_screen_with_the_files_columns(tmp_path, review_file):
    out = tmp_path / "run"
    assert main(["-q", "fit-learners", "--data", str(review_file), "--learners", "tfidf-logreg", "--folds", "3",
                 "--out", str(out)]) == 0
    records = read_screening_records(out)
    corpus = load_partly_screened(review_file)
    file = pd.read_csv(review_file, dtype=str, keep_default_na=False)
    unscreened = file[file["label_included"].isin(["", "-1"])]
    assert records.columns.tolist() == ["id", "title", "has_text", "has_abstract", "copy_of", "copy_label", "text_key"] + [f"input:{c}" for c in file.columns]
    assert records["id"].tolist() == corpus.test["id"].tolist() == unscreened["record_id"].tolist(), "test order: file order"
    assert records["input:doi"].tolist() == unscreened["doi"].tolist() and set(records["input:year"]) == {"2001"}
    assert records["input:label_included"].isin(["", "-1"]).all()
    scored = pd.read_parquet(out / "learners" / "tfidf-logreg" / "test.parquet")
    assert scored["id"].tolist() == records["id"].tolist(), "one row per scored record, same order"


def test_identical_rerun_keeps_the_version_and_new_records_replace_it(tmp_path, review_file):
    out, corpus = tmp_path / "run", load_partly_screened(review_file)
    write_screening_records(out, corpus)
    version, manifest = RunFolder(out).version("records"), RunFolder(out).manifest_path("records")
    written = (out / "records.parquet").read_bytes()
    stamp = manifest.stat().st_mtime_ns
    write_screening_records(out, load_partly_screened(review_file))
    assert RunFolder(out).version("records") == version and manifest.stat().st_mtime_ns == stamp, "not committed again"
    frame = pd.read_csv(review_file, dtype=str, keep_default_na=False)
    frame.loc[frame["label_included"] == "-1", "year"] = "2002"
    frame.to_csv(review_file, index=False)
    write_screening_records(out, load_partly_screened(review_file))
    assert RunFolder(out).version("records") != version
    assert set(read_screening_records(out)["input:year"]) == {"2001", "2002"}
    frame["year"] = "2001"
    frame.to_csv(review_file, index=False)
    write_screening_records(out, load_partly_screened(review_file))
    assert (out / "records.parquet").read_bytes() == written, "same inputs, byte-identical file"


def test_damaged_records_file_is_refused_by_name_and_rewritten(tmp_path, review_file):
    out, corpus = tmp_path / "run", load_partly_screened(review_file)
    assert read_screening_records(out) is None, "a run folder without records (made before them) reads as None"
    path = write_screening_records(out, corpus)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DamagedArtifact) as info:
        read_screening_records(out)
    assert str(path) in str(info.value) and "screenstack fit-learners" in str(info.value)
    with pytest.warns(UserWarning, match=r"records\.parquet: damaged \(.*\): writing records\.parquet again"):
        write_screening_records(out, corpus)
    assert read_screening_records(out)["id"].tolist() == corpus.test["id"].tolist()
    path.unlink()  # deleted by hand: said as missing, not damaged
    with pytest.raises(DamagedArtifact, match=r"records\.parquet: missing \(moved or deleted\)\. Rerun "):
        read_screening_records(out)
    with pytest.warns(UserWarning, match=r"records\.parquet: missing \(moved or deleted\): writing records\.parquet again"):
        write_screening_records(out, corpus)


def test_a_refused_fit_leaves_the_records_in_place(tmp_path, review_file, tiny_corpus_files):
    out = tmp_path / "run"
    corpus = load_partly_screened(review_file)
    fit_learners(corpus, out, ("tfidf-logreg",), progress=False)
    before = (out / "records.parquet").read_bytes()
    other = load_partly_screened(tiny_corpus_files[0])  # other training records: the learner in OUT is refused
    with pytest.raises(ScreenstackError, match="another configuration"):
        fit_learners(other, out, ("tfidf-logreg",), progress=False)
    assert (out / "records.parquet").read_bytes() == before


def test_run_with_data_where_every_record_is_labelled(tmp_path, tiny_corpus_files, caplog):
    out = tmp_path / "run"
    with caplog.at_level("INFO", logger="screenstack"):
        code = main(["run", "--data", str(tiny_corpus_files[0]), "--learners", "tfidf-logreg", "--folds", "3", "--out", str(out)])
    assert code == 0
    assert "every record is labelled: the models are fitted, but there is nothing to rank" in caplog.text
    assert (out / "summary.json").is_file() and (out / "submission.csv").read_text() == ""
    assert read_screening_records(out).empty
    config = tomllib.loads((out / "config.toml").read_text())
    assert config["data"] == str(tiny_corpus_files[0].resolve()) and "train" not in config


def test_records_of_a_test_file_and_of_a_corpus_built_in_code(tmp_path, tiny_corpus_files):
    corpus = load_corpus(*tiny_corpus_files)
    write_screening_records(tmp_path / "a", corpus)
    records = read_screening_records(tmp_path / "a")
    assert records.columns.tolist() == ["id", "title", "has_text", "has_abstract", "copy_of", "copy_label", "text_key", "input:record_id", "input:title",
                                        "input:abstract"]
    assert records["id"].tolist() == corpus.test["id"].tolist() == records["input:record_id"].tolist()
    write_screening_records(tmp_path / "b", Corpus(corpus.frame))  # no input columns known: ours only
    assert read_screening_records(tmp_path / "b").columns.tolist() == ["id", "title", "has_text", "has_abstract", "copy_of", "copy_label", "text_key"]
