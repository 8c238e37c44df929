"""Failures found by probing the command line as a user and an adversary would (issue 10).

Each case: exit code 2, one ``screenstack: error:`` line naming the thing and
the fix, no traceback, and ``--out`` exactly as it was (or still absent).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import warnings
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from screenstack.cli import main
from screenstack.commands.run import partial_run_message
from screenstack.features.artifacts import runfolder
from screenstack.features.artifacts.runfolder import RunFolder
from screenstack.features.artifacts.store import write_vectors
from screenstack.features.errors import ScreenstackError

TEXT = ["--learners", "tfidf-svm", "--folds", "2"]


def snapshot(folder: Path) -> dict[str, str] | None:
    """sha256 of every file under `folder` (the lock file aside), None if it does not exist."""
    if not folder.exists():
        return None
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def one_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("screenstack: error: ")]
    assert len(errors) == 1 and err.strip().splitlines()[-1] == errors[0], err
    return errors[0]


@pytest.fixture
def finished_run(tiny_corpus_files, tmp_path, capsys) -> tuple[Path, Path, Path]:
    """``(train, test, out)``: a finished `run` with one text learner."""
    train, test = tiny_corpus_files
    out = tmp_path / "out"
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 0
    capsys.readouterr()
    return train, test, out


def _two_text_learners_run(tiny_corpus_files, tmp_path) -> tuple[Path, bytes]:
    """A run folder of the two text learners on 2 folds, and its submission's bytes."""
    train, test = tiny_corpus_files
    out = tmp_path / "out"
    fit = ["--train", str(train), "--test", str(test), "--out", str(out), "--learners", "tfidf-svm,tfidf-logreg", "--folds", "2"]
    assert main(["-q", "run", *fit]) == 0
    return out, (out / "submission.csv").read_bytes()


def test_learner_folders_deleted_by_hand_are_named_in_one_line_with_one_command_to_refit_them(tiny_corpus_files, tmp_path,
                                                                                               capsys):
    # stack named one damaged learner at a time: five deleted folders took five fit-learners and stack rounds.
    import shutil

    out, submission = _two_text_learners_run(tiny_corpus_files, tmp_path)
    for name in ("tfidf-svm", "tfidf-logreg"):
        shutil.rmtree(out / "learners" / name)
    capsys.readouterr()
    assert main(["-q", "stack", "--out", str(out)]) == 2
    error = one_error(capsys)
    assert f"{out / 'learners' / 'tfidf-logreg'}, {out / 'learners' / 'tfidf-svm'}: deleted, but {out} still lists them" in error
    # a run's folder: its config.toml fits them with the run's options (--folds 2 here), which fit-learners' defaults lack
    assert f"Rerun `screenstack run --config {out / 'config.toml'}`: it fits them again" in error and "blend the others" not in error
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["-q", "run", "--config", str(out / "config.toml")]) == 0
    assert (out / "submission.csv").read_bytes() == submission
    # no warning for doing as told (helper-176: "meta.json: missing; refitting" for each folder deleted)
    assert not [str(w.message) for w in caught if "missing" in str(w.message) or "refitting" in str(w.message)]


def test_report_on_a_stack_file_and_a_learner_deleted_names_the_learner_first(tiny_corpus_files, tmp_path, capsys):
    # report named ranked.csv missing and offered `stack --learners` with the deleted learner, which stack then refused.
    import shutil

    out, submission = _two_text_learners_run(tiny_corpus_files, tmp_path)
    shutil.rmtree(out / "learners" / "tfidf-svm")
    (out / "ranked.csv").unlink()
    capsys.readouterr()
    assert main(["-q", "report", "--out", str(out)]) == 2
    error = one_error(capsys)
    assert error.startswith(f"screenstack: error: {out / 'learners' / 'tfidf-svm'}: deleted, but") and "ranked.csv" not in error
    assert main(["-q", "run", "--config", str(out / "config.toml")]) == 0  # the way on it names makes both good
    assert (out / "submission.csv").read_bytes() == submission and (out / "ranked.csv").is_file()


def test_a_refusal_of_deleted_learners_names_every_one_and_offers_no_blend_of_deleted_ones(tiny_corpus_files, tmp_path):
    # predict, reading only the learners its blend weighs, named one deleted folder and offered a blend of the others,
    # another deleted one among them, whose refusal then offered a blend with the first.
    import shutil

    from screenstack.features.artifacts.outputs import read_learner_outputs

    out, _ = _two_text_learners_run(tiny_corpus_files, tmp_path)
    shutil.rmtree(out / "learners" / "tfidf-svm")
    with pytest.raises(ScreenstackError) as info:
        read_learner_outputs(out, ("tfidf-svm",))
    assert "Or blend the others: `screenstack stack --out " in str(info.value) and "--learners tfidf-logreg" in str(info.value)
    shutil.rmtree(out / "learners" / "tfidf-logreg")
    with pytest.raises(ScreenstackError) as info:
        read_learner_outputs(out, ("tfidf-svm",))
    said = str(info.value)
    assert said.startswith(f"{out / 'learners' / 'tfidf-logreg'}, {out / 'learners' / 'tfidf-svm'}: deleted, but {out} "
                           "still lists them") and "blend the others" not in said


def test_a_stack_file_that_cannot_be_read_is_named_not_replaced_as_damaged(tiny_corpus_files, tmp_path, capsys,
                                                                           monkeypatch):
    # summary.json with mode 000 (as another user): stack called it "damaged; stacking again" and replaced it.
    import errno

    from screenstack.features.artifacts import sets

    train, test = tiny_corpus_files
    out = tmp_path / "out"
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 0
    before = snapshot(out)
    real = sets.sha256_file

    def denied(path):
        if Path(path).name == "summary.json":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(sets, "sha256_file", denied)
    capsys.readouterr()
    assert main(["-q", "stack", "--out", str(out)]) == 2
    error = one_error(capsys)
    assert f"{out / 'summary.json'}: Permission denied; check the permissions" in error and "damaged" not in error
    monkeypatch.undo()
    # The stopped-fit note and the stack's manifest were called damaged too (the manifest then replaced).
    read_text = Path.read_text

    for unreadable in (out / ".fit-learners.json", out / ".manifests" / "stack.json"):
        def refused(path, *args, **kwargs):
            if Path(path) == unreadable:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return read_text(path, *args, **kwargs)

        monkeypatch.setattr(Path, "read_text", refused)
        assert main(["-q", "stack", "--out", str(out)]) == 2
        error = one_error(capsys)
        assert f"{unreadable}: Permission denied; check the permissions" in error and "damaged" not in error
        monkeypatch.undo()
    assert snapshot(out) == before


def test_a_plan_left_by_a_run_stopped_before_its_first_learner_is_said_to_be_drawn_again(tiny_corpus_files, tmp_path,
                                                                                           caplog):
    # README says "draws it again, saying so"; run and fit-learners both checked the plan with say=False, and no line came.
    from screenstack.features.artifacts.folds import FoldConfig, make_fold_plan, save_fold_plan
    from screenstack.features.records.corpus import load_corpus

    train, test = tiny_corpus_files
    out = tmp_path / "out"
    save_fold_plan(make_fold_plan(load_corpus(train, test), FoldConfig(5, 0)), out)  # as a run stopped at its first learner
    with caplog.at_level("INFO", logger="screenstack"):
        assert main(["run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 0
    said = [m for m in caplog.messages if "nothing was fitted on it (a run that stopped early): drawn again" in m]
    assert len(said) == 1 and "--folds (5 there, 2 now)" in said[0]


def test_the_way_on_past_a_fine_tuned_learner_names_the_learners_to_blend(tmp_path):
    # It said "`screenstack stack --out OUT --learners` and the others", a command with no list.
    from screenstack.features.artifacts.outputs import refit_fix

    for name in ("tfidf-svm", "tfidf-logreg"):
        (tmp_path / "learners" / name).mkdir(parents=True)
        (tmp_path / "learners" / name / "meta.json").write_text("{}")
    said = refit_fix(tmp_path, "finetune-tinybert-linear")
    assert said.startswith(f"Rerun `screenstack extract --finetune --out {tmp_path}` (or `run --finetune`)")
    assert f"or leave it out: `screenstack stack --out {tmp_path} --learners tfidf-logreg,tfidf-svm`" in said


def test_a_learner_deleted_with_its_manifest_is_said_as_deleted_not_as_a_stopped_fit(tiny_corpus_files, tmp_path, capsys):
    # With its manifest gone too, stack asked whether fit-learners "stopped before finishing" and to rerun it.
    import shutil

    out, submission = _two_text_learners_run(tiny_corpus_files, tmp_path)
    shutil.rmtree(out / "learners" / "tfidf-svm")
    (out / ".manifests" / "learners%tfidf-svm.json").unlink()
    capsys.readouterr()
    assert main(["-q", "stack", "--out", str(out)]) == 2
    error = one_error(capsys)
    assert f"{out / 'learners' / 'tfidf-svm'}: deleted, but the stack in {out} blended it" in error and "stopped" not in error
    assert f"Rerun `screenstack run --config {out / 'config.toml'}`: it fits it again" in error
    assert f"Or blend the others: `screenstack stack --out {out} --learners tfidf-logreg`." in error
    assert main(["-q", "run", "--config", str(out / "config.toml")]) == 0
    assert (out / "submission.csv").read_bytes() == submission

def test_repeating_a_run_after_a_stack_with_other_options_says_it_replaces_that_stack(finished_run, caplog):
    # `run --config OUT/config.toml` silently put back the run's beta over a reviewer's `stack --beta 3`.
    _, _, out = finished_run
    caplog.set_level("INFO", logger="screenstack")
    assert main(["stack", "--out", str(out), "--beta", "3"]) == 0
    assert json.loads((out / "summary.json").read_text())["config"]["beta"] == 3.0
    caplog.clear()
    assert main(["-q", "run", "--config", str(out / "config.toml")]) == 0  # said under -q too: a stack is replaced
    err = "\n".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert f"{out}: stacking again with --learners tfidf-svm, not the options it was made with (--beta 3 --learners " \
           f"tfidf-svm): `screenstack stack --out {out} --beta 3 --learners tfidf-svm` makes that one again." in err
    assert json.loads((out / "summary.json").read_text())["config"]["beta"] == 7.0

@pytest.mark.parametrize("how", ["older records", "other version"])
def test_a_stack_with_other_options_replaced_by_way_of_older_records_or_an_upgrade_is_said(finished_run, caplog, monkeypatch, how):
    # helper-147: a `stack --beta 3` removed by a set `run` writes first (an older records.parquet),
    # or made by another version, was replaced with at most an info line: the options were never compared.
    from screenstack.stacking import stack as stack_module

    train, test, out = finished_run
    if how == "older records":  # a records.parquet of 0.3.38, without the text hashes: fit-learners writes it again
        import pyarrow.parquet as pq

        from screenstack.features.artifacts.records import RECORDS_FILE, RECORDS_SET

        table = pq.read_table(out / RECORDS_FILE)
        with RunFolder(out).commit(RECORDS_SET, meta={"digest": "0.3.38's", "records": table.num_rows, "said": []}) as staging:
            pq.write_table(table.drop(["text_key"]), staging / RECORDS_FILE)
        command = ["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]
    assert main(["-q", "stack", "--out", str(out), "--beta", "3"]) == 0
    if how == "other version":
        versions = stack_module.package_versions
        monkeypatch.setattr(stack_module, "package_versions", lambda: {**versions(), "screenstack": "9.9.9"})
        command = ["-q", "stack", "--out", str(out)]
    caplog.clear()
    assert main(command) == 0
    [said] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "again with --learners" in r.getMessage()]
    assert said.endswith(" with --learners tfidf-svm, not the options it was made with (--beta 3 --learners "
                         f"tfidf-svm): `screenstack stack --out {out} --beta 3 --learners tfidf-svm` makes that one again.")
    assert json.loads((out / "summary.json").read_text())["config"]["beta"] == 7.0


def test_a_stack_recording_no_flags_is_compared_by_its_summary(finished_run, caplog, monkeypatch):
    # helper-148: a stack of 0.3.25 (before its manifest recorded flags) made with --beta 5 was replaced without a word.
    from screenstack.stacking import stack as stack_module

    _, _, out = finished_run
    assert main(["-q", "stack", "--out", str(out), "--beta", "3"]) == 0
    monkeypatch.setattr(stack_module.sets, "stack_flags", lambda out: None)  # as for a stack before 0.3.33
    versions = stack_module.package_versions
    monkeypatch.setattr(stack_module, "package_versions", lambda: {**versions(), "screenstack": "9.9.9"})
    caplog.clear()
    assert main(["-q", "stack", "--out", str(out)]) == 0
    [said] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "again with --learners" in r.getMessage()]
    assert said.endswith("not the options it was made with (--beta 3 --learners tfidf-svm): `screenstack stack --out "
                         f"{out} --beta 3 --learners tfidf-svm` makes that one again.")


def test_repeating_a_run_after_a_stack_of_fewer_learners_says_it_replaces_that_stack(tiny_corpus_files, tmp_path, caplog):
    # The learners differing, `run --config` replaced `stack --learners tfidf-svm --beta 3` without a word.
    out, _ = _two_text_learners_run(tiny_corpus_files, tmp_path)
    assert main(["-q", "stack", "--out", str(out), "--learners", "tfidf-svm", "--beta", "3"]) == 0
    caplog.clear()
    assert main(["-q", "run", "--config", str(out / "config.toml")]) == 0
    err = "\n".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert (f"{out}: stacking again with --learners tfidf-logreg,tfidf-svm, not the options it was made with (--beta 3 "
            f"--learners tfidf-svm): `screenstack stack --out {out} --beta 3 --learners tfidf-svm` makes that one again.") in err
    assert json.loads((out / "summary.json").read_text())["config"]["learners"] == ["tfidf-logreg", "tfidf-svm"]


def test_empty_out_is_refused_not_the_working_folder(tiny_corpus_files, tmp_path, monkeypatch, capsys):
    train, test = tiny_corpus_files
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["run", "--train", str(train), "--test", str(test), "--out", "", *TEXT]) == 2
    assert "--out is empty" in one_error(capsys)
    assert list(work.iterdir()) == []


def test_empty_config_value_is_refused(tiny_corpus_files, tmp_path, capsys):
    train, test = tiny_corpus_files
    out = tmp_path / "out"
    assert main(["run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT, "--config="]) == 2
    assert "--config is empty" in one_error(capsys)
    assert not out.exists()


def test_lock_taken_when_its_pid_cannot_be_written(tmp_path, monkeypatch):
    """A full disk while writing the holder's pid is not a traceback: the pid is only informational."""
    def full(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runfolder.os, "ftruncate", full)
    with RunFolder(tmp_path / "out").lock():
        assert (tmp_path / "out" / ".lock").exists()


def test_folder_where_an_output_goes_moves_nothing(finished_run, capsys):
    """A set whose file would land on a folder is refused before any of its files is moved in."""
    _, _, out = finished_run
    (out / "summary.json").unlink()
    (out / "summary.json").mkdir()
    before = snapshot(out)
    assert main(["stack", "--out", str(out), "--beta", "3"]) == 2
    error = one_error(capsys)
    assert "summary.json: cannot write" in error and "move that folder" in error and "The new stack outputs were not written" in error
    assert snapshot(out) == before
    assert not (out / ".staging").exists()


def test_run_failing_late_says_which_stages_it_kept(finished_run, capsys):
    train, test, out = finished_run
    for png in (out / "report").iterdir():
        png.unlink()
    (out / "report").rmdir()
    (out / "report").write_text("a file where the figures go")
    command = ["run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]
    assert main(command) == 2  # where the figures go is known before any stage: refused then
    error = one_error(capsys)
    assert "report: cannot write" in error and "move that file" in error and "Nothing was written" in error
    (out / "report").unlink()
    (out / "report.html").unlink()
    (out / "report.html").mkdir()  # known only when the report is written: the stages before it kept
    assert main(command) == 2
    error = one_error(capsys)
    assert "report.html: cannot write" in error and "move that folder" in error
    assert "The stages before it finished" in error and "report.html, config.toml are still a previous run's" in error
    assert "was not changed" not in error


def test_partial_run_message():
    assert partial_run_message("x: bad. x was not changed.", []) == "x: bad. x was not changed."
    message = partial_run_message("x: bad. x was not changed.", ["learners"])
    assert message.startswith("x: bad. The stages before it finished")
    # A learner's folder found to be a file once extraction had written its vectors (helper-153): not "Nothing was written"
    assert partial_run_message("x: bad. Nothing was written: run the same command again once that is fixed.",
                               ["features"]).startswith("x: bad. The stages before it finished")
    assert "(learners/, records.parquet: new, or reused as they were)" in message  # a refused run may have written none
    assert "submission.csv, test_scores.csv, ranked.csv, summary.json, calibration.json, blend.json, blend_oof.parquet, report.html, config.toml" in message
    # `run --finetune`: the fine-tuning and the extraction both wrote features/, said once.
    assert "in place (features/, learners/, records.parquet: " in partial_run_message("x: bad", ["features", "features", "learners"])


def test_a_run_stopped_in_fit_learners_does_not_call_its_own_learners_a_previous_run_s(tmp_path):
    """A new --out that filled up while fitting: the learners finished before the error are this run's, and kept."""
    (tmp_path / "learners" / "logreg").mkdir(parents=True)
    message = partial_run_message(f"{tmp_path}/learners/x: cannot write. x was not changed.", ["features"], tmp_path)
    assert "learners/ keeps what fit-learners finished before the error" in message
    assert "previous run's, made from" not in message


def test_feature_file_of_other_data_leaves_a_new_out_absent(tiny_corpus_files, tmp_path, capsys):
    """The feature file is checked before the fold plan is written."""
    train, test = tiny_corpus_files
    features = tmp_path / "other.parquet"
    write_vectors(features, [f"x{i}" for i in range(5)], ["train"] * 5, np.zeros((5, 4), np.float32), {"model": "m"})
    out = tmp_path / "out"
    argv = ["fit-learners", "--train", str(train), "--test", str(test), "--out", str(out), "--learners", "logreg",
            "--folds", "2", "--features", str(features)]
    assert main(argv) == 2
    error = one_error(capsys)
    assert "feature file does not match the corpus" in error and "np.str_" not in error
    assert not out.exists()


def test_non_parquet_features_named_as_the_wrong_file(finished_run, capsys):
    train, test, out = finished_run
    before = snapshot(out)
    argv = ["fit-learners", "--train", str(train), "--test", str(test), "--out", str(out), "--learners", "logreg",
            "--folds", "2", "--features", str(train)]
    assert main(argv) == 2
    error = one_error(capsys)
    assert f"{train}: not a Parquet feature file" in error and "screenstack extract" in error and "damaged" not in error
    assert snapshot(out) == before


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


@pytest.mark.parametrize("kind, words", [("xlsx", ["Excel .xlsx workbook", "rename it to .xlsx"]),
                                         ("gzip", ["gzip-compressed", "Decompress"])])
def test_binary_file_ending_in_csv_is_named(tiny_corpus_files, tmp_path, capsys, kind, words):
    train, test = tiny_corpus_files
    bad = tmp_path / "records.csv"
    bad.write_bytes(_zip_bytes() if kind == "xlsx" else gzip.compress(train.read_bytes()))
    out = tmp_path / "out"
    assert main(["run", "--train", str(bad), "--test", str(test), "--out", str(out), *TEXT]) == 2
    error = one_error(capsys)
    assert f"{bad}: is " in error and "quoting" not in error
    for word in words:
        assert word in error
    assert not out.exists()


def test_duplicate_header_name_is_warned(tmp_path):
    from screenstack.features.records.corpus import load_records

    path = tmp_path / "dup.csv"
    path.write_text("id,title,title,judgement\n1,A trial,the abstract,1\n2,B,c,0\n")
    with pytest.warns(UserWarning, match=r"names column 'title' twice \(columns 2 and 3\)"):
        records = load_records(path)
    assert list(records["title"]) == ["A trial", "B"]


def test_header_names_alike_but_for_case_say_which_is_read(tmp_path):
    """`abstract,Abstract`: found by its name the first is read, named as spelt the other; the warning says both."""
    from screenstack.features.records.corpus import ColumnSpec, load_records

    path = tmp_path / "dup.csv"
    path.write_text("id,title,abstract,Abstract,judgement\n1,A trial,short,the long abstract,1\n2,B,c,d,0\n")
    with pytest.warns(UserWarning, match=r"names columns 'abstract' and 'Abstract' \(columns 3 and 4\), alike but "
                                         r"for case; a column found by its name reads the first, one named as spelt \(in --text-cols"):
        assert list(load_records(path)["abstract"]) == ["short", "c"]
    with pytest.warns(UserWarning, match="alike but for case"):
        named = load_records(path, ColumnSpec(text_cols=("title", "Abstract")))
    assert list(named["abstract"]) == ["the long abstract", "d"]


def _tiny_files(train: Path, included) -> tuple[Path, Path]:
    """A 12-record comma-separated training file (`included(i)` says which are included) and a one-record test file."""
    test = train.parent / "test.csv"
    train.write_text("id,title,abstract,judgement\n" + "".join(f"{i},t{i},a{i},{int(included(i))}\n" for i in range(12)))
    test.write_text("id,title,abstract\n100,x,y\n")
    return train, test


def test_one_included_record_names_the_training_file(tmp_path, capsys):
    train, test = _tiny_files(tmp_path / "train.csv", lambda i: i == 0)
    out = tmp_path / "out"
    assert main(["run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 2
    error = one_error(capsys)
    assert f"{train}: 1 of the 12 labelled records is included (label 1)" in error and "at least 2" in error
    assert not out.exists()


def test_datasets_get_into_a_folder_is_refused_before_fetching(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCREENSTACK_CACHE", str(tmp_path / "cache"))
    dest = tmp_path / "data"
    dest.mkdir()
    assert main(["datasets", "get", "cohen_adhd", "--dest", str(dest), "--mirror", str(tmp_path / "none")]) == 2
    error = one_error(capsys)
    assert f"--dest {dest}: is a folder" in error and f"{dest}/cohen_adhd.csv" in error
    assert list(dest.iterdir()) == [] and not (tmp_path / "cache").exists()


@pytest.mark.parametrize("text", ["", "the same words"])
def test_training_texts_without_words_are_refused_before_the_fold_plan(tmp_path, capsys, text):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_text("id,title,abstract,judgement\n" + "".join(f"{i},{text},,{int(i % 4 == 0)}\n" for i in range(12)))
    test.write_text("id,title,abstract\n100,x,y\n")
    out = tmp_path / "out"
    assert main(["run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 2
    error = one_error(capsys)
    assert error.startswith(f"screenstack: error: {train}: every labelled training record ") and "tfidf-svm" in error
    assert "--text-cols" in error
    assert not out.exists()


def test_tfidf_learner_without_vocabulary_raises_one_line():
    from screenstack.features.errors import ScreenstackError
    from screenstack.learners.text import TfidfSVM

    with pytest.raises(ScreenstackError, match="tfidf-svm: the training texts leave TF-IDF no words"):
        TfidfSVM().fit(["", "", "rare"], [0, 1, 0])
    # full texts, but too few records for a word to be in 2 of them and in at most 95%: not "no words" but too few records
    with pytest.raises(ScreenstackError, match=r"tfidf-svm: 2 training texts in a fold are too few for TF-IDF.*Label more records"):
        TfidfSVM().fit(["adult adhd stimulant trial", "children tic disorder guanfacine"], [0, 1])


@pytest.mark.parametrize("name", [".staging", ".manifests"])
def test_file_in_place_of_the_run_folders_own_folder_changes_nothing(finished_run, capsys, name):
    _, _, out = finished_run
    if (out / name).exists():
        for p in sorted((out / name).rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
        (out / name).rmdir()
    (out / name).write_text("not a folder")
    before = snapshot(out)
    assert main(["stack", "--out", str(out), "--beta", "3"]) == 2
    error = one_error(capsys)
    assert f"{out / name}: cannot write (Not a directory)" in error and "move that file" in error
    assert snapshot(out) == before


def test_comma_file_named_tsv_says_to_rename_it(tmp_path, capsys):
    train, test = _tiny_files(tmp_path / "train.tsv", lambda i: i % 4 == 0)
    out = tmp_path / "out"
    assert main(["run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 2
    error = one_error(capsys)
    assert f"{train}: read as TSV for its .tsv ending, but its header has no tabs and holds commas" in error
    assert "Rename it to .csv" in error
    assert not out.exists()


def test_a_read_only_manifests_folder_is_refused_before_anything_moves(finished_run, monkeypatch, capsys):
    """The manifest moves in last: a read-only .manifests/ let predict replace summary.json beside the old set's files,
    and the error named MANIFEST.json, a file that is nowhere (a helper's finding)."""
    _, _, out = finished_run
    access = runfolder.os.access
    monkeypatch.setattr(runfolder.os, "access", lambda path, mode: Path(path).name != ".manifests" and access(path, mode))
    before = snapshot(out)
    assert main(["stack", "--out", str(out), "--max-shift", "1"]) == 2
    error = one_error(capsys)
    # said when the lock is taken, before the stack is computed (helper-141: found at the commit, after the work)
    assert f"{out / '.manifests'}: cannot write" in error and "Nothing was written" in error
    assert "MANIFEST.json" not in error
    assert snapshot(out) == before
    assert not (out / ".staging").exists()


def test_unwritable_folder_inside_out_is_refused_before_anything_moves(finished_run, monkeypatch, capsys):
    """E.g. OUT/report on a read-only mount: without the check, report.html moved in and the figures did not."""
    _, _, out = finished_run
    access = runfolder.os.access
    monkeypatch.setattr(runfolder.os, "access", lambda path, mode: Path(path).name != "report" and access(path, mode))
    before = snapshot(out)
    drawn = []
    monkeypatch.setattr("screenstack.stacking.report.draw_figures", lambda *args: drawn.append(1) or {})
    assert main(["report", "--out", str(out)]) == 2
    error = one_error(capsys)
    assert f"{out / 'report'}: cannot write" in error and "Nothing was written" in error
    assert not drawn  # refused before the figures are drawn
    assert snapshot(out) == before
    assert not (out / ".staging").exists()
    # A stack, whose commit would remove the report made from the previous one: refused whole, and said so (a helper
    # read "report was not changed" as if the new stack, another --max-shift, had been written).
    assert main(["stack", "--out", str(out), "--max-shift", "1"]) == 2
    error = one_error(capsys)
    assert f"{out / 'report'}: cannot write" in error and "Nothing was written" in error  # before the stack is made
    assert snapshot(out) == before


@pytest.mark.parametrize("folder", ["tfidf-svm", "models"])
def test_an_unwritable_learner_folder_is_refused_before_any_fold_is_fitted(finished_run, monkeypatch, capsys, folder):
    # helper-141: OUT/learners/tfidf-svm read-only, its outputs deleted: five folds fitted, then refused at the commit;
    # helper-144: the same with its models/ folder.
    train, test, out = finished_run
    (out / "learners" / "tfidf-svm" / "oof.parquet").unlink()
    access = runfolder.os.access
    monkeypatch.setattr(runfolder.os, "access", lambda path, mode: Path(path).name != folder and access(path, mode))
    fitted = []
    monkeypatch.setattr("screenstack.learners.fit.oof_predict", lambda *args, **kwargs: fitted.append(1))
    before = snapshot(out)
    assert main(["-q", "fit-learners", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 2
    error = one_error(capsys)
    where = out / "learners" / "tfidf-svm" / ("models" if folder == "models" else "")
    assert error.startswith(f"screenstack: error: {str(where).rstrip('/')}: cannot write") and "Nothing was written" in error
    assert not fitted and snapshot(out) == before


# --- downstream outputs never outlive a change upstream (issue 10, left over) ---------------------

def test_run_with_a_new_beta_failing_in_the_report_leaves_no_old_report(finished_run, monkeypatch, capsys):
    """Disk full while the report is written: the new stack stands alone, not beside the old report.
    config.toml, the run's recipe made from its learners, stays until the rerun rewrites it."""
    import json
    import os

    train, test, out = finished_run
    assert (out / "report.html").is_file() and (out / "config.toml").is_file()
    write_text = Path.write_text

    def full(self, *args, **kwargs):
        if self.name == "report.html":
            raise OSError(28, "No space left on device", str(self))
        return write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    argv = ["run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT, "--beta", "3"]
    assert main(argv) == 2
    error = one_error(capsys)
    assert "disk is full" in error and "report.html is not in OUT" in error
    assert "rerun the same command" in error and "config.toml is still a previous run's" in error
    assert json.loads((out / "summary.json").read_text())["beta"] == 3
    assert not (out / "report.html").exists() and not (out / "report").exists() and (out / "config.toml").is_file()
    assert not (out / ".staging").exists() and not os.listdir(out / ".manifests").count("report.json")

    monkeypatch.setattr(Path, "write_text", write_text)
    assert main(["-q", *argv]) == 0  # the rerun makes what is missing
    assert "beta = 3.0" in (out / "config.toml").read_text() and (out / "report.html").is_file()


def test_removed_outputs_are_news_only_when_the_command_leaves_them_removed(finished_run, caplog):
    """`run` re-stacking removes and remakes report and config at once: no "removed" line mid-run.
    `stack` alone leaves them removed: the lines name commands that work (not `run --out OUT`, which needs its inputs)."""
    train, test, out = finished_run
    caplog.set_level("INFO", logger="screenstack")
    assert main(["run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT, "--beta", "3"]) == 0
    assert (out / "config.toml").is_file() and not [m for m in caplog.messages if ": removed " in m]

    caplog.clear()
    assert main(["stack", "--out", str(out), "--beta", "2"]) == 0
    removed = [m for m in caplog.messages if ": removed " in m]
    assert len(removed) == 1 and not any("`screenstack run --out" in m for m in removed), removed
    assert (out / "config.toml").is_file()  # the run's recipe: `run --config` on it restacks with the run's options
    assert any("removed report.html" in m and f"Rerun `screenstack report --out {out}`: it rewrites the report" in m for m in removed)
    assert main(["-q", "report", "--out", str(out)]) == 0 and (out / "report.html").is_file()


def test_a_run_killed_after_its_new_stack_leaves_no_old_report(finished_run, monkeypatch, capsys):
    """kill -9 in the report stage (here: just after the stack commit) of a run with a new --beta."""
    import screenstack.stacking.report as report_module

    train, test, out = finished_run

    def killed(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(report_module, "_load", killed)
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT, "--beta", "3"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert (out / "summary.json").is_file()
    assert not (out / "report.html").exists() and (out / "config.toml").is_file()


def test_a_run_killed_while_removing_the_old_report_is_finished_by_the_next_command(finished_run, monkeypatch):
    """The old report goes before the new stack moves in, while the staged set keeps its manifest."""
    import json

    _, _, out = finished_run
    real_rmdir = Path.rmdir

    def killed(self):
        if self.name == "report":
            raise KeyboardInterrupt
        return real_rmdir(self)

    monkeypatch.setattr(Path, "rmdir", killed)
    assert main(["-q", "stack", "--out", str(out), "--beta", "3"]) == 130
    monkeypatch.setattr(Path, "rmdir", real_rmdir)
    assert not (out / "report.html").exists() and (out / ".staging" / "stack").is_dir()
    assert json.loads((out / "summary.json").read_text())["beta"] == 7  # the old stack, its report half removed
    with pytest.warns(UserWarning, match="finishing the 'stack' outputs"):
        with RunFolder(out).lock():
            pass
    assert json.loads((out / "summary.json").read_text())["beta"] == 3
    assert not (out / "report").exists() and not (out / "report.html").exists() and (out / "config.toml").is_file()
    RunFolder(out).verify("stack", "")


def test_stack_with_a_new_beta_removes_the_report_it_no_longer_matches(finished_run, capsys, caplog):
    _, _, out = finished_run
    assert main(["-q", "stack", "--out", str(out), "--beta", "3"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    # stack's own warnings (e.g. a learner beating the blend under F3) may come too: one says where the report went
    removed = [w for w in warned if "removed report.html" in w]  # said once (it was twice: an info line, then this)
    assert len(removed) == 1 and f"screenstack report --out {out}" in removed[0], warned
    assert not [r for r in caplog.records if "removed report.html" in r.getMessage() and r.levelname != "WARNING"]
    assert not (out / "report.html").exists() and not (out / "report").exists() and (out / "config.toml").is_file()
    assert main(["-q", "report", "--out", str(out)]) == 0
    assert "F3" in (out / "report.html").read_text()


def test_stack_with_the_same_options_keeps_the_report_and_config(finished_run, capsys):
    """The same stack again (here: the run's learners, named as `run` names them) changes nothing downstream."""
    _, _, out = finished_run
    before = snapshot(out)
    assert main(["-q", "stack", "--out", str(out), "--learners", "tfidf-svm"]) == 0
    assert snapshot(out) == before
    assert "Traceback" not in capsys.readouterr().err


def test_plain_stack_rerun_on_a_finished_run_reuses_its_outputs(finished_run, caplog):
    """README's stage-by-stage path on a `run` folder: `stack --out OUT` (every learner in OUT, as the run blended)
    says it reuses the stack outputs and keeps report and config.toml, so `run --config OUT/config.toml` still works."""
    _, _, out = finished_run
    before = snapshot(out)
    caplog.set_level("INFO", logger="screenstack")
    assert main(["stack", "--out", str(out)]) == 0
    assert snapshot(out) == before
    assert not [m for m in caplog.messages if ": removed " in m]
    reused = [m for m in caplog.messages if "reusing them" in m]
    assert len(reused) == 1 and "learner outputs, fold plan and options" in reused[0], caplog.messages
    assert any(m.startswith("honest estimate") for m in caplog.messages)  # the figures are still shown
    assert main(["-q", "run", "--config", str(out / "config.toml")]) == 0



def test_a_reused_stack_says_what_a_fresh_one_says(finished_run, tmp_path, caplog):
    # README's "what `make demo` prints" held for the first run only: a rerun left out the without-text line.
    _, _, out = finished_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    caplog.set_level("INFO", logger="screenstack")
    assert main(["stack", "--out", str(copy), "--min-recall", "0.9"]) == 0  # other options: stacked afresh
    fresh = [m for m in caplog.messages if "removed" not in m and ": stacking again with" not in m]  # the old stack's
    caplog.clear()
    assert main(["stack", "--out", str(copy), "--min-recall", "0.9"]) == 0
    said = [m for m in caplog.messages if "reusing them" not in m]
    assert said == fresh and any("neither title nor abstract: all flagged" in m for m in said)


def test_a_stack_another_screenstack_version_made_is_made_again(finished_run, caplog, monkeypatch):
    """Same inputs and options, but a newer screenstack (whose default blend or threshold may differ): not reused."""
    from screenstack.stacking import stack as stack_module

    _, _, out = finished_run
    real = stack_module.package_versions
    monkeypatch.setattr(stack_module, "package_versions", lambda: {**real(), "screenstack": "99.0"})
    caplog.set_level("INFO", logger="screenstack")
    assert main(["stack", "--out", str(out)]) == 0
    assert not [m for m in caplog.messages if "reusing them" in m]
    assert any("were made by screenstack" in m and "99.0 stacks again" in m for m in caplog.messages)
    assert json.loads((out / "summary.json").read_text())["versions"]["screenstack"] == "99.0"


def test_stack_with_changed_learner_outputs_or_a_damaged_stack_is_made_again(finished_run, caplog):
    """Reuse needs the same learner outputs: another learner in OUT (blended by a plain `stack`) remakes the stack
    and removes the report made from the old one; a truncated summary is made again with a warning."""
    import json

    train, test, out = finished_run
    assert main(["-q", "fit-learners", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT[2:],
                 "--learners", "tfidf-logreg"]) == 0
    caplog.clear()
    caplog.set_level("INFO", logger="screenstack")
    assert main(["stack", "--out", str(out)]) == 0
    assert not [m for m in caplog.messages if "reusing them" in m]
    assert json.loads((out / "summary.json").read_text())["blend"]["weights"].keys() == {"tfidf-logreg", "tfidf-svm"}
    assert not (out / "report.html").exists() and (out / "config.toml").is_file()
    assert any("removed report.html" in m for m in caplog.messages)

    (out / "summary.json").write_text("{")
    with pytest.warns(UserWarning, match="summary.json: damaged; stacking again"):
        assert main(["-q", "stack", "--out", str(out)]) == 0
    RunFolder(out).verify("stack", "")


def test_report_refuses_a_stack_made_from_other_learner_outputs(finished_run, capsys):
    """E.g. stack outputs copied in, with their manifest, from a run folder of other learners."""
    import json

    _, _, out = finished_run
    manifest = out / ".manifests" / "stack.json"
    data = json.loads(manifest.read_text())
    data["inputs"]["learners/tfidf-svm"] = "0" * 64
    manifest.write_text(json.dumps(data))
    before = snapshot(out)
    assert main(["report", "--out", str(out)]) == 2
    error = one_error(capsys)
    assert "summary.json" in error and "stale" in error and "'learners/tfidf-svm'" in error and "screenstack stack" in error
    assert snapshot(out) == before


def test_run_config_works_from_another_folder(tiny_corpus_files, tmp_path, monkeypatch, capsys):
    """config.toml holds absolute paths: the run was started with relative ones, repeated from elsewhere."""
    import os
    import tomllib

    train, test = tiny_corpus_files
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(work)
    argv = ["-q", "run", "--train", os.path.relpath(train), "--test", os.path.relpath(test), "--out", "out", *TEXT]
    assert main(argv) == 0
    config = work / "out" / "config.toml"
    written = tomllib.loads(config.read_text())
    assert written["train"] == str(train) and written["test"] == str(test) and written["out"] == str(work / "out")
    before = snapshot(work / "out")
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["-q", "run", "--config", str(config)]) == 0
    assert "Traceback" not in capsys.readouterr().err
    after = snapshot(work / "out")
    for report in ("report.html", ".manifests/report.json"):  # the page names OUT as it was given: "out", now absolute
        before.pop(report), after.pop(report)
    assert after == before and list(elsewhere.iterdir()) == []
    # What reading the files said is kept with the paths written absolute, as config.toml keeps them.
    said = json.loads((work / "out" / "summary.json").read_text())["input_warnings"]
    assert said == [f"{train}: 6 record(s) have neither title nor abstract (first: row 54).",
                    f"{test}: 1 record(s) have neither title nor abstract (first: row 69)."]


@pytest.mark.parametrize("set_name, moved", [("config", "config.toml"), ("stack", "ranked.csv")])
def test_a_run_killed_after_moving_a_file_in_before_its_manifest_is_finished_by_the_same_command(finished_run, monkeypatch,
                                                                                                 capsys, set_name, moved):
    # The file in place was the new run's and the manifest the old one's: the same command, run again, refused it as
    # changed by hand ("screening notes typed into it?") before its lock would have finished the commit.
    import os

    train, test, out = finished_run
    ranked = (out / "ranked.csv").read_bytes()
    # A decision that differs from the default run's, so ranked.csv and config.toml differ too
    again = ["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT, "--beta", "0.5",
             "--min-recall", "0"]
    real_replace = os.replace

    def killed(source, target, *args, **kwargs):
        if Path(target) == out / ".manifests" / f"{set_name}.json":
            raise KeyboardInterrupt
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", killed)
    assert main(again) == 130
    monkeypatch.setattr(os, "replace", real_replace)
    assert (out / ".staging" / set_name / "MANIFEST.json").is_file()
    assert set_name == "config" or (out / "ranked.csv").read_bytes() != ranked  # the new one, moved in
    capsys.readouterr()
    with pytest.warns(UserWarning, match=f"finishing the '{set_name}' outputs"):
        assert main(again) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert json.loads((out / "summary.json").read_text())["beta"] == 0.5
    RunFolder(out).verify(set_name, "")


def test_a_test_file_only_reordered_is_said_to_be_reordered_by_run_and_fit_learners(tiny_corpus_files, tmp_path, capsys):
    # The training file's refusal said "the same ids and labels in another row order"; the test file's said only
    # "differs in: the records to screen", with nothing to tell a reordered export from another one.
    import pandas as pd

    train, test = tiny_corpus_files
    out = tmp_path / "out"
    fit = ["--train", str(train), "--out", str(out), "--learners", "tfidf-svm,tfidf-logreg", "--folds", "2"]
    assert main(["-q", "run", *fit, "--test", str(test)]) == 0
    shuffled = tmp_path / "shuffled.csv"
    pd.read_csv(test, dtype=str, keep_default_na=False).iloc[::-1].to_csv(shuffled, index=False)
    capsys.readouterr()
    for command, flags in (("run", fit), ("fit-learners", fit[:-4] + ["--learners", "tfidf-svm", "--folds", "2"])):
        assert main(["-q", command, *flags, "--test", str(shuffled)]) == 2
        assert "the same ids in another row order, and the scores follow the file's rows" in one_error(capsys), command
    changed = pd.read_csv(test, dtype=str, keep_default_na=False).iloc[::-1]
    changed.iloc[3, changed.columns.get_loc("title")] = "Another title"
    changed.to_csv(shuffled, index=False)  # reordered, and one text changed: not "only reordered"
    assert main(["-q", "run", *fit, "--test", str(shuffled)]) == 2
    assert "the same ids in another row order, some of them with other texts" in one_error(capsys)
    original = pd.read_csv(test, dtype=str, keep_default_na=False)
    original.iloc[1:].to_csv(shuffled, index=False)  # one record fewer: said with its id, as the training file's are
    assert main(["-q", "run", *fit, "--test", str(shuffled)]) == 2
    error = one_error(capsys)
    assert f"here 1 scored before no longer there (first: id {original['record_id'][0]!r})" in error
    assert "another row order" not in error
    original.assign(record_id="0" + original["record_id"]).to_csv(shuffled, index=False)  # as a spreadsheet may pad them
    assert main(["-q", "run", *fit, "--test", str(shuffled)]) == 2
    assert (f"here the same ids spelt otherwise (first: '0{original['record_id'][0]}', scored as "
            f"{original['record_id'][0]!r})") in one_error(capsys)
    # the training file, reordered with one title changed: it said "in another row order" alone
    labelled = pd.read_csv(train, dtype=str, keep_default_na=False).iloc[::-1]
    labelled.iloc[5, labelled.columns.get_loc("title")] = "Another title"
    labelled.to_csv(tmp_path / "reordered.csv", index=False)
    fit[1] = str(tmp_path / "reordered.csv")
    assert main(["-q", "run", *fit, "--test", str(test)]) == 2
    assert (f"the same ids and labels in another row order, 1 of them with other texts (first: id "
            f"{labelled.iloc[5]['record_id']!r})") in one_error(capsys)


def _run_keeping_its_training_file(tiny_corpus_files, tmp_path, learners: str):
    """A 2-fold `run` of `learners` into tmp_path/out, its training file copied first as it was (as-it-was.csv):
    (train, test, out, that copy, the run's submission bytes)."""
    import shutil

    train, test = tiny_corpus_files
    out, as_it_was = tmp_path / "out", tmp_path / "as-it-was.csv"
    shutil.copy(train, as_it_was)
    fit = ["--train", str(train), "--test", str(test), "--out", str(out), "--learners", learners, "--folds", "2"]
    assert main(["-q", "run", *fit]) == 0
    return train, test, out, as_it_was, (out / "submission.csv").read_bytes()


def test_a_damaged_learner_of_a_run_whose_input_file_changed_since_names_the_copy_a_refit_needs_and_the_others(
        tiny_corpus_files, tmp_path, capsys):
    # A reviewer types new labels into the file the run read, as README says to; a learner damaged later was refused
    # with "Rerun `screenstack run --config OUT/config.toml`", which then refused the changed file as another
    # configuration, and predict for next month's update was blocked with no way on but the old file.
    train, test, out, as_it_was, submission = _run_keeping_its_training_file(tiny_corpus_files, tmp_path,
                                                                            "tfidf-svm,tfidf-logreg")
    (out / "learners" / "tfidf-svm" / "oof.parquet").write_bytes(b"PAR1")
    capsys.readouterr()
    assert main(["-q", "stack", "--out", str(out)]) == 2
    assert f"Rerun `screenstack run --config {out / 'config.toml'}`: it refits" in one_error(capsys)  # the file as it was
    train.write_text(train.read_text().replace(",0\n", ",1\n", 1))  # a label typed in since
    assert main(["-q", "stack", "--out", str(out)]) == 2
    error = one_error(capsys)
    assert (f"Rerun `screenstack run --config {out / 'config.toml'} --train COPY` (COPY: {train} (--train) as at that run, "
            "or where it is now; it has changed since, labels typed in?, and the run's fold plan") in error
    assert f"Without such a copy, blend the others: `screenstack stack --out {out} --learners tfidf-logreg`." in error
    moved = train.rename(tmp_path / "moved.csv")
    assert main(["-q", "stack", "--out", str(out)]) == 2
    assert f"(COPY: {train} (--train) as at that run, or where it is now; it is no longer there (moved?) and" in one_error(capsys)
    assert main(["-q", "run", "--config", str(out / "config.toml"), "--train", str(as_it_was)]) == 0
    assert (out / "submission.csv").read_bytes() == submission
    assert moved.exists()


def test_a_damaged_records_file_under_predict_names_the_runs_own_command_with_the_copy_a_changed_file_needs(
        tiny_corpus_files, tmp_path, capsys):
    # A helper's finding: predict refused a damaged records.parquet with "Rerun `screenstack run` (or fit-learners)
    # with --out OUT", which, once labels were typed into the file since, refused it as another configuration.
    train, test, out, as_it_was, submission = _run_keeping_its_training_file(tiny_corpus_files, tmp_path, "tfidf-svm")
    (out / "records.parquet").write_bytes(b"")
    train.write_text(train.read_text().replace(",0\n", ",1\n", 1))  # a label typed in since
    capsys.readouterr()
    assert main(["-q", "predict", "--run", str(out), "--data", str(test), "--out", str(tmp_path / "update")]) == 2
    error = one_error(capsys)
    assert f"{out / 'records.parquet'}" in error
    assert (f"Rerun `screenstack run --config {out / 'config.toml'} --train COPY` (COPY: {train} (--train) as at that run, "
            "or where it is now; it has changed since, labels typed in?, and the run's fold plan") in error
    assert error.endswith(": it writes records.parquet again.")
    assert main(["-q", "run", "--config", str(out / "config.toml"), "--train", str(as_it_was)]) == 0
    assert (out / "submission.csv").read_bytes() == submission
    assert main(["-q", "predict", "--run", str(out), "--data", str(test), "--out", str(tmp_path / "update")]) == 0


def test_a_learner_copied_in_from_a_run_with_another_fold_plan_is_named_as_stale_by_its_folder(tiny_corpus_files, tmp_path,
                                                                                                capsys):
    # A helper's finding: stack listed the copied learner's 14 files one by one and called it "damaged".
    import shutil

    train, test = tiny_corpus_files
    fit = ["--train", str(train), "--test", str(test), "--learners", "tfidf-svm,tfidf-logreg", "--folds", "2"]
    assert main(["-q", "run", *fit, "--out", str(tmp_path / "a")]) == 0
    assert main(["-q", "run", *fit, "--seed", "1", "--out", str(tmp_path / "b")]) == 0
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.rmtree(a / "learners" / "tfidf-svm")
    shutil.copytree(b / "learners" / "tfidf-svm", a / "learners" / "tfidf-svm")
    shutil.copy(b / ".manifests" / "learners%tfidf-svm.json", a / ".manifests" / "learners%tfidf-svm.json")
    files = len([p for p in (a / "learners" / "tfidf-svm").rglob("*") if p.is_file()])
    capsys.readouterr()
    assert main(["-q", "stack", "--out", str(a)]) == 2
    error = one_error(capsys)
    assert (f"{a}: the {files} files of learners/tfidf-svm are stale (made from other 'folds' outputs than OUT holds now). "
            f"Rerun `screenstack run --config {a / 'config.toml'}`: it refits the learner with the run's options.") in error
    # report and predict, which read the stack made before it, name the learner too, not the stack they would remake
    for command in (["report", "--out", str(a)], ["predict", "--run", str(a), "--data", str(test), "--out", str(tmp_path / "p")]):
        assert main(["-q", *command]) == 2
        assert (f"{a}: the {files} files of learners/tfidf-svm are stale (made from other 'folds' outputs than OUT holds "
                f"now). Rerun `screenstack run --config {a / 'config.toml'}`: it ") in one_error(capsys)
    assert main(["-q", "run", "--config", str(a / "config.toml")]) == 0
    assert main(["-q", "stack", "--out", str(a)]) == 0


def test_the_refit_of_a_deleted_learner_names_the_options_of_a_stack_made_since_the_run(tiny_corpus_files, tmp_path, capsys):
    # `run --config OUT/config.toml` remakes the run's own stack: after a `stack` with other options, following the
    # advice alone gave another submission (488 flagged became 529).
    import shutil

    train, test = tiny_corpus_files
    out = tmp_path / "out"
    fit = ["--train", str(train), "--test", str(test), "--out", str(out), "--learners", "tfidf-svm,tfidf-logreg", "--folds", "2"]
    assert main(["-q", "run", *fit]) == 0
    assert main(["-q", "stack", "--out", str(out), "--beta", "5", "--min-recall", "0.9"]) == 0
    submission = (out / "submission.csv").read_bytes()
    shutil.rmtree(out / "learners" / "tfidf-svm")
    (out / ".manifests" / "learners%tfidf-svm.json").unlink()
    capsys.readouterr()
    assert main(["-q", "report", "--out", str(out)]) == 2
    restack = f"`screenstack stack --out {out} --beta 5 --learners tfidf-logreg,tfidf-svm --min-recall 0.9`"
    assert (f"Rerun `screenstack run --config {out / 'config.toml'}`, then {restack} (the stack's options since the run): it "
            "fits it again") in one_error(capsys)
    assert main(["-q", "run", "--config", str(out / "config.toml")]) == 0
    assert main(["-q", "stack", "--out", str(out), "--beta", "5", "--learners", "tfidf-logreg,tfidf-svm", "--min-recall", "0.9"]) == 0
    assert (out / "submission.csv").read_bytes() == submission


def test_a_damaged_learner_beside_an_edited_config_toml_is_not_sent_to_run_config(tiny_corpus_files, tmp_path, capsys):
    # helper-141: the advice named `run --config OUT/config.toml`, which the edited file (--folds 5 -> 7) then had
    # refused as another configuration, whose refusal said to delete the run; fit-learners, which refits it, is named.
    train, test = tiny_corpus_files
    out = tmp_path / "run"
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--learners", "tfidf-svm", "--folds", "2",
                 "--out", str(out)]) == 0
    config = out / "config.toml"
    config.write_text(config.read_text().replace("folds = 2", "folds = 3"))
    with open(out / "learners" / "tfidf-svm" / "oof.parquet", "ab") as handle:
        handle.write(b"x")
    capsys.readouterr()
    assert main(["-q", "stack", "--out", str(out)]) == 2
    error = one_error(capsys)
    assert "run --config" not in error and f"Rerun `screenstack fit-learners --out {out} --learners tfidf-svm`" in error


def test_stack_after_the_runs_input_file_changed_says_its_figures_are_of_the_labels_the_run_read(finished_run, caplog):
    # helper-143: labels typed into the run's file, then `stack`: the old figures came back without a word.
    train, _, out = finished_run
    assert main(["-q", "stack", "--out", str(out)]) == 0
    assert "has changed since the run read it" not in caplog.text
    train.write_text(train.read_text() + "\n")
    caplog.clear()
    assert main(["-q", "stack", "--out", str(out)]) == 0
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "changed since the run" in r.getMessage()]
    assert said == [f"{train} (--train) has changed since the run read it (labels typed in?): this stack is of the labels "
                    f"the run read. To train on the file as it is now: `screenstack run --train {train} ... --out NEW` (a new "
                    "--out: the run's fold plan is drawn from its records of then)"]


def test_a_learner_refitted_into_its_own_writable_folder_needs_no_writable_learners_folder(finished_run, monkeypatch):
    # helper-142: learners/ read-only, learners/tfidf-svm writable: the refit lands in the latter, as the commit knows.
    train, test, out = finished_run
    (out / "learners" / "tfidf-svm" / "oof.parquet").unlink()
    access = runfolder.os.access
    monkeypatch.setattr(runfolder.os, "access", lambda path, mode: Path(path).name != "learners" and access(path, mode))
    assert main(["-q", "fit-learners", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 0


def test_a_learners_folder_on_another_disk_is_refused_before_any_fold_is_fitted(finished_run, monkeypatch, capsys):
    # helper-142: a symlinked learners/ on another disk passed, the learner was fitted, then "Invalid cross-device link".
    train, test, out = finished_run
    real_stat = runfolder.os.stat

    class Elsewhere:  # learners/ as a mount of its own would stat
        def __init__(self, status):
            self.status = status

        def __getattr__(self, name):
            return self.status.st_dev + 1 if name == "st_dev" else getattr(self.status, name)

    monkeypatch.setattr(runfolder.os, "stat", lambda path, *args, **kwargs: Elsewhere(real_stat(path, *args, **kwargs))
                        if Path(path).name == "learners" else real_stat(path, *args, **kwargs))
    (out / "learners" / "tfidf-svm" / "oof.parquet").unlink()
    shutil.rmtree(out / "learners" / "tfidf-svm")
    fitted = []
    monkeypatch.setattr("screenstack.learners.fit.oof_predict", lambda *args, **kwargs: fitted.append(1))
    assert main(["-q", "fit-learners", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 2
    error = one_error(capsys)
    assert error.startswith(f"screenstack: error: {out / 'learners'}: cannot write (Invalid cross-device link)")
    assert "Nothing was written" in error and not fitted


def test_a_new_stack_beside_an_unwritable_report_folder_is_refused_before_the_stack_is_made(finished_run, monkeypatch, capsys):
    # helper-144: the new stack was computed, then thrown away at the commit, which removes the previous report.
    _, _, out = finished_run
    assert main(["-q", "report", "--out", str(out)]) == 0
    access = runfolder.os.access
    monkeypatch.setattr(runfolder.os, "access", lambda path, mode: Path(path).name != "report" and access(path, mode))
    evaluated = []
    monkeypatch.setattr("screenstack.stacking.stack._evaluate", lambda *args: evaluated.append(1))
    assert main(["-q", "stack", "--out", str(out)]) == 0  # the same stack, reused: nothing is written, nothing refused
    assert main(["-q", "stack", "--out", str(out), "--max-shift", "1"]) == 2
    assert one_error(capsys).startswith(f"screenstack: error: {out / 'report'}: cannot write") and not evaluated


def test_a_symlinked_report_folder_is_left_in_place_when_its_report_is_removed(finished_run, tmp_path):
    # helper-144: rmdir of the symlink failed ("Not a directory") midway through the commit, and every later stack too.
    _, _, out = finished_run
    assert main(["-q", "report", "--out", str(out)]) == 0
    elsewhere = tmp_path / "figures"
    (out / "report").rename(elsewhere)
    (out / "report").symlink_to(elsewhere)
    assert main(["-q", "stack", "--out", str(out), "--max-shift", "1"]) == 0
    assert (out / "report").is_symlink() and not list(elsewhere.iterdir()) and not (out / "report.html").exists()
    assert main(["-q", "report", "--out", str(out)]) == 0 and list(elsewhere.iterdir())


def test_a_run_refitting_a_learner_beside_an_unwritable_report_folder_is_refused_before_fitting(finished_run, monkeypatch,
                                                                                                capsys):
    # helper-144: `run` refitted the learner, then its stack stage refused OUT/report (the refit was kept, the run not done).
    train, test, out = finished_run
    (out / "learners" / "tfidf-svm" / "oof.parquet").unlink()
    access = runfolder.os.access
    monkeypatch.setattr(runfolder.os, "access", lambda path, mode: Path(path).name != "report" and access(path, mode))
    fitted = []
    monkeypatch.setattr("screenstack.learners.fit.oof_predict", lambda *args, **kwargs: fitted.append(1))
    before = snapshot(out)
    assert main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(out), *TEXT]) == 2
    error = one_error(capsys)
    assert error.startswith(f"screenstack: error: {out / 'report'}: cannot write") and "Nothing was written" in error
    assert not fitted and snapshot(out) == before
