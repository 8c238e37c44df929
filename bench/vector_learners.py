"""How long does one fold of each vector learner take at competition scale?

Fits every vector learner on one fold of a synthetic 27,000 x 768 float32
matrix (~5% included; 21,600 rows fit, 5,400 rows scored as the held-out
fold) and scores 41,000 test rows, as `fit-learners` does per fold. Prints
wall and CPU seconds (on a busy machine, CPU seconds of a one-thread run
divided by the core count estimate the idle wall time), the CPU ratio to
``logreg`` (the baseline, run in the same invocation), the rounds early
stopping kept, the held-out AUC and the peak RSS. The synthetic vectors are
low-rank plus noise, like pooled embeddings.

    python bench/vector_learners.py --learners logreg,lightgbm,xgboost
    python bench/vector_learners.py --params n_jobs=1
"""
from __future__ import annotations

import argparse
import ast
import resource
import time

import numpy as np
from sklearn.metrics import roc_auc_score

from screenstack.learners import make_learner


def synthetic(n: int, dim: int, rank: int = 64, positive_rate: float = 0.05, seed: int = 0):
    """Low-rank vectors with noise and labels that depend on the low-rank factors."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, rank)).astype(np.float32)
    X = latent @ rng.normal(size=(rank, dim)).astype(np.float32) / np.sqrt(rank)
    X += 0.5 * rng.normal(size=(n, dim)).astype(np.float32)
    # The label is a noisy linear function of the latent factors, cut so that
    # about `positive_rate` of the rows are included (held-out AUC near 0.9).
    score = latent @ rng.normal(size=rank) / np.sqrt(rank) + 0.6 * rng.normal(size=n)
    y = (score > np.quantile(score, 1 - positive_rate)).astype(int)
    return X.astype(np.float32), y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", default="logreg,lightgbm,xgboost")
    parser.add_argument("--train", type=int, default=27_000, help="training records (4/5 fit, 1/5 held out)")
    parser.add_argument("--test", type=int, default=41_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--params", default="", help="extra params for every learner but the logreg baseline, e.g. n_estimators=200")
    args = parser.parse_args()
    extra = {k: ast.literal_eval(v) for k, v in (p.split("=") for p in args.params.split(",") if p)}
    X, y = synthetic(args.train + args.test, args.dim)
    X_test = X[args.train:]
    X, y = X[: args.train], y[: args.train]
    fit_rows = np.arange(len(y)) % 5 != 0
    print(f"fit {fit_rows.sum()} x {args.dim}, held out {(~fit_rows).sum()}, test {len(X_test)}, positives {y[fit_rows].mean():.3f}")
    names = args.learners.split(",")
    if "logreg" not in names:
        names = ["logreg"] + names
    base = None
    print(f"{'learner':10} {'fit s':>7} {'score s':>8} {'total s':>8} {'CPU s':>7} {'x logreg':>9} {'rounds':>7} {'AUC':>6}")
    for name in names:
        learner = make_learner(name, **({} if name == "logreg" else extra))
        start, cpu = time.perf_counter(), time.process_time()
        learner.fit(X[fit_rows], y[fit_rows])
        fitted = time.perf_counter()
        held_out = learner.predict_proba(X[~fit_rows])[:, 1]
        learner.predict_proba(X_test)
        done = time.perf_counter()
        total, cpu = done - start, time.process_time() - cpu
        base = base or cpu
        print(f"{name:10} {fitted - start:7.1f} {done - fitted:8.1f} {total:8.1f} {cpu:7.1f} {cpu / base:9.2f} "
              f"{getattr(learner, 'n_rounds_', '-'):>7} {roc_auc_score(y[~fit_rows], held_out):6.3f}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB")


if __name__ == "__main__":
    main()
