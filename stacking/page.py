"""The pieces of HTML both reports are made of, and a prediction's page (`prediction_page`, which `predict` writes).

The run's report (`stacking.report`) adds its figures; a prediction's page has
none, so `predict` writes it without loading matplotlib. Nothing depends on
the clock: the same inputs give the same bytes.
"""
from __future__ import annotations

import html
import os
import re
from pathlib import Path

import pandas as pd

from ..features.errors import quoted
from ..features.records.duplicates import label_words
from .decision import none_counted, not_counted_clause, shift_share


def fact_cards(cards) -> str:
    """Cards of ``(key, value, detail)``, values as HTML."""
    return "".join(f"<div class=\"fact\"><div class=\"k\">{k}</div><div class=\"v\">{v}</div><div class=\"d\">{d}</div></div>"
                   for k, v, d in cards)


def warnings_box(summary: dict) -> str:
    """The stack's warnings, then those given reading the input files (copies, a test file without abstracts), which
    the console showed before the long work and a reviewer reading the report later has not seen."""
    items = "".join(f"<li>{console_words(w)}</li>" for w in summary.get("warnings", []))
    items += "".join(f"<li>reading the records: {console_words(w)}</li>" for w in summary.get("input_warnings", []))
    return f'<section class="warn"><h2>Warnings</h2><ul>{items}</ul></section>' if items else ""


# A command between backticks; its quoted arguments (a path as `quoted` gives it: shlex's single quotes, a quote
# itself between double ones) may hold a backtick themselves.
CODE_SPAN = re.compile(r"""`((?:[^`'"]|'[^']*'|"[^"]*")+)`""")


def console_words(text: str) -> str:
    """A console line as HTML: escaped, each `command` between backticks set as code (helper-178: the page showed the
    backticks themselves).

    >>> console_words("Rerun `screenstack stack --out 'a&b'` to <refit>.")
    'Rerun <code>screenstack stack --out &#x27;a&amp;b&#x27;</code> to &lt;refit&gt;.'
    >>> console_words("`screenstack stack --out '/tmp/a`b' --max-shift 1` keeps it; a lone ` stays")
    '<code>screenstack stack --out &#x27;/tmp/a`b&#x27; --max-shift 1</code> keeps it; a lone ` stays'
    >>> from shlex import quote
    >>> path = quote("it's`x")  # 'it'"'"'s`x'
    >>> console_words(f"`screenstack report --out {path}` and `-q`") == (
    ...     f"<code>screenstack report --out {html.escape(path)}</code> and <code>-q</code>")
    True
    """
    words, start = [], 0
    for span in CODE_SPAN.finditer(text):
        words += [html.escape(text[start:span.start()]), f"<code>{html.escape(span.group(1))}</code>"]
        start = span.end()
    return "".join(words) + html.escape(text[start:])


def at_shift(screening: dict, count: str) -> str:
    """The expected `count` (``expected_flagged`` or ``expected_below``) at the label shift's estimate, where it
    lowered the threshold (the console and summary.json give both)."""
    shifted = screening.get("at_estimated_shift")
    if not shifted:
        return ""
    reaches = " (which the interval reaches)" if count == "expected_below" and shifted.get("below_interval_reaches") else ""
    return f"; at the label shift's estimate ({shift_share(shifted)}), about {shifted[count]:.1f}{reaches}"


def _run_lowered(summary: dict) -> str:
    """Where the run's threshold was itself lowered by the run's label shift, the words that say so (as the console's
    line; helper-170: the page gave the run's threshold alone, flagging 73% of an update without a reason)."""
    before = summary.get("run_threshold_before")  # predictions before 0.3.52 lack it
    if before is None or before <= summary["run_threshold"]:
        return ""
    # The run's own stack command with --max-shift 1 (predictions before 0.3.54 lack it: the bare one, as then).
    command = summary.get("run_unshifted_command") or f"`screenstack stack --out {quoted(summary['run'])} --max-shift 1`"
    command = console_words(command)
    if summary.get("run_stack_made_by"):  # another version's stack: that command stacks anew (helper-176, helper-178)
        return (f", itself lowered for the run's own records to screen by its label shift; {command} makes the stack "
                "again with this version's blend, with the threshold its labelled records alone give")
    return (f", itself lowered for the run's own records to screen by its label shift (its labelled records' own: "
            f"{before:.4g}; {command} keeps that)")


def shown(cell: str) -> str:
    """A ranked.csv cell as the reviewer wrote it: without the quote that kept a spreadsheet from running it."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@", "\t", "\r") else cell


def copy_note(row: pd.Series) -> str:
    """", a copy of labelled 151 (included)" for a ranked.csv row that repeats another record (none before 0.3.13)."""
    copy_of, label = shown(row.get("copy_of", "")), row.get("copy_label", "")
    if not copy_of:
        return ""
    if not label:  # a record to screen, listed earlier
        return f", a copy of {copy_of}"
    return f", a copy of labelled {copy_of} ({label_words(label)})"


def screen_first(top: pd.DataFrame) -> str:
    if top.empty:
        return "<section><h2>Screen these first</h2><p class=\"note\">No records to screen.</p></section>"
    rows = "".join(
        f"<tr><td class=\"num\">{r['rank']}</td><td>{html.escape(shown(r['id']))}</td>"
        f"<td class=\"title\">{html.escape(shown(r['title'])) or '&ndash;'}</td><td class=\"num\">{float(r['probability']):.3f}</td>"
        f"<td class=\"num\">{float(r['expected_included']):.1f}</td><td>{'screen' if r['decision'] == '1' else 'below threshold'}"
        f"{html.escape(copy_note(r))}</td></tr>"
        for _, r in top.iterrows())
    return (f"<section><h2>Screen these first</h2><table><thead><tr><th>rank</th><th>id</th><th>title</th>"
            f"<th>probability</th><th>expected included so far</th><th>decision</th></tr></thead><tbody>{rows}</tbody></table>"
            f"<p class=\"note\">The top {len(top)} rows of ranked.csv, which lists every record to screen by score with "
            f"the input's own columns. Probability: calibrated chance that the record is included; the running sum is "
            f"how many included records reading down to that row should find. A copy (the same title and abstract under "
            f"another id) names the record it repeats: screen each paper once.</p></section>")


TOP = 20  # records listed under "Screen these first"


def prediction_page(out: Path, summary: dict, top: pd.DataFrame) -> str:
    """`predict`'s page for its records (`summary`: its summary.json; `top`: the first rows of its ranked.csv): the
    warnings, what was flagged and what is expected among and below the flagged, and "Screen these first"."""
    n, flagged = summary["n_records"], summary["n_flagged"]
    low, high = summary["expected_below_interval"]
    lowered = summary["threshold"] < summary["run_threshold"]
    cards = [
        ("records scored", f"{n:,}", f"besides {summary['left_out_screened']:,} left out as the run's training records, "
                                     "by their ids (left_out.csv lists them)"),
        ("flagged to screen", f"{flagged:,} of {n:,}",
         "expected relevant among them {:.1f} (95% interval {:.1f}&ndash;{:.1f})".format(
             summary["expected_flagged"], *summary["expected_flagged_interval"]) + at_shift(summary, "expected_flagged")),
        ("relevant left below the threshold", f"{summary['expected_below']:.1f}",
         f"expected; 95% interval {low:.1f}&ndash;{high:.1f}" + at_shift(summary, "expected_below")
         + html.escape(not_counted_clause(summary))),
    ]
    if none_counted(summary):
        cards[1:3] = [("flagged to screen", f"{flagged:,} of {n:,}", html.escape(none_counted(summary))),
                      ("relevant left below the threshold", "not counted", "")]
    cards += [
        ("threshold", f"{summary['threshold']:.4g}",
         f"the run's {summary['run_threshold']:.4g}" + _run_lowered(summary) + (
             ", lowered where these records look richer in included records than the run's (the label shift)"
             if lowered else "")),
    ]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>screenstack predictions: {html.escape(Path(os.path.abspath(out)).name)}</title>
<style>{CSS}</style></head>
<body><main>
<header><h1>screenstack predictions</h1><p class="sub">{html.escape(summary.get("data") or "")} scored with the models of
the run {html.escape(summary["run"])} ({html.escape(summary["blend"])} blend of {html.escape(", ".join(summary["learners"]))});
nothing was fitted again. The run's report.html describes its models and its honest estimate.</p></header>
{warnings_box(summary)}
<section><h2>These records</h2><div class="facts">{fact_cards(cards)}</div>
<p class="note">The expected counts add up these records' probabilities, calibrated on the run's labelled records:
they assume these records hold included records at the rate the labelled ones do (where they look richer, the label
shift's estimate is given beside them).</p></section>
{screen_first(top)}
<footer>versions: {html.escape(", ".join(f"{k} {v}" for k, v in summary.get("versions", {}).items()))}</footer>
</main></body></html>
"""


CSS = """
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
