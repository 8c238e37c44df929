"""Does the bootstrap threshold rule beat the plain OOF argmax on held-out data?

For each shared dataset and several stratified 50/50 splits, fits the TF-IDF
learners on the train half, stacks with each threshold rule, and scores the
test half's decisions with F-beta. Prints a table of test F-beta per rule.

    python bench/threshold.py --splits 0,1,2,3,4
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from screenstack.features.records.corpus import load_corpus
from screenstack.learners.fit import fit_learners
from screenstack.stacking.metrics import fbeta, wss
from screenstack.stacking.stack import StackConfig, stack
from screenstack.stacking.threshold import RULES, choose_threshold, fbeta_curve

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATASETS  # noqa: E402  (bench/ is not a package)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=str(DATASETS))
    parser.add_argument("--splits", default="0,1,2")
    parser.add_argument("--learners", default="tfidf-svm,tfidf-logreg")
    parser.add_argument("--beta", type=float, default=7.0)
    parser.add_argument("--save", default="artifacts/bench_threshold.csv", help="per-split rows as CSV")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    for path in sorted(Path(args.datasets).glob("*.csv")):
        data = pd.read_csv(path, dtype=str, keep_default_na=False)
        for seed in [int(s) for s in args.splits.split(",")]:
            train, test = train_test_split(data, test_size=0.5, random_state=seed, stratify=data["label_included"])
            with tempfile.TemporaryDirectory() as tmp:
                tmp = Path(tmp)
                train.to_csv(tmp / "train.csv", index=False)
                test.drop(columns=["label_included"]).to_csv(tmp / "test.csv", index=False)
                corpus = load_corpus(tmp / "train.csv", tmp / "test.csv")
                fit_learners(corpus, tmp / "run", tuple(args.learners.split(",")), progress=False)
                y_test = test["label_included"].astype(int).to_numpy()
                stack(tmp / "run", StackConfig(beta=args.beta, threshold_rule="argmax"))
                oof = pd.read_parquet(tmp / "run" / "blend_oof.parquet")
                scores = pd.read_csv(tmp / "run" / "test_scores.csv")["score"].to_numpy()
                oracle = float(fbeta_curve(y_test, scores, np.unique(scores), args.beta).max())
                rows.append({"dataset": path.stem, "split": seed, "rule": "test-oracle", "test_fbeta": oracle})
                rows.append({"dataset": path.stem, "split": seed, "rule": "flag-all", "test_fbeta": fbeta(y_test, np.ones_like(y_test), args.beta)})
                for rule in RULES:
                    threshold = choose_threshold(oof["label"].to_numpy(), oof["score"].to_numpy(), args.beta, rule)
                    flagged = scores >= threshold
                    rows.append({"dataset": path.stem, "split": seed, "rule": rule,
                                 "test_fbeta": fbeta(y_test, flagged, args.beta),
                                 "test_recall": flagged[y_test == 1].mean(), "flagged": flagged.mean(),
                                 "test_wss95": wss(y_test, scores)})
        print(pd.DataFrame(rows).query("dataset == @path.stem").groupby("rule")[["test_fbeta", "test_recall", "flagged"]].mean().round(4).to_string(), flush=True)
    table = pd.DataFrame(rows)
    per_dataset = table.pivot_table(index="dataset", columns="rule", values="test_fbeta", aggfunc="mean")
    per_dataset.loc["macro mean"] = per_dataset.mean()
    print(per_dataset.round(4).to_string())
    Path(args.save).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.save, index=False)


if __name__ == "__main__":
    main()
