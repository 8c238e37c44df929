"""How long and how much memory does each stage take on a competition-sized corpus?

Builds a corpus of 27,000 training and 41,000 test records (the competition's
sizes) by sampling the shared datasets' records with replacement (seeded), then
runs each stage in a fresh process and records its wall time, CPU time and peak
memory (max RSS, interpreter and imports included):

- ``extract``: the bundled encoder (``minilm``) on a seeded subsample of the
  records; reports docs/s and the time the whole corpus would take;
- ``fit-learners``: every registered CPU learner, the vector learners on
  1,536-wide vectors (the bundled MiniLM's default: the mean of each of its last
  four layers, 4 x 384; synthetic: each source record gets one low-rank-plus-noise
  vector whose position depends on its label, as pooled embeddings do) plus the
  TF-IDF learners on the text, with the per-learner split of the time;
- ``stack`` and ``report`` on the learners' outputs;
- the memory baseline: the seed notebooks' dense TF-IDF (a vectoriser fitted
  on train and one on test, columns intersected, each densified to a float16
  DataFrame), on the same corpus; screenstack's peaks are given as ratios to it.

Targets on a 2-core machine: fit-learners under 600 s and 6 GiB; stack under 30 s.

    python bench/speed.py                         # full size; about 15 minutes on 2 cores
    python bench/speed.py --train 2700 --test 4100 --extract-sample 200 --results ''   # a quick smoke run
"""
from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATASETS, ROOT, drop_stack, machine, peak_mib, write_section  # noqa: E402  (bench/ is not a package)

TARGETS = {"fit-learners": (600.0, 6 * 1024.0), "stack": (30.0, None)}


# --- the corpus ----------------------------------------------------------------------------------

def build_corpus(datasets: Path, work: Path, n_train: int, n_test: int, dim: int, seed: int) -> dict:
    """Write train.csv, test.csv and a 768-wide feature file for the sampled corpus; return its facts."""
    from screenstack.features.records.corpus import load_corpus
    from screenstack.features.artifacts.store import write_vectors

    frames = [pd.read_csv(path, dtype=str, keep_default_na=False).assign(source=path.stem) for path in sorted(datasets.glob("*.csv"))]
    pool = pd.concat(frames, ignore_index=True)[["source", "title", "abstract", "label_included"]]
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(pool), size=n_train + n_test)
    sample = pool.iloc[rows].reset_index(drop=True)
    sample.insert(0, "id", [f"r{i:06d}" for i in range(len(sample))])
    train, test = sample.iloc[:n_train], sample.iloc[n_train:]
    work.mkdir(parents=True, exist_ok=True)
    train[["id", "title", "abstract", "label_included"]].rename(columns={"label_included": "judgement"}).to_csv(work / "train.csv", index=False)
    test[["id", "title", "abstract"]].to_csv(work / "test.csv", index=False)

    # One vector per source record, so duplicates share a vector as they would share an embedding.
    labels = pool["label_included"].astype(int).to_numpy()
    rank = 64
    latent = rng.normal(size=(len(pool), rank)).astype(np.float32)
    latent[:, 0] += 1.5 * labels  # included records lean one way, with heavy overlap
    basis = rng.normal(size=(rank, dim)).astype(np.float32) / np.sqrt(rank)
    vectors = latent @ basis + 0.5 * rng.normal(size=(len(pool), dim)).astype(np.float32)
    corpus = load_corpus(work / "train.csv", work / "test.csv")
    path = write_vectors(work / "features" / f"synthetic{dim}.parquet", sample["id"], ["train"] * n_train + ["test"] * n_test,
                         vectors[rows], {"model": "synthetic", "layers": [-1], "pooling": ["cls"], "max_length": 0,
                                         "dtype": "float32", "train_fingerprint": corpus.fingerprint("train"),
                                         "test_fingerprint": corpus.fingerprint("test"), "seed": seed})
    return {"n_train": n_train, "n_test": n_test, "included_train": int(train["label_included"].astype(int).sum()),
            "unique_records": int(len(np.unique(rows))), "features": str(path)}


# --- stages: each runs in a fresh process --------------------------------------------------------

def stage_extract(work: Path, model: str, sample: int, seed: int, n_total: int) -> dict:
    """Encode `sample` distinct training texts with a cold cache; project the time for `n_total` texts."""
    from screenstack.extract.stage import ExtractConfig, extract_features
    from screenstack.features.records.corpus import load_corpus

    folder = work / "extract"
    if folder.exists():
        shutil.rmtree(folder)  # a warm per-text cache would encode nothing
    folder.mkdir(parents=True)
    train = pd.read_csv(work / "train.csv", dtype=str, keep_default_na=False).drop_duplicates(["title", "abstract"])
    chosen = train.sample(n=min(sample, len(train)), random_state=seed).sort_index()
    chosen.to_csv(folder / "train.csv", index=False)
    corpus = load_corpus(folder / "train.csv")
    start = time.perf_counter()
    extract_features(corpus, folder / "run", ExtractConfig(model=model, cache_dir=str(folder / ".cache")), progress=False)
    rate = len(chosen) / (time.perf_counter() - start)
    return {"docs": len(chosen), "docs_per_s": round(rate, 1),
            "projected_s_for_all": round(n_total / rate), "model": model}


def stage_fit_learners(work: Path, features: str) -> dict:
    from screenstack.features.records.corpus import load_corpus
    from screenstack.learners import LEARNERS
    from screenstack.learners.fit import fit_learners

    names = tuple(sorted(LEARNERS, key=lambda n: (LEARNERS[n].input != "vectors", n)))
    start = time.time()
    fit_learners(load_corpus(work / "train.csv", work / "test.csv"), work / "run", names, (features,), progress=False)
    # Each learner's meta.json is written last, when it finishes: consecutive times give its share.
    done = [(work / "run" / "learners" / n / "meta.json").stat().st_mtime for n in names]
    split = dict(zip(names, np.diff([start, *done])))
    return {"learners": ", ".join(f"{n} {s:.0f} s" for n, s in split.items())}


def stage_stack(work: Path) -> dict:
    from screenstack.stacking.stack import StackConfig, stack

    summary = stack(work / "run", StackConfig())
    return {"blend": summary["blend"]["method"], "oof_fbeta": round(summary["blend"]["fbeta"], 4)}


def stage_report(work: Path) -> dict:
    from screenstack.stacking.report import write_report

    write_report(work / "run")
    return {}


def stage_dense_tfidf(work: Path) -> dict:
    """The seed notebooks' features: per-split vectorisers, shared columns, dense float16 frames.

    Densified in row blocks straight into float16, so the peak is the frames
    themselves: the least memory that approach can take.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    frames = {f: pd.read_csv(work / f"{f}.csv", dtype=str, keep_default_na=False) for f in ("train", "test")}
    vectorisers = {f: TfidfVectorizer() for f in frames}
    matrices = {f: vectorisers[f].fit_transform(frame["title"] + " " + frame["abstract"]) for f, frame in frames.items()}
    shared = sorted(set(vectorisers["train"].vocabulary_) & set(vectorisers["test"].vocabulary_))
    dense = {}
    for f, matrix in matrices.items():
        matrix = matrix[:, [vectorisers[f].vocabulary_[w] for w in shared]].tocsr()
        block = np.empty((matrix.shape[0], len(shared)), dtype=np.float16)
        for row in range(0, matrix.shape[0], 2000):
            block[row:row + 2000] = matrix[row:row + 2000].toarray()
        dense[f] = pd.DataFrame(block, columns=shared, copy=False)
    return {"shape": f"train {dense['train'].shape[0]} x {dense['train'].shape[1]}, test {dense['test'].shape[0]} x {dense['test'].shape[1]}",
            "frames_mib": round(sum(int(d.memory_usage(index=False).sum()) for d in dense.values()) / 2**20)}


STAGES = {"extract": stage_extract, "fit-learners": stage_fit_learners, "stack": stage_stack,
          "report": stage_report, "dense-tfidf": stage_dense_tfidf}


def _run_stage(name: str, *args) -> dict:
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    facts = STAGES[name](*args)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"stage": name, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mib": peak_mib(), **facts}


def run_stage(name: str, *args) -> dict:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), max_tasks_per_child=1) as pool:
        row = pool.submit(_run_stage, name, *args).result()
    print(f"{name:13} {row['wall_s']:8.1f} s wall {row['cpu_s']:8.1f} s CPU {row['peak_mib']:8.0f} MiB  "
          + "  ".join(f"{k}: {v}" for k, v in row.items() if k not in ("stage", "wall_s", "cpu_s", "peak_mib")), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=str(DATASETS), help="folder of labelled CSV files to sample (default: the shared six)")
    parser.add_argument("--train", type=int, default=27_000, help="training records (default 27,000)")
    parser.add_argument("--test", type=int, default=41_000, help="test records (default 41,000)")
    parser.add_argument("--dim", type=int, default=1536,
                        help="width of the vector learners' input (default 1536: minilm's four layers' mean vectors)")
    parser.add_argument("--model", default="minilm", help="encoder timed by the extract stage (default: the bundled minilm)")
    parser.add_argument("--extract-sample", type=int, default=2000, help="records the extract stage encodes (default 2,000)")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated, from: {', '.join(STAGES)}")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampling and the synthetic vectors")
    parser.add_argument("--work", default=str(ROOT / "artifacts" / "bench_speed"))
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"), help="Markdown results file ('' for none)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        parser.error(f"unknown stage(s) {', '.join(unknown)}; valid: {', '.join(STAGES)}")
    work = Path(args.work).resolve()
    if "fit-learners" in stages and (work / "run").exists():
        shutil.rmtree(work / "run")  # learners' outputs would be reused, and the timing meaningless
    elif "stack" in stages:
        drop_stack(work / "run")  # so is a stack made from the same learner outputs (3 s where making it took 26-46 s)
    start = time.perf_counter()
    facts = build_corpus(Path(args.datasets), work, args.train, args.test, args.dim, args.seed)
    print(f"corpus: {facts['n_train']:,} train ({facts['included_train']:,} included) + {facts['n_test']:,} test records, "
          f"{facts['unique_records']:,} distinct source records; built in {time.perf_counter() - start:.0f} s", flush=True)
    arguments = {"extract": (work, args.model, args.extract_sample, args.seed, args.train + args.test), "fit-learners": (work, facts["features"]),
                 "stack": (work,), "report": (work,), "dense-tfidf": (work,)}
    rows = [run_stage(name, *arguments[name]) for name in stages]
    table = pd.DataFrame(rows).set_index("stage")
    baseline = table.loc["dense-tfidf", "peak_mib"] if "dense-tfidf" in table.index else None
    verdicts = []
    for name, (seconds, mib) in TARGETS.items():
        if name in table.index:
            ok = table.loc[name, "wall_s"] < seconds and (mib is None or table.loc[name, "peak_mib"] < mib)
            verdicts.append(f"{name}: {table.loc[name, 'wall_s']:.0f} s (target {seconds:.0f} s)"
                            + (f", {table.loc[name, 'peak_mib'] / 1024:.2f} GiB (target {mib / 1024:.0f} GiB)" if mib else "")
                            + (" - met" if ok else " - MISSED"))
    for line in verdicts:
        print(line)
    if args.results:
        write_section(Path(args.results), "speed", _markdown(table, baseline, facts, verdicts, args))
        print(f"wrote {args.results}")


def _markdown(table: pd.DataFrame, baseline, facts: dict, verdicts: list[str], args) -> str:
    import datetime

    lines = ["## Speed", "",
             f"Written by `bench/speed.py` on {datetime.date.today().isoformat()}. "
             f"Rerun: `{' '.join(['python bench/speed.py', *sys.argv[1:]])}`",
             "", f"Machine: {machine()}.", "",
             f"Corpus: {facts['n_train']:,} training records ({facts['included_train']:,} included) and {facts['n_test']:,} test "
             f"records sampled with replacement (seed {args.seed}) from the shared datasets ({facts['unique_records']:,} distinct "
             f"records); vector learners read synthetic {args.dim}-wide vectors. Each stage runs in a fresh process; peak = max RSS.",
             "", "| stage | wall s | CPU s | peak MiB | peak / dense TF-IDF | notes |", "|---|---:|---:|---:|---:|---|"]
    for stage, row in table.iterrows():
        notes = "; ".join(f"{k}: {v}" for k, v in row.items() if k not in ("wall_s", "cpu_s", "peak_mib") and pd.notna(v))
        ratio = f"{row['peak_mib'] / baseline:.2f}x" if baseline else "-"
        lines.append(f"| {stage} | {row['wall_s']:,.1f} | {row['cpu_s']:,.1f} | {row['peak_mib']:,.0f} | {ratio} | {notes} |")
    lines += ["", "Targets: " + "; ".join(verdicts) + "." if verdicts else ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
