"""The run report: one self-contained HTML page plus the PNG figures it shows (drawn by `stacking.figures`).

Reads only what `stack` wrote (``summary.json``, ``blend_oof.parquet``,
``ranked.csv``) and the learners' OOF files, so it can be rebuilt at any time
without refitting. The page leads with any warnings, then the honest estimate
(F-beta and recall with thresholds chosen on other folds, with intervals), then
"Screen these first" (the top of ``ranked.csv``) and the expected number of
relevant records left below the threshold; the learner tables and figures
follow. Writes ``OUT/report/*.png`` and ``OUT/report.html``; the page embeds
the same PNG bytes as data URIs, so it can be mailed or archived as one file.
Nothing in it depends on the clock, so the same run gives byte-identical files.
"""
from __future__ import annotations

import base64
import html
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..features.artifacts.atomic import read_json
from ..features.errors import ScreenstackError, quoted
from ..features.artifacts.outputs import read_learner_outputs
from ..features.artifacts import sets
from ..features.artifacts.damage import read_checked
from ..features.artifacts.runfolder import RunFolder, locked
from ..learners.text import CLASS_WEIGHTS, describe_class_weight
from .config import stack_command
from .figures import BLEND, draw_figures
from .page import CSS, TOP, at_shift, fact_cards, screen_first, warnings_box
from .decision import floor_clause, honest_scope, none_counted, not_counted_clause, prior_clause, shift_against
from .stack_said import (before_shift_share, chance_reason, fit_weight_clause, flagged_shares, flags_most_why, percent,
                         raised_recall_options)

log = logging.getLogger("screenstack")
REPORT_DIR, REPORT_HTML = "report", "report.html"
# (summary key, column title, format): the columns of the metrics table, in the groups `_GROUPS` names.
COLUMNS = [("weight", "blend weight", "{:.2f}"), ("fbeta_honest", "honest F{beta}", "{:.4f}"),
           ("fbeta", "OOF F{beta}", "{:.4f}"), ("recall", "recall", "{:.3f}"), ("precision", "precision", "{:.3f}"),
           ("flagged_share", "flagged", "{:.1%}"),
           ("roc_auc", "ROC-AUC", "{:.4f}"), ("average_precision", "AP", "{:.4f}"), ("wss95", "WSS@95", "{:.3f}")]
# (title, columns): the metrics table's header groups over COLUMNS after "blend weight". The middle group is measured
# at a threshold chosen on the very records it is scored on, so it reads higher than the test file will see.
_GROUPS = [("each fold's threshold chosen on the other folds", 1),
           ("at the row's own threshold, chosen on these same records (optimistic)", 4),
           ("ranking, no threshold", 3)]


@locked(create=False, needs=("fit-learners", "stack"), writes=(REPORT_HTML,))
def write_report(out: str | Path) -> Path:
    """Draw the figures and write ``OUT/report.html``; return its path.

    Examples
    --------
    >>> write_report("artifacts/run1")  # doctest: +SKIP
    PosixPath('artifacts/run1/report.html')
    """
    out = Path(out)
    summary, y, folds, scores, top, metas = _load(out)
    RunFolder(out).check_places(REPORT_DIR)  # before the figures are drawn
    made_by = (summary.get("versions") or {}).get("screenstack")
    other_version = ""
    if made_by != __version__:  # helper-147: 0.3.10's figures under this version's account of its methods, unsaid
        other_version = (f"the stack in {out} was made by screenstack {made_by or 'before 0.2'}: its figures are that "
                         f"version's, the page's account of the methods this one's ({__version__}); "
                         f"{stack_command(out, list((summary.get('blend') or {}).get('weights') or {}))} makes the stack "
                         "with this version")
    try:
        images = draw_figures(summary, y, scores)
        # On the page too, first among its warnings: the console's line is gone when the page is read (helper-176).
        shown = {**summary, "warnings": [other_version, *summary.get("warnings", [])]} if other_version else summary
        page = _html(out, shown, y, folds, scores, images, top, _settings_table(metas, y))
    except (KeyError, TypeError, AttributeError) as error:  # a field an older screenstack's `stack` wrote otherwise or not yet
        if made_by == __version__:
            raise
        what = f"did not record {error}" if isinstance(error, KeyError) else f"wrote a field otherwise ({error})"
        raise ScreenstackError(f"{RunFolder(out).summary}: made by screenstack {made_by or 'before 0.2'}, which {what}, and "
                               f"this report ({__version__}) needs it. Run {sets.stack_command(out)} again: "
                               f"it rewrites the stack outputs.") from None
    if other_version:
        log.warning("report: %s.", other_version)
    folder = out / REPORT_DIR
    with RunFolder(out).commit("report", inputs=("stack",)) as staging:  # the page and its figures as one set
        for key, (_, _, payload) in images.items():
            (staging / REPORT_DIR).mkdir(exist_ok=True)
            (staging / REPORT_DIR / f"{key}.png").write_bytes(payload)
        (staging / REPORT_HTML).write_text(page, encoding="utf-8")
    log.info("report: %s (figures in %s)", out / REPORT_HTML, folder)
    return out / REPORT_HTML


# --- inputs --------------------------------------------------------------------------------------

def _load(out: Path) -> tuple[dict, np.ndarray, np.ndarray, dict[str, np.ndarray], pd.DataFrame, dict[str, dict]]:
    """The summary, the OOF labels and folds, each learner's and the blend's OOF scores (row-aligned), the
    first `TOP` rows of ranked.csv, and each learner's meta.json (what it is: its input and parameters)."""
    run = RunFolder(out)
    path = run.summary
    if not path.is_file():
        raise ScreenstackError(f"{path}: no stack summary. {run.stack_first()}")
    restack = sets.stack_command(out)
    fix = f"Run {restack} again: it rewrites the stack outputs."
    for edited in sets.edited(out, sets.committed(out, "stack")):  # the reviewer's notes: not damage, and not to be lost
        raise ScreenstackError(f"{edited}: changed since `screenstack stack` wrote it (screening notes typed into it?), and the "
                               f"report shows its top rows as stack wrote them. Move it out of {out} (e.g. to "
                               f"{sets.screened_copy(out, edited)}), run {restack} (it writes it "
                               f"again), then `screenstack report --out {quoted(out)}`.")
    # A learner folder deleted first: the restack `fix` names would be refused for it (its own line names the way on).
    stacked = tuple(run.stacked_learner_names())
    outputs = read_learner_outputs(out, stacked) if stacked else {}
    run.verify("stack", fix)
    summary = read_checked(path, read_json, fix)
    if not isinstance(summary, dict) or not {"learners", "blend", "threshold"} <= set(summary):
        raise ScreenstackError(f"{path}: not a stack summary (edited by hand?). {fix}")
    if not {"honest", "screening"} <= set(summary) or not (out / "ranked.csv").is_file():
        raise ScreenstackError(f"{path}: made by an older screenstack, without the honest estimate and ranked.csv. {fix}")
    top = read_checked(out / "ranked.csv", lambda p: pd.read_csv(p, dtype=str, keep_default_na=False, nrows=TOP), fix)
    blend_path = run.blend_oof
    if not blend_path.is_file():
        raise ScreenstackError(f"{blend_path}: missing. Run {restack} again.")
    blend = read_checked(blend_path, pd.read_parquet, fix)
    ids = blend["id"].to_numpy(dtype=str)
    scores = {}
    if not set(summary["learners"]) <= set(outputs):  # read above, where the stack's manifest names them
        outputs = read_learner_outputs(out, tuple(summary["learners"]))
    for name in summary["learners"]:
        oof_path = run.learner(name) / "oof.parquet"
        if name not in outputs:
            raise ScreenstackError(f"{oof_path}: missing, but {path} blends {name!r}. Rerun fit-learners and stack in {out}.")
        oof = outputs[name][0]
        if not np.array_equal(oof["id"].to_numpy(dtype=str), ids):
            raise ScreenstackError(f"{oof_path}: its rows differ from {blend_path} (refitted after stacking?). "
                                   f"Run {restack} again.")
        scores[name] = oof["score"].to_numpy(dtype=float)
    scores[BLEND] = blend["score"].to_numpy(dtype=float)
    metas = {name: outputs[name][2] for name in summary["learners"]}
    return summary, blend["label"].to_numpy(dtype=int), blend["fold"].to_numpy(), scores, top, metas


# --- page ----------------------------------------------------------------------------------------

def _metrics_rows(summary: dict) -> list[tuple[str, dict]]:
    weights = summary["blend"]["weights"]
    rows = [(name, {**metrics, "weight": weights.get(name, 0.0)}) for name, metrics in summary["learners"].items()]
    return rows + [(f"{BLEND} ({summary['blend']['method']})", {**summary["blend"], "weight": None})]


def _table(summary: dict) -> str:
    beta = summary["beta"]
    rows = _metrics_rows(summary)
    best = {key: max(m[key] for _, m in rows if m.get(key) is not None) for key, _, _ in COLUMNS if key != "weight"}
    (_, weight_title, _), *measured = COLUMNS
    assert sum(span for _, span in _GROUPS) == len(measured), "every measured column sits in one header group"
    groups = "".join(f'<th colspan="{span}">{html.escape(title)}</th>' for title, span in _GROUPS)
    head = "".join(f"<th>{html.escape(title.format(beta=f'{beta:g}'))}</th>" for _, title, _ in measured)
    body = []
    for name, metrics in rows:
        cells = []
        for key, _, fmt in COLUMNS:
            value = metrics.get(key)
            text = "" if value is None else fmt.format(value)
            strong = key in best and value is not None and np.isclose(value, best[key]) and key not in ("flagged_share", "precision")
            cells.append(f"<td class=\"num{' best' if strong else ''}\">{text}</td>")
        kind = " class=\"blend\"" if name.startswith(BLEND) else ""
        body.append(f"<tr{kind}><th scope=\"row\">{html.escape(name)}</th>{''.join(cells)}</tr>")
    return (f'<table><thead><tr><th rowspan="2">learner</th><th rowspan="2">{weight_title}</th>{groups}</tr>'
            f"<tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{_left_out_note(summary)}{_lowered_note(summary)}")


def _left_out_note(summary: dict) -> str:
    """The learners the default blend left out (weight 0) and why: the included training records each needs (as the
    console's "blend: ... left out" line)."""
    left_out = summary["blend"].get("left_out") or {}
    if not left_out:
        return ""
    needs = ", ".join(f"{html.escape(name)} (from {count})" for name, count in left_out.items())
    return (f"<p class=\"note\">Left out of the blend (weight 0), as the default blend weighs them only from that many "
            f"included training records ({summary['n_train_included']} here): {needs}. They were fitted and evaluated "
            f"all the same.</p>")


def _lowered_note(summary: dict) -> str:
    """Where the label shift (or, before 0.3.20, the recall check) lowered the threshold for the records to screen, the blend's figures
    at its threshold are at the one applied: not chosen on these records, so not optimistic (as the console says)."""
    lowered = (summary.get("honest") or {}).get("threshold_lowered_by") or []
    if not lowered:
        return ""
    return (f"<p class=\"note\">The chosen blend's OOF F{summary['beta']:g}, recall, precision and share flagged are at the "
            f"threshold applied ({summary['threshold']:.4g}), which the {' and the '.join(lowered)} lowered for the records "
            "to screen: not chosen on these records, so not optimistic; the honest figures are of the threshold before.</p>")


def _learner_input(meta: dict) -> str:
    """What a learner read, from its meta.json: the text, a fine-tuned encoder, or the encoder vectors and how they were pooled."""
    if isinstance(meta.get("finetune"), dict):
        return f"title and abstract, fine-tuned {meta.get('model', '?')} ({meta.get('precision', '?')})"
    if meta.get("input") == "vectors":
        files = [m for m in meta.get("feature_meta") or [] if isinstance(m, dict)]
        return "; ".join(f"{m.get('model', '?')} vectors: layers {', '.join(map(str, m.get('layers', [])))}, "
                         f"{' + '.join(m.get('pooling', []))} pooling, up to {m.get('max_length', '?')} tokens, "
                         f"{m.get('dtype', '?')}, {m.get('dim', '?')} values" for m in files) or "vectors"
    return "title and abstract (TF-IDF)" if meta.get("input") == "text" else "not recorded"


def _learner_settings(meta: dict, y: np.ndarray) -> str:
    """A learner's parameters as it was fitted, its class weights in words (``auto`` resolved for these labels)."""
    params = meta.get("finetune") if isinstance(meta.get("finetune"), dict) else meta.get("params")
    if not isinstance(params, dict):
        return "not recorded"
    if params.get("head", "cnn") != "cnn":  # a linear head's run records the CNN head's settings too, unused
        params = {k: v for k, v in params.items() if not k.startswith("cnn_")}
    weight = params.get("class_weight")
    shown = [f"{k}={v}" for k, v in sorted(params.items()) if not (k == "class_weight" and weight in CLASS_WEIGHTS)]
    if weight in CLASS_WEIGHTS:
        shown.append(f"class weights: {describe_class_weight(weight, y)}")
    return ", ".join(shown)


def _settings_table(metas: dict[str, dict], y: np.ndarray) -> str:
    rows = "".join(f"<tr><th scope=\"row\">{html.escape(name)}</th><td class=\"title\">{html.escape(_learner_input(meta))}</td>"
                   f"<td class=\"title\">{html.escape(_learner_settings(meta, y))}</td></tr>" for name, meta in metas.items())
    return (f"<table><thead><tr><th>learner</th><th>input</th><th>settings</th></tr></thead><tbody>{rows}</tbody></table>"
            f"<p class=\"note\">From each learner's meta.json, as it was fitted on these {len(y):,} training records "
            f"({int(y.sum()):,} included). Every learner was fitted on the same fold plan.</p>")


def _candidates_table(summary: dict) -> str:
    beta, chosen = summary["beta"], summary["blend"]["method"]
    rows = []
    for method, c in summary.get("blend_candidates", {}).items():
        mark = (' class="blend"', " (chosen)") if method == chosen else ("", "")
        rows.append(f"<tr{mark[0]}><th scope=\"row\">{html.escape(method)}{mark[1]}</th>"
                    f"<td class=\"num\">{c['fbeta_honest']:.4f}</td><td class=\"num\">{c['fbeta']:.4f}</td>"
                    f"<td class=\"num\">{c['average_precision']:.4f}</td><td class=\"num\">{c['wss95']:.3f}</td></tr>")
    return (f"<table class=\"narrow\"><thead><tr><th>blend method</th><th>honest F{beta:g}</th><th>OOF F{beta:g}</th>"
            f"<th>AP</th><th>WSS@95</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"<p class=\"note\">OOF F{beta:g}: at each blend's own threshold, chosen on the same records (optimistic).</p>"
            f"{_lowered_note(summary)}")


def _folds_table(y: np.ndarray, blend: np.ndarray, folds: np.ndarray, threshold: float, lowered_by: list[str]) -> str:
    """Per fold, the labelled records the threshold applied flags (`lowered_by`: what lowered it for the records to
    screen after it was chosen, said in the note; helper-170)."""
    # Lowered after it was chosen, it flags more than the threshold chosen on these records: not optimistic (as the
    # candidates' note says), nor chosen on them (helper-171)
    said = (f"At the threshold applied: chosen on every fold's OOF scores, then lowered by the {' and the '.join(lowered_by)} "
            "for the records to screen, so it flags more of these than the threshold chosen on them"
            if lowered_by else "At the one threshold chosen on every fold's OOF scores, so the counts found are optimistic")
    rows = []
    for k in np.unique(folds):
        inside = folds == k
        flagged = blend[inside] >= threshold
        found, positives = int((flagged & (y[inside] == 1)).sum()), int(y[inside].sum())
        rows.append(f"<tr><th scope=\"row\">{k}</th><td class=\"num\">{inside.sum()}</td><td class=\"num\">{positives}</td>"
                    f"<td class=\"num\">{flagged.sum()}</td><td class=\"num\">{found} / {positives}</td></tr>")
    return ("<table class=\"narrow\"><thead><tr><th>fold</th><th>records</th><th>included</th><th>flagged</th>"
            f"<th>included found</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"<p class=\"note\">{said}; the honest estimate chooses each fold's threshold on the other folds.</p>")


def _threshold_note(summary: dict) -> str:
    """What set the threshold: F-beta's rule, that rule lowered by the recall floor, or the honest floor flagging
    every record (``summary["decision"]``, as the console says it)."""
    beta, decision = summary["beta"], summary.get("decision", {})
    rule = f"F{beta:g}'s {summary['config'].get('threshold_rule', '')} rule on the blend's OOF scores"
    if not decision:  # a summary from before the decision block
        return f"chosen by {rule}"
    if decision.get("flags_everything") and decision.get("ranks_at_chance"):
        return (f"set by the honest floor to flag every record: {chance_reason(summary['blend'])} with "
                f"{decision['n_train_included']} included training records ({rule} alone: {decision['fbeta_threshold']:.4g}, flagging "
                f"{decision['fbeta_flagged_share']:.1%})")
    if decision.get("flags_everything"):
        return (f"set by the honest floor to flag every record: the blend's honest OOF F{beta:g} "
                f"({summary['blend']['threshold_fbeta_honest']:.3f}) does not beat flagging every record "
                f"({decision['flag_all_fbeta']:.3f}) with {decision['n_train_included']} included training records "
                f"({rule} alone: {decision['fbeta_threshold']:.4g}, flagging {decision['fbeta_flagged_share']:.1%})")
    check = decision.get("recall_check") or {}  # in summaries of 0.3.7-0.3.19, whose stack had a recall check
    flagged = f"flags {before_shift_share(decision):.1%} of the OOF records"  # at the threshold before that check and the shift
    shift = decision.get("shift") or {}
    if shift.get("lowered"):  # the card shows the threshold applied: the one the labelled records chose is named (helper-171)
        flagged = f"{shift['threshold_before']:.4g} {flagged}"
    if decision.get("recall_floor_lowered"):
        note = (f"{rule}, lowered by the recall floor{' to ' + format(check['threshold_before'], '.4g') if check.get('lowered') else ''}"
                f" from {decision['fbeta_threshold']:.4g} (F{beta:g} alone flags "
                f"{decision['fbeta_flagged_share']:.1%}) so that, with {decision['n_train_included']} included training "
                f"records, the estimated recall reaches {decision['min_recall']:.0%}")
        if decision["min_recall"] > 0.9:  # the same advice as the console's recall-floor line
            note += " (if the labelled records are a random sample of the search, <code>--min-recall 0.9 --max-shift 1</code> flags fewer)"
        note += f"; {check['threshold_before']:.4g} {flagged}" if check.get("lowered") else f"; {flagged}"
    elif check.get("lowered"):
        note = f"{rule} chose {check['threshold_before']:.4g}, which {flagged}"
    else:
        note = f"chosen by {rule}; {flagged}"
    tail = decision.get("fitted_tail") or {}
    if tail.get("lowered"):  # as the console's "fitted tail" line
        note += (f"; F{beta:g}'s bootstrap optimum ({tail['bootstrap_threshold']:.4g}, flagging "
                 f"{tail['bootstrap_flagged_share']:.1%}) was lowered to {tail['threshold']:.4g} (flagging "
                 f"{tail['flagged_share']:.1%}), F{beta:g}'s optimum on the binormal ROC fitted to the "
                 f"OOF scores (d' {tail['separation']:.2f}){fit_weight_clause(decision) or ','} which expects more of the included "
                 "records to rank low than the labelled ones do")
    if shift.get("lowered"):  # as the console's "label shift" line
        note += (f"; the records to screen look {shift['estimated_share'] / shift['train_share']:.1f} times as rich in included "
                 f"records as the labelled ones ({shift_against(shift)}), so each "
                 f"included record counted {shift['weight']:.1f} times{prior_clause(shift)}{floor_clause(shift, beta)}, flagging "
                 f"{decision['oof_flagged_share']:.1%} of the OOF records (if the labelled records are a random sample of the "
                 "search, the shift is chance: <code>--max-shift 1</code> makes no correction)")
    if check.get("lowered"):  # as the console's "recall check" line and warning
        note += (f"; <strong>lowered by the recall check</strong> to {summary['threshold']:.4g}, which flags "
                 f"{check['flagged_share_after']:.1%} of the records to screen instead of {check['flagged_share_before']:.1%}: there the calibrated probabilities expected "
                 f"{check['expected_recall']:.0%} of the included records to screen to be flagged, below the honest recall's "
                 f"95% interval (the labelled records look unlike the records to screen)")
    share, before, of_what = flagged_shares(decision)
    why = flags_most_why(summary)  # as the console's warning
    if why == "without text":
        note += (f"; <strong>nearly every record is flagged: {percent(decision['flagged_without_text_share'])} of the "
                 "flagged records have neither title nor abstract, flagged since no model can rank them</strong>")
    elif why == "shift":
        note += (f"; <strong>{'every' if share == 1 else 'nearly every'} record is flagged because of that correction</strong> "
                 f"({percent(share)} of {of_what}; without it {before:.1%})")
    elif why == "beta":
        note += (f"; <strong>nearly every record is flagged: <code>--beta {summary['beta']:g}</code> counts a missed included "
                 f"record {summary['beta'] ** 2:g} times an extra read</strong>")
    elif why == "recall options":
        note += (f"; <strong>nearly every record is flagged: {html.escape(raised_recall_options(summary.get('config') or {}))} "
                 "for more recall than the labels can vouch for at a tighter threshold; a lower value, or more labels, may "
                 "flag fewer</strong>")
    elif why == "labels":
        note += "; <strong>nearly every record is flagged: the labels cannot support a tighter threshold</strong>"
    return note


def _blend_note(summary: dict) -> str:
    """The blend's figures for "The run": the honest ones (the summary's ``honest`` block, as the console prints
    them); the recall at the blend's own threshold, measured on the records that chose it, is left to the table."""
    beta, blend, honest = summary["beta"], summary["blend"], summary["honest"]
    figures = f"honest F{beta:g} {honest['fbeta']:.3f}, honest recall {honest['recall']:.3f}"
    if summary.get("decision", {}).get("flags_everything"):
        figures = (f"flags every record (honest floor): {figures}; at its own thresholds, honest OOF F{beta:g} "
                   f"{blend['threshold_fbeta_honest']:.3f}")
    return f"{figures}; WSS@95 {blend['wss95']:.3f}"


def _facts(summary: dict) -> str:
    blend, plan = summary["blend"], summary.get("fold_plan", {})
    n_test = summary["n_test"]
    flagged = f"{summary['n_test_flagged']:,} ({percent(summary['n_test_flagged'] / n_test)})" if n_test else "no test file"
    facts = [
        ("training records", f"{summary['n_train']:,}", f"{summary['n_train_included']:,} included "
                                                          f"({summary['n_train_included'] / summary['n_train']:.1%})"),
        ("records to screen", f"{n_test:,}", f"flagged to screen: {flagged}"),
        ("fold plan", f"{plan.get('n_folds', '?')} folds", f"stratified, seed {plan.get('seed', '?')}"),
        ("objective", f"F{summary['beta']:g}", f"recall weighs {summary['beta'] ** 2:g}&times; precision"),
        ("threshold", f"{summary['threshold']:.4g}", _threshold_note(summary)),
        ("blend", html.escape(blend["method"]), _blend_note(summary)),
    ]
    return fact_cards(facts)


def _honest_section(summary: dict) -> str:
    """The figures to trust first: the blend's honest F-beta and recall, with their intervals, and what is left to find."""
    beta, honest, screening = summary["beta"], summary["honest"], summary["screening"]
    (f_low, f_high), (r_low, r_high) = honest["fbeta_interval"], honest["recall_interval"]
    low, high = screening["expected_below_interval"]
    cards = [
        (f"honest F{beta:g}", f"{honest['fbeta']:.3f}", f"95% interval {f_low:.3f}&ndash;{f_high:.3f}"),
        ("honest recall", f"{honest['recall']:.3f}", f"95% interval {r_low:.2f}&ndash;{r_high:.2f}: {honest['found']} of "
                                                     f"{honest['included']} included training records found"),
    ]
    if screening["n_records"] and none_counted(screening):
        cards += [("flagged to screen", f"{screening['n_flagged']:,} of {screening['n_records']:,}",
                   html.escape(none_counted(screening))),
                  ("relevant left below the threshold", "not counted", "")]
    elif screening["n_records"]:
        cards += [("flagged to screen", f"{screening['n_flagged']:,} of {screening['n_records']:,}",
                   f"expected relevant among them {screening['expected_flagged']:.1f}"
                   + (" (95% interval {:.1f}&ndash;{:.1f})".format(*screening["expected_flagged_interval"])
                      if "expected_flagged_interval" in screening else "")  # stacks before 0.3.34 kept none
                   + at_shift(screening, "expected_flagged")),
                  ("relevant left below the threshold", f"{screening['expected_below']:.1f}",
                   f"expected; 95% interval {low:.1f}&ndash;{high:.1f}" + at_shift(screening, "expected_below")
                   + html.escape(not_counted_clause(screening)))]
    facts = fact_cards(cards)
    scope = honest_scope(summary)
    scope = f"These honest figures are {html.escape(scope)} (see the threshold note). " if scope else ""
    # Where the interval left below reaches the count at the label shift's estimate, it has taken that case in.
    reached = (" (the interval left below reaches the count at the label shift's estimate, which sees that case)"
               if (screening.get("at_estimated_shift") or {}).get("below_interval_reaches") else "")
    return (f"<section><h2>Honest estimate</h2><div class=\"facts\">{facts}</div>"
            f"<p class=\"note\">{scope}What to expect on the records to screen: the blend's nested OOF scores, each fold's threshold "
            f"chosen on the other folds, so no training record is judged by a threshold or weight its label helped set. "
            f"The 95% intervals are for {honest['interval_records']:,} records like the training ones: the shares of found, "
            f"missed and wrongly flagged records are drawn around the training records' (with half a record's prior per "
            f"cell, so 10 of 10 found still allows a lower recall), then dealt to that many records. The relevant records "
            f"left below the threshold are the sum of the calibrated probabilities (Platt scaling of the nested OOF scores, "
            f"scaled on each side of the threshold so that on the training records they add up to the included ones there, "
            f"with half a record's prior on each side) "
            f"of the unflagged records (and of the flagged ones for those); their intervals add the chance variation of "
            f"those records to the calibration's variation over bootstrap refits, widened to the percentiles of counts "
            f"drawn around each refit where those are skewed (README, \"Reading the results\"). "
            f"All of this assumes the records to screen hold included records at the rate the labelled ones do: if the "
            f"labelled records were picked with fewer included ones, more are left than this says{reached}; "
            f"if they were picked with more (screened from the top of a ranked list, as <code>ranked.csv</code> suggests), "
            f"the count among the flagged and F-beta tend to read too high, the count left below may read low or high, and the "
            f"threshold may flag far more than needed."
            f"</p></section>")


def _html(out: Path, summary: dict, y: np.ndarray, folds: np.ndarray, scores: dict, images: dict, top: pd.DataFrame,
          settings: str) -> str:
    figures = "".join(
        f"<figure id=\"{key}\"><h3>{html.escape(title)}</h3>"
        f"<img src=\"data:image/png;base64,{base64.b64encode(payload).decode()}\" alt=\"{html.escape(title)}\" "
        f"data-file=\"{REPORT_DIR}/{key}.png\"><figcaption>{html.escape(caption)}</figcaption></figure>"
        for key, (title, caption, payload) in images.items())
    versions = ", ".join(f"{k} {v}" for k, v in summary.get("versions", {}).items())
    config = ", ".join(f"{k}={v}" for k, v in summary.get("config", {}).items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>screenstack report: {html.escape(Path(os.path.abspath(out)).name)}</title>
<style>{CSS}</style></head>
<body><main>
<header><h1>screenstack report</h1><p class="sub">{html.escape(os.path.abspath(out))} &middot; every score below is out-of-fold:
each training record was scored by a model that never saw its label.</p></header>
{warnings_box(summary)}
{_honest_section(summary)}
{screen_first(top)}
<section><h2>The run</h2><div class="facts">{_facts(summary)}</div></section>
<section><h2>Learners and blend</h2>{_table(summary)}
<p class="note">Honest F{summary['beta']:g}: each fold's threshold chosen on the other folds only, an estimate of what
the test file will see (the blend's is the honest estimate above). OOF F{summary['beta']:g}, recall, precision and flagged
share: at the row's own threshold, chosen by the {html.escape(str(summary['config'].get('threshold_rule', '')))} rule on
all its OOF scores, the very records they are measured on, so they read higher than the test file will see.
ROC-AUC, average precision (AP) and work saved over sampling at 95% recall
(WSS@95) rank the records without a threshold. Best value per column in bold.</p>
<h3>What each learner is</h3>{settings}</section>
<section><h2>Figures</h2><div class="grid">{figures}</div></section>
<section class="two"><div><h2>Blend candidates</h2>{_candidates_table(summary)}</div>
<div><h2>Blend threshold per fold</h2>{_folds_table(y, scores[BLEND], folds, summary['threshold'], summary['honest'].get('threshold_lowered_by') or [])}</div></section>
<footer>config: {html.escape(config)}<br>versions: {html.escape(versions)}</footer>
</main></body></html>
"""
