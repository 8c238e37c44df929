"""Does screenstack screen better than the tools users would pick instead?

Protocol, per dataset: a stratified 50/50 train/test split with seed 0 (what
`screenstack split` writes); each system trains on the train half only, picks
its decision threshold on 5-fold OOF scores of the train half (the shared fold
plan, seed 0) and scores the test half. On the test half: F-beta (beta 7),
recall and precision at the system's threshold; ROC-AUC, average precision and
WSS@95 (work saved over sampling at 95% recall) of its ranking. Each system runs
in a fresh process, so its wall time, CPU time and peak memory (max RSS,
interpreter and imports included) are its own; test labels never enter that
process.

Systems (run in the same invocation; time and memory ratios are against ASReview):

- ``screenstack``: `screenstack run` with its defaults, through its command
  line (extract, fit-learners, stack, report), except ``--model minilm`` (the
  bundled encoder: the default PubMedBERT needs the Hugging Face hub);
- ``screenstack-tfidf``: the same with ``--learners`` set to its default TF-IDF learners;
- ``screenstack-vectors``: the same with ``--learners`` set to its default vector learners;
- ``asreview``: ASReview LAB's default model ELAS u4, built by the `asreview`
  package's own classes (TF-IDF 1-2 grams, sublinear tf, max_df 0.95, fitted on
  all records as ASReview does; linear SVM C 0.11; balanced sample weights ratio
  9.8), thresholded by F-beta's bootstrap optimum on its OOF scores (screenstack's rule without
  the fitted tail of 0.3.15);
- ``seed``: the seed notebooks' baseline, re-implemented here: TfidfVectorizer()
  fitted on train + test text, LogisticRegression(), threshold at the plain
  argmax of OOF F-beta.

Test scores of every system are the mean of its 5 fold models, whose OOF scores
chose the threshold.

    python bench/quality.py                      # all systems, the six shared datasets, writes bench/RESULTS.md
    python bench/quality.py --systems screenstack-tfidf,asreview,seed --datasets ../shared/datasets --results ''

"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib.metadata
import importlib.util
import json
import multiprocessing
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / ".." / "shared" / "datasets"
BASELINE = "asreview"
BETA = 7.0
PACKAGE_DIRS = ("extract", "features", "learners", "stacking", "screenstack")
METRICS = ["fbeta", "recall", "precision", "flagged_share", "roc_auc", "average_precision", "wss95"]


# --- systems: each runs in its own process and imports what it needs there -------------------------------

def _scores_from_run(out: Path, summary: dict):
    scores = pd.read_csv(out / "test_scores.csv", dtype={"id": str})
    return scores["id"].to_numpy(), scores["score"].to_numpy(dtype=float), float(summary["threshold"])


def _run(train: Path, test: Path, work: Path, kind: str):
    """`screenstack run` through its command line, with its default learners of one input kind ("all" for every one)."""
    from screenstack.cli import main
    from screenstack.commands.run import DEFAULT_LEARNERS
    from screenstack.features.artifacts.atomic import read_json
    from screenstack.learners import LEARNERS

    learners = [n for n in DEFAULT_LEARNERS.split(",") if kind == "all" or LEARNERS[n].input == kind]
    # minilm: the bundled encoder (the default PubMedBERT needs the Hugging Face hub). Its own
    # cache folder, so every system encodes every text itself and its time includes that.
    code = main(["-q", "run", "--train", str(train), "--test", str(test), "--out", str(work), "--learners", ",".join(learners),
                 "--model", "minilm", "--cache-dir", str(work / ".cache")])
    assert code == 0, f"screenstack run exited with {code}"
    return _scores_from_run(work, read_json(work / "summary.json"))


def screenstack_all(train: Path, test: Path, work: Path):
    return _run(train, test, work, "all")


def screenstack_tfidf(train: Path, test: Path, work: Path):
    return _run(train, test, work, "text")


def screenstack_vectors(train: Path, test: Path, work: Path):
    return _run(train, test, work, "vectors")


def _peer_inputs(train: Path, test: Path):
    """Records, labels and the shared fold plan: peers are scored on exactly screenstack's folds."""
    from screenstack.features.records.corpus import load_corpus
    from screenstack.features.artifacts.folds import FoldConfig, make_fold_plan

    corpus = load_corpus(train, test)
    plan = make_fold_plan(corpus, FoldConfig(n_folds=5, seed=0))
    return corpus.train, corpus.test, plan


def _peer_oof(model, X, X_test, plan):
    """The peers' cross-validation: screenstack's own `oof_predict` (a fresh model per fold; test scores the fold models' mean)."""
    from screenstack.learners.oof import oof_predict

    return oof_predict(model, X, plan.labels, plan, X_test, progress=False)


def _squash(margin: np.ndarray) -> np.ndarray:
    score = 1 / (1 + np.exp(-margin))
    return np.column_stack([1 - score, score])


def dataset_files(value: str, parser: argparse.ArgumentParser) -> list[Path]:
    """`--datasets`: a folder of labelled CSV files (record_id, title, abstract, label_included), or one such file."""
    given = Path(value).resolve()
    if given.is_file() and given.suffix.lower() != ".csv":
        parser.error(f"--datasets {value}: not a CSV file (record_id, title, abstract, label_included)")
    datasets = [given] if given.is_file() else sorted(given.glob("*.csv"))
    if not datasets:
        parser.error(f"--datasets {value}: no CSV file there (a folder of them, or one file)")
    return datasets


def asreview_elas_u4(train: Path, test: Path, work: Path):
    from asreview.learner import ActiveLearningCycle
    from asreview.models import get_ai_config
    from sklearn.base import BaseEstimator

    from screenstack.stacking.stack import StackConfig
    from screenstack.stacking.threshold import choose_threshold

    config = get_ai_config("elas_u4")["value"]

    class ElasU4(BaseEstimator):
        """One ASReview ELAS u4 cycle (its classifier and balancer) on precomputed TF-IDF rows."""

        def fit(self, X, y):
            self.cycle_ = ActiveLearningCycle.from_meta(config, skip_feature_extraction=True)
            # LinearSVC's dual solver shuffles; a fixed seed makes the benchmark repeatable.
            self.cycle_.classifier.set_params(random_state=0)
            self.cycle_.fit(X, y)
            return self

        def predict_proba(self, X):
            return _squash(self.cycle_.classifier.decision_function(X))

    train_frame, test_frame, plan = _peer_inputs(train, test)
    # ASReview fits its feature extractor on every record of the project, labelled or not.
    extractor = ActiveLearningCycle.from_meta(config).feature_extractor
    X_all = extractor.fit_transform(pd.concat([train_frame, test_frame])[["title", "abstract"]])
    X, X_test = X_all[: len(train_frame)], X_all[len(train_frame):]
    oof, scores = _peer_oof(ElasU4(), X, X_test, plan)
    # F-beta's bootstrap optimum on its OOF scores, as the peer was measured before 0.3.15: the fitted tail, like the
    # recall prior, is screenstack's own decision.
    return test_frame["id"].to_numpy(), scores, choose_threshold(plan.labels, oof, BETA, StackConfig().threshold_rule,
                                                                 fitted_tail=False)


def seed_tfidf_logreg(train: Path, test: Path, work: Path):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from screenstack.stacking.threshold import choose_threshold

    train_frame, test_frame, plan = _peer_inputs(train, test)
    text = pd.concat([train_frame, test_frame])
    X_all = TfidfVectorizer().fit_transform(text["title"] + " " + text["abstract"])
    X, X_test = X_all[: len(train_frame)], X_all[len(train_frame):]
    # max_iter only lets lbfgs converge; the model is the notebooks' LogisticRegression().
    oof, scores = _peer_oof(LogisticRegression(max_iter=1000), X, X_test, plan)
    return test_frame["id"].to_numpy(), scores, choose_threshold(plan.labels, oof, BETA, "argmax")


SYSTEMS = {
    "screenstack": ("`screenstack run` with its default learners on minilm vectors", screenstack_all),
    "screenstack-tfidf": ("`screenstack run` with its TF-IDF learners only", screenstack_tfidf),
    "screenstack-vectors": ("`screenstack run` with its vector learners only, on minilm vectors", screenstack_vectors),
    "asreview": ("ASReview LAB ELAS u4 (asreview 3.0.8 classes)", asreview_elas_u4),
    "seed": ("seed notebooks: TF-IDF + LogisticRegression (re-implemented)", seed_tfidf_logreg),
}


def _run_system(name: str, train: Path, test: Path, work: Path) -> dict:
    """Child process: run one system, return its test scores, threshold, time and memory."""
    warnings.simplefilter("ignore")
    if work.exists():
        shutil.rmtree(work)  # never reuse outputs of an earlier run: the timing would be wrong
    work.mkdir(parents=True)
    # asreview's dataset helper opens a request cache (synergy_cache.sqlite) in the working folder on import.
    os.chdir(work)
    start = time.perf_counter()
    ids, scores, threshold = SYSTEMS[name][1](train, test, work)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"ids": np.asarray(ids).astype(str), "scores": np.asarray(scores, dtype=float), "threshold": threshold,
            "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mib": peak_mib()}


def peak_mib() -> float:
    """This process's own peak RSS in MiB.

    VmHWM belongs to the process's memory map, which exec replaces; ru_maxrss
    survives exec, so a spawned child would report at least its parent's size.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- protocol ------------------------------------------------------------------------------------

def evaluate(name: str, dataset: Path, work: Path, beta: float = BETA) -> dict:
    from screenstack.features.records.split import SplitConfig, split_file
    from screenstack.stacking.metrics import screening_metrics

    split = work / dataset.stem / "split"
    split_file(dataset, split, SplitConfig(test_size=0.5, seed=0))
    # A fresh interpreter per run: peak memory is this system's alone, and nothing leaks between systems.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), max_tasks_per_child=1) as pool:
        result = pool.submit(_run_system, name, split / "train.csv", split / "test.csv", work / dataset.stem / name).result()
    key = pd.read_csv(split / "test_labels.csv", dtype={"id": str}).set_index("id")["judgement"]
    assert sorted(result["ids"]) == sorted(key.index), f"{name} scored other records than the test half"
    y = key.loc[result["ids"]].to_numpy(dtype=int)
    metrics = screening_metrics(y, result["scores"], result["threshold"], beta)
    return {"dataset": dataset.stem, "system": name, **metrics, "threshold": result["threshold"],
            "n_test": len(y), "included_test": int(y.sum()),
            **{k: result[k] for k in ("wall_s", "cpu_s", "peak_mib")}}


def summarise(rows: pd.DataFrame, systems: list[str]) -> pd.DataFrame:
    """Macro mean over datasets per system, plus total time and the largest peak memory."""
    table = rows.groupby("system")[METRICS].mean()
    table["wall_s"] = rows.groupby("system")["wall_s"].sum()
    table["cpu_s"] = rows.groupby("system")["cpu_s"].sum()
    table["peak_mib"] = rows.groupby("system")["peak_mib"].max()
    if BASELINE in table.index:
        for column in ("wall_s", "cpu_s", "peak_mib"):
            table[f"{column}_x_{BASELINE}"] = table[column] / table.loc[BASELINE, column]
    return table.loc[[s for s in systems if s in table.index]]


def verdicts(table: pd.DataFrame, beta: float) -> list[str]:
    """One line per screenstack system: does it beat every peer on macro F-beta and WSS@95?"""
    peers = [s for s in table.index if not s.startswith("screenstack")]
    lines = []
    for system in (s for s in table.index if s.startswith("screenstack")):
        parts = []
        for metric, label in (("fbeta", f"F{beta:g}"), ("wss95", "WSS@95")):
            behind = [p for p in peers if table.loc[p, metric] >= table.loc[system, metric]]
            parts.append(f"{label} {table.loc[system, metric]:.4f} " + (
                f"beats {', '.join(peers)}" if not behind else
                "does NOT beat " + ", ".join(f"{p} ({table.loc[p, metric]:.4f})" for p in behind)))
        lines.append(f"- `{system}`: " + "; ".join(parts) + ".")
    return lines


def source_hash() -> str:
    """A hash of the package's source: each system process imports the code afresh, so a change
    during a run would mix two versions in one table."""
    digest = hashlib.sha256()
    for path in sorted(p for d in PACKAGE_DIRS for p in (ROOT / d).rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def drop_stack(run: Path) -> None:
    """Remove `run`'s stack and report (their files, then their manifests), so the next `stack` makes them with the
    code in hand: it reuses a stack made by the same version from the same learner outputs and options, whatever
    code made it (a benchmark timing that reuse, or scoring a stack change without a version bump, measures nothing)."""
    for name in ("report", "stack"):
        manifest = run / ".manifests" / f"{name}.json"
        if manifest.exists():
            for rel in json.loads(manifest.read_text())["files"]:
                (run / rel).unlink(missing_ok=True)
            manifest.unlink()
    shutil.rmtree(run / "report", ignore_errors=True)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def write_results(path: Path, rows: pd.DataFrame, table: pd.DataFrame, systems: list[str], command: str, beta: float,
                  state: str) -> None:
    from screenstack.features.artifacts.outputs import package_versions

    versions = package_versions()
    try:
        versions["asreview"] = importlib.metadata.version("asreview")
    except importlib.metadata.PackageNotFoundError:  # asreview comes with the bench extra
        pass
    b = f"{beta:g}"
    lines = [
        "## Quality", "",
        f"Written by `bench/quality.py` on {datetime.date.today().isoformat()}. Rerun: `{command}`", "",
        f"Machine: {machine()}.", "",
        f"Code: {state}. Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".", "",
        f"Protocol: per dataset a stratified 50/50 split (seed 0); each system trains on the train half, picks its "
        f"threshold on 5-fold OOF scores of the train half, and is scored on the test half. F{b}, recall and precision "
        "at that threshold; ROC-AUC, AP and WSS@95 of the ranking. Macro mean over the datasets. Time: the sum over "
        "datasets of each fresh process's wall and CPU seconds (imports included); memory: the largest peak RSS. "
        f"Ratios are against `{BASELINE}`, run in the same invocation.", "",
        "Systems: " + "; ".join(f"`{s}`: {SYSTEMS[s][0]}" for s in systems) + ". ASReview is an active-learning tool; "
        "here its default model is trained once on the labelled train half (where a review stands after screening it) and "
        "ranks the test half. The screenstack systems use the bundled minilm encoder because the default PubMedBERT "
        "needs the Hugging Face hub. Every system's test scores are the mean of its 5 fold models.", "",
        "### Macro mean over datasets", "",
        _markdown(table.reset_index(), {"fbeta": f"F{b}", "flagged_share": "flagged", "roc_auc": "ROC-AUC",
                                        "average_precision": "AP", "wss95": "WSS@95", "wall_s": "wall s", "cpu_s": "CPU s",
                                        "peak_mib": "peak MiB", "wall_s_x_asreview": "wall x asreview",
                                        "cpu_s_x_asreview": "CPU x asreview", "peak_mib_x_asreview": "memory x asreview"}), "",
        *verdicts(table, beta), "",
    ]
    for metric, title in (("fbeta", f"Test F{b}"), ("wss95", "Test WSS@95"), ("recall", "Test recall"),
                          ("average_precision", "Test average precision")):
        pivot = rows.pivot(index="dataset", columns="system", values=metric)[[s for s in systems if s in set(rows["system"])]]
        pivot.loc["macro mean"] = pivot.mean()
        lines += [f"### {title} per dataset", "", _markdown(pivot.reset_index(), {}), ""]
    sizes = rows.drop_duplicates("dataset").set_index("dataset")[["n_test", "included_test"]]
    lines += ["### Test halves", "", _markdown(sizes.reset_index(), {"n_test": "records", "included_test": "included"})]
    write_section(path, "quality", "\n".join(lines))


def publish(results: str, key: str, text: str) -> None:
    """Print a script's section, and put it in the results file `results` ('' to print only)."""
    print(text)
    if results:
        write_section(Path(results), key, text)


def write_section(path: Path, key: str, text: str) -> None:
    """Put `text` between this script's markers in the results file, keeping the other scripts' sections."""
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    old = path.read_text() if path.is_file() else "# Benchmarks\n\nWritten by the scripts in bench/; each section says how to rerun it.\n"
    block = f"{start}\n{text}\n{end}"
    if start in old and end in old:
        new = old[:old.index(start)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(new)


def _markdown(frame: pd.DataFrame, names: dict) -> str:
    """A Markdown table: metrics to 4 decimals, seconds to 1, MiB whole, ratios as 0.00x."""
    def cell(column: str, value) -> str:
        if not isinstance(value, float):
            return str(value)
        if "_x_" in column:
            return f"{value:.2f}x"
        if column.endswith("_s"):
            return f"{value:,.1f}"
        if column.endswith("_mib") or column.startswith(("n_", "included")):
            return f"{value:,.0f}"
        return f"{value:.4f}"

    columns = list(frame.columns)
    head = "| " + " | ".join(names.get(c, c) for c in columns) + " |"
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(columns))) + "|"
    body = ["| " + " | ".join(cell(c, v) for c, v in zip(columns, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=str(DATASETS), help="a folder of labelled CSV files, or one such file (default: the shared six)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated, from: {', '.join(SYSTEMS)}")
    parser.add_argument("--work", default=str(ROOT / "artifacts" / "bench_quality"), help="splits and run folders")
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"), help="Markdown results file ('' for none)")
    args = parser.parse_args()
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        parser.error(f"unknown system(s) {', '.join(unknown)}; valid: {', '.join(SYSTEMS)}")
    datasets = dataset_files(args.datasets, parser)
    if "asreview" in systems and importlib.util.find_spec("asreview") is None:
        parser.error("--systems: asreview is not installed (pip install -e '.[bench]'); or leave it out of --systems")
    warnings.simplefilter("ignore")
    work = Path(args.work).resolve()  # the system processes run inside their own folders
    started = source_hash()
    state = f"commit {commit() or 'unknown'} (plus uncommitted changes, if any), source hash {started}"
    rows = []
    for dataset in datasets:
        for name in systems:
            row = evaluate(name, dataset, work, BETA)
            rows.append(row)
            print(f"{dataset.stem:32} {name:20} F{BETA:g} {row['fbeta']:.4f} recall {row['recall']:.3f} "
                  f"WSS@95 {row['wss95']:.3f} AUC {row['roc_auc']:.4f} {row['wall_s']:7.1f} s {row['peak_mib']:7.0f} MiB", flush=True)
    rows = pd.DataFrame(rows)
    work.mkdir(parents=True, exist_ok=True)
    rows.to_csv(work / "quality.csv", index=False)
    table = summarise(rows, systems)
    print(table.round(4).to_string())
    ended = source_hash()
    if ended != started:
        state += f" at the start, {ended} at the end: the source CHANGED DURING THE RUN, rows may mix two versions"
        print(f"warning: the screenstack source changed during the run ({state})")
    if args.results:
        command = "python bench/quality.py " + " ".join(sys.argv[1:])
        write_results(Path(args.results), rows, table, systems, command.strip(), BETA, state)
        print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
