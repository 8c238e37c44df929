"""A delimited file's header row: the columns it names, and what it asks of the rows below it.

`features.records.tables` reads rows against a `Header`: rows of the wrong
width, data under a column without a name, the header repeated by pasted
exports, and NUL bytes are named here, each with its fix.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path


class Header:
    """A header row as read, and what it asks of the rows below it.

    Trailing columns without a name (``id,title,abstract,,``, as Excel exports
    columns that were once used) are dropped, so long as no row has data there;
    `names` are the columns kept, each named once (`unique_names`).
    """

    def __init__(self, raw: list[str]):
        self.raw = raw
        width = len(raw)
        while width > 1 and not raw[width - 1].strip():
            width -= 1
        self.names = unique_names(raw[:width])
        self._stripped = [cell.strip() for cell in raw[:width]]
        # For a cheap look at each row's first cell: only one starting like a header name is normalised.
        self.normalized = {header_name(cell) for cell in raw[:width]}
        self.first_chars = {c for name in self.normalized for c in (name[:1], name[:1].upper())} | {"\ufeff", '"', " ", "\t"}
        self._sorted = sorted(header_name(cell) for cell in raw[:width])

    def problem(self, row: list[str], row_number: int, width_fix: str) -> str | None:
        """What is wrong with data row `row` (sheet row `row_number`), or None; `row` is cut or padded to `names` in place.

        A row may end early (old Excel leaves out a row's trailing empty cells:
        they are padded here, and `ShortRows` refuses rows that could be one
        record split by a line break), or run past the header with empty cells
        (a trailing separator), but not hold data where no name is.
        `width_fix`: how the file was read, and what to check, for a row of the wrong width.
        """
        width, named = len(self.raw), len(self.names)
        if len(row) < named:
            row.extend([""] * (named - len(row)))
        filled = [col for col in range(named, len(row)) if row[col].strip()]
        if filled and reads_as_a_record(self.raw):  # a first record, not yet screened, taken for the header row
            return headerless(self.raw)
        named_here = [cell.strip() for cell in row if header_name(cell) in _TEXT_COLUMNS] if filled else []
        if named_here and not _TEXT_COLUMNS & self.normalized:  # a title line above the header, as some exports add
            return (f"row {row_number} looks like the header row (it names {', '.join(named_here)}), but the first "
                    f"row ({self.shown()}) is read as the header. Delete the rows above row {row_number}")
        if filled and filled[-1] >= width:
            return f"row {row_number} has {len(row)} fields but the header has {width} ({self.shown()}), {width_fix}"
        if filled:
            return (f"column {filled[0] + 1} has no name in the header row, but row {row_number} has data there "
                    f"({row[filled[0]][:40]!r}). Name the column in the header row, or delete its data")
        if row[0][:1] in self.first_chars and self.repeated_by(row):  # as the reader looks: only a row starting like a name
            return self.repeated_problem(row_number)
        del row[named:]
        return None

    def shown(self) -> str:
        """The header's columns, as an error lists them."""
        width, named = len(self.raw), len(self.names)
        return ", ".join(self.names) + (f", and {width - named} without a name" if width > named else "")

    def repeated_problem(self, row_number: int) -> str:
        return (f"row {row_number} repeats the header row ({', '.join(self._stripped)[:80]}), as when two exports are "
                "pasted together. Delete that second header line, or export the records once")

    def repeated_by(self, row: list[str]) -> bool:
        """Whether `row` is this header again, as another export writes it: its own BOM (which keeps its quotes
        as text), other capitals, the columns in another order."""
        return sorted(header_name(cell) for cell in row[: len(self.names)]) == self._sorted


def reads_as_a_record(columns: list) -> bool:
    """Whether a header reads as a record written without its header row (``header=False``): a cell as long as a
    title or an abstract, or a first cell that is a number, as an id is."""
    cells = [str(c).strip() for c in columns]
    return any(len(c) > 80 for c in cells) or bool(cells and re.fullmatch(r"\d+(\.0)?", cells[0]) and len(cells) > 1)


def headerless(columns: list) -> str:
    """The refusal of a file whose first row `reads_as_a_record`, with the fix (without the file's name)."""
    cut = [str(c) if len(str(c)) <= 40 else str(c)[:37] + "..." for c in columns[:3]]
    cells = ", ".join(map(repr, cut)) + (", ..." if len(columns) > 3 else "")
    return (f"its first row looks like a record, not a header row naming the columns (it reads {cells}). Add a header "
            "row above it: id,title,abstract (and the label column, judgement or label_included, in a training file), "
            "in the order of its columns")


_TEXT_COLUMNS = {"title", "abstract"}  # a row naming one is a header, whatever else the file calls its columns


def header_name(cell: str) -> str:
    """A header cell as compared with another export's: no BOM, spaces or quotes, case folded."""
    return cell.strip().lstrip("\ufeff").strip().strip('"').strip().casefold()


def nul_problem(row: list[str], row_number: int, header: Header | None) -> str | None:
    """A cell of `row` holding a NUL byte (a binary or damaged file read as text), named; None if none does."""
    col = next((col for col, cell in enumerate(row) if "\x00" in cell), None)
    if col is None:
        return None
    if header is None:
        where = f"the header row, column {col + 1},"
    elif col < len(header.names):
        where = f"row {row_number}, column {header.names[col]!r}"
    else:
        where = f"row {row_number}, field {col + 1},"
    return (f"{where} holds a NUL byte: a binary or damaged file read as text. "
            "Re-export the file as CSV UTF-8 (Excel: File > Save As > CSV UTF-8)")


def unique_names(header: list[str]) -> list[str]:
    names: list[str] = []
    for i, name in enumerate(header):
        name = name.strip() or f"Unnamed: {i}"
        base, n = name, 1
        while name in names:
            name, n = f"{base}.{n}", n + 1
        names.append(name)
    return names


def warn_duplicate_names(path: Path, raw: list[str], header: list[str]) -> None:
    """Say when a header names a column twice: only the first copy is found by its name."""
    seen: dict[str, int] = {}
    for i, name in enumerate(raw):
        name = name.strip()
        if not name:
            continue
        first = seen.get(name.lower())
        if first is not None and raw[first].strip() == name:
            other = f" (the other is column {header[i]!r})" if header[i] != name else ""
            warnings.warn(f"{path}: the header names column {name!r} twice (columns {first + 1} and {i + 1}); "
                          f"only the first is read under that name{other}. Rename one if the other was meant.", stacklevel=4)
        elif first is not None:
            # both names are kept: a flag spelling the later one as the header does reads it, while a name
            # looked for regardless of case (a detected title, abstract or label column) finds the first
            warnings.warn(f"{path}: the header names columns {raw[first].strip()!r} and {name!r} (columns {first + 1} "
                          f"and {i + 1}), alike but for case; a column found by its name reads the first, one named as "
                          f"spelt (in --text-cols, --label-col or --id-col, or as the run's own column where predict "
                          "reads an update) reads that one. Rename one if the other was meant.", stacklevel=4)
        else:
            seen[name.lower()] = i
