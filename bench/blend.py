"""Which way of blending the learners holds up on held-out data?

For each shared dataset and several stratified 50/50 splits, this fits every
default learner (MiniLM vectors: ``logreg``, ``lightgbm``, ``xgboost``; text:
``tfidf-svm``, ``tfidf-logreg``) on the train half once, then runs `stack`
with each blend (every learner) and with the logistic blend of the TF-IDF
learners only, and scores the test half: F-beta (beta 7) at the threshold
`stack` chose on OOF scores, recall, ROC-AUC and WSS@95 of the ranking. The
per-text vector cache (``--cache-dir``) makes later splits of a dataset cost
only the learners' fitting.

    python bench/blend.py --splits 0,1,2 --cache-dir /tmp/blend-cache       # ~30 minutes on 2 cores
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import tempfile
import warnings
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from screenstack.extract.stage import ExtractConfig, extract_features
from screenstack.features.records.corpus import load_corpus
from screenstack.learners.fit import fit_learners
from screenstack.stacking.blend import BLENDERS
from screenstack.stacking.metrics import screening_metrics
from screenstack.stacking.stack import StackConfig, stack

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATASETS  # noqa: E402  (bench/ is not a package)

LEARNERS = ("logreg", "lightgbm", "xgboost", "tfidf-svm", "tfidf-logreg")
TEXT = ("tfidf-svm", "tfidf-logreg")


def variants() -> dict[str, StackConfig]:
    found = {f"all:{name}": StackConfig(blend=name) for name in (*BLENDERS, "auto")}
    found["tfidf:logistic"] = StackConfig(blend="logistic", learners=TEXT)
    return found


def one_split(path: Path, data: pd.DataFrame, seed: int, cache: Path, beta: float) -> list[dict]:
    train, test = train_test_split(data, test_size=0.5, random_state=seed, stratify=data["label_included"])
    y_test = test["label_included"].astype(int).to_numpy()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        train.to_csv(tmp / "train.csv", index=False)
        test.drop(columns=["label_included"]).to_csv(tmp / "test.csv", index=False)
        corpus = load_corpus(tmp / "train.csv", tmp / "test.csv")
        features = extract_features(corpus, tmp / "run", ExtractConfig(model="minilm", cache_dir=str(cache)), progress=False)
        fit_learners(corpus, tmp / "run", LEARNERS, features=(str(features),), progress=False)
        for name, config in variants().items():
            summary = stack(tmp / "run", dataclasses.replace(config, beta=beta))
            scores = pd.read_csv(tmp / "run" / "test_scores.csv")["score"].to_numpy()
            metrics = screening_metrics(y_test, scores, summary["threshold"], beta)
            rows.append({"dataset": path.stem, "split": seed, "variant": name, "chosen": summary["blend"]["method"],
                         **{f"test_{k}": v for k, v in metrics.items()}, "oof_fbeta_honest": summary["blend"]["fbeta_honest"]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=str(DATASETS))
    parser.add_argument("--splits", default="0,1,2")
    parser.add_argument("--beta", type=float, default=7.0)
    parser.add_argument("--cache-dir", default="artifacts/.cache", help="per-text vector caches (a folder per dataset), shared by the splits")
    parser.add_argument("--save", default="artifacts/bench_blend.csv", help="per-split rows as CSV")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.getLogger("screenstack").setLevel(logging.WARNING)
    rows = []
    for path in sorted(Path(args.datasets).glob("*.csv")):
        data = pd.read_csv(path, dtype=str, keep_default_na=False)
        for seed in [int(s) for s in args.splits.split(",")]:
            rows += one_split(path, data, seed, Path(args.cache_dir) / path.stem, args.beta)
        done = pd.DataFrame(rows).query("dataset == @path.stem")
        print(path.stem, "\n", done.groupby("variant")[["test_fbeta", "test_wss95", "test_roc_auc"]].mean().round(4).to_string(), flush=True)
    table = pd.DataFrame(rows)
    Path(args.save).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.save, index=False)
    for metric in ("test_fbeta", "test_wss95", "test_roc_auc"):
        pivot = table.pivot_table(index="dataset", columns="variant", values=metric, aggfunc="mean")
        pivot.loc["macro mean"] = pivot.mean()
        print(f"\n{metric} (mean over splits {args.splits})\n{pivot.round(4).to_string()}")
    print("\nauto chose:", table.query("variant == 'all:auto'")["chosen"].value_counts().to_dict())


if __name__ == "__main__":
    main()
