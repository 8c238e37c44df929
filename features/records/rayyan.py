"""Rayyan's screening decisions, read from the notes it exports them in.

Rayyan writes each record's decisions into its notes (a CSV export's ``notes``
column, a RIS export's ``N1``), one per reviewer::

    RAYYAN-INCLUSION: {"Alice"=>"Included", "Bob"=>"Maybe"} | RAYYAN-LABELS: RCT

`add_rayyan_labels` turns them into the column `RAYYAN_LABEL_COLUMN`, which
`features.records.labels` reads as labels where the file has no label column of
its own: 1 where every reviewer included the record, 0 where every one excluded
it, and empty (not screened yet: scored and ranked) where a reviewer said Maybe
or the reviewers disagree, as nobody has decided that record yet.
"""
from __future__ import annotations

import re
import warnings

import pandas as pd

RAYYAN_LABEL_COLUMN = "rayyan_inclusion"
INCLUSION = re.compile(r"RAYYAN-INCLUSION:\s*\{([^}]*)\}")
DECISION = re.compile(r'"[^"]*"\s*=>\s*"([^"]*)"')
LABELS = {frozenset({"included"}): "1", frozenset({"excluded"}): "0"}


def add_rayyan_labels(frame: pd.DataFrame, path, place) -> None:
    """Add `RAYYAN_LABEL_COLUMN` to `frame` (a file `path` read by `read_table`) where its notes hold Rayyan's
    decisions; warn of the records whose decisions say Maybe or disagree. `place(index)`: a row's place in the file."""
    notes = next((c for c in frame.columns if str(c).lower() in ("notes", "n1")), None)
    if notes is None or RAYYAN_LABEL_COLUMN in frame.columns:
        return
    found = frame[notes].astype(str).str.extract(INCLUSION, expand=False)
    if found.isna().all():
        return
    decisions = found.fillna("").map(lambda inner: frozenset(d.strip().lower() for d in DECISION.findall(inner)))
    frame[RAYYAN_LABEL_COLUMN] = decisions.map(lambda made: LABELS.get(made, ""))
    undecided = (decisions.map(len) > 0) & (frame[RAYYAN_LABEL_COLUMN] == "")
    if undecided.any():
        first = int(undecided.to_numpy().nonzero()[0][0])
        warnings.warn(f"{path}: {int(undecided.sum())} record(s) have Rayyan decisions that say Maybe or disagree (first: "
                      f"{place(first)}, {{{found.iloc[first].strip()}}}): they are scored and ranked as not screened yet. "
                      "Settle them in Rayyan and export again to train on them.", stacklevel=3)
