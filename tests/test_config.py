"""Configs are data, checked in full before any work: bad values, flags and --config files through the CLI.

Each probe runs against a folder holding a finished run and must exit 2 with one
line naming the value (and the file, for --config), no traceback, and leave the
folder byte for byte as it was.
"""
from __future__ import annotations

import json
import re
import logging
import shutil
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from screenstack.cli import main
from screenstack.extract.stage import ExtractConfig
from screenstack.features.errors import ScreenstackError
from screenstack.features.artifacts.folds import FoldConfig
from screenstack.learners.config import LearnersConfig
from screenstack.stacking.stack import StackConfig

DATASETS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"
TEXT = ["--learners", "tfidf-svm,tfidf-logreg", "--folds", "3"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, Path, Path]:
    """``(train.csv, test.csv, run folder)``: a finished TF-IDF-only run on 200 + 100 records."""
    root = tmp_path_factory.mktemp("finished")
    data = pd.read_csv(DATASETS / "cohen_atypical_antipsychotics.csv", dtype=str, keep_default_na=False)
    train, test = root / "train.csv", root / "test.csv"
    data.iloc[:200][["record_id", "title", "abstract", "label_included"]].to_csv(train, index=False)
    data.iloc[200:300][["record_id", "title", "abstract"]].to_csv(test, index=False)
    out = root / "run"
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 0
    return train, test, out


@pytest.fixture
def run_copy(finished, tmp_path) -> tuple[Path, Path, Path]:
    train, test, out = finished
    shutil.copytree(out, tmp_path / "run")
    return train, test, tmp_path / "run"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("screenstack: error: "), err
    return lines[0]


# name -> (argv after the command's --train/--test/--out, {file name: bytes} for --config files, words in the message)
RUN_PROBES = {
    "beta nan": (["--beta", "nan"], {}, ["--beta nan", "finite number > 0"]),
    "beta inf": (["--beta", "inf"], {}, ["--beta inf"]),
    "beta 0": (["--beta", "0"], {}, ["--beta 0"]),
    "beta -1": (["--beta", "-1"], {}, ["--beta -1"]),
    "beta 1e200 (its square overflows)": (["--beta", "1e200"], {}, ["--beta 1e+200", "at most 1000"]),
    "beta 1000.0001 (said as typed, not rounded to 1000)": (["--beta", "1000.0001"], {}, ["--beta 1000.0001:", "at most 1000"]),
    "beta 1e-320 (its square vanishes beside 1)": (["--beta", "1e-320"], {}, ["--beta 1e-320", "at least 0.001"]),
    "seed -1": (["--seed", "-1"], {}, ["--seed -1", "0 to 4294967295"]),
    "seed 2**40": (["--seed", str(2**40)], {}, [f"--seed {2**40}"]),
    "folds 1 beside a vector learner": (["--folds", "1", "--learners", "logreg,tfidf-svm"], {}, ["--folds 1", "at least 2"]),
    "unknown learner beside a vector learner": (["--learners", "logreg,bogus"], {}, ["--learners bogus", "tfidf-svm, xgboost"]),
    "learner twice": (["--learners", "tfidf-svm,tfidf-svm"], {}, ["listed twice"]),
    "unknown pooling": (["--pooling", "cls,max"], {}, ["--pooling max", "cls, mean"]),
    "max length 1": (["--max-length", "1"], {}, ["--max-length 1"]),
    "batch tokens 0": (["--batch-tokens", "0"], {}, ["--batch-tokens '0'"]),
    "device gpu": (["--device", "gpu"], {}, ["--device 'gpu'", "cuda:N"]),
    "layer twice": (["--layers", "-1,-1"], {}, ["--layers", "twice"]),
    # argparse took "-1,,-2" for an option: "argument --layers: expected one argument"
    "empty layer": (["--layers", "-1,,-2"], {}, ["--layers '-1,,-2': an empty item in the list"]),
    "empty learner in a file's list": (["--config", "c.toml"], {"c.toml": b'learners = ["tfidf-svm", ""]\n'},
                                       ["--learners tfidf-svm,: an empty item in the list", "c.toml"]),
    # argparse took a negative decimal for an option: "argument --valid-fraction: expected one argument"
    "valid fraction -0.1": (["--valid-fraction", "-0.1"], {}, ["--valid-fraction -0.1", "[0, 0.5)"]),
    "lr -1e-3": (["--lr", "-1e-3"], {}, ["--lr -0.001", "> 0"]),
    "beta -1e-3": (["--beta", "-1e-3"], {}, ["--beta -0.001", "> 0"]),
    "lr -inf": (["--lr", "-inf"], {}, ["--lr -inf"]),
    "lr -1.5.2": (["--lr", "-1.5.2"], {}, ["--lr", "invalid float value: '-1.5.2'"]),
    "finetune=false": (["--finetune=false"], {}, ["--finetune=false: --finetune takes no value; give --finetune or --no-finetune"]),
    "unknown blend flag": (["--blend", "magic"], {}, ["--blend", "'magic'", "logistic"]),
    "unknown finetune head": (["--finetune", "--head", "bogus"], {}, ["--head 'bogus'", "cnn, linear"]),
    # Options of the path not taken are checked too: a later run with --finetune would repeat them.
    "batch size 0 without --finetune": (["--batch-size", "0"], {}, ["--batch-size 0", "integer >= 1"]),
    "eval batch size 0 without --finetune": (["--eval-batch-size", "0"], {}, ["--eval-batch-size 0"]),
    "lr nan without --finetune": (["--lr", "nan"], {}, ["--lr nan"]),
    "chunk size 0 with --finetune": (["--finetune", "--chunk-size", "0"], {}, ["--chunk-size 0"]),
    "unknown pooling with --finetune": (["--finetune", "--pooling", "max"], {}, ["--pooling max"]),
    "toml batch size 0 without --finetune": (["--config", "c.toml"], {"c.toml": b"batch_size = 0\n"}, ["--batch-size 0", "c.toml"]),
    # A file's value that a flag overrides is checked all the same: the file is used again without the flag.
    "toml learner overridden by the flag": (["--config", "c.toml", "--learners", "tfidf-svm"],
                                            {"c.toml": b'learners = ["tfidf-svm", "nope"]\n'},
                                            ["--learners nope", "c.toml", "the command line overrides it", "fix the file"]),
    "toml batch size overridden by the flag": (["--config", "c.toml", "--batch-size", "8"], {"c.toml": b"batch_size = 0\n"},
                                               ["--batch-size 0", "c.toml", "the command line overrides it"]),
    # The file's own value that the flag overrode is named, and where it came from once, not "(set in ...)" again.
    "toml valid fraction 0 beside its patience, overridden": (
        ["--config", "c.toml", "--valid-fraction", "0.1"], {"c.toml": b"valid_fraction = 0.0\npatience = 1\n"},
        ["--patience 1", "with --valid-fraction 0.0 as c.toml sets it; the command line overrides it"]),
    "toml blend magic": (["--config", "c.toml"], {"c.toml": b'blend = "magic"\n'}, ["c.toml", "blend = \"magic\"", "logistic"]),
    "toml folds 2.5": (["--config", "c.toml"], {"c.toml": b"folds = 2.5\n"}, ["c.toml", "folds = 2.5", "an integer"]),
    "toml learners 5": (["--config", "c.toml"], {"c.toml": b"learners = 5\n"}, ["c.toml", "learners = 5", "list of names"]),
    "toml list of non-names": (["--config", "c.toml"], {"c.toml": b"learners = [1, 2]\n"}, ["c.toml", "learners = [", "list of names"]),
    "toml finetune a string": (["--config", "c.toml"], {"c.toml": b'finetune = "yes"\n'}, ["c.toml", "true or false"]),
    "toml beta nan": (["--config", "c.toml"], {"c.toml": b"beta = nan\n"}, ["--beta nan", "(set in", "c.toml"]),
    "toml seed too big": (["--config", "c.toml"], {"c.toml": b"seed = 1099511627776\n"}, ["--seed 1099511627776", "c.toml"]),
    "toml unknown key": (["--config", "c.toml"], {"c.toml": b"fold = 3\n"}, ["c.toml", "unknown option(s) fold", "folds"]),
    "toml latin-1": (["--config", "c.toml"], {"c.toml": "model = \"caf\xe9\"\n".encode("latin-1")}, ["c.toml", "not UTF-8"]),
    "toml invalid": (["--config", "c.toml"], {"c.toml": b"folds = = 3\n"}, ["c.toml", "not valid TOML"]),
    "toml is a folder": (["--config", "."], {}, ["--config .", "is a folder"]),
    "toml missing": (["--config", "nope.toml"], {}, ["nope.toml", "no such file"]),
    "toml with =": (["--config=c.toml"], {"c.toml": b"beta = -1\n"}, ["--beta -1", "c.toml"]),
    "-q and -v": (["-q", "-v"], {}, ["-q and -v"]),
}


@pytest.mark.parametrize("probe", RUN_PROBES, ids=list(RUN_PROBES))
def test_bad_run_options_exit_2_in_one_line_before_any_work(run_copy, capsys, monkeypatch, probe):
    train, test, out = run_copy
    flags, files, words = RUN_PROBES[probe]
    monkeypatch.chdir(out.parent)
    for name, content in files.items():
        (out.parent / name).write_bytes(content)
    before = _snapshot(out)
    argv = ["run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT, *flags]
    assert main(argv) == 2
    message = _one_error_line(capsys)
    for word in words:
        assert word in message, (word, message)
    assert _snapshot(out) == before, "the finished run is untouched"


OTHER_PROBES = {
    "stack beta nan": (["stack", "--beta", "nan"], ["--beta nan"]),
    "stack beta 1e308": (["stack", "--beta", "1e308"], ["--beta 1e+308", "at most 1000"]),
    "stack seed -1": (["stack", "--seed", "-1"], ["--seed -1"]),
    # argparse took "-1e-3" for an option in every command but extract and run
    "stack min recall -1e-1": (["stack", "--min-recall", "-1e-1"], ["--min-recall -0.1", "0 to 1"]),
    "stack threshold rule": (["stack", "--threshold-rule", "magic"], ["--threshold-rule", "bootstrap"]),
    "fit-learners unknown learner": (["fit-learners", "--learners", "logreg,bogus", "--features", "x.parquet"], ["--learners bogus"]),
    "fit-learners folds 1": (["fit-learners", "--folds", "1"], ["--folds 1"]),
    # Its columns twice in the vectors, before.
    "fit-learners one feature file twice": (["fit-learners", "--learners", "logreg", "--features", "f/x.parquet",
                                             "f/../f/x.parquet"], ["--features f/x.parquet and f/../f/x.parquet", "twice"]),
    "fit-learners folds not a number": (["fit-learners", "--folds", "two"], ["--folds", "'two'"]),
    "extract max length": (["extract", "--max-length", "1"], ["--max-length 1"]),
    "extract seed": (["extract", "--seed", str(2**32)], [f"--seed {2**32}"]),
    "extract batch size 0 without --finetune": (["extract", "--batch-size", "0"], ["--batch-size 0"]),
    "extract batch tokens 0 with --finetune": (["extract", "--finetune", "--batch-tokens", "0"], ["--batch-tokens '0'"]),
}


@pytest.mark.parametrize("probe", OTHER_PROBES, ids=list(OTHER_PROBES))
def test_bad_stage_options_exit_2_in_one_line(run_copy, capsys, probe):
    train, test, out = run_copy
    (command, *flags), words = OTHER_PROBES[probe]
    inputs = [] if command == "stack" else ["--train", str(train), "--test", str(test)]
    before = _snapshot(out)
    assert main([command, "--out", str(out), *inputs, *flags]) == 2
    message = _one_error_line(capsys)
    for word in words:
        assert word in message, (word, message)
    assert _snapshot(out) == before


def test_a_config_file_whose_values_agree_is_checked_whole_not_one_value_at_a_time(run_copy, tmp_path, capsys):
    # select = "auc" beside valid_fraction = 0.1 is a good file; with both overridden by flags that agree with each
    # other, checking the file one value at a time paired its auc with the command line's 0 and refused the run.
    train, test, out = run_copy
    (tmp_path / "c.toml").write_text('select = "auc"\nvalid_fraction = 0.1\n')
    argv = ["run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT, "--config", str(tmp_path / "c.toml")]
    assert main(argv + ["--valid-fraction", "0", "--select", "loss"]) == 0
    before = _snapshot(out)
    assert main(argv + ["--valid-fraction", "0"]) == 2  # the file's auc with the command line's 0: refused
    capsys.readouterr()
    (tmp_path / "c.toml").write_text("valid_fraction = 0.0\npatience = 1\n")
    assert main(argv + ["--valid-fraction", "0.1"]) == 2
    message = _one_error_line(capsys)
    assert message.count("c.toml") == 1 and "(set in" not in message, "where the value came from, once"
    assert _snapshot(out) == before, "refused before any work: the finished run is untouched"


def test_stack_checks_a_config_files_value_the_command_line_overrides(run_copy, tmp_path, capsys):
    """`stack --config FILE --beta 7` with ``beta = -1`` in FILE: the file is refused now, not when used without the flag."""
    _, _, out = run_copy
    (tmp_path / "c.toml").write_text("beta = -1\n")
    before = _snapshot(out)
    assert main(["stack", "--out", str(out), "--config", str(tmp_path / "c.toml"), "--beta", "7"]) == 2
    message = _one_error_line(capsys)
    assert "--beta -1" in message and "c.toml" in message and "the command line overrides it" in message, message
    assert _snapshot(out) == before


def test_layers_past_the_models_last_are_named_as_typed(run_copy, capsys):
    """MiniLM has 6 layers: the message quotes `last99`, not the first layer past the end (-7), which nobody typed."""
    train, test, out = run_copy
    before = _snapshot(out)
    argv = ["extract", "--train", str(train), "--test", str(test), "--out", str(out), "--model", "minilm", "--device", "cpu",
            "--layers", "last99"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    error = err.strip().splitlines()[-1]  # after the reader's warnings about the records
    assert error.startswith("screenstack: error: --layers last99: ") and "6 layers" in error and "last6" in error, error
    assert _snapshot(out) == before


def test_split_with_a_bad_seed_exits_2(tmp_path, capsys):
    data = tmp_path / "data.csv"
    data.write_text("id,title,abstract,judgement\n" + "".join(f"{i},t{i},a{i},{int(i % 4 == 0)}\n" for i in range(20)))
    assert main(["split", "--data", str(data), "--out", str(tmp_path / "out"), "--seed", "-1"]) == 2
    assert "--seed -1" in _one_error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_config_with_equals_sign_and_lists_is_read(finished, tmp_path):
    train, test, _ = finished
    config = tmp_path / "c.toml"
    config.write_text(f'train = "{train}"\ntest = "{test}"\nlearners = ["tfidf-svm"]\nfolds = 2\nbeta = 5\n')
    out = tmp_path / "run"
    assert main(["run", f"--config={config}", "--out", str(out), "-q"]) == 0
    summary = pd.read_json(out / "summary.json", typ="series")
    assert set(summary["learners"]) == {"tfidf-svm"} and summary["fold_plan"]["n_folds"] == 2 and summary["beta"] == 5
    written = tomllib.loads((out / "config.toml").read_text())
    assert written["learners"] == "tfidf-svm" and written["folds"] == 2 and written["beta"] == 5.0


def test_command_line_flags_win_over_the_config_file(finished, tmp_path):
    train, test, _ = finished
    config = tmp_path / "c.toml"
    config.write_text(f'train = "{train}"\ntest = "{test}"\nlearners = "tfidf-svm"\nfolds = 3\n')
    assert main(["-q", "run", "--config", str(config), "--folds", "2", "--out", str(tmp_path / "run")]) == 0
    assert pd.read_json(tmp_path / "run" / "summary.json", typ="series")["fold_plan"]["n_folds"] == 2


def test_no_finetune_undoes_a_config_files_finetune(finished, tmp_path):
    # A fine-tuned run's config.toml says `finetune = true`; repeating the run without fine-tuning needs a way to say so.
    train, test, _ = finished
    config = tmp_path / "c.toml"
    config.write_text(f'train = "{train}"\ntest = "{test}"\nlearners = "tfidf-svm"\nfinetune = true\ncompile = true\nepochs = 5\n')
    out = tmp_path / "run"
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        assert main(["-q", "run", "--config", str(config), "--no-finetune", "--no-compile", "--out", str(out)]) == 0
    # The file's fine-tuning options are the record of a fine-tuning turned off on purpose: not "not used" news.
    assert not [w for w in said if "fine-tuning option" in str(w.message)]
    assert not (out / "finetune").exists() and not list((out / "learners").glob("finetune-*"))
    written = tomllib.loads((out / "config.toml").read_text())
    assert written["finetune"] is False and written["compile"] is False


def test_a_hand_edited_config_toml_is_not_overwritten_by_a_run_without_it(run_copy, capsys):
    train, test, out = run_copy
    config = out / "config.toml"
    edited = config.read_text().replace('beta = 7.0', 'beta = 5.0')
    assert edited != config.read_text()
    config.write_text(edited)
    before = _snapshot(out)
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 2
    line = _one_error_line(capsys)  # one line: refused before the input files are read (and warned about)
    assert f"{config}: changed since `screenstack run` wrote it" in line and f"screenstack run --config {config}" in line
    assert _snapshot(out) == before
    # run with the edits: they are its options, and the file it writes keeps them
    assert main(["-q", "run", "--config", str(config), "--out", str(out)]) == 0  # (its out: the folder it was copied from)
    assert tomllib.loads(config.read_text())["beta"] == 5 and json.loads((out / "summary.json").read_text())["config"]["beta"] == 5
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 0  # written by run now


def test_a_config_toml_whose_edits_cannot_be_told_or_that_is_a_folder_is_refused_before_any_work(run_copy, capsys):
    train, test, out = run_copy
    config, manifest = out / "config.toml", out / ".manifests" / "config.json"
    manifest.write_text('{"files": ')  # cut short: whether config.toml was edited cannot be told
    before = _snapshot(out)
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 2
    line = _one_error_line(capsys)
    assert f"{config}: whether you changed it cannot be told ({manifest}, which listed it, is damaged)" in line
    assert _snapshot(out) == before
    config.unlink()
    config.mkdir()  # where the run writes its options: refused now, not after every stage ran
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 2
    assert f"{config}: is a folder, where this run writes its options" in _one_error_line(capsys)
    config.rmdir()
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 0
    assert tomllib.loads(config.read_text())["beta"] == 7.0


def test_a_copied_run_folders_config_without_out_is_refused_naming_both_folders(run_copy, capsys):
    # A copied run folder's config.toml still names the first folder as out: the rerun went there with a warning
    # (helper-164: `run --config COPY/config.toml --beta 3` remade the first folder's ranked.csv, the copy untouched).
    _, _, copy = run_copy
    original = Path(tomllib.loads((copy / "config.toml").read_text())["out"])
    before, copied = _snapshot(original), _snapshot(copy)
    assert main(["-q", "run", "--config", str(copy / "config.toml"), "--beta", "3"]) == 2
    line = _one_error_line(capsys)
    assert f"whose out is {original}, not that folder (copied or moved?). Give --out {copy} to rerun the folder" in line
    assert f"or --out {original} to rerun the file's" in line
    assert _snapshot(original) == before and _snapshot(copy) == copied
    # Another command given the copy's file names the run that repeats it with the copy's --out, which works.
    assert main(["-q", "stack", "--config", str(copy / "config.toml")]) == 2
    assert f"`screenstack run --config {copy / 'config.toml'} --out {copy}` repeats that run" in _one_error_line(capsys)
    assert main(["-q", "run", "--config", str(copy / "config.toml"), "--out", str(copy)]) == 0
    assert main(["-q", "run", "--config", str(copy / "config.toml"), "--out", str(original)]) == 0
    # Another TOML file kept in a run folder is not that folder's own: its out, the first folder, is taken as written.
    (copy / "variant.toml").write_text((copy / "config.toml").read_text().replace(str(copy), str(original)))
    assert main(["-q", "run", "--config", str(copy / "variant.toml"), "--beta", "3"]) == 0
    assert tomllib.loads((original / "config.toml").read_text())["beta"] == 3.0
    # The first folder gone (moved, not copied): only the copy is offered.
    (copy / "config.toml").write_text((copy / "config.toml").read_text().replace(str(copy), str(original) + "-gone"))
    assert main(["-q", "run", "--config", str(copy / "config.toml")]) == 2
    line = _one_error_line(capsys)
    assert line.endswith(f"Give --out {copy} to rerun the folder the file is in ({original}-gone is no longer there).")


def test_run_blends_only_its_own_learners(run_copy):
    train, test, out = run_copy
    assert {p.name for p in (out / "learners").iterdir()} == {"tfidf-svm", "tfidf-logreg"}
    assert main(["run", "--train", str(train), "--test", str(test), "--out", str(out), "-q",
                 "--learners", "tfidf-svm", "--folds", "3"]) == 0
    summary = pd.read_json(out / "summary.json", typ="series")
    assert set(summary["learners"]) == {"tfidf-svm"} and list(summary["blend"]["weights"]) == ["tfidf-svm"]
    assert summary["config"]["learners"] == ["tfidf-svm"]
    assert tomllib.loads((out / "config.toml").read_text())["learners"] == "tfidf-svm"


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_and_verbose_work_before_or_after_the_subcommand(run_copy, caplog, where):
    _, _, out = run_copy
    for flag, info_shown, debug_shown in (("-q", False, False), ("-v", True, True), (None, True, False)):
        caplog.clear()
        flags = [flag] if flag else []
        argv = [*flags, "stack", "--out", str(out)] if where == "before" else ["stack", "--out", str(out), *flags]
        with caplog.at_level(logging.DEBUG):
            assert main(argv) == 0
        messages = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "screenstack"]
        assert any(level == logging.INFO and text.startswith("blend ") for level, text in messages) == info_shown, (flag, messages)
        assert any(level == logging.DEBUG and text.startswith("config: StackConfig(") for level, text in messages) == debug_shown


def test_datasets_subcommands_take_quiet_too(capsys):
    assert main(["datasets", "list", "-q"]) == 0
    assert "cohen_adhd" in capsys.readouterr().out


@pytest.mark.parametrize("where", ["after", "before"])
def test_datasets_actions_take_config_before_or_after_the_action(tmp_path, capsys, where):
    config = tmp_path / "list.toml"
    config.write_text("long = true\n")
    argv = ["datasets", "list", "--config", str(config)] if where == "after" else ["datasets", "--config", str(config), "list"]
    assert main(argv) == 0
    assert "sha256:" in capsys.readouterr().out  # --long, from the file


def test_datasets_config_with_another_commands_options_names_the_valid_keys(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text("folds = 7\n")
    assert main(["datasets", "list", "--config", str(config)]) == 2
    assert capsys.readouterr().err == (f"screenstack: error: --config {config}: unknown option(s) folds for "
                                       "`screenstack datasets list`. Valid: long.\n")


def test_datasets_get_reads_its_mirror_and_dest_from_config(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SCREENSTACK_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SCREENSTACK_MIRROR", raising=False)  # the mirror comes from the file alone
    config, dest = tmp_path / "get.toml", tmp_path / "adhd.csv"
    config.write_text(f"mirror = {str(DATASETS.resolve())!r}\ndest = {str(dest)!r}\n")
    assert main(["-q", "datasets", "get", "cohen_adhd", "--config", str(config)]) == 0
    assert dest.exists() and capsys.readouterr().out.strip()


# Each config refuses bad values on construction, naming the flag.
CONFIG_CASES = [
    (FoldConfig, dict(n_folds=1), "--folds 1"),
    (FoldConfig, dict(n_folds=2.5), "--folds 2.5"),
    (FoldConfig, dict(n_folds=True), "--folds True"),
    (FoldConfig, dict(seed=-1), "--seed -1"),
    (FoldConfig, dict(seed=2**32), "--seed 4294967296"),
    (StackConfig, dict(beta=float("nan")), "--beta nan"),
    (StackConfig, dict(beta=float("inf")), "--beta inf"),
    (StackConfig, dict(beta=0), "--beta 0"),
    (StackConfig, dict(beta="7"), "--beta '7'"),
    (StackConfig, dict(blend="magic"), "auto, logistic"),
    (StackConfig, dict(threshold_rule="best"), "--threshold-rule 'best'"),
    (StackConfig, dict(learners=("a", "a")), "twice"),
    (StackConfig, dict(seed=1.5), "--seed 1.5"),
    (LearnersConfig, dict(learners=("bogus",)), "--learners bogus"),
    (LearnersConfig, dict(learners=()), "--learners is empty"),
    (ExtractConfig, dict(layers=()), "--layers"),
    (ExtractConfig, dict(layers=(-1, -1)), "twice"),
    (ExtractConfig, dict(pooling=("max",)), "--pooling max"),
    (ExtractConfig, dict(pooling=()), "--pooling is empty"),
    (ExtractConfig, dict(max_length=1), "--max-length 1"),
    (ExtractConfig, dict(dtype="int8"), "--dtype 'int8'"),
    (ExtractConfig, dict(store_dtype="float64"), "--store-dtype"),
    (ExtractConfig, dict(batch_tokens="lots"), "--batch-tokens 'lots'"),
    (ExtractConfig, dict(device="tpu"), "--device 'tpu'"),
    (ExtractConfig, dict(chunk_size=0), "--chunk-size 0"),
]


@pytest.mark.parametrize("cls, kwargs, words", CONFIG_CASES, ids=[f"{c.__name__}-{k}" for c, k, _ in CONFIG_CASES])
def test_configs_refuse_bad_values_on_construction(cls, kwargs, words):
    with pytest.raises(ScreenstackError) as error:
        cls(**kwargs)
    assert words in str(error.value)


@pytest.mark.parametrize("cls", [FoldConfig, StackConfig, LearnersConfig, ExtractConfig])
def test_default_configs_are_valid_and_frozen(cls):
    config = cls()
    with pytest.raises(AttributeError):
        config.seed = 1  # frozen


def test_booster_says_once_per_learner_that_it_cannot_stop_early(caplog, monkeypatch):
    from screenstack.learners import make_learner, vectors

    monkeypatch.setattr(vectors, "_SAID_NO_EARLY_STOP", set())
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 4)), np.r_[np.ones(10), np.zeros(50)].astype(int)
    with caplog.at_level(logging.INFO, logger="screenstack"):
        for _ in range(3):
            make_learner("lightgbm", fixed_rounds=5, n_jobs=1).fit(X, y)
    assert sum("too few to stop early" in r.getMessage() for r in caplog.records) == 1


RUN_OPTIONS = [
    [],
    ["--learners", "logreg,tfidf-svm", "--layers", "-1,-2", "--pooling", "mean", "--max-length", "128", "--dtype", "bf16",
     "--store-dtype", "float16", "--batch-tokens", "8192", "--device", "cpu", "--chunk-size", "64", "--beta", "3.5",
     "--blend", "caruana", "--threshold-rule", "argmax", "--folds", "4", "--seed", "7"],
    ["--layers", "last3", "--model", "minilm", "--id-col", "record_id", "--text-cols", "title,abstract"],
    ["--finetune", "--head", "cnn", "--epochs", "2", "--lr", "1e-4", "--batch-size", "8", "--grad-accum", "2",
     "--warmup-ratio", "0.2", "--valid-fraction", "0.2", "--select", "auc", "--compile", "--yes"],
]


@pytest.mark.parametrize("options", RUN_OPTIONS, ids=["defaults", "every-extract-and-stack-option", "lastN", "finetune"])
def test_run_configs_round_trip_through_config_toml(tmp_path, options):
    from screenstack.cli import parse_args
    from screenstack.commands.run import config_toml, run_configs

    args = parse_args(["run", "--train", "train.csv", "--test", "test.csv", "--out", "out", *options])
    (tmp_path / "config.toml").write_text(config_toml(args))
    again = parse_args(["run", "--config", str(tmp_path / "config.toml")])
    assert run_configs(again) == run_configs(args)
    assert config_toml(again) == config_toml(args)


def test_an_error_naming_a_flag_with_a_colon_says_which_config_file_set_it():
    from screenstack.cli import _with_source

    message = "--model: the run blends no vector learners (tfidf-svm), so predict makes no vectors. Leave --model out."
    assert _with_source(message, {"model": "c.toml"}).endswith("Leave --model out (set in c.toml).")
    assert _with_source("--folds 1: need at least 2 folds.", {"folds": "c.toml"}).endswith("(set in c.toml).")


def test_feature_files_with_only_text_learners_are_said_to_be_unused():
    from screenstack.learners.config import LearnersConfig

    with pytest.warns(UserWarning, match="--features: no learner in --learners \\(tfidf-svm\\) reads vectors"):
        LearnersConfig(("tfidf-svm",), features=("a.parquet",))


def test_a_config_file_saved_with_a_byte_order_mark_is_read(tmp_path, capsys):
    config = tmp_path / "list.toml"
    config.write_bytes("\ufefflong = true\n".encode("utf-8"))  # as Notepad saves "UTF-8 with BOM"
    assert main(["datasets", "list", "--config", str(config)]) == 0
    assert "sha256:" in capsys.readouterr().out


def test_one_option_given_twice_in_a_config_file_with_dash_and_underscore_is_refused(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text("max-length = 128\nmax_length = 64\n")
    assert main(["extract", "--config", str(config), "--train", "x.csv", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (f"screenstack: error: --config {config}: max-length and max_length are the same "
                                       "option, given twice. Keep one.\n")
    assert not (tmp_path / "out").exists()


def test_every_commands_config_example_is_a_key_that_command_takes(tmp_path):
    # `stack --help` said "e.g. folds = 7", which `stack --config` refuses: each command now names one of its own.
    import re
    import tomllib

    from screenstack.cli import _subparsers_action, build_parser, parse_args

    subparsers = _subparsers_action(build_parser())
    for name, sub in subparsers.choices.items():
        if _subparsers_action(sub) is not None:  # `datasets`: its actions' own --config
            continue
        [config] = [a for a in sub._actions if a.dest == "config"]
        example = re.search(r"e\.g\. (\w+ = \S+?)\)", config.help).group(1)
        (tmp_path / f"{name}.toml").write_text(example + "\n")
        key, value = next(iter(tomllib.loads(example).items()))
        required = [part for a in sub._actions if a.required and a.option_strings and a.dest != key
                    for part in (a.option_strings[0], "x")]
        args = parse_args([name, "--config", str(tmp_path / f"{name}.toml"), *required])
        assert getattr(args, key) == value and args.config_keys == {key: str(tmp_path / f"{name}.toml")}, name


@pytest.mark.parametrize("command, required", [("run", ["--out DIR"]), ("predict", ["--run DIR", "--data FILE", "--out DIR"]),
                                               ("split", ["--data FILE", "--out DIR"])])
def test_help_shows_required_options_without_brackets(command, required, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    usage = " ".join(capsys.readouterr().out.split("\n\n")[0].split())
    for option in required:
        assert f" {option} " in f"{usage} " and f"[{option}]" not in usage, usage


def test_input_paths_in_the_kept_warnings_are_written_absolute_as_typed_or_as_printed(tmp_path, monkeypatch):
    # A helper's `run --train ./w/train.csv`: the loader printed w/train.csv, which was kept relative; and a file
    # named `title` turned "neither title nor abstract" into "neither /abs/title nor abstract".
    from screenstack.commands._common import absolute_paths

    monkeypatch.chdir(tmp_path)
    said = ["w/test.csv: 6 record(s) have neither title nor abstract", "title: 1 record(s) have neither title nor abstract",
            f"{tmp_path}/x.csv: text columns title, where w/test.csv has title+abstract", "w/test.csv.bak: not this one"]
    assert absolute_paths(said, ["./w/test.csv", "title", None]) == (
        f"{tmp_path}/w/test.csv: 6 record(s) have neither title nor abstract",
        f"{tmp_path}/title: 1 record(s) have neither title nor abstract",
        f"{tmp_path}/x.csv: text columns title, where {tmp_path}/w/test.csv has title+abstract",
        "w/test.csv.bak: not this one")


def _as_an_older_folder(out: Path, resign) -> None:
    """OUT as a 0.3.38 folder holds it: records.parquet without text hashes, the sets made from it naming it."""
    from screenstack.features.artifacts.sets import version_of

    pd.read_parquet(out / "records.parquet").drop(columns="text_key").to_parquet(out / "records.parquet")
    resign(out, "records")
    manifests = {p: json.loads(p.read_text()) for p in (out / ".manifests").glob("*.json")}
    records = manifests[out / ".manifests" / "records.json"]
    records["meta"]["digest"] = "0.3.38"
    for path, manifest in manifests.items():
        if "records" in manifest["inputs"]:
            manifest["inputs"]["records"] = version_of(records)
        path.write_text(json.dumps(manifest))


@pytest.mark.parametrize("edited", [False, True])
def test_fit_learners_writing_an_older_folders_records_again_keeps_the_runs_config_toml(run_copy, caplog, resign, edited):
    # helper-176, 178: on a folder of 0.3.38 (records.parquet without text hashes) fit-learners reused every learner,
    # wrote records.parquet again and removed config.toml, the only record of the run's options ("whose learners these
    # no longer all are", at info level: under -q unsaid), and with it the `run --config` its warning then named.
    train, test, out = run_copy
    _as_an_older_folder(out, resign)
    if edited:  # by hand since the run wrote it: not the run's to keep
        (out / "config.toml").write_text((out / "config.toml").read_text() + "beta = 5.0\n")
    recipe = (out / "config.toml").read_bytes()
    assert main(["-q", "fit-learners", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 0
    said = [r for r in caplog.records if "removed config.toml" in r.getMessage()]
    if edited:
        [record] = said
        assert record.levelname == "WARNING" and "was made from its previous records.parquet, which this command wrote " \
            "again" in record.getMessage() and "no longer all are" not in record.getMessage()
        assert not (out / "config.toml").exists()
        return
    assert all(r.levelname == "DEBUG" for r in said)  # written again at once: not news
    assert (out / "config.toml").read_bytes() == recipe and "text_key" in pd.read_parquet(out / "records.parquet")
    assert not (out / "summary.json").exists()  # the stack made from the old records went, said
    assert main(["-q", "run", "--config", str(out / "config.toml")]) == 2  # a copy: which folder is meant is asked
    assert main(["-q", "run", "--config", str(out / "config.toml"), "--out", str(out)]) == 0
    assert (out / "summary.json").is_file() and f'out = "{out}"' in (out / "config.toml").read_text()  # now this folder's


def test_a_run_folders_records_from_before_copies_were_named_are_written_again_by_its_run_command(run_copy, monkeypatch):
    # helper-176: the advice was "run the same fit-learners command again", which a `run` folder's user never typed, and
    # which removes the folder's config.toml (the test above); `run --config` writes records.parquet and keeps it.
    from screenstack.stacking import stack as stack_module

    _, _, out = run_copy
    read = stack_module.read_screening_records
    monkeypatch.setattr(stack_module, "read_screening_records", lambda folder: read(folder).drop(columns=["copy_of"]))
    with pytest.warns(UserWarning, match="records.parquet predates 0.3.13") as said:
        assert main(["-q", "stack", "--out", str(out)]) == 0
    [line] = [str(w.message) for w in said if "predates 0.3.13" in str(w.message)]
    assert f"`screenstack run --config {out / 'config.toml'} --out {out}` writes it again, reusing the learners fitted" in line
    assert "fit-learners" not in line


def test_an_earlier_versions_default_read_from_a_config_file_is_said_to_be_used_as_given(run_copy, tmp_path):
    # helper-176: an 0.3.14 run's config.toml records recall_prior = 0.5, its version's default; `run --config` on it
    # stacked with 0.5 without a word, where this version's default is 0.35.
    import warnings

    _, _, out = run_copy
    old = tmp_path / "old.toml"
    old.write_text("recall_prior = 0.5\n")
    with pytest.warns(UserWarning, match=re.escape(
            f"--config {old}: recall_prior = 0.5 is the default of screenstack 0.3.0-0.3.14 (0.35 now), which a run's "
            "config.toml records whether or not it was chosen: used as given. Delete the line")):
        assert main(["-q", "stack", "--out", str(out), "--config", str(old)]) == 0
    assert json.loads((out / "summary.json").read_text())["config"]["prior_positives"] == 0.5
    for typed in (["--recall-prior", "0.5"], ["--recall-prior", "0.35"]):  # the command line's value is the user's
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert main(["-q", "stack", "--out", str(out), "--config", str(old), *typed]) == 0
        assert not any("is the default of screenstack" in str(w.message) for w in caught)


def test_a_learner_another_version_fitted_with_other_defaults_is_said_when_stacked(run_copy, resign):
    # helper-176: stack blended a 0.3.1 run's TF-IDF learners (class_weight None; 0.3.2 on weighs the classes) without a
    # word, where fit-learners and run refuse them as another configuration.
    import warnings

    _, _, out = run_copy
    meta_path = out / "learners" / "tfidf-svm" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["params"]["class_weight"], meta["versions"]["screenstack"] = None, "0.3.1"
    meta_path.write_text(json.dumps(meta))
    resign(out, "learners/tfidf-svm")
    with pytest.warns(UserWarning, match=re.escape(
            f"{out}: learners fitted with other parameters than this version's defaults, blended as they were fitted: "
            "tfidf-svm (screenstack 0.3.1: class_weight None there, auto now)")):
        assert main(["-q", "stack", "--out", str(out)]) == 0
    meta["params"]["class_weight"] = "auto"  # another version, this one's defaults: nothing to say
    meta_path.write_text(json.dumps(meta))
    resign(out, "learners/tfidf-svm")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["-q", "stack", "--out", str(out)]) == 0
    assert not any("other parameters" in str(w.message) for w in caught)
