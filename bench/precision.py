"""Does `extract --dtype bf16` change what the learners downstream can do?

For each shared dataset (all its records as the training corpus, no test
file), this extracts the encoder's vectors twice with `extract`'s defaults
(the mean of each of the last four layers, 512 tokens): once in fp32, once in bf16.
It fits every vector learner (``logreg``, ``lightgbm``, ``xgboost``) on both
files with the same fold plan and reports, per dataset and learner, the OOF
ROC-AUC under each precision and the difference (bf16 - fp32), plus the
smallest cosine similarity between a record's two vectors and each
precision's encoding speed over the whole dataset (both run in this
invocation, alternately, so load from other processes hits both alike).

Issue 3's target: bf16 OOF AUC within 0.005 of fp32's. The boosted trees'
AUC also moves when nothing but their seed changes (column and row sampling;
with 20-40 included records one record more or less near the top moves the
AUC by 0.01), so their fp32 vectors are also fitted with ``--seeds`` other
seeds: a bf16 difference inside that seed-to-seed spread is the learner's own
noise, not the precision's. The logistic regression is deterministic and has
no such noise.

    python bench/precision.py                               # the six shared datasets, bundled minilm; ~30 min on 2 cores
    python bench/precision.py --datasets ../shared/datasets/cohen_adhd.csv --results ''   # one dataset, print only
"""
from __future__ import annotations

import argparse
import datetime
import logging
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATASETS, ROOT, machine, write_section  # noqa: E402  (bench/ is not a package)

from screenstack.extract.stage import ExtractConfig, extract_features  # noqa: E402
from screenstack.features.records.corpus import load_corpus  # noqa: E402
from screenstack.features.artifacts.outputs import read_learner_outputs  # noqa: E402
from screenstack.features.artifacts.store import read_vectors  # noqa: E402
from screenstack.learners.fit import fit_learners  # noqa: E402

LEARNERS = ("logreg", "lightgbm", "xgboost")
SEEDED = ("lightgbm", "xgboost")  # learners whose fit depends on random_state
PRECISIONS = ("fp32", "bf16")
TOLERANCE = 0.005


def min_cosine(a: np.ndarray, b: np.ndarray, width: int) -> float:
    """Smallest cosine between matching rows, taken per pooled block of `width` columns (each layer's mean)."""
    worst = 1.0
    for start in range(0, a.shape[1], width):
        x, y = a[:, start:start + width].astype(np.float64), b[:, start:start + width].astype(np.float64)
        cos = (x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))
        worst = min(worst, float(cos.min()))
    return worst


def _oof_aucs(corpus, out: Path, learners, features: Path, params: dict, dataset: str, column: str) -> list[dict]:
    fit_learners(corpus, out, learners, features=(str(features),), params=params, progress=False)
    return [{"dataset": dataset, "learner": name, "run": column, "auc": roc_auc_score(oof["label"], oof["score"])}
            for name, (oof, _, _) in read_learner_outputs(out).items()]


def one_dataset(path: Path, work: Path, model: str, seeds: list[int]) -> tuple[list[dict], dict]:
    corpus = load_corpus(path)
    shutil.rmtree(work / path.stem, ignore_errors=True)  # its vectors and learners would be reused, not measured
    rows, vectors, seconds = [], {}, {}
    for precision in PRECISIONS:
        out = work / path.stem / precision
        config = ExtractConfig(model=model, dtype=precision, cache_dir=str(out / "cache"))
        started = time.perf_counter()
        features = extract_features(corpus, out, config, progress=False)
        seconds[precision] = time.perf_counter() - started
        _, vectors[precision], meta = read_vectors(features)
        rows += _oof_aucs(corpus, out, LEARNERS, features, {}, path.stem, precision)
        if precision == "fp32":
            for seed in seeds:
                params = {name: {"random_state": seed} for name in SEEDED}
                rows += _oof_aucs(corpus, work / path.stem / f"fp32-seed{seed}", SEEDED, features, params, path.stem, f"seed {seed}")
    facts = {"dataset": path.stem, "records": len(corpus.train), "included": int(corpus.train["label"].sum()),
             "min_cosine": min_cosine(vectors["fp32"], vectors["bf16"], meta["hidden_size"]),
             **{f"{p}_s": seconds[p] for p in PRECISIONS}}
    return rows, facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=str(DATASETS), help="a labelled CSV file or a folder of them (default: the shared six)")
    parser.add_argument("--model", default="minilm", help="encoder (default: the bundled minilm)")
    parser.add_argument("--seeds", default="1,2", help="other learner seeds fitted on the fp32 vectors (default 1,2; '' for none)")
    parser.add_argument("--work", default=None, help="working folder (default: a temporary one, removed afterwards)")
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"), help="Markdown results file ('' for none)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.getLogger("screenstack").setLevel(logging.WARNING)
    source = Path(args.datasets)
    datasets = sorted(source.glob("*.csv")) if source.is_dir() else [source]
    if not datasets:
        parser.error(f"{args.datasets}: no CSV files")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.work or scratch)
        rows, facts = [], []
        for path in datasets:
            dataset_rows, dataset_facts = one_dataset(path, work, args.model, seeds)
            rows += dataset_rows
            facts.append(dataset_facts)
            print(f"{path.stem}: " + ", ".join(f"{r['learner']} {r['run']} {r['auc']:.4f}" for r in dataset_rows)
                  + f"; min cosine {dataset_facts['min_cosine']:.5f}", flush=True)
    runs = pd.DataFrame(rows).pivot_table(index=["dataset", "learner"], columns="run", values="auc")
    table = runs[list(PRECISIONS)].copy()
    table["bf16 - fp32"] = table["bf16"] - table["fp32"]
    # The seed noise: how far another seed alone moves the fp32 AUC (largest over the seeds tried).
    seed_runs = [f"seed {seed}" for seed in seeds]
    table["seed spread"] = runs[seed_runs].sub(runs["fp32"], axis=0).abs().max(axis=1) if seeds else np.nan
    macro = table.groupby(level="learner").mean()
    macro["bf16 - fp32"] = table["bf16 - fp32"].abs().groupby(level="learner").mean()  # mean size of the change
    facts = pd.DataFrame(facts).set_index("dataset")
    linear = table.xs("logreg", level="learner")["bf16 - fp32"].abs().max()
    verdict = (f"logreg (deterministic): largest |bf16 - fp32| OOF AUC difference {linear:.4f} (target {TOLERANCE}) - "
               + ("met" if linear <= TOLERANCE else "MISSED"))
    if seeds:
        for name in SEEDED:
            part = table.xs(name, level="learner")
            verdict += (f"; {name}: mean |bf16 - fp32| {part['bf16 - fp32'].abs().mean():.4f} against a mean seed-to-seed "
                        f"spread of {part['seed spread'].mean():.4f}")
    print(table.round(4).to_string(), "\n", macro.round(4).to_string(), "\n", facts.round(4).to_string(), "\n", verdict)
    if args.results:
        write_section(Path(args.results), "precision", _markdown(table, macro, facts, verdict, args))
        print(f"wrote {args.results}")


def _markdown(table: pd.DataFrame, macro: pd.DataFrame, facts: pd.DataFrame, verdict: str, args) -> str:
    speed = facts["fp32_s"].sum() / facts["bf16_s"].sum()
    lines = ["## Precision (bf16 extraction downstream)", "",
             f"Written by `bench/precision.py` on {datetime.date.today().isoformat()}. "
             f"Rerun: `{' '.join(['python bench/precision.py', *sys.argv[1:]])}`", "",
             f"Machine: {machine()}. Encoder: {args.model}; `extract` defaults otherwise (the mean of each of the last four layers, 512 tokens).", "",
             "Each dataset's records are the training corpus; OOF ROC-AUC of each vector learner on the shared 5-fold plan, "
             "from fp32 and from bf16 vectors.", "",
             f"`seed spread`: the largest change of the fp32 AUC when only the learner's seed changes (seeds {args.seeds} "
             "against 0); the logistic regression has no seed. Macro row: mean AUCs, and the mean size of the changes.", "",
             "| dataset | learner | fp32 AUC | bf16 AUC | bf16 - fp32 | seed spread |", "|---|---|---:|---:|---:|---:|"]
    def spread(value: float) -> str:
        return "-" if pd.isna(value) else f"{value:.4f}"
    for (dataset, learner), row in table.iterrows():
        lines.append(f"| {dataset} | {learner} | {row['fp32']:.4f} | {row['bf16']:.4f} | {row['bf16 - fp32']:+.4f} | "
                     f"{spread(row['seed spread'])} |")
    for learner, row in macro.iterrows():
        lines.append(f"| macro mean | {learner} | {row['fp32']:.4f} | {row['bf16']:.4f} | {row['bf16 - fp32']:.4f} | "
                     f"{spread(row['seed spread'])} |")
    lines += ["", "| dataset | records | included | min cosine | fp32 docs/s | bf16 docs/s |", "|---|---:|---:|---:|---:|---:|"]
    for dataset, row in facts.iterrows():
        lines.append(f"| {dataset} | {int(row['records']):,} | {int(row['included'])} | {row['min_cosine']:.5f} | "
                     f"{row['records'] / row['fp32_s']:.1f} | {row['records'] / row['bf16_s']:.1f} |")
    lines += ["", f"{verdict}. Encoding speed over all datasets, bf16 / fp32: {speed:.2f}x (same invocation)."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
