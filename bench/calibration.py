"""Are `stack`'s expected counts and intervals right on held-out halves?

For each shared dataset and several stratified 50/50 splits (and a variant
whose training half keeps only `--few` of its included records, as a review
that has just started), fits the TF-IDF learners on the train half, stacks,
and compares on the test half: the expected number of included records
(the sum of calibrated probabilities) with the real one, the expected number
left below the threshold and its interval with the real one, and whether the
honest F-beta and recall intervals hold the test half's F-beta and recall;
and, for the warning that a learner beats the blend, whether the learner with
the best honest OOF F-beta also beats the blend on the test half.

    python bench/calibration.py --splits 0,1,2
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from screenstack.features.records.corpus import load_corpus
from screenstack.learners.fit import fit_learners
from screenstack.stacking.metrics import fbeta
from screenstack.stacking.stack import stack

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATASETS  # noqa: E402  (bench/ is not a package)


def _one(train: pd.DataFrame, test: pd.DataFrame, learners: tuple[str, ...]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        train.to_csv(tmp / "train.csv", index=False)
        test.drop(columns=["label_included"]).to_csv(tmp / "test.csv", index=False)
        fit_learners(load_corpus(tmp / "train.csv", tmp / "test.csv"), tmp / "run", learners, progress=False)
        summary = stack(tmp / "run")
        ranked = pd.read_csv(tmp / "run" / "ranked.csv", dtype={"id": str}, keep_default_na=False)
        learner_scores = {name: pd.read_parquet(tmp / "run" / "learners" / name / "test.parquet") for name in summary["learners"]}
    labels = dict(zip(test["record_id"].astype(str), test["label_included"].astype(int)))
    # The learner with the best honest OOF F-beta, and its test F-beta at its own threshold.
    best = max(summary["learners"], key=lambda name: summary["learners"][name]["fbeta_honest"])
    best_test = learner_scores[best]
    best_y = best_test["id"].astype(str).map(labels).to_numpy()
    best_fbeta = fbeta(best_y, best_test["score"].to_numpy() >= summary["learners"][best]["threshold"], summary["beta"])
    y = ranked["id"].map(labels).to_numpy()
    flagged = ranked["decision"].to_numpy() == 1
    honest, screening = summary["honest"], summary["screening"]
    low, high = screening["expected_below_interval"]
    flagged_low, flagged_high = screening["expected_flagged_interval"]
    test_fbeta, test_recall = fbeta(y, flagged, summary["beta"]), y[flagged].sum() / max(y.sum(), 1)
    return {
        "n_test": len(y), "included": int(y.sum()), "expected": screening["expected_included"],
        "flagged_included": int(y[flagged].sum()), "expected_flagged": screening["expected_flagged"],
        "below": int(y[~flagged].sum()), "expected_below": screening["expected_below"], "below_low": low, "below_high": high,
        "below_covered": low <= y[~flagged].sum() <= high,
        "flagged_low": flagged_low, "flagged_high": flagged_high,
        "flagged_covered": flagged_low <= y[flagged].sum() <= flagged_high,
        "test_fbeta": test_fbeta, "honest_fbeta": honest["fbeta"],
        "fbeta_covered": honest["fbeta_interval"][0] <= test_fbeta <= honest["fbeta_interval"][1],
        "test_recall": test_recall, "honest_recall": honest["recall"],
        "recall_covered": honest["recall_interval"][0] <= test_recall <= honest["recall_interval"][1],
        "top20_precision": float(y[:20].mean()),
        "n_train": summary["n_train"], "honest_found": honest["found"], "honest_included": honest["included"],
        "honest_flagged": honest["flagged"], "honest_fbeta_low": honest["fbeta_interval"][0],
        "honest_fbeta_high": honest["fbeta_interval"][1],
        "learner_ahead": summary["learners"][best]["fbeta_honest"] - honest["fbeta"],
        "learner_test_ahead": best_fbeta - test_fbeta, "share_ahead": summary["best_learner"]["share_ahead"],
        "warned_learner": any("beats the blend" in w for w in summary["warnings"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=str(DATASETS))
    parser.add_argument("--splits", default="0,1")
    parser.add_argument("--few", type=int, default=10, help="included records the few-included variant keeps (0: none)")
    parser.add_argument("--learners", default="tfidf-svm,tfidf-logreg")
    parser.add_argument("--save", default="artifacts/bench_calibration.csv", help="per-half rows as CSV")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    for path in sorted(Path(args.datasets).glob("*.csv")):
        data = pd.read_csv(path, dtype=str, keep_default_na=False)
        for seed in [int(s) for s in args.splits.split(",")]:
            train, test = train_test_split(data, test_size=0.5, random_state=seed, stratify=data["label_included"])
            variants = {"full": train}
            included = train.index[train["label_included"] == "1"]
            if 0 < args.few < len(included):
                dropped = np.random.default_rng(seed).choice(included, len(included) - args.few, replace=False)
                variants[f"few{args.few}"] = train.drop(index=dropped)
            for variant, part in variants.items():
                row = {"dataset": path.stem, "split": seed, "variant": variant,
                       **_one(part, test, tuple(args.learners.split(",")))}
                rows.append(row)
                print(json.dumps(row, default=float), flush=True)
    frame = pd.DataFrame(rows)
    Path(args.save).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.save, index=False)
    for variant, part in frame.groupby("variant"):
        print(f"{variant}: {len(part)} halves; expected/real included {part['expected'].sum():.1f}/{part['included'].sum()} "
              f"(per half mean |diff| {np.mean(np.abs(part['expected'] - part['included'])):.2f}); below: expected "
              f"{part['expected_below'].sum():.1f}, real {part['below'].sum()}, interval held {part['below_covered'].mean():.0%}; "
              f"flagged: expected {part['expected_flagged'].sum():.1f}, real {part['flagged_included'].sum()}, interval held "
              f"{part['flagged_covered'].mean():.0%}; "
              f"honest F interval held {part['fbeta_covered'].mean():.0%}, recall interval {part['recall_covered'].mean():.0%}; "
              f"top-20 precision {part['top20_precision'].mean():.2f}")


if __name__ == "__main__":
    main()
