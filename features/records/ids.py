"""Record ids across files: which id column each file of a ``--train``/``--test`` pair uses, ids compared as a
spreadsheet may have rewritten them, and the checks that keep a submission's ids the test file's own.

``--id-col COL`` names the id column. With ``--train``/``--test`` it is used in
each file that has it, and a file without it keeps its own ``id``, ``record_id``
or ``key`` column, so a test file's ``paper_id`` can be named beside a
training file's ``id`` without renaming either. A file with neither is refused.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ScreenstackError
from .columns import named_column, spelled_alike
from .tables import place

# `key`: Zotero's and Rayyan's CSV exports name each record's own id so, kept from one month's export to the next.
ID_COLUMNS = ("id", "record_id", "key")
ID_COLUMNS_SAID = "id, record_id or key"
# A whole number as a spreadsheet may rewrite it: leading zeros (0151) or a trailing .0 (151.0); a leading ' (a cell
# typed or exported as text, '0151) is no part of the id either.
_NUMBER = re.compile(r"0*(\d+)(?:\.0*)?")
log = logging.getLogger("screenstack")


def pick_column(columns, candidates: tuple[str, ...]) -> str | None:
    """The first of `candidates` (lower case) that `columns` holds in any capitals, as the file spells it; None if none."""
    lower: dict[str, str] = {}
    for column in columns:
        lower.setdefault(str(column).lower(), column)
    return next((lower[c] for c in candidates if c in lower), None)


def id_key(value: str) -> str:
    """An id as compared within and across files: without a leading ``'`` or a ``="..."`` around it (a spreadsheet's
    ways to keep it text: helper-161's ``="0012"`` did not match ``0012``), a whole number without leading zeros or a
    trailing ``.0`` (Excel's rewrites), and regardless of case (a DOI is case-insensitive, and exports differ:
    ``10.1016/J.X`` in one, ``10.1016/j.x`` in the next). One rule for `run`'s checks and `predict`'s matching, so an
    id `run` scores as new `predict` never takes for a training one.

    >>> id_key("1000.0"), id_key("0151"), id_key("W1000"), id_key("'1000"), id_key("'W1000"), id_key('="0012"')
    ('1000', '151', 'w1000', '1000', 'w1000', '12')
    """
    value = value.removeprefix("'")
    if value.startswith('="') and value.endswith('"') and len(value) > 3:
        value = value[2:-1]
    match = _NUMBER.fullmatch(value)
    return match.group(1) if match else value.casefold()


# Web of Science's "Tab delimited file" export names its columns by field tag: its record id is UT (the accession
# number), and its ID column holds Keywords Plus (helper-161: keywords were the ids, `ADHD; CHILDREN; TERM32,1`
# in the submission).
WOS_TAGS = {"pt", "ut", "ti", "so"}


def id_columns(kind: str | None, columns=()) -> tuple[str, ...]:
    """The columns a file of format `kind` with `columns` reads its ids from without --id-col, first found first: a
    PubMed record's id is its PMID, a Web of Science record's its UT (`WOS_TAGS`)."""
    wos = WOS_TAGS <= {str(column).lower() for column in columns}
    return (("ut",) if wos else ()) + ID_COLUMNS + (("pmid",) if kind == "medline" else ())


def pair_id_columns(id_col: str | None, train_path: Path, train_table: pd.DataFrame, test_path: Path,
                    test_table: pd.DataFrame) -> tuple[str | None, str | None]:
    """The ``--id-col`` to read the training and the test file with (None: detect `id_columns`), from the files as
    `read_table` read them.

    `id_col` is used in each file that has it (as `columns.named_column` finds it: but for case, a RIS tag); a
    file without it that has an `id_columns` column (a MEDLINE file's PMID) reads that one, with an info line. A file
    with neither keeps `id_col`, so reading it names the column missing.
    """
    if id_col is None:
        return None, None

    def holds(table: pd.DataFrame) -> bool:  # two columns spelled so but for case: held, for reading it to refuse
        columns = list(table.columns)
        return named_column(id_col, columns, table.attrs.get("format")) is not None or len(spelled_alike(id_col, columns)) > 1

    chosen = []
    for path, table, other in ((train_path, train_table, test_table), (test_path, test_table, train_table)):
        own = pick_column(list(table.columns), id_columns(table.attrs.get("format"), table.columns))
        if not holds(table) and holds(other) and own is not None:
            log.info("%s: no column %r (--id-col): its own id column %r is used", path, id_col, own)
            chosen.append(None)
        else:
            chosen.append(id_col)
    return chosen[0], chosen[1]


def check_test_ids(train_path: Path, train: pd.DataFrame, test_path: Path, test: pd.DataFrame, columns) -> None:
    """Refuse a test file without ids beside a training file with them: its records would get invented ids
    (``test-1``, ...), and a submission of those matches none of the records it scores. `columns`: the test file's."""
    train_col = train.attrs["columns"]["id"]
    if train_col is None or test.attrs["columns"]["id"] is not None:
        return
    guess = next((c for c in columns if str(c).lower().endswith("id")), None)
    flag = f"--id-col {guess}" if guess else "--id-col COL naming the test file's id column"
    add = "give each record an `ID  - ` line" if test.attrs["columns"]["format"] == "ris" else "add an id column"
    raise ScreenstackError(
        f"{test_path}: no id column ({ID_COLUMNS_SAID}; found: {', '.join(map(str, columns))}), but {train_path} "
        f"has one ({train_col!r}), so the test records would get invented ids (test-1, test-2, ...). Rename the test "
        f"file's id column to {train_col!r}, pass {flag} (used in each file that has it), or {add}."
    )


def check_disjoint(train_path: Path, train: pd.DataFrame, test_path: Path, test: pd.DataFrame) -> None:
    """Refuse an id in both files, compared by `id_key` (``1000.0`` in one file is ``1000`` in the other)."""
    train_keys = train["id"].map(id_key)
    test_keys = test["id"].map(id_key)
    shared = test_keys.isin(set(train_keys)).to_numpy()
    if not shared.any():
        return
    id_cols = (train.attrs["columns"]["id"], test.attrs["columns"]["id"])
    same, other = _paper_pairs(train.set_index(train_keys).loc[test_keys[shared]], test[shared])
    # Files numbered separately (each from 0 or 1): other papers under the same ids, where "remove it from one" would
    # throw records away. The submission carries the test file's ids, so the training file's are the ones to change.
    numbered_apart = bool(all(id_cols) and other.sum() > same.sum())  # mostly other papers (helper-144)
    first = int(np.flatnonzero(shared)[np.flatnonzero(other)[0] if numbered_apart else 0])
    record = test["id"].iloc[first]
    train_index = int(np.flatnonzero((train_keys == test_keys.iloc[first]).to_numpy())[0])
    spelled = train["id"].iloc[train_index]
    as_train = "" if spelled == record else f", as {spelled!r}"
    where = (f"{test_path}: {record_place(test, first)}, column {id_cols[1] or 'id'!r}: id {record!r} is also in {train_path} "
             f"({record_place(train, train_index)}{as_train})")
    if numbered_apart:
        unknown = int((~same & ~other).sum())
        counts = "".join([f", {int(same.sum())} the same paper in both (remove those from one file)" if same.any() else "",
                          f", {unknown} without the text to tell" if unknown else ""])
        raise ScreenstackError(
            f"{where}, where it is another paper (another title and abstract); {int(shared.sum())} shared id(s): "
            f"{int(other.sum())} of other papers{counts}. Each record needs an id of its own across both files; the "
            f"submission carries {test_path.name}'s, so give {train_path.name}'s records others in its {id_cols[0]!r} "
            f"(e.g. 'train-' before each: {spelled!r} -> 'train-{str(spelled).strip()}')."
        )
    if not id_cols[0]:  # record numbers as ids (1, 2, ...), which the test file's ids repeat: not the same records
        # (a test file without ids gets test-1, test-2, ..., beside a training file with ids it is refused before)
        raise ScreenstackError(
            f"{where}; {int(shared.sum())} shared id(s): {train_path} has no id column, so its records are numbered 1, 2, "
            f"... as ids, which {test_path}'s ids repeat. Give {train_path} ids of its own (a column of ids, e.g. train-1, "
            "train-2, ...; in a RIS file an `ID  - ` line per record), or pass --id-col naming a column it has.")
    also = f", {int(other.sum())} of them other papers" if other.any() else ""
    raise ScreenstackError(
        f"{where}; {int(shared.sum())} shared id(s){also}. A record cannot be in both train and test: remove it from one "
        f"of them (from {train_path.name} to keep a submission row for every record of {test_path.name})."
    )


def _paper_pairs(train: pd.DataFrame, test: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Row by row, whether a training record and a test record under one id are the same paper (the same title, or
    the same title and abstract: `duplicates.record_keys`, normalised) and whether they are other papers (texts to
    compare, none the same); neither where one of them has no text to compare."""
    from .duplicates import record_keys  # duplicates imports this module

    a, b = record_keys(train.reset_index(drop=True)), record_keys(test.reset_index(drop=True))
    same = np.zeros(len(a), dtype=bool)
    comparable = np.zeros(len(a), dtype=bool)
    for key in ("title_key", "text_key"):  # 0: no title, or no abstract
        both = (a[key].to_numpy() != 0) & (b[key].to_numpy() != 0)
        same |= both & (a[key].to_numpy() == b[key].to_numpy())
        comparable |= both
    return same, comparable & ~same


def record_place(records: pd.DataFrame, index: int) -> str:
    """Where record `index` of `records` (as `load_records` returns them) is in its file, as errors name it."""
    cols = records.attrs["columns"]
    return place(cols["format"], cols["blank_rows"], index)
