"""How often does the recall check warn where the labelled records are a random sample, and what was the recall there?

The check (`stacking.decision.recall_check`) warns where the calibrated probabilities of the records to screen expect
a recall below the honest recall's 95% interval; on a random 50/50 split that is a false alarm unless the recall
really fell. Each shared dataset is split with `screenstack split --test-size 0.5 --seed S`, run with the learners
given, and the run's `decision.recall_check` set beside the recall its submission reached on the held-out labels.

    python bench/recall_check.py --learners tfidf-svm,tfidf-logreg --seeds 3          # about 3 minutes on 2 cores
    python bench/recall_check.py --seeds 3                                            # the default learners (MiniLM)
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LEARNERS = "logreg,lightgbm,xgboost,tfidf-svm,tfidf-logreg"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))
    parser.add_argument("--learners", default=DEFAULT_LEARNERS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--work", default=str(ROOT / "artifacts" / "recall-check"))
    args = parser.parse_args()
    screenstack, work, rows = str(Path(sys.executable).parent / "screenstack"), Path(args.work), []
    for path in sorted(Path(args.datasets).glob("*.csv")):
        labels = pd.read_csv(path, dtype=str, keep_default_na=False)
        truth = dict(zip(labels["record_id"], labels["label_included"].astype(int)))
        for seed in range(args.seeds):
            split = work / f"{path.stem}-s{seed}"
            if not (split / "train.csv").is_file():
                subprocess.run([screenstack, "-q", "split", "--data", str(path), "--test-size", "0.5", "--seed", str(seed),
                                "--out", str(split)], check=True, capture_output=True)
            out = work / args.learners.replace(",", "+") / f"{path.stem}-s{seed}"
            shutil.rmtree(out, ignore_errors=True)  # a run there would be reused, whatever version made it, not measured
            command = [screenstack, "-q", "run", "--train", str(split / "train.csv"), "--test", str(split / "test.csv"),
                       "--out", str(out), "--learners", args.learners, "--model", "minilm", "--cache-dir", str(work / ".cache")]
            subprocess.run(command, check=True, capture_output=True)
            check = json.loads((out / "summary.json").read_text())["decision"]["recall_check"]
            flags = pd.read_csv(out / "submission.csv", header=None, names=["id", "flag"], dtype={"id": str})
            y = flags["id"].map(truth).to_numpy()
            rows.append({"dataset": path.stem, "seed": seed, "warned": bool(check.get("below_interval")),
                         "expected_recall": check.get("expected_recall"), "interval_low": check.get("target"),
                         "recall": float((y * flags["flag"].to_numpy()).sum() / max(y.sum(), 1))})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    below = table["recall"] < table["interval_low"]
    print(f"{args.learners}: warned on {int(table['warned'].sum())} of {len(table)} splits ({int((table['warned'] & below).sum())} "
          f"with the recall below the interval's lower end; {int(below.sum())} such splits in all); expected recall "
          f"{table['expected_recall'].mean():.3f} against the recall reached {table['recall'].mean():.3f} (means)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
