"""`screenstack run` end to end through the command line, on a tiny random BERT."""
from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

from screenstack.cli import main

from .conftest import make_random_bert


def _run(train, test, out, model, *extra):
    return main(["-q", "run", "--train", str(train), "--test", str(test), "--model", model, "--out", str(out),
                 "--learners", "logreg,tfidf-svm", "--folds", "3", "--max-length", "64", *extra])


FINETUNE = ("--finetune", "--epochs", "1", "--batch-size", "16", "--device", "cpu", "--yes")  # a second or so a fold here


def _fine_tuned(model: str) -> str:
    """The fine-tuned learner `_run(..., *FINETUNE)` makes of `model`."""
    return "finetune-" + Path(model).name.lower() + "-linear"


def test_run_writes_the_submission_summary_report_and_config(tiny_corpus_files, tmp_path, random_bert):
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    assert _run(train, test, out, random_bert) == 0
    submission = pd.read_csv(out / "submission.csv", header=None, dtype={0: str})
    assert submission[0].tolist() == pd.read_csv(test, dtype=str)["record_id"].tolist()
    assert set(submission[1]) <= {0, 1}
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["learners"]) == {"logreg", "tfidf-svm"}
    assert summary["fold_plan"]["n_folds"] == 3
    assert (out / "report.html").is_file() and list((out / "features").glob("*.parquet"))
    assert 'folds = 3' in (out / "config.toml").read_text()


def test_run_again_from_its_config_file_gives_identical_files(tiny_corpus_files, tmp_path, random_bert):
    train, test = tiny_corpus_files
    first = tmp_path / "first"
    assert _run(train, test, first, random_bert) == 0
    config = (first / "config.toml").read_text().replace(str(first), str(tmp_path / "second"))
    (tmp_path / "again.toml").write_text(config)
    assert main(["-q", "run", "--config", str(tmp_path / "again.toml")]) == 0
    for name in ("submission.csv", "test_scores.csv", "learners/logreg/oof.parquet", "learners/tfidf-svm/test.parquet"):
        assert (first / name).read_bytes() == (tmp_path / "second" / name).read_bytes()


def test_text_learners_alone_extract_nothing_and_say_the_vector_options_are_not_used(tiny_corpus_files, tmp_path):
    # --model no/such-model went into config.toml without a word, and failed only once a later run added a vector learner.
    train, test = tiny_corpus_files
    out = tmp_path / "tfidf"
    with pytest.warns(UserWarning, match=r"--model, --max-length: for the vectors, not used: the learners fitted "
                                         r"\(tfidf-svm,tfidf-logreg\) read the text"):
        code = main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out),
                     "--learners", "tfidf-svm,tfidf-logreg", "--model", "no/such-model", "--max-length", "64"])
    assert code == 0 and not (out / "features").exists()
    with pytest.warns(UserWarning, match=r"--model \(as .*config.toml sets it\): for the vectors, not used"):
        assert main(["-q", "run", "--config", str(out / "config.toml"), "--max-length", "512"]) == 0
    with warnings.catch_warnings(record=True) as said:  # the defaults are no options given
        warnings.simplefilter("always")
        assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(tmp_path / "plain"),
                     "--learners", "tfidf-svm"]) == 0
    assert not [w for w in said if "not used" in str(w.message)]


def test_a_finetuning_run_of_text_learners_says_which_vector_options_it_does_not_use(tiny_corpus_files, tmp_path, random_bert):
    # The fine-tuner reads --model and --max-length; --layers and --pooling went into config.toml without a word.
    _, test = tiny_corpus_files
    with pytest.warns(UserWarning, match=r"^--layers, --pooling: for the vectors, not used: the learners fitted \(tfidf-svm\) "
                                         r"read the text, the fine-tuned encoder's classifier scores the text itself"):
        # said before the files are read: a missing one stops the run there, before any fine-tuning
        assert main(["-q", "run", "--train", str(tmp_path / "none.csv"), "--test", str(test), "--model", random_bert,
                     "--out", str(tmp_path / "ft"), "--learners", "tfidf-svm", "--max-length", "64",
                     "--layers", "-1", "--pooling", "cls", *FINETUNE]) == 2


def test_extract_finetune_from_the_command_line_writes_a_learner_and_crossfit_vectors(tiny_corpus_files, tmp_path, random_bert, capsys):
    train, test = tiny_corpus_files
    out = tmp_path / "ft"
    code = main(["-q", "extract", "--finetune", "--train", str(train), "--test", str(test), "--model", random_bert,
                 "--out", str(out), "--epochs", "1", "--batch-size", "8", "--max-length", "32", "--folds", "3",
                 "--head", "cnn", "--device", "cpu", "--yes"])
    assert code == 0
    learner, features = capsys.readouterr().out.split()[-2:]
    oof = pd.read_parquet(f"{learner}/oof.parquet")
    assert oof["score"].between(0, 1).all() and len(oof) == 200
    meta = json.loads(open(f"{learner}/meta.json").read())
    assert meta["fold_plan"]["n_folds"] == 3
    assert features.endswith(".parquet")
    # Stacked alone, the fine-tuned learner's run names its records: `stack` said fit-learners had been killed before
    # writing them, and its ranked.csv had no titles (a helper's `extract --finetune` then `stack`).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["-q", "stack", "--out", str(out)]) == 0
    ranked = pd.read_csv(out / "ranked.csv", dtype=str, keep_default_na=False)
    titles = pd.read_csv(test, dtype=str, keep_default_na=False).set_index("record_id")["title"]
    assert (ranked["title"] == ranked["id"].map(titles)).all() and (ranked["title"] != "").any()


def test_a_finetuning_run_repeated_from_its_config_file_reuses_everything(tiny_corpus_files, tmp_path, random_bert):
    # Its vector learner's outputs made the check before extraction iterate over vectors=None: a TypeError traceback.
    train, test = tiny_corpus_files
    out = tmp_path / "ft"
    assert _run(train, test, out, random_bert, "--finetune", "--epochs", "1", "--batch-size", "16", "--device", "cpu",
                "--yes") == 0
    learners = sorted((out / "learners").iterdir())
    # The vector learner reads the frozen encoder's vectors, and the fine-tuned classifier is blended beside it:
    # on the shared datasets' halves that beat vector learners on the fine-tuned vectors by 0.053 F7 (bench/README.md).
    vector_files = json.loads((out / "learners" / "logreg" / "meta.json").read_text())["features"]
    assert len(vector_files) == 1 and not Path(vector_files[0]).name.startswith("finetune-")
    summary = json.loads((out / "summary.json").read_text())
    assert sorted(summary["blend"]["weights"]) == ["finetune-" + Path(random_bert).name.lower() + "-linear", "logreg", "tfidf-svm"]
    stamps = [(p / "meta.json").stat().st_mtime_ns for p in learners]
    submission = (out / "submission.csv").read_bytes()
    assert main(["-q", "run", "--config", str(out / "config.toml")]) == 0
    assert [(p / "meta.json").stat().st_mtime_ns for p in learners] == stamps, "reused, not refitted"
    assert (out / "submission.csv").read_bytes() == submission
    # fit-learners there reads the vectors run read, not the fine-tuned ones beside them (it asked for --features).
    assert main(["-q", "fit-learners", "--train", str(train), "--test", str(test), "--out", str(out), "--folds", "3",
                 "--learners", "logreg,tfidf-svm"]) == 0
    assert [(p / "meta.json").stat().st_mtime_ns for p in learners] == stamps, "reused, not refitted"


def test_a_fine_tuned_learner_deleted_by_hand_is_refitted_by_the_fine_tuning_not_fit_learners(tiny_corpus_files, tmp_path,
                                                                                              random_bert, capsys):
    # stack said "Rerun screenstack fit-learners --learners finetune-...", which fit-learners refuses as unknown.
    train, test = tiny_corpus_files
    out = tmp_path / "ft"
    assert _run(train, test, out, random_bert, *FINETUNE) == 0
    name = _fine_tuned(random_bert)
    shutil.rmtree(out / "learners" / name)
    capsys.readouterr()
    assert main(["-q", "stack", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    # A run's folder: its config.toml fine-tunes again with the run's options (0.3.34; before, `extract --finetune`).
    assert f"Rerun `screenstack run --config {out / 'config.toml'}`: it refits" in error
    assert f"--learners {name}" not in error
    assert main(["-q", "run", "--config", str(out / "config.toml")]) == 0
    assert (out / "learners" / name / "meta.json").is_file()


def test_a_finetuning_run_with_another_max_length_is_refused_once_with_the_fine_tuned_learner(tiny_corpus_files, tmp_path,
                                                                                               random_bert, capsys):
    # The frozen learners were refused before extraction, the fine-tuned one (and its state) only in a second step.
    train, test = tiny_corpus_files
    out = tmp_path / "ft"
    assert _run(train, test, out, random_bert, *FINETUNE) == 0
    capsys.readouterr()
    assert _run(train, test, out, random_bert, *FINETUNE, "--max-length", "32") == 2
    error = capsys.readouterr().err.strip()
    name = _fine_tuned(random_bert)
    assert f"{out / 'learners' / 'logreg'}, {out / 'learners' / name}: hold the outputs of logreg, {name} of another" in error
    assert "(differs in: --max-length (64 there, 32 now))" in error and "give --max-length 64 to go on with it" in error
    assert f"delete them and {out / 'finetune' / name} to refit them" in error and "\n" not in error
    stamps = [(p / "meta.json").stat().st_mtime_ns for p in sorted((out / "learners").iterdir())]
    assert _run(train, test, out, random_bert, *FINETUNE, "--max-length", "64") == 0
    assert [(p / "meta.json").stat().st_mtime_ns for p in sorted((out / "learners").iterdir())] == stamps


def test_a_finetuning_run_on_another_test_file_is_refused_once_naming_every_folder_in_the_way(tiny_corpus_files, tmp_path,
                                                                                            random_bert, capsys):
    # It took three refusals, each naming only some of the folders (the frozen learners', then the fine-tuned
    # learner's with a `predict --run` hint that predict refuses for such a run, then the fine-tuning's state).
    import re

    train, test = tiny_corpus_files
    out = tmp_path / "ft"
    assert _run(train, test, out, random_bert, *FINETUNE) == 0
    other = tmp_path / "other_test.csv"
    frame = pd.read_csv(test, dtype=str, keep_default_na=False)
    frame["abstract"] = frame["abstract"].to_numpy()[::-1]
    frame.to_csv(other, index=False)
    name = _fine_tuned(random_bert)
    capsys.readouterr()
    assert main(["-q", "extract", "--train", str(train), "--test", str(other), "--model", random_bert, "--out", str(out),
                 "--folds", "3", "--max-length", "64", *FINETUNE]) == 2  # extract --finetune alone: the same one step
    error = capsys.readouterr().err.strip()
    assert f"{out / 'learners' / name}, {out / 'finetune' / name}, " in error and str(out / "learners" / "logreg") in error
    assert _run(train, other, out, random_bert, *FINETUNE) == 2
    error = capsys.readouterr().err.strip()
    named = {Path(p.rstrip(",:")) for p in re.findall(re.escape(str(out)) + r"/\S+", error)}
    assert {out / "learners" / "logreg", out / "learners" / "tfidf-svm", out / "learners" / name, out / "finetune" / name} <= named
    assert "\n" not in error and "predict --run" not in error
    for folder in (out / "learners" / "logreg", out / "learners" / "tfidf-svm"):  # a user who deleted only some of them
        shutil.rmtree(folder)
    assert _run(train, other, out, random_bert, *FINETUNE) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"screenstack: error: {out / 'learners' / name}: ") and "the records to screen" in error
    assert f"delete it and {out / 'finetune' / name}" in error
    assert "predict --run" not in error, "predict refuses a run with a fine-tuned learner: no way on"
    for folder in (out / "learners" / name, out / "finetune" / name):
        shutil.rmtree(folder)
    assert _run(train, other, out, random_bert, *FINETUNE) == 0


def test_run_on_another_runs_fold_plan_is_refused_before_extracting(tiny_corpus_files, tmp_path, random_bert, capsys):
    # The refusal came from fit-learners, after the (on a real model, hour-long) extraction had added a feature file.
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    assert _run(train, test, out, random_bert) == 0
    before = sorted(p.name for p in (out / "features").iterdir())
    capsys.readouterr()
    assert _run(train, test, out, random_bert, "--max-length", "32", "--folds", "4") == 2
    error = capsys.readouterr().err.strip()
    assert "--folds (3 there, 4 now)" in error and "stages before it finished" not in error and "\n" not in error
    assert sorted(p.name for p in (out / "features").iterdir()) == before


def test_run_whose_learners_in_out_were_made_otherwise_is_refused_before_extracting(tiny_corpus_files, tmp_path,
                                                                                    random_bert, other_random_bert, capsys):
    # Another --max-length (or test file) in the same --out: fit-learners refused logreg's outputs only after the
    # texts had been encoded and a feature file added to OUT.
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    assert _run(train, test, out, random_bert) == 0
    before = sorted(p.name for p in (out / "features").iterdir())
    capsys.readouterr()
    assert _run(train, test, out, random_bert, "--max-length", "32") == 2
    error = capsys.readouterr().err.strip()
    assert "'logreg' outputs of another configuration (differs in: --max-length (64 there, 32 now))" in error
    assert "Use a new --out folder, give --max-length 64 to go on with it, or delete" in error
    assert "stages before it finished" not in error and "\n" not in error
    # 0.3.24's default vectors against 0.3.25's: the values as the flags take them, to be given again.
    assert _run(train, test, out, random_bert, "--layers", "-1", "--pooling", "cls,mean") == 2
    error = capsys.readouterr().err
    assert "(differs in: --layers (-1,-2,-3,-4 there, -1 now); --pooling (mean there, cls,mean now))" in error
    # The way on it names works as typed.
    assert "give --layers=-1,-2,-3,-4 --pooling mean to go on with it" in error
    assert _run(train, test, out, random_bert, "--layers=-1,-2,-3,-4", "--pooling", "mean") == 0
    fewer = tmp_path / "fewer.csv"
    pd.read_csv(test, dtype=str, keep_default_na=False).iloc[:50].to_csv(fewer, index=False)
    assert _run(train, fewer, out, random_bert) == 2
    assert ("(differs in: the records to screen (--test, or --data's unlabelled ones, or the columns read: --text-cols), here "
            "50 scored before no longer there (first: id") in capsys.readouterr().err
    assert _run(train, test, out, other_random_bert) == 2  # another model, under another folder name
    assert "(differs in: --model (" in capsys.readouterr().err
    assert sorted(p.name for p in (out / "features").iterdir()) == before
    assert _run(train, test, out, random_bert + "/") == 0  # the same options and model still reuse everything


@pytest.mark.parametrize("folder", ["models", "my models"])
def test_another_model_is_refused_with_the_model_folder_that_made_the_run_as_the_way_on(tiny_corpus_files, tmp_path, random_bert,
                                                                                       other_random_bert, capsys, monkeypatch,
                                                                                       folder):
    # "give --model bert to go on with it" named the feature file, not the folder given as models/bert: from anywhere
    # but models' parent, --model bert did not load. The way on is now the folder's path (quoted where it has a space).
    train, test = (Path(p).resolve() for p in tiny_corpus_files)
    out = tmp_path / "run"
    model = tmp_path / folder / Path(random_bert).name
    shutil.copytree(random_bert, model)
    monkeypatch.chdir(tmp_path)
    assert _run(train, test, out, f"{folder}/{model.name}") == 0
    capsys.readouterr()
    assert _run(train, test, out, other_random_bert) == 2
    error = capsys.readouterr().err
    shown = f"'{model.resolve()}'" if " " in folder else str(model.resolve())
    assert f"give --model {shown} to go on with it" in error
    monkeypatch.chdir("/")
    assert _run(train, test, out, str(model.resolve())) == 0
    # The folder renamed: its old path is no way on (a helper was told to give a --model that no longer existed).
    renamed = model.with_name("renamed")
    model.rename(renamed)
    capsys.readouterr()
    assert _run(train, test, out, str(renamed)) == 2
    error = capsys.readouterr().err
    assert "(differs in: --model (" in error and "Use a new --out folder, or delete that folder to refit it." in error


def test_a_model_folder_given_by_its_bare_name_is_offered_by_its_path_and_not_once_renamed(tiny_corpus_files, tmp_path,
                                                                                           random_bert, other_random_bert,
                                                                                           capsys, monkeypatch):
    # `--model tinybert` from the folder's parent was taken for a hub name: the way on offered "--model tinybert",
    # which loads only from there, and after a rename offered it still (a helper's finding).
    train, test = (Path(p).resolve() for p in tiny_corpus_files)
    out = tmp_path / "run"
    shutil.copytree(random_bert, tmp_path / "models" / "tinybert")
    monkeypatch.chdir(tmp_path / "models")
    assert _run(train, test, out, "tinybert") == 0
    capsys.readouterr()
    assert _run(train, test, out, other_random_bert) == 2
    assert f"give --model {(tmp_path / 'models' / 'tinybert').resolve()} to go on with it" in capsys.readouterr().err
    (tmp_path / "models" / "tinybert").rename(tmp_path / "models" / "tinybert2")
    assert _run(train, test, out, "tinybert2") == 2
    error = capsys.readouterr().err
    assert "(differs in: --model (tinybert there, tinybert2 now))" in error and "to go on with it" not in error


def test_learners_fitted_on_a_feature_file_named_otherwise_offer_no_model_named_after_it(tiny_corpus_files, tmp_path,
                                                                                          random_bert, capsys):
    # fit-learners on a copy of the vectors outside OUT named b0.parquet: run then offered "give --model b0", which
    # does not load (the file's name is no model's).
    train, test = tiny_corpus_files
    assert main(["-q", "extract", "--train", str(train), "--test", str(test), "--model", random_bert, "--max-length", "64",
                 "--out", str(tmp_path / "first")]) == 0
    copy = tmp_path / "b0.parquet"
    shutil.copy(next((tmp_path / "first" / "features").glob("*.parquet")), copy)
    out = tmp_path / "run"
    assert main(["-q", "fit-learners", "--train", str(train), "--test", str(test), "--out", str(out), "--folds", "3",
                 "--learners", "logreg,tfidf-svm", "--features", str(copy)]) == 0
    capsys.readouterr()
    assert _run(train, test, out, random_bert) == 2
    error = capsys.readouterr().err
    assert "--model (b0 there," in error and "give --model b0" not in error and "to go on with it" not in error


def test_other_weights_in_the_same_model_folder_are_refused_before_any_text_is_encoded(tiny_corpus_files, tmp_path,
                                                                                       other_random_bert, capsys):
    # A model folder trained again in place keeps its name, so only the loaded weights tell: the refusal came from
    # fit-learners after every text had been encoded with them (and a second feature file added to OUT).
    train, test = tiny_corpus_files
    model, out = make_random_bert(tmp_path / "model"), tmp_path / "run"
    assert _run(train, test, out, model, "--cache-dir", str(tmp_path / "cache")) == 0
    before = sorted(p.name for p in (out / "features").iterdir())
    caches = sorted(p.name for p in (tmp_path / "cache").iterdir())
    for weights in Path(other_random_bert).glob("*.safetensors"):
        shutil.copy(weights, Path(model) / weights.name)
    capsys.readouterr()
    assert _run(train, test, out, model, "--cache-dir", str(tmp_path / "cache")) == 2
    error = capsys.readouterr().err.strip()
    assert "'logreg' outputs of another configuration (differs in: the encoder (its weights, config or tokenizer))" in error and "\n" not in error
    assert sorted(p.name for p in (out / "features").iterdir()) == before
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == caches  # no text was encoded with the new weights


def test_a_finetuning_run_of_a_relative_model_folder_repeated_from_another_folder_reuses_its_learner(
        tiny_corpus_files, tmp_path, random_bert, monkeypatch):
    # config.toml names the folder absolute; the learner named it as typed, so the rerun was refused (--model differs).
    train, test = tiny_corpus_files
    shutil.copytree(random_bert, tmp_path / "models" / "bert")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "ft"
    assert _run(train, test, out, "models/bert", "--finetune", "--epochs", "1", "--batch-size", "16", "--device", "cpu",
                "--yes") == 0
    learners = sorted((out / "learners").iterdir())
    stamps = [(p / "meta.json").stat().st_mtime_ns for p in learners]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["-q", "run", "--config", str(out / "config.toml")]) == 0
    assert [(p / "meta.json").stat().st_mtime_ns for p in learners] == stamps, "reused, not refitted"


def test_run_again_from_its_config_file_in_another_folder_finds_a_model_given_as_a_relative_folder(
        tiny_corpus_files, tmp_path, random_bert, monkeypatch):
    train, test = tiny_corpus_files
    shutil.copytree(random_bert, tmp_path / "models" / "bert")
    monkeypatch.chdir(tmp_path)
    assert _run(train, test, tmp_path / "first", "models/bert") == 0
    config = (tmp_path / "first" / "config.toml").read_text()
    assert f'model = "{tmp_path / "models" / "bert"}"' in config
    (tmp_path / "again.toml").write_text(config.replace(str(tmp_path / "first"), str(tmp_path / "second")))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # where models/bert names nothing
    assert main(["-q", "run", "--config", str(tmp_path / "again.toml")]) == 0
    assert (tmp_path / "first" / "submission.csv").read_bytes() == (tmp_path / "second" / "submission.csv").read_bytes()


def test_learners_fitted_on_vectors_padded_otherwise_are_refused_before_any_text_is_encoded(tiny_corpus_files, tmp_path,
                                                                                             random_bert, capsys, monkeypatch):
    # 0.3.2 padded a text to its batch's longest, so its vectors hung on its neighbours; a folder of such vectors
    # is refused (the padding is part of what `run` compares), and the cache made with them is not read.
    import screenstack.extract.encode as encode_module
    import screenstack.extract.stage as stage_module

    train, test = tiny_corpus_files
    out, cache = tmp_path / "run", tmp_path / "cache"
    monkeypatch.setattr(encode_module, "PADDING", "each batch to its longest text")
    monkeypatch.setattr(stage_module, "PADDING", "each batch to its longest text")
    assert _run(train, test, out, random_bert, "--cache-dir", str(cache)) == 0
    monkeypatch.undo()
    before, caches = sorted(p.name for p in (out / "features").iterdir()), sorted(p.name for p in cache.iterdir())
    capsys.readouterr()
    assert _run(train, test, out, random_bert, "--cache-dir", str(cache)) == 2
    error = capsys.readouterr().err.strip()
    assert ("'logreg' outputs of another configuration (differs in: the text padding (each batch to its longest text "
            "there, each text to a multiple of 16 tokens now))" in error and "\n" not in error)
    assert sorted(p.name for p in (out / "features").iterdir()) == before
    assert sorted(p.name for p in cache.iterdir()) == caches  # nothing encoded
    assert _run(train, test, tmp_path / "new", random_bert, "--cache-dir", str(cache)) == 0
    assert len(list(cache.iterdir())) == len(caches) + 1  # a new --out encodes into a cache of today's padding


@pytest.mark.parametrize("command", ["extract", "run"])
def test_the_cnn_heads_options_under_the_linear_head_are_said_unused(command, tmp_path):
    # They were recorded and had no effect, and a rerun without them was refused as another configuration.

    from screenstack.cli import parse_args
    from screenstack.commands.extract import warn_unused_finetune_options

    base = [command, "--train", "t.csv", "--test", "s.csv", "--out", str(tmp_path / "o"), "--finetune"]
    from screenstack.commands.extract import finetune_config

    unused = parse_args(base + ["--cnn-channels", "8", "--cnn-kernel", "3"])
    with pytest.warns(UserWarning, match=r"--cnn-channels and --cnn-kernel: for --head cnn, not used with --head linear"):
        warn_unused_finetune_options(unused)
    # Recorded as the defaults, so that the fine-tuning is reused with or without them (a rerun was refused).
    assert finetune_config(unused).identity() == finetune_config(parse_args(base)).identity()
    assert finetune_config(parse_args(base + ["--head", "cnn", "--cnn-channels", "8"])).cnn_channels == 8
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        warn_unused_finetune_options(parse_args(base + ["--head", "cnn", "--cnn-channels", "8"]))
        warn_unused_finetune_options(parse_args(base))
    assert not [w for w in said if "cnn" in str(w.message)]


def test_extract_says_which_given_options_it_does_not_use(tiny_corpus_files, tmp_path, random_bert):
    # --folds without --finetune was taken and silently ignored: the fold plan is fit-learners'.
    import warnings

    train, test = tiny_corpus_files
    command = ["-q", "extract", "--train", str(train), "--test", str(test), "--model", random_bert, "--max-length", "32"]
    with pytest.warns(UserWarning, match="--folds and --seed are not used without --finetune"):
        assert main(command + ["--out", str(tmp_path / "x"), "--folds", "3"]) == 0
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        assert main(command + ["--out", str(tmp_path / "y")]) == 0
    assert not [w for w in said if "not used" in str(w.message)]


def test_extract_into_a_run_of_other_records_is_refused_before_encoding(tiny_corpus_files, tmp_path, random_bert, capsys):
    # extract encoded every text of another training or test file into a fitted run folder and added a feature file;
    # only fit-learners refused the folder, once the (on PubMedBERT, long) encoding was spent.
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    assert _run(train, test, out, random_bert) == 0
    before = sorted(p.name for p in (out / "features").iterdir())
    extract = ["-q", "extract", "--model", random_bert, "--max-length", "32", "--out", str(out)]
    relabelled, fewer = tmp_path / "relabelled.csv", tmp_path / "fewer.csv"
    rows = pd.read_csv(train, dtype=str, keep_default_na=False)
    rows.loc[0, "label_included"] = "1" if rows.loc[0, "label_included"] == "0" else "0"
    rows.to_csv(relabelled, index=False)
    pd.read_csv(test, dtype=str, keep_default_na=False).iloc[:50].to_csv(fewer, index=False)
    capsys.readouterr()
    assert main([*extract, "--train", str(relabelled), "--test", str(test)]) == 2
    error = capsys.readouterr().err
    assert "holds artifacts of another configuration (differs in: the training records: 1 labelled otherwise" in error
    assert main([*extract, "--train", str(train), "--test", str(fewer)]) == 2
    assert "scored other records to screen" in capsys.readouterr().err
    assert sorted(p.name for p in (out / "features").iterdir()) == before
    # The run's own records with other vector settings go on: the feature file is named by them, and the fold
    # options, which extract does not use, are not compared.
    assert main([*extract, "--train", str(train), "--test", str(test), "--folds", "4"]) == 0
    assert len(list((out / "features").iterdir())) == len(before) + 1


def test_vector_learners_on_fine_tuned_vectors_in_out_are_refused_as_such_before_fine_tuning(tiny_corpus_files, tmp_path,
                                                                                               random_bert, capsys, monkeypatch):
    # A folder of 0.3.23's `run --finetune` (its vector learners on the cross-fitted vectors), made here as 0.3.24 makes
    # one: the refusal said "--model (finetune-bert there, bert now)" and a padding of None, neither of which the user gave.
    train, test = tiny_corpus_files
    out = tmp_path / "old"
    common = ["--train", str(train), "--test", str(test), "--out", str(out)]
    assert main(["-q", "extract", "--finetune", *common, "--model", random_bert, "--folds", "3", "--max-length", "64",
                 "--epochs", "1", "--batch-size", "16", "--device", "cpu", "--yes"]) == 0
    crossfit = next((out / "features").glob("finetune-*.parquet"))
    fit_on_them = ["-q", "fit-learners", *common, "--learners", "logreg", "--folds", "3", "--features", str(crossfit)]
    assert main(fit_on_them) == 2  # from 0.3.44: not honest out of fold
    assert f"--features {crossfit}: a fine-tuning's cross-fitted vectors" in capsys.readouterr().err
    assert not (out / "learners" / "logreg").exists()
    import screenstack.learners.fit as fit_module

    with monkeypatch.context() as older:  # as 0.3.43 and before fitted them
        older.setattr(fit_module, "refuse_crossfit_vectors", lambda files: None)
        assert main(fit_on_them) == 0
    capsys.readouterr()
    assert _run(train, test, out, random_bert, "--finetune", "--epochs", "2", "--batch-size", "16", "--device", "cpu",
                "--yes") == 2
    err = capsys.readouterr().err
    assert f"{out / 'learners' / 'logreg'}: fitted on the fine-tuned encoder's cross-fitted vectors" in err
    assert "Use a new --out folder, or delete that folder to refit it." in err and "Traceback" not in err
    assert [p.name for p in (out / "features").iterdir()] == [crossfit.name], "refused before any extraction"


def test_run_finetune_refuses_layers_its_model_lacks_before_fine_tuning(tiny_corpus_files, tmp_path, capsys):
    # The default --layers last4 on a 3-layer model: refused after every fold had been fine-tuned, when extraction ran.
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    three = make_random_bert(tmp_path / "three-layers", layers=3)
    assert _run(train, test, out, three, "--finetune", "--epochs", "1", "--batch-size", "16", "--device", "cpu", "--yes") == 2
    err = capsys.readouterr().err
    assert "--layers last4: the model has 3 layers, so it has no layer -4 (last4 is the default" in err and "Traceback" not in err
    assert not (out / "finetune").exists() and not (out / "learners").exists(), "refused before the fine-tuning"
    plain = tmp_path / "plain"  # without --finetune: refused by extraction, before any text is encoded or file written
    assert _run(train, test, plain, three) == 2
    assert "so it has no layer -4 (last4 is the default" in capsys.readouterr().err and not plain.exists()
    assert _run(train, test, out, three, "--layers", "last3", "--finetune", "--epochs", "1", "--batch-size", "16", "--device",
                "cpu", "--yes") == 0


def test_run_says_which_fine_tuning_options_it_does_not_use_without_finetune(tiny_corpus_files, tmp_path):
    # `run --epochs 5 --head cnn` without --finetune went ahead without a word, as did the same keys in a --config file.
    import warnings

    train, test = tiny_corpus_files
    command = ["-q", "run", "--train", str(train), "--test", str(test), "--learners", "tfidf-svm"]
    with pytest.warns(UserWarning, match=r"--head, --epochs: fine-tuning options, not used without --finetune"):
        assert main(command + ["--out", str(tmp_path / "a"), "--head", "cnn", "--epochs", "5"]) == 0
    # Read back from a run's config.toml (which records every option, the fine-tuning ones of its version too), the
    # warning says they are the file's.
    with pytest.warns(UserWarning, match=r"--head, --epochs: fine-tuning options \(as .*a/config.toml sets them\), not used"):
        assert main(["-q", "run", "--config", str(tmp_path / "a" / "config.toml")]) == 0
    with pytest.warns(UserWarning, match=r"--head, --epochs, --lr: fine-tuning options \(--head, --epochs as .*a/config.toml "
                                         r"sets them\)"):  # --lr given on the command line: not the file's
        assert main(["-q", "run", "--config", str(tmp_path / "a" / "config.toml"), "--lr", "1e-4"]) == 0
    with pytest.warns(UserWarning, match=r"--head, --epochs, --lr: fine-tuning options \(--head, --lr as .*a/config.toml "
                                         r"sets them\)"):  # the rerun above wrote lr = 0.0001 into the file
        # --epochs typed with the file's own value (5): the command line's, not the file's
        assert main(["-q", "run", "--config", str(tmp_path / "a" / "config.toml"), "--epochs=5"]) == 0
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        assert main(command + ["--out", str(tmp_path / "b")]) == 0
        assert main(command + ["--out", str(tmp_path / "c"), "--select", "auc", "--pos-weight", "10"]) == 0  # the defaults' values
    assert not [w for w in said if "fine-tuning option" in str(w.message)]
    # Not given, --select is auc, or loss under --valid-fraction 0: not a value the user gave, so not named.
    with pytest.warns(UserWarning, match=r"^--valid-fraction: a fine-tuning option, not used without --finetune \(add "
                                         r"--finetune to fine-tune with it\)"):
        assert main(command + ["--out", str(tmp_path / "d"), "--valid-fraction", "0"]) == 0
    # config.toml holds --select as resolved, so it repeats the run if that default changes; read back, it is no more
    # "given" than it was.
    assert 'select = "auc"' in (tmp_path / "b" / "config.toml").read_text()
    assert 'select = "loss"' in (tmp_path / "d" / "config.toml").read_text()
    with pytest.warns(UserWarning, match=r"^--valid-fraction: a fine-tuning option \(as .*d/config.toml sets it\)"):
        assert main(["-q", "run", "--config", str(tmp_path / "d" / "config.toml")]) == 0


def test_extract_into_an_unwritable_features_folder_is_refused_before_encoding(tiny_corpus_files, tmp_path, random_bert,
                                                                               capsys, monkeypatch):
    # OUT/features read-only (or on another disk): every text was encoded, then the feature file refused at the commit.
    from screenstack.extract import stage
    from screenstack.features.artifacts import runfolder

    train, test = tiny_corpus_files
    out = tmp_path / "run"
    extract = ["-q", "extract", "--train", str(train), "--test", str(test), "--model", random_bert, "--out", str(out)]
    assert main([*extract, "--max-length", "32"]) == 0
    access = runfolder.os.access
    monkeypatch.setattr(runfolder.os, "access", lambda path, mode: Path(path).name != "features" and access(path, mode))
    encoded = []
    monkeypatch.setattr(stage, "encode_into_cache", lambda *args, **kwargs: encoded.append(1))
    before = sorted(p.name for p in (out / "features").iterdir())
    capsys.readouterr()
    assert main([*extract, "--max-length", "48"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"screenstack: error: {out / 'features'}: cannot write") and "Nothing was written" in error
    assert not encoded and sorted(p.name for p in (out / "features").iterdir()) == before
