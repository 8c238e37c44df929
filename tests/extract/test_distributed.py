"""Several processes on one run (`extract.distributed`): torchrun with 2 ranks on CPU (gloo), a tiny random BERT, 4 folds.

Each run of several ranks is a real ``torchrun ... -m screenstack extract``; the
one-process run it is compared with runs the same command in the test process.
Every process uses one thread, so their outputs can be compared byte for byte.
"""
from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from screenstack.cli import main
from screenstack.extract.distributed import CLAIM_FILE, Ranks, rank0_locked, rank_device, train_claimed
from screenstack.features.errors import ScreenstackError

from .conftest import read_records

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
FINETUNE = ["--finetune", "--folds", "4", "--epochs", "2", "--batch-size", "8", "--max-length", "32", "--lr", "3e-3",
            "--device", "cpu", "--dtype", "fp32", "--yes"]
TRAINED = re.compile(r"fold (\d+): claimed by rank (\d+) of (\d+)")
# Run by torchrun in place of `-m screenstack`. In the first attempt each rank dies (as under kill -9) after the
# first epoch of its first fold, once every rank has saved one: torchrun's restart must resume those folds.
KILLER = """
import os, sys, time
from screenstack.cli import main
from screenstack.extract import finetune as ft
real_save = ft._save
def save(obj, path):
    real_save(obj, path)
    if path.name == "state.pt" and os.environ["TORCHELASTIC_RESTART_COUNT"] == "0":
        while len(list(path.parent.parent.glob("fold*/state.pt"))) < int(os.environ["WORLD_SIZE"]):
            time.sleep(0.02)
        os._exit(9)
ft._save = save
sys.exit(main())
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory, random_bert) -> tuple[list[str], Path]:
    """Command-line arguments of a 40 + 8 record corpus on the tiny BERT, and a folder for run folders."""
    folder = tmp_path_factory.mktemp("distributed")
    frame = read_records(48).rename(columns={"record_id": "id"})[["id", "title", "abstract"]]
    frame["judgement"] = [int(i % 3 == 0) for i in range(len(frame))]
    frame.iloc[:40].to_csv(folder / "train.csv", index=False)
    frame.iloc[40:].drop(columns="judgement").to_csv(folder / "test.csv", index=False)
    return ["--train", str(folder / "train.csv"), "--test", str(folder / "test.csv"), "--model", random_bert], folder


def _run(launcher: list[str], args: list[str], out: Path, check: bool = True) -> subprocess.CompletedProcess:
    # TMPDIR: torchrun's own torchelastic_* folders, left behind by each launch, go with the test's folder
    (temp := out.parent / "tmp").mkdir(exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SCREENSTACK_CACHE": str(out.parent / ".cache"), "TMPDIR": str(temp)}
    done = subprocess.run([*launcher, "extract", *args, "--out", str(out)], capture_output=True, text=True, env=env, timeout=300)  # 2 ranks beside another test worker on 2 cores
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def _one_process(args: list[str], out: Path) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["-q", "extract", *args, "--out", str(out)]) == 0
    finally:
        torch.set_num_threads(threads)


def _outputs(out: Path) -> dict[str, bytes]:
    """The bytes of every committed output (learner scores and meta, feature files)."""
    files = [*out.glob("learners/*/*.*"), *out.glob("features/*.parquet")]
    assert files
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(files)}


def _trained(stderr: str) -> list[tuple[int, int]]:
    return [(int(k), int(rank)) for k, rank, _ in TRAINED.findall(stderr)]


@pytest.fixture(scope="module")
def one_process(data) -> dict[str, bytes]:
    args, folder = data
    _one_process([*args, *FINETUNE], folder / "one")
    return _outputs(folder / "one")


def test_two_ranks_train_each_fold_once_and_write_what_one_process_writes(data, one_process):
    args, folder = data
    done = _run(TORCHRUN + ["-m", "screenstack"], [*args, *FINETUNE], folder / "two")
    trained = _trained(done.stderr)
    assert sorted(k for k, _ in trained) == [0, 1, 2, 3], "every fold trained exactly once"
    assert {rank for _, rank in trained} == {0, 1}, "both ranks trained folds"
    assert _outputs(folder / "two") == one_process
    # What both ranks read is said once: the input files' summary, and the paths written
    assert done.stderr.count("train.csv: 40 records") == 1 and done.stdout.strip().count("\n") == 1, done.stdout
    claims = {int(c.parent.name[4:]): c.read_text() for c in (folder / "two").glob(f"finetune/*/fold*/{CLAIM_FILE}")}
    assert {k: f"rank {rank} of 2 (" for k, rank in trained} == {k: text[:len("rank 0 of 2 (")] for k, text in claims.items()}, \
        "each claim file names the rank that trained the fold"
    # Rank 0's refusal (another configuration in this OUT) stops both ranks with its one line, not a traceback.
    refused = _run(TORCHRUN + ["-m", "screenstack"], [*args, *FINETUNE, "--lr", "1e-3"], folder / "two", check=False)
    ranks_said = refused.stderr.split("torch/distributed/elastic")[0]  # then torchrun's own report of failed workers
    assert refused.returncode != 0 and "Traceback" not in ranks_said
    assert refused.stderr.count("screenstack: error: ") == 2 and "differs in: --lr (" in refused.stderr
    assert _outputs(folder / "two") == one_process


def test_killed_ranks_folds_are_resumed_by_torchruns_restart(data, one_process):
    args, folder = data
    out = folder / "killed"
    (folder / "killer.py").write_text(KILLER)
    launcher = [*TORCHRUN[:3], "--max-restarts", "1", *TORCHRUN[3:], str(folder / "killer.py")]
    done = _run(launcher, [*args, *FINETUNE], out)
    claims = _trained(done.stderr)
    assert claims[:2] in ([(0, 0), (1, 1)], [(1, 1), (0, 0)]), "first attempt: each rank claims a fold of its own, then dies"
    assert sorted(k for k, _ in claims[2:]) == [0, 1, 2, 3], "after the restart each fold is claimed once"
    assert "fold 0: resuming after epoch 1" in done.stderr and "fold 1: resuming after epoch 1" in done.stderr
    assert _outputs(out) == one_process


def test_two_ranks_extract_disjoint_shards_into_the_same_file(data):
    args, folder = data
    extract = ["--device", "cpu", "--dtype", "fp32", "--pooling", "cls,mean", "--chunk-size", "8", "--max-length", "64"]
    _one_process([*args, *extract, "--cache-dir", str(folder / "cache-one")], folder / "x1")
    two = _run(TORCHRUN + ["-m", "screenstack"], [*args, *extract, "--cache-dir", str(folder / "cache-two")], folder / "x2")
    shares = [int(n) for n in re.findall(r"encoded (\d+) texts in .* on rank \d of 2", two.stderr)]
    assert len(shares) == 2 and sum(shares) == 48 and min(shares) > 0, "each rank encodes part of the texts"
    assert _outputs(folder / "x1") == _outputs(folder / "x2"), "same file name (settings hash) and bytes"
    assert len(list((folder / "cache-two").glob("*/chunk-*.parquet"))) == 6


def _hold(folder: Path, seconds: float, finish: bool) -> threading.Thread:
    """Hold `folder`'s claim from another open file (as another process would) for `seconds`, finishing the fold or not."""
    folder.mkdir(parents=True)
    fd = os.open(folder / CLAIM_FILE, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)

    def release():
        time.sleep(seconds)
        if finish:
            (folder / "result.npz").write_bytes(b"done")
        os.close(fd)
    thread = threading.Thread(target=release)
    thread.start()
    return thread


@pytest.mark.parametrize("holder_finishes", [True, False])
def test_a_held_fold_is_waited_for_and_trained_only_if_its_holder_did_not_finish(tmp_path, holder_finishes):
    folders = {k: tmp_path / f"fold{k}" for k in range(3)}
    holder = _hold(folders[1], 0.3, holder_finishes)
    order = []

    def train(k):
        order.append(k)
        (folders[k] / "result.npz").write_bytes(b"done")

    trained = train_claimed(folders, lambda f: (f / "result.npz").is_file(), train)
    holder.join()
    assert trained == order == ([0, 2] if holder_finishes else [0, 2, 1]), "free folds first, then the held one if left unfinished"
    assert train_claimed(folders, lambda f: (f / "result.npz").is_file(), train) == [], "finished folds are never retrained"


def test_ranks_from_torchrun_variables(monkeypatch):
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert Ranks.from_env() == Ranks(3, 1, 4) and not Ranks.from_env().main
    assert rank_device("cpu", Ranks.from_env()) == "cpu"
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ScreenstackError, match="RANK=4, WORLD_SIZE=4"):
        Ranks.from_env()


def test_several_ranks_without_torchrun_are_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("MASTER_ADDR", raising=False)

    @rank0_locked()
    def stage(out):
        raise AssertionError("a stage must not start without its other ranks")

    with pytest.raises(ScreenstackError, match="WORLD_SIZE=2: MASTER_ADDR is not set. Start several processes with torchrun"):
        stage(tmp_path / "out")
    assert not (tmp_path / "out").exists()
