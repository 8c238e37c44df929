"""What a stack says: the warnings its summary.json keeps (and the report and `predict` repeat), and the console's
lines on how the threshold came about, read from the summary so that a reused stack says them too."""
from __future__ import annotations

import logging

import numpy as np

from ..features.errors import quoted
from .config import FLAGS, StackConfig
from .decision import (CHANCE_AUC, COMPARE_INCLUDED, RECALL_CHECK_WARNING, honest_scope, log_shift, said_counts,
                       said_threshold)
from .set_apart import (ABSTRACTS_UNLIKE_LABELLED_WARNING, INCLUDED_WITHOUT_ABSTRACTS_WARNING, MIN_SHIFT_RECORDS,
                        TITLES_ONLY_WARNING, said_of_titles)
from .threshold import apply_threshold

log = logging.getLogger("screenstack")
# Warnings: a learner is "clearly" ahead of the blend when its honest F-beta leads by CLEAR_MARGIN, in
# WIN_SHARE of paired resamples, with COMPARE_INCLUDED included training records or more. Over 33 held-out
# halves (bench/calibration.py) such leads carried over to the test half once in one try with 20-140
# included records, where leads of 0.03-0.06 without the resampling test failed 2 of 3 times, and 0 of 3
# times with 10 included records, resampling or not. A blend whose honest AUC is below MIN_AUC barely ranks.
# (COMPARE_INCLUDED is the honest floor's too; `stacking.decision` keeps it, and FLAG_ALL, for the label shift's floor.)
CLEAR_MARGIN, WIN_SHARE, MIN_AUC, MAX_FLAGGED = 0.02, 0.95, 0.6, 0.9
ALONE_OUT = " (OUT this run folder)"  # said after a command's `--out OUT` in summary.json; the console names the folder


def flags_most_why(summary: dict) -> str:
    """Why the threshold flags more than `MAX_FLAGGED` of the records to screen, one reason in this order: "chance"
    (the honest floor, the blend ranking at chance), "honest floor" (no better than flagging every record), "without
    text" (most flagged records have no text), "shift" (the label-shift correction), "beta" (a raised --beta), "recall
    options" (a raised --min-recall or --recall-prior), "labels"; "" where it flags fewer, or flags most of a handful of
    records (as predict says nothing of an update's: helper-160's test file of one record, flagged, was "100%: ... a
    weak ranking" at AUC 0.93). `stack_warnings` and the report's threshold note both say it (helper-173: the note
    blamed the labels where the warning beside it named records without text)."""
    decision = summary["decision"]
    share = flagged_shares(decision)[0]
    with_text = decision.get("flagged_share_with_text")
    if decision.get("flags_everything"):
        return "chance" if decision.get("ranks_at_chance") else "honest floor"
    if share <= MAX_FLAGGED:
        return ""
    if decision.get("flagged_without_text_share", 0) >= 0.5 and (with_text or 0) <= MAX_FLAGGED:
        return "without text"
    if shift_flags_most(decision):
        return "shift"
    if summary["beta"] > StackConfig.beta and not decision.get("recall_floor_lowered"):
        return "beta"
    if raised_recall_options(summary.get("config") or {}):
        return "recall options"
    if "flagged_share" not in decision or summary["screening"]["n_records"] >= MIN_SHIFT_RECORDS:
        return "labels"
    return ""


def stack_warnings(summary: dict, alone: str = "") -> list[str]:
    """What a reviewer must not miss: a threshold that flags nearly everything (`flags_most_why`), a blend a learner
    beats (`alone`: the command that stacks that learner alone with the stack's other options), a blend that cannot rank."""
    warnings, beta, decision, blend = [], summary["beta"], summary["decision"], summary["blend"]
    share, before, of_what = flagged_shares(decision)
    why, flags = flags_most_why(summary), f"the threshold flags {percent(share)} of {of_what}"
    if why == "chance":
        warnings.append(f"the threshold flags 100% of records: {chance_reason(blend)} with {decision['n_train_included']} "
                        "included training records; label more records, or check the text columns")
    elif why == "honest floor":
        warnings.append(f"the threshold flags 100% of records: the blend's honest OOF F{beta:g} "
                        f"({blend['threshold_fbeta_honest']:.3f}) does not beat flagging every record "
                        f"({decision['flag_all_fbeta']:.3f}) with {decision['n_train_included']} included training records; "
                        "label more records, or check the text columns")
    elif why == "without text":  # flagged whatever their score, and without them the share is not high
        with_text = decision["flagged_share_with_text"]
        warnings.append(f"{flags}: {percent(decision['flagged_without_text_share'])} "
                        "of the flagged records have neither title nor abstract, flagged since no model can rank them"
                        + (f" (of those with text it flags {with_text:.0%})" if with_text is not None else "")
                        + "; give their titles and abstracts to have them ranked")
    elif why == "shift":
        shift = decision["shift"]
        warnings.append(f"{flags} because the records to screen look "
                        f"{shift['estimated_share'] / shift['train_share']:.1f} times as rich in included records as the "
                        f"labelled ones (the console's label shift line, decision.shift in summary.json); if they are not, --max-shift 1 flags {before:.0%}")
    elif why == "beta":
        warnings.append(f"{flags}: --beta {beta:g} counts a missed included "
                        f"record {beta ** 2:g} times an extra read, so flagging nearly everything scores best; a smaller "
                        "--beta flags fewer")
    elif why == "recall options":
        # A helper's `stack --min-recall 1` was told to label more records, which would flag as many.
        # Both ways out: the defaults may flag as many (helper-155: --min-recall 0.96 with 2 included records).
        warnings.append(f"{flags}: {raised_recall_options(summary.get('config') or {})} "
                        f"for more recall than {decision['n_train_included']} included training records can vouch for at a "
                        "tighter threshold; a lower value, or more labelled records, may flag fewer")
    elif why == "labels":
        warnings.append(f"{flags}: {decision['n_train_included']} "
                        f"included training records{'' if decision['recall_floor_lowered'] else ' and a weak ranking'} "
                        "cannot support a tighter one; label more records to flag fewer")
    if decision.get("titles_only"):
        warnings.append(said_of_titles(TITLES_ONLY_WARNING, decision["titles_only"]))
    if decision.get("included_without_abstracts"):
        warnings.append(INCLUDED_WITHOUT_ABSTRACTS_WARNING.format(**decision["included_without_abstracts"]))
    if decision.get("abstracts_unlike_labelled"):
        warnings.append(said_of_titles(ABSTRACTS_UNLIKE_LABELLED_WARNING, decision["abstracts_unlike_labelled"]))
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
                        f"{alone or '`--learners ' + best['name'] + '`'}; nothing is refitted")
    if blend["roc_auc"] < MIN_AUC and not decision.get("ranks_at_chance"):
        warnings.append(f"the blend cannot rank these records: honest OOF ROC-AUC {blend['roc_auc']:.3f} (0.5 is chance), so "
                        "its flags rest on the threshold rules, not on the text; check the text columns, or label more records")
    return warnings


def raised_recall_options(config: dict) -> str:
    """`--min-recall` and `--recall-prior` where given above their defaults, with the defaults, and the verb for them
    ("--min-recall 1 (default 0.95) asks"); empty where neither is."""
    raised = [f"{FLAGS[field]} {config[field]:g} (default {getattr(StackConfig, field):g})"
              for field in ("min_recall", "prior_positives")
              if isinstance(config.get(field), (int, float)) and config[field] > getattr(StackConfig, field)]
    return f"{' and '.join(raised)} {'ask' if len(raised) > 1 else 'asks'}" if raised else ""


def percent(share: float) -> str:
    """A share as a percentage that says 100% only of all (425 of 426 is 99.8%, not 100%), and above the warnings'
    `MAX_FLAGGED` only what is above it (219 of 242 is 90.5%, not 90%)."""
    for digits in range(4):
        said = f"{share:.{digits}%}"
        shown = float(said.rstrip("%")) / 100
        if (share == 1 or shown < 1) and (share <= MAX_FLAGGED or shown > MAX_FLAGGED):
            return said
    return "nearly 100%"


def record_flagged_shares(decision: dict, decisions: np.ndarray, test_scores: np.ndarray, without: np.ndarray | None) -> None:
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


def shift_flags_most(decision: dict) -> bool:
    """The label-shift correction, not the labels, made the threshold flag nearly every record."""
    before = flagged_shares(decision)[1]
    return before is not None and before <= MAX_FLAGGED


def chance_reason(blend: dict) -> str:
    """Why the honest floor found the blend ranking at chance (`stacking.stack._evaluate_blend`), in words."""
    if blend["roc_auc"] < CHANCE_AUC or "inputs_roc_auc" not in blend:
        return f"the blend ranks the labelled records no better than chance (honest OOF ROC-AUC {blend['roc_auc']:.3f}, below {CHANCE_AUC})"
    return (f"no learner it blends ranks the labelled records better than chance (the best honest OOF ROC-AUC "
            f"{blend['inputs_roc_auc']:.3f}, below {CHANCE_AUC}; the blend's {blend['roc_auc']:.3f} comes from turning "
            "them upside down, which new records do not follow)")


def say_single(name: str, blend: str) -> None:
    unused = f"; --blend {blend} is for several" if blend != "auto" else ""
    log.info("blend: %s alone, its own scores (a blend of one learner would reorder them fold by fold%s)", name, unused)


def log_decision(summary: dict) -> None:
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
                     decision["n_train_included"], 100 * decision["min_recall"], 100 * before_shift_share(decision),
                     " (if the labelled records are a random sample of the search, --min-recall 0.9 --max-shift 1 flags fewer)"
                     if decision["min_recall"] > 0.9 else "")
    log_shift(decision.get("shift") or {}, decision["oof_flagged_share"], beta)


def before_shift_share(decision: dict) -> float:
    """The share of OOF records the threshold chosen on the labelled records flags: before the label shift lowered
    it, where it did (the shift's line goes on from there)."""
    shift = decision.get("shift") or {}
    return float(shift["oof_flagged_share_before"]) if shift.get("lowered") else float(decision["oof_flagged_share"])


def fit_weight_clause(decision: dict) -> str:
    """", weighed as 30 included records beside the 15 labelled ones," for the fitted tail's lines (from 0.3.27; a
    summary of before, when the fit alone counted, has none)."""
    tail = decision.get("fitted_tail") or {}
    if "fit_weight" not in tail:
        return ""
    return f", weighed as {tail['fit_weight']:g} included records beside the {decision['n_train_included']} labelled ones,"


def log_summary(summary: dict, out=None) -> None:
    """The console's last lines: the honest estimate first, then the records to screen, the blend, the warnings."""
    beta, honest, screening, blend = summary["beta"], summary["honest"], summary["screening"], summary["blend"]
    log_decision(summary)
    scope = honest_scope(summary)
    # With no records to screen the intervals are for as many records like the labelled ones (`_honest`): said so.
    like = "" if screening["n_records"] else " like the labelled ones"
    log.info("honest estimate (each fold's threshold chosen on the other folds; 95%% intervals for %d records%s%s): F%g %.3f "
             "(%.3f-%.3f), recall %.3f (%.2f-%.2f; %d of %d included training records found)", honest["interval_records"], like,
             f"; {scope}" if scope else "", beta, honest["fbeta"], *honest["fbeta_interval"], honest["recall"],
             *honest["recall_interval"], honest["found"], honest["included"])
    if screening["n_records"]:
        log.info("%d of %d records to screen flagged; %s", screening["n_flagged"], screening["n_records"],
                 said_counts(screening))
    else:
        log.info("no records to screen: ranked.csv is its header alone")
    threshold = said_threshold(summary["threshold"])
    log.info("blend %s: AUC %.4f, WSS@95 %.3f; threshold %s; OOF F%g %.4f and recall %.3f at that threshold (%s)",
             blend["method"], blend["roc_auc"], blend["wss95"], threshold, beta, blend["fbeta"], blend["recall"],
             "lowered for the records to screen, see above" if honest.get("threshold_lowered_by")
             else "chosen on the same records: optimistic")
    for warning in summary["warnings"]:
        log.warning(in_run_folder(warning, out))


def in_run_folder(warning: str, out) -> str:
    """`warning` with the command it names run in `out`: summary.json says `--out OUT` (`ALONE_OUT`), the same bytes
    wherever the folder is, but a command on the console is there to be pasted (helper-160)."""
    if out is None or ALONE_OUT not in warning:
        return warning
    return warning.replace(ALONE_OUT, "").replace("--out OUT ", f"--out {quoted(str(out))} ")
