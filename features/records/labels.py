"""Labels: which column of a file holds them (by its name, or `--label-col`), and what its cells mean.

A label is 0 (exclude) or 1 (include); an empty cell, ``-1`` or
``ASReview_not_seen`` marks a record not screened yet (`UNLABELLED_VALUES`).
A RIS file's labels are ASReview's ``N1`` notes, read into
`ris.ASREVIEW_LABEL_COLUMN`; a MEDLINE file has none. `features.records.corpus`
reads records with these.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ScreenstackError
from .columns import named_column
from .ids import pick_column
from .rayyan import RAYYAN_LABEL_COLUMN
from .ris import ASREVIEW_LABEL_COLUMN
from .tables import long_row_note, row_place

# ASReview LAB 2's exports name it asreview_label (1.x's: included), and Rayyan's decisions are read into
# rayyan_inclusion (`features.records.rayyan`): last, so a file with another keeps the column it took
LABEL_COLUMNS = ("judgement", "label_included", "included", "label", "label_abstract_screening", "asreview_label",
                 RAYYAN_LABEL_COLUMN)
LABEL_VALUES = {"0": 0.0, "1": 1.0, "0.0": 0.0, "1.0": 1.0, "false": 0.0, "true": 1.0,
                "asreview_relevant": 1.0, "asreview_irrelevant": 0.0}
# A record not screened yet: ASReview writes -1 or leaves the cell empty (CSV, XLSX) and
# ASReview_not_seen (RIS); a spreadsheet that went through pandas may hold NaN, and R's write.csv writes NA. Compared lower-case.
UNLABELLED_VALUES = {"", "-1", "-1.0", "nan", "na", "asreview_not_seen"}
# Decisions in words: said with the numbers that replace them, not read as those (a file's words are its own to fix).
WORDED_LABELS = {"yes": 1, "y": 1, "include": 1, "included": 1, "relevant": 1,
                 "no": 0, "n": 0, "exclude": 0, "excluded": 0, "irrelevant": 0}
# Words for a record not decided yet, met in review tools' exports: said to be emptied (a record not screened yet).
UNDECIDED_WORDS = {"maybe", "unsure", "uncertain", "undecided", "pending", "unlabeled", "unlabelled", "unscreened",
                   "not screened", "conflict", "tbd", "?", "n/a"}
log = logging.getLogger("screenstack")


def label_column(table: pd.DataFrame, label_col: str | None) -> str | None:
    """The column of `table` that `load_records` reads labels from (`label_col`: as --label-col names it), by its name
    alone (None: none)."""
    columns = list(table.columns)
    kind = table.attrs.get("format")
    if label_col:
        return named_column(label_col, columns, kind)
    if kind == "medline":  # no label tag
        return None
    if kind == "ris":
        return next((c for c in (ASREVIEW_LABEL_COLUMN, RAYYAN_LABEL_COLUMN) if c in columns), None)
    return pick_column(columns, LABEL_COLUMNS)


def screened(column: pd.Series) -> bool:
    """Whether any cell of a label column marks a screened record (not empty, -1 or ASReview_not_seen)."""
    return bool((~_label_cells(column)[2]).any())


def _label_cells(column: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """A label column's cells as read: stripped and lower-cased, as numbers (NaN where not one), and whether each
    marks a record not screened yet."""
    # ranked.csv writes -1 as '-1 (a spreadsheet must not read a leading - as a formula): read it back as -1
    lower = column.astype(str).str.strip().str.replace(r"^'", "", regex=True).str.strip().str.lower()
    # A spreadsheet's number format writes 1 as 1.00 (two decimals), 01 or +1, and with a decimal comma (1,0 or 1,00
    # in a European locale's semicolon CSV): read as the number they are. "1,000" stays an error (a thousand?).
    number = pd.to_numeric(lower.str.replace(r"^([+-]?\d+),(\d{1,2})$", r"\1.\2", regex=True), errors="coerce")
    return lower, number, lower.isin(UNLABELLED_VALUES) | (number == -1.0)


def parse_labels(path: Path, frame: pd.DataFrame, name: str, partly: bool) -> np.ndarray:
    """0/1 labels, NaN where a record is not screened yet (`partly`; otherwise refused, naming --data)."""
    column = frame[name]
    lower, number, unscreened = _label_cells(column)
    values = lower.map(LABEL_VALUES).fillna(number.where(number.isin((0.0, 1.0))))
    unscreened = unscreened.to_numpy()
    bad = np.flatnonzero(values.isna().to_numpy() & ~unscreened)
    if len(bad):
        also = ", or empty, -1 or ASReview_not_seen for a record not screened yet" if partly else ""
        counts = column.iloc[bad].astype(str).str.strip().value_counts(sort=False)  # first seen first: 'no' 243, 'yes' 35
        said = ", ".join(f"{value!r} {count}" for value, count in list(counts.items())[:4]) + (", ..." if len(counts) > 4 else "")
        words = sorted(set(lower.iloc[bad]))
        known = [w for w in words if w in WORDED_LABELS]
        undecided = [w for w in words if w in UNDECIDED_WORDS]  # others ('7', 'incldue') are typos: fixed, not emptied
        typos = [w for w in words if w not in WORDED_LABELS and w not in undecided]
        fixes = [f"replace {', '.join(f'{w!r} with {WORDED_LABELS[w]}' for w in known)} (in a spreadsheet, find and "
                 "replace in that column, matching entire cells" + (": 'include' is also in 'included')" if "include" in known
                                                                    else ")")] if known else []
        if undecided:  # 'maybe', 'unlabeled': a decision not made yet (helper-156 met both, told only "fix")
            named = ", ".join(map(repr, undecided[:3])) + (", ..." if len(undecided) > 3 else "")
            fixes.append(f"empty the cells holding {named} if those records are not decided yet (they are then scored "
                         "and ranked), else fix them or pass another --label-col" if partly else
                         f"fix the rows holding {named}, or, for records not decided yet, empty those cells and give the "
                         "file as `--data FILE` (a partly screened file: its records not screened yet are scored)")
        if typos and not fixes:
            fixes.append("fix those rows or pass another --label-col")
        elif typos:
            fixes.append(f"fix the rows holding {', '.join(map(repr, typos[:3]))}{', ...' if len(typos) > 3 else ''}")
        if any("rayyan-inclusion:" in w for w in words):  # --label-col notes: the notes are read without it
            fixes = ["leave --label-col out: Rayyan's decisions in these notes are read by themselves (into a column "
                     f"{RAYYAN_LABEL_COLUMN!r})"]
        fix = ", and ".join(fixes)
        raise ScreenstackError(
            f"{path}: {row_place(frame, bad[0])}, column {name!r}: label {column.iloc[bad[0]]!r} is not 0 or 1{long_row_note(frame, bad[0])} "
            f"({len(bad)} such: {said}). Labels must be 0 (exclude) or 1 (include){also}: {fix}."
        )
    if unscreened.any() and not partly:
        first = int(np.flatnonzero(unscreened)[0])
        raise ScreenstackError(
            f"{path}: {row_place(frame, first)}, column {name!r}: label {column.iloc[first]!r} marks a record not screened yet "
            f"({int(unscreened.sum())} such); a training file needs every label 0 or 1. Give a partly screened file as "
            "`--data FILE` instead of --train (run, extract, fit-learners): its labelled records train, the others are scored."
        )
    return values.to_numpy(dtype=float)


def check_both_classes(path: str | Path, records: pd.DataFrame) -> None:
    """Refuse labelled records that lack included (1) or excluded (0) ones."""
    present = set(records["label"].astype(int))
    if present != {0, 1}:
        missing = "included (1)" if 1 not in present else "excluded (0)"
        column = (records.attrs.get("columns") or {}).get("label")
        raise ScreenstackError(
            f"{path}: column {column!r} has no {missing} records among {len(records)}. "
            "Training needs both classes: add labelled records of the missing class, or check --label-col."
        )


def _other_label_columns(original: pd.DataFrame, chosen: str):
    """``(name, unscreened)`` for each label column of the file (by name) besides `chosen`: True where a record is not
    screened yet in it."""
    for name in original.columns:
        if name != chosen and str(name).lower() in LABEL_COLUMNS:
            yield str(name), original[name].astype(str).str.strip().str.lower().isin(UNLABELLED_VALUES)


def labelled_label_column(original: pd.DataFrame, chosen: str) -> str | None:
    """Another label column with some record labelled: what --label-col should name where `chosen`, the column
    picked first, labels none (an empty ``label_included`` beside a filled ``included``)."""
    return next((name for name, unscreened in _other_label_columns(original, chosen) if not unscreened.all()), None)


def warn_other_label_column(path: Path, original: pd.DataFrame, chosen: str) -> None:
    """Every record is labelled in `chosen`: say so if another label column holds records not screened yet.

    A dataset's own full labels (``label_included``) kept beside a review tool's
    screening decisions (``included``) would otherwise leave nothing to rank.
    """
    for name, unscreened in _other_label_columns(original, chosen):
        unscreened = int(unscreened.sum())
        if unscreened:
            warnings.warn(f"{path}: column {chosen!r} labels every record, but {_column(name)} "
                          f"{'leave' if name == RAYYAN_LABEL_COLUMN else 'has'} {unscreened} records not "
                          f"screened yet: run again with --label-col {name} (and a new --out) to train on its labels and rank "
                          "those.", stacklevel=3)
            return


def warn_labels_elsewhere(path: Path, original: pd.DataFrame, chosen: str, unscreened: np.ndarray) -> None:
    """Records `chosen` leaves not screened that another label column labels: a reviewer's new labels typed into a
    column of their own (``included`` beside an export's ``label_included``) were scored as not screened, and their
    labels trained nothing, without a word (helper-143)."""
    for name, others_unscreened in _other_label_columns(original, chosen):
        labelled_there = unscreened & ~others_unscreened.to_numpy()
        if labelled_there.any():
            first = int(np.flatnonzero(labelled_there)[0])
            verb = "label" if name == RAYYAN_LABEL_COLUMN else "labels"
            warnings.warn(f"{path}: {_column(name)} {verb} {int(labelled_there.sum())} record(s) that column {chosen!r}, "
                          f"whose labels train, leaves not screened (first: {row_place(original, first)}): they are scored as "
                          f"not screened and their labels train nothing. Copy them into {chosen!r}, or pass --label-col "
                          f"{name} if {'those decisions hold' if name == RAYYAN_LABEL_COLUMN else 'that column holds'} every "
                          "label.", stacklevel=3)
            return


def _column(name: str) -> str:
    """A label column as a warning names it: Rayyan's decisions by where the file holds them (`features.records.rayyan`
    makes the column), not by a name the file lacks (helper-158)."""
    return "Rayyan's decisions in its notes" if name == RAYYAN_LABEL_COLUMN else f"column {name!r}"


def say_labels_unused(path: Path, columns: list[str], label_col: str | None,
                      why: str = "only the training file's labels train; the test records are scored as not screened",
                      table: pd.DataFrame | None = None) -> None:
    """An info line naming the file's label column, if it has one: only the training file's labels train,
    so a test file carrying its answers (a labelled hold-out) is scored as if it had none (`predict`: `why` its own).
    Not for a column of `table` that holds no label (every cell empty, or another mark of a record not screened)."""
    ris = table is not None and table.attrs.get("format") == "ris"  # its asreview_label holds its N1 notes, said below
    name = label_col if label_col in columns else pick_column(columns, [c for c in LABEL_COLUMNS
                                                                         if not (ris and c == ASREVIEW_LABEL_COLUMN)])
    if name is not None and table is not None and name in table.columns and _label_cells(table[name])[2].all():
        return
    if name == RAYYAN_LABEL_COLUMN:  # read from its notes: no column the user sees
        log.info("%s: its Rayyan decisions (RAYYAN-INCLUSION in its notes) are not used: %s", path, why)
    elif name is not None:
        log.info("%s: column %r is not used: %s", path, name, why)
    elif ASREVIEW_LABEL_COLUMN in columns:  # a RIS file's N1 notes, as ASReview writes labels: no column the user sees
        log.info("%s: its ASReview label notes (N1  - ASReview_relevant, ...) are not used: %s", path, why)


def label_source(cols: dict) -> str:
    """Where the labels were read (`cols`: a frame's ``attrs["columns"]``): a column, or a RIS file's ASReview notes
    (no column the user sees)."""
    ris = cols.get("format") == "ris" and cols["label"] == ASREVIEW_LABEL_COLUMN
    if cols["label"] == RAYYAN_LABEL_COLUMN:  # made by `add_rayyan_labels`, which leaves a file's own such column alone
        return "Rayyan's decisions in its notes, agreed ones"
    return "ASReview's N1 label notes" if ris else f"label column {cols['label']!r}"
