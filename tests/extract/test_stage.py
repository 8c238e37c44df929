"""The extract stage: feature files, their reuse, the per-text cache, resuming after a kill, the CLI."""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from screenstack.cli import main
from screenstack.extract import stage
from screenstack.extract.cache import setting_digest
from screenstack.extract.model import resolve_precision
from screenstack.extract.stage import ExtractConfig, extract_features
from screenstack.features.errors import ScreenstackError
from screenstack.features.records.corpus import texts
from screenstack.features.artifacts.store import VectorFiles, read_vectors

from .conftest import corpus_of, read_records

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def count_encoded(monkeypatch):
    """Wrap the stage's `encode` to count the texts it is asked to encode."""
    counted = []
    real = stage.encode

    def counting(texts, **kwargs):
        counted.append(len(texts))
        return real(texts, **kwargs)

    monkeypatch.setattr(stage, "encode", counting)
    return counted


def _config(model: str, tmp_path: Path, **changes) -> ExtractConfig:
    base = ExtractConfig(model=model, layers=(-1, -2), pooling=("cls", "mean"), max_length=64, device="cpu",
                         cache_dir=str(tmp_path / "cache"), chunk_size=8)
    return dataclasses.replace(base, **changes)


def test_feature_file_layout_and_metadata(random_bert, records, tmp_path):
    corpus = corpus_of(records, 30)
    path = extract_features(corpus, tmp_path / "run", _config(random_bert, tmp_path, store_dtype="float16"), progress=False)
    assert path.parent == tmp_path / "run" / "features" and path.name.startswith("random-bert0-")
    frame, matrix, meta = read_vectors(path)
    assert frame["id"].tolist() == corpus.frame["id"].tolist()
    assert frame["split"].tolist() == ["train"] * 30 + ["test"] * 18
    assert matrix.shape == (48, 4 * 32)
    assert str(pq.read_schema(path).field("vector").type.value_type) == "halffloat"
    for key in ("model", "weights_hash", "encoder_fingerprint", "recipe", "layers", "pooling", "max_length", "dtype",
                "store_dtype", "text_hash", "train_fingerprint", "test_fingerprint", "versions"):
        assert key in meta, key
    assert meta["blocks"] == ["L-1:cls", "L-1:mean", "L-2:cls", "L-2:mean"]
    assert meta["pooling"] == ["cls", "mean"] and meta["layers"] == [-1, -2] and meta["store_dtype"] == "float16"
    files = VectorFiles([path], corpus)  # what fit-learners reads
    X_train, X_test = files.train(), files.test()
    assert X_train.shape == (30, 128) and X_test.shape == (18, 128)


def test_same_inputs_reuse_the_file_and_any_change_makes_a_new_one(random_bert, other_random_bert, records, tmp_path,
                                                                     count_encoded, caplog):
    corpus = corpus_of(records, 30)
    out = tmp_path / "run"
    config = _config(random_bert, tmp_path)
    first = extract_features(corpus, out, config, progress=False)
    assert sum(count_encoded) == len(set(texts(corpus.frame)))  # once per distinct text
    stamp = first.stat().st_mtime_ns
    count_encoded.clear()
    with caplog.at_level(logging.INFO, logger="screenstack"):
        again = extract_features(corpus, out, config, progress=False)
    assert again == first and first.stat().st_mtime_ns == stamp and count_encoded == []
    assert "reusing" in caplog.text
    paths = {first}
    for change in ({"layers": (-1,)}, {"pooling": ("mean",)}, {"max_length": 32}, {"model": other_random_bert},
                   {"dtype": "bf16"}, {"store_dtype": "float16"}):
        path = extract_features(corpus, out, dataclasses.replace(config, **change), progress=False)
        assert path not in paths, change
        paths.add(path)
    # Another split of the same records: a new file, but every vector comes from the cache.
    count_encoded.clear()
    resplit = extract_features(corpus_of(records, 20), out, config, progress=False)
    assert resplit not in paths and sum(count_encoded) == 0
    np.testing.assert_array_equal(read_vectors(resplit)[1], read_vectors(first)[1])
    # A corpus that grew: only the new texts are encoded.
    grown = corpus_of(read_records(60), 30)
    extract_features(grown, out, config, progress=False)
    assert sum(count_encoded) == len(set(texts(grown.frame)) - set(texts(corpus.frame))) > 0


def test_an_encoder_folder_moved_to_another_name_reuses_the_cached_vectors(random_bert, records, tmp_path, count_encoded):
    import shutil

    corpus = corpus_of(records, 30)
    first = extract_features(corpus, tmp_path / "run", _config(random_bert, tmp_path), progress=False)
    moved = shutil.copytree(random_bert, tmp_path / "encoders" / "screening-bert")
    count_encoded.clear()
    again = extract_features(corpus, tmp_path / "run2", _config(str(moved), tmp_path), progress=False)
    assert count_encoded == [] and again.name.startswith("screening-bert-")
    np.testing.assert_array_equal(read_vectors(again)[1], read_vectors(first)[1])
    assert len(list((tmp_path / "cache").iterdir())) == 1  # the first folder's cache, not a second one
    # A folder of that digest whose setting.json was edited is passed over, not refused: the rename
    # falls back to a cache of its own, as before folders were found by digest.
    (cached,) = (tmp_path / "cache").iterdir()
    (cached / "setting.json").write_text('{"edited": true}')
    moved_again = shutil.copytree(random_bert, tmp_path / "encoders" / "screening-bert-2")
    extract_features(corpus, tmp_path / "run3", _config(str(moved_again), tmp_path), progress=False)
    assert sum(count_encoded) > 0 and len(list((tmp_path / "cache").iterdir())) == 2


def test_vectors_cached_by_another_cpu_instruction_set_are_not_reused(random_bert, records, tmp_path, count_encoded,
                                                                       monkeypatch):
    # helper-145: a cache filled under AVX2 served its vectors to an AVX-512 run (1e-6 apart, the learners' scores
    # moved): the same run gave other bytes depending on who filled the cache.
    import torch

    corpus = corpus_of(records, 30)
    extract_features(corpus, tmp_path / "run", _config(random_bert, tmp_path), progress=False)
    count_encoded.clear()
    extract_features(corpus, tmp_path / "run2", _config(random_bert, tmp_path), progress=False)
    assert count_encoded == []  # the same machine: every vector from the cache
    here = torch.backends.cpu.get_cpu_capability()
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "ANOTHER")
    extract_features(corpus, tmp_path / "run3", _config(random_bert, tmp_path), progress=False)
    assert sum(count_encoded) == len(set(texts(corpus.frame)))  # encoded here, in a cache folder of its own
    settings = [json.loads((folder / "setting.json").read_text()) for folder in sorted((tmp_path / "cache").iterdir())]
    assert sorted(s["computed_on"].split(" on ")[0] for s in settings) == sorted([f"cpu {here}", "cpu ANOTHER"])
    # MKL's and oneDNN's own choice of kernels narrowed (helper-148): vectors of their own too
    count_encoded.clear()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    extract_features(corpus, tmp_path / "run4", _config(random_bert, tmp_path), progress=False)
    assert sum(count_encoded) == len(set(texts(corpus.frame))) and len(list((tmp_path / "cache").iterdir())) == 3


def test_a_damaged_feature_file_is_made_again_and_said_to_be_damaged(random_bert, records, tmp_path, caplog):
    corpus = corpus_of(records, 30)
    config = _config(random_bert, tmp_path)
    path = extract_features(corpus, tmp_path / "run", config, progress=False)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with caplog.at_level(logging.WARNING, logger="screenstack"):
        assert extract_features(corpus, tmp_path / "run", config, progress=False) == path
    assert f"extract: {path} exists but is damaged (truncated or changed since it was written); making it again" in caplog.text
    assert path.read_bytes() == whole


def test_a_feature_file_the_permissions_keep_from_being_read_is_refused_as_that_not_made_again(random_bert, records,
                                                                                                 tmp_path, monkeypatch):
    # A helper's chmod 000 feature file was called damaged and replaced (root, who runs CI, is not stopped by chmod).
    import errno

    from screenstack.features.artifacts import sets

    corpus = corpus_of(records, 30)
    config = _config(random_bert, tmp_path)
    path = extract_features(corpus, tmp_path / "run", config, progress=False)
    whole, real = path.read_bytes(), sets.sha256_file

    def denied(file):
        if Path(file) == path:
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real(file)

    monkeypatch.setattr(sets, "sha256_file", denied)
    with pytest.raises(PermissionError):
        extract_features(corpus, tmp_path / "run", config, progress=False)
    assert path.read_bytes() == whole


def test_a_damaged_record_of_the_feature_file_is_said_as_such_not_the_file(random_bert, records, tmp_path, caplog):
    # It said the .parquet was "truncated or changed", sending the user to a file that was whole.
    corpus = corpus_of(records, 30)
    config = _config(random_bert, tmp_path)
    path = extract_features(corpus, tmp_path / "run", config, progress=False)
    whole = path.read_bytes()
    (record,) = (tmp_path / "run" / ".manifests").glob("features%*.json")
    record.write_text('{"broken')
    with caplog.at_level(logging.WARNING, logger="screenstack"):
        assert extract_features(corpus, tmp_path / "run", config, progress=False) == path
    assert f"extract: {path} exists but its record {record} is damaged (unreadable manifest" in caplog.text
    assert "truncated" not in caplog.text and path.read_bytes() == whole and json.loads(record.read_text())


def test_an_unreadable_cached_chunk_is_removed_by_name_and_its_texts_encoded_again(random_bert, records, tmp_path, caplog,
                                                                                   count_encoded):
    corpus = corpus_of(records, 30)
    config = _config(random_bert, tmp_path)
    path = extract_features(corpus, tmp_path / "run", config, progress=False)
    whole = path.read_bytes()
    chunks = sorted((tmp_path / "cache").glob("*/chunk-*.parquet"))
    chunks[0].write_bytes(chunks[0].read_bytes()[:100])  # cut short by a full disk
    count_encoded.clear()
    with caplog.at_level(logging.WARNING, logger="screenstack"):
        assert extract_features(corpus, tmp_path / "other", config, progress=False).read_bytes() == whole
    assert f"extract: {chunks[0]}: an unreadable vector cache chunk (" in caplog.text
    assert "removed it; its texts are encoded again" in caplog.text
    assert 0 < sum(count_encoded) <= 8  # that chunk's texts alone (--chunk-size 8)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="screenstack"):
        extract_features(corpus, tmp_path / "third", config, progress=False)
    assert "unreadable" not in caplog.text  # said once, not on every run


def test_a_chunk_whose_keys_read_but_vectors_do_not_is_removed_and_its_texts_encoded_again_at_once(random_bert, records,
                                                                                                     tmp_path, monkeypatch,
                                                                                                     caplog, count_encoded):
    # A helper zeroed part of each chunk's vector page: the keys still read, the vectors raised a traceback on every run;
    # then it was refused, to be run again (helper-141: a chunk cut short was encoded again at once, this one not).
    corpus = corpus_of(records, 30)
    config = _config(random_bert, tmp_path)
    whole = extract_features(corpus, tmp_path / "run", config, progress=False).read_bytes()
    chunk = sorted((tmp_path / "cache").glob("*/chunk-*.parquet"))[0]
    real_read, failed = pq.read_table, []

    def damaged(path, *args, **kwargs):  # the chunk's vector page as it was, once: the chunk written again reads
        if Path(path) == chunk and not kwargs.get("columns") and not failed:
            failed.append(path)
            raise OSError("Number of decoded rep / def levels do not match num_values in page header")
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(pq, "read_table", damaged)
    count_encoded.clear()
    with caplog.at_level("WARNING", logger="screenstack"):
        again = extract_features(corpus, tmp_path / "other", config, progress=False).read_bytes()
    assert again == whole and failed and 0 < sum(count_encoded) < 30  # that chunk's texts alone
    assert (f"extract: {chunk}: an unreadable vector cache chunk (Number of decoded rep / def levels do not match "
            "num_values in page header): removed it; its texts are encoded again") in caplog.text


def test_a_cached_chunk_whose_vectors_were_changed_is_removed_by_name_and_encoded_again(random_bert, records, tmp_path, caplog):
    # Random numbers written over a chunk's vectors were reused: "0 to encode", and other learner scores.
    corpus = corpus_of(records, 30)
    config = _config(random_bert, tmp_path)
    whole = extract_features(corpus, tmp_path / "run", config, progress=False).read_bytes()
    chunk = sorted((tmp_path / "cache").glob("*/chunk-*.parquet"))[0]
    table = pq.read_table(chunk)
    vectors = np.random.default_rng(0).normal(size=(table.num_rows, 128)).astype(np.float32)
    changed = table.set_column(1, "vector", pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 128))
    pq.write_table(changed.replace_schema_metadata(table.schema.metadata), chunk)
    with caplog.at_level("WARNING", logger="screenstack"):
        assert extract_features(corpus, tmp_path / "other", config, progress=False).read_bytes() == whole
    assert (f"{chunk}: a damaged vector cache chunk (its vectors differ from the checksum written with them: changed "
            "since): removed it; its texts are encoded again") in caplog.text
    assert pq.read_table(chunk).column("vector").equals(table.column("vector"))  # written again as it was first


def test_a_chunk_damaged_again_once_encoded_again_is_refused_naming_the_disk(random_bert, records, tmp_path, monkeypatch):
    corpus = corpus_of(records, 30)
    config = _config(random_bert, tmp_path)
    extract_features(corpus, tmp_path / "run", config, progress=False)
    chunk = sorted((tmp_path / "cache").glob("*/chunk-*.parquet"))[0]
    real_read = pq.read_table
    monkeypatch.setattr(pq, "read_table", lambda path, *args, **kwargs: (_ for _ in ()).throw(OSError("bad page"))
                        if Path(path) == chunk and not kwargs.get("columns") else real_read(path, *args, **kwargs))
    with pytest.raises(ScreenstackError) as refused:
        extract_features(corpus, tmp_path / "other", config, progress=False)
    assert str(refused.value).startswith(f"{chunk}: an unreadable vector cache chunk (bad page): removed it, once more after "
                                         "its texts were encoded again: check the disk under ")


def test_auto_precision_is_fp32_on_cpu_and_bf16_on_a_cuda_gpu(random_bert, records, tmp_path, monkeypatch, count_encoded):
    corpus = corpus_of(records, 30)
    out = tmp_path / "run"
    explicit = extract_features(corpus, out, _config(random_bert, tmp_path, dtype="fp32"), progress=False)
    count_encoded.clear()
    auto = extract_features(corpus, out, _config(random_bert, tmp_path, dtype="auto"), progress=False)
    # The same vectors as an explicit fp32 run: the same file, nothing encoded again.
    assert auto == explicit and count_encoded == [] and read_vectors(auto)[2]["dtype"] == "fp32"
    assert resolve_precision("auto", "cpu") == "fp32" and resolve_precision("auto", "mps") == "fp32"
    monkeypatch.setattr("torch.cuda.is_bf16_supported", lambda *a, **k: True)
    assert resolve_precision("auto", "cuda:0") == "bf16"
    monkeypatch.setattr("torch.cuda.is_bf16_supported", lambda *a, **k: False)
    assert resolve_precision("auto", "cuda") == "fp16" and resolve_precision("bf16", "cpu") == "bf16"


KILLED_RUN = """
import sys, time
from screenstack.extract import cache
real_add = cache.VectorCache.add
def slow_add(self, keys, vectors):
    path = real_add(self, keys, vectors)
    time.sleep(0.4)  # so the test can kill the run between two chunks
    return path
cache.VectorCache.add = slow_add
import json
from screenstack.extract.stage import ExtractConfig, extract_features
from screenstack.features.errors import ScreenstackError
from screenstack.features.records.corpus import Corpus
import pandas as pd
frame = pd.read_pickle(sys.argv[1])
config = json.loads(sys.argv[2])
config = ExtractConfig(**{**config, "layers": tuple(config["layers"]), "pooling": tuple(config["pooling"])})
extract_features(Corpus(frame), sys.argv[3], config, progress=False)
"""


def test_resume_after_kill_equals_an_uninterrupted_run(random_bert, records, tmp_path, count_encoded):
    corpus = corpus_of(records, 30)
    frame_file = tmp_path / "corpus.pkl"
    corpus.frame.to_pickle(frame_file)
    config = _config(random_bert, tmp_path, chunk_size=4)
    cache_dir = Path(config.cache_dir)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = dataclasses.asdict(config)
    process = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(frame_file), json.dumps(args), str(tmp_path / "killed")],
                               env=env, cwd=REPO, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(list(cache_dir.glob("*/chunk-*.parquet"))) < 3:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the run made no chunk within 60 s"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = len(list(cache_dir.glob("*/chunk-*.parquet")))
    assert not list((tmp_path / "killed").glob("features/*.parquet")), "the feature file appears only whole, at the end"
    distinct = len(set(texts(corpus.frame)))

    resumed = extract_features(corpus, tmp_path / "killed", config, progress=False)
    assert sum(count_encoded) == distinct - 4 * done > 0  # only what the killed run had not saved
    fresh = extract_features(corpus, tmp_path / "fresh", dataclasses.replace(config, cache_dir=str(tmp_path / "cache2")), progress=False)
    resumed_frame, resumed_matrix, _ = read_vectors(resumed)
    fresh_frame, fresh_matrix, _ = read_vectors(fresh)
    assert resumed_frame.equals(fresh_frame)
    np.testing.assert_array_equal(resumed_matrix, fresh_matrix)


def test_bundled_encoder_loads_offline_and_is_deterministic(tmp_path):
    from screenstack.extract.encode import encode
    from screenstack.extract.model import load_encoder

    encoder = load_encoder("minilm")
    texts = ["ACE inhibitors and cough: a randomised trial.", "Survey of hypertension care.", ""]
    first = encode(texts, encoder=encoder, device="cpu", max_length=64, pooling=("cls", "mean"))
    second = encode(texts, encoder=load_encoder("minilm"), device="cpu", max_length=64, pooling=("cls", "mean"))
    assert first.shape == (3, 2 * 384)
    assert first.tobytes() == second.tobytes()


def test_unknown_hub_name_fails_fast_with_the_fix():
    from screenstack.extract.model import load_encoder
    from screenstack.features.errors import ScreenstackError

    started = time.monotonic()
    with pytest.raises(ScreenstackError) as error:
        load_encoder("screenstack-tests/no-such-model")
    assert time.monotonic() - started < 20
    message = str(error.value)
    assert "--model /path/to/model" in message and "--model minilm" in message and "\n" not in message


def test_hub_check_gives_up_quickly(monkeypatch):
    from huggingface_hub import constants

    from screenstack.extract.model import _hub_reachable

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    started = time.monotonic()
    assert _hub_reachable(timeout=2) is False
    assert time.monotonic() - started < 3


def test_cli_extract(random_bert, tiny_corpus_files, tmp_path, capsys):
    train, test = tiny_corpus_files
    argv = ["-q", "extract", "--train", str(train), "--test", str(test), "--model", random_bert, "--out", str(tmp_path / "run"),
            "--layers", "-1,-2", "--pooling", "mean", "--max-length", "32", "--device", "cpu", "--cache-dir", str(tmp_path / "c")]
    assert main(argv) == 0
    path = Path(capsys.readouterr().out.strip().splitlines()[-1])
    frame, matrix, meta = read_vectors(path)
    assert len(frame) == 300 and matrix.shape[1] == 64 and meta["layers"] == [-1, -2]
    assert main([*argv, "--pooling", "max"]) == 2
    assert "available: cls, mean" in capsys.readouterr().err.lower()
    # Without --layers and --pooling: the means of the last four layers, side by side (0.3.25; bench/README.md, "Four
    # layers' mean vectors": every vector learner ranked better on them than on the last layer's CLS and mean vectors).
    defaults = [a for i, a in enumerate(argv) if a not in ("--layers", "--pooling") and argv[i - 1] not in ("--layers", "--pooling")]
    assert main(defaults) == 0
    _, matrix, meta = read_vectors(Path(capsys.readouterr().out.strip().splitlines()[-1]))
    assert meta["blocks"] == ["L-1:mean", "L-2:mean", "L-3:mean", "L-4:mean"] and matrix.shape[1] == 4 * 32


def test_finetune_names_layers_and_pooling_only_where_they_differ_from_the_default(tiny_corpus_files, tmp_path, recwarn):
    # Fine-tuned vectors ignore --layers and --pooling; the warning said so for the default itself spelled -1,-2,-3,-4.
    train, test = tiny_corpus_files
    base = ["extract", "--finetune", "--train", str(train), "--test", str(test), "--model", str(tmp_path / "no-model"),
            "--out", str(tmp_path / "run")]
    for given, warned in ((["--layers=-1,-2,-3,-4", "--pooling", "mean"], False), (["--layers", "LAST4"], False),
                          (["--layers", "-1"], True), (["--pooling", "cls,mean"], True)):
        recwarn.clear()
        assert main([*base, *given]) == 2  # no such model, after the warnings
        assert any("--layers and --pooling are for frozen vectors" in str(w.message) for w in recwarn) is warned, given


def test_a_cache_dir_that_cannot_be_written_names_cache_dir(random_bert, records, tmp_path):
    # The cache lies outside --out: its write errors named --out, so the user fixed the wrong flag.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ScreenstackError) as error:
        extract_features(corpus_of(records, 30), tmp_path / "run", _config(random_bert, tmp_path, cache_dir=str(blocker)),
                         progress=False)
    message = str(error.value)
    assert "another --cache-dir" in message and "--out" not in message and "\n" not in message


@pytest.mark.parametrize("chosen_by", ["--cache-dir", "$SCREENSTACK_CACHE"])
def test_a_read_only_cache_missing_texts_is_refused_before_any_text_is_encoded(random_bert, records, tmp_path, monkeypatch,
                                                                               chosen_by):
    # Refused only once the first chunk was encoded and written, before. Where the environment chose the folder, the
    # message says so: it named only --cache-dir, which the user never typed.
    import errno
    import tempfile

    from screenstack.extract import stage

    if chosen_by == "--cache-dir":
        config = _config(random_bert, tmp_path, cache_dir=str(tmp_path / "cache"))
    else:
        monkeypatch.setenv("SCREENSTACK_CACHE", str(tmp_path / "cache"))
        config = _config(random_bert, tmp_path, cache_dir=None)
    extract_features(corpus_of(records.iloc[:20], 10), tmp_path / "run", config, progress=False)  # the cache folder exists
    real = tempfile.mkstemp

    def read_only(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).is_relative_to(tmp_path / "cache"):
            raise OSError(errno.EROFS, "Read-only file system", str(dir))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    monkeypatch.setattr(stage, "encode", lambda *a, **k: pytest.fail("encoded for a cache it cannot write"))
    with pytest.raises(ScreenstackError) as error:
        extract_features(corpus_of(records, 30), tmp_path / "run2", config, progress=False)  # more texts
    assert "cannot write (Read-only file system)" in str(error.value) and "--cache-dir" in str(error.value)
    assert ("$SCREENSTACK_CACHE" in str(error.value)) == (chosen_by == "$SCREENSTACK_CACHE")
    assert not list((tmp_path / "run2").rglob("*.parquet")), "no feature file written"
    # A read-only cache that holds every text is read, not refused.
    assert extract_features(corpus_of(records.iloc[:20], 5), tmp_path / "run3", config, progress=False).is_file()


def _scaled_bert(random_bert: str, folder: Path, scale: float) -> str:
    """The random BERT with its last LayerNorm's weights set to `scale`: NaN makes the vectors NaN, 1e6 overflows float16."""
    import shutil

    import torch
    from transformers import BertModel

    shutil.copytree(random_bert, folder)
    model = BertModel.from_pretrained(str(folder))
    with torch.no_grad():
        model.encoder.layer[-1].output.LayerNorm.weight.fill_(scale)
    model.save_pretrained(str(folder))
    return str(folder)


def test_vectors_that_overflow_the_store_dtype_are_refused_not_written(random_bert, records, tmp_path):
    big = _scaled_bert(random_bert, tmp_path / "big-bert", 1e6)
    corpus = corpus_of(records, 30)
    with pytest.raises(ScreenstackError, match=r"--store-dtype float16: \d+ vector values exceed its range.*--store-dtype float32"):
        extract_features(corpus, tmp_path / "run", _config(big, tmp_path, store_dtype="float16"), progress=False)
    assert not list((tmp_path / "run").glob("features/*.parquet")), "no file of infinities for a learner to stop on"
    path = extract_features(corpus, tmp_path / "run", _config(big, tmp_path), progress=False)  # float32 holds them
    assert np.isfinite(read_vectors(path)[1]).all()


def test_an_encoder_giving_nan_vectors_is_refused_before_the_cache_keeps_them(random_bert, records, tmp_path):
    broken = _scaled_bert(random_bert, tmp_path / "nan-bert", float("nan"))
    with pytest.raises(ScreenstackError, match=r"--model .*nan-bert: the encoder gave NaN or infinite vectors for 8 of 8 "
                                               r"texts at fp32; check the weights"):
        extract_features(corpus_of(records, 30), tmp_path / "run", _config(broken, tmp_path), progress=False)
    assert not list((tmp_path / "cache").rglob("*.parquet")), "nothing cached for a later run to reuse"


def test_a_cache_chunk_past_the_file_size_limit_is_one_error_naming_the_cache_folder(tmp_path, monkeypatch):
    """`ulimit -f` reached while a chunk is written (EFBIG): the cache's error names --cache-dir and the limit, and
    leaves no half-written chunk."""
    import errno

    import pyarrow.parquet as pq

    from screenstack.extract import cache
    from screenstack.features.errors import ScreenstackError

    def too_large(table, where, **kwargs):
        Path(where).write_bytes(b"PAR1 partly")
        raise OSError(errno.EFBIG, "File too large")

    folder = cache.VectorCache(tmp_path / "cache", {"model": "m"})
    monkeypatch.setattr(pq, "write_table", too_large)
    with pytest.raises(ScreenstackError, match=r"cannot write \(File too large\); the file would pass this shell's "
                                                r"file-size limit \(ulimit -f\): raise it, then rerun"):
        folder.add(["a", "b"], np.zeros((2, 4)))
    assert not list((tmp_path / "cache").rglob("chunk-*"))


def test_a_cache_chunk_removed_while_a_run_reads_it_says_so_and_to_run_again(tmp_path):
    # It read "an unreadable vector cache chunk (...): delete it (could not: No such file or directory)".
    from screenstack.extract.cache import VectorCache

    cache = VectorCache(tmp_path / "cache", {"model": "m"})
    chunk = cache.add(["a", "b"], np.ones((2, 3), np.float32))
    cache.index()
    chunk.unlink()
    with pytest.raises(ScreenstackError) as error:
        cache.gather(["a"], np.empty((1, 3), np.float32))
    assert str(error.value) == f"{chunk}: a vector cache chunk this run listed was removed while it ran"
    assert cache.missing(["a", "b"]) == ["a", "b"]  # the index read again: extract encodes them again at once


def test_a_max_length_that_leaves_no_word_says_every_record_got_the_same_vector(random_bert, records, tmp_path, caplog):
    # --max-length 2 holds [CLS] and [SEP] alone: vectors all alike, and vector learners ranked at chance without a word.
    with caplog.at_level("WARNING", logger="screenstack"):
        extract_features(corpus_of(records, 30), tmp_path / "run", _config(random_bert, tmp_path, max_length=2), progress=False)
    assert "every record got the same vector (--max-length 2 leaves 0 tokens of text)" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="screenstack"):
        extract_features(corpus_of(records, 30), tmp_path / "run", _config(random_bert, tmp_path), progress=False)
    assert "same vector" not in caplog.text


@pytest.mark.parametrize("written, said", [("", "unreadable ("), ('{"model": "other"}', "holds another encoder setting")])
def test_a_damaged_or_edited_cache_setting_is_refused_naming_the_file_and_the_folder_to_delete(tmp_path, written, said):
    # An empty setting.json (a full disk) read "cache folder of another encoder setting", as if the options differed.
    from screenstack.extract.cache import VectorCache

    VectorCache(tmp_path / "cache", {"model": "m"})
    (tmp_path / "cache" / "setting.json").write_text(written)
    with pytest.raises(ScreenstackError) as error:
        VectorCache(tmp_path / "cache", {"model": "m"})
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'cache' / 'setting.json'}: {said}")
    assert f"Delete the folder {tmp_path / 'cache'} (it holds only cached vectors" in message


@pytest.mark.parametrize("chunk_from, reason", [
    ("another setting", "its vectors are of another encoder setting: copied in from another cache folder?"),
    ("before 0.3.6", "no checksum: written before 0.3.6")])
def test_a_cached_chunk_nothing_vouches_for_is_removed_by_name_and_its_texts_encoded_again(random_bert, records, tmp_path,
                                                                                           caplog, count_encoded, chunk_from, reason):
    # A chunk copied in from another setting's folder held vectors of another encoder, and was taken for this one's.
    corpus = corpus_of(records, 30)
    config = _config(random_bert, tmp_path)
    whole = extract_features(corpus, tmp_path / "run", config, progress=False).read_bytes()
    chunk = sorted((tmp_path / "cache").glob("*/chunk-*.parquet"))[0]
    table = pq.read_table(chunk)
    metadata = dict(table.schema.metadata)
    if chunk_from == "another setting":
        metadata[b"screenstack_setting"] = b"0" * 64
    else:
        del metadata[b"screenstack_setting"], metadata[b"screenstack_sha256"]
    pq.write_table(table.replace_schema_metadata(metadata), chunk)
    count_encoded.clear()
    with caplog.at_level(logging.WARNING, logger="screenstack"):
        assert extract_features(corpus, tmp_path / "other", config, progress=False).read_bytes() == whole
    assert f"extract: {chunk}: a vector cache chunk nothing vouches for ({reason}): removed it; its texts are encoded again" in caplog.text
    assert 0 < sum(count_encoded) <= 8  # that chunk's texts alone, written again under its name, with this setting's tag
    rewritten = pq.read_schema(chunk).metadata
    setting = json.loads((chunk.parent / "setting.json").read_text())
    assert rewritten[b"screenstack_setting"] == setting_digest(setting).encode() and b"screenstack_sha256" in rewritten


def test_a_cache_folder_given_with_a_quoted_tilde_is_in_the_home_folder(tmp_path, monkeypatch):
    """`export SCREENSTACK_CACHE="~/cache"` (quoted: the shell leaves the `~`) is the home folder's, as `datasets` reads
    it (helper-160: extract wrote a folder named `~` and pyarrow read the home folder's, calling its chunks removed)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SCREENSTACK_CACHE", "~/cache")
    assert stage.cache_root(ExtractConfig(), "run") == tmp_path / "cache"
    assert stage.cache_root(ExtractConfig(cache_dir="~/mine"), "run") == tmp_path / "mine"
