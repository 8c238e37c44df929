"""Rayyan's screening decisions, read from the notes it exports them in.

Rayyan writes each record's decisions into its notes (a CSV export's ``notes``
column, a RIS export's ``N1``), one per reviewer::

    RAYYAN-INCLUSION: {"Alice"=>"Included", "Bob"=>"Maybe"} | RAYYAN-LABELS: RCT

`add_rayyan_labels` turns them into the column `RAYYAN_LABEL_COLUMN`
(``rayyan_inclusion``: messages name it, ranked.csv shows it, --label-col may
name it), which `features.records.labels` reads as labels where the file has no
label column of its own: 1 where every reviewer included the record, 0 where every one excluded
it, and empty (not screened yet: scored and ranked) where a reviewer said Maybe
or the reviewers disagree, as nobody has decided that record yet.
"""
from __future__ import annotations

import re
import warnings

import pandas as pd

RAYYAN_LABEL_COLUMN = "rayyan_inclusion"
# The braces around quoted "name"=>"decision" pairs: a name may hold a brace, a quote escaped as \", and what follows
# the closing brace may be another section (" | "), another RIS N1 line ("; ") or a line break.
QUOTED = r'"(?:[^"\\]|\\.)*"'
# Each run of spaces read one way only (helper-159: a pair ending in spaces before `\s*\}` took 37 s on 200,000 of them)
PAIR = rf"\s*{QUOTED}\s*=>\s*{QUOTED}"
INCLUSION = re.compile(rf"RAYYAN-INCLUSION:\s*\{{((?:{PAIR}(?:\s*,{PAIR})*)?)\s*\}}")
DECISION = re.compile(rf'{QUOTED}\s*=>\s*"((?:[^"\\]|\\.)*)"')
LABELS = {frozenset({"included"}): "1", frozenset({"excluded"}): "0"}


def add_rayyan_labels(frame: pd.DataFrame) -> None:
    """Add `RAYYAN_LABEL_COLUMN` to `frame` (as `read_table` read it) where its notes hold Rayyan's decisions, and keep
    in ``frame.attrs["rayyan_undecided"]`` the rows whose decisions say Maybe or disagree (`warn_undecided`)."""
    notes = next((c for c in frame.columns if str(c).lower() in ("notes", "n1")), None)
    if notes is None or RAYYAN_LABEL_COLUMN in frame.columns:
        return
    cells = frame[notes].astype(str)
    marked = cells.str.contains("RAYYAN-INCLUSION", regex=False)
    if not marked.any():
        return
    found = cells.str.extract(INCLUSION, expand=False)
    decisions = found.fillna("").map(lambda inner: frozenset(d.strip().lower() for d in DECISION.findall(inner)))
    frame[RAYYAN_LABEL_COLUMN] = decisions.map(lambda made: LABELS.get(made, ""))
    # Maybe, a conflict, or decisions in a form not read (said, not passed over as records nobody screened)
    undecided = (marked & (frame[RAYYAN_LABEL_COLUMN] == "") & ((decisions.map(len) > 0) | found.isna())).to_numpy()
    frame.attrs["rayyan_undecided"] = [(int(i), "{" + found.iloc[i].strip() + "}" if isinstance(found.iloc[i], str)
                                        else _shown(cells.iloc[i])) for i in undecided.nonzero()[0]]


def _shown(cell: str) -> str:
    """A notes cell whose decisions were not read, as the warning quotes it: from RAYYAN-INCLUSION, at most 80 characters."""
    part = cell[cell.index("RAYYAN-INCLUSION"):]
    return repr(part if len(part) <= 80 else part[:77] + "...")


def warn_undecided(path, frame: pd.DataFrame, place) -> None:
    """Where a partly screened file's labels are read from Rayyan's notes: a warning counting the records whose
    decisions say Maybe or disagree, which are scored as not screened yet. `place(index)`: a row's place in the file."""
    undecided = frame.attrs.get("rayyan_undecided") or []
    if undecided:
        first, said = undecided[0]
        warnings.warn(f"{path}: {len(undecided)} record(s) have Rayyan decisions that say Maybe, disagree or cannot be read (first: "
                      f"{place(first)}, {said}): they are scored and ranked as not screened yet. Settle them in Rayyan "
                      "and export again to train on them.", stacklevel=3)
