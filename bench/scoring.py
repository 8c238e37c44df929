"""How much memory and time does scoring a large test set take?

Living reviews and search updates score far more records than they train on.
This builds a training set of ~5,000 records and a test set of up to 1,000,000
(texts resampled with replacement, seeded, from the shared datasets), with a
feature file of random float32 vectors as wide as `screenstack extract`'s
defaults make them (MiniLM's 384 per layer and pooling: 1,536 for the means of
the last four layers since 0.3.25; bench/README.md's figures were measured at
768, the last layer's cls and mean of 0.3.24), written in the store's row groups. Then, each in a fresh
process, with peak memory (max RSS, interpreter and imports included):

- ``fit-learners`` with all five CPU learners on the full test set, its test
  records streamed through the fold models in chunks of 50,000 (the default);
- ``stack`` on that run (ranked.csv, calibration and the blend on 1M rows);
- the baseline, in the same invocation: ``fit-learners`` on the first
  ``--baseline`` test records, chunked as above and unchunked (every test
  text, vector and TF-IDF matrix at once, the path before chunking).

Scoring records/s counts only the fold models' scoring of the test records
(`chunked_fold_mean_scores`, timed inside the child), not the fitting.
Target: fit-learners on 1,000,000 test records under 4 GB at peak.

    python bench/scoring.py                                  # 1M test records; about an hour on 2 busy cores
    python bench/scoring.py --test 20000 --baseline 10000 --results ''   # a quick smoke run
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATASETS, ROOT, machine, peak_mib, write_section  # noqa: E402  (bench/ is not a package)

LEARNERS = ("tfidf-svm", "tfidf-logreg", "logreg", "lightgbm", "xgboost")
MINILM_WIDTH = 384
TARGET_MIB = 4 * 1000**3 / 2**20  # 4 GB


def default_width() -> int:
    """The width of a default `screenstack extract` file of MiniLM: 384 per (layer, pooling)."""
    from screenstack.extract.stage import ExtractConfig

    config = ExtractConfig()
    return MINILM_WIDTH * len(config.layers) * len(config.pooling)


def build(datasets: Path, work: Path, n_train: int, n_test: int, n_baseline: int, dim: int, seed: int) -> dict:
    """Write train.csv, test.csv (and test-BASELINE.csv, its first records) and a feature file for each test file."""
    frames = [pd.read_csv(path, dtype=str, keep_default_na=False) for path in sorted(datasets.glob("*.csv"))]
    pool = pd.concat(frames, ignore_index=True)[["title", "abstract", "label_included"]]
    rows = np.random.default_rng(seed).integers(0, len(pool), size=n_train + n_test)
    sample = pool.iloc[rows].reset_index(drop=True)
    sample.insert(0, "id", [f"r{i:07d}" for i in range(len(sample))])
    work.mkdir(parents=True, exist_ok=True)
    sample.iloc[:n_train].to_csv(work / "train.csv", index=False)
    sample.iloc[n_train:][["id", "title", "abstract"]].to_csv(work / "test.csv", index=False)
    sample.iloc[n_train:n_train + n_baseline][["id", "title", "abstract"]].to_csv(work / f"test-{n_baseline}.csv", index=False)
    labels = sample["label_included"].astype(int).to_numpy()[:n_train]
    del sample, pool, frames
    return {"features": str(write_features(work, "test.csv", labels, dim, seed)),
            "baseline_features": str(write_features(work, f"test-{n_baseline}.csv", labels, dim, seed)),
            "included_train": int(labels.sum()), "test_csv_gb": (work / "test.csv").stat().st_size / 1000**3}


def write_features(work: Path, test_file: str, labels: np.ndarray, dim: int, seed: int) -> Path:
    """The feature file of train.csv + `test_file`, one row group at a time; row i's vector is the same in every file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from screenstack.features.artifacts.store import ROW_GROUP_ROWS, vector_column
    from screenstack.features.records.corpus import load_corpus

    corpus = load_corpus(work / "train.csv", work / test_file)
    meta = {"model": "synthetic", "layers": [-1], "pooling": ["cls", "mean"], "max_length": 512, "dtype": "fp32",
            "store_dtype": "float32", "dim": dim, "n": len(corpus.frame), "seed": seed,
            "train_fingerprint": corpus.fingerprint("train"), "test_fingerprint": corpus.fingerprint("test")}
    ids, splits = corpus.frame["id"].to_numpy(dtype=str), corpus.frame["split"].to_numpy(dtype=str)
    del corpus
    schema = pa.schema([("id", pa.string()), ("split", pa.string()), ("vector", pa.list_(pa.float32(), dim))])
    schema = schema.with_metadata({b"screenstack": json.dumps(meta, sort_keys=True).encode()})
    path = work / "features" / f"{Path(test_file).stem}.parquet"
    path.parent.mkdir(exist_ok=True)
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for start in range(0, len(ids), ROW_GROUP_ROWS):
            rng = np.random.default_rng([seed, start])
            block = rng.normal(size=(min(ROW_GROUP_ROWS, len(ids) - start), dim)).astype(np.float32)
            if start < len(labels):  # training vectors lean with their labels, so the vector learners have something to fit
                k = min(start + len(block), len(labels)) - start
                block[:k, :8] += labels[start:start + k, None]
            stop = start + len(block)
            writer.write_table(pa.table({"id": ids[start:stop], "split": splits[start:stop], "vector": vector_column(block)},
                                        schema=schema))
    return path


# --- measured stages: each runs in a fresh process -----------------------------------------------

def stage_fit(work: Path, features: str, out: str, test_rows: int, chunk_rows: int, learners: tuple[str, ...]) -> dict:
    """fit-learners on the first `test_rows` test records; the time the fold models spend scoring them."""
    import screenstack.learners.fit as fit_module
    from screenstack.features.records.corpus import load_corpus

    test = work / "test.csv"
    if test_rows:
        test = work / f"test-{test_rows}.csv"
    scoring = [0.0]
    chunked = fit_module.chunked_fold_mean_scores

    def timed(models, chunks):
        start = time.perf_counter()
        scores = chunked(models, chunks)
        scoring[0] += time.perf_counter() - start
        return scores

    fit_module.chunked_fold_mean_scores = timed
    corpus = load_corpus(work / "train.csv", test)
    # Reading the CSV files is the corpus reader's; the peak after it (VmHWM reset) is fitting, scoring and writing.
    load_peak = peak_mib()
    Path("/proc/self/clear_refs").write_text("5")
    fit_module.fit_learners(corpus, work / out, learners, (features,), progress=False, chunk_rows=chunk_rows)
    n_test = int((corpus.frame["split"] == "test").sum())
    return {"test_records": n_test, "chunk_rows": chunk_rows, "scoring_s": scoring[0], "records_per_s": n_test / scoring[0],
            "load_peak_mib": load_peak, "fit_peak_mib": peak_mib()}


def stage_stack(work: Path, out: str) -> dict:
    from screenstack.stacking.stack import StackConfig, stack

    stack(work / out, StackConfig())
    return {"test_records": len(pd.read_parquet(work / out / "records.parquet", columns=["id"]))}


def _run(stage, *args) -> dict:
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    facts = stage(*args)
    return {"wall_s": time.perf_counter() - start, "peak_mib": peak_mib(), **facts}


def run(name: str, stage, *args) -> dict:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), max_tasks_per_child=1) as pool:
        row = {"case": name, **pool.submit(_run, stage, *args).result()}
    print(f"{name:34} {row['wall_s']:8.1f} s wall {row['peak_mib']:8.0f} MiB  "
          + "  ".join(f"{k}: {v:,.1f}" if isinstance(v, float) else f"{k}: {v}" for k, v in row.items()
                      if k not in ("case", "wall_s", "peak_mib")), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=str(DATASETS), help="folder of labelled CSV files to sample (default: the shared six)")
    parser.add_argument("--train", type=int, default=5_000, help="training records (default 5,000)")
    parser.add_argument("--test", type=int, default=1_000_000, help="test records (default 1,000,000)")
    parser.add_argument("--baseline", type=int, default=100_000, help="test records of the chunked/unchunked baseline (default 100,000)")
    parser.add_argument("--chunk-rows", type=int, default=None, help="scoring chunk (default: fit-learners' own, 50,000)")
    parser.add_argument("--learners", default=",".join(LEARNERS), help=f"comma-separated (default: all five, {','.join(LEARNERS)})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampling and the random vectors")
    parser.add_argument("--work", default=str(ROOT / "artifacts" / "bench_scoring"))
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"), help="Markdown results file ('' for none)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from screenstack.learners.oof import SCORE_CHUNK_ROWS

    chunk = args.chunk_rows or SCORE_CHUNK_ROWS
    work = Path(args.work).resolve()
    if work.exists():
        shutil.rmtree(work)  # learners' outputs would be reused, and the timing meaningless
    start = time.perf_counter()
    dim = default_width()
    facts = build(Path(args.datasets), work, args.train, args.test, args.baseline, dim, args.seed)
    print(f"built {args.train:,} train ({facts['included_train']:,} included) + {args.test:,} test records, "
          f"{dim}-wide vectors, in {time.perf_counter() - start:.0f} s", flush=True)
    features, base = facts["features"], facts["baseline_features"]
    learners = tuple(n.strip() for n in args.learners.split(",") if n.strip())
    rows = [run(f"fit-learners {args.baseline:,} unchunked", stage_fit, work, base, "base-whole", args.baseline, args.baseline, learners),
            run(f"fit-learners {args.baseline:,} chunked", stage_fit, work, base, "base-chunked", args.baseline, chunk, learners),
            run(f"fit-learners {args.test:,} chunked", stage_fit, work, features, "run", 0, chunk, learners)
            if args.test != args.baseline else None]
    out = "run" if rows[-1] else "base-chunked"  # with --test equal to --baseline, the chunked baseline is the run
    rows = [row for row in rows if row] + [run(f"stack {args.test:,}", stage_stack, work, out)]
    table = pd.DataFrame(rows).set_index("case")
    big = table.iloc[-2]
    args.learners = learners
    verdict = (f"fit-learners on {args.test:,} test records: {big['peak_mib'] * 2**20 / 1000**3:.2f} GB at peak "
               f"(target 4 GB) - {'met' if big['peak_mib'] < TARGET_MIB else 'MISSED'}")
    print(verdict)
    if args.results:
        write_section(Path(args.results), "scoring", _markdown(table, verdict, facts, dim, args))
        print(f"wrote {args.results}")


def _markdown(table: pd.DataFrame, verdict: str, facts: dict, dim: int, args) -> str:
    import datetime

    base = table.iloc[0]
    lines = ["## Scoring", "",
             f"Written by `bench/scoring.py` on {datetime.date.today().isoformat()}. "
             f"Rerun: `{' '.join(['python bench/scoring.py', *sys.argv[1:]])}`", "", f"Machine: {machine()}.", "",
             f"{args.train:,} training records ({facts['included_train']:,} included) and {args.test:,} test records "
             f"(test.csv {facts['test_csv_gb']:.2f} GB) "
             f"resampled (seed {args.seed}) from the shared datasets; random float32 vectors {dim} wide; learners "
             f"{', '.join(args.learners)}. Each case runs in a fresh process; peak = max RSS; reading CSV = `load_corpus` of "
             "train.csv and the test file, after it = fitting, scoring and writing (peak reset between them); scoring s = the "
             "fold models scoring the test records; ratios against the first row (the unchunked path).", "",
             "| case | wall s | peak MiB | peak / baseline | reading CSV peak MiB | after it peak MiB | scoring s | records/s | records/s / baseline |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for case, row in table.iterrows():
        scoring = pd.notna(row.get("scoring_s"))
        lines.append(f"| {case} | {row['wall_s']:,.1f} | {row['peak_mib']:,.0f} | {row['peak_mib'] / base['peak_mib']:.2f}x | "
                     + (f"{row['load_peak_mib']:,.0f} | {row['fit_peak_mib']:,.0f} | {row['scoring_s']:,.1f} | "
                        f"{row['records_per_s']:,.0f} | {row['records_per_s'] / base['records_per_s']:.2f}x |"
                        if scoring else "- | - | - | - | - |"))
    lines += ["", verdict + "."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
