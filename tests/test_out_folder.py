"""An --out that is someone's own folder (their data, their notes) is refused before any work, by every stage.

A new folder, an empty one, and run folders are accepted; a run folder copied
without its hidden .manifests/ folder is refused (none of its files could be checked).
"""
from __future__ import annotations

import hashlib
import shlex
import shutil
from pathlib import Path

import pytest

from screenstack.cli import main

TEXT = ["--learners", "tfidf-svm", "--folds", "2"]


def snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def one_error(capsys) -> str:
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("screenstack: error: ")]
    assert "Traceback" not in err and len(errors) == 1, err
    return errors[0]


@pytest.fixture
def data_folder(tiny_corpus_files):
    """The user's data folder: train.csv, test.csv and a submission.csv of their own."""
    train, test = tiny_corpus_files
    (train.parent / "submission.csv").write_text("my notes, not a submission\n")
    return train.parent


@pytest.mark.parametrize("command", [
    ["run", *TEXT],
    ["fit-learners", *TEXT],
    ["extract", "--model", "minilm"],
    ["stack"],
    ["report"],
])
def test_a_folder_of_other_files_is_refused_before_any_work(data_folder, command, capsys):
    train, test = data_folder / "train.csv", data_folder / "test.csv"
    inputs = [] if command[0] in ("stack", "report") else ["--train", str(train), "--test", str(test)]
    before = snapshot(data_folder)
    assert main([command[0], *inputs, "--out", str(data_folder), *command[1:]]) == 2
    error = one_error(capsys)
    assert f"--out {data_folder}: not a run folder (no .manifests) but holds other files (submission.csv, test.csv, train.csv)" in error
    if command[0] in ("stack", "report"):
        assert "Give the --out of a run" in error
    else:
        # Beside the input files, not among them (`run --out data` suggested data/run1).
        assert f"Give a new or empty folder, e.g. --out {data_folder.parent / 'artifacts' / 'run1'}" in error
    assert snapshot(data_folder) == before and sorted(p.name for p in data_folder.iterdir()) == [
        "submission.csv", "test.csv", "train.csv"]


@pytest.mark.parametrize("command", [["run", *TEXT], ["fit-learners", *TEXT], ["extract", "--model", "minilm"]])
def test_a_new_out_named_as_a_file_is_refused(data_folder, tmp_path, command, capsys):
    # helper-169: `run --out submission.csv` made a folder of that name, the submission inside it, for a team to upload
    train, test = data_folder / "train.csv", data_folder / "test.csv"
    out = tmp_path / "upload" / "submission.csv"
    assert main([command[0], "--train", str(train), "--test", str(test), "--out", str(out), *command[1:]]) == 2
    assert one_error(capsys).endswith(f"--out {out}: names a file, but --out is the folder the command writes its files "
                                      f"into (submission.csv, ranked.csv, summary.json, ...). Give a folder, e.g. --out "
                                      f"{tmp_path / 'upload' / 'run1'}.")
    assert not out.parent.exists()


def test_a_folder_named_like_a_file_with_a_trailing_slash_is_made(data_folder, tmp_path, capsys):
    # a trailing separator says a folder is meant (`--out results.csv/` was refused as a file's name)
    train, test = data_folder / "train.csv", data_folder / "test.csv"
    out = tmp_path / "results.csv"
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", f"{out}/", *TEXT]) == 0
    assert (out / "submission.csv").is_file()


@pytest.mark.parametrize("command", ["stack", "report"])
def test_a_missing_out_named_as_a_file_says_out_is_the_run_folder(tmp_path, command, capsys):
    # helper-171: `stack --out submission.csv` suggested `screenstack run --out submission.csv`, refused in turn
    out = tmp_path / "submission.csv"
    assert main([command, "--out", str(out)]) == 2
    assert one_error(capsys).endswith(f"--out {out}: no such run folder, and --out names the run folder, not a file (the "
                                      f"command writes submission.csv, ranked.csv, ... into it). Give the --out of the run, "
                                      f"e.g. --out {tmp_path / 'run1'}.")
    assert not out.exists()


def test_a_missing_out_named_as_a_file_inside_a_run_folder_names_that_folder(data_folder, tmp_path, capsys):
    # helper-175: `stack --out r1/results.csv` suggested r1/run1, a run planted inside r1; a trailing slash or /. was
    # dropped from the `run --out` suggested, which was then refused as a file's name
    train, test = data_folder / "train.csv", data_folder / "test.csv"
    run = tmp_path / "r1"
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(run), *TEXT]) == 0
    capsys.readouterr()
    before = snapshot(run)
    assert main(["stack", "--out", str(run / "results.csv")]) == 2
    assert one_error(capsys).endswith(f"Give the --out of the run, e.g. --out {run}.")
    assert snapshot(run) == before
    for typed in (f"{tmp_path / 'results.csv'}/", f"{tmp_path / 'results.csv'}/."):
        assert main(["stack", "--out", typed]) == 2
        assert one_error(capsys).endswith(f"--out {typed}: no such run folder (check the path). Make it with `screenstack "
                                          f"run --out {typed}` and your --data (or --train/--test) file, or with "
                                          "`screenstack fit-learners`.")
    assert not (tmp_path / "results.csv").exists()


def test_out_dot_in_the_folder_of_input_files_suggests_a_folder_beside_it(data_folder, monkeypatch, capsys):
    # `cd data && run --out .` suggested artifacts/run1, a folder inside the input files' folder again.
    monkeypatch.chdir(data_folder)
    assert main(["run", "--train", "train.csv", "--test", "test.csv", "--out", ".", *TEXT]) == 2
    assert f"Give a new or empty folder, e.g. --out {data_folder.resolve().parent / 'artifacts' / 'run1'}" in one_error(capsys)


@pytest.mark.parametrize("inside", ["learners", "learners/run1", "features/new"])
def test_a_new_run_inside_another_run_folder_is_refused_with_a_folder_beside_it(data_folder, tmp_path, capsys, inside):
    # `--out run/learners` was refused with "e.g. --out run/learners/run1", which was then accepted: a whole run
    # planted among another run's learner folders.
    train, test = data_folder / "train.csv", data_folder / "test.csv"
    out = tmp_path / "run1"
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 0
    before = snapshot(out)
    capsys.readouterr()
    for command in (["run", *TEXT], ["fit-learners", *TEXT], ["extract", "--model", "minilm"]):
        assert main([command[0], "--train", str(train), "--test", str(test), "--out", str(out / inside), *command[1:]]) == 2
        assert (f"--out {out / inside}: is inside the screenstack folder {out}, among its own files. Give a folder of its "
                f"own beside it, e.g. --out {tmp_path / 'run2'}.") in one_error(capsys)
    assert snapshot(out) == before


def test_predict_into_a_folder_of_other_files_is_refused(data_folder, tmp_path, capsys):
    out = tmp_path / "run"
    train, test = data_folder / "train.csv", data_folder / "test.csv"
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 0
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("screen these\n")
    capsys.readouterr()
    assert main(["predict", "--run", str(out), "--data", str(test), "--out", str(notes)]) == 2
    assert f"--out {notes}: not a run folder (no .manifests) but holds other files (todo.txt)" in one_error(capsys)
    assert [p.name for p in notes.iterdir()] == ["todo.txt"]


def test_an_empty_folder_and_a_run_folder_are_accepted_and_one_copied_without_manifests_is_not(data_folder, tmp_path, capsys):
    train, test = data_folder / "train.csv", data_folder / "test.csv"
    out = tmp_path / "empty"
    out.mkdir()
    (out / ".DS_Store").write_bytes(b"")  # a file manager's, in a folder it showed
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 0
    assert (out / "submission.csv").is_file() and (out / "config.toml").is_file()
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 0

    # A run folder copied without its hidden folders: its own files mark it, and it is refused, not read unchecked.
    old = tmp_path / "old"
    shutil.copytree(out, old)
    shutil.rmtree(old / ".manifests")
    capsys.readouterr()
    assert main(["-q", "stack", "--out", str(old)]) == 2
    assert f"--out {old}: holds a run's files but no .manifests/ folder" in capsys.readouterr().err


def test_commands_a_message_suggests_quote_a_path_with_spaces_so_they_work_when_pasted(data_folder, tmp_path, capsys):
    out = tmp_path / "my review" / "run 1"
    assert main(["stack", "--out", str(out)]) == 2
    error = one_error(capsys)
    assert f"`screenstack run --out {shlex.quote(str(out))}`" in error and "'" in shlex.quote(str(out))
    # and pasted, the suggested command reads the path as one argument
    [suggested] = [part for part in error.split("`") if part.startswith("screenstack run --out ")]
    assert shlex.split(suggested)[3] == str(out)


def test_a_suggested_command_names_an_out_folder_starting_with_a_dash_so_that_it_is_not_read_as_a_flag(
        data_folder, tmp_path, monkeypatch, capsys):
    import argparse

    monkeypatch.chdir(tmp_path)
    assert main(["stack", "--out=-run"]) == 2
    error = one_error(capsys)
    [suggested] = [part for part in error.split("`") if part.startswith("screenstack run --out ")]
    assert suggested.startswith("screenstack run --out ./-run")  # `--out -run` pasted: "expected one argument"
    parser = argparse.ArgumentParser()
    parser.add_argument("--out")
    assert parser.parse_args(shlex.split(suggested)[2:4]).out == "./-run"


def test_a_folder_of_ones_own_starting_with_a_dash_is_refused_with_a_new_folder_that_pastes(data_folder, tmp_path, monkeypatch,
                                                                                             capsys):
    # helper-165: "e.g. --out -z/run1", pasted, was "argument --out: expected one argument"; and predict's "delete -p".
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-z").mkdir()
    (tmp_path / "-z" / "notes.txt").write_text("mine")
    train, test = data_folder / "train.csv", data_folder / "test.csv"
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out=-z", *TEXT]) == 2
    assert "Give a new or empty folder, e.g. --out ./-z/run1" in one_error(capsys)


def test_a_column_named_with_a_leading_dash_is_given_after_an_equals_sign_in_a_suggested_command():
    from screenstack.features.records.corpus import ColumnSpec

    flags = ColumnSpec.from_flags("-id", "title,abstract", "label").flags()
    assert flags == " --id-col=-id --text-cols title,abstract --label-col label"


def test_advice_to_delete_a_run_folder_says_to_move_out_a_ranked_csv_the_reviewer_edited(data_folder, tmp_path, capsys):
    train, test = data_folder / "train.csv", data_folder / "test.csv"
    out = tmp_path / "run"
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 0
    with open(out / "ranked.csv", "a", newline="") as handle:
        handle.write("my,screening,notes\r\n")
    capsys.readouterr()
    assert main(["-q", "fit-learners", "--train", str(train), "--test", str(test), "--out", str(out), "--seed", "7", *TEXT]) == 2
    error = one_error(capsys)
    assert "holds artifacts of another configuration" in error and "or delete this one to start over" in error
    assert f"(first move {out / 'ranked.csv'} out of it, e.g. to {tmp_path / 'run-ranked-screened.csv'}" in error


def test_a_training_file_too_small_for_tfidf_folds_is_refused_before_anything_is_written(tiny_corpus_files, tmp_path, capsys):
    # Two included and two excluded records leave each fold 2 texts, too few for TF-IDF: known from the counts, so
    # refused before extraction and the fold plan (it was found only when the first text learner was fitted).
    import pandas as pd

    train, test = tiny_corpus_files
    rows = pd.read_csv(train, dtype=str, keep_default_na=False)
    tiny = tmp_path / "tiny.csv"
    pd.concat([rows[rows["label_included"] == "1"].head(2), rows[rows["label_included"] == "0"].head(2)]).to_csv(tiny, index=False)
    out = tmp_path / "run"
    vectors_first = ["--learners", "logreg,tfidf-logreg", "--folds", "2", "--model", "minilm"]
    for command, flags in ((["run"], TEXT), (["run"], vectors_first), (["fit-learners"], TEXT)):
        assert main([*command, "--train", str(tiny), "--test", str(test), "--out", str(out), *flags]) == 2
        error = one_error(capsys)
        assert error.startswith(f"screenstack: error: {tiny}: tfidf-") and "2 training texts in a fold are too few for TF-IDF" in error
        assert not out.exists()
    assert main(["run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 0
    assert len((out / "submission.csv").read_text().splitlines()) == 100


def test_a_ranked_csv_moved_out_is_made_again_by_stack_and_the_report_stays(data_folder, tmp_path, caplog):
    """The refusal to replace an edited ranked.csv says to move it out; `stack` with the options `run` used then
    writes the same files again (the learners blended are recorded by name, however they were named), so the
    report made from them is kept, not removed."""
    import logging

    train, test = data_folder / "train.csv", data_folder / "test.csv"
    out = tmp_path / "run"
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 0
    before = snapshot(out)
    (out / "ranked.csv").rename(tmp_path / "ranked-screened.csv")
    with caplog.at_level(logging.INFO, logger="screenstack"):
        assert main(["stack", "--out", str(out)]) == 0
    assert not [m for m in caplog.messages if "removed report.html" in m]
    assert snapshot(out) == before  # ranked.csv back, byte for byte, and the report with it


def test_a_quoted_tilde_in_a_path_is_the_home_folder_as_the_shell_reads_it_unquoted(data_folder, tmp_path, monkeypatch, capsys):
    """helper-160: `--out '~/run'` (or ``out = "~/run"`` in a --config file) wrote into a folder named `~` here, and the
    stack, reading through pyarrow, which expands `~`, found none of the learner outputs it had just written."""
    home, here = tmp_path / "home", tmp_path / "here"
    home.mkdir(), here.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(here)
    shutil.copy(data_folder / "train.csv", home / "train.csv")
    assert main(["-q", "run", "--train", "~/train.csv", "--test", str(data_folder / "test.csv"), *TEXT, "--out", "~/run"]) == 0
    assert (home / "run" / "submission.csv").is_file() and not any(here.iterdir())
    (here / "settings.toml").write_text('out = "~/run"\n')
    assert main(["-q", "stack", "--config", "settings.toml"]) == 0 and not (here / "~").exists()
    capsys.readouterr()
