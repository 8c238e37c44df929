"""Reading a search update for `predict`: its records, read with a finished run's text columns, less those the run trained on."""
from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..features.errors import ScreenstackError
from ..features.records.corpus import ABSTRACT_COLUMNS, ID_COLUMNS, TEST_ID_PREFIX, TITLE_COLUMNS, ColumnSpec, Corpus, load_records, read_table
from ..features.records.ids import id_key

if TYPE_CHECKING:
    from .predict import FittedRun

log = logging.getLogger("screenstack")


def load_new_records(run: FittedRun, path: str | Path, id_col: str | None = None,
                     text_cols: tuple[str, ...] | None = None) -> tuple[Corpus, int]:
    """NEW's records as a corpus of test rows only, read with the run's text columns (labels are ignored), and
    how many of NEW's records were left out as the run's training records.

    The run's title and abstract columns may have other names in NEW (``TI``
    and ``AB`` in a RIS update of a CSV run): NEW's own are then read.

    A record whose id is one of the run's training records is left out, with an
    info line: its label is known, and the fold models saw it, so its score
    would be in-sample. A file of such records alone is refused. Ids are
    compared as a spreadsheet may have rewritten them: a number with leading
    zeros or a ``.0`` (``0151``, ``151.0``) is the run's ``151``. A file
    without an id column gets a warning: its overlap cannot be found.
    """
    original = read_table(path).reset_index(drop=True)
    columns = tuple(text_cols) if text_cols else _text_columns_in(list(original.columns), run.text_columns)
    if columns and not text_cols:
        columns = _title_and_present_abstracts(path, list(original.columns), columns, run.text_columns)
    spec = ColumnSpec(id_col, columns, None)
    records = load_records(path, spec, labelled=False, id_prefix=TEST_ID_PREFIX, table=original)
    texts = tuple(records.attrs["columns"]["text"])
    if records.attrs["columns"].get("id") is None:
        warnings.warn(f"{path}: no id column ({' or '.join(ID_COLUMNS)}; found: {', '.join(original.columns)}), so records "
                      "the run trained on (an update's overlap with the last search) cannot be left out and are scored as "
                      "new. Pass --id-col with the column that holds the run's record ids.", stacklevel=2)
    train = {id_key(i): i for i in run.train_ids}
    keys = records["id"].astype(str).map(id_key)
    screened = keys.isin(train.keys()).to_numpy()
    if screened.any():
        _say_screened(path, records, screened, train[keys[screened].iloc[0]])
        records, original = records[~screened].reset_index(drop=True), original[~screened].reset_index(drop=True)
    return Corpus(records.assign(split="test"), original, texts), int(screened.sum())


def _say_screened(path, records: pd.DataFrame, screened: np.ndarray, run_id: str) -> None:
    """Name the first of NEW's records that is one of the run's training records (`run_id`: its id in the run), and
    how many are: one info line, or a refusal when no other record is left (the run's training file, or an update
    with nothing new) or when NEW's ids only number its rows."""
    first = int(np.flatnonzero(screened)[0])
    place = f"record {first + 1}" if records.attrs["columns"]["format"] == "ris" else f"row {first + 2}"  # as the corpus errors count
    ids = records["id"].astype(str)
    named = f"the first: {place}, id {ids.iloc[first]!r}" + (f", the run's {run_id!r}" if run_id != ids.iloc[first] else "")
    # ASReview's record_id numbers an export's rows: a new export's ids then name other records than the run's, and
    # leaving them out would drop new records unseen; so a match is not trusted, and the user names a stable id column.
    numbering = ids.tolist() in ([str(i) for i in range(1, len(ids) + 1)], [str(i) for i in range(len(ids))])
    id_fix = "pass --id-col with a column of ids of their own (a DOI or PubMed id)"
    if screened.all():
        raise ScreenstackError(
            f"{path}: all {len(screened)} records are the run's training records ({named}), already screened, so "
            "there is nothing new to score. Give the search update's file, not the run's training file"
            + (f"; if they are new records, their ids only number the rows, so {id_fix}." if numbering else "."))
    if numbering:
        raise ScreenstackError(
            f"{path}: its ids only number the rows ({ids.iloc[0]}, {ids.iloc[1]}, ...) and {int(screened.sum())} of them "
            f"are ids of the run's training records ({named}), so records already screened cannot be told from new ones: "
            f"{id_fix}, or remove the records already screened.")
    log.info("left out %d of %d records of %s that are the run's training records (%s): their labels are known, and the "
             "run's models saw them", int(screened.sum()), len(screened), path, named)


def _title_and_present_abstracts(path, header: list[str], columns: tuple[str, ...], run_columns: tuple[str, ...]) -> tuple[str, ...]:
    """`columns` (the run's text columns as NEW names them) less the abstract columns NEW lacks, with a warning:
    the run joined them into one abstract, so its records are read as the run read a record with those cells empty.
    A missing title column is refused, naming the names looked for."""
    found = ", ".join(header)
    if columns[0] not in header:
        looked = ", ".join(dict.fromkeys([columns[0], *TITLE_COLUMNS]))
        raise ScreenstackError(f"{path}: no title column (the run read its texts from {', '.join(run_columns)}; looked for "
                               f"{looked}; found: {found}). Rename the file's title column.")
    absent = [c for c in columns[1:] if c not in header]  # the run joined them into the abstract: absent = empty
    if absent:
        what = "no abstract column" if column_roles(absent) == ("abstract",) else f"no column {', '.join(absent)}"
        them, cells = ("it", "that cell") if len(absent) == 1 else ("them", "those cells")
        warnings.warn(f"{path}: {what} (the run read {', '.join(run_columns)}; found: {found}): its records are scored "
                      f"without {them}, as the run scored records with {cells} empty.", stacklevel=3)
    return tuple(c for c in columns if c not in absent)


def column_roles(columns) -> tuple[str, ...]:
    """Text columns by what they hold: any title column is "title", any abstract column "abstract" (e.g. TI, AB in RIS)."""
    lower = [c.lower() for c in columns]
    return tuple("title" if c in TITLE_COLUMNS else "abstract" if c in ABSTRACT_COLUMNS else c for c in lower)


def _text_columns_in(header: list[str], run_columns: tuple[str, ...]) -> tuple[str, ...] | None:
    """The run's text columns as NEW names them: the same names, or NEW's own title and abstract columns
    where the run read title and abstract columns under other names (a CSV run, a RIS update)."""
    lower = {}
    for name in header:
        lower.setdefault(name.lower(), name)
    found = []
    for column, role in zip(run_columns, column_roles(run_columns)):
        candidates = {"title": TITLE_COLUMNS, "abstract": ABSTRACT_COLUMNS}.get(role, ())
        found.append(column if column in header else next((lower[c] for c in candidates if c in lower), column))
    return tuple(found) or None
