"""`fit-learners` without --features reads the one feature file `extract` wrote into OUT/features; --features takes
several files as a shell glob gives them."""
from __future__ import annotations

import json
import logging
import shlex
import shutil

import numpy as np
import pandas as pd
import pytest

from screenstack.cli import main
from screenstack.features.artifacts.store import write_run_vectors
from screenstack.features.records.corpus import load_corpus


def _feature_file(out, train, test, name, seed=0, fine_tuned=False, width=8, **extraction):
    """A feature file of the corpus in OUT/features, as `extract` (or, `fine_tuned`, the fine-tuner) leaves it
    (random vectors)."""
    corpus = load_corpus(train, test)
    frame = corpus.frame
    vectors = np.random.default_rng(seed).normal(size=(len(frame), width)).astype(np.float32)
    meta = {"train_fingerprint": corpus.fingerprint("train"), "test_fingerprint": corpus.fingerprint("test")}
    if fine_tuned:
        meta.update(kind="crossfit", finetune={"lr": 5e-5})
    meta.update(extraction)
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
    assert f"fit-learners: vectors for logreg from {new} (unread: {old}, other records)" in caplog.messages
    other = tmp_path / "other_test.csv"
    other.write_text("\n".join(lines[:-2]) + "\n")
    capsys.readouterr()
    assert main(_argv(train, other, out)) == 2  # the learners scored other records: said first, not the files' fix
    assert "scored other records to screen (--test, or --data's unlabelled ones, or the columns read: --text-cols) than these" in _one_error(capsys)
    fresh = tmp_path / "fresh"
    old, new = (_feature_file(fresh, train, t, f"minilm-{i}.parquet", seed=i) for i, t in enumerate((earlier, test)))
    assert main(_argv(train, other, fresh)) == 2  # neither file is of these records
    error = _one_error(capsys)
    assert f"{fresh / 'features'} holds no feature file extracted from these records" in error
    assert f"{old}: other records; {new}: other records): run `screenstack extract` with these input files" in error


def test_a_fine_tuning_s_vectors_and_files_that_do_not_open_are_left_unread(tiny_corpus_files, tmp_path, caplog, capsys):
    # Known by their metadata, not by a name: the encoder's own folder may be called finetune-something.
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    tuned = _feature_file(out, train, test, "finetune-b0-92855c9c25.parquet", fine_tuned=True)
    assert main(_argv(train, test, out)) == 2  # alone: run fits the vector learners on the frozen encoder's vectors
    error = _one_error(capsys)
    assert "holds only a fine-tuning's cross-fitted vectors of these records" in error
    assert "run `screenstack extract` with these input files" in error and "--features" not in error  # refused there
    (out / "config.toml").write_text(f'out = "{out}"\n')  # a run's folder: its settings are there to extract with again
    assert main(_argv(train, test, out)) == 2
    assert f"`screenstack run --config {out / 'config.toml'}` extracts them again with the run's settings" in _one_error(capsys)
    # A copy of a run's folder: its config.toml names the first folder, which `run --config` alone would extract into
    # (a helper's damaged copy sent to the original, which was reused, the copy left as it was).
    (out / "config.toml").write_text(f'out = "{tmp_path / "first"}"\n')
    assert main(_argv(train, test, out)) == 2
    assert (f"`screenstack run --config {out / 'config.toml'} --out {out}` extracts them again with the run's settings"
            in _one_error(capsys))
    (out / "config.toml").unlink()
    frozen = _feature_file(out, train, test, "finetune-b0-0123456789.parquet", seed=1)  # a frozen encoder's, so named
    (out / "features" / "._minilm.parquet").write_bytes(b"junk")  # the kind of file macOS leaves beside others
    (out / "features" / "old.parquet").mkdir()
    with caplog.at_level(logging.INFO, logger="screenstack"):
        assert main(_argv(train, test, out)) == 0
    pd.DataFrame({"note": ["not vectors"]}).to_parquet(out / "features" / "notes.parquet")  # a Parquet file, no feature file
    with caplog.at_level(logging.INFO, logger="screenstack"):
        assert main(_argv(train, test, out)) == 0
    assert (f"fit-learners: vectors for logreg from {frozen} (unread: {out / 'features' / '._minilm.parquet'}, unreadable; "
            f"{tuned}, a fine-tuning's vectors; {out / 'features' / 'notes.parquet'}, not a feature file)") in caplog.messages
    capsys.readouterr()
    assert main(_argv(train, test, out, "--features", "")) == 2  # names no file: not the default
    assert "--features '': an empty item in the list" in _one_error(capsys)


def test_a_lone_file_that_is_no_feature_file_is_refused_with_extract_as_the_way_on(tiny_corpus_files, tmp_path, capsys):
    # --features was not given: the way on is to extract these records' vectors into OUT, not to name a file.
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    (out / "features").mkdir(parents=True)
    (out / "features" / "x.parquet").write_bytes(b"junk")
    assert main(_argv(train, test, out)) == 2
    error = _one_error(capsys)
    assert f"{out / 'features' / 'x.parquet'}: unreadable" in error and "run `screenstack extract`" in error
    assert "--features" not in error
    assert (out / "features" / "x.parquet").read_bytes() == b"junk" and not (out / "learners").exists()  # nothing written


def test_a_feature_file_the_permissions_keep_from_being_read_is_said_as_that_not_to_be_extracted_again(
        tiny_corpus_files, tmp_path, capsys, monkeypatch):
    # helper-155: a chmod 000 feature file was "unreadable: run `screenstack extract`"; pyarrow's error names no file, and
    # passed on as it was it ended in a traceback.
    import pyarrow.parquet as pq

    train, test = tiny_corpus_files
    out = tmp_path / "run"
    path = _feature_file(out, train, test, "minilm-0123456789.parquet")
    opened = pq.ParquetFile

    def denied(source, *args, **kwargs):
        if str(source) == str(path):
            raise PermissionError("[Errno 13] Failed to open local file. Detail: [errno 13] Permission denied")
        return opened(source, *args, **kwargs)

    monkeypatch.setattr(pq, "ParquetFile", denied)
    assert main(_argv(train, test, out)) == 2
    assert _one_error(capsys) == (f"screenstack: error: {path}: Permission denied; check the permissions of it and of every "
                                  "folder above it (each must be enterable), or use another path.")
    assert not (out / "learners").exists() and path.is_file()  # refused before any learner; the file left as it was


def test_learners_fitted_on_another_feature_file_are_refused_with_that_file_as_the_way_on(tiny_corpus_files, tmp_path,
                                                                                          capsys):
    # The way on said "give --max-length 64", an extraction option fit-learners does not take.
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    made = _feature_file(out, train, test, "bert0-0123456789.parquet", max_length=64)
    other = _feature_file(out, train, test, "bert0-abcdef0123.parquet", seed=1, max_length=32)
    assert main(["-q", *_argv(train, test, out, "--features", str(made))]) == 0
    capsys.readouterr()
    assert main(["-q", *_argv(train, test, out, "--features", str(other))]) == 2
    error = _one_error(capsys)
    assert f"(differs in: --max-length (64 there, 32 now)). Use a new --out folder, give --features {made} to go on" in error
    assert main(["-q", *_argv(train, test, out, "--features", str(made))]) == 0  # as it says: reused
    wider = _feature_file(out, train, test, "bert0-fedcba9876.parquet", seed=2, width=16, layers=[-1, -2])
    capsys.readouterr()
    assert main(["-q", *_argv(train, test, out, "--features", str(wider))]) == 2  # logreg's blocks follow the width
    assert f"give --features {made} to go on" in _one_error(capsys)
    # A file outside OUT written again with other vectors: the file there is no way on, it holds other vectors now.
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(made, outside / "f.parquet")
    assert main(["-q", *_argv(train, test, tmp_path / "run2", "--features", str(outside / "f.parquet"))]) == 0
    shutil.copy(other, outside / "f.parquet")
    capsys.readouterr()
    assert main(["-q", *_argv(train, test, tmp_path / "run2", "--features", str(outside / "f.parquet"))]) == 2
    error = _one_error(capsys)
    assert "the contents of the feature files outside OUT" in error and "to go on with it" not in error


def test_a_renamed_feature_file_is_refused_naming_both_names_and_renaming_back_goes_on(tiny_corpus_files, tmp_path,
                                                                                          capsys):
    # Said "differs in: features", naming neither file and offering no way on but a refit.
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    made = _feature_file(out, train, test, "bert0-0123456789.parquet")
    assert main(["-q", *_argv(train, test, out)]) == 0
    oof = out / "learners" / "logreg" / "oof.parquet"
    written = oof.stat().st_mtime_ns
    renamed = made.with_name("mine.parquet")
    made.rename(renamed)
    capsys.readouterr()
    assert main(["-q", *_argv(train, test, out)]) == 2
    assert oof.stat().st_mtime_ns == written and renamed.is_file()  # refused before anything was written or moved
    error = _one_error(capsys)
    assert ("differs in: the feature files (features/bert0-0123456789.parquet there, features/mine.parquet now)" in error
            and f"rename {renamed} back to {made} to go on with it" in error)
    renamed.rename(made)
    assert main(["-q", *_argv(train, test, out)]) == 0
    assert oof.stat().st_mtime_ns == written  # as it says: reused, not refitted


def test_a_damaged_record_of_the_feature_file_names_extract_as_what_writes_it_again(tiny_corpus_files, tmp_path):
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    _feature_file(out, train, test, "bert0-0123456789.parquet")
    assert main(["-q", *_argv(train, test, out)]) == 0
    (out / ".manifests" / "features%bert0-0123456789.parquet.json").write_text("{bad")
    with pytest.warns(UserWarning, match=r"features%bert0-0123456789.parquet.json: damaged; refitting logreg. The feature "
                                         r"file's record stays damaged until `screenstack extract`"):
        assert main(["-q", *_argv(train, test, out)]) == 0


def test_stack_names_a_damaged_feature_record_once_where_two_learners_read_it(tiny_corpus_files, tmp_path, capsys):
    # logreg and lightgbm both read the feature file: its damaged record was named twice in one error (a helper's).
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    _feature_file(out, train, test, "bert0-0123456789.parquet")
    assert main(["-q", *_argv(train, test, out), "--learners", "logreg,lightgbm,tfidf-svm"]) == 0
    record = out / ".manifests" / "features%bert0-0123456789.parquet.json"
    record.write_text("{bad")
    (out / "learners" / "tfidf-svm" / "oof.parquet").write_bytes(b"cut short")
    capsys.readouterr()
    assert main(["stack", "--out", str(out)]) == 2
    error = _one_error(capsys)
    assert error.count(str(record)) == 1 and "tfidf-svm" in error and "fit-learners" in error


def test_a_training_file_labelled_otherwise_is_refused_for_the_fold_plan_before_the_feature_file(tiny_corpus_files,
                                                                                                  tmp_path, capsys):
    # The feature file's refusal came first and said to extract again, after which the fold plan's refused anyway.
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    _feature_file(out, train, test, "minilm-0123456789.parquet")
    assert main(["-q", *_argv(train, test, out)]) == 0
    _feature_file(out, train, test, "minilm-abcdef0123.parquet", seed=1)  # two files: the choice among them comes after
    relabelled = tmp_path / "relabelled.csv"
    frame = pd.read_csv(train, dtype=str, keep_default_na=False)
    frame.loc[0, "label_included"] = "1" if frame.loc[0, "label_included"] == "0" else "0"
    frame.to_csv(relabelled, index=False)
    capsys.readouterr()
    assert main(["-q", *_argv(relabelled, test, out)]) == 2
    error = _one_error(capsys)
    assert "holds artifacts of another configuration (differs in: the training records: 1 labelled otherwise" in error
    assert "feature file" not in error


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


@pytest.mark.parametrize("given", ["flag", "config list"])
def test_a_feature_file_whose_path_holds_a_comma_is_read(tiny_corpus_files, tmp_path, given):
    # A folder named "runs 3,4": the path is one file, not a list of two that do not exist.
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    path = _feature_file(tmp_path / "runs 3,4", train, test, "minilm-0.parquet")
    if given == "flag":
        flags = ["--features", str(path)]
    else:
        config = tmp_path / "c.toml"
        config.write_text(f"features = [{json.dumps(str(path))}]\n")
        flags = ["--config", str(config)]
    assert main(["-q", *_argv(train, test, out, *flags)]) == 0
    assert (out / "learners" / "logreg" / "oof.parquet").is_file()


def test_the_way_on_for_files_whose_paths_hold_commas_is_one_that_works(tiny_corpus_files, tmp_path, capsys):
    # It was one comma-joined path, split apart again when given; a mistyped path was said by its first fragment.
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    files = [str(_feature_file(tmp_path / f"runs {i},{i + 1}", train, test, f"m,{i}.parquet", seed=i)) for i in range(2)]
    assert main(["-q", *_argv(train, test, out, "--features", *files)]) == 0
    capsys.readouterr()
    assert main(["-q", *_argv(train, test, out, "--features", files[0])]) == 2
    error = _one_error(capsys)
    way = f"give --features {shlex.quote(files[0])} {shlex.quote(files[1])} to go on with it"
    assert way in error and error.count("the feature files") == 1 and "contents" not in error
    assert main(["-q", *_argv(train, test, out, "--features", *shlex.split(way.split("--features ")[1].split(" to go")[0]))]) == 0
    missing = str(tmp_path / "runs 0,1" / "nope.parquet")
    assert main(["-q", *_argv(train, test, out, "--features", missing)]) == 2
    assert f"--features {shlex.quote(missing)}: no such feature file, read whole or split at its commas" in _one_error(capsys)


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


def test_every_learner_of_another_feature_file_is_refused_in_one_line_before_any_is_fitted(tiny_corpus_files, tmp_path,
                                                                                              capsys):
    # A helper's finding: the refusal named the first such learner only, after fitting the ones before it (a new
    # logreg beside a lightgbm of the old vectors, blended by the next `stack`), and had removed the stack's outputs.
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    made = _feature_file(out, train, test, "bert0-0123456789.parquet", max_length=64)
    other = _feature_file(out, train, test, "bert0-abcdef0123.parquet", seed=1, max_length=32)
    fit = ["-q", "fit-learners", "--train", str(train), "--test", str(test), "--out", str(out), "--folds", "2"]
    assert main([*fit, "--learners", "lightgbm,xgboost", "--features", str(made)]) == 0
    assert main(["-q", "stack", "--out", str(out)]) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main([*fit, "--learners", "logreg,lightgbm,xgboost,tfidf-svm", "--features", str(other)]) == 2
    error = _one_error(capsys)
    assert f"{out / 'learners' / 'lightgbm'}, {out / 'learners' / 'xgboost'}: hold the outputs of lightgbm, xgboost" in error
    assert f"give --features {made} to go on with it, or delete those folders to refit them." in error, error
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # nothing fitted, nothing removed
    shutil.rmtree(out / "learners" / "lightgbm")
    shutil.rmtree(out / "learners" / "xgboost")
    assert main([*fit, "--learners", "logreg,lightgbm,xgboost", "--features", str(other)]) == 0  # as it says
