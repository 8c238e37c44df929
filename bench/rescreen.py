"""A reviewer who screens the top of ``ranked.csv`` and runs again: does the rerun still find the included records?

For each shared dataset and ``--seeds``, the records are shuffled and a random
10% labelled (at least 2 of them included), as in bench/reviewer_path.py; then

    screenstack run --data WORK/first.csv --model minilm --out WORK/first
    # label the top --top rows of WORK/first/ranked.csv (their true labels), as a reviewer screening from the top
    screenstack run --data WORK/second.csv --model minilm --out WORK/second

and the second run's decisions (its submission.csv) on its records to screen
are scored against the labels hidden from it: F7, recall, flagged share, and
whether the honest recall interval holds the true recall. The labelled records
of the second run are then richer in included records, and in easy ones, than
the records left: the threshold chosen on them finds few of the records left
unless the decision looks below the weakest labelled included record (the
fitted tail, `stacking.threshold.fitted_tail_threshold`). About 12 minutes on
2 cores for 6 datasets x 3 seeds with the vector cache of bench/protocol.py
(``--cache-dir``) warm.

    python bench/rescreen.py --jobs 2 --seeds 5   # bench/README.md, "The recall check as a warning (session 28, 0.3.20)"
    python bench/rescreen.py --jobs 2 --seeds 5 --top 100
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
BETA = 7.0


def fbeta(y: np.ndarray, d: np.ndarray, beta: float = BETA) -> float:
    tp = float(np.sum(y * d))
    return 0.0 if tp == 0 else (1 + beta ** 2) * tp / ((1 + beta ** 2) * tp + beta ** 2 * float(np.sum(y * (1 - d))) + float(np.sum((1 - y) * d)))


def screenstack(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "screenstack", "-q", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"screenstack {' '.join(args)} failed:\n{done.stderr}")


def case(dataset: str, seed: int, top: int, work: Path, cache: Path) -> dict:
    folder = work / f"{dataset}-s{seed}-top{top}"
    folder.mkdir(parents=True, exist_ok=True)
    data = pd.read_csv(DATASETS / f"{dataset}.csv", dtype=str, keep_default_na=False)[["record_id", "title", "abstract", "label_included"]]
    data = data.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    truth = data.set_index("record_id")["label_included"].astype(int)
    for draw in range(100):  # a random 10% holding at least 2 included records
        labelled = np.random.default_rng(seed + 1000 * draw).choice(len(data), size=int(round(0.1 * len(data))), replace=False)
        if data["label_included"].iloc[labelled].astype(int).sum() >= 2:
            break
    first = data.copy()
    first["label_included"] = np.where(np.isin(np.arange(len(data)), labelled), data["label_included"], "")
    first.to_csv(folder / "first.csv", index=False)
    common = ("--model", "minilm", "--cache-dir", str(cache / dataset))
    screenstack("run", "--data", str(folder / "first.csv"), *common, "--out", str(folder / "first"))
    ranked = pd.read_csv(folder / "first" / "ranked.csv", dtype=str, keep_default_na=False)
    screened = set(ranked["id"].iloc[:top])
    second = first.copy()
    picked = second["record_id"].isin(screened)
    second.loc[picked, "label_included"] = data.loc[picked, "label_included"]
    second.to_csv(folder / "second.csv", index=False)
    screenstack("run", "--data", str(folder / "second.csv"), *common, "--out", str(folder / "second"))

    summary = json.loads((folder / "second" / "summary.json").read_text())
    scores = pd.read_csv(folder / "second" / "test_scores.csv", dtype={"id": str})
    y = truth.loc[scores["id"]].to_numpy()
    low, high = summary["honest"]["recall_interval"]
    submitted = pd.read_csv(folder / "second" / "submission.csv", header=None, names=["id", "decision"], dtype={"id": str})
    assert submitted["id"].tolist() == scores["id"].tolist()
    d = submitted["decision"].to_numpy(dtype=int)
    recall = float(d[y == 1].mean()) if y.sum() else float("nan")
    return {"case": folder.name, "dataset": dataset, "seed": seed, "top": top, "fbeta": fbeta(y, d), "recall": recall,
            "flagged": float(d.mean()), "flag_all": fbeta(y, np.ones_like(d)), "included_left": int(y.sum()),
            "train_included": int(summary["n_train_included"]), "honest_holds": bool(low - 1e-9 <= recall <= high + 1e-9)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default=str(ROOT / "artifacts" / "rescreen"))
    parser.add_argument("--cache-dir", default=str(ROOT / "artifacts" / ".cache"), help="bench/protocol.py's --cache-dir")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--top", type=int, default=30, help="rows of the first ranked.csv screened before the rerun")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    if Path(args.work).exists():  # its runs would be reused (each case skips a run with a summary), not measured
        raise SystemExit(f"--work {Path(args.work).resolve()}: exists; give a new folder (the runs would be reused, not measured)")
    names = sorted(p.stem for p in DATASETS.glob("*.csv"))
    jobs = [(n, s) for n in names for s in range(args.seeds)]
    with ProcessPoolExecutor(args.jobs) as pool:
        done = pool.map(case, *zip(*jobs), [args.top] * len(jobs), [Path(args.work)] * len(jobs), [Path(args.cache_dir)] * len(jobs))
        rows = pd.DataFrame(list(done)).set_index("case")
    rows.to_csv(Path(args.work) / f"rows-top{args.top}.csv")
    print(f"{len(rows)} reruns after screening the top {args.top} rows; command: python bench/rescreen.py {' '.join(sys.argv[1:])}".rstrip())
    print("| F7 | recall | worst recall | flagged | honest recall interval holds | reruns > 0.05 below flag-all |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| {rows['fbeta'].mean():.3f} | {rows['recall'].mean():.3f} | {rows['recall'].min():.2f} | {rows['flagged'].mean():.3f} | "
          f"{int(rows['honest_holds'].sum())} of {len(rows)} | {int((rows['fbeta'] < rows['flag_all'] - 0.05).sum())} |")
    print(rows[["train_included", "included_left", "fbeta", "recall", "flagged", "flag_all"]].round(3).to_string())


if __name__ == "__main__":
    main()
