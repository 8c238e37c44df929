"""What does tokenising the training texts once, not once per fold and TF-IDF learner, save `fit-learners`?

From 0.3.57 `fit-learners` cuts the training texts into n-grams once
(`learners.text.token_counts`) and each fold of each TF-IDF learner fits on
its rows of those counts; before, each fold's vectoriser tokenised its
training texts and then its held-out texts again, K times per learner. This
runs `fit_learners` with the two TF-IDF learners on the competition-sized
corpus of bench/speed.py (27,000 training and 41,000 test records sampled
from the shared datasets), each way in a fresh process, `--repeats` times
alternately: the way before 0.3.57 is the same code handed the texts in place
of the counts (`token_counts` patched), so each fold tokenises its own
training and held-out texts, the work 0.3.56 did. It reports the best wall
time, CPU time and peak memory of each, their ratios, and whether the two ways
wrote the same bytes (OOF and test scores). That both ways fit each fold as
scikit-learn's `TfidfVectorizer.fit_transform` did in 0.3.56 is
tests/learners/test_text.py's to check, fold by fold.

    python bench/tokenise_once.py                    # full size, 2 repeats: about 15 minutes on 2 cores
    python bench/tokenise_once.py --train 2700 --test 4100 --repeats 1 --results ''   # a quick smoke run
"""
from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATASETS, ROOT, machine, peak_mib, publish  # noqa: E402  (bench/ is not a package)
from speed import build_corpus  # noqa: E402

TEXT_LEARNERS = ("tfidf-logreg", "tfidf-svm")


class _Texts(dict):
    """What `token_counts` returns, patched for the way before 0.3.57: the texts themselves for every analyser."""

    def __init__(self, texts):
        super().__init__()
        self.texts = texts

    def __getitem__(self, key):
        return self.texts


def fit_once(work: str, way: str) -> dict:
    """`fit_learners` with the TF-IDF learners into ``work/run-<way>``; wall, CPU, peak MiB and the scores' bytes."""
    import warnings

    import screenstack  # noqa: F401  (the command's OpenMP policy)
    from screenstack.features.records.corpus import load_corpus
    from screenstack.learners import fit

    warnings.simplefilter("ignore")
    if way == "per fold":
        fit.token_counts = lambda texts, learners: _Texts(texts)
    out = Path(work) / f"run-{way.replace(' ', '-')}"
    shutil.rmtree(out, ignore_errors=True)  # else the second repeat reuses the first one's outputs
    start = time.perf_counter()
    fit.fit_learners(load_corpus(Path(work) / "train.csv", Path(work) / "test.csv"), out, TEXT_LEARNERS, (), progress=False)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    scores = {name: (out / "learners" / name / "oof.parquet").read_bytes() + (out / "learners" / name / "test.parquet").read_bytes()
              for name in TEXT_LEARNERS}
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mib": peak_mib(), "scores": scores}


def in_fresh_process(work: Path, way: str) -> dict:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), max_tasks_per_child=1) as pool:
        row = pool.submit(fit_once, str(work), way).result()
    print(f"{way:9} {row['wall_s']:7.1f} s wall {row['cpu_s']:7.1f} s CPU {row['peak_mib']:7.0f} MiB", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=DATASETS, help="folder of labelled CSV files to sample")
    parser.add_argument("--train", type=int, default=27_000, help="training records (default 27,000)")
    parser.add_argument("--test", type=int, default=41_000, help="test records (default 41,000)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each way, alternately (best kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=ROOT / "artifacts" / "bench-tokenise-once")
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"), help="file to write the table to ('' for none)")
    args = parser.parse_args()

    facts = build_corpus(args.datasets, args.work, args.train, args.test, 8, args.seed)
    runs: dict[str, list[dict]] = {"per fold": [], "once": []}
    for _ in range(args.repeats):
        for way in runs:
            runs[way].append(in_fresh_process(args.work, way))
    best = {way: min(rows, key=lambda row: row["wall_s"]) for way, rows in runs.items()}
    same = all(row["scores"] == best["per fold"]["scores"] for rows in runs.values() for row in rows)
    base, new = best["per fold"], best["once"]
    lines = [
        f"Written by `bench/tokenise_once.py` on {time.strftime('%Y-%m-%d')}. Rerun: `python bench/tokenise_once.py"
        f" --train {args.train} --test {args.test} --repeats {args.repeats}`",
        "", machine(), "",
        f"`fit_learners` with {' and '.join(TEXT_LEARNERS)} on {facts['n_train']:,} training records "
        f"({facts['included_train']:,} included) and {facts['n_test']:,} test records sampled from the shared datasets "
        f"(seed {args.seed}), 5 folds; each way in a fresh process, best of {args.repeats}.",
        "",
        "| way | wall s | CPU s | peak MiB | wall / per fold | peak / per fold |",
        "|---|---:|---:|---:|---:|---:|",
        *(f"| {label} | {row['wall_s']:.1f} | {row['cpu_s']:.1f} | {row['peak_mib']:,.0f} | "
          f"{row['wall_s'] / base['wall_s']:.2f}x | {row['peak_mib'] / base['peak_mib']:.2f}x |"
          for label, row in (("each fold tokenises its texts (before 0.3.57)", base),
                             ("the training texts tokenised once (0.3.57)", new))),
        "",
        f"OOF and test scores the same bytes both ways: {'yes' if same else 'NO'}.",
    ]
    publish(args.results, "tokenise-once", "## The TF-IDF learners' training texts tokenised once\n\n" + "\n".join(lines))
    if not same:
        sys.exit("the two ways wrote different scores")


if __name__ == "__main__":
    main()
