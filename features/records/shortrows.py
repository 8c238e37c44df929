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
