"""``ranked.csv``: the records to screen, best first, with their titles and the input's own columns.

Columns: ``rank, id, title, score, decision`` (1 = screen it), ``probability``
(calibrated, `stacking.calibrate`), ``expected_included`` (the running sum of
probabilities down the list: how many included records reading down to that
row should find), ``copy_of`` and ``copy_label`` (the labelled record whose
title and abstract the record repeats under another id, and its label; or,
``copy_label`` empty, the first record to screen it repeats: one paper from
two databases, to screen once), then every column of the input file as it was read (from
`features.artifacts.records.read_screening_records`). Flagged records come
first, then the rest, each part by score, highest first: the threshold keeps
them apart anyway, except for records flagged whatever their score (those
with neither title nor abstract, `stacking.set_apart.flag_without_text`), which
a reviewer reading down to the last ``decision`` 1 would otherwise never
reach. Their score is the empty text's, no learner's judgement, and their
probability the labelled share of included records, so they sit after the
last record with text at least that likely to be included (by their score
they sat anywhere: a helper's first round put 13 of them at ranks 59-71,
probability 0.027, above included records of 0.03). Ties keep the order the records came
(the input file's rows): a stable sort, so the same run gives the same
bytes, and tied ids 146, 153, 1000 are not read as text (1000 before 146).

The file is meant to be opened in a spreadsheet, where a cell starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return runs as a formula (CSV
injection). Such text cells get a leading ``'``, as OWASP recommends, except
plain numbers such as ASReview's ``-1`` label (a spreadsheet reads them as the
number, and a ``'-1`` would no longer read back as "not screened"); the
numbers this module writes never start with one of them.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..features.artifacts import sets
from ..features.artifacts.records import INPUT_PREFIX
from ..features.records.ranked_csv import is_ranked_csv
from .set_apart import without_text

COLUMNS = ["rank", "id", "title", "score", "decision", "probability", "expected_included", "copy_of", "copy_label"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def refuse_edited(out: str | Path, set_name: str, command: str) -> None:
    """Refuse, in one line, to replace ``OUT/ranked.csv`` once it differs from what set `set_name` wrote.

    The reviewer screens from that file, in a spreadsheet that saves it in
    place: notes or decisions typed into it would be lost to a `command` that
    writes the set again. Called before any long work; `features.artifacts.sets`
    refuses the same when any other command's new outputs would remove it.
    """
    out = Path(out)
    sets.refuse_edited(out, [sets.committed(out, set_name)], command, incoming=sets.staged(out, set_name))


def neutralise(cell: str) -> str:
    """`cell` with a leading ``'`` if a spreadsheet would read it as a formula.

    >>> neutralise("=HYPERLINK(1)"), neutralise("-1+cmd|' /C calc'!A0"), neutralise("-1"), neutralise("Aspirin")
    ("'=HYPERLINK(1)", "'-1+cmd|' /C calc'!A0", '-1', 'Aspirin')
    """
    if cell.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def write_ranked(path: str | Path, ids, scores, decisions, probabilities, records: pd.DataFrame | None) -> Path:
    """Write ``ranked.csv`` to `path` (a staging path: the caller commits it); return `path`.

    `ids`, `scores`, `decisions` and `probabilities` are aligned arrays, one
    entry per record to screen, in the input file's order (tied scores keep
    it). `records` is None (no titles: ``title`` is left empty) or the frame
    `read_screening_records` returns, its rows aligned with `ids`: ``id``,
    ``title``, then ``input:NAME`` per column of the input file. An input column equal to ``id`` or ``title`` is left out; one whose
    name is taken by a column above is written as ``NAME (input)``, except that an earlier ranked.csv's own
    columns (``predict --data`` given one) are left out, since this file's replace them. With no
    records, the file is the header alone.

    Examples
    --------
    >>> write_ranked(staging / "ranked.csv", ids, scores, decisions, probabilities, None)  # doctest: +SKIP
    """
    ids = np.asarray(ids).astype(str)
    scores = np.asarray(scores, dtype=float)
    probabilities = np.asarray(probabilities, dtype=float)
    titles = np.full(len(ids), "", dtype=object)
    copy_of, copy_label = titles.copy(), titles.copy()
    extra = pd.DataFrame(index=range(len(ids)))
    if records is not None:
        assert records["id"].astype(str).tolist() == ids.tolist(), "records must be aligned with ids"
        titles = records["title"].fillna("").astype(str).to_numpy(dtype=object)
        if "copy_of" in records:  # records kept before 0.3.13 name no copies
            copy_of, copy_label = (records[name].fillna("").astype(str).to_numpy(dtype=object) for name in ("copy_of", "copy_label"))
        extra = _input_columns(records, ids, titles)
    decisions = np.asarray(decisions, dtype=int)
    # Flagged first, then highest score first, ties in the input's order (lexsort is stable; its last key sorts first).
    # A record without text is flagged whatever its score, which is the empty text's, no learner's judgement, and its
    # probability is the labelled share: it goes after the last record with text at least as likely to be included.
    key, without = scores.copy(), without_text(records)
    if without is not None and without.any():
        likelier = ~without & (probabilities >= probabilities[without].max())
        key[without] = scores[likelier].min() if likelier.any() else np.inf
    order = np.lexsort((np.zeros(len(ids)) if without is None else without, -key, -decisions))
    probabilities = probabilities[order]
    frame = pd.DataFrame({
        "rank": np.arange(1, len(ids) + 1),
        "id": ids[order],
        "title": titles[order],
        "score": [f"{s:.8f}" for s in scores[order]],
        "decision": decisions[order],
        "probability": [f"{p:.6f}" for p in probabilities],
        "expected_included": [f"{e:.3f}" for e in np.cumsum(probabilities)],
        "copy_of": copy_of[order],
        "copy_label": copy_label[order],
    })
    frame = pd.concat([frame, extra.iloc[order].reset_index(drop=True)], axis=1)
    for column in ["id", "title", "copy_of", *extra.columns]:
        frame[column] = frame[column].map(neutralise)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # CRLF rows (RFC 4180): the csv module then quotes a cell holding a bare CR, which it leaves bare under "\n". A
    # byte-order mark: without one, Excel reads a CSV file in the system's code page, and accented titles come out
    # garbled (pandas, and screenstack reading it back, drop the mark).
    frame.to_csv(path, index=False, lineterminator="\r\n", encoding="utf-8-sig")
    return path


def _input_columns(records: pd.DataFrame, ids: np.ndarray, titles: np.ndarray) -> pd.DataFrame:
    """The input file's columns, renamed for ranked.csv: duplicates of id or title dropped, clashing names marked."""
    columns = {}
    inputs = {name: str(name)[len(INPUT_PREFIX):] for name in records.columns if str(name).startswith(INPUT_PREFIX)}
    # A ranked.csv given back (`predict --data` reads one): its rank, score, decision... are an earlier run's,
    # which this file's own columns replace.
    earlier = set(COLUMNS) if is_ranked_csv(inputs.values()) else set()
    for name, original in inputs.items():
        if original.strip().lower() in earlier:
            continue
        values = records[name].fillna("").astype(str).to_numpy(dtype=object)
        # Compared as written: the reader strips ids and titles (" Aspirin\t" is "Aspirin"), and reads ranked.csv's
        # id cell "'=A1" back as the id "=A1", which is written as "'=A1" again.
        shown = [neutralise(value.strip()) for value in values]
        if len(values) and (shown == [neutralise(str(i).strip()) for i in ids] or shown == [neutralise(str(t).strip()) for t in titles]):
            continue  # the same as a column ranked.csv already has
        if not len(values) and original in ("id", "title"):  # no rows to compare: the header a file with rows would have
            continue  # (helper-172: "id (input)" and "title (input)" where no record was to screen)
        columns[original] = values
    # Renamed once all names are known: an input's own "score (input)" beside its "score" keeps both columns.
    taken = set(columns) | set(COLUMNS)
    renamed = {}
    for original, values in columns.items():
        if original in COLUMNS:
            new, n = f"{original} (input)", 2
            while new in taken:
                new, n = f"{original} (input {n})", n + 1
            taken.add(new)
            original = new
        renamed[original] = values
    return pd.DataFrame(renamed, index=range(len(ids)))
