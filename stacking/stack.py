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
from ..features.artifacts.outputs import is_fine_tuned, package_versions, read_learner_outputs
from ..features.artifacts.runfolder import STACK_FILES, DamagedArtifact, DeletedLearners, RunFolder, StaleArtifact, locked
from ..features.artifacts.records import read_screening_records
from ..learners.registry import LEARNERS, min_included
from .blend import BLENDERS, SingleLearner, blend_state, make_blender, nested_oof
from .calibrate import fit_calibration
from .config import StackConfig
from .decision import (COMPARE_INCLUDED, FLAG_ALL, RECALL_CHECK_WARNING, at_shift_clause, honest_scope, log_shift, lowered_by,
                       said_threshold, screen, shift_weight)
from .metrics import fbeta, paired_win_share, predictive_intervals, screening_metrics
from .ranked import refuse_edited, write_ranked
from .set_apart import (ABSTRACTS_UNLIKE_LABELLED_WARNING, INCLUDED_WITHOUT_ABSTRACTS_WARNING, TITLES_ONLY_WARNING,
                        abstracts_unlike_labelled, included_without_abstracts, log_titles_only,
                        say_without_text, shift_records, titles_unlike_labelled, without_text)
from .threshold import FIT_WEIGHT, apply_threshold, choose_threshold, fitted_tail_threshold, fold_decisions, separation

log = logging.getLogger("screenstack")
AUTO_MIN_INCLUDED = 11  # the logistic blend from 11 included training records: at 10 it ties the rank average on the mean
# and lets more halves fall below flagging everything (3 more of 690 on the protocol's three sets of split seeds; 0.3.36)
# Warnings: a learner is "clearly" ahead of the blend when its honest F-beta leads by CLEAR_MARGIN, in
# WIN_SHARE of paired resamples, with COMPARE_INCLUDED included training records or more. Over 33 held-out
# halves (bench/calibration.py) such leads carried over to the test half once in one try with 20-140
# included records, where leads of 0.03-0.06 without the resampling test failed 2 of 3 times, and 0 of 3
# times with 10 included records, resampling or not. A blend whose honest AUC is below MIN_AUC barely ranks.
# (COMPARE_INCLUDED is the honest floor's too; `stacking.decision` keeps it, and FLAG_ALL, for the label shift's floor.)
CLEAR_MARGIN, WIN_SHARE, MIN_AUC, MAX_FLAGGED = 0.02, 0.95, 0.6, 0.9
CHANCE_AUC = 0.55  # a blend whose honest OOF ROC-AUC is below this ranks at chance: the honest floor flags every record


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


def _warnings(summary: dict) -> list[str]:
    """What a reviewer must not miss: a threshold that flags nearly everything, a blend a learner beats, a blend that cannot rank."""
    warnings, beta, decision, blend = [], summary["beta"], summary["decision"], summary["blend"]
    share, before, of_what = flagged_shares(decision)
    if decision["flags_everything"] and decision.get("ranks_at_chance"):
        warnings.append(f"the threshold flags 100% of records: {chance_reason(blend)} with {decision['n_train_included']} "
                        "included training records; label more records, or check the text columns")
    elif decision["flags_everything"]:
        warnings.append(f"the threshold flags 100% of records: the blend's honest OOF F{beta:g} "
                        f"({blend['threshold_fbeta_honest']:.3f}) does not beat flagging every record "
                        f"({decision['flag_all_fbeta']:.3f}) with {decision['n_train_included']} included training records; "
                        "label more records, or check the text columns")
    elif share > MAX_FLAGGED and decision.get("flagged_without_text_share", 0) >= 0.5 and (decision["flagged_share_with_text"] or 0) <= MAX_FLAGGED:
        # Most of the flagged records have no text (flagged whatever their score), and without them the share is not high.
        with_text = decision["flagged_share_with_text"]
        warnings.append(f"the threshold flags {_percent(share)} of {of_what}: {_percent(decision['flagged_without_text_share'])} "
                        "of the flagged records have neither title nor abstract, flagged since no model can rank them"
                        + (f" (of those with text it flags {with_text:.0%})" if with_text is not None else "")
                        + "; give their titles and abstracts to have them ranked")
    elif share > MAX_FLAGGED and _shift_flags_most(decision):
        shift = decision["shift"]
        warnings.append(f"the threshold flags {_percent(share)} of {of_what} because the records to screen look "
                        f"{shift['estimated_share'] / shift['train_share']:.1f} times as rich in included records as the "
                        f"labelled ones (the console's label shift line, decision.shift in summary.json); if they are not, --max-shift 1 flags {before:.0%}")
    elif share > MAX_FLAGGED and beta > StackConfig.beta and not decision["recall_floor_lowered"]:
        warnings.append(f"the threshold flags {_percent(share)} of {of_what}: --beta {beta:g} counts a missed included "
                        f"record {beta ** 2:g} times an extra read, so flagging nearly everything scores best; a smaller "
                        "--beta flags fewer")
    elif share > MAX_FLAGGED:
        warnings.append(f"the threshold flags {_percent(share)} of {of_what}: {decision['n_train_included']} "
                        f"included training records{'' if decision['recall_floor_lowered'] else ' and a weak ranking'} "
                        "cannot support a tighter one; label more records to flag fewer")
    if decision.get("titles_only"):
        warnings.append(TITLES_ONLY_WARNING.format(**decision["titles_only"]))
    if decision.get("included_without_abstracts"):
        warnings.append(INCLUDED_WITHOUT_ABSTRACTS_WARNING.format(**decision["included_without_abstracts"]))
    if decision.get("abstracts_unlike_labelled"):
        warnings.append(ABSTRACTS_UNLIKE_LABELLED_WARNING.format(**decision["abstracts_unlike_labelled"]))
    check = decision.get("recall_check") or {}
    if check.get("below_interval"):
        low, high = summary["honest"]["recall_interval"]
        warnings.append(RECALL_CHECK_WARNING.format(expected=check["expected_recall"], low=low, high=high))
    best = summary["best_learner"]
    blended = [name for name, weight in blend["weights"].items() if weight != 0]
    # A blend of that learner alone differs from it only in its nested fitting: `--learners` would change nothing.
    if (best["fbeta_honest"] - blend["fbeta_honest"] > CLEAR_MARGIN and best["share_ahead"] >= WIN_SHARE
            and decision["n_train_included"] >= COMPARE_INCLUDED and blended != [best["name"]]):
        warnings.append(f"{best['name']} alone beats the blend on honest OOF F{beta:g} ({best['fbeta_honest']:.3f} against "
                        f"{blend['fbeta_honest']:.3f}, ahead in {best['share_ahead']:.0%} of resamples): consider "
                        f"`--learners {best['name']}`")
    if blend["roc_auc"] < MIN_AUC and not decision.get("ranks_at_chance"):
        warnings.append(f"the blend cannot rank these records: honest OOF ROC-AUC {blend['roc_auc']:.3f} (0.5 is chance), so "
                        "its flags rest on the threshold rules, not on the text; check the text columns, or label more records")
    return warnings


def _percent(share: float) -> str:
    """A share as a percentage that says 100% only of all (425 of 426 is 99.8%, not 100%), and above the warnings'
    `MAX_FLAGGED` only what is above it (219 of 242 is 90.5%, not 90%)."""
    for digits in range(4):
        said = f"{share:.{digits}%}"
        shown = float(said.rstrip("%")) / 100
        if (share == 1 or shown < 1) and (share <= MAX_FLAGGED or shown > MAX_FLAGGED):
            return said
    return "nearly 100%"


def _record_flagged_shares(decision: dict, decisions: np.ndarray, test_scores: np.ndarray, without: np.ndarray | None) -> None:
    """Record (in `decision`) the share of the records to screen that is flagged, and that the threshold before the
    shift correction would flag: what the warnings judge. The OOF records' shares stand in where none are to screen."""
    if not len(decisions):
        return
    decision["flagged_share"] = float(decisions.mean())
    if without is not None and without.any():  # flagged whatever their score: the warnings tell them from the threshold's
        decision["flagged_without_text_share"] = float(without.sum() / max(decisions.sum(), 1))  # of the flagged records
        decision["flagged_share_with_text"] = float(decisions[~without].mean()) if not without.all() else None
    shift = decision["shift"]
    if shift["lowered"]:
        before = apply_threshold(test_scores, shift["threshold_before"]).astype(bool)
        shift["flagged_share_before"] = float(np.mean(before if without is None else before | without))


def flagged_shares(decision: dict) -> tuple[float, float | None, str]:
    """The share the threshold flags, the share it flagged before the shift correction (None if it did not lower
    it), and of what: the records to screen, or the OOF records for a run without any (or a summary from before
    0.3.4 kept the shares of the records to screen)."""
    shift = decision.get("shift") or {}
    if "flagged_share" in decision:
        return decision["flagged_share"], shift.get("flagged_share_before") if shift.get("lowered") else None, "the records to screen"
    return decision["oof_flagged_share"], shift.get("oof_flagged_share_before") if shift.get("lowered") else None, "the OOF records"


def _shift_flags_most(decision: dict) -> bool:
    """The label-shift correction, not the labels, made the threshold flag nearly every record."""
    before = flagged_shares(decision)[1]
    return before is not None and before <= MAX_FLAGGED


def _evaluate(y, scores, folds, config: StackConfig) -> tuple[dict, np.ndarray]:
    """Metrics at the threshold chosen on all OOF `scores`, with ``fbeta_honest`` (each fold's threshold
    chosen on the other folds), and those honest decisions (for the honest estimate and the warnings)."""
    threshold = choose_threshold(y, scores, config.beta, config.threshold_rule, random_state=config.seed,
                                 prior_positives=config.prior_positives, min_recall=config.min_recall)
    honest = _honest_decisions(y, scores, folds, config)
    return {"threshold": threshold, **screening_metrics(y, scores, threshold, config.beta),
            "fbeta_honest": fbeta(y, honest, config.beta)}, honest


def chance_reason(blend: dict) -> str:
    """Why the honest floor found the blend ranking at chance (`_evaluate_blend`), in words."""
    if blend["roc_auc"] < CHANCE_AUC or "inputs_roc_auc" not in blend:
        return f"the blend ranks the labelled records no better than chance (honest OOF ROC-AUC {blend['roc_auc']:.3f}, below {CHANCE_AUC})"
    return (f"no learner it blends ranks the labelled records better than chance (the best honest OOF ROC-AUC "
            f"{blend['inputs_roc_auc']:.3f}, below {CHANCE_AUC}; the blend's {blend['roc_auc']:.3f} comes from turning "
            "them upside down, which new records do not follow)")


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


def _say_single(name: str, blend: str) -> None:
    unused = f"; --blend {blend} is for several" if blend != "auto" else ""
    log.info("blend: %s alone, its own scores (a blend of one learner would reorder them fold by fold%s)", name, unused)


def _log_decision(summary: dict) -> None:
    """The console's lines on what set the threshold (honest floor, fitted tail, recall floor, label shift), from the summary,
    so a reused stack says them too."""
    decision, beta = summary["decision"], summary["beta"]
    if decision.get("ranks_at_chance"):
        log.info("honest floor: %s; every record is flagged", chance_reason(summary["blend"]))
    elif decision["flags_everything"]:
        log.info("honest floor: the blend's honest OOF F%g (%.3f) does not beat flagging every record (%.3f); every record "
                 "is flagged", beta, summary["blend"]["threshold_fbeta_honest"], decision["flag_all_fbeta"])
    else:
        tail = decision.get("fitted_tail") or {}
        if tail.get("lowered"):
            log.info("fitted tail: F%g's bootstrap optimum would flag %.1f%% of the OOF records; the binormal ROC fitted to "
                     "them (d' %.2f)%s expects more of the included records to rank low than the labelled ones do, so F%g's "
                     "threshold flags %.1f%%", beta, 100 * tail["bootstrap_flagged_share"], tail["separation"],
                     fit_weight_clause(decision), beta, 100 * tail["flagged_share"])
        if decision["recall_floor_lowered"]:
            # The floor guards a handful of known included records among many excluded ones; where the labelled
            # records are a random sample of the search it flags more than needed (bench/README.md, "protocol": small halves).
            log.info("recall floor: F%g alone would flag %.1f%% of the OOF records; with %d included training records, an "
                     "estimated recall of %.0f%% needs %.1f%%%s", beta, 100 * decision["fbeta_flagged_share"],
                     decision["n_train_included"], 100 * decision["min_recall"], 100 * decision["oof_flagged_share"],
                     " (if the labelled records are a random sample of the search, --min-recall 0.9 --max-shift 1 flags fewer)"
                     if decision["min_recall"] > 0.9 else "")
    log_shift(decision.get("shift") or {}, decision["oof_flagged_share"], beta)


def _decision(y: np.ndarray, blend_oof: np.ndarray, blend: dict, config: StackConfig, shift: dict) -> dict:
    """How the threshold came about, for the summary, the report and the console.

    Says whether the recall floor lowered the F-beta threshold, and by how
    much, since with a handful of included records it decides most of the result,
    whether the fitted tail (`stacking.threshold.fitted_tail_threshold`) set F-beta's
    threshold below the bootstrap optimum, and whether the honest floor
    (`_evaluate_blend`) set it to flag every record. `shift`: `shift_weight`'s, whose weight F-beta's own threshold
    counts included records by, and whose honest floor, where it flags every record, is what lowered the threshold
    (said on the label-shift line), not the recall floor.
    """
    fbeta_only = choose_threshold(y, blend_oof, config.beta, config.threshold_rule, random_state=config.seed,
                                  prior_positives=config.prior_positives, positive_weight=shift["weight"])
    threshold = blend["threshold"]
    floor_at_shift = bool((shift.get("honest_floor") or {}).get("flags_everything"))
    flagged_share = float(np.mean(blend_oof >= threshold))
    info = {
        "fbeta_threshold": fbeta_only, "fbeta_flagged_share": float(np.mean(blend_oof >= fbeta_only)),
        "recall_floor_lowered": bool(not blend["honest_floor"] and not floor_at_shift and threshold < fbeta_only),
        "min_recall": config.min_recall,
        "prior_positives": config.prior_positives, "oof_flagged_share": flagged_share,
        "n_train_included": int(y.sum()), "flags_everything": blend["honest_floor"],
        "ranks_at_chance": bool(blend.get("ranks_at_chance", False)),
        "flag_all_fbeta": fbeta(y, np.ones(len(y), dtype=int), config.beta),
        "fitted_tail": _fitted_tail(y, blend_oof, blend, config),
    }
    return info


def _fitted_tail(y: np.ndarray, blend_oof: np.ndarray, blend: dict, config: StackConfig) -> dict | None:
    """Whether the fitted tail (`stacking.threshold.fitted_tail_threshold`) set F-beta's threshold on the labelled
    records below the bootstrap optimum, with both thresholds and the shares they flag; None under the argmax rule.

    Judged as the labelled records alone would have it (no label-shift weight): the shift's own line and
    ``shift.threshold_before`` start from this threshold, and a reused stack says the same.
    """
    if config.threshold_rule != "bootstrap" or not 0 < y.sum() < len(y):
        return None
    resampled = choose_threshold(y, blend_oof, config.beta, config.threshold_rule, random_state=config.seed,
                                 prior_positives=config.prior_positives, fitted_tail=False)
    chosen = min(resampled, fitted_tail_threshold(y, blend_oof, config.beta, config.prior_positives))  # as choose_threshold
    return {"lowered": bool(not blend["honest_floor"] and chosen < resampled), "separation": separation(y, blend_oof),
            "fit_weight": FIT_WEIGHT,
            "threshold": chosen, "flagged_share": float(np.mean(blend_oof >= chosen)),
            "bootstrap_threshold": resampled, "bootstrap_flagged_share": float(np.mean(blend_oof >= resampled))}


def fit_weight_clause(decision: dict) -> str:
    """", weighed as 30 included records beside the 15 labelled ones," for the fitted tail's lines (from 0.3.27; a
    summary of before, when the fit alone counted, has none)."""
    tail = decision.get("fitted_tail") or {}
    if "fit_weight" not in tail:
        return ""
    return f", weighed as {tail['fit_weight']:g} included records beside the {decision['n_train_included']} labelled ones,"


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
    if made_by != current:
        log.info("%s: the stack outputs there were made by screenstack %s; stacking again with %s", out, made_by, current)
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


def _flags(names: list[str], config: StackConfig) -> str:
    """`config`'s flags as the stack's manifest records them: the learners blended, by name, whether --learners named
    them or left them out (every one in OUT), so `stack` alone repeats what `run` made, and a learner fitted into OUT
    later is not blended by following them."""
    return replace(config, learners=tuple(sorted(names))).flags()


def _other_options(out: Path, names: list[str], config: StackConfig) -> str:
    """Where OUT's stack, damaged, was made with other options than `config`'s, the words that say so and how to make
    that one again (a run's own options are not `stack`'s defaults; else empty)."""
    made_with, given = sets.stack_flags(out), _flags(names, config)
    if not isinstance(made_with, str) or made_with == given:
        return ""
    return (f" with {given}, not the options it was made with ({made_with or 'the defaults'}): "
            f"{sets.stack_command(out)} makes that one again")


@locked(create=False, writes=STACK_FILES)
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
            _say_single(max(reused["blend"]["weights"], key=reused["blend"]["weights"].get), config.blend)
        without = without_text(records)
        if without is not None:
            say_without_text(int(without.sum()), int(reused["decision"].get("flagged_without_text", 0)))
        log_titles_only(reused["decision"].get("titles_only") or {})
        _log_summary(reused)
        return reused
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
        _say_single(blended[0], config.blend)
    inputs_auc = max(learners[name]["roc_auc"] for name in blended)
    for method in ((chosen,) if chosen == SingleLearner.name else BLENDERS):  # one learner: no other blend to compare
        scores = nested_oof(make_blender(method, **(params if method == chosen else {})), Z, y, folds)
        candidates[method] = (*_evaluate_blend(y, scores, folds, config, inputs_auc), scores)
    blend_metrics, blend_decisions, blend_oof = candidates[chosen]
    final = make_blender(chosen, **params).fit(Z, y)
    test_scores = final.predict(Z_test) if len(test_ids) else np.zeros(0)
    calibration = fit_calibration(blend_oof, y)
    titles_only = titles_unlike_labelled(records, plan.keys)
    shift = shift_weight(y, blend_oof, test_scores, calibration, blend_metrics, config, shift_records(records, titles_only),
                         folds)
    decision = {**_decision(y, blend_oof, blend_metrics, config, shift), "shift": shift}
    honest = _honest(y, blend_decisions, len(test_ids), config)
    screened = screen(y, blend_oof, calibration, test_scores, blend_metrics["threshold"], shift, honest["recall_interval"][0],
                      config.seed, records, titles_only)
    threshold, decisions = screened.threshold, screened.decisions
    decision.update(recall_check=screened.recall_check, flagged_without_text=screened.flagged_without_text,
                    titles_only=screened.titles_only, included_without_abstracts=included_without_abstracts(plan.keys, y),
                    abstracts_unlike_labelled=abstracts_unlike_labelled(records, plan.keys))
    honest["threshold_lowered_by"] = lowered_by(decision)
    _record_flagged_shares(decision, decisions, test_scores, without_text(records))

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
        "flags": (flags := _flags(names, config)),  # as the manifest records them: `sets.stack_flags` reads either
        "versions": package_versions(),
    }
    summary["warnings"] = _warnings(summary) + ([NO_RECORDS] if records is None and len(test_ids) else [])
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
    _log_summary(summary)
    return summary


# In summary.json's warnings, so that the console and the report say it (`predict` says what it means for an update);
# without the folder's path, so that the same inputs in two folders give the same summary.
NO_RECORDS = ("the run folder has no records.parquet (fit-learners was killed before writing it, or the folder predates it), so "
              "records without title or abstract are not flagged anyway and ranked.csv has no titles. Run the same "
              "fit-learners command again (it reuses the learners already fitted) to write it.")


def _screening_records(out: Path, test_ids: np.ndarray):
    """The records to screen as `fit-learners` kept them (titles, input columns), or None for an older run folder."""
    records = read_screening_records(out)
    if records is not None and len(test_ids) and "copy_of" not in records:
        pywarnings.warn(f"{out}: records.parquet predates 0.3.13, so ranked.csv's copy_of and copy_label are empty: copies of "
                        "labelled records are not named there. Run the same fit-learners command again (it reuses the "
                        "learners already fitted) to name them.", stacklevel=2)
    if records is not None and records["id"].astype(str).tolist() != test_ids.tolist():
        raise ScreenstackError(f"{out}/records.parquet: holds other records than the learners scored (another --test?). "
                               f"Rerun `screenstack fit-learners --out {quoted(out)}` with the run's --train/--test (or --data).")
    return records


def _log_summary(summary: dict) -> None:
    """The console's last lines: the honest estimate first, then the records to screen, the blend, the warnings."""
    beta, honest, screening, blend = summary["beta"], summary["honest"], summary["screening"], summary["blend"]
    _log_decision(summary)
    scope = honest_scope(summary)
    # With no records to screen the intervals are for as many records like the labelled ones (`_honest`): said so.
    like = "" if screening["n_records"] else " like the labelled ones"
    log.info("honest estimate (each fold's threshold chosen on the other folds; 95%% intervals for %d records%s%s): F%g %.3f "
             "(%.3f-%.3f), recall %.3f (%.2f-%.2f; %d of %d included training records found)", honest["interval_records"], like,
             f"; {scope}" if scope else "", beta, honest["fbeta"], *honest["fbeta_interval"], honest["recall"],
             *honest["recall_interval"], honest["found"], honest["included"])
    if screening["n_records"]:
        log.info("%d of %d records to screen flagged; expected relevant among them %.1f (95%% interval %.1f-%.1f), left below "
                 "the threshold %.1f (%.1f-%.1f)%s", screening["n_flagged"], screening["n_records"], screening["expected_flagged"],
                 *screening["expected_flagged_interval"], screening["expected_below"], *screening["expected_below_interval"],
                 at_shift_clause(screening))
    else:
        log.info("no records to screen: ranked.csv is its header alone")
    threshold = said_threshold(summary["threshold"])
    log.info("blend %s: AUC %.4f, WSS@95 %.3f; threshold %s; OOF F%g %.4f and recall %.3f at that threshold (%s)",
             blend["method"], blend["roc_auc"], blend["wss95"], threshold, beta, blend["fbeta"], blend["recall"],
             "lowered for the records to screen, see above" if honest.get("threshold_lowered_by")
             else "chosen on the same records: optimistic")
    for warning in summary["warnings"]:
        log.warning(warning)
