"""The decision on the records to screen: what `stack` decides for a run's records and `predict` for new ones.

The threshold comes from the labelled records (`stack`'s blend, its recall
floor and honest floor); this module adjusts it for the records to screen
and reads it off them:

- `shift_weight`: the label-shift correction, where the records to screen
  look richer in included records than the labelled ones;
- `screen`: the flags, records without text and copies of included records
  flagged, titles without abstracts said where the labelled records nearly
  all have one (the records set apart from the ranking: `stacking.set_apart`),
  the expected counts (`screening_summary`) and the recall check
  (`recall_check`, a warning), in the one order both commands follow;
- the console's line for the shift (`log_shift`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .calibrate import Calibration, count_scale, estimate_shift, expected_count, scaled
from .config import StackConfig
from .metrics import fbeta, screening_metrics
from .set_apart import (MIN_SHIFT_RECORDS, TitlesOnly, at_labelled_share, flag_included_copies, flag_without_text,
                        known_copies, say_titles_only, title_alone_words, unranked_records, without_text)
from .threshold import apply_threshold, choose_threshold, fold_decisions, separation

log = logging.getLogger("screenstack")
SEPARATED = 1.5  # the blend's OOF d' from which a label shift leaves the recall prior's records at chance unscaled (`shift_weight`)
ROUGH_SEPARATION = 1.0  # the blend's OOF d' below which the counts at the label shift's estimate are said to be rough
COMPARE_INCLUDED = 20  # included training records from which the honest floor judges the blend's honest F-beta (`stack`, `shift_weight`)
CHANCE_AUC = 0.55  # a blend whose honest OOF ROC-AUC is below this ranks at chance: the honest floor flags every record
FLAG_ALL = 0.0  # every blender scores in [0, 1], so this threshold flags every record, new ones too (`screenstack predict`)


@dataclass(frozen=True)
class Screened:
    """`screen`'s decision on the records to screen."""

    threshold: float            # the one applied
    decisions: np.ndarray       # 0/1 per record to screen, records without text flagged
    probabilities: np.ndarray   # calibrated probabilities of inclusion scaled at the threshold (`count_scale`), records
                                # without text at the labelled share
    flagged_without_text: int   # records without text the threshold had left out
    titles_only: dict           # `titles_unlike_labelled`'s records: how many, the two shares, how many the threshold flags
    recall_check: dict          # `recall_check`'s findings ({} where there was no honest recall to check)
    screening: dict             # `screening_summary`: the expected included records, flagged and left below


def screen(labels: np.ndarray, oof_scores: np.ndarray, calibration: Calibration, scores: np.ndarray, threshold: float,
           shift: dict, recall_target: float | None, seed: int, records: pd.DataFrame | None,
           titles_only: TitlesOnly | None = None) -> Screened:
    """Decide on the records to screen (`scores`, `records` as kept by fit-learners or read by predict) at
    `threshold`, already corrected for label shift (`shift`): the flags, the records without text, the titles
    without abstracts unlike the labelled records (`titles_only`, said), the expected counts, and the recall check
    against `recall_target` (the lower end of the honest recall's interval; None: no check; titles alone unlike the
    labelled records left out). `labels`, `oof_scores`: the blend's honest OOF records, which the calibration and the
    counts' intervals rest on."""
    without, share = without_text(records), float(np.mean(labels))
    platt, scale = calibration.apply(scores), count_scale(calibration, oof_scores, labels, threshold)
    counted = scaled(platt, np.asarray(scores, dtype=float) >= threshold, scale)
    probabilities, known = known_copies(at_labelled_share(counted, without, share), records)
    decisions = apply_threshold(scores, threshold)
    added = flag_without_text(decisions, records)
    flag_included_copies(decisions, probabilities, known)
    titles = say_titles_only(decisions, titles_only, shift)
    screening = screening_summary(labels, oof_scores, scores, decisions, probabilities, seed, threshold, shift, known,
                                  without, titles_only)
    screening["count_scale"] = {"below": scale[0], "above": scale[1]}
    checked = unranked_records(records, titles_only)
    # The recall check asks Platt's probabilities, not the counts' scaled ones: the scale is fitted on the labelled
    # records, so labels taken from the top of a ranking teach it that few included records are left below, which is
    # what the check is there to doubt (scaled, it warned on 1 of 5 reruns after labelling the top 100 rows whose
    # recall fell below 0.9; Platt's, on all 5: bench/README.md, "The expected counts scaled on each side").
    unscaled = at_labelled_share(platt, without, share).copy()
    unscaled[known] = probabilities[known]  # copies of labelled records at their label, as `known_copies` put them
    check = ({} if recall_target is None else
             recall_check(decisions, unscaled, recall_target, None if checked is None else ~checked))
    return Screened(threshold, decisions, probabilities, added, titles, check, screening)


def screening_summary(y, blend_oof, test_scores, decisions, probabilities, seed: int, threshold: float,
                      shift: dict | None = None, known: np.ndarray | None = None,
                      without: np.ndarray | None = None, titles_only: TitlesOnly | None = None) -> dict:
    """Expected included records among the records to screen, flagged and left below `threshold`, each with a 95%
    interval (`probabilities` are `count_scale`'s, scaled at it); and, where the label shift estimate puts them above
    the labelled share (`shift_weight`'s weight above 1, whether or not that lowered this threshold: `predict` keeps a
    run's lower one), the same at the share it estimated (`at_estimated_shift`), the interval left below reaching its
    count where that is higher and not rough. `known`: records whose label is known (`known_copies`), counted as it;
    `without`: records with neither title nor abstract, counted at the labelled share (`at_labelled_share`);
    `titles_only`: titles alone unlike the labelled records (`titles_unlike_labelled`), not counted (``not_counted``).

    The calibration was fitted on titles with abstracts: a title alone scores lower, and counted at its probability
    it read as almost surely excluded (helper-169: every abstract of an update blanked, "left below the threshold 0.2
    (0.0-2.0)" where 12 relevant records were), so such records are counted apart, as records no count holds for."""
    flagged = decisions.astype(bool)
    known = np.zeros(len(decisions), dtype=bool) if known is None else np.asarray(known, dtype=bool)
    apart = np.zeros(len(decisions), dtype=bool) if titles_only is None else np.asarray(titles_only.found, dtype=bool)
    summary = {"n_records": int(len(decisions)), "n_flagged": int(flagged.sum()),
               "expected_included": float(probabilities[~apart].sum())}
    if apart.any():
        summary["not_counted"] = {"records": int(apart.sum()), "flagged": int((apart & flagged).sum()),
                                  "text_columns": list(titles_only.text_columns)}
    for name, part in (("expected_flagged", flagged & ~apart), ("expected_below", ~flagged & ~apart)):
        # The count with the probabilities as they are, spread as `expected_count`'s bootstrap of the calibration and
        # chance variation spreads the part's other records (known ones do not vary): with a handful of included
        # labelled records the calibration's share alone can be half the truth or twice it.
        count, certain = float(probabilities[part].sum()), float(probabilities[part & known].sum())
        center, low, high = expected_count(blend_oof, y, test_scores, part & ~known, threshold, without, random_state=seed)
        summary[name] = count
        # (a low end of 5.55e-17, float residue of a count of 0, is 0)
        summary[f"{name}_interval"] = (max(certain, round(count - (center - low), 9)), min(float(part.sum()), count + (high - center)))
    if shift and float(shift.get("weight", 1.0)) > 1.0:
        summary["at_estimated_shift"] = at_estimated_shift(probabilities[~apart], flagged[~apart], shift)
        # The share the calibrated counts assume (`at_labelled_share`), said beside them: not EM's starting share, the
        # calibrated OOF mean (a helper's 5 of 420 labelled, 1.2%, said as 1.3%).
        summary["at_estimated_shift"]["labelled_share"] = float(np.mean(y))
        # Said as rough where the blend barely separates the labelled records (OOF d' below `ROUGH_SEPARATION`): its
        # calibration is flat, and EM on it can put the share far off (a helper's 84.7% where 12.6% were included,
        # at d' 0.5), or near the truth (a test's 57.6% for 50%, at d' 0.95).
        shifted = summary["at_estimated_shift"]
        shifted["rough"] = bool(separation(y, blend_oof) < ROUGH_SEPARATION)
        # "Left below" at the labelled share falls short where the labelled records are poorer in included ones than
        # those to screen, and the estimate's count is then the nearer (the protocol's 164 few-included halves with
        # one, not rough: 69.9 at the labelled share, 480.9 at the estimate, 416 real): the interval reaches it, which
        # lifts its hold there from 111 to 135 and leaves the natural halves' as it was (bench/README.md, "Left
        # below, reaching the label shift's estimate"). Not where rough: EM's share is then no evidence.
        low, high = summary["expected_below_interval"]
        shifted["below_interval_reaches"] = bool(not shifted["rough"] and shifted["expected_below"] > high)
        if shifted["below_interval_reaches"]:
            summary["expected_below_interval"] = (low, min(float((~flagged & ~apart).sum()), shifted["expected_below"]))
    return summary


def at_estimated_shift(probabilities: np.ndarray, flagged: np.ndarray, shift: dict) -> dict:
    """The expected counts if the records to screen hold the estimated share of included records, not the labelled
    one: each probability moved to that prior (Saerens, Latinne and Decaestecker 2002, the adjustment EM's estimate
    rests on). The calibrated counts assume the labelled share, so where the estimate lowered the threshold they
    say too few are left below; these say what the estimate implies. No interval: the estimate's own error, large
    with a handful of included records (bench/README.md, "The shift estimate against the truth"), dominates it."""
    train, estimate = float(shift["train_share"]), float(shift["estimated_share"])
    odds = (estimate / train) / ((1 - estimate) / (1 - train))
    p = np.asarray(probabilities, dtype=float)
    moved = odds * p / (odds * p + (1 - p))
    return {"estimated_share": estimate, "expected_included": float(moved.sum()),
            "expected_flagged": float(moved[flagged].sum()), "expected_below": float(moved[~flagged].sum())}


def not_counted_clause(screening: dict) -> str:
    """The console's and the report's words for the records `screening_summary` did not count (empty where none)."""
    apart = screening.get("not_counted")
    if not apart:
        return ""
    return (f"; not counting the {apart['records']} with {title_alone_words(apart.get('text_columns'))['alone']} unlike "
            f"the labelled records ({apart['flagged']} of them flagged), for which no count holds")


def none_counted(screening: dict) -> str:
    """Where `screening_summary` counted none of the records to screen, the words said in the counts' place (else
    ""): their "0.0 (0.0-0.0)" were of no records at all (helper-171: 22 relevant among the flagged, said as 0.0)."""
    apart = screening.get("not_counted") or {}
    if not apart or apart["records"] < screening["n_records"]:
        return ""
    return (f"no count of the relevant among them or below the threshold holds: every one has "
            f"{title_alone_words(apart.get('text_columns'))['alone']} unlike the labelled records")


def said_counts(screening: dict) -> str:
    """The console's words for `screening_summary`'s counts, `stack`'s line and `predict`'s alike: the relevant records
    expected among the flagged and below the threshold, with their intervals and what they assume or leave out, or
    `none_counted`'s words where no record was counted."""
    return none_counted(screening) or (
        "expected relevant among them {:.1f} (95% interval {:.1f}-{:.1f}), left below the threshold {:.1f} "
        "({:.1f}-{:.1f})".format(screening["expected_flagged"], *screening["expected_flagged_interval"],
                                 screening["expected_below"], *screening["expected_below_interval"])
        + at_shift_clause(screening) + not_counted_clause(screening))


def said_threshold(threshold: float) -> str:
    """A threshold as the console says it: blended scores lie in [0, 1], so one below 0 is the one below every score
    (`predict` said -1e-06 until 0.3.41)."""
    return f"{threshold:.4g}" if threshold >= 0 else "below every score"


def shift_share(shifted: dict) -> str:
    """`at_estimated_shift`'s share in words, said to be rough where it is (the console's and the report's)."""
    rough = "; rough, as the blend barely separates the labelled records" if shifted.get("rough") else ""
    return f"{shifted['estimated_share']:.1%} included{rough}"


def at_shift_clause(screening: dict) -> str:
    """The console's words for `at_estimated_shift`, after the calibrated counts (empty where there is none)."""
    shifted = screening.get("at_estimated_shift")
    if not shifted:
        return ""
    # The intervals before it are of counts at the labelled share: said, or they read as holding at the shift too (a
    # helper's update: 4.9 (0.8-9.1) expected, 7.5 at the estimate, 10 found).
    labelled = f" ({shifted['labelled_share']:.1%} included)" if "labelled_share" in shifted else ""  # summaries before 0.3.37
    reaches = ", which the interval left below reaches" if shifted.get("below_interval_reaches") else ""
    return (f"; those assume the labelled records' share{labelled}; at the label shift's estimate ({shift_share(shifted)}) about "
            f"{shifted['expected_flagged']:.1f} among them and {shifted['expected_below']:.1f} below{reaches}")


def shift_weight(y, blend_oof, test_scores, calibration, blend: dict, config: StackConfig, has_text=None,
                 folds: np.ndarray | None = None) -> dict:
    """Lower `blend`'s threshold (in place) where the records to screen look richer in included records than the
    labelled ones; return the estimate and the weight used.

    The threshold is chosen again with every included record counting `weight`
    times, the estimated ratio of the two shares (`calibrate.estimate_shift`,
    at least 1, at most ``config.max_shift``), and the recall floor assuming
    `weight` times the prior's included records at chance; the lower of the
    two thresholds is kept, so the correction only ever flags more. Given
    the OOF records' `folds`, from `COMPARE_INCLUDED` included records the
    honest floor is judged again at that weight (`honest_floor_at_shift`),
    and where the blend does not beat flagging every record there, every
    record is flagged (``honest_floor`` in the result). The
    labelled records' F-beta optimum flags too little for records to screen
    that hold more included ones (a review's first labelled records, the
    protocol's few-included halves: 2-21 times the training share). Replayed
    on 269 of the protocol's halves (bench/README.md, "protocol"), the
    correction with a milder recall prior (0.5 instead of 1; without the
    correction that prior let 38 halves fall more than 0.05 below flagging
    everything) took those halves from 18 to 9 and gained F7 +0.0076 +- 0.0033
    over the previous default (medium +0.024, small +0.013, full +0.004). Not
    where the honest floor flags every record already.

    Records to screen without text (`has_text` False; flagged anyway, their
    score is the empty text's, no learner's judgement) are left out of the
    estimate, as are copies of labelled records (`shift_records`), and fewer
    than `MIN_SHIFT_RECORDS` records to screen change nothing: EM runs one record, or a few, to a share of 0 or 1. (A guard on
    the estimate's log-likelihood gain, a chi-square test, was tried and
    dropped: the blend's compressed calibration gave real shifts of 3-6 times
    too little evidence, and over the protocol's 269 halves it left 15 halves
    more than 0.05 below flagging everything instead of 9.)

    The recall prior's records at chance count `weight` times too, as the
    included ones do, unless the blend separates the labelled records (OOF
    d' at least `SEPARATED`): then the included records to screen are not
    likely to hide at chance, and a prior multiplied by up to 20 made the
    recall floor flag most records. Over the protocol's 300 halves (0.3.28;
    bench/README.md, "The three halves left below flag-all") that gained F7
    +0.0093 +- 0.0019 (62 wins, 8 losses; few-included +0.012) with the same
    three halves below flag-all; unscaled everywhere it gained +0.013 but put
    two more `cohen_atypical_antipsychotics` halves (d' below 1.5) below it.
    """
    ranked = test_scores if has_text is None else test_scores[np.asarray(has_text, dtype=bool)]
    train, estimate = estimate_shift(calibration, blend_oof, ranked)
    # A blend that ranks the labelled records at chance has a flat calibration, on which EM's share is noise (a
    # labelled 1.6% run to 47%): no weight, and no counts "at the label shift's estimate", rest on it.
    at_chance = bool(blend.get("ranks_at_chance"))
    weight = (float(np.clip(estimate / train, 1.0, config.max_shift))
              if train > 0 and len(ranked) >= MIN_SHIFT_RECORDS and not at_chance else 1.0)
    info = {"train_share": train, "labelled_share": float(np.mean(y)), "estimated_share": estimate, "records": int(len(ranked)),
            "weight": weight, "lowered": False, "threshold_before": float(blend["threshold"])}  # `predict` starts from it and corrects for its own records
    if at_chance:
        info["ranks_at_chance"] = True
    if weight <= 1.0 or blend["honest_floor"]:
        return info
    # `choose_threshold` counts the prior's records at chance `weight` times, as it counts the included ones; a blend that
    # separates the labelled records keeps them as they are (0.3.28).
    info["separation"] = separation(y, blend_oof)
    info["prior_scaled"] = bool(info["separation"] < SEPARATED)
    prior = config.prior_positives if info["prior_scaled"] else config.prior_positives / weight
    threshold = min(blend["threshold"], choose_threshold(y, blend_oof, config.beta, config.threshold_rule, random_state=config.seed,
                                                         prior_positives=prior, min_recall=config.min_recall,
                                                         positive_weight=weight))
    if folds is not None and y.sum() >= COMPARE_INCLUDED:
        info["honest_floor"] = honest_floor_at_shift(y, blend_oof, folds, config, prior, weight)
        if info["honest_floor"]["flags_everything"]:
            threshold = FLAG_ALL
    if threshold < blend["threshold"]:
        info.update(lowered=True, oof_flagged_share_before=float(np.mean(blend_oof >= blend["threshold"])))
        blend.update(threshold=threshold, **screening_metrics(y, blend_oof, threshold, config.beta))
    return info


def honest_floor_at_shift(y, blend_oof, folds, config: StackConfig, prior: float, weight: float) -> dict:
    """The honest floor (`stack._evaluate_blend`) judged as the records to screen would have it under `shift_weight`'s
    `weight`: whether the blend's honest OOF F-beta, each fold's threshold chosen on the other folds and lowered for
    the shift as `shift_weight` lowers the run's (recall prior `prior`), beats flagging every record, with every
    included record counted `weight` times in both; ``flags_everything`` where it does not.

    The honest floor compares the blend with flagging everything at the
    labelled records' share of included records, while the shift correction
    chooses the threshold for a share `weight` times that: under F-beta with
    beta = 7 a richer file favours flagging everything, so a blend that beats
    it at the labelled share may not at the estimated one. Over the
    protocol's 300 halves (bench/README.md, "The honest floor under the label
    shift") it changed 7 halves: one `cohen_atypical_antipsychotics` few20
    half went from 0.11 below flagging everything to level with it, 6 lost up
    to 0.09 to it, F7 -0.0002 +- 0.0005, and the halves more than 0.05 below
    flagging everything went from 3 to 2. From 20 included records only, as
    the honest floor: with fewer its honest F-beta is too noisy (from 10 on,
    -0.0020 +- 0.0010, the same 2 below).
    """
    options = dict(random_state=config.seed, min_recall=config.min_recall)

    def corrected(labels, scores):  # as `stack` and `shift_weight`: the plain threshold, lowered for the shift
        return min(choose_threshold(labels, scores, config.beta, config.threshold_rule,
                                    prior_positives=config.prior_positives, **options),
                   choose_threshold(labels, scores, config.beta, config.threshold_rule, prior_positives=prior,
                                    positive_weight=weight, **options))

    decisions = fold_decisions(y, blend_oof, folds, corrected)
    honest = float(fbeta(y, decisions, config.beta, weight))
    everything = float(fbeta(y, np.ones(len(y), dtype=int), config.beta, weight))
    return {"fbeta_honest": honest, "flag_all_fbeta": everything, "flags_everything": bool(honest <= everything)}


def recall_check(flagged, probabilities, target: float, has_text=None) -> dict:
    """Whether the calibrated `probabilities` of the records to screen put fewer of their included records among the
    `flagged` ones than the honest recall's 95% interval allows (`target`, its lower end): ``below_interval``, said as
    a warning (`RECALL_CHECK_WARNING`; `UPDATE_RECALL_CHECK_WARNING` in `predict`). Records without text (flagged
    anyway) are left out, and fewer than `MIN_SHIFT_RECORDS` records to screen are not checked (``checked`` False).
    Found is what was flagged, not what scored above the threshold: a copy of an included labelled record is flagged
    whatever its score (helper-181: 15 copies scored low among 300 records read as certain misses, a recall of 0.637
    and a warning for a run that flagged them all).

    The honest recall is measured on the labelled records: it holds for the
    records to screen only where these are like them. Labels taken from the top
    of an earlier `ranked.csv` are not: they are the included records that
    ranking found easily, so those left are the ones it ranked low. From 0.3.7
    to 0.3.19 the threshold was lowered until the expected recall reached
    `target`; with the fitted tail that cost F7 on the reruns it was for
    (-0.006 +- 0.004 with the top 30 rows labelled, -0.016 +- 0.010 with the
    top 100, the worst half of the reruns lower too) for recall 0.985 -> 0.988
    and 0.942 -> 0.978, so 0.3.20 only says so (bench/README.md, "The recall
    check as a warning (session 28, 0.3.20)").
    """
    flagged, p = np.asarray(flagged, dtype=bool), np.asarray(probabilities, dtype=float)
    if has_text is not None:
        flagged, p = flagged[np.asarray(has_text, dtype=bool)], p[np.asarray(has_text, dtype=bool)]
    total = float(p.sum())
    checked = len(flagged) >= MIN_SHIFT_RECORDS and total > 0
    info = {"target": float(target), "records": int(len(flagged)), "checked": checked, "below_interval": False}
    if not checked:
        return info
    info["expected_recall"] = float(p[flagged].sum()) / total
    # Below as the warning shows both, to 3 decimals: helper-172's `--min-recall 1` was told of "a recall of 1.000,
    # below the honest recall's 95% interval (1.000-1.000)", from 0.99993.
    info["below_interval"] = round(info["expected_recall"], 3) < round(float(target), 3)
    return info


RECALL_CHECK_WARNING = ("the labelled records look unlike the records to screen: at the threshold, the calibrated "
                        "probabilities of the records to screen (Platt's, calibration.json, before ranked.csv's scaling) "
                        "expect a recall of {expected:.3f}, below the honest "
                        "recall's 95% interval ({low:.3f}-{high:.3f}), which may then overstate the recall there. Labels "
                        "taken from the top of a ranked list do this (a random sample does at times too, by chance: README, "
                        "\"Reading the results\"): label a random sample of the records left too "
                        "(README, \"A reviewer's path\"), and read on down ranked.csv past the flagged records (its "
                        "expected_included column)")
# `predict`'s: nothing of an update is labelled; another search or topic is the likelier cause.
UPDATE_RECALL_CHECK_WARNING = ("these records look unlike the run's labelled records: at the run's threshold, their "
                               "calibrated probabilities (Platt's, the run's calibration.json, before ranked.csv's scaling) "
                               "expect a recall of {expected:.3f}, below the run's honest recall's "
                               "95% interval ({low:.3f}-{high:.3f}), which may then overstate the recall here. Records of "
                               "another search or topic do this: check that they are the same review's search; labelling "
                               "a random sample of them and running again makes the estimates hold, and ranked.csv's "
                               "expected_included column says how many are expected further down")


def shift_against(shift: dict) -> str:
    """The shift estimate's share against the labelled one it is measured from, the calibration's (the console's "label
    shift" line and the report's threshold note)."""
    # The share labelled beside it where they differ as said: the expected counts' line names that one (helper-164:
    # "3.6% as calibrated" and "the labelled records' share (3.5% included)" in one console read as two figures for one).
    labelled = shift.get("labelled_share")  # summaries before 0.3.51 lack it
    also = f", {labelled:.1%} as labelled" if labelled is not None and f"{labelled:.1%}" != f"{shift['train_share']:.1%}" else ""
    return f"{shift['estimated_share']:.1%} against the labelled records' {shift['train_share']:.1%} as calibrated{also}"


SHIFT_UNDO = ("if the labelled records are a random sample of the search, the shift is chance: --max-shift 1 makes no "
              "correction")  # helper-170: estimates of 15 and 17 times on random samples, read as findings


def log_shift(shift: dict, oof_flagged_share: float, beta: float, undo: str = SHIFT_UNDO) -> None:
    """The "label shift" line for `shift_weight`'s estimate, if it lowered the threshold (to flag `oof_flagged_share`);
    `undo`: how to do without the correction."""
    if shift.get("lowered"):
        log.info("label shift: the records to screen look %.1f times as rich in included records as the labelled ones "
                 "(estimated %s); counting each included record %.1f times%s, the threshold flags %.1f%% of the OOF records "
                 "instead of %.1f%%%s (%s)", shift["estimated_share"] / shift["train_share"], shift_against(shift),
                 shift["weight"], prior_clause(shift), 100 * oof_flagged_share, 100 * shift["oof_flagged_share_before"],
                 floor_clause(shift, beta), undo)


def prior_clause(shift: dict) -> str:
    """Where the blend separated the labelled records well enough that the shift left the recall prior unscaled (0.3.28),
    the words that say so (else empty)."""
    if shift.get("prior_scaled", True):
        return ""
    return f" (the recall prior's records at chance once: the blend's d' {shift['separation']:.2f} is at least {SEPARATED:g})"


def floor_clause(shift: dict, beta: float) -> str:
    """Where the honest floor at the shift's weight (`honest_floor_at_shift`) flags every record (0.3.29), the words that
    say so (else empty)."""
    floor = shift.get("honest_floor") or {}
    if not floor.get("flags_everything"):
        return ""
    return (f": the honest floor, since at that weight the blend's honest OOF F{beta:g} ({floor['fbeta_honest']:.3f}) does "
            f"not beat flagging every record ({floor['flag_all_fbeta']:.3f})")


def lowered_by(decision: dict) -> list[str]:
    """What lowered the threshold after it was chosen on the labelled records, for the records to screen alone: the
    honest estimate, made on the labelled records, is of the threshold before."""
    return ["label shift"] if (decision.get("shift") or {}).get("lowered") else []


def honest_scope(summary: dict) -> str:
    """What the stack's honest figures are of, where that is not the blend's threshold as applied (else ""): flagging
    every record, where the honest floor chose it, or the threshold before a lowering."""
    if (summary.get("decision") or {}).get("flags_everything"):
        return "of flagging every record, the decision applied"
    lowered = summary["honest"].get("threshold_lowered_by") or []
    return (f"of the threshold chosen on the labelled records; the {' and the '.join(lowered)} lowered the one applied to "
            "the records to screen, which flags more of them than this counts" if lowered else "")

