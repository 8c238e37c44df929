"""`stack`: blend the learners' OOF scores, choose the threshold, write the submission.

Reads only the files `fit-learners` (and the fine-tuner) wrote: it never refits
a learner or predicts on training rows. Writes, in OUT:

- ``submission.csv``: ``id,0|1`` per test record in test order, no header;
- ``test_scores.csv``: ``id,score`` (higher = include);
- ``ranked.csv``: the records to screen, best first, with titles, decisions,
  calibrated probabilities and the input's columns (`stacking.ranked`);
- ``calibration.json``: the Platt scaling that turns blend scores into
  probabilities of inclusion (`stacking.calibrate`);
- ``blend_oof.parquet``: the blend's honest OOF scores (for the report);
- ``blend.json``: the fitted blender as JSON numbers (`stacking.blend.blend_state`), for `screenstack predict`;
- ``summary.json``: the honest estimate (``honest``: F-beta and recall with
  thresholds chosen on other folds, with 95% intervals), the expected included
  records among the flagged and unflagged records to screen (``screening``),
  ``warnings``, metrics of every learner and of the blend, the threshold and how
  it came about (``decision``), beta, the fold plan, the configuration and
  package versions.
"""
from __future__ import annotations

import json
import logging
import warnings as pywarnings
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..features.artifacts import sets
from ..features.artifacts.atomic import read_json, write_json, write_parquet
from ..features.errors import ScreenstackError, quoted
from ..features.artifacts.folds import load_fold_plan
from ..features.artifacts.outputs import differing_keys, is_fine_tuned, package_versions, read_learner_outputs
from ..features.artifacts.damage import DamagedArtifact, DeletedLearners, StaleArtifact
from ..features.artifacts.runfolder import STACK_FILES, RunFolder, locked
from ..features.artifacts.records import read_screening_records
from ..learners.registry import LEARNERS, min_included
from ..learners.oof import on_one_blas_thread
from .blend import BLENDERS, SingleLearner, blend_state, make_blender, nested_oof
from .calibrate import fit_calibration
from .config import StackConfig, recorded_flags, stack_command, stack_flags
from .decision import CHANCE_AUC, COMPARE_INCLUDED, FLAG_ALL, lowered_by, screen, shift_weight
from .metrics import fbeta, paired_win_share, predictive_intervals, screening_metrics
from .ranked import refuse_edited, write_ranked
from .set_apart import (abstracts_unlike_labelled, included_without_abstracts, log_titles_only, say_without_text, shift_records,
                        titles_unlike_labelled, without_text)
from .stack_said import ALONE_OUT, log_summary, record_flagged_shares, say_single, stack_warnings
from .threshold import FIT_WEIGHT, choose_threshold, fold_decisions, separation

log = logging.getLogger("screenstack")
AUTO_MIN_INCLUDED = 11  # the logistic blend from 11 included training records: at 10 it ties the rank average on the mean
# and lets more halves fall below flagging everything (3 more of 690 on the protocol's three sets of split seeds; 0.3.36)


def _say_older_defaults(out: Path, metas: dict[str, dict]) -> None:
    """Warn of learners another screenstack fitted with other parameters than this version's defaults: `stack` blends
    them as they are, where `fit-learners` and `run` refuse them as another configuration (helper-176: a 0.3.1 run's
    TF-IDF learners, class_weight None where 0.3.2 on weighs classes, were blended without a word)."""
    from ..learners.fit import default_params, without_blocks

    current = package_versions().get("screenstack")
    said = []
    for name, meta in metas.items():
        made_by = (meta.get("versions") or {}).get("screenstack")
        if name not in LEARNERS or made_by in (None, current) or not isinstance(meta.get("params"), dict):
            continue
        now = default_params(name)
        was = without_blocks(meta["params"])
        keys = differing_keys(was, now)
        if keys:
            said.append(f"{name} (screenstack {made_by}: " + ", ".join(f"{k} {was.get(k)} there, {now.get(k)} now" for k in keys)
                        + ")")
    if said:
        pywarnings.warn(f"{out}: learners fitted with other parameters than this version's defaults, blended as they were "
                        f"fitted: {'; '.join(said)}. Fitting them again with this version's needs a new --out (`screenstack "
                        "run` with the run's input files), or their folders deleted first.", stacklevel=3)


def _score_matrices(out: Path, wanted: tuple[str, ...]):
    outputs = read_learner_outputs(out, wanted)
    names = sorted(wanted) or sorted(outputs)  # one column order, so the blend does not depend on how --learners was typed
    missing = [n for n in names if n not in outputs]
    if missing:
        found = ", ".join(RunFolder(out).learner_names())
        unknown = [n for n in missing if n not in LEARNERS and not is_fine_tuned(n)]
        if unknown:  # a typo rather than a learner not fitted yet (fine-tuned ones: extract.finetune_config.learner_name)
            raise ScreenstackError(f"--learners: {', '.join(unknown)} is not a learner in {out} (found: {found}) nor one "
                                   f"fit-learners knows ({', '.join(sorted(LEARNERS))}). Check the spelling.")
        finetuned = [n for n in missing if is_fine_tuned(n)]
        how = ("Run fit-learners for them" if not finetuned else
               f"Fine-tuned ones ({', '.join(finetuned)}) are made by `screenstack extract --finetune --out {quoted(out)}` with the "
               "run's input files, its --model and --head" + (", the others by fit-learners" if len(finetuned) < len(missing) else ""))
        raise ScreenstackError(f"{out}: no outputs for learner(s) {', '.join(missing)} (found: {found}). {how}.")
    _say_older_defaults(out, {name: outputs[name][2] for name in names})
    plan = load_fold_plan(out)
    oof_cols, test_cols, test_ids = [], [], None
    for name in names:
        oof, test, _ = outputs[name]
        if not (np.array_equal(oof["id"].to_numpy(dtype=str), plan.ids.astype(str)) and np.array_equal(oof["fold"].to_numpy(), plan.folds)):
            raise ScreenstackError(f"{out}/learners/{name}: its OOF rows do not follow {out}/folds.parquet (copied from another run?). "
                                   f"Refit it here: `screenstack fit-learners --out {quoted(out)} --learners {name} ...` with this run's --train/--test.")
        ids = test["id"].to_numpy(dtype=str)
        if test_ids is not None and not np.array_equal(ids, test_ids):
            raise ScreenstackError(f"{out}/learners/{name}: scored other test records than {names[0]}. Refit the learners on the same records to screen (--test, or --data).")
        test_ids = ids
        if np.isnan(oof["score"].to_numpy()).any():
            raise ScreenstackError(f"{out}/learners/{name}: OOF scores contain NaN (rows no fold validated). Refit it.")
        oof_cols.append(oof["score"].to_numpy(dtype=float))
        test_cols.append(test["score"].to_numpy(dtype=float))
    _refuse_mixed_tests(out, {name: outputs[name][2].get("test_fingerprint") for name in names})
    return names, plan, np.column_stack(oof_cols), np.column_stack(test_cols), test_ids


def _refuse_mixed_tests(out: Path, fingerprints: dict[str, str | None]) -> None:
    """Refuse to blend learners that scored different --test files (same ids, other texts: a folder written by
    screenstack before 0.3.6, or one learner's folder copied in). Outputs without a fingerprint are not compared."""
    groups: dict[str, list[str]] = {}
    for name, fingerprint in fingerprints.items():
        if fingerprint is not None:
            groups.setdefault(fingerprint, []).append(name)
    if len(groups) > 1:
        said = "; ".join(", ".join(names) for names in groups.values())
        raise ScreenstackError(f"{out}/learners: the learners scored different --test files ({said}), and a blend of them would mix "
                               "two files' scores. Keep one file's: delete the other learners' folders and refit them with "
                               f"`screenstack fit-learners --out {quoted(out)} --learners NAMES` and that --test file (or --data).")


def _refuse_unfitted(out: Path) -> None:
    """Refuse to blend, by default, fewer learners than the last `fit-learners` was asked for: stopped by Ctrl-C
    or a full disk, it leaves the learners it finished, and a blend of those would pass for the whole run."""
    run = RunFolder(out)
    requested, missing = run.unfitted_requested_learners()
    if missing:
        found = [n for n in requested if n not in missing] or run.learner_names()
        stacked = run.stacked_learner_names()
        if all(name in stacked for name in missing):  # fitted, blended, then deleted by hand: not a stopped fit
            one = len(missing) == 1
            raise ScreenstackError(f"{', '.join(str(out / 'learners' / name) for name in missing)}: deleted, but the stack in "
                                   f"{out} blended {'it' if one else 'them'}. {sets.deleted_learners_fix(out, missing, found)}")
        also = f", or `screenstack stack --out {quoted(out)} --learners {','.join(found)}` to blend those fitted" if found else ""
        raise ScreenstackError(f"{out}: fit-learners was asked for {', '.join(requested)}, but {', '.join(missing)} "
                               f"{'has' if len(missing) == 1 else 'have'} no outputs there (it stopped before finishing?). "
                               f"Rerun the same fit-learners (or run) command to fit {'it' if len(missing) == 1 else 'them'}{also}.")


def _honest_decisions(y, scores, folds, config: StackConfig) -> np.ndarray:
    """0/1 decisions on the OOF records where each fold's threshold is chosen on the other folds' scores."""
    return fold_decisions(y, scores, folds, lambda labels, others: choose_threshold(
        labels, others, config.beta, config.threshold_rule, random_state=config.seed,
        prior_positives=config.prior_positives, min_recall=config.min_recall))


def _honest(y, decisions, n_test: int, config: StackConfig) -> dict:
    """The blend's honest F-beta and recall with 95% intervals: what to expect on the records to screen.

    Nested blend scores and fold-wise thresholds: no training record is judged
    by a threshold or blend weight its label helped choose. The intervals are
    for the `n_test` records to screen (as many as the training records when
    there are none), see `stacking.metrics.predictive_intervals`.
    """
    found, included, flagged = int(np.sum(decisions * y)), int(y.sum()), int(decisions.sum())
    n_records = n_test or len(y)
    fbeta_interval, recall_interval = predictive_intervals(y, decisions, config.beta, n_records, random_state=config.seed)
    return {"fbeta": fbeta(y, decisions, config.beta), "fbeta_interval": fbeta_interval,
            "recall": found / max(included, 1), "recall_interval": recall_interval, "interval_records": n_records,
            "precision": found / max(flagged, 1), "found": found, "included": included, "flagged": flagged,
            "flagged_share": flagged / len(y)}


def _best_learner(y, evaluated: dict, blend_decisions, config: StackConfig) -> dict:
    """The learner with the best honest F-beta, and the share of paired resamples in which it beats the blend."""
    best = max(evaluated, key=lambda name: (evaluated[name][0]["fbeta_honest"], name))
    metrics, decisions = evaluated[best]
    return {"name": best, "fbeta_honest": metrics["fbeta_honest"],
            "share_ahead": paired_win_share(y, decisions, blend_decisions, config.beta, random_state=config.seed)}


def _evaluate(y, scores, folds, config: StackConfig) -> tuple[dict, np.ndarray]:
    """Metrics at the threshold chosen on all OOF `scores`, with ``fbeta_honest`` (each fold's threshold
    chosen on the other folds), and those honest decisions (for the honest estimate and the warnings)."""
    threshold = choose_threshold(y, scores, config.beta, config.threshold_rule, random_state=config.seed,
                                 prior_positives=config.prior_positives, min_recall=config.min_recall)
    honest = _honest_decisions(y, scores, folds, config)
    return {"threshold": threshold, **screening_metrics(y, scores, threshold, config.beta),
            "fbeta_honest": fbeta(y, honest, config.beta)}, honest


def _evaluate_blend(y, scores, folds, config: StackConfig, inputs_auc: float = 1.0) -> tuple[dict, np.ndarray]:
    """`_evaluate` for a blend, then the honest floor: flag every record when the blend ranks the labelled
    records at chance (honest OOF ROC-AUC below `CHANCE_AUC`) or, from `COMPARE_INCLUDED` included
    training records on, when its honest OOF F-beta does not beat flagging every record.

    The F-beta comparison waits for 20 included records: below that the
    recall floor guards recall, and an honest F-beta over a handful of
    included records is too noisy to overrule a threshold (on a cohen_adhd
    half with 10 it said flag everything, where the threshold's test F7 was
    0.76 against 0.55). Over the protocol's 135 halves it flagged everything on
    7 halves of cohen_atypical_antipsychotics, a review whose ranking (AUC
    0.7-0.8) barely beats its 13% prevalence: F7 +0.0015 (s.e. 0.0008), 6 wins
    and 1 loss of 0.001, halves more than 0.05 below flagging everything 12 ->
    10 (bench/README.md, "protocol"). ``threshold_fbeta_honest`` keeps the
    honest F-beta of the threshold it replaced.

    A blend at chance has nothing for a threshold to cut: its flags would be
    a random share of the records, set by the recall floor's guess at how
    many included records exist. Over the protocol's 300 halves the rule
    changed 19 few-included halves (3-10 included records; none of the full,
    small or medium ones): F7 +0.0012 (s.e. 0.0012), 5 wins up to +0.28 and
    9 losses up to 0.11, halves more than 0.05 below flagging everything 11 ->
    8 (bench/README.md, "protocol"). With 3 included records the OOF AUC is
    noisy: 6 of the 19 ranked their test half at AUC 0.77-0.89, but there the
    recall floor flags 65% of the records already, so flagging them all cost
    little; 14 of the 19 had 3 included records, none had more than 10.
    """
    metrics, honest = _evaluate(y, scores, folds, config)
    everything = np.ones(len(y), dtype=int)
    # `inputs_auc`, the best honest OOF ROC-AUC of the learners blended: where none ranks above chance (random labels
    # rank at 0.3 out of fold, an artifact of holding records out), a logistic blend weighs them all negatively and
    # ranks its OOF records at 0.69, new ones at chance. It changed none of the protocol's 945 kept halves.
    at_chance = bool(metrics["roc_auc"] < CHANCE_AUC or inputs_auc < CHANCE_AUC)
    if inputs_auc < CHANCE_AUC:
        metrics["inputs_roc_auc"] = inputs_auc
    beaten = bool(y.sum() >= COMPARE_INCLUDED and metrics["fbeta_honest"] <= fbeta(y, everything, config.beta))
    flag_all = at_chance or beaten
    metrics.update(honest_floor=flag_all, ranks_at_chance=at_chance, threshold_fbeta_honest=metrics["fbeta_honest"])
    if flag_all:
        metrics.update(threshold=FLAG_ALL, **screening_metrics(y, scores, FLAG_ALL, config.beta),
                       fbeta_honest=fbeta(y, everything, config.beta))
        return metrics, everything
    return metrics, honest


def auto_blend(n_included: int) -> str:
    """The blend ``auto`` means: equal-weight ranks with fewer than `AUTO_MIN_INCLUDED` included records, else the logistic meta-learner.

    A meta-learner's weights fitted on a handful of included records follow
    their noise. Over the shared datasets' held-out halves (bench/README.md,
    "protocol") the rank average beat the logistic blend by 0.02-0.04 F7 with
    3-5 included training records, tied at 10, and lost by 0.02-0.06 from 20 on.
    At 10 it is kept since 0.3.36: over the 100 few10 halves of split seeds
    0-14, F7 +0.004 +- 0.004 and 3 fewer halves more than 0.05 below flagging
    everything, over the 23 natural halves with 10, +0.0005 +- 0.015
    (bench/README.md, "The rank average at 10 included records").
    """
    return "rank-average" if n_included < AUTO_MIN_INCLUDED else "logistic"


def blended_learners(names: list[str], n_included: int) -> tuple[bool, ...]:
    """Which of `names` the default blend weighs with `n_included` included training records: those whose
    class's ``min_included`` is at most that many (if none is, all).

    Boosted trees declare 20. With 3 included records their ranking is near
    chance (test AUC 0.58, against 0.79 for logistic regression on the same
    vectors), and an equal-weight average passes that noise on: leaving them
    out below 10 raised the protocol's F7 by 0.010 (s.e. 0.003). With 10-19, five
    weights of the logistic blend follow their noise (weighing them there lost
    0.021 F7 on the halves with 10). Logistic regression on the vectors stays in
    from 10 on since 0.3.18: with each block at unit length (0.3.17) it ranks as
    well as the TF-IDF learners there, and weighing it raised F7 over the 180
    natural halves by 0.0026 ± 0.0014 (bench/README.md, "protocol").
    """
    use = tuple(min_included(name) <= n_included for name in names)
    if not any(use):
        log.info("blend: %s each need more than %d included training records, but no other learner is in this stack, so all "
                 "are weighed", ", ".join(names), n_included)
        return tuple(True for _ in names)
    left_out = [name for name, kept in zip(names, use) if not kept]
    if left_out:
        blend = "blend" if sum(use) == 1 else "rank average" if n_included < AUTO_MIN_INCLUDED else "logistic blend"
        log.info("blend: %s left out of the %s (%d included training records; they need more)", ", ".join(left_out), blend,
                 n_included)
    return use


def _decision(y: np.ndarray, blend_oof: np.ndarray, blend: dict, config: StackConfig, shift: dict) -> dict:
    """How the threshold came about, for the summary, the report and the console.

    Says whether the recall floor lowered the F-beta threshold, and by how
    much, since with a handful of included records it decides most of the result,
    whether the fitted tail (`stacking.threshold.fitted_tail_threshold`) set F-beta's
    threshold below the bootstrap optimum, and whether the honest floor
    (`_evaluate_blend`) set it to flag every record, each as the labelled records alone have it. `shift`:
    `shift_weight`'s, which lowered the threshold from ``threshold_before`` where it did (said on the label-shift line),
    and whose honest floor, where it flags every record, is what lowered the threshold, not the recall floor.
    """
    # F-beta's threshold as the labelled records alone would have it (no label-shift weight, as `_fitted_tail`): the
    # recall floor's line goes from it to the threshold before the shift, where the shift's line starts (helper-170:
    # at the shift's weight, with the prior unscaled, "F7 alone" flagged 75.8% where the threshold applied flagged
    # 63.7%, and the floor's step from 15.4% to 23.6% went unsaid).
    fbeta_only = choose_threshold(y, blend_oof, config.beta, config.threshold_rule, random_state=config.seed,
                                  prior_positives=config.prior_positives)
    threshold = blend["threshold"]
    before = float(shift["threshold_before"]) if shift.get("lowered") else threshold
    floor_at_shift = bool((shift.get("honest_floor") or {}).get("flags_everything"))
    flagged_share = float(np.mean(blend_oof >= threshold))
    info = {
        "fbeta_threshold": fbeta_only, "fbeta_flagged_share": float(np.mean(blend_oof >= fbeta_only)),
        "recall_floor_lowered": bool(not blend["honest_floor"] and not floor_at_shift and before < fbeta_only),
        "min_recall": config.min_recall,
        "prior_positives": config.prior_positives, "oof_flagged_share": flagged_share,
        "n_train_included": int(y.sum()), "flags_everything": blend["honest_floor"],
        "ranks_at_chance": bool(blend.get("ranks_at_chance", False)),
        "flag_all_fbeta": fbeta(y, np.ones(len(y), dtype=int), config.beta),
        "fitted_tail": _fitted_tail(y, blend_oof, blend, config, fbeta_only),
    }
    return info


def _fitted_tail(y: np.ndarray, blend_oof: np.ndarray, blend: dict, config: StackConfig, chosen: float) -> dict | None:
    """Whether the fitted tail (`stacking.threshold.fitted_tail_threshold`) set F-beta's threshold on the labelled
    records, `chosen` (`choose_threshold`'s, the fitted tail in), below the bootstrap optimum, with both thresholds and
    the shares they flag; None under the argmax rule.

    Judged as the labelled records alone would have it (no label-shift weight): the shift's own line and
    ``shift.threshold_before`` start from this threshold, and a reused stack says the same.
    """
    if config.threshold_rule != "bootstrap" or not 0 < y.sum() < len(y):
        return None
    resampled = choose_threshold(y, blend_oof, config.beta, config.threshold_rule, random_state=config.seed,
                                 prior_positives=config.prior_positives, fitted_tail=False)
    return {"lowered": bool(not blend["honest_floor"] and chosen < resampled), "separation": separation(y, blend_oof),
            "fit_weight": FIT_WEIGHT,
            "threshold": chosen, "flagged_share": float(np.mean(blend_oof >= chosen)),
            "bootstrap_threshold": resampled, "bootstrap_flagged_share": float(np.mean(blend_oof >= resampled))}


def _inputs(names: list[str]) -> tuple[str, ...]:
    """The sets a stack of learners `names` is made from (recorded in its manifest)."""
    return ("folds", "records", *(f"learners/{name}" for name in names))


def _reusable(out: Path, names: list[str], config: StackConfig) -> dict | None:
    """The summary of OUT's stack if it was made from the same fold plan, records and learner outputs
    (their versions, checked against the stack's manifest) with the same options; else None.

    As `check_reusable` does for a learner: rewriting identical outputs would still
    commit a new version of the stack, which removes the report (and the sets made
    from it). The learners blended are compared by name, however `--learners` named
    them (``()`` means every learner in OUT). A stack another screenstack version
    made is made again (its defaults, the blend's rule say, may have changed);
    other packages' versions are not compared. A damaged or stale stack is made
    again, with a warning.
    """
    run = RunFolder(out)
    try:
        manifest = run.verify("stack", "")
        summary = read_json(run.summary) if manifest is not None else None
    except (DamagedArtifact, OSError, ValueError) as error:
        if isinstance(error, PermissionError):  # not damage: replacing the file would hide what the user must fix
            raise
        path = getattr(error, "path", run.summary)
        # A ranked.csv moved out of OUT (as the refusal to replace an edited one says) is missing, not damaged.
        if isinstance(error, DeletedLearners):  # remade without them, as its refusal offers: not the stack they made
            pywarnings.warn(f"{out}: the stack there blended a learner since deleted; stacking again.", stacklevel=3)
            return None
        what = "stale" if isinstance(error, StaleArtifact) else "damaged" if path.exists() else "missing"
        pywarnings.warn(f"{path}: {what}; stacking again{_other_options(out, names, config)}.", stacklevel=3)
        return None
    if not isinstance(summary, dict) or not isinstance(summary.get("config"), dict):
        return None  # no stack, or one from before manifests
    if set(manifest.get("inputs", {})) != set(_inputs(names)):
        before = sorted(key.split("/", 1)[1] for key in manifest.get("inputs", {}) if key.startswith("learners/"))
        if not config.learners and before != sorted(names):  # every learner in OUT, where the stack there blended others
            # A warning, as README says: under -q a `stack --learners ... --beta 3` was replaced without a word.
            log.warning("%s: stacking every learner there (%s), where the stack it replaces blended %s: %s makes that "
                        "one again", out, ",".join(sorted(names)), ",".join(before), sets.stack_command(out))
        elif other := _other_options(out, names, config):  # `run --config` over a `stack --learners` of fewer
            log.warning("%s: stacking again%s.", out, other)
        return None
    made_by, current = (summary.get("versions") or {}).get("screenstack"), package_versions().get("screenstack")
    if made_by != current:  # a warning where its options were others (helper-147: -q hid a --beta 5 stack replaced)
        other = _other_options(out, names, config)
        log.log(logging.WARNING if other else logging.INFO, "%s: the stack outputs there were made by screenstack %s; "
                "%s stacks again%s.", out, made_by, current, other)
        return None
    if run.stack_warnings_stale():  # the summary and the report say the input files' warnings as they are now
        return None
    new = json.loads(json.dumps(asdict(config)))  # as summary.json holds it
    old = {k: v for k, v in summary["config"].items() if k != "learners"}
    if old == {k: v for k, v in new.items() if k != "learners"}:
        return summary
    # `run --config OUT/config.toml` after a `stack` with other options replaces that stack: say so, with its command.
    other = _other_options(out, names, config)
    if other:  # a warning: `-q` hid that the stack made with other options was replaced
        log.warning("%s: stacking again%s.", out, other)
    return None


def options_replaced(out: str | Path, config: StackConfig) -> str:
    """`_other_options` for a stack of `config`'s learners: what `run` says where a set it writes first (a records.parquet
    of an older version, a refitted learner) removes OUT's stack before its stack stage could compare the options
    (helper-147: a `stack --beta 5` replaced without a word)."""
    return _other_options(Path(out), list(config.learners), config)


def _other_options(out: Path, names: list[str], config: StackConfig) -> str:
    """Where OUT's stack, damaged, was made with other options than `config`'s, the words that say so and how to make
    that one again (a run's own options are not `stack`'s defaults; else empty)."""
    made_with, given = recorded_flags(out, names), stack_flags(names, config)
    if not isinstance(made_with, str) or made_with == given:
        return ""
    return f" with {given}, not the options it was made with ({made_with or 'the defaults'}): {stack_command(out, names)} makes that one again"


@locked(create=False, writes=STACK_FILES)
@on_one_blas_thread
def stack(out: str | Path, config: StackConfig = StackConfig()) -> dict:
    """Blend, threshold and write the submission files; return the summary.

    Examples
    --------
    >>> summary = stack("artifacts/run1", StackConfig(beta=7))  # doctest: +SKIP
    """
    out = Path(out)
    refuse_edited(out, "stack", "stack")  # the reviewer's edits are never replaced
    if not config.learners:
        _refuse_unfitted(out)
    names, plan, Z, Z_test, test_ids = _score_matrices(out, config.learners)
    records = _screening_records(out, test_ids)
    reused = _reusable(out, names, config)
    if reused is not None:
        log.info("%s: the stack outputs there were made from these learner outputs, fold plan and options; reusing them", out)
        if config.blend == "auto":  # the lines a first stack says on the way, said again: a rerun prints what a first run does
            blended_learners(names, int(plan.labels.sum()))
        if reused["blend"]["method"] == SingleLearner.name:
            say_single(max(reused["blend"]["weights"], key=reused["blend"]["weights"].get), config.blend)
        without = without_text(records)
        if without is not None:
            say_without_text(int(without.sum()), int(reused["decision"].get("flagged_without_text", 0)))
        log_titles_only(reused["decision"].get("titles_only") or {})
        log_summary(reused, out)
        return reused
    # A new stack removes the report made from the previous one: its folder is checked now, not after the work.
    RunFolder(out).check_places("report")
    y, folds = plan.labels, plan.folds
    evaluated = {name: _evaluate(y, Z[:, j], folds, config) for j, name in enumerate(names)}
    learners = {name: metrics for name, (metrics, _) in evaluated.items()}
    # Every blender is evaluated (nested, cheap) so the summary and report can compare them.
    chosen = config.blend if config.blend != "auto" else auto_blend(int(y.sum()))
    params = {"use": blended_learners(names, int(y.sum()))} if config.blend == "auto" else {}
    # name -> the included training records the default blend weighs it from, for those it left out (summary, report)
    left_out = {name: min_included(name) for name, kept in zip(names, params.get("use", ())) if not kept}
    candidates = {}
    blended = [name for name, kept in zip(names, params.get("use", [True] * len(names))) if kept]
    if len(blended) == 1:  # one learner weighed: its own scores, as its line among the learners judged them
        chosen, params = SingleLearner.name, {"use": tuple(name in blended for name in names)}
        say_single(blended[0], config.blend)
    inputs_auc = max(learners[name]["roc_auc"] for name in blended)
    for method in ((chosen,) if chosen == SingleLearner.name else BLENDERS):  # one learner: no other blend to compare
        scores = nested_oof(make_blender(method, **(params if method == chosen else {})), Z, y, folds)
        candidates[method] = (*_evaluate_blend(y, scores, folds, config, inputs_auc), scores)
    blend_metrics, blend_decisions, blend_oof = candidates[chosen]
    final = make_blender(chosen, **params).fit(Z, y)
    test_scores = final.predict(Z_test) if len(test_ids) else np.zeros(0)
    calibration = fit_calibration(blend_oof, y)
    titles_only = titles_unlike_labelled(records, plan.keys, plan.meta.get("text_columns"))
    shift = shift_weight(y, blend_oof, test_scores, calibration, blend_metrics, config, shift_records(records, titles_only),
                         folds)
    decision = {**_decision(y, blend_oof, blend_metrics, config, shift), "shift": shift}
    honest = _honest(y, blend_decisions, len(test_ids), config)
    screened = screen(y, blend_oof, calibration, test_scores, blend_metrics["threshold"], shift, honest["recall_interval"][0],
                      config.seed, records, titles_only)
    threshold, decisions = screened.threshold, screened.decisions
    decision.update(recall_check=screened.recall_check, flagged_without_text=screened.flagged_without_text,
                    titles_only=screened.titles_only, included_without_abstracts=included_without_abstracts(plan.keys, y),
                    abstracts_unlike_labelled=abstracts_unlike_labelled(records, plan.keys, plan.meta.get("text_columns")))
    honest["threshold_lowered_by"] = lowered_by(decision)
    record_flagged_shares(decision, decisions, test_scores, without_text(records))

    summary = {
        "beta": config.beta,
        "honest": honest,
        "screening": screened.screening,
        "threshold": threshold,
        "decision": decision,
        "blend": {"method": chosen, "weights": dict(zip(names, map(float, final.weights_))), "left_out": left_out,
                  **blend_metrics},
        "blend_candidates": {m: c[0] for m, c in candidates.items()},
        "learners": learners,
        "best_learner": _best_learner(y, evaluated, blend_decisions, config),
        "n_train": int(len(y)), "n_train_included": int(y.sum()),
        "n_test": int(len(test_ids)), "n_test_flagged": int(decisions.sum()),
        "fold_plan": plan.meta,
        # The learners blended by name, however --learners named them (none: every one in OUT), so `stack` with the
        # options `run` used writes the same summary, and a report made from it stays.
        "config": asdict(replace(config, learners=tuple(names))),
        "flags": (flags := stack_flags(names, config)),  # as the manifest records them: `sets.stack_flags` reads either
        "versions": package_versions(),
    }
    # The best learner alone, with every other option this stack was given (helper-158: `--learners NAME` alone lost a
    # --beta 5); OUT by name, as summary.json names no folder of its own (a run folder copied or moved says the same)
    alone = f"`screenstack stack --out OUT {stack_flags([summary['best_learner']['name']], config)}`{ALONE_OUT}"
    summary["warnings"] = stack_warnings(summary, alone) + ([NO_RECORDS] if records is None and len(test_ids) else [])
    summary["input_warnings"] = [] if records is None else list(records.attrs.get("said", []))  # said reading the files
    # One set: a run stopped midway never leaves one setting's submission beside another's summary.
    # Made from the plan and these learners: committing a new version removes the report of the previous stack.
    with RunFolder(out).commit("stack", meta={"flags": flags}, inputs=_inputs(names)) as staging:
        write_parquet(staging / "blend_oof.parquet", pd.DataFrame({"id": plan.ids.astype(str), "fold": folds, "label": y, "score": blend_oof}))
        pd.DataFrame({"id": test_ids, "score": test_scores}).to_csv(staging / "test_scores.csv", index=False, float_format="%.8f")
        pd.DataFrame({"id": test_ids, "judgement": decisions}).to_csv(staging / "submission.csv", index=False, header=False)
        write_ranked(staging / "ranked.csv", test_ids, test_scores, decisions, screened.probabilities, records)
        (staging / "calibration.json").write_text(calibration.to_json())
        write_json(staging / "summary.json", summary)
        write_json(staging / "blend.json", blend_state(final, names))  # for `screenstack predict`
    log_summary(summary, out)
    return summary


# In summary.json's warnings, so that the console and the report say it (`predict` says what it means for an update);
# without the folder's path, so that the same inputs in two folders give the same summary.
NO_RECORDS = ("the run folder has no records.parquet (fit-learners was killed before writing it, or the folder predates it), so "
              "records without title or abstract are not flagged anyway and ranked.csv has no titles. A `screenstack run` "
              "folder: `screenstack run --config` on its config.toml writes it, reusing the learners fitted and keeping the "
              "run's options; else the same fit-learners command again (it reuses the learners fitted) writes it.")


def _screening_records(out: Path, test_ids: np.ndarray):
    """The records to screen as `fit-learners` kept them (titles, input columns), or None for an older run folder."""
    records = read_screening_records(out)
    if records is not None and len(test_ids) and "copy_of" not in records:
        # The run's own `run --config` where there is one: a `run` folder's user never typed a fit-learners (helper-176).
        again = sets.run_again(out)
        way = (f"{again} writes it again, reusing the learners fitted, to name them" if again else
               "Run the same fit-learners command again (it reuses the learners already fitted) to name them")
        pywarnings.warn(f"{out}: records.parquet predates 0.3.13, so ranked.csv's copy_of and copy_label are empty: copies of "
                        f"labelled records are not named there. {way}.", stacklevel=2)
    if records is not None and records["id"].astype(str).tolist() != test_ids.tolist():
        raise ScreenstackError(f"{out}/records.parquet: holds other records than the learners scored (another --test?). "
                               f"Rerun `screenstack fit-learners --out {quoted(out)}` with the run's --train/--test (or --data).")
    return records


