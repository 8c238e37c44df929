"""What does BLAS on one thread cost the learners, and does it make their scores the same bytes on any core count?

`learners.oof.on_one_blas_thread` runs every fit and score (`fit_learners`,
`stack`, `predict`) with numpy's and scipy's BLAS on one thread, because
OpenBLAS splits a product's sums by its thread count and the logistic
learners' scores moved in their last bits with the machine's cores. This
times `oof_predict` (5 folds, test scores included) in this process, each
learner under BLAS on one thread and on every core (the previous behaviour,
`oof_predict.__wrapped__` under the machine's own thread count), best of
`--repeats`, on a shared dataset: the TF-IDF learners on its texts, the
logistic vector learner on Gaussian vectors of MiniLM's default width (4
layers x 384), and says whether each learner's scores are the same bytes at
1, 2 and 4 BLAS threads (one thread forced) and were before (threads as set).

    python bench/blas_threads.py                              # cohen_atypical_antipsychotics (1,120 records), ~1 min
    python bench/blas_threads.py --dataset nagtegaal_2019 --repeats 5 --results ''
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATASETS, ROOT, machine, publish  # noqa: E402  (bench/ is not a package)

from screenstack.features.artifacts.folds import FoldPlan, draw_folds  # noqa: E402
from screenstack.learners import make_learner, oof_predict  # noqa: E402

LEARNERS = ("logreg", "tfidf-logreg", "tfidf-svm")


def inputs(dataset: str, seed: int = 0):
    frame = pd.read_csv(DATASETS / f"{dataset}.csv", dtype=str, keep_default_na=False)
    y = frame["label_included"].astype(int).to_numpy()
    texts = (frame["title"] + " " + frame["abstract"]).tolist()
    vectors = (np.random.default_rng(seed).normal(size=(len(y), 1536)) + 0.1 * y[:, None]).astype(np.float32)
    plan = FoldPlan(frame["record_id"].to_numpy(dtype=object), y, draw_folds(y), {"n_folds": 5})
    return y, plan, {"logreg": vectors, "tfidf-logreg": texts, "tfidf-svm": texts}


def scores(name: str, X, y, plan, one_thread: bool, threads: int | None) -> tuple[float, bytes]:
    fit = oof_predict if one_thread else oof_predict.__wrapped__
    with threadpool_limits(limits=threads, user_api="blas"):
        started = time.perf_counter()
        oof, test = fit(make_learner(name), X, y, plan, X[:200], progress=False)
        return time.perf_counter() - started, oof.tobytes() + test.tobytes()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="cohen_atypical_antipsychotics")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"), help="'' to print only")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    y, plan, data = inputs(args.dataset)
    rows = []
    for name in LEARNERS:
        X = data[name]
        before = min(scores(name, X, y, plan, False, None)[0] for _ in range(args.repeats))
        after = min(scores(name, X, y, plan, True, None)[0] for _ in range(args.repeats))
        same_now = len({scores(name, X, y, plan, True, t)[1] for t in (1, 2, 4)}) == 1
        same_before = len({scores(name, X, y, plan, False, t)[1] for t in (1, 2, 4)}) == 1
        rows.append(f"| {name} | {before:.2f} | {after:.2f} | {after / before:.2f}x | {'yes' if same_before else 'no'} | "
                    f"{'yes' if same_now else 'no'} |")
    text = "\n".join([
        f"## BLAS on one thread ({args.dataset}, {len(y)} records, 5 folds, best of {args.repeats})", "",
        f"Machine: {machine()}.", "", f"    python bench/blas_threads.py --dataset {args.dataset} --repeats {args.repeats}", "",
        "| learner | every core (s) | one BLAS thread (s) | ratio | same bytes at 1, 2, 4 threads before | after |",
        "|---|---:|---:|---:|---:|---:|", *rows])
    publish(args.results, "blas_threads", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
