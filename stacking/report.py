"""The run report: one self-contained HTML page plus the PNG figures it shows.

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
import io
import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: never open a window, work on machines without a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import precision_recall_curve  # noqa: E402

from ..features.artifacts.atomic import read_json  # noqa: E402
from ..features.errors import ScreenstackError  # noqa: E402
from ..features.artifacts.outputs import read_learner_outputs  # noqa: E402
from ..features.artifacts.runfolder import RunFolder, locked, read_checked  # noqa: E402
from .threshold import fbeta_curve  # noqa: E402

log = logging.getLogger("screenstack")
REPORT_DIR, REPORT_HTML = "report", "report.html"
BLEND = "blend"
TOP = 20  # records listed under "Screen these first"
# (summary key, column title, format): the columns of the metrics table.
COLUMNS = [("weight", "blend weight", "{:.2f}"), ("fbeta", "OOF F{beta}", "{:.4f}"),
           ("fbeta_honest", "honest F{beta}", "{:.4f}"), ("recall", "recall", "{:.3f}"),
           ("precision", "precision", "{:.3f}"), ("flagged_share", "flagged", "{:.1%}"),
           ("roc_auc", "ROC-AUC", "{:.4f}"), ("average_precision", "AP", "{:.4f}"), ("wss95", "WSS@95", "{:.3f}")]
BLEND_COLOR, RANDOM_COLOR = "#111111", "#9a9a9a"
PALETTE = plt.get_cmap("tab10").colors
_LABEL_BOX = {"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": "#cccccc", "alpha": 0.9}


@locked(create=False)
def write_report(out: str | Path) -> Path:
    """Draw the figures and write ``OUT/report.html``; return its path.

    Examples
    --------
    >>> write_report("artifacts/run1")  # doctest: +SKIP
    PosixPath('artifacts/run1/report.html')
    """
    out = Path(out)
    summary, y, folds, scores, top = _load(out)
    beta = summary["beta"]
    names = list(scores)
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    threshold = float(summary["threshold"])
    figures = {
        "fbeta_threshold": ("F-beta against threshold", f"The blend's OOF F{beta:g}, recall and precision at every threshold; "
                            "the line marks the chosen threshold, applied unchanged to the test records.",
                            _plot_fbeta(y, scores[BLEND], threshold, summary)),
        "recall_curve": ("Screening in score order", "Share of included records found after reading a share of the records "
                         "in score order, against reading in random order. WSS@95 is the gap at 95% recall.",
                         _plot_recall(y, scores, colors, threshold)),
        "precision_recall": ("Precision-recall curves", "OOF precision against recall for every learner and the blend; "
                             "the dot is the blend at the chosen threshold.", _plot_pr(y, scores, colors, threshold)),
        "score_distribution": ("Blend scores by class", "Histogram of the blend's OOF scores for included and excluded "
                               "records (each class scaled to its own total).", _plot_hist(y, scores[BLEND], threshold)),
        "correlation": ("Correlation of learners' OOF scores", "Spearman rank correlation: learners that disagree are the "
                        "ones a blend can gain from.", _plot_correlation(scores)),
        "blend_weights": ("Blend weights", f"Weights of the {summary['blend']['method']} blend fitted on all OOF scores "
                          "(on logits for the logistic blend, on OOF ranks otherwise).", _plot_weights(summary, colors)),
    }
    folder = out / REPORT_DIR
    images = {key: (title, caption, _png(fig)) for key, (title, caption, fig) in figures.items()}
    page = _html(out, summary, y, folds, scores, images, top)
    with RunFolder(out).commit("report", inputs=("stack",)) as staging:  # the page and its figures as one set
        for key, (_, _, payload) in images.items():
            (staging / REPORT_DIR).mkdir(exist_ok=True)
            (staging / REPORT_DIR / f"{key}.png").write_bytes(payload)
        (staging / REPORT_HTML).write_text(page, encoding="utf-8")
    log.info("report: %s (figures in %s)", out / REPORT_HTML, folder)
    return out / REPORT_HTML


# --- inputs --------------------------------------------------------------------------------------

def _load(out: Path) -> tuple[dict, np.ndarray, np.ndarray, dict[str, np.ndarray], pd.DataFrame]:
    """The summary, the OOF labels and folds, each learner's and the blend's OOF scores (row-aligned), and
    the first `TOP` rows of ranked.csv."""
    run = RunFolder(out)
    path = run.summary
    if not path.is_file():
        raise ScreenstackError(f"{path}: no stack summary. Run `screenstack stack --out {out}` first.")
    fix = f"Run `screenstack stack --out {out}` again: it rewrites the stack outputs."
    run.verify("stack", fix)
    summary = read_checked(path, read_json, fix)
    if not isinstance(summary, dict) or not {"learners", "blend", "threshold"} <= set(summary):
        raise ScreenstackError(f"{path}: not a stack summary (edited by hand?). {fix}")
    if not {"honest", "screening"} <= set(summary) or not (out / "ranked.csv").is_file():
        raise ScreenstackError(f"{path}: made by an older screenstack, without the honest estimate and ranked.csv. {fix}")
    top = read_checked(out / "ranked.csv", lambda p: pd.read_csv(p, dtype=str, keep_default_na=False, nrows=TOP), fix)
    blend_path = run.blend_oof
    if not blend_path.is_file():
        raise ScreenstackError(f"{blend_path}: missing. Run `screenstack stack --out {out}` again.")
    blend = read_checked(blend_path, pd.read_parquet, fix)
    ids = blend["id"].to_numpy(dtype=str)
    scores = {}
    outputs = read_learner_outputs(out, tuple(summary["learners"]))
    for name in summary["learners"]:
        oof_path = run.learner(name) / "oof.parquet"
        if name not in outputs:
            raise ScreenstackError(f"{oof_path}: missing, but {path} blends {name!r}. Rerun fit-learners and stack in {out}.")
        oof = outputs[name][0]
        if not np.array_equal(oof["id"].to_numpy(dtype=str), ids):
            raise ScreenstackError(f"{oof_path}: its rows differ from {blend_path} (refitted after stacking?). "
                                   f"Run `screenstack stack --out {out}` again.")
        scores[name] = oof["score"].to_numpy(dtype=float)
    scores[BLEND] = blend["score"].to_numpy(dtype=float)
    return summary, blend["label"].to_numpy(dtype=int), blend["fold"].to_numpy(), scores, top


# --- figures -------------------------------------------------------------------------------------

def _figure(width: float = 6.4, height: float = 4.2):
    fig, ax = plt.subplots(figsize=(width, height), dpi=110, layout="constrained")
    ax.grid(True, color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _legend_below(ax) -> None:
    """A legend under the axes: curves near the top right (good models) are never hidden by it."""
    ncol = min(4, len(ax.get_legend_handles_labels()[0]))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=ncol, frameon=False, fontsize=8)


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    # No Software tag: the bytes then depend on the data, not on the matplotlib build.
    fig.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _plot_fbeta(y, blend, threshold, summary):
    beta = summary["beta"]
    thresholds = np.unique(blend)  # flagging at or above each distinct score: every possible decision
    fb = fbeta_curve(y, blend, thresholds, beta)
    # Records (and included records) at or above each threshold, from the sorted scores.
    flagged = len(blend) - np.searchsorted(np.sort(blend), thresholds, side="left")
    found = int(y.sum()) - np.searchsorted(np.sort(blend[y == 1]), thresholds, side="left")
    recall = found / max(int(y.sum()), 1)
    precision = np.where(flagged > 0, found / np.maximum(flagged, 1), 1.0)
    fig, ax = _figure()
    ax.plot(thresholds, fb, color=BLEND_COLOR, linewidth=2, label=f"F{beta:g}")
    ax.plot(thresholds, recall, color=PALETTE[2], linewidth=1.2, label="recall")
    ax.plot(thresholds, precision, color=PALETTE[3], linewidth=1.2, label="precision")
    best = summary["blend"]["fbeta"]
    ax.axvline(threshold, color=PALETTE[0], linestyle="--", linewidth=1.2)
    ax.annotate(f"threshold {threshold:.4g}\nOOF F{beta:g} {best:.3f}", xy=(threshold, best), xytext=(8, -30),
                textcoords="offset points", fontsize=9, color=PALETTE[0], bbox=_LABEL_BOX,
                arrowprops={"arrowstyle": "-", "color": PALETTE[0], "linewidth": 0.8})
    ax.scatter([threshold], [best], color=PALETTE[0], zorder=3, s=25)
    ax.set(xlabel="threshold on the blend score (flag records at or above it)", ylabel="OOF value", ylim=(0, 1.02))
    _legend_below(ax)
    return fig


def _plot_recall(y, scores, colors, threshold):
    fig, ax = _figure()
    n, positives = len(y), max(int(y.sum()), 1)
    share = np.arange(1, n + 1) / n
    for name, s in scores.items():
        # Ties broken against the ranking (included records last), as in stacking.metrics.wss.
        order = np.lexsort((y, -s))
        recall = np.cumsum(y[order]) / positives
        is_blend = name == BLEND
        ax.plot(np.r_[0, share], np.r_[0, recall], color=BLEND_COLOR if is_blend else colors[name],
                linewidth=2.2 if is_blend else 1.1, alpha=1 if is_blend else 0.85, label=name, zorder=3 if is_blend else 2)
        if is_blend:
            blend_order = order
    ax.plot([0, 1], [0, 1], color=RANDOM_COLOR, linestyle=":", linewidth=1.2, label="random order")
    ax.axhline(0.95, color=RANDOM_COLOR, linewidth=0.8, linestyle="--")
    read = int(np.searchsorted(np.cumsum(y[blend_order]), int(np.ceil(0.95 * y.sum())))) + 1
    ax.annotate("", xy=(read / n, 0.95), xytext=(0.95, 0.95),
                arrowprops={"arrowstyle": "<->", "color": PALETTE[0], "linewidth": 1.2})
    ax.text((read / n + 0.95) / 2, 0.91, f"WSS@95 {(n - read) / n - 0.05:.3f}", ha="center", va="top", fontsize=9,
            color=PALETTE[0], bbox=_LABEL_BOX, zorder=5)
    flagged = scores[BLEND] >= threshold
    ax.scatter([flagged.mean()], [flagged[y == 1].sum() / positives], color=PALETTE[0], zorder=4, s=25,
               label="blend at threshold")
    ax.set(xlabel="share of records screened", ylabel="share of included records found (recall)", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    return fig


def _plot_pr(y, scores, colors, threshold):
    fig, ax = _figure()
    for name, s in scores.items():
        precision, recall, _ = precision_recall_curve(y, s)
        is_blend = name == BLEND
        ax.plot(recall, precision, color=BLEND_COLOR if is_blend else colors[name], linewidth=2.2 if is_blend else 1.1,
                alpha=1 if is_blend else 0.85, label=name, zorder=3 if is_blend else 2, drawstyle="steps-post")
    flagged = scores[BLEND] >= threshold
    ax.scatter([flagged[y == 1].mean()], [y[flagged].mean() if flagged.any() else 1.0], color=PALETTE[0], zorder=4, s=25,
               label="blend at threshold")
    ax.axhline(y.mean(), color=RANDOM_COLOR, linestyle=":", linewidth=1.2, label=f"random ({y.mean():.3f})")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.01), ylim=(0, 1.02))
    _legend_below(ax)
    return fig


def _plot_hist(y, blend, threshold):
    fig, ax = _figure()
    bins = np.linspace(blend.min(), blend.max(), 41) if blend.max() > blend.min() else 10
    for label, name, color in ((0, "excluded", RANDOM_COLOR), (1, "included", PALETTE[1])):
        part = blend[y == label]
        ax.hist(part, bins=bins, weights=np.full(len(part), 1 / max(len(part), 1)), color=color, alpha=0.6,
                label=f"{name} ({len(part)})")
    ax.axvline(threshold, color=PALETTE[0], linestyle="--", linewidth=1.2, label=f"threshold {threshold:.4g}")
    ax.set(xlabel="blend OOF score", ylabel="share of the class's records")
    ax.legend(loc="upper center", frameon=False, fontsize=8)
    return fig


def _plot_correlation(scores):
    names = [n for n in scores if n != BLEND]
    corr = pd.DataFrame({n: scores[n] for n in names}).rank().corr().to_numpy()
    # The colour scale starts just below the weakest correlation, so close values stay distinguishable.
    low = min(0.9, np.floor(np.nanmin(corr) * 10) / 10 - 0.1)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110, layout="constrained")
    image = ax.imshow(corr, vmin=low, vmax=1, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=9)
    ax.set_yticks(range(len(names)), names, fontsize=9)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{corr[i, j]:.2f}", ha="center", va="center", fontsize=9,
                    color="white" if corr[i, j] > (low + 1) / 2 else "black")
    fig.colorbar(image, ax=ax, shrink=0.85, label="Spearman correlation")
    return fig


def _plot_weights(summary, colors):
    weights = summary["blend"]["weights"]
    names = list(weights)
    fig, ax = _figure(6.4, max(2.4, 0.45 * len(names) + 1.4))
    ax.barh(names, [weights[n] for n in names], color=[colors[n] for n in names])
    ax.axvline(0, color="#444444", linewidth=0.8)
    ax.invert_yaxis()
    for i, n in enumerate(names):
        ax.text(weights[n], i, f" {weights[n]:.3g}", va="center", ha="left" if weights[n] >= 0 else "right", fontsize=9)
    ax.set(xlabel=f"weight in the {summary['blend']['method']} blend")
    ax.margins(x=0.15)
    return fig


# --- page ----------------------------------------------------------------------------------------

def _metrics_rows(summary: dict) -> list[tuple[str, dict]]:
    weights = summary["blend"]["weights"]
    rows = [(name, {**metrics, "weight": weights.get(name, 0.0)}) for name, metrics in summary["learners"].items()]
    return rows + [(f"{BLEND} ({summary['blend']['method']})", {**summary["blend"], "weight": None})]


def _table(summary: dict) -> str:
    beta = summary["beta"]
    rows = _metrics_rows(summary)
    best = {key: max(m[key] for _, m in rows if m.get(key) is not None) for key, _, _ in COLUMNS if key != "weight"}
    head = "".join(f"<th>{html.escape(title.format(beta=f'{beta:g}'))}</th>" for _, title, _ in COLUMNS)
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
    return f"<table><thead><tr><th>learner</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _candidates_table(summary: dict) -> str:
    beta, chosen = summary["beta"], summary["blend"]["method"]
    rows = []
    for method, c in summary.get("blend_candidates", {}).items():
        mark = (' class="blend"', " (chosen)") if method == chosen else ("", "")
        rows.append(f"<tr{mark[0]}><th scope=\"row\">{html.escape(method)}{mark[1]}</th>"
                    f"<td class=\"num\">{c['fbeta_honest']:.4f}</td><td class=\"num\">{c['fbeta']:.4f}</td>"
                    f"<td class=\"num\">{c['average_precision']:.4f}</td><td class=\"num\">{c['wss95']:.3f}</td></tr>")
    return (f"<table class=\"narrow\"><thead><tr><th>blend method</th><th>honest F{beta:g}</th><th>OOF F{beta:g}</th>"
            f"<th>AP</th><th>WSS@95</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _folds_table(y: np.ndarray, blend: np.ndarray, folds: np.ndarray, threshold: float) -> str:
    rows = []
    for k in np.unique(folds):
        inside = folds == k
        flagged = blend[inside] >= threshold
        found, positives = int((flagged & (y[inside] == 1)).sum()), int(y[inside].sum())
        rows.append(f"<tr><th scope=\"row\">{k}</th><td class=\"num\">{inside.sum()}</td><td class=\"num\">{positives}</td>"
                    f"<td class=\"num\">{flagged.sum()}</td><td class=\"num\">{found} / {positives}</td></tr>")
    return ("<table class=\"narrow\"><thead><tr><th>fold</th><th>records</th><th>included</th><th>flagged</th>"
            f"<th>included found</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _threshold_note(summary: dict) -> str:
    """Where the threshold came from; says so when the recall floor, not F-beta, set it."""
    rule = f"{summary['config'].get('threshold_rule', '')} rule on the blend's OOF scores"
    decision = summary.get("decision", {})
    note = f"{rule}; flags {decision['oof_flagged_share']:.1%} of OOF records" if decision else rule
    if decision.get("recall_floor_lowered"):
        note += (f", lowered by the recall floor from {decision['fbeta_threshold']:.4g} (F{summary['beta']:g} alone: "
                 f"{decision['fbeta_flagged_share']:.1%}) so that, with {decision['n_train_included']} included training "
                 f"records, the estimated recall reaches {decision['min_recall']:.0%}")
    if decision.get("oof_flagged_share", 0) > 0.9:
        note += "; <strong>nearly every record is flagged: the labels cannot support a tighter threshold</strong>"
    return note


def _facts(summary: dict) -> str:
    blend, plan = summary["blend"], summary.get("fold_plan", {})
    n_test = summary["n_test"]
    flagged = f"{summary['n_test_flagged']:,} ({summary['n_test_flagged'] / n_test:.1%})" if n_test else "no test file"
    facts = [
        ("training records", f"{summary['n_train']:,}", f"{summary['n_train_included']:,} included "
                                                          f"({summary['n_train_included'] / summary['n_train']:.1%})"),
        ("test records", f"{n_test:,}", f"flagged for full-text review: {flagged}"),
        ("fold plan", f"{plan.get('n_folds', '?')} folds", f"stratified, seed {plan.get('seed', '?')}"),
        ("objective", f"F{summary['beta']:g}", f"recall weighs {summary['beta'] ** 2:g}&times; precision"),
        ("threshold", f"{summary['threshold']:.4g}", _threshold_note(summary)),
        ("blend", html.escape(blend["method"]), f"honest OOF F{summary['beta']:g} {blend['fbeta_honest']:.4f}, "
                                                f"recall {blend['recall']:.3f}, WSS@95 {blend['wss95']:.3f}"),
    ]
    return "".join(f"<div class=\"fact\"><div class=\"k\">{k}</div><div class=\"v\">{v}</div><div class=\"d\">{d}</div></div>"
                   for k, v, d in facts)


def _warnings_box(summary: dict) -> str:
    items = "".join(f"<li>{html.escape(w)}</li>" for w in summary.get("warnings", []))
    return f'<section class="warn"><h2>Warnings</h2><ul>{items}</ul></section>' if items else ""


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
    if screening["n_records"]:
        cards += [("flagged to screen", f"{screening['n_flagged']:,} of {screening['n_records']:,}",
                   f"expected relevant among them {screening['expected_flagged']:.1f}"),
                  ("relevant left below the threshold", f"{screening['expected_below']:.1f}",
                   f"expected; 95% interval {low:.1f}&ndash;{high:.1f}")]
    facts = "".join(f"<div class=\"fact\"><div class=\"k\">{k}</div><div class=\"v\">{v}</div><div class=\"d\">{d}</div></div>"
                    for k, v, d in cards)
    return (f"<section><h2>Honest estimate</h2><div class=\"facts\">{facts}</div>"
            f"<p class=\"note\">What to expect on the records to screen: the blend's nested OOF scores, each fold's threshold "
            f"chosen on the other folds, so no training record is judged by a threshold or weight its label helped set. "
            f"The 95% intervals are for {honest['interval_records']:,} records like the training ones: the shares of found, "
            f"missed and wrongly flagged records are drawn around the training records' (with half a record's prior per "
            f"cell, so 10 of 10 found still allows a lower recall), then dealt to that many records. The relevant records "
            f"left below the threshold are the sum of the calibrated probabilities (Platt scaling of the nested OOF scores) "
            f"of the unflagged records; its interval adds the chance variation of those records to the calibration's "
            f"variation over bootstrap refits. All of this assumes the records to screen hold included records at the rate "
            f"the labelled ones do: if the labelled records were picked with fewer included ones, more are left than this says."
            f"</p></section>")


def _shown(cell: str) -> str:
    """A ranked.csv cell as the reviewer wrote it: without the quote that kept a spreadsheet from running it."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@", "\t", "\r") else cell


def _screen_first(top: pd.DataFrame) -> str:
    if top.empty:
        return "<section><h2>Screen these first</h2><p class=\"note\">No records to screen.</p></section>"
    rows = "".join(
        f"<tr><td class=\"num\">{r['rank']}</td><td>{html.escape(_shown(r['id']))}</td>"
        f"<td class=\"title\">{html.escape(_shown(r['title'])) or '&ndash;'}</td><td class=\"num\">{float(r['probability']):.3f}</td>"
        f"<td class=\"num\">{float(r['expected_included']):.1f}</td><td>{'screen' if r['decision'] == '1' else 'below threshold'}</td></tr>"
        for _, r in top.iterrows())
    return (f"<section><h2>Screen these first</h2><table><thead><tr><th>rank</th><th>id</th><th>title</th>"
            f"<th>probability</th><th>expected included so far</th><th>decision</th></tr></thead><tbody>{rows}</tbody></table>"
            f"<p class=\"note\">The top {len(top)} rows of ranked.csv, which lists every record to screen by score with "
            f"the input's own columns. Probability: calibrated chance that the record is included; the running sum is "
            f"how many included records reading down to that row should find.</p></section>")


def _html(out: Path, summary: dict, y: np.ndarray, folds: np.ndarray, scores: dict, images: dict, top: pd.DataFrame) -> str:
    figures = "".join(
        f"<figure id=\"{key}\"><h3>{html.escape(title)}</h3>"
        f"<img src=\"data:image/png;base64,{base64.b64encode(payload).decode()}\" alt=\"{html.escape(title)}\" "
        f"data-file=\"{REPORT_DIR}/{key}.png\"><figcaption>{html.escape(caption)}</figcaption></figure>"
        for key, (title, caption, payload) in images.items())
    versions = ", ".join(f"{k} {v}" for k, v in summary.get("versions", {}).items())
    config = ", ".join(f"{k}={v}" for k, v in summary.get("config", {}).items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>screenstack report: {html.escape(out.name)}</title>
<style>{_CSS}</style></head>
<body><main>
<header><h1>screenstack report</h1><p class="sub">{html.escape(str(out))} &middot; every score below is out-of-fold:
each training record was scored by a model that never saw its label.</p></header>
{_warnings_box(summary)}
{_honest_section(summary)}
{_screen_first(top)}
<section><h2>The run</h2><div class="facts">{_facts(summary)}</div></section>
<section><h2>Learners and blend</h2>{_table(summary)}
<p class="note">OOF F{summary['beta']:g}: at the row's own threshold, chosen by the {html.escape(str(summary['config'].get('threshold_rule', '')))}
rule on all its OOF scores. Honest F{summary['beta']:g}: each fold's threshold chosen on the other folds only, an estimate
of what the test file will see. Recall, precision and
flagged share at the row's threshold; ROC-AUC, average precision (AP) and work saved over sampling at 95% recall
(WSS@95) rank the records without a threshold. Best value per column in bold.</p></section>
<section><h2>Figures</h2><div class="grid">{figures}</div></section>
<section class="two"><div><h2>Blend candidates</h2>{_candidates_table(summary)}</div>
<div><h2>Blend threshold per fold</h2>{_folds_table(y, scores[BLEND], folds, summary['threshold'])}</div></section>
<footer>config: {html.escape(config)}<br>versions: {html.escape(versions)}</footer>
</main></body></html>
"""


_CSS = """
body{margin:0;background:#f4f5f7;color:#1d1f23;font:14px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:28px 32px 40px}
h1{margin:0;font-size:26px;letter-spacing:-.01em}h2{font-size:18px;margin:28px 0 10px}h3{font-size:14px;margin:0 0 6px}
.sub{margin:4px 0 0;color:#5b616b}
.warn{background:#fff4e5;border:1px solid #f0b45c;border-radius:8px;padding:4px 16px;margin-top:20px}.warn h2{margin:10px 0 4px}
td.title{white-space:normal;min-width:420px}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:12px;margin-top:20px}
.fact{background:#fff;border:1px solid #e2e4e8;border-radius:8px;padding:12px 14px}
.fact .k{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:#6b717c}
.fact .v{font-size:22px;font-weight:600;margin:2px 0}.fact .d{font-size:12px;color:#5b616b}
table{border-collapse:collapse;background:#fff;border:1px solid #e2e4e8;border-radius:8px;width:100%;font-size:13px}
table.narrow{width:auto;min-width:60%}
th,td{padding:7px 12px;border-bottom:1px solid #eceef1;text-align:left;white-space:nowrap}
thead th{background:#f0f1f4;font-weight:600;color:#3a3f47}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.best{font-weight:700}tr.blend{background:#eef4fb}tr.blend th{font-weight:700}
.note{color:#5b616b;font-size:12px;max-width:1000px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px}
figure{margin:0;background:#fff;border:1px solid #e2e4e8;border-radius:8px;padding:14px}
figure img{width:100%;height:auto;display:block}figcaption{color:#5b616b;font-size:12px;margin-top:6px}
.two{display:grid;grid-template-columns:1fr 1fr;gap:24px}
footer{margin-top:28px;color:#80868f;font-size:11px;word-break:break-word}
"""
