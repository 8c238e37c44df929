"""Decision rules replayed on the protocol's kept halves: which threshold rule holds up, without refitting.

`bench/protocol.py` keeps every half's learner outputs (``--work``, default
artifacts/protocol). For each half this script recomputes the default blend
(``auto``: the rank average without boosted trees under 10 included records,
else the logistic blend) from those outputs, as `stack` does, and applies every
rule in `rules()` (a `StackConfig` each: the recall floor's target and prior,
the shift correction's cap, or the learners blended, whose blend is then
recomputed from those alone; or a `StackConfig` with constants of
`stacking.stack` patched for the rule, such as the honest floor's
``CHANCE_AUC``) to the blend's nested OOF scores, then, as `stack`
does, the correction for test records richer in included records (estimated
from the blend's test scores); the chosen threshold is applied to the
blend's test scores (records without title or abstract flagged, as `stack`
flags them) and scored against the test half's labels. Every rule is
paired against the default, per regime (few, full, small, medium, all): mean F7
difference ± standard error (over all halves also the standard error over
splits, in brackets: the halves of one split share its test half), halves
more than 0.05 below flag-all's F7, the few halves' worst recall, macro
recall, wins/losses.

The blends are cached next to each half (``auto_blend.npz``), keyed on the
stacking code in hand and the learner outputs (`cache_key`): made again
after a change to `stacking/` or `protocol.py --refit` (until 0.3.58 only a
refit remade them, so a changed blend replayed the old one), and a second
call only re-applies the rules (about a minute on 2 cores for 165 halves).
It reproduced the stored default's test F7 within 0.0013 (the blend is
refitted; the protocol's rows were written by `stack` itself); its default
leaves out two of `stack`'s steps, flagging copies of included training
records and setting titles-only records apart in the shift estimate, so
compare a rule with replay's own default, as its tables do.

    python bench/protocol.py --jobs 2               # first: the halves and their learner outputs
    python bench/replay.py                          # the recall-floor tables in bench/README.md, "protocol"
    python bench/replay.py --draws 1                # the first draw's 195 halves only
    python bench/replay.py --by-level               # a column per few-included level; per-half rows in WORK/replay_rows.csv
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import logging
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BETA = 7.0


def rules() -> dict:
    """Name -> StackConfig (or ``(StackConfig, {constant of stacking.stack: value})``) replayed; ``default`` is what
    the others are paired against."""
    from screenstack.stacking.stack import StackConfig

    return {
        "default": StackConfig(),
        # The shift correction and the recall prior 0.5 (session 10): the default before them, each alone, other priors and caps.
        "previous default (prior 1, no shift correction)": StackConfig(prior_positives=1.0, max_shift=1.0),
        "no shift correction": StackConfig(max_shift=1.0),
        "prior 1": StackConfig(prior_positives=1.0),
        "prior 0.75": StackConfig(prior_positives=0.75),
        "prior 0.25": StackConfig(prior_positives=0.25),
        "max shift 5": StackConfig(max_shift=5.0),
        "floor 90%": StackConfig(min_recall=0.90),
        # README's advice for labelled records that are a random sample of the search.
        "random-sample advice (--min-recall 0.9 --max-shift 1)": StackConfig(min_recall=0.90, max_shift=1.0),
        # The honest floor for a blend at chance (session 11): without it, or from another AUC.
        "no chance floor": (StackConfig(), {"CHANCE_AUC": 0.0}),
        "chance floor at AUC 0.6": (StackConfig(), {"CHANCE_AUC": 0.6}),
        "no floor": StackConfig(min_recall=0.0),
        # One learner left out of the blend each (session 7): does every default learner earn its place?
        **{f"without {name}": StackConfig(learners=tuple(n for n in LEARNERS if n != name)) for name in LEARNERS},
    }


# The default learners of bench/protocol.py's halves, in `stack`'s column order.
LEARNERS = ("lightgbm", "logreg", "tfidf-logreg", "tfidf-svm", "xgboost")


def auto_blend(half: Path, learners: tuple[str, ...] = ()) -> dict:
    """The default blend's nested OOF and test scores of one half, from its kept learner outputs (cached);
    `learners`: those blended, as `stack --learners` (empty: all)."""
    cache = half / ("auto_blend.npz" if not learners else f"auto_blend-{'+'.join(sorted(learners))}.npz")
    key = cache_key(half)
    if cache.is_file():
        kept = dict(np.load(cache))
        if str(kept.get("key", "")) == key:  # else made by other stacking code, or before a refit: made again
            return kept
    from sklearn.metrics import roc_auc_score

    from screenstack.stacking.blend import make_blender, nested_oof
    from screenstack.stacking.stack import _score_matrices, auto_blend as chosen_blend, blended_learners

    names, plan, Z, Z_test, _ = _score_matrices(half / "run", tuple(learners))
    y, folds = plan.labels, plan.folds
    method = chosen_blend(int(y.sum()))
    params = {"use": blended_learners(names, int(y.sum()))}
    # the best honest OOF ROC-AUC of the learners blended, which `stack` passes to its honest floor (`_evaluate_blend`)
    inputs_auc = max(roc_auc_score(y, Z[:, j]) for j, kept in enumerate(params["use"]) if kept)
    blend = {"y": y, "folds": folds, "oof": nested_oof(make_blender(method, **params), Z, y, folds),
             "test": make_blender(method, **params).fit(Z, y).predict(Z_test), "y_test": np.load(half / "test_labels.npy"),
             "inputs_auc": inputs_auc}
    np.savez(cache, **blend, key=np.array(key))
    return blend


def cache_key(half: Path) -> str:
    """What a half's cached blend was made from: the stacking code in hand (its sources' digest) and the learner
    outputs (their meta.json, written with them): a cache with another key is stale, whatever the version says."""
    digest = hashlib.sha256(stacking_code_digest().encode())
    for meta in sorted((half / "run" / "learners").glob("*/meta.json")):
        digest.update(meta.parent.name.encode() + meta.read_bytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def stacking_code_digest() -> str:
    """A digest of `screenstack.stacking`'s sources, read once per process (each half's caches ask for it)."""
    import screenstack.stacking

    digest = hashlib.sha256()
    for source in sorted(Path(screenstack.stacking.__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + source.read_bytes())
    return digest.hexdigest()


def replay_half(half: Path) -> list[dict]:
    from screenstack.features.records.corpus import load_corpus, texts
    from screenstack.stacking.calibrate import fit_calibration
    from screenstack.stacking.metrics import fbeta
    from screenstack.stacking import stack as stack_module
    from screenstack.stacking.decision import shift_weight
    from screenstack.stacking.set_apart import shift_records
    from screenstack.stacking.stack import _evaluate_blend

    logging.getLogger("screenstack").setLevel(logging.ERROR)
    # As `stack` does: test records with neither title nor abstract are flagged whatever their score.
    without_text = np.array([not text.strip() for text in texts(load_corpus(half / "train.csv", half / "test.csv").test)])
    # The records the shift is estimated from: with text, no copy of a labelled record (as fit-learners keeps them).
    estimable = shift_records(pd.read_parquet(half / "run" / "records.parquet", columns=["has_text", "copy_label"]))
    estimable = ~without_text if estimable is None else estimable
    rows = []
    for name, rule in rules().items():
        config, patches = rule if isinstance(rule, tuple) else (rule, {})
        b = auto_blend(half, config.learners)
        saved = {constant: getattr(stack_module, constant) for constant in patches}
        try:
            for constant, value in patches.items():
                setattr(stack_module, constant, value)
            metrics = _evaluate_blend(b["y"], b["oof"], b["folds"], config, float(b["inputs_auc"]))[0]
        finally:
            for constant, value in saved.items():
                setattr(stack_module, constant, value)
        shift_weight(b["y"], b["oof"], b["test"], fit_calibration(b["oof"], b["y"]), metrics, config, estimable,
                     b["folds"])  # as `stack`
        threshold = metrics["threshold"]
        decisions = ((b["test"] >= threshold) | without_text).astype(int)
        y_test = b["y_test"]
        rows.append({"half": half.name, "rule": name, "fbeta": fbeta(y_test, decisions, BETA),
                     "recall": float(decisions[y_test == 1].mean()), "flagged": float(decisions.mean()),
                     "n_included": int(b["y"].sum())})
    return rows


REGIMES = ("few", "full", "small", "medium", "plentiful")  # bench/protocol.py's variants: few3..few20 are "few"


def regime(variant: str) -> str:
    return variant if variant in REGIMES else "few"


def table(replayed: pd.DataFrame, protocol_rows: pd.DataFrame, by_level: bool = False) -> pd.DataFrame:
    """Per rule: F7 per regime (`by_level`: each few level apart) paired against the default (mean ± s.e. over
    halves; over all halves also, in brackets, the s.e. over splits, `protocol.split_se`), halves far below
    flag-all, worst recall (few halves, others), macro recall."""
    from protocol import split_se
    flag_all = protocol_rows[protocol_rows["system"] == "flag-all"].set_index("half")["fbeta"]
    variant = protocol_rows.drop_duplicates("half").set_index("half")["variant"]
    replayed = replayed.assign(regime=replayed["half"].map(variant).map(regime), variant=replayed["half"].map(variant))
    column = "variant" if by_level else "regime"
    groups = sorted(replayed[column].unique(), key=lambda g: (regime(g) != "few", REGIMES.index(regime(g)), len(g), g))
    default = replayed[replayed["rule"] == "default"].set_index("half")["fbeta"]
    replayed["diff"] = replayed["fbeta"] - replayed["half"].map(default)
    replayed.index = replayed["half"]  # `split_se` groups the differences by the half's split
    # "cohen_adhd-s3-few5-d0" -> "cohen_adhd-s3"; a plentiful fold is a cluster of its own
    split = pd.Series({h: h if "-plentiful-" in h else h.rsplit("-", 2)[0] for h in replayed["half"].unique()})
    out = []
    for name in rules():
        part = replayed[replayed["rule"] == name]
        row = {"rule": name}
        for group, sub in [*((g, part[part[column] == g]) for g in groups), ("all", part)]:
            d = sub["diff"]
            row[f"{group} ({len(sub)})"] = (f"{sub['fbeta'].mean():.4f}" if name == "default"
                                            else f"{d.mean():+.4f} ± {d.std(ddof=1) / np.sqrt(len(d)):.4f}"
                                            + (f" ({split_se(d, split):.4f})" if group == "all" else ""))
        row["below flag-all"] = int((part["fbeta"].to_numpy() - part["half"].map(flag_all).to_numpy() < -0.05).sum())
        row["worst recall (few / others)"] = (f"{part.loc[part['regime'] == 'few', 'recall'].min():.2f} / "
                                              f"{part.loc[part['regime'] != 'few', 'recall'].min():.2f}")
        row["macro recall"] = round(part["recall"].mean(), 3)
        row["wins/losses"] = "" if name == "default" else f"{int((part['diff'] > 1e-9).sum())}/{int((part['diff'] < -1e-9).sum())}"
        out.append(row)
    return pd.DataFrame(out)


def markdown(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|---" + "|---:" * (len(frame.columns) - 1) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default=str(ROOT / "artifacts" / "protocol"), help="bench/protocol.py's --work")
    parser.add_argument("--draws", type=int, default=2, help="bench/protocol.py's --draws: few halves per level")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--by-level", action="store_true", help="a column per few-included level (few3 ... few20)")
    args = parser.parse_args()
    work = Path(args.work)
    protocol_rows = pd.read_csv(work / "rows.csv")
    # The halves the protocol's report counts: those with rows for every system and kept learner outputs.
    counted = protocol_rows[(protocol_rows["system"] == "screenstack") & (protocol_rows["draw"] < args.draws)]
    halves = [work / "halves" / h for h in sorted(counted["half"].unique()) if (work / "halves" / h / "run" / "learners").is_dir()]
    if not halves:
        sys.exit(f"{work}: no kept halves; run `python bench/protocol.py --jobs 2` first")
    with ProcessPoolExecutor(args.jobs) as pool:
        replayed = pd.DataFrame([row for rows in pool.map(replay_half, halves) for row in rows])
    replayed.to_csv(work / "replay_rows.csv", index=False)  # per half and rule, for a closer look
    print(f"{len(halves)} halves, F7 paired against the default (mean difference ± s.e.); "
          f"command: python bench/replay.py {' '.join(sys.argv[1:])}".rstrip())
    print(markdown(table(replayed, protocol_rows, args.by_level)))


if __name__ == "__main__":
    main()
