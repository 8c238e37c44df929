"""README's "A reviewer's path": one review screened as a reviewer lives it, measured against its hidden labels.

`cohen_ace_inhibitors` (2,544 records, 41 included) is shuffled (``--seed``);
the first 70% are this search, of which 10% of all records (a random 254)
have been screened, and the last 30% arrive a month later as an update. The
commands a reviewer types then run as they would:

    screenstack run --data WORK/current.csv --model minilm --out WORK/review
    screenstack predict --run WORK/review --data WORK/update.csv --out WORK/review-update

and their ``ranked.csv`` files are scored against the labels hidden from
them: included records among the records to screen, found in the top 20 and
50 rows, flagged (recall), F7 of the decisions, AUC, rows read to find 95% of
the included records, and the expected included records (the sum of
``ranked.csv``'s ``probability``). The console's decision lines are printed
too. About 6 minutes on 2 cores for MiniLM's encoding, seconds once the
vector cache (``--cache-dir``, shared with bench/protocol.py) holds the texts.

    python bench/reviewer_path.py                  # the table in README.md, "A reviewer's path"
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT.parent / "shared" / "datasets" / "cohen_ace_inhibitors.csv"
BETA = 7.0


def make_files(work: Path, seed: int) -> pd.Series:
    """current.csv (this search, 254 records labelled) and update.csv (next month's, unlabelled) in `work`;
    returns every record's hidden label by id."""
    data = pd.read_csv(DATASET, dtype=str, keep_default_na=False)[["record_id", "title", "abstract", "label_included"]]
    data = data.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    n_current = int(round(0.7 * len(data)))
    current, update = data.iloc[:n_current].copy(), data.iloc[n_current:].copy()
    screened = np.random.default_rng(seed).choice(n_current, size=int(round(0.1 * len(data))), replace=False)
    current["label_included"] = np.where(np.isin(np.arange(n_current), screened), current["label_included"], "")
    work.mkdir(parents=True, exist_ok=True)
    current.to_csv(work / "current.csv", index=False)
    update.drop(columns="label_included").to_csv(work / "update.csv", index=False)
    return data.set_index("record_id")["label_included"].astype(int)


def screenstack(*args: str) -> list[str]:
    """Run the command as a user would; its console lines (stderr and stdout)."""
    done = subprocess.run([sys.executable, "-m", "screenstack", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"screenstack {' '.join(args)} failed:\n{done.stderr}")
    return (done.stderr + done.stdout).splitlines()


def scored(ranked: Path, truth: pd.Series) -> dict:
    """`ranked.csv` against the hidden labels."""
    table = pd.read_csv(ranked, dtype={"id": str}, keep_default_na=False)
    y = truth.loc[table["id"]].to_numpy()
    decisions = table["decision"].astype(int).to_numpy()
    found = int(decisions @ y)
    flagged = int(decisions.sum())
    precision, recall = found / max(flagged, 1), found / max(int(y.sum()), 1)
    f = (1 + BETA**2) * precision * recall / max(BETA**2 * precision + recall, 1e-12)
    order = np.argsort(-table["score"].to_numpy(dtype=float), kind="stable")
    hits = np.cumsum(y[order])
    return {"records to screen": len(y), "included among them": int(y.sum()), "top 20": int(hits[19]), "top 50": int(hits[49]),
            "flagged": flagged, "found": found, "test F7": round(f, 3),
            "AUC": round(roc_auc_score(y, table["score"].to_numpy(dtype=float)), 3),
            "rows read to find 95%": int(np.searchsorted(hits, np.ceil(0.95 * y.sum())) + 1),
            "expected included": round(float(table["probability"].astype(float).sum()), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default=str(ROOT / "artifacts" / "reviewer_path"), help="a new folder for the files and runs")
    parser.add_argument("--seed", type=int, default=0, help="the shuffle and the records screened")
    parser.add_argument("--cache-dir", default=str(ROOT / "artifacts" / ".cache" / "cohen_ace_inhibitors"),
                        help="the per-text vector cache (bench/protocol.py's for this review)")
    args = parser.parse_args()
    work = Path(args.work).resolve()
    if work.exists():
        raise SystemExit(f"--work {work}: exists; give a new folder (the runs would be reused, not measured)")
    truth = make_files(work, args.seed)
    lines = screenstack("run", "--data", str(work / "current.csv"), "--model", "minilm", "--cache-dir", args.cache_dir,
                        "--out", str(work / "review"))
    lines += screenstack("predict", "--run", str(work / "review"), "--data", str(work / "update.csv"),
                         "--out", str(work / "review-update"))
    said = ("label shift", "recall floor", "honest floor", "honest estimate", "records to screen flagged", "predict:", "blend:")
    print("\n".join(line for line in lines if any(key in line for key in said)))
    rows = {"this search (`run`)": scored(work / "review" / "ranked.csv", truth),
            "the update (`predict`)": scored(work / "review-update" / "ranked.csv", truth)}
    labelled = pd.read_csv(work / "current.csv", dtype=str, keep_default_na=False)["label_included"]
    print(f"\n{int((labelled != '').sum())} records labelled, {int((labelled == '1').sum())} included; "
          f"command: python bench/reviewer_path.py --seed {args.seed}\n")
    columns = list(next(iter(rows.values())))
    print("| | " + " | ".join(columns) + " |\n|---|" + "---:|" * len(columns))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(str(row[c]) for c in columns) + " |")


if __name__ == "__main__":
    main()
