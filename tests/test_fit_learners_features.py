"""`fit-learners` without --features reads the one feature file `extract` wrote into OUT/features; --features takes
several files as a shell glob gives them."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from screenstack.cli import main
from screenstack.features.artifacts.store import write_run_vectors
from screenstack.features.records.corpus import load_corpus


def _feature_file(out, train, test, name, seed=0):
    """A feature file of the corpus in OUT/features, as `extract` leaves it (random vectors)."""
    corpus = load_corpus(train, test)
    frame = corpus.frame
    vectors = np.random.default_rng(seed).normal(size=(len(frame), 8)).astype(np.float32)
    meta = {"train_fingerprint": corpus.fingerprint("train"), "test_fingerprint": corpus.fingerprint("test")}
    return write_run_vectors(out, out / "features" / name, frame["id"], frame["split"], vectors, meta)


def _argv(train, test, out, *flags):
    return ["fit-learners", "--train", str(train), "--test", str(test), "--out", str(out), "--learners", "logreg",
            "--folds", "2", *flags]


def _one_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("screenstack: error: "), err
    return lines[0]


def test_the_one_feature_file_in_out_is_used_and_named(tiny_corpus_files, tmp_path, caplog):
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    path = _feature_file(out, train, test, "minilm-0123456789.parquet")
    with caplog.at_level(logging.INFO, logger="screenstack"):
        assert main(_argv(train, test, out)) == 0
    assert any(str(path) in r.getMessage() and "the one feature file" in r.getMessage() for r in caplog.records)
    assert (out / "learners" / "logreg" / "oof.parquet").is_file()


def test_the_default_text_learners_say_the_feature_file_in_out_is_not_used(tiny_corpus_files, tmp_path, caplog):
    # README's stage-by-stage path: `extract`, then `fit-learners` without --learners fits the TF-IDF learners alone.
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    path = _feature_file(out, train, test, "minilm-0123456789.parquet")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="screenstack"):
        assert main(["fit-learners", "--train", str(train), "--test", str(test), "--out", str(out), "--folds", "2"]) == 0
    assert (f"fit-learners: {path} in {out}/features not used: the learners fitted (tfidf-svm,tfidf-logreg) read the "
            "text; add logreg, lightgbm or xgboost to --learners to fit on the vectors") in caplog.messages


def test_several_feature_files_in_out_are_refused_naming_them(tiny_corpus_files, tmp_path, capsys):
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    first = _feature_file(out, train, test, "minilm-0123456789.parquet")
    second = _feature_file(out, train, test, "minilm-abcdef0123.parquet", seed=1)
    assert main(_argv(train, test, out)) == 2
    error = _one_error(capsys)
    assert str(first) in error and str(second) in error and "--features" in error
    assert not (out / "learners").exists()


def test_the_feature_file_of_an_earlier_test_file_is_left_unread_and_named(tiny_corpus_files, tmp_path, caplog, capsys):
    # After a refusal for another --test, `run` extracts the new records beside the old file; fit-learners alone then
    # refused both as "several feature files" where one alone is of these records.
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    earlier = tmp_path / "earlier_test.csv"
    lines = test.read_text().splitlines()
    earlier.write_text("\n".join(lines[:-1]) + "\n")  # one record to screen fewer
    old = _feature_file(out, train, earlier, "minilm-0123456789.parquet")
    new = _feature_file(out, train, test, "minilm-abcdef0123.parquet", seed=1)
    with caplog.at_level(logging.INFO, logger="screenstack"):
        assert main(_argv(train, test, out)) == 0
    assert f"fit-learners: vectors for logreg from {new} (unread: {old}, of other records; --features reads them)" \
        in caplog.messages
    other = tmp_path / "other_test.csv"
    other.write_text("\n".join(lines[:-2]) + "\n")
    capsys.readouterr()
    assert main(_argv(train, other, out)) == 2  # neither file is of these records
    error = _one_error(capsys)
    assert f"none of the 2 feature files in {out / 'features'}" in error and "screenstack extract" in error


def test_no_feature_file_names_extract(tiny_corpus_files, tmp_path, capsys):
    train, test = tiny_corpus_files
    assert main(_argv(train, test, tmp_path / "run")) == 2
    error = _one_error(capsys)
    assert "logreg" in error and "screenstack extract" in error and "--features" in error


@pytest.mark.parametrize("form", ["spaces", "commas"])
def test_several_feature_files_as_a_glob_gives_them(tiny_corpus_files, tmp_path, form):
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    files = [str(_feature_file(out, train, test, f"minilm-{i}.parquet", seed=i)) for i in range(2)]
    flags = ["--features", *files] if form == "spaces" else ["--features", ",".join(files)]
    assert main(["-q", *_argv(train, test, out, *flags)]) == 0
    assert (out / "learners" / "logreg" / "oof.parquet").is_file()


def test_a_config_files_learner_is_checked_when_the_flag_overrides_it(tiny_corpus_files, tmp_path, capsys):
    train, test = tiny_corpus_files
    config = tmp_path / "c.toml"
    config.write_text('learners = ["tfidf-svm", "nope"]\n')
    out = tmp_path / "run"
    assert main(["fit-learners", "--config", str(config), "--train", str(train), "--test", str(test), "--out", str(out),
                 "--learners", "tfidf-svm"]) == 2
    error = _one_error(capsys)
    assert "--learners nope" in error and str(config) in error and "fix the file" in error
    assert not out.exists()


def test_learners_fitted_after_a_stack_are_named_with_the_command_that_blends_them(tiny_corpus_files, tmp_path, caplog):
    """A stack made before fit-learners added (or refitted) a learner is consistent but leaves it out; report and
    predict would use it, so fit-learners says so, and stays quiet when it changed nothing the stack blends."""
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    text = ["fit-learners", "--train", str(train), "--test", str(test), "--out", str(out), "--folds", "2", "--learners"]
    assert main(["-q", *text, "tfidf-svm"]) == 0 and main(["-q", "stack", "--out", str(out)]) == 0
    with caplog.at_level(logging.INFO, logger="screenstack"):
        assert main([*text, "tfidf-svm,tfidf-logreg"]) == 0
    said = [r.getMessage() for r in caplog.records if "does not blend" in r.getMessage()]
    assert len(said) == 1 and "tfidf-logreg" in said[0] and "tfidf-svm," not in said[0], said
    assert f"screenstack stack --out {out}" in said[0]
    assert main(["-q", "stack", "--out", str(out)]) == 0
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="screenstack"):
        assert main([*text, "tfidf-svm,tfidf-logreg"]) == 0  # both reused: the stack blends them as they are
    assert not [r for r in caplog.records if "does not blend" in r.getMessage()]
