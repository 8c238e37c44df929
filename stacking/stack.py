"""`stack`: blend the learners' OOF scores, choose the threshold, write the submission.

Reads only the files `fit-learners` (and the fine-tuner) wrote: it never refits
a learner or predicts on training rows. Writes, in OUT:

- ``submission.csv``: ``id,0|1`` per test record in test order, no header;
- ``test_scores.csv``: ``id,score`` (higher = include);
- ``blend_oof.parquet``: the blend's honest OOF scores (for the report);
- ``summary.json``: metrics of every learner and of the blend, the threshold
  and how it came about (``decision``), beta, the fold plan, the configuration
  and package versions.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..features.artifacts.atomic import write_json, write_parquet
from ..features.checks import check_choice, check_names, check_number, check_positive_number, check_seed
from ..features.errors import ScreenstackError
from ..features.artifacts.folds import load_fold_plan
from ..features.artifacts.outputs import package_versions, read_learner_outputs
from ..features.artifacts.runfolder import RunFolder, locked
from .blend import BLENDERS, make_blender, nested_oof
from .metrics import fbeta, screening_metrics
from .threshold import RULES, apply_threshold, choose_threshold

log = logging.getLogger("screenstack")
AUTO_MIN_INCLUDED = 10


@dataclass(frozen=True)
class StackConfig:
    """How learners are blended and the threshold chosen."""

    beta: float = 7.0
    blend: str = "auto"                 # a name in BLENDERS, or "auto": see `auto_blend`
    threshold_rule: str = "bootstrap"   # see stacking.threshold.RULES
    learners: tuple[str, ...] = ()      # empty: every learner in OUT
    seed: int = 0
    prior_positives: float = 1.0        # included records assumed ranked at chance (stacking.threshold.choose_threshold)
    min_recall: float = 0.95            # the recall floor (stacking.threshold.recall_floor); 0: F-beta alone

    def __post_init__(self):
        # Learner names are checked against OUT by `stack` (fine-tuned learners are named after their model).
        check_positive_number("beta", self.beta)
        check_choice("blend", self.blend, ("auto", *BLENDERS))
        check_choice("threshold-rule", self.threshold_rule, RULES)
        check_names("learners", self.learners, allow_empty=True)
        check_seed(self.seed)
        check_number("recall-prior", self.prior_positives, 0, 100)
        check_number("min-recall", self.min_recall, 0, 1)


def _score_matrices(out: Path, wanted: tuple[str, ...]):
    outputs = read_learner_outputs(out, wanted)
    names = sorted(wanted) or sorted(outputs)  # one column order, so the blend does not depend on how --learners was typed
    missing = [n for n in names if n not in outputs]
    if missing:
        found = ", ".join(RunFolder(out).learner_names())
        raise ScreenstackError(f"{out}: no outputs for learner(s) {', '.join(missing)} (found: {found}). Run fit-learners for them.")
    plan = load_fold_plan(out)
    oof_cols, test_cols, test_ids = [], [], None
    for name in names:
        oof, test, _ = outputs[name]
        if not (np.array_equal(oof["id"].to_numpy(dtype=str), plan.ids.astype(str)) and np.array_equal(oof["fold"].to_numpy(), plan.folds)):
            raise ScreenstackError(f"{out}/learners/{name}: its OOF rows do not follow {out}/folds.parquet (copied from another run?). "
                                   f"Refit it here: `screenstack fit-learners --out {out} --learners {name} ...` with this run's --train/--test.")
        ids = test["id"].to_numpy(dtype=str)
        if test_ids is not None and not np.array_equal(ids, test_ids):
            raise ScreenstackError(f"{out}/learners/{name}: scored other test records than {names[0]}. Refit the learners on the same --test file.")
        test_ids = ids
        if np.isnan(oof["score"].to_numpy()).any():
            raise ScreenstackError(f"{out}/learners/{name}: OOF scores contain NaN (rows no fold validated). Refit it.")
        oof_cols.append(oof["score"].to_numpy(dtype=float))
        test_cols.append(test["score"].to_numpy(dtype=float))
    return names, plan, np.column_stack(oof_cols), np.column_stack(test_cols), test_ids


def _honest_fbeta(y, scores, folds, config: StackConfig) -> float:
    """F-beta when each fold's threshold is chosen on the other folds' scores."""
    decisions = np.zeros(len(y), dtype=int)
    for k in np.unique(folds):
        inside = folds == k
        t = choose_threshold(y[~inside], scores[~inside], config.beta, config.threshold_rule, random_state=config.seed,
                             prior_positives=config.prior_positives, min_recall=config.min_recall)
        decisions[inside] = apply_threshold(scores[inside], t)
    return fbeta(y, decisions, config.beta)


def _evaluate(y, scores, folds, config: StackConfig) -> dict:
    threshold = choose_threshold(y, scores, config.beta, config.threshold_rule, random_state=config.seed,
                                 prior_positives=config.prior_positives, min_recall=config.min_recall)
    return {"threshold": threshold, **screening_metrics(y, scores, threshold, config.beta),
            "fbeta_honest": _honest_fbeta(y, scores, folds, config)}


def auto_blend(n_included: int) -> str:
    """The blend ``auto`` means: equal-weight ranks with fewer than `AUTO_MIN_INCLUDED` included records, else the logistic meta-learner.

    A meta-learner's weights fitted on a handful of included records follow
    their noise. Over the shared datasets' held-out halves (bench/README.md,
    "protocol") the rank average beat the logistic blend by 0.02-0.04 F7 with
    3-5 included training records, tied at 10, and lost by 0.02-0.06 from 20 on.
    """
    return "rank-average" if n_included < AUTO_MIN_INCLUDED else "logistic"


def _decision(y: np.ndarray, blend_oof: np.ndarray, threshold: float, config: StackConfig) -> dict:
    """How the threshold came about, for the summary, the report and the console.

    Says whether the recall floor lowered the F-beta threshold, and by how
    much, since with a handful of included records it decides most of the result.
    """
    fbeta_only = choose_threshold(y, blend_oof, config.beta, config.threshold_rule, random_state=config.seed,
                                  prior_positives=config.prior_positives)
    flagged_share = float(np.mean(blend_oof >= threshold))
    info = {
        "fbeta_threshold": fbeta_only, "fbeta_flagged_share": float(np.mean(blend_oof >= fbeta_only)),
        "recall_floor_lowered": bool(threshold < fbeta_only), "min_recall": config.min_recall,
        "prior_positives": config.prior_positives, "oof_flagged_share": flagged_share,
        "n_train_included": int(y.sum()),
    }
    if info["recall_floor_lowered"]:
        log.info("recall floor: F%g alone would flag %.1f%% of the OOF records; with %d included training records, an "
                 "estimated recall of %.0f%% needs %.1f%%", config.beta, 100 * info["fbeta_flagged_share"], y.sum(),
                 100 * config.min_recall, 100 * flagged_share)
    if flagged_share > 0.9:
        log.warning("the threshold flags %.0f%% of records: %d included training records%s cannot support a tighter one; "
                    "label more records to flag fewer", 100 * flagged_share, y.sum(),
                    " and a weak ranking" if not info["recall_floor_lowered"] else "")
    return info


@locked(create=False)
def stack(out: str | Path, config: StackConfig = StackConfig()) -> dict:
    """Blend, threshold and write the submission files; return the summary.

    Examples
    --------
    >>> summary = stack("artifacts/run1", StackConfig(beta=7))  # doctest: +SKIP
    """
    out = Path(out)
    names, plan, Z, Z_test, test_ids = _score_matrices(out, config.learners)
    y, folds = plan.labels, plan.folds
    learners = {name: _evaluate(y, Z[:, j], folds, config) for j, name in enumerate(names)}
    # Every blender is evaluated (nested, cheap) so the summary and report can compare them.
    candidates = {}
    for method in BLENDERS:
        scores = nested_oof(make_blender(method), Z, y, folds)
        candidates[method] = (_evaluate(y, scores, folds, config), scores)
    chosen = config.blend if config.blend != "auto" else auto_blend(int(y.sum()))
    blend_metrics, blend_oof = candidates[chosen]
    final = make_blender(chosen).fit(Z, y)
    test_scores = final.predict(Z_test) if len(test_ids) else np.zeros(0)
    threshold = blend_metrics["threshold"]
    decision = _decision(y, blend_oof, threshold, config)
    decisions = apply_threshold(test_scores, threshold)

    summary = {
        "beta": config.beta,
        "threshold": threshold,
        "decision": decision,
        "blend": {"method": chosen, "weights": dict(zip(names, map(float, final.weights_))), **blend_metrics},
        "blend_candidates": {m: c[0] for m, c in candidates.items()},
        "learners": learners,
        "n_train": int(len(y)), "n_train_included": int(y.sum()),
        "n_test": int(len(test_ids)), "n_test_flagged": int(decisions.sum()),
        "fold_plan": plan.meta,
        "config": asdict(config),
        "versions": package_versions(),
    }
    # One set: a run stopped midway never leaves one setting's submission beside another's summary.
    # Made from the plan and these learners: committing it removes the report (and config.toml) of the previous stack.
    with RunFolder(out).commit("stack", inputs=("folds", *(f"learners/{name}" for name in names))) as staging:
        write_parquet(staging / "blend_oof.parquet", pd.DataFrame({"id": plan.ids.astype(str), "fold": folds, "label": y, "score": blend_oof}))
        pd.DataFrame({"id": test_ids, "score": test_scores}).to_csv(staging / "test_scores.csv", index=False, float_format="%.8f")
        pd.DataFrame({"id": test_ids, "judgement": decisions}).to_csv(staging / "submission.csv", index=False, header=False)
        write_json(staging / "summary.json", summary)
    log.info("blend %s: OOF F%g %.4f (honest %.4f), recall %.3f, AUC %.4f, WSS@95 %.3f; threshold %.4g flags %d of %d test records",
             chosen, config.beta, blend_metrics["fbeta"], blend_metrics["fbeta_honest"], blend_metrics["recall"],
             blend_metrics["roc_auc"], blend_metrics["wss95"], threshold, decisions.sum(), len(test_ids))
    return summary
