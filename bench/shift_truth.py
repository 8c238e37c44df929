"""The label-shift estimate against the truth, on the protocol's kept halves (bench/README.md, "The shift estimate
against the truth").

For each half of `bench/protocol.py` (``--work``, default artifacts/protocol) it scores the test half with each kept
fold model alone (``learners/*/models``; vectors from the protocol's vector cache), as OOF scores are made, and keeps
them beside the half with the default blend applied to them (``blend_fold_test.npz``, made again where the stacking
code or the learner outputs differ from those it was made with: `replay.cache_key`). Then it replays
the default decision (as `bench/replay.py` does) with the shift estimate replaced: the true ratio of the half (test
share of included records over the labelled share, known only here), EM on the single fold models' scores, no
correction, and a fixed minimum weight below 20 included records, each paired against the default.

    python bench/protocol.py --jobs 2        # first: the halves and their learner outputs
    python bench/shift_truth.py --jobs 2     # about 10 minutes for 330 halves the first time, then 2
"""
from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import replay  # noqa: E402  (bench/replay.py: the cached blends, the table)

RULES = ("default", "true ratio", "EM on single fold models", "none", "weight >= 1.5 below 20", "weight >= 2 below 20")


def fold_scores(half: Path, cache: Path) -> np.ndarray:
    """The default blend's test scores from each fold model alone: folds x test records (kept beside the half)."""
    kept, key = half / "blend_fold_test.npz", replay.cache_key(half)
    if kept.is_file():
        found = np.load(kept)
        if str(found["key"]) == key:  # else made by other stacking code, or before a refit: made again
            return found["scores"]
    from screenstack.extract.stage import ExtractConfig, extract_features
    from screenstack.features.artifacts.store import VectorFiles
    from screenstack.features.records.corpus import load_corpus
    from screenstack.learners.oof import text_chunks
    from screenstack.learners.persist import load_fold_models
    from screenstack.stacking.blend import make_blender
    from screenstack.stacking.stack import _score_matrices, auto_blend, blended_learners

    names, plan, Z, _, _ = _score_matrices(half / "run", ())
    corpus = load_corpus(half / "train.csv", half / "test.csv")
    scratch = Path(tempfile.mkdtemp())
    try:
        features = extract_features(corpus, scratch, ExtractConfig(model="minilm", cache_dir=str(cache / half.name.split("-s")[0])),
                                    progress=False)
        vectors = VectorFiles([features], corpus).test()
    finally:
        shutil.rmtree(scratch)
    text = next(iter(text_chunks(corpus.test, 10**9)))
    columns = []
    for name in names:
        models = load_fold_models(half / "run" / "learners" / name, "")
        X = text if name.startswith("tfidf") else vectors
        shared = getattr(models[0], "fold_inputs", None)
        columns.append(np.stack([m.predict_proba(rows)[:, 1] for m, rows in zip(models, shared(models, X) if shared else [X] * len(models))]))
    Zk = np.stack(columns, axis=2)  # folds x test records x learners
    n = int(plan.labels.sum())
    blender = make_blender(auto_blend(n), use=blended_learners(names, n)).fit(Z, plan.labels)
    scores = np.stack([blender.predict(Zk[k]) for k in range(len(Zk))])
    np.savez(kept, scores=scores, key=np.array(key))
    return scores


def replay_half(half: Path, cache: Path) -> list[dict]:
    from screenstack.features.records.corpus import load_corpus, texts
    from screenstack.stacking import decision as D, stack as S
    from screenstack.stacking.calibrate import estimate_shift, fit_calibration
    from screenstack.stacking.metrics import fbeta

    logging.getLogger("screenstack").setLevel(logging.ERROR)
    b, per_fold = replay.auto_blend(half), fold_scores(half, cache)
    without = np.array([not t.strip() for t in texts(load_corpus(half / "train.csv", half / "test.csv").test)])
    y, y_test, n = b["y"], b["y_test"], int(b["y"].sum())
    true = y_test.mean() / y.mean()
    rows = []
    for rule in RULES:
        def estimate(calibration, oof, ranked, rule=rule):
            train, em = estimate_shift(calibration, oof, ranked)
            if rule == "true ratio":
                return train, train * true
            if rule == "EM on single fold models":
                return estimate_shift(calibration, oof, per_fold[:, ~without].ravel())
            if rule.startswith("weight >=") and n < 20:
                return train, max(em, train * float(rule.split()[2]))
            return train, em

        config = S.StackConfig(max_shift=1.0) if rule == "none" else S.StackConfig()
        saved, D.estimate_shift = D.estimate_shift, estimate  # `shift_weight` looks it up in stacking.decision
        try:
            metrics = S._evaluate_blend(y, b["oof"], b["folds"], config, float(b["inputs_auc"]))[0]
            D.shift_weight(y, b["oof"], b["test"], fit_calibration(b["oof"], y), metrics, config, ~without,
                           b["folds"])  # as `stack`
        finally:
            D.estimate_shift = saved
        decisions = ((b["test"] >= metrics["threshold"]) | without).astype(int)
        rows.append({"half": half.name, "rule": rule, "fbeta": fbeta(y_test, decisions, replay.BETA),
                     "recall": float(decisions[y_test == 1].mean()), "flagged": float(decisions.mean()), "n_included": n})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default=str(ROOT / "artifacts" / "protocol"), help="bench/protocol.py's --work")
    parser.add_argument("--cache-dir", default=str(ROOT / "artifacts" / ".cache"), help="bench/protocol.py's --cache-dir")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    work = Path(args.work)
    protocol_rows = pd.read_csv(work / "rows.csv")
    counted = protocol_rows.loc[protocol_rows["system"] == "screenstack", "half"].unique()
    halves = [work / "halves" / h for h in sorted(counted) if (work / "halves" / h / "run" / "learners").is_dir()]
    if not halves:
        sys.exit(f"{work}: no kept halves; run `python bench/protocol.py --jobs 2` first")
    with ProcessPoolExecutor(args.jobs) as pool:
        replayed = pd.DataFrame([r for rows in pool.map(replay_half, halves, [Path(args.cache_dir)] * len(halves)) for r in rows])
    replay.rules = lambda: dict.fromkeys(RULES)  # the table's rows, "default" first
    print(f"{len(halves)} halves, F7 paired against the default; command: python bench/shift_truth.py {' '.join(sys.argv[1:])}".rstrip())
    print(replay.markdown(replay.table(replayed, protocol_rows)))


if __name__ == "__main__":
    main()
