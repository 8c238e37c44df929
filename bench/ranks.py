"""Fold-parallel fine-tuning under torchrun: wall time of N processes against one, as a ratio.

Runs the same ``screenstack extract --finetune`` twice on one corpus: once as
one process, once as ``torchrun --nproc-per-node N``, every process limited to
one thread (``OMP_NUM_THREADS=1``), so that on an N-core CPU the ratio shows
what dividing the folds over ranks gains, as it would over N GPUs. Wall times
include each command's start (imports, model load, tokenising). Checks that
the two runs' outputs have the same bytes. The model is a random BERT saved to
a temporary folder (``--size``), with the bundled minilm tokenizer.

    python bench/ranks.py                              # K=4, 2 ranks, 240 + 40 records, tiny BERT
    python bench/ranks.py --ranks 4 --folds 8 --size small
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from screenstack.extract.model import resolve_model_path
from screenstack.features.artifacts.atomic import read_json

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "cohen_ace_inhibitors.csv"
SIZES = {
    "tiny": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512),
    "small": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
}


def _model(folder: Path, size: str) -> str:
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=30522, max_position_embeddings=512, **SIZES[size])).save_pretrained(str(folder))
    AutoTokenizer.from_pretrained(resolve_model_path("minilm")).save_pretrained(str(folder))
    return str(folder)


def _timed(command: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of the command's processes together."""
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - began, after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--records", type=int, default=240, help="training records (plus a sixth as many test records)")
    parser.add_argument("--size", default="tiny", choices=sorted(SIZES))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=256)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = pd.read_csv(DATA, dtype=str, keep_default_na=False).rename(columns={"record_id": "id"})
        n_test = args.records // 6
        included = data[data["label_included"] == "1"].head(args.records // 6)  # enough for every fold
        frame = pd.concat([included, data[data["label_included"] == "0"].head(args.records + n_test - len(included))])
        frame = frame.sample(frac=1, random_state=0)
        frame[["id", "title", "abstract", "label_included"]].iloc[:args.records].to_csv(tmp / "train.csv", index=False)
        frame[["id", "title", "abstract"]].iloc[args.records:].to_csv(tmp / "test.csv", index=False)
        command = ["-m", "screenstack", "-q", "extract", "--finetune", "--train", str(tmp / "train.csv"), "--test",
                   str(tmp / "test.csv"), "--model", _model(tmp / "model", args.size), "--folds", str(args.folds),
                   "--epochs", str(args.epochs), "--max-length", str(args.max_length), "--device", "cpu", "--dtype", "fp32",
                   "--yes"]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        one = _timed([sys.executable, *command, "--out", str(tmp / "one")], env)
        many = _timed([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(args.ranks),
                       *command, "--out", str(tmp / "many")], env)
        files = sorted(p.relative_to(tmp / "one") for pattern in ("learners/*/*.*", "features/*.parquet")
                       for p in (tmp / "one").glob(pattern))
        same = all((tmp / "one" / f).read_bytes() == (tmp / "many" / f).read_bytes() for f in files)
        best = 1 / min(args.ranks, args.folds)
        # Which rank trained each fold (its claim file names it) and for how long (history.json): the division of the work.
        per_rank: dict[str, float] = {}
        for claim in (tmp / "many").glob("finetune/*/fold*/claim"):
            rank = claim.read_text().split(" of ")[0]
            per_rank[rank] = per_rank.get(rank, 0.0) + sum(e["seconds"] for e in read_json(claim.parent / "history.json")["epochs"])
        print(f"K={args.folds}, {args.records} + {n_test} records, {args.size} BERT, {args.epochs} epochs, max length {args.max_length}")
        print(f"1 process: {one[0]:.1f} s ({one[1]:.1f} CPU s); {args.ranks} processes: {many[0]:.1f} s ({many[1]:.1f} CPU s); "
              f"wall ratio {many[0] / one[0]:.2f} (ideal {best:.2f}); outputs {'byte-identical' if same else 'DIFFER'} "
              f"({len(files)} files); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print("training seconds by rank: " + ", ".join(f"{r} {v:.1f}" for r, v in sorted(per_rank.items()))
              + f"; busiest rank's share {max(per_rank.values()) / sum(per_rank.values()):.2f}")


if __name__ == "__main__":
    main()
