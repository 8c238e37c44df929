"""Feature files read in chunks: the same rows as reading them whole, a few row groups decoded at a time."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from screenstack.features.artifacts import store
from screenstack.features.artifacts.store import VectorFiles, read_vectors, write_vectors
from screenstack.features.errors import ScreenstackError
from screenstack.features.records.corpus import Corpus


@pytest.fixture
def corpus() -> Corpus:
    n_train, n_test = 30, 70
    return Corpus(pd.DataFrame({
        "id": [f"r{i}" for i in range(n_train)] + [f"t{i}" for i in range(n_test)],
        "title": [f"title {i}" for i in range(n_train + n_test)], "abstract": "",
        "label": [i % 2 for i in range(n_train)] + [np.nan] * n_test,
        "split": ["train"] * n_train + ["test"] * n_test,
    }))


def _write(path, corpus, order, dim=3, seed=0):
    """Row i of the corpus gets vector (i, seed, ...): its row in the matrix says whose it is."""
    frame = corpus.frame
    vectors = np.zeros((len(frame), dim), np.float32)
    vectors[:, 0], vectors[:, 1] = np.arange(len(frame)), seed
    return write_vectors(path, frame["id"].to_numpy()[order], frame["split"].to_numpy()[order], vectors[order],
                         {"model": "toy"})


def test_chunks_follow_the_corpus_across_row_groups_files_and_orders(tmp_path, corpus, monkeypatch):
    monkeypatch.setattr(store, "ROW_GROUP_ROWS", 8)
    n = len(corpus.frame)
    in_order = _write(tmp_path / "a.parquet", corpus, np.arange(n))
    shuffled = _write(tmp_path / "b.parquet", corpus, np.random.default_rng(0).permutation(n), dim=2, seed=1)
    assert pq.ParquetFile(in_order).num_row_groups == 13
    files = VectorFiles([in_order, shuffled], corpus)
    whole = files.test()
    chunks = list(files.test_chunks(9))
    assert [len(c) for c in chunks] == [9] * 7 + [7]
    np.testing.assert_array_equal(np.vstack(chunks), whole)
    assert whole.shape == (70, 5) and whole.dtype == np.float32
    np.testing.assert_array_equal(whole[:, 0], np.arange(30, 100))  # file a's columns, then file b's
    np.testing.assert_array_equal(whole[:, 3], np.arange(30, 100))
    np.testing.assert_array_equal(files.train()[:, [0, 1, 3, 4]], np.column_stack([np.arange(30), np.zeros(30), np.arange(30), np.ones(30)]))


def test_a_file_in_corpus_order_is_decoded_once_front_to_back(tmp_path, corpus, monkeypatch):
    monkeypatch.setattr(store, "ROW_GROUP_ROWS", 8)
    path = _write(tmp_path / "a.parquet", corpus, np.arange(len(corpus.frame)))
    decoded = []
    real = pq.ParquetFile.read_row_group
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", lambda self, i, **kw: decoded.append(i) or real(self, i, **kw))
    files = VectorFiles([path], corpus)
    files.train()
    assert decoded == [0, 1, 2, 3]  # the 30 training rows only
    decoded.clear()
    for _ in files.test_chunks(9):
        pass
    assert decoded == list(range(4, 13))  # group 3 is still held; then one at a time, each once: a group and a chunk


def test_other_ids_are_refused_before_any_vector_is_read(tmp_path, corpus, monkeypatch):
    other = Corpus(corpus.frame.assign(id=corpus.frame["id"].where(corpus.frame.index != 40, "elsewhere")))
    path = _write(tmp_path / "a.parquet", other, np.arange(len(corpus.frame)))
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", lambda *a, **k: pytest.fail("vectors read before the ids were checked"))
    with pytest.raises(ScreenstackError, match=r"a.parquet: feature file does not match the corpus \(1 corpus ids missing \(first: 't10'\)"):
        VectorFiles([path], corpus)


def test_read_vectors_reads_a_many_group_file_whole(tmp_path, corpus, monkeypatch):
    monkeypatch.setattr(store, "ROW_GROUP_ROWS", 8)
    frame, matrix, meta = read_vectors(_write(tmp_path / "a.parquet", corpus, np.arange(len(corpus.frame))))
    assert list(frame["id"]) == list(corpus.frame["id"]) and matrix.shape == (100, 3) and meta["model"] == "toy"


def test_a_feature_file_another_tool_wrote_again_is_refused_in_one_line(tmp_path, corpus):
    # pandas writes the fixed-size vectors back as variable-length lists: an AttributeError traceback before.
    path = _write(tmp_path / "a.parquet", corpus, np.arange(len(corpus.frame)))
    pd.read_parquet(path).to_parquet(tmp_path / "pandas.parquet")
    with pytest.raises(ScreenstackError, match=r"pandas.parquet: its vector column is list<.*not the fixed-size list of "
                                               r"floats `screenstack extract` writes.*Extract it again"):
        VectorFiles([tmp_path / "pandas.parquet"], corpus)
    from screenstack.learners.fit import fit_learners

    with pytest.raises(ScreenstackError, match="its vector column is"):  # refused before the fold plan is written
        fit_learners(corpus, tmp_path / "run", ("logreg",), (str(tmp_path / "pandas.parquet"),), progress=False)
    assert not (tmp_path / "run").exists()
    for raw in (b"{oops", b"[1, 2]"):  # metadata that is not JSON, or not an object: a JSONDecodeError traceback before
        table = pq.read_table(path)
        pq.write_table(table.replace_schema_metadata({b"screenstack": raw}), tmp_path / "meta.parquet")
        with pytest.raises(ScreenstackError, match=r"meta.parquet: its screenstack metadata is not a JSON object"):
            VectorFiles([tmp_path / "meta.parquet"], corpus)


def test_a_feature_file_without_fingerprints_is_read_with_a_warning_that_only_its_ids_are_checked(tmp_path, corpus):
    path = _write(tmp_path / "a.parquet", corpus, np.arange(len(corpus.frame)))
    with pytest.warns(UserWarning, match=r"a.parquet: its metadata holds no fingerprint of the records it was made from"):
        assert VectorFiles([path], corpus).train().shape == (30, 3)


def test_a_feature_file_of_other_records_to_screen_under_the_same_ids_is_refused(tmp_path, corpus):
    # The ids match, but a test record's text changed since the file was extracted (another --test file): its vector
    # is another text's, and the submission would score it by that. Only the training records' fingerprint was tested.
    meta = {"model": "toy", "train_fingerprint": corpus.fingerprint("train"), "test_fingerprint": corpus.fingerprint("test")}
    frame = corpus.frame
    path = write_vectors(tmp_path / "a.parquet", frame["id"], frame["split"], np.zeros((len(frame), 3), np.float32), meta)
    assert VectorFiles([path], corpus).test().shape == (70, 3)
    other = Corpus(frame.assign(title=frame["title"].where(frame["id"] != "t5", "another paper")))
    with pytest.raises(ScreenstackError, match=r"a.parquet: feature file was extracted from other test records with the same ids"):
        VectorFiles([path], other)


def test_a_feature_file_holding_nan_vectors_is_refused_naming_the_row(tmp_path, corpus):
    # LightGBM and XGBoost take NaN for a missing value and score on without a word; such a file is refused, by its row.
    meta = {"model": "toy", "train_fingerprint": corpus.fingerprint("train"), "test_fingerprint": corpus.fingerprint("test")}
    vectors = np.zeros((len(corpus.frame), 3), np.float32)
    vectors[42, 1] = np.nan
    path = write_vectors(tmp_path / "a.parquet", corpus.frame["id"], corpus.frame["split"], vectors, meta)
    with pytest.raises(ScreenstackError, match=r"a.parquet: row 42 holds NaN or infinite vector values"):
        VectorFiles([path], corpus).test()


def test_a_feature_file_rewritten_in_the_run_folder_since_its_commit_is_refused(tmp_path, corpus):
    # Inside OUT/features a feature file is checked against the manifest it was committed with: one written over
    # since (a valid Parquet file, other vectors) is damaged, not read.
    from screenstack.features.artifacts.store import write_run_vectors

    meta = {"model": "toy", "train_fingerprint": corpus.fingerprint("train"), "test_fingerprint": corpus.fingerprint("test")}
    frame, out = corpus.frame, tmp_path / "run"
    path = out / "features" / "toy.parquet"
    vectors = np.zeros((len(frame), 3), np.float32)
    write_run_vectors(out, path, frame["id"], frame["split"], vectors, meta)
    assert VectorFiles([path], corpus).train().shape == (30, 3)
    vectors[3, 0] = 1.0
    write_vectors(path, frame["id"], frame["split"], vectors, meta)
    with pytest.raises(ScreenstackError, match=r"toy.parquet: damaged \(its size or checksum differs from when it was written"):
        VectorFiles([path], corpus)
