"""Read the files people bring (CSV, TSV, XLSX, RIS) into frames of strings, with errors that name the fix.

`read_table` is the one entry point; `features.records.corpus` turns its frame
into records (ids, texts, labels). Separators are sniffed from the header,
fields may be of any size, binary files passed off as text are named for what
they are, and a RIS file's ASReview label note becomes a column.
"""
from __future__ import annotations

import csv
import io
import logging
import re
import warnings
from pathlib import Path

import pandas as pd

from ..errors import ScreenstackError

# A .tsv/.tab file is tab-separated; any other text file (.csv included: Excel
# in European locales writes semicolons, and tab-separated exports are often
# named .csv) has its separator sniffed from the header. First wins a tie.
DECLARED_SEPARATORS = {".tsv": "\t", ".tab": "\t"}
SNIFFED_SEPARATORS = {",": "comma", "\t": "tab", ";": "semicolon"}
# ASReview keeps a RIS record's label in an N1 note, among the record's other notes; the last one counts,
# as in ASReview's reader. `_read_ris` puts it in this column, which `load_records` then reads as labels.
ASREVIEW_NOTE = re.compile(r"\bASReview_(?:relevant|irrelevant|not_seen)\b", re.IGNORECASE)
ASREVIEW_LABEL_COLUMN = "asreview_label"
log = logging.getLogger("screenstack")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV/TSV/XLSX/RIS file into a frame of strings, with errors that name the fix.

    Empty cells are ``""``. ``frame.attrs["format"]`` says which reader was used
    (``csv``, ``tsv``, ``xlsx`` or ``ris``). A ``.tsv``/``.tab`` file is read as
    tab-separated; any other text file's separator (comma, tab or semicolon) is
    sniffed from its header row, or taken from an Excel ``sep=;`` first line.
    """
    path = Path(path)
    if path.is_dir():
        raise ScreenstackError(f"{path}: is a folder, not a file. Give the path of a CSV, TSV, XLSX or RIS file.")
    if not path.is_file():
        raise ScreenstackError(f"{path}: no such file. Check the path, or run `screenstack split` to make train/test files.")
    if path.stat().st_size == 0:
        raise ScreenstackError(f"{path}: the file is empty. Give a file with a header row and at least one record.")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise ScreenstackError(f"{path}: old-style .xls workbooks are not supported. Save it as .xlsx or .csv.")
    if suffix == ".xlsx":
        frame, kind = _read_xlsx(path), "xlsx"
    elif suffix == ".ris":
        frame, kind = _read_ris(path), "ris"
    else:
        raw = path.read_bytes()
        _refuse_binary(path, raw)
        frame = _read_delimited(path, raw, DECLARED_SEPARATORS.get(suffix))
        kind = "tsv" if frame.attrs["separator"] == "\t" else "csv"
    if frame.empty:
        what = "no RIS records (each starts with a `TY  - ` line)" if kind == "ris" else "a header but no records"
        raise ScreenstackError(f"{path}: the file has {what}. Give at least one record.")
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.attrs["format"] = kind
    return frame


# Leading bytes of files that are not text, though they may end in .csv: what they are and what to do.
_BINARY_KINDS = (
    (b"PK\x03\x04", "an Excel .xlsx workbook or another zip archive", "If it is a workbook, rename it to .xlsx, or save it as CSV UTF-8"),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel .xls workbook", "Save it as .xlsx or as CSV UTF-8"),
    (b"\x1f\x8b", "gzip-compressed", "Decompress it first (gunzip)"),
    (b"PAR1", "a Parquet file", "Give the CSV, TSV, XLSX or RIS file of the records"),
)


def _refuse_binary(path: Path, raw: bytes) -> None:
    """Name a binary file given as a text table, instead of reporting its bytes as a quoting error."""
    for magic, what, fix in _BINARY_KINDS:
        if raw.startswith(magic):
            raise ScreenstackError(f"{path}: is {what}, not a text table. {fix}.")


def _sniff_separator(text: str) -> str:
    """The separator of `SNIFFED_SEPARATORS` found most often in the header row, outside quotes.

    Only the header is read: it is short, rarely quoted, and decides the
    columns; a data row may hold a megabyte of abstract full of commas.
    """
    counts = dict.fromkeys(SNIFFED_SEPARATORS, 0)
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted  # a doubled quote toggles twice: still right
        elif not quoted:
            if ch in "\r\n":
                break
            if ch in counts:
                counts[ch] += 1
    return max(counts, key=counts.get)  # max keeps the first of equal counts: comma


def _read_delimited(path: Path, raw: bytes, sep: str | None) -> pd.DataFrame:
    """Parse a delimited text file; `sep` None: sniffed from the header (or an Excel ``sep=`` line)."""
    by_suffix = sep is not None
    try:
        text, bad = raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        # Decode again keeping the bad bytes as surrogates, so parsing can say
        # which row and column hold them instead of a byte offset.
        text, bad = raw.decode("utf-8-sig", errors="surrogateescape"), error
    if text[:4].lower() == "sep=" and text[5:6] in ("\r", "\n", ""):
        # Excel's "sep=;" first line names the separator; it is not a row (Excel does not show it).
        sep, text = text[4], text[5:].lstrip("\r").removeprefix("\n")
    sniffed = sep is None
    sep = _sniff_separator(text) if sniffed else sep
    kind = "TSV" if sep == "\t" else "CSV" if sep == "," else f"{SNIFFED_SEPARATORS.get(sep, repr(sep))}-separated CSV"
    how = f" (the {SNIFFED_SEPARATORS[sep]} separator was detected from the header row)" if sniffed else ""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    rows: list[list[str]] = []
    last_line = 0
    # csv refuses fields over 128 KiB by default, but one abstract can be longer;
    # no field is longer than the file. The limit is global to the process: restore it.
    old_limit = csv.field_size_limit(min(max(len(text) + 1, csv.field_size_limit()), 2**31 - 1))
    try:
        for row in reader:
            last_line = reader.line_num
            if row and any(cell.strip() for cell in row):
                rows.append(row)
    except csv.Error as error:
        where = "the header row" if not rows else f"row {len(rows) + 1}"
        if "unexpected end of data" in str(error):
            problem = f"a quote opened on line {last_line + 1} is never closed"
        else:
            problem = f"bad quoting on line {reader.line_num} ({_one_line(error)})"
        raise ScreenstackError(
            f"{path}: cannot parse {where} as {kind}{how}: {problem}. "
            "Double the quotes inside quoted fields or close the quote, or re-save the file from a spreadsheet."
        )
    finally:
        csv.field_size_limit(old_limit)
    if not rows:
        raise ScreenstackError(f"{path}: the file has no header row. Give a file with a header row and at least one record.")
    header = _unique_names(rows[0])
    if by_suffix and len(header) == 1 and (other := next((c for c in SNIFFED_SEPARATORS if c != sep and c in rows[0][0]), None)):
        raise ScreenstackError(
            f"{path}: read as {kind} for its {path.suffix} ending, but its header has no {SNIFFED_SEPARATORS.get(sep, repr(sep))}s "
            f"and holds {SNIFFED_SEPARATORS[other]}s ({rows[0][0][:60]!r}). Rename it to .csv, whose separator is detected."
        )
    _warn_duplicate_names(path, rows[0], header)
    if bad is not None:
        _raise_undecodable(path, header, rows, bad)
    records = []
    for index, row in enumerate(rows[1:]):
        if len(row) > len(header) and not any(cell.strip() for cell in row[len(header):]):
            row = row[: len(header)]  # a trailing separator, not a real extra field
        if len(row) != len(header):
            raise ScreenstackError(
                f"{path}: row {index + 2} has {len(row)} fields but the header has {len(header)} ({', '.join(header)}), "
                f"read as {kind}{how}. Check the quoting on that row, or that the file is really {kind}."
            )
        records.append(row)
    frame = pd.DataFrame(records, columns=header, dtype=str)
    frame.attrs["separator"] = sep
    return frame


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _unique_names(header: list[str]) -> list[str]:
    names: list[str] = []
    for i, name in enumerate(header):
        name = name.strip() or f"Unnamed: {i}"
        base, n = name, 1
        while name in names:
            name, n = f"{base}.{n}", n + 1
        names.append(name)
    return names


def _warn_duplicate_names(path: Path, raw: list[str], header: list[str]) -> None:
    """Say when a header names a column twice: only the first copy is found by its name."""
    seen: dict[str, int] = {}
    for i, name in enumerate(raw):
        name = name.strip()
        if not name:
            continue
        if name.lower() in seen:
            other = f" (the other is column {header[i]!r})" if header[i] != name else ""
            warnings.warn(f"{path}: the header names column {name!r} twice (columns {seen[name.lower()] + 1} and {i + 1}); "
                          f"only the first is read under that name{other}. Rename one if the other was meant.", stacklevel=4)
        else:
            seen[name.lower()] = i


def _raise_undecodable(path: Path, header: list[str], rows: list[list[str]], error: UnicodeDecodeError) -> None:
    def bad(cell: str) -> bool:
        return any("\udc80" <= ch <= "\udcff" for ch in cell)

    fix = "Re-save the file as UTF-8 (in Excel: CSV UTF-8), or fix the text in that cell."
    for index, row in enumerate(rows):
        for col, cell in enumerate(row):
            if bad(cell):
                name = header[col] if col < len(header) else f"field {col + 1}"
                where = "the header row" if index == 0 else f"row {index + 1}, column {name!r}"
                raise ScreenstackError(f"{path}: {where} is not valid UTF-8 text (byte {error.object[error.start]:#04x}). {fix}")
    raise ScreenstackError(f"{path}: not valid UTF-8 at byte offset {error.start}. {fix}")


def _read_xlsx(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_excel(path, sheet_name=0, dtype=str, keep_default_na=False, engine="openpyxl")
    except Exception as error:  # openpyxl raises many types for broken workbooks
        raise ScreenstackError(f"{path}: cannot read it as an Excel workbook ({type(error).__name__}: {_one_line(error)}). Save it again as .xlsx or .csv.")
    return frame.fillna("").astype(str)


def _read_ris(path: Path) -> pd.DataFrame:
    import rispy

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        record = error.object[: error.start].count(b"\nER  -") + 1
        raise ScreenstackError(
            f"{path}: record {record} is not valid UTF-8 text (byte offset {error.start}). Re-export the RIS file as UTF-8."
        )
    starts = sum(1 for line in text.splitlines() if line.startswith("TY  -"))
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and not lines[-1].startswith("ER  -"):
        text += "\nER  - \n"  # rispy silently drops a last record without its end tag
    try:
        entries = rispy.loads(text)
    except Exception as error:
        raise ScreenstackError(f"{path}: cannot parse it as RIS ({_one_line(error)}). Check that every record starts with `TY  - ` and ends with `ER  - `.")
    if len(entries) != starts:
        raise ScreenstackError(
            f"{path}: {starts} records start with `TY  - ` but {len(entries)} could be read. "
            "Check that every record ends with an `ER  - ` line."
        )
    rows = []
    for entry in entries:
        unknown = entry.pop("unknown_tag", {}) or {}
        row = {key: _ris_value(value) for key, value in entry.items()}
        row.update({tag: _ris_value(value) for tag, value in unknown.items()})
        notes = entry.get("notes") or []  # N1: a list, one item per N1 line
        notes = [notes] if isinstance(notes, str) else notes
        labels = [found for note in notes for found in ASREVIEW_NOTE.findall(str(note))]
        if labels:
            row[ASREVIEW_LABEL_COLUMN] = labels[-1]
        rows.append(row)
    frame = pd.DataFrame(rows, dtype=str).fillna("")
    # TI and T1 both mean the title, AB and N2 both the abstract: fill one from the other.
    for name, alias in (("title", "primary_title"), ("abstract", "notes_abstract")):
        if alias in frame:
            frame[name] = frame[name].where(frame[name] != "", frame[alias]) if name in frame else frame[alias]
    return frame


def _ris_value(value) -> str:
    return "; ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
