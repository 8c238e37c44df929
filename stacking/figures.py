"""The report's figures: matplotlib, drawn to PNG bytes with nothing that depends on the clock or the build.

`draw_figures` takes the stack summary, the OOF labels and every learner's and
the blend's OOF scores; `stacking.report` writes the bytes as files and embeds
them in the page.
"""
from __future__ import annotations

import io
import textwrap

import matplotlib

matplotlib.use("Agg")  # files only: never open a window, work on machines without a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import precision_recall_curve  # noqa: E402

from .metrics import wss  # noqa: E402
from .threshold import fbeta_curve  # noqa: E402

BLEND = "blend"
BLEND_COLOR, RANDOM_COLOR = "#111111", "#9a9a9a"
PALETTE = plt.get_cmap("tab10").colors
NAME_WIDTH = 24  # characters on one line of a learner's name in a figure
_LABEL_BOX = {"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": "#cccccc", "alpha": 0.9}


def draw_figures(summary: dict, y: np.ndarray, scores: dict[str, np.ndarray]) -> dict[str, tuple[str, str, bytes]]:
    """The report's figures as ``key -> (title, caption, PNG bytes)``; `scores` holds each learner's OOF scores and ``"blend"``'s."""
    beta = summary["beta"]
    names = list(scores)
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    threshold = float(summary["threshold"])
    lowered = (summary.get("honest") or {}).get("threshold_lowered_by") or []  # label shift (and the recall check, before 0.3.20)
    figures = {
        "fbeta_threshold": ("F-beta against threshold", f"The blend's OOF F{beta:g}, recall and precision at every threshold; "
                            + (f"the line marks the threshold applied to the records to screen, which the "
                               f"{' and the '.join(lowered)} lowered from the one chosen on these records: the values "
                               "at the line are not optimistic, and the honest estimate is of the threshold before."
                               if lowered else
                               "the line marks the chosen threshold, applied unchanged to the test records. Read on the "
                               "records that chose it, the values at the line are optimistic: the honest estimate is "
                               "what to expect."),
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
    return {key: (title, caption, _png(fig)) for key, (title, caption, fig) in figures.items()}


def _figure(width: float = 6.4, height: float = 4.2):
    fig, ax = plt.subplots(figsize=(width, height), dpi=110, layout="constrained")
    ax.grid(True, color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _label(name: str) -> str:
    """A learner's name as drawn: lines of at most `NAME_WIDTH` characters, broken after hyphens. A fine-tuned
    learner's name holds its model's (`finetune-biomednlp-pubmedbert-base-uncased-abstract-linear`): on one line it
    made the legend wider than the figure, and constrained layout squeezed the precision-recall axes to a strip
    (helper-180)."""
    return "\n".join(textwrap.wrap(name, NAME_WIDTH)) or name


def _legend_below(ax) -> None:
    """A legend under the axes: curves near the top right (good models) are never hidden by it."""
    labels = ax.get_legend_handles_labels()[1]
    widest = max((len(line) for label in labels for line in label.split("\n")), default=0)
    ncol = min(4 if widest <= 18 else 3, len(labels))  # four columns of the longest line fit the figure's width
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
    said = "" if (summary.get("honest") or {}).get("threshold_lowered_by") else " (optimistic)"  # lowered: not chosen here
    ax.annotate(f"threshold {threshold:.4g}\nOOF F{beta:g} {best:.3f}{said}", xy=(threshold, best), xytext=(8, -30),
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
                linewidth=2.2 if is_blend else 1.1, alpha=1 if is_blend else 0.85, label=_label(name), zorder=3 if is_blend else 2)
    ax.plot([0, 1], [0, 1], color=RANDOM_COLOR, linestyle=":", linewidth=1.2, label="random order")
    ax.axhline(0.95, color=RANDOM_COLOR, linewidth=0.8, linestyle="--")
    saved = wss(y, scores[BLEND])  # the table's figure; the blend's curve reaches 95% recall at 1 - 0.05 - saved
    read = 0.95 - saved
    ax.annotate("", xy=(read, 0.95), xytext=(0.95, 0.95),
                arrowprops={"arrowstyle": "<->", "color": PALETTE[0], "linewidth": 1.2})
    ax.text((read + 0.95) / 2, 0.91, f"WSS@95 {saved:.3f}", ha="center", va="top", fontsize=9,
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
                alpha=1 if is_blend else 0.85, label=_label(name), zorder=3 if is_blend else 2, drawstyle="steps-post")
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
    wrapped = any(len(n) > NAME_WIDTH for n in names)  # names on several lines: slanted, they run into each other
    ax.set_xticks(range(len(names)), [_label(n) for n in names], rotation=90 if wrapped else 30,
                  ha="center" if wrapped else "right", fontsize=9)
    ax.set_yticks(range(len(names)), [_label(n) for n in names], fontsize=9)
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
    ax.barh([_label(n) for n in names], [weights[n] for n in names], color=[colors[n] for n in names])
    ax.axvline(0, color="#444444", linewidth=0.8)
    ax.invert_yaxis()
    for i, n in enumerate(names):
        ax.text(weights[n], i, f" {weights[n]:.3g}", va="center", ha="left" if weights[n] >= 0 else "right", fontsize=9)
    ax.set(xlabel=f"weight in the {summary['blend']['method']} blend")
    ax.margins(x=0.15)
    return fig
