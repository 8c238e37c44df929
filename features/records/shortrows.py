"""Rows shorter than the header: old Excel's rows without their trailing empty cells, or one record split by a line break.

Old Excel versions save a row without the separators of its trailing empty
cells, so the reader pads such a row with empty cells. A line break inside an
unquoted field also gives short rows, though: the record's pieces, each short,
whose cells together make one row of the header's width. `ShortRows` collects
the short rows as the reader pads them and names the first run of rows that
could be such pieces, so that file is refused as before rather than read as
records made of fragments.
"""
from __future__ import annotations

import re


class ShortRows:
    """The short data rows of one file, in file order, and whether any could be the pieces of one split record.

    A record of `width` fields split at k - 1 line breaks into k rows has
    ``width + k - 1`` cells in all (a split field counts in two rows). So a run
    of adjacent data rows (blank rows between them do not count: they may be
    blank lines inside the split field) in which every row after the first is
    short, and whose ``sum(fields - 1)`` is ``width - 1``, could be one record.
    The first row may be a full one: a paragraph break in the last column
    leaves the record's start full width and its end a short row.
    """

    def __init__(self, width: int):
        self.width = width
        self.rows: list[tuple[int, int, int, int | None]] = []  # (data index, sheet row, fields, sheet row of the row before)

    def add(self, index: int, row_number: int, fields: int, previous_row: int | None) -> None:
        """Note data row `index` (sheet row `row_number`, `fields` cells; `previous_row`: the sheet row of the data row
        before it, None for the first)."""
        self.rows.append((index, row_number, fields, previous_row))

    def split_record(self) -> list[tuple[int, int]] | None:
        """The first run of rows that could be one split record, as ``[(sheet row, fields), ...]``, or None."""
        chain: list[tuple[int, int]] = []  # (sheet row, fields) of the current run, the full row before it first
        starts: dict[int, int] = {}  # sum of fields - 1 over the run's rows before position i -> the first such i
        total, last_index = 0, None
        for index, row_number, fields, previous_row in self.rows:
            if last_index is None or index != last_index + 1:  # a new run, from the (full) data row before this one
                chain, starts, total = [], {}, 0
                if previous_row is not None:
                    starts[0] = 0
                    chain.append((previous_row, self.width))
                    total = self.width - 1
            last_index = index
            starts.setdefault(total, len(chain))
            chain.append((row_number, fields))
            total += fields - 1
            start = starts.get(total - (self.width - 1))
            if start is not None and start < len(chain) - 1:  # two rows or more, ending with this short one
                return chain[start:]
        return None

    def problem(self, names: str) -> str | None:
        """The message naming the first run of rows that could be one split record, or None (`names`: the header's
        columns, as the width message shows them)."""
        pieces = self.split_record()
        if pieces is None:
            return None
        rows = ", ".join(str(row) for row, _ in pieces[:-1]) + f" and {pieces[-1][0]}"
        counts = ", ".join(str(fields) for _, fields in pieces[:-1]) + f" and {pieces[-1][1]}"
        return (f"rows {rows} have {counts} fields: read together they are one row of the header's {self.width} ({names}), "
                "as when a line break inside an unquoted field splits a record, so they cannot be read as rows that old Excel "
                "saved without their trailing empty cells. Quote the field that holds the line break, or, if the rows only "
                "lack empty cells, re-save the file from a current spreadsheet")


WHOLE_NUMBER = re.compile(r"\d+")


def merged_rows_warning(path, frame, id_col: str, sep: str, short_rows: list[tuple[int, int, int, int | None]],
                        row_of) -> str | None:
    """A warning where records of a delimited file look read into another or out of one, or None. Told only by ids
    that are whole numbers (in all rows but one in ten at most, and three or more), as most exports' are.

    Two ways a file reads without an error and loses a record (helper-161): a field opened by a quote that is not
    closed where the field ends takes the lines after it, whole rows, up to the next quote before a separator (the
    record then has the last one's later cells, its label among them, and the rows between are gone): a line of such
    a field reads as a row, as many fields as the header or one fewer, with an id between this row's and the next
    row's, which no row has; and a line break inside an unquoted field, with a separator after it, splits a record
    into a short row and one whose id is text (`short_rows`: `ShortRows.rows`, the padded rows as read).
    `row_of(index)`: the sheet row of data row `index`.
    """
    ids = [str(cell).strip() for cell in frame[id_col]]
    filled = [cell for cell in ids if cell]
    numbers = sum(bool(WHOLE_NUMBER.fullmatch(cell)) for cell in filled)
    names = [str(name) for name in frame.columns]
    if len(names) < 3 or numbers < 3 or len(filled) - numbers > max(1, len(filled) // 10):
        return None
    known, at = set(filled), names.index(str(id_col))
    for name in names:
        if name == str(id_col):
            continue
        for index, cell in enumerate(frame[name]):
            if not isinstance(cell, str) or ("\n" not in cell and "\r" not in cell) or index + 1 >= len(ids):
                continue
            low, high = ids[index], ids[index + 1]
            if not (WHOLE_NUMBER.fullmatch(low) and WHOLE_NUMBER.fullmatch(high)):
                continue
            low, high = sorted((int(low), int(high)))
            for line in re.split(r"\r\n|\r|\n", cell)[1:]:
                parts = line.split(sep)
                token = parts[at].strip() if len(parts) > at else ""
                if (len(names) - 1 <= len(parts) <= len(names) and WHOLE_NUMBER.fullmatch(token) and token not in known
                        and low < int(token) < high):
                    return (f"{path}: row {row_of(index)}, column {name!r} holds a line that reads as a row of its own "
                            f"({line[:60]!r}: {id_col} {token}, between this row's and the next one's, which no row has): "
                            "a quote opened in that field may not be closed where it ends, so the rows after it were read "
                            "into it (and its later cells taken from the last of them). Check that row's quotes")
    for index, row_number, _, previous_row in short_rows:
        # The record split at `split` (a sheet row): this short row is its rest, or the row after this short one is.
        for suspect, split, short in ((index, previous_row, "it"), (index + 1, row_number, f"row {row_number}")):
            first = ids[suspect] if suspect < len(ids) else ""
            if first and not WHOLE_NUMBER.fullmatch(first) and split is not None:
                return (f"{path}: row {row_of(suspect)} has {id_col} {first[:40]!r} where the other rows' is a whole "
                        f"number, right after row {split}, and {short} has fewer fields than the header: a line break "
                        f"inside an unquoted field of row {split} may have split that record in two, the rest of it read "
                        "as a record of its own. Quote the field that holds the line break")
    return None
