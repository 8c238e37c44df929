"""records.parquet and the corpus fingerprints are written and hashed in chunks: the same content, digest and fingerprint as whole."""
from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from screenstack.features.artifacts import records
from screenstack.features.artifacts.records import read_screening_records, screening_records, write_screening_records
from screenstack.features.artifacts.atomic import read_json
from screenstack.features.artifacts.runfolder import RunFolder
from screenstack.features.records import corpus as corpus_module
from screenstack.features.records.corpus import load_corpus

pytestmark = pytest.mark.filterwarnings("ignore:.*neither title nor abstract")


def test_records_in_row_groups_read_back_whole_and_keep_the_version_of_one_group(tmp_path, tiny_corpus_files, monkeypatch):
    corpus = load_corpus(*tiny_corpus_files)
    whole, fingerprints = tmp_path / "whole", [corpus.fingerprint("train"), corpus.fingerprint("test")]
    write_screening_records(whole, corpus)
    assert pq.ParquetFile(whole / "records.parquet").num_row_groups == 1
    monkeypatch.setattr(records, "ROW_GROUP_ROWS", 30)
    monkeypatch.setattr(corpus_module, "HASH_CHUNK_ROWS", 7)
    assert [corpus.fingerprint("train"), corpus.fingerprint("test")] == fingerprints, "the fingerprints do not depend on the chunks"
    chunked = tmp_path / "chunked"
    write_screening_records(chunked, corpus)
    assert pq.ParquetFile(chunked / "records.parquet").num_row_groups == 4  # 100 records to screen
    pd.testing.assert_frame_equal(read_screening_records(chunked), screening_records(corpus))
    pd.testing.assert_frame_equal(read_screening_records(chunked), read_screening_records(whole))
    digest = read_json(RunFolder(whole).manifest_path("records"))["meta"]["digest"]
    assert read_json(RunFolder(chunked).manifest_path("records"))["meta"]["digest"] == digest
    # The same content hashed in other chunks: the file written whole is kept, not committed again.
    version = RunFolder(whole).version("records")
    write_screening_records(whole, corpus)
    assert RunFolder(whole).version("records") == version
