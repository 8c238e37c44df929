"""`predict`: score new records (next month's search update) with a finished run's models.

Nothing is fitted again. For each learner the run's blend uses, its K fold models
(`learners.persist`) score the new records and their scores are averaged, in
fold order, exactly as `fit-learners` made the run's test scores; the saved
blender (``OUT/blend.json``), the calibration and the run's threshold then give
each record its score, probability and decision. Where the new records look
richer in included records than the run's records to screen did, the
threshold is lowered further, as `stack` lowers it for its own
(`stacking.decision.shift_weight` from the threshold before that correction; no
estimate from fewer than 50 records with title or abstract); it never flags
less than the run's threshold, since with a handful of included training
records the estimate is noisy (on README's reviewer's path, two samples of
one search with 1.6% and 2.0% included records were put at 2.7% and near 0%).
So the run's own test file gets back exactly the run's
``test_scores.csv`` and ``submission.csv``. The
records go through the fold models in chunks of 50,000, as in `fit-learners`,
so a large update holds one chunk's texts or vectors at a time.

A learner the blend gives weight 0 (the boosted trees the few-included rank
average leaves out) is neither loaded nor run: its column is a constant the
blender multiplies by 0 (`UNUSED_SCORE`), so the scores are those of scoring it,
and a run whose unused learner could not be scored (a fine-tuned encoder) predicts.

New records are read as the run read its records: the same text columns, and
vectors from the same encoder, layers, pooling, maximum length and precision
(`screenstack predict` extracts them with those settings into ``DIR/features``).
A setting given on the command line that differs from the run's is refused.
A record whose id is one of the run's training records is left out by
`stacking.new_records.load_new_records`, counted in the summary and said on the
console: its label is known, and the fold models that saw it would score it
in-sample. A search update that re-runs the last search holds all of them; a
file of nothing else is refused. One with the id but another title (an export
that numbers its records anew) is scored as new, with a warning.

A fine-tuned encoder learner cannot be applied: fine-tuning deletes each
fold's weights once the fold is scored, so a run whose blend uses one is refused
(as is a vector learner reading the fine-tuner's cross-fitted vectors).

Writes, as one committed set in DIR: ``ranked.csv`` (as `stack` writes it),
``scores.csv`` (``id,score``), ``submission.csv`` (``id,0|1``, no header),
``left_out.csv`` (the records left out as the run's training records: ``id``, ``run_id``, ``label``, ``title``),
``report.html`` (`page.prediction_page`: the warnings, the counts and "Screen these first") and
``summary.json`` (which run and stack, its threshold, the learners the blend
uses, and the figures of `stack`'s ``screening`` block under its names: counts,
expected included records in all, flagged and left below the threshold with the
95% interval `stack` gives, from the run's ``blend_oof.parquet``). Ids are read
from the run's id column (`new_records.run_id_column`). Predicting the
same file again into DIR replaces its predictions, saying so when the run was
stacked again in between (another blender or threshold).
"""
from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..features.artifacts.atomic import write_json
from ..features.artifacts.outputs import package_versions
from ..features.artifacts.records import screening_records
from ..features.artifacts.runfolder import PREDICTIONS_SET, RunFolder, locked
from ..features.artifacts.store import VectorFiles
from ..features.errors import quoted
from ..features.records.corpus import Corpus
from ..learners.oof import SCORE_CHUNK_ROWS, chunked_fold_mean_scores, on_one_blas_thread, text_chunks
from .config import StackConfig, stack_flags
from .decision import UPDATE_RECALL_CHECK_WARNING, log_shift, lowered_by, said_counts, said_threshold, screen
from .fitted_run import FittedRun
from .new_records import LEFT_OUT_COLUMNS, column_roles
from .page import TOP, prediction_page
from .predict_checks import PREDICT_FILES, check_encoder, check_out, sha256_or_none
from .ranked import neutralise, write_ranked
from .set_apart import (ABSTRACTS_UNLIKE_LABELLED_WARNING, MIN_SHIFT_RECORDS, TITLES_ONLY_WARNING, abstracts_unlike_labelled,
                        said_of_titles, shift_records, titles_unlike_labelled, without_text)
from .stack_said import MAX_FLAGGED, percent

log = logging.getLogger("screenstack")
# The column given the blender for a learner of weight 0. Every blender multiplies a finite function of each column by
# its weight (the ECDF's rank for rank-average and caruana, the logit for logistic; 0.5's logit is exactly 0), so a
# finite constant adds exactly +0.0 to every score, as the learner's own scores would (NaN would not: NaN * 0 is NaN).
UNUSED_SCORE = 0.5


def _lacking_text(run: FittedRun, corpus: Corpus) -> str:
    """Why `corpus`'s records cannot be scored as the run's were, in words (empty: they can): a text column the run
    read is missing from the file, or every record's abstract is empty."""
    if not run.text_columns or not len(corpus.test):
        return ""
    if 0 < len(corpus.text_columns) < len(run.text_columns):
        have = column_roles(corpus.text_columns)
        missing = [c for c, role in zip(run.text_columns, column_roles(run.text_columns)) if role not in have]
        return f"its records lack the run's column(s) {', '.join(missing or run.text_columns[-1:])}"
    if len(run.text_columns) > 1 and not corpus.test["abstract"].astype(str).str.strip().any():
        return f"its {', '.join(corpus.text_columns[1:])} column{'s are' if len(corpus.text_columns) > 2 else ' is'} empty in every record"
    return ""


def unshifted_command(run: FittedRun) -> str:
    """The `stack` command that makes the run's stack again as it was made (its learners, --beta, --recall-prior, ...)
    but with ``--max-shift 1``: the labelled records' own threshold, for the run's records to screen and its updates
    (helper-178: a bare `stack --out RUN --max-shift 1` stacked every learner with the defaults instead)."""
    return f"`screenstack stack --out {quoted(run.out)} {stack_flags(run.learners, replace(run.config, max_shift=1.0))}`"


def _keeps_threshold(run: FittedRun, flags_share: str = "") -> str:
    """What `unshifted_command` keeps: the labelled records' threshold, by its value where this version made the stack
    (`flags_share`: what it would flag of these records), else a stack made anew with this version's blend, whose
    threshold is not known here (helper-176: 0.3.16's 0.2125 promised, 0.8125 given)."""
    if run.made_by:
        return (f"{unshifted_command(run)} makes the stack again with this version's blend, with the threshold its "
                "labelled records alone give")
    return f"{unshifted_command(run)} keeps the labelled records' {said_threshold(run.threshold_before)}{flags_share}"


def _threshold_origin(run: FittedRun, threshold: float, summary: dict) -> str:
    """Where the threshold applied comes from, for the console line: the run's, or lower for these records, by what."""
    if threshold == run.threshold and run.threshold < run.threshold_before:  # the run's records to screen looked richer
        return (f" of {run.out}, lowered there for its own records to screen by the label shift, which no update flags "
                f"fewer than ({_keeps_threshold(run)} for it and its updates)")
    if threshold == run.threshold:
        return f" of {run.out}"
    by = " and the ".join(lowered_by(summary)) or "label shift"
    return f": {run.out}'s {said_threshold(run.threshold)}, lowered for these records by the {by} (its line above)"


def _flags_most_warning(run: FittedRun, scores: np.ndarray, decisions: np.ndarray, threshold: float, shift: dict,
                        without: np.ndarray | None) -> str | None:
    """Where the threshold flags more than `MAX_FLAGGED` of the records, the warning that says why, in `stack`'s order
    for its records to screen: the run's honest floor, records without text, the update's label shift, the run's own
    label shift, the run's --beta, or labels too few for these records; None below that, and for fewer than
    `MIN_SHIFT_RECORDS` records with text where none of the reasons before the last holds (a handful of records
    flagged says nothing of the labels: 3 of 3 is chance at the run's share)."""
    share = float(decisions.mean()) if len(decisions) else 0.0
    if share <= MAX_FLAGGED:
        return None
    said = f"the threshold flags {percent(share)} of these records"
    with_text = np.ones(len(scores), dtype=bool) if without is None else ~without

    def flags(at: float) -> float:  # the share a threshold would flag, records without text flagged whatever it is
        return float(np.mean((scores >= at) | ~with_text))

    if run.flags_everything:
        return (f"{said}: the run's blend does not beat flagging every record on its labelled records (its honest floor, "
                "said in its summary.json and report); label more records, add them to the run's labelled file and "
                "`screenstack run` again (a new --out) to flag fewer")
    flagged_with_text = decisions[with_text].mean() if with_text.any() else 0.0
    # "of those with text it flags 0%" where none has text read as if some had (a helper's update of blank records)
    with_text_clause = f" (of those with text it flags {percent(flagged_with_text)})" if with_text.any() else " (none has text)"
    if not with_text[decisions == 1].all() and flagged_with_text <= MAX_FLAGGED:
        return (f"{said}: {np.mean(~with_text[decisions == 1]):.0%} of the flagged records have neither title nor abstract, "
                f"flagged since no model can rank them{with_text_clause}; give their titles and abstracts to have them "
                "ranked")
    if threshold < run.threshold and flags(run.threshold) <= MAX_FLAGGED:
        return (f"{said} because they look {shift['estimated_share'] / shift['train_share']:.1f} times as rich in included "
                f"records as the run's labelled ones (the label shift line, shift in summary.json); if they are not, "
                f"--max-shift 1 flags {percent(flags(run.threshold))}")
    if run.threshold < run.threshold_before and flags(run.threshold_before) <= MAX_FLAGGED:
        keeps = _keeps_threshold(run, f", which flags {percent(flags(run.threshold_before))} of these")
        return f"{said} because the run's threshold was lowered for its own records to screen by the label shift; {keeps}"
    if run.config.beta > StackConfig.beta:
        return (f"{said}: the run's --beta {run.config.beta:g} counts a missed included record {run.config.beta ** 2:g} "
                "times an extra read, so flagging nearly everything scores best; a smaller --beta flags fewer")
    if with_text.sum() < MIN_SHIFT_RECORDS:
        return None
    return (f"{said}: the run's labelled records cannot support a tighter threshold for them; label some of these "
            "records, add them to the run's labelled file and `screenstack run` again (a new --out) to flag fewer")


def _say_if_restacked(run: FittedRun, before: dict | None) -> None:
    """One info line when the predictions replaced came from an earlier stack of the run (another blender or threshold):
    the same file then gets other scores or decisions, which would otherwise go unnoticed."""
    if before is not None and before.get("run_stack_version", run.stack_version) != run.stack_version:
        earlier = before.get("run_threshold", before.get("threshold"))
        log.info("replacing predictions made with an earlier stack of %s (its threshold %s -> %s)", run.out,
                 said_threshold(earlier) if isinstance(earlier, (int, float)) else earlier, said_threshold(run.threshold))


@locked(predictions=True, writes=PREDICT_FILES)
@on_one_blas_thread
def predict(run: FittedRun, corpus: Corpus, out: str | Path, vectors: dict[str, str | Path] | None = None, data: str = "",
            left_out: pd.DataFrame | None = None) -> dict:
    """Score `corpus`'s records with `run`'s models; write DIR's set; return the summary.

    `vectors`: run feature file (relative to the run's OUT) -> the new records'
    feature file, made with the same settings (needed when a vector learner is blended).
    `left_out`: the records of `data` `load_new_records` left out as the run's training records (``id``,
    ``run_id``, ``label``, ``title``), listed in ``left_out.csv`` so a reviewer can check them.

    Examples
    --------
    >>> run = read_run("artifacts/run1")  # doctest: +SKIP
    >>> corpus, left_out = load_new_records(run, "data/update.csv")  # doctest: +SKIP
    >>> predict(run, corpus, "artifacts/update1", data="data/update.csv", left_out=left_out)  # doctest: +SKIP
    """
    out = Path(out)
    _say_if_restacked(run, check_out(run, out, data or None))
    left_out = pd.DataFrame(columns=LEFT_OUT_COLUMNS, dtype=str) if left_out is None else left_out
    records = corpus.test
    columns = []
    for name in run.learners:
        if name not in run.models:  # weight 0: not loaded, not scored (UNUSED_SCORE)
            columns.append(np.full(len(records), UNUSED_SCORE))
            continue
        if run.inputs[name] == "vectors":
            paths = [vectors[f] for f in run.features[name]]
            files = VectorFiles(paths, corpus)  # the corpus has test rows only
            check_encoder(run, name, files.metas)
            chunks = files.test_chunks(SCORE_CHUNK_ROWS)
        else:
            chunks = text_chunks(records)
        # Chunk by chunk, as fit-learners made the run's test scores: one chunk's texts or vectors held at a time.
        columns.append(chunked_fold_mean_scores(run.models[name], chunks))
    Z = np.column_stack(columns)
    scores = run.blender.predict(Z)
    listed = screening_records(corpus, run.train_keys, run.to_screen)
    lacking = _lacking_text(run, corpus)
    if lacking and run.config.max_shift > 1:
        # Scored without a text the run read (an export without abstracts): every record scores as one with that
        # cell empty, unlike the run's records (a title alone scores higher, mostly), and the shift estimate reads
        # that as a richer file, not as the texts it is (17 times on a cohen_adhd update without abstracts, flagging
        # all of it).
        log.info("label shift: not estimated for %s: %s, so their scores are not comparable with the run's (as --max-shift "
                 "1)", data or "these records", lacking)
        run = replace(run, config=replace(run.config, max_shift=1.0))
    titles_only = titles_unlike_labelled(listed, run.train_keys, run.text_columns)
    threshold, shift = run.threshold_for(scores, shift_records(listed, titles_only))
    if lacking:
        shift["not_estimated"] = lacking  # the reason given above, not the titles rule's own
    if threshold < run.threshold:
        # The line's "instead of" is of the labelled records' own threshold, where the estimate starts; the run's own may
        # be lower (its label shift) and is what --max-shift 1 keeps (helper-171: "instead of 24.0%", the run's 58.0%)
        kept = (f", {said_threshold(run.threshold)}, flagging {np.mean(run.oof_scores >= run.threshold):.1%} of them"
                if run.threshold < run.threshold_before else "")
        log_shift(shift, float(np.mean(run.oof_scores >= threshold)), run.config.beta, f"--max-shift 1: the run's threshold{kept}")
    # As `stack` decides on its records to screen: records without text flagged, the run's `screening` block under its
    # names, and the update's own probabilities checked against the run's honest recall.
    screened = screen(run.oof_labels, run.oof_scores, run.calibration, scores, threshold, shift,
                      None if run.honest_recall is None else run.honest_recall[0], run.config.seed, listed, titles_only)
    threshold, decisions, screening = screened.threshold, screened.decisions, screened.screening
    warnings = [said_of_titles(TITLES_ONLY_WARNING, screened.titles_only)] if screened.titles_only else []
    unlike = abstracts_unlike_labelled(listed, run.train_keys, run.text_columns)  # the run's labelled records titles alone, these not
    warnings += [said_of_titles(ABSTRACTS_UNLIKE_LABELLED_WARNING, unlike)] if unlike else []
    if screened.recall_check.get("below_interval"):
        warnings.append(UPDATE_RECALL_CHECK_WARNING.format(expected=screened.recall_check["expected_recall"],
                                                           low=run.honest_recall[0], high=run.honest_recall[1]))
    most = _flags_most_warning(run, scores, decisions, threshold, shift, without_text(listed))
    warnings += [most] if most else []
    ids = records["id"].astype(str).to_numpy()
    summary = {
        "run": str(run.out.resolve()), "run_stack_version": run.stack_version, "run_stack_made_by": run.made_by,
        "run_unshifted_command": unshifted_command(run),
        "data": str(Path(data).resolve()) if data else "",  # as `run` is: the same file from any folder, the same bytes
        "data_sha256": sha256_or_none(data) if data else None,
        "threshold": threshold, "run_threshold": run.threshold, "run_threshold_before": run.threshold_before,
        "max_shift": run.config.max_shift, "shift": shift,
        "recall_check": screened.recall_check,
        "warnings": run.said + warnings,  # `read_run`'s said then, before any scoring; the others below
        "blend": run.blender.name,
        "learners": run.used,  # rank-average keeps those with too few included records as columns of weight 0
        "left_out_screened": len(left_out), "flagged_without_text": screened.flagged_without_text,
        "titles_only": screened.titles_only, "abstracts_unlike_labelled": unlike, **screening,
        "input_warnings": list(corpus.said),  # given reading `data`: copies of screened records, reused ids
        "versions": package_versions(),
    }
    with RunFolder(out).commit(PREDICTIONS_SET, inputs=tuple(f"features/{Path(p).name}" for p in (vectors or {}).values())) as staging:
        pd.DataFrame({"id": ids, "score": scores}).to_csv(staging / "scores.csv", index=False, float_format="%.8f")
        pd.DataFrame({"id": ids, "judgement": decisions}).to_csv(staging / "submission.csv", index=False, header=False)
        write_ranked(staging / "ranked.csv", ids, scores, decisions, screened.probabilities, listed)
        write_json(staging / "summary.json", summary)
        # As ranked.csv's cells: a leading =, +, -, @ quoted, so a spreadsheet shows an id or title instead of running it
        left_out.apply(lambda column: column if column.name == "label" else column.astype(str).map(neutralise)).to_csv(
            staging / "left_out.csv", index=False)
        top = pd.read_csv(staging / "ranked.csv", dtype=str, keep_default_na=False, nrows=TOP)
        (staging / "report.html").write_text(prediction_page(out, summary, top), encoding="utf-8")
    log.info("predict: %d of %d records flagged (threshold %s%s); %s; wrote %s", screening["n_flagged"], screening["n_records"],
             said_threshold(threshold), _threshold_origin(run, threshold, summary), said_counts(screening), out / "ranked.csv")
    for warning in warnings:
        log.warning(warning)
    return summary
