"""The run folder's owner, through the command line: damaged artifacts, locks, bad --out, interrupted commits, moves.

Every refusal is checked the way a user meets it: exit code 2, one line on
stderr naming the path, no traceback, and every byte of --out as it was.
"""
from __future__ import annotations

import errno
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import screenstack.learners.fit as fit_module
import screenstack.stacking.stack as stack_module
from screenstack.cli import main
from screenstack.features.records.corpus import load_corpus
from screenstack.features.errors import ScreenstackError
from screenstack.features.artifacts.runfolder import RunFolder
from screenstack.features.artifacts.store import is_intact, write_run_vectors, write_vectors
from screenstack.stacking.stack import StackConfig, stack

pytestmark = pytest.mark.filterwarnings("ignore:.*neither title nor abstract")
DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"
LEARNERS = "tfidf-svm,tfidf-logreg"


@pytest.fixture(scope="module")
def corpus_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    data = pd.read_csv(DATASETS / "cohen_atypical_antipsychotics.csv", dtype=str, keep_default_na=False)
    train, test = folder / "train.csv", folder / "test.csv"
    data.iloc[:200][["record_id", "title", "abstract", "label_included"]].to_csv(train, index=False)
    data.iloc[200:260][["record_id", "title", "abstract"]].to_csv(test, index=False)
    return train, test


@pytest.fixture(scope="module")
def finished(corpus_files, tmp_path_factory):
    """A run folder after fit-learners and stack (two TF-IDF learners); copy it before changing it."""
    out = tmp_path_factory.mktemp("finished") / "run"
    train, test = corpus_files
    assert main(["-q", "fit-learners", "--train", str(train), "--test", str(test), "--out", str(out), "--learners", LEARNERS]) == 0
    assert main(["-q", "stack", "--out", str(out)]) == 0
    return out


@pytest.fixture
def run(finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    return out


def fit_argv(corpus_files, out, *extra):
    train, test = corpus_files
    return ["-q", "fit-learners", "--train", str(train), "--test", str(test), "--out", str(out), "--learners", LEARNERS, *extra]


def snapshot(out) -> dict:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def refused(argv, capsys, out, *words) -> str:
    """Run the CLI and check the refusal: exit 2, one error line holding `words`, no traceback, OUT untouched."""
    before = snapshot(out) if out.is_dir() else None
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("screenstack: error: "), err
    for word in words:
        assert word in lines[0], (word, lines[0])
    if before is not None:
        assert snapshot(out) == before, "--out changed"
    return lines[0]


def truncate(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


# --- damaged artifacts ----------------------------------------------------------------------------

@pytest.mark.parametrize("file", ["oof.parquet", "test.parquet", "meta.json"])
def test_fit_learners_refits_a_truncated_learner_output_with_a_warning(run, corpus_files, file):
    whole = snapshot(run)
    truncate(run / "learners" / "tfidf-svm" / file)
    with pytest.warns(UserWarning, match=rf"tfidf-svm/{file}: damaged; refitting tfidf-svm"):
        assert main(fit_argv(corpus_files, run)) == 0
    after = snapshot(run)
    for name in ("oof.parquet", "test.parquet"):  # the refit gives the same scores again
        key = f"learners/tfidf-svm/{name}"
        pd.testing.assert_frame_equal(pd.read_parquet(run / key), pd.read_parquet(io.BytesIO(whole[key])))
    assert after["learners/tfidf-logreg/oof.parquet"] == whole["learners/tfidf-logreg/oof.parquet"]
    RunFolder(run).verify("learners/tfidf-svm", "")


@pytest.mark.parametrize("file", ["oof.parquet", "meta.json"])
def test_stack_refuses_a_truncated_learner_output_by_name(run, capsys, file):
    truncate(run / "learners" / "tfidf-logreg" / file)
    refused(["stack", "--out", str(run)], capsys, run, f"learners/tfidf-logreg/{file}: damaged",
            f"`screenstack fit-learners --out {run} --learners tfidf-logreg` with the run's --data (or --train/--test)")


def test_a_truncated_fold_plan_is_named_and_drawn_again_by_fit_learners_keeping_its_learners(run, corpus_files, capsys):
    whole = snapshot(run)
    truncate(run / "folds.parquet")
    refused(["stack", "--out", str(run)], capsys, run, "folds.parquet: damaged", "Rerun the `screenstack fit-learners`")
    assert main(fit_argv(corpus_files, run)) == 0
    after = snapshot(run)
    for key in ("folds.parquet", "learners/tfidf-svm/oof.parquet", "learners/tfidf-logreg/test.parquet"):
        assert after[key] == whole[key], key  # the same plan from the same records and seed: the learners stand
    assert main(["-q", "stack", "--out", str(run)]) == 0


def garble(out, name, text: str = '{"set": "trunc') -> None:
    (out / ".manifests" / f"{name}.json").write_text(text)


WRONG_SHAPES = ['{"set": "trunc', '{"files": [], "inputs": {}, "meta": {}}', "[]",
                '{"files": {}, "inputs": {}, "meta": null}']


@pytest.mark.parametrize("text", WRONG_SHAPES)
@pytest.mark.parametrize("name", ["folds", "records", "learners%tfidf-svm"])
def test_a_damaged_manifest_upstream_is_named_and_its_stage_writes_it_again(run, corpus_files, capsys, name, text):
    # The stack made from it used to be called stale, and `stack` (the advice) refused in turn: a loop. A manifest
    # that parses but is of another shape (files a list, meta null) was a version of its own, or a traceback.
    garble(run, name, text)
    refused(["stack", "--out", str(run)], capsys, run, f".manifests/{name}.json: damaged (", "Rerun ", "`screenstack fit-learners")
    refused(["report", "--out", str(run)], capsys, run, f".manifests/{name}.json: damaged", "Rerun ", "`screenstack fit-learners")
    with pytest.warns(UserWarning, match="damaged"):  # said under -q too: a repair, not progress
        assert main(fit_argv(corpus_files, run)) == 0
    assert main(["-q", "stack", "--out", str(run)]) == 0 and main(["-q", "report", "--out", str(run)]) == 0
    RunFolder(run).verify(name.replace("%", "/"), "")


@pytest.mark.parametrize("cut", ["unlisted", "no size"])
def test_a_learner_manifest_cut_short_is_damaged_not_a_licence_to_read_its_files_unchecked(run, corpus_files, capsys, cut):
    # Cut to meta.json alone, it let an altered oof.parquet be blended; entries without a size made the stack "stale".
    path = run / ".manifests" / "learners%tfidf-svm.json"
    manifest = json.loads(path.read_text())
    if cut == "unlisted":
        manifest["files"] = {k: v for k, v in manifest["files"].items() if k.endswith("meta.json")}
    else:
        manifest["files"] = {k: {"sha256": v["sha256"]} for k, v in manifest["files"].items()}
    path.write_text(json.dumps(manifest))
    oof = pd.read_parquet(run / "learners" / "tfidf-svm" / "oof.parquet")
    oof.assign(score=1 - oof["score"]).to_parquet(run / "learners" / "tfidf-svm" / "oof.parquet")
    for command in (["stack", "--out", str(run)], ["report", "--out", str(run)]):
        refused(command, capsys, run, ".manifests/learners%tfidf-svm.json: damaged", "fit-learners")
    with pytest.warns(UserWarning, match="learners%tfidf-svm.json: damaged; refitting tfidf-svm"):
        assert main(fit_argv(corpus_files, run)) == 0
    assert main(["-q", "stack", "--out", str(run)]) == 0


def test_records_warnings_kept_in_another_shape_are_a_damaged_manifest_not_a_traceback(run, corpus_files, capsys):
    path = run / ".manifests" / "records.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "meta": {**manifest["meta"], "said": 5}}))
    refused(["stack", "--out", str(run)], capsys, run, ".manifests/records.json: damaged (its warnings are not a list")
    assert main(fit_argv(corpus_files, run)) == 0 and main(["-q", "stack", "--out", str(run)]) == 0


@pytest.mark.parametrize("name", ["stack", "report"])
def test_a_damaged_manifest_of_the_stack_or_report_is_written_again_by_its_command(run, capsys, name):
    assert main(["-q", "report", "--out", str(run)]) == 0
    garble(run, name)
    if name == "stack":
        refused(["report", "--out", str(run)], capsys, run, ".manifests/stack.json: damaged", "screenstack stack --out")
    assert main(["-q", name, "--out", str(run)]) == 0  # its files, unlisted now, are taken as its own
    assert main(["-q", "report", "--out", str(run)]) == 0
    RunFolder(run).verify(name, "")


def test_a_folder_where_a_manifest_goes_is_named_before_any_file_moves(run, capsys):
    assert main(["-q", "report", "--out", str(run)]) == 0
    (run / ".manifests" / "report.json").unlink()
    (run / ".manifests" / "report.json").mkdir()
    capsys.readouterr()
    assert main(["report", "--out", str(run)]) == 2
    assert f"{run / '.manifests' / 'report.json'}: cannot write (Is a directory)" in capsys.readouterr().err


def test_a_ranked_csv_whose_stack_manifest_is_damaged_is_not_replaced(run, capsys):
    garble(run, "stack")
    with open(run / "ranked.csv", "a") as ranked:
        ranked.write("notes typed in\r\n")
    refused(["stack", "--out", str(run)], capsys, run, "ranked.csv: ", ".manifests/stack.json, which listed it, is damaged",
            "Move it out of")


@pytest.mark.parametrize("file", ["summary.json", "blend_oof.parquet"])
def test_report_refuses_truncated_stack_outputs_by_name(run, capsys, file):
    truncate(run / file)
    refused(["report", "--out", str(run)], capsys, run, f"{file}: damaged", "screenstack stack")


def test_a_learner_whose_manifest_was_deleted_is_refused_not_read_unchecked(run, capsys):
    (run / ".manifests" / "learners%tfidf-svm.json").unlink()
    truncate(run / "learners" / "tfidf-svm" / "oof.parquet")
    refused(["stack", "--out", str(run)], capsys, run, "learners/tfidf-svm/meta.json has no manifest "
            "(.manifests/learners%tfidf-svm.json is missing), so it cannot be checked",
            "If it was deleted, move the folder learners/tfidf-svm/ aside. Rerun ", "copy the run folder whole")


def test_a_feature_file_of_other_texts_with_the_same_ids_is_refused(run, corpus_files, capsys, tmp_path):
    train, test = corpus_files
    data = pd.read_csv(train, dtype=str, keep_default_na=False)
    other_train = tmp_path / "other.csv"
    data.assign(title=data["title"].str.upper()).to_csv(other_train, index=False)
    other = load_corpus(other_train, test)
    frame = other.frame
    features = write_vectors(tmp_path / "features.parquet", frame["id"], frame["split"], np.zeros((len(frame), 4), np.float32),
                             {"train_fingerprint": other.fingerprint("train"), "test_fingerprint": other.fingerprint("test")})
    argv = ["fit-learners", "--train", str(train), "--test", str(test), "--out", str(run), "--learners", "logreg",
            "--features", str(features)]
    refused(argv, capsys, run, "features.parquet", "other train records with the same ids (their texts or labels differ, or their row order: another "
            "--train or --data file, a label corrected since, or other --text-cols)", "screenstack extract")


# --- the folder itself ----------------------------------------------------------------------------

def test_out_naming_a_file_is_refused(corpus_files, capsys, tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("not a folder")
    refused(fit_argv(corpus_files, out), capsys, tmp_path, "out.csv: is a file, not a folder")
    refused(["stack", "--out", str(out)], capsys, tmp_path, "out.csv: is a file")


def test_a_read_only_out_is_one_line_and_untouched(run, corpus_files, capsys, monkeypatch):
    # Tests may run as root, whom chmod does not stop: the file system's answer is simulated where OUT is written.
    real_open = os.open

    def read_only(path, *args, **kwargs):
        if str(path).startswith(str(run)):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    refused(fit_argv(corpus_files, run), capsys, run, str(run), "read-only", "writable disk")


def test_an_out_on_a_read_only_mount_is_not_sent_to_fix_permissions(run, corpus_files, capsys, monkeypatch):
    # A read-only bind mount: os.access says no, as for a folder of another user's, but chmod cannot help (a helper's
    # `run`, `stack`, `report` and `predict --out` said "fix its permissions"). Simulated: tests may run as root.
    access, statvfs = os.access, os.statvfs
    monkeypatch.setattr(os, "access", lambda path, mode: not str(path).startswith(str(run)) and access(path, mode))
    monkeypatch.setattr(os, "statvfs", lambda path: type("Mount", (), {"f_flag": os.ST_RDONLY})()
                        if str(path).startswith(str(run)) else statvfs(path))
    again = Path(f"{run}-again")  # on the same mount, beside the run (inside it, it is refused as inside)
    line = refused(fit_argv(corpus_files, again), capsys, run, f"{again} is on a read-only file system", "writable disk")
    assert "permissions" not in line


@pytest.mark.skipif(not os.access("/proc", os.W_OK), reason="needs a /proc that os.access calls writable (Linux, as root)")
def test_an_out_where_no_folder_can_be_made_says_so_and_to_use_another(corpus_files, capsys, tmp_path):
    # /proc lets root pass os.access but makes no folder (ENOENT): "check the path and the disk" sent no one anywhere.
    refused(fit_argv(corpus_files, Path("/proc/screenstack-out")), capsys, tmp_path, "/proc/screenstack-out: cannot write",
            "no folder can be made there", "use another --out", "screenstack-out was not written.")


def test_a_full_disk_during_stack_keeps_the_previous_outputs(run, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full)
    line = refused(["stack", "--out", str(run), "--beta", "3"], capsys, run, f"{run / 'blend_oof.parquet'}: cannot write",
                   "disk is full", "blend_oof.parquet was not changed")
    assert ".staging" not in line


def test_a_full_disk_while_a_set_is_staged_does_not_say_out_was_not_changed(tmp_path):
    # A write that failed without naming its file said "run was not changed" of a new OUT holding a fold plan.
    from screenstack.features.artifacts.runfolder import RunFolder

    out = tmp_path / "run"
    with RunFolder(out).commit("folds") as staging:
        (staging / "folds.parquet").write_bytes(b"plan")
    with pytest.raises(ScreenstackError) as refused_:
        with RunFolder(out).commit("learners/tfidf-svm") as staging:
            (staging / "learners").mkdir()
            raise OSError(errno.ENOSPC, "No space left on device")
    assert str(refused_.value) == (f"{out}: cannot write (No space left on device); the disk is full (of bytes, or of "
                                   "files: df -h, df -i): free some space or give --out a folder on another disk. The "
                                   "files being written were not kept (those this command finished before stay, and the "
                                   "same command reuses them).")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        ".manifests/folds.json", "folds.parquet"]


def test_a_manifest_unreadable_for_its_permissions_before_the_move_leaves_no_staged_set(tmp_path, monkeypatch):
    # helper-155: the staged report was left whole, and predict then said an interrupted command had left it half moved in.
    from screenstack.features.artifacts import sets
    from screenstack.features.artifacts.runfolder import RunFolder

    out = tmp_path / "run"
    with RunFolder(out).commit("folds") as staging:
        (staging / "folds.parquet").write_bytes(b"plan")

    def denied(*args):
        raise PermissionError(errno.EACCES, "Permission denied", str(out / ".manifests" / "folds.json"))

    monkeypatch.setattr(sets, "check_targets", denied)
    with pytest.raises(PermissionError):
        with RunFolder(out).commit("learners/tfidf-svm") as staging:
            (staging / "learners").mkdir()
    assert not list((out / ".staging").glob("*")) and (out / "folds.parquet").read_bytes() == b"plan"


def test_a_lock_held_by_another_process_is_refused(run, capsys):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from screenstack.features.artifacts.runfolder import RunFolder
            with RunFolder({str(run)!r}).lock():
                print("locked", flush=True)
                sys.stdin.read()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = snapshot(run)
        refused(["stack", "--out", str(run)], capsys, run, str(run), f"another screenstack process (pid {holder.pid})",
                "use another --out")
        assert snapshot(run) == before
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert not (run / ".lock").exists(), "the lock file goes with its holder"
    assert main(["-q", "stack", "--out", str(run)]) == 0


def test_stale_temporary_files_are_removed_when_the_folder_is_taken(run):
    stale = [run / ".summary.json.x1y2.tmp", run / "finetune" / "m" / "fold0" / ".state.pt.abc.tmp",
             run / ".staging" / "stack" / "summary.json"]
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * 1024)
    before = {k: v for k, v in snapshot(run).items() if not any(str(run / k) == str(p) for p in stale)}
    assert main(["-q", "report", "--out", str(run)]) == 0
    assert not any(p.exists() for p in stale) and not (run / ".staging").exists()
    after = snapshot(run)
    assert all(after[k] == v for k, v in before.items())


def test_a_moved_run_folder_is_reused(run, corpus_files, tmp_path, monkeypatch, caplog):
    features = run / "features" / "toy.parquet"
    corpus = load_corpus(*corpus_files)
    frame = corpus.frame
    rng = np.random.default_rng(0)
    write_vectors(features, frame["id"], frame["split"], rng.normal(size=(len(frame), 8)).astype(np.float32), {"model": "toy"})
    assert main(fit_argv(corpus_files, run, "--learners", "logreg", "--features", str(features))) == 0
    meta = json.loads((run / "learners" / "logreg" / "meta.json").read_text())
    assert meta["features"] == ["features/toy.parquet"], "paths inside OUT are stored relative to it"

    moved = tmp_path / "elsewhere" / "run2"
    moved.parent.mkdir()
    subprocess.run(["mv", str(run), str(moved)], check=True)
    monkeypatch.setattr(fit_module, "oof_predict", lambda *a, **k: pytest.fail("a moved run folder was refitted"))
    caplog.set_level("INFO", logger="screenstack")
    argv = fit_argv(corpus_files, moved, "--learners", "logreg,tfidf-svm", "--features", str(moved / "features" / "toy.parquet"))
    argv.remove("-q")
    assert main(argv) == 0
    assert "logreg: outputs in" in caplog.text and "tfidf-svm: outputs in" in caplog.text and "reusing them" in caplog.text


def test_artifacts_follow_the_umask(corpus_files, tmp_path):
    old = os.umask(0o022)
    try:
        out = tmp_path / "run"
        assert main(fit_argv(corpus_files, out, "--learners", "tfidf-svm")) == 0
        assert main(["-q", "stack", "--out", str(out)]) == 0
    finally:
        os.umask(old)
    modes = {p.relative_to(out).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*") if p.is_file()}
    assert {"folds.parquet", "summary.json", "submission.csv", "learners/tfidf-svm/oof.parquet"} <= set(modes)
    assert set(modes.values()) == {0o644}, modes


# --- interrupted commits --------------------------------------------------------------------------

def test_a_stack_stopped_while_writing_leaves_the_old_set(run, monkeypatch):
    before = snapshot(run)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(stack_module, "write_json", killed)  # summary.json is written last
    with pytest.raises(KeyboardInterrupt):
        stack(run, StackConfig(beta=0.5, min_recall=0.0))  # a decision that differs from the default run's
    assert snapshot(run) == before
    assert not (run / ".staging").exists()


def test_a_stack_stopped_while_moving_is_rolled_forward_by_the_next_command(run, monkeypatch):
    before = snapshot(run)
    real_replace = os.replace

    def killed_at_summary(source, target, *args, **kwargs):
        if str(target) == str(run / "summary.json"):
            raise KeyboardInterrupt
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", killed_at_summary)
    with pytest.raises(KeyboardInterrupt):
        stack(run, StackConfig(beta=0.5, min_recall=0.0))  # a decision that differs from the default run's
    monkeypatch.setattr(os, "replace", real_replace)
    half = snapshot(run)
    assert half["submission.csv"] != before["submission.csv"] and half["summary.json"] == before["summary.json"]

    with pytest.warns(UserWarning, match="finishing the 'stack' outputs"):
        with RunFolder(run).lock():  # what every command does first
            pass
    summary = json.loads((run / "summary.json").read_text())
    assert summary["beta"] == 0.5
    RunFolder(run).verify("stack", "")  # every file of the set is the one its manifest names
    scores = pd.read_csv(run / "test_scores.csv", dtype={"id": str})
    submission = pd.read_csv(run / "submission.csv", header=None, names=["id", "judgement"], dtype={"id": str})
    assert (submission["judgement"] == (scores["score"] >= summary["threshold"]).astype(int)).all()


def test_a_staged_set_without_its_manifest_is_discarded(run):
    before = snapshot(run)
    staged = run / ".staging" / "stack"
    staged.mkdir(parents=True)
    (staged / "summary.json").write_text("{}")
    with RunFolder(run).lock():
        pass
    assert snapshot(run) == before


def test_the_lock_is_reentrant_within_a_process_and_released_after(tmp_path):
    run = RunFolder(tmp_path / "run")
    with run.lock():
        with run.lock():
            assert (run.out / ".lock").is_file()
        assert (run.out / ".lock").is_file()
    assert not (run.out / ".lock").exists()


def test_stack_on_a_missing_out_says_what_to_run(tmp_path):
    with pytest.raises(ScreenstackError, match="no such run folder.*fit-learners"):
        stack(tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()


def test_report_on_a_missing_out_names_both_stages_it_needs(tmp_path):
    from screenstack.stacking.report import write_report

    with pytest.raises(ScreenstackError, match=r"no such run folder.*`screenstack run --out.*--data.*`screenstack fit-learners` then `screenstack stack`"):
        write_report(tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()


def test_a_run_that_fails_before_writing_leaves_no_folder(corpus_files, capsys, tmp_path):
    out = tmp_path / "new"
    refused(fit_argv(corpus_files, out, "--learners", "logreg"), capsys, tmp_path, "--features")
    assert not out.exists()
    with pytest.raises(ScreenstackError, match="--features"):  # raised while the stage holds the lock
        fit_module.fit_learners(load_corpus(*corpus_files), out, ("logreg",), progress=False)
    assert not out.exists()


def test_a_truncated_feature_file_in_the_run_folder_is_caught(run, corpus_files, capsys):
    corpus = load_corpus(*corpus_files)
    frame = corpus.frame
    path = write_run_vectors(run, run / "features" / "enc.parquet", frame["id"], frame["split"],
                             np.ones((len(frame), 4), np.float32), {"train_fingerprint": corpus.fingerprint("train")})
    assert is_intact(path)
    truncate(path)
    assert not is_intact(path), "the fine-tuner and extract make a damaged file again instead of reusing it"
    argv = fit_argv(corpus_files, run, "--learners", "logreg", "--features", str(path))
    refused(argv, capsys, run, "features/enc.parquet: damaged", "screenstack extract")


def test_a_run_folder_with_absolute_feature_paths_from_older_versions_is_reused(run, corpus_files, monkeypatch, resign):
    features = run / "features" / "toy.parquet"
    frame = load_corpus(*corpus_files).frame
    write_vectors(features, frame["id"], frame["split"], np.ones((len(frame), 4), np.float32), {"model": "toy"})
    assert main(fit_argv(corpus_files, run, "--learners", "logreg", "--features", str(features))) == 0
    meta_path = run / "learners" / "logreg" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "features": [str(features.resolve())]}))  # as older versions wrote it
    resign(run, "learners/logreg")  # as if written so
    monkeypatch.setattr(fit_module, "oof_predict", lambda *a, **k: pytest.fail("an older run folder was refitted"))
    assert main(fit_argv(corpus_files, run, "--learners", "logreg", "--features", str(features))) == 0


# --- sets made from other sets -------------------------------------------------------------------

def _commit(run: RunFolder, name: str, text: str, inputs: tuple[str, ...] = ()) -> None:
    with run.commit(name, inputs=inputs) as staging:
        (staging / f"{name}.txt").parent.mkdir(parents=True, exist_ok=True)
        (staging / f"{name}.txt").write_text(text)


def test_a_new_version_of_a_set_removes_what_was_made_from_the_old_one(tmp_path):
    run = RunFolder(tmp_path / "run")
    _commit(run, "folds", "plan")
    _commit(run, "learners/a", "a", ("folds",))
    _commit(run, "learners/b", "b", ("folds",))
    _commit(run, "stack", "blend of a", ("folds", "learners/a"))
    _commit(run, "report", "page", ("stack",))
    _commit(run, "config", "options", ("stack",))
    _commit(run, "learners/b", "b again", ("folds",))  # not blended: nothing made from it
    _commit(run, "stack", "blend of a", ("folds", "learners/a"))  # the same version: the report still describes it
    assert (run.out / "report.txt").is_file() and (run.out / "config.txt").is_file()
    _commit(run, "learners/a", "a refitted", ("folds",))
    assert not any((run.out / f"{name}.txt").exists() for name in ("stack", "report", "config"))
    assert not any((run.out / ".manifests" / f"{name}.json").exists() for name in ("stack", "report", "config"))
    assert (run.out / "learners" / "a.txt").is_file() and (run.out / "learners" / "b.txt").is_file()
    _commit(run, "folds", "another plan")  # the learners made on the old plan go, and their folder
    assert sorted(p.name for p in (run.out / ".manifests").iterdir()) == ["folds.json"] and not (run.out / "learners").exists()


def _a_finished_run(tmp_path) -> RunFolder:
    run = RunFolder(tmp_path / "run")
    _commit(run, "folds", "plan")
    _commit(run, "learners/a", "a", ("folds",))
    _commit(run, "stack", "blend of a", ("folds", "learners/a"))
    _commit(run, "report", "page", ("stack",))
    _commit(run, "config", "options", ("stack",))
    return run


def test_each_removal_names_a_command_that_makes_the_files_again(tmp_path, caplog):
    run = _a_finished_run(tmp_path)
    caplog.set_level("INFO", logger="screenstack")
    _commit(run, "folds", "another plan")
    said = {line.split(": removed ")[1].split(",")[0]: line for line in caplog.messages}
    assert sorted(said) == ["config.txt", "learners/a.txt", "report.txt", "stack.txt"]
    # `run` needs its input files: `screenstack run --out OUT` alone fails with "no input file".
    assert not any("`screenstack run --out" in line or "`screenstack fit-learners --out" in line for line in said.values())
    # Not "rerun the run command that made OUT": its options were the file just removed, and the folder is no longer
    # what they made.
    assert (f"It held the options of the `screenstack run` that made {run.out}, whose learners these no longer all are"
            in said["config.txt"] and "Rerun" not in said["config.txt"])
    assert f"`screenstack fit-learners` or `screenstack run` command that made {run.out}" in said["learners/a.txt"]
    assert f"`screenstack stack --out {run.out}`" in said["stack.txt"]
    assert f"Rerun `screenstack report --out {run.out}`: it rewrites the report" in said["report.txt"]


def test_a_removal_the_command_itself_makes_good_is_not_news(tmp_path, caplog):
    run = _a_finished_run(tmp_path)
    caplog.set_level("DEBUG", logger="screenstack")
    with run.lock(remakes=("learners/a", "stack", "report")):  # not config: this command does not write it
        _commit(run, "folds", "another plan")
    said = [r.getMessage() for r in caplog.records if r.levelname in ("INFO", "WARNING")]
    debug = [r.getMessage() for r in caplog.records if r.levelname == "DEBUG"]
    # config.toml's removal a warning: the only record of the run's options (helper-176: gone under -q unsaid)
    assert len(said) == 1 and "removed config.txt" in said[0]
    assert [r.levelname for r in caplog.records if "removed config.txt" in r.getMessage()] == ["WARNING"]
    assert len(debug) == 3 and not any("config.txt" in line for line in debug)
    caplog.clear()
    _commit(run, "learners/a", "a on the new plan", ("folds",))
    _commit(run, "stack", "blend", ("folds", "learners/a"))
    _commit(run, "report", "page", ("stack",))
    _commit(run, "folds", "a third plan")  # the lock is let go: another command's removals are news again
    assert sum("removed" in r.getMessage() for r in caplog.records if r.levelname == "INFO") == 2  # learner, report
    # helper-142: removed with the stack it described, the report's line said only `screenstack report`, which then
    # failed for want of a stack: an info line beside the stack's, which says what to run first; the stack's a warning
    # (helper-147: a submission and ranked.csv gone under -q without a word)
    [warned] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "removed stack.txt" in warned and "Rerun `screenstack stack --out" in warned
    _commit(run, "learners/a", "a on the third plan", ("folds",))
    _commit(run, "stack", "blend", ("folds", "learners/a"))
    _commit(run, "report", "page", ("stack",))
    caplog.clear()
    _commit(run, "stack", "another blend", ("folds", "learners/a"))  # a new stack: `report` remakes its report
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and "removed report.txt" in warned[0] and f"screenstack report --out {run.out}" in warned[0]


def test_a_set_made_from_another_version_of_its_input_is_refused_as_stale(tmp_path):
    run = RunFolder(tmp_path / "run")
    with run.commit("stack") as staging:  # with the file every stack holds: a manifest without it is damaged, not stale
        (staging / "summary.json").write_text("{}")
    _commit(run, "report", "page", ("stack",))
    run.verify("report", "")
    manifest = run.manifest_path("report")
    manifest.write_text(manifest.read_text().replace(run.version("stack"), "0" * 64))  # as if copied from another run folder
    with pytest.raises(ScreenstackError, match=r"report.txt are stale \(made from other 'stack' outputs.*Run it again"):
        run.verify("report", "Run it again.")


def test_a_damaged_or_stale_artifact_error_raised_in_a_worker_process_reaches_the_caller_whole(tmp_path):
    # Parallel code (concurrent.futures, joblib) pickles a worker's error to hand it back; these errors take other
    # arguments than their message, and one that could not be rebuilt broke the whole pool instead (BrokenProcessPool).
    import pickle
    from concurrent.futures import ProcessPoolExecutor

    from screenstack.features.artifacts.damage import DamagedArtifact, StaleArtifact

    stale = StaleArtifact(tmp_path, ["learners/logreg/oof.parquet"], "folds", "Rerun fit-learners.")
    back = pickle.loads(pickle.dumps(stale))
    assert type(back) is StaleArtifact and str(back) == str(stale) and back.path == stale.path and back.reason == stale.reason
    with ProcessPoolExecutor(1) as pool:
        future = pool.submit(_raise_damaged, tmp_path / "oof.parquet")
        with pytest.raises(DamagedArtifact, match=r"oof\.parquet: missing \(moved or deleted\)\. Rerun it\.") as raised:
            future.result()
    assert raised.value.path == tmp_path / "oof.parquet" and raised.value.exit_code == 2


def _raise_damaged(path):
    from screenstack.features.artifacts.damage import DamagedArtifact

    raise DamagedArtifact(path, "missing", "Rerun it.")


def test_a_staged_leftover_that_cannot_be_removed_is_said_as_that_not_as_a_file_in_the_way(tmp_path, monkeypatch):
    """helper-157: a staged folder the permissions kept from being listed was left (rmtree's errors ignored), and the
    next commit said "cannot write (File exists); a file stands where a folder is needed", with no file in the way."""
    import screenstack.features.artifacts.runfolder as runfolder

    out = tmp_path / "run"
    with RunFolder(out).commit("report") as staging:
        (staging / "report.html").write_text("first")
    leftover = out / ".staging" / "report"
    leftover.mkdir(parents=True)
    (leftover / "report.html").write_text("killed midway")
    rmtree = shutil.rmtree

    def unlistable(path, ignore_errors=False, **kwargs):
        if Path(path) == leftover:
            if ignore_errors:
                return
            raise PermissionError(errno.EACCES, "Permission denied", str(leftover))
        return rmtree(path, ignore_errors=ignore_errors, **kwargs)

    monkeypatch.setattr(runfolder.shutil, "rmtree", unlistable)
    with pytest.raises(ScreenstackError, match=r"report: cannot write \(Permission denied\); no permission to write there"):
        with RunFolder(out).commit("report") as staging:
            (staging / "report.html").write_text("second")
    assert (out / "report.html").read_text() == "first"


def test_a_learner_file_edited_to_the_same_size_is_caught_by_its_checksum(run, capsys):
    # A same-size change (a hand edit, a flipped byte on disk) passes a size check; the checksum is what catches it.
    meta = run / "learners" / "tfidf-logreg" / "meta.json"
    text = meta.read_text()
    edited = text.replace('"numpy"', '"NUMPY"', 1)
    assert edited != text and len(edited) == len(text)
    meta.write_text(edited)
    refused(["stack", "--out", str(run)], capsys, run, "learners/tfidf-logreg/meta.json: damaged")


def test_a_learner_manifest_that_no_longer_lists_its_test_scores_is_damaged(run, capsys):
    # Its test scores are what the submission blends: a manifest cut to meta.json and oof.parquet let an altered
    # test.parquet through unchecked.
    path = run / ".manifests" / "learners%tfidf-svm.json"
    manifest = json.loads(path.read_text())
    manifest["files"] = {k: v for k, v in manifest["files"].items() if not k.endswith("test.parquet")}
    path.write_text(json.dumps(manifest))
    test = pd.read_parquet(run / "learners" / "tfidf-svm" / "test.parquet")
    test.assign(score=1 - test["score"]).to_parquet(run / "learners" / "tfidf-svm" / "test.parquet")
    refused(["stack", "--out", str(run)], capsys, run, ".manifests/learners%tfidf-svm.json: damaged", "fit-learners")
