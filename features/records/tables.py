"""Read the files people bring (CSV, TSV, XLSX, RIS, MEDLINE) into frames of strings, with errors that name the fix.

`read_table` is the one entry point; `features.records.corpus` turns its frame
into records (ids, texts, labels). Separators are sniffed from the header,
fields may be of any size, binary files passed off as text are named for what
they are (`features.records.filekind`), RIS files are read by
`features.records.ris`, and rows are checked against their header by
`features.records.header`. CSV/TSV files are parsed a line at a time into
columns of cells, so a file of a million records costs its cells, not its
bytes and text besides (bench/scoring.py).
"""
from __future__ import annotations

import codecs
import csv
import io
import itertools
import logging
import re
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from ..errors import ScreenstackError, quoted
from .filekind import first_line, refuse_binary, refuse_other_formats
from .header import Header, header_name, nul_problem, warn_duplicate_names
from .medline import looks_like_medline, read_medline
from .rayyan import add_rayyan_labels
from .ris import OUTSIDE_RECORDS, read_ris
from .shortrows import ShortRows

# A .tsv/.tab file is tab-separated; any other text file (.csv included: Excel
# in European locales writes semicolons, and tab-separated exports are often
# named .csv) has its separator sniffed from the header. First wins a tie.
DECLARED_SEPARATORS = {".tsv": "\t", ".tab": "\t"}
SNIFFED_SEPARATORS = {",": "comma", "\t": "tab", ";": "semicolon"}
RECORD_FORMATS = ("ris", "medline")  # formats of records, not rows: a place in them is "record N", counted from 1
HEADER_LIMIT = 1 << 20  # characters read to find the end of the header row: a header is never a megabyte
log = logging.getLogger("screenstack")


def sheet_note(frame) -> str:
    """Where a workbook's first sheet was read and others were not, the words for a missing column's "found: ..."
    (a cover sheet first: the fix is the sheet, not a column's name); else empty."""
    if not frame.attrs.get("other_sheets"):
        return ""
    return (f", on the workbook's first sheet {frame.attrs['sheet']!r}, the one read; the records on another "
            f"({', '.join(map(repr, frame.attrs['other_sheets']))})? Move that sheet first or save it as CSV")


def read_table(path: str | Path, flag: str = "") -> pd.DataFrame:
    """Read a CSV/TSV/XLSX/RIS/MEDLINE file into a frame of strings, with errors that name the fix.

    `flag`: the option that gave the path (``--train``), named when the file is missing.

    Empty cells are ``""``. ``frame.attrs["format"]`` says which reader was used
    (``csv``, ``tsv``, ``xlsx``, ``ris`` or ``medline``). A ``.tsv``/``.tab`` file is read as
    tab-separated; any other text file's separator (comma, tab or semicolon) is
    sniffed from its header row, or taken from an Excel ``sep=;`` first line.
    """
    path = Path(path)
    if path.is_dir():
        raise ScreenstackError(f"{path}: is a folder, not a file. Give the path of a CSV, TSV, XLSX, RIS or MEDLINE file.")
    if not path.exists():
        split = " (or make train/test files from one labelled file with `screenstack split`)" if flag in ("--train", "--test") else ""
        raise ScreenstackError(f"{flag + ' ' if flag else ''}{path}: no such file. Check the path{split}.")
    if not path.is_file():  # a pipe (`<(...)`), a device: its size is unknown and it can be read only once
        raise ScreenstackError(f"{path}: is not a regular file (a pipe or a device). Save the records to a file first.")
    if path.stat().st_size == 0:
        what = {".ris": "at least one record (from `TY  - ` to `ER  - `)", ".nbib": "at least one record (from a `PMID- ` line)"
                }.get(path.suffix.lower(), "a header row and at least one record")
        raise ScreenstackError(f"{path}: the file is empty. Give a file with {what}.")
    try:
        return _read_table(path)
    except OSError as error:  # unreadable (permissions), a disk error: one line, not a traceback
        raise ScreenstackError(f"{path}: cannot be read ({error.strerror or error}). Check the file's permissions.") from None


def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise ScreenstackError(f"{path}: old-style .xls workbooks are not supported. Save it as .xlsx or .csv.")
    if suffix == ".xlsx":
        frame, kind = _read_xlsx(path), "xlsx"
    else:
        with open(path, "rb") as handle:  # a compressed file is named as such, not as bytes that are not UTF-8
            head = handle.read(4096)
        first = first_line(head)
        refuse_other_formats(path, first)
        if looks_like_medline(first) or suffix == ".nbib":  # "Save", Format: PubMed is a .txt; a .ris, renamed
            refuse_binary(path, head, "as some editors save it", "Save the PubMed export again, as UTF-8")
            frame, kind = read_medline(path), "medline"
        elif suffix == ".ris" or _looks_like_ris(head):  # EndNote and some databases save RIS as .txt
            refuse_binary(path, head, "as some reference managers export it", "Re-export the RIS file as UTF-8")
            frame, kind = read_ris(path), "ris"
        else:
            refuse_binary(path, head[:8])
            frame = _read_delimited(path, DECLARED_SEPARATORS.get(suffix))
            kind = "tsv" if frame.attrs["separator"] == "\t" else "csv"
    if frame.empty:
        what = ("no RIS records (each starts with a `TY  - ` line)" if kind == "ris"
                else "no MEDLINE records (each starts with a `PMID- ` line)" if kind == "medline"
                else f"no records on its first sheet {frame.attrs.get('sheet')!r}, the one read" if kind == "xlsx"
                else "a header but no records")
        raise ScreenstackError(f"{path}: the file has {what}. Give at least one record.")
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.attrs["format"] = kind
    add_rayyan_labels(frame)
    return frame


def _header_row_end(text: str) -> int:
    """Where the header row of `text` ends: its first line break outside quotes (``len(text)`` if none yet)."""
    quoted = False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted  # a doubled quote toggles twice: still right
        elif not quoted and ch in "\r\n":
            return i
    return len(text)


def _sniff_separator(text: str) -> str:
    """The separator of `SNIFFED_SEPARATORS` found most often in the header row, outside quotes.

    Only the header is read: it is short, rarely quoted, and decides the
    columns; a data row may hold a megabyte of abstract full of commas.
    """
    counts = dict.fromkeys(SNIFFED_SEPARATORS, 0)
    text = text.lstrip()  # from the first row that is not blank
    quoted = False
    for ch in text[:_header_row_end(text)]:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    return max(counts, key=counts.get)  # max keeps the first of equal counts: comma


class _Lines:
    """The lines of a text file opened with ``errors="surrogateescape"``; `undecodable` turns True once one held a
    byte that is not UTF-8, `has_nul` once one held a NUL byte (so only then are the rows searched for the cell)."""

    def __init__(self, handle):
        self.handle, self.undecodable, self.has_nul = handle, False, False

    def __iter__(self) -> Iterator[str]:
        for line in self.handle:
            if not self.undecodable and not line.isascii() and not _is_utf8(line):
                self.undecodable = True
            if not self.has_nul and "\x00" in line:
                self.has_nul = True
            yield line


def _is_utf8(text: str) -> bool:
    """False when `text` holds a byte that was not UTF-8 (decoded as a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _looks_like_ris(head: bytes) -> bool:
    """Whether a file's first bytes are RIS: its first line that is not blank, a counter line or a database's
    "Provider: ..." line (`ris.OUTSIDE_RECORDS`) is a record's first tag, `TY  - ` (or mistyped, `TY - `, for
    `read_ris` to refuse with its fix). A table's header row never starts so."""
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))  # EndNote's "Unicode": refused as RIS, not as CSV
    text = head[:len(head) // 2 * 2].decode("utf-16", errors="replace") if utf16 else head.decode("utf-8", errors="replace")
    lines = [line.lstrip("\ufeff") for line in text.splitlines()]  # files joined: each one's BOM
    lines = lines[:-1] if len(head) == 4096 else lines  # the last line may be cut short
    first = next((line for line in lines if line.strip() and not OUTSIDE_RECORDS.match(line)), "")
    return bool(re.match(r"\s*TY\s+-", first))


def _read_header_row(lines: Iterator[str], head: str) -> str:
    """`head` (whole lines) with the next whole lines appended until its first row is complete: a line
    break outside quotes, or `HEADER_LIMIT` characters.

    Quotes are counted line by line as they come, so a stray quote in the header
    (legal in CSV: a quote inside a field is a literal) costs one pass over the
    lines it holds open, not a rescan per line; the limit stops a header that
    never closes from taking the whole file into memory (the parser then names
    the quote).
    """
    first = head.lstrip()  # blank lines before the header are skipped, as the parser skips them
    if first and _header_row_end(first) < len(first):
        return head
    parts, size, quotes, seen = [head], len(head), head.count('"'), bool(first)
    while size < HEADER_LIMIT and (line := next(lines, None)) is not None:
        parts.append(line)
        size += len(line)
        quotes += line.count('"')
        seen = seen or bool(line.strip())
        if seen and quotes % 2 == 0 and line.endswith(("\n", "\r")):  # this line's break is outside quotes
            break
    return "".join(parts)


def _read_until(lines: Iterator[str], head: str, done) -> str:
    """`head` with the next whole lines appended until ``done(head)`` or the end of the file."""
    while not done(head) and (line := next(lines, None)) is not None:
        head += line
    return head


def _read_delimited(path: Path, sep: str | None) -> pd.DataFrame:
    """Parse a delimited text file; `sep` None: sniffed from the header (or an Excel ``sep=`` line).

    The file is decoded and parsed a line at a time and its cells kept column by
    column: a gigabyte of records costs its cells once, not the file's bytes, its
    text and a list per row besides. Bytes that are not UTF-8 are decoded as
    surrogates, so the row and column holding them can be named. An error found
    in a row (bad bytes, a NUL byte, a wrong number of fields, data under no
    name, the header repeated) is raised once the whole file has parsed, as a
    quoting error further down comes first.
    """
    by_suffix = sep is not None
    sep_lines = 0
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        source = _Lines(handle)
        lines = iter(source)
        # Some tools add a BOM to a file that already has one: the decoder takes the first, the rest go here.
        head = _read_until(lines, "", lambda h: len(h.lstrip("\ufeff")) >= 6).lstrip("\ufeff")
        first_line = re.match(r"[^\r\n]*", head).group()
        # Excel's "sep=;" first line names the separator; it is not a row (Excel does not show it). LibreOffice,
        # re-saving such a file, pads it to the table's width ("sep=;;;;") or quotes it.
        excel_sep = re.fullmatch(r'(?i)("?)sep=([^\r\n])\1(?:\2|[ \t])*', first_line)
        if excel_sep:
            sep, end = excel_sep.group(2), len(first_line)
            whole = _read_until(lines, head, lambda h: h[end:].lstrip("\r"))
            head = whole[end:].lstrip("\r").removeprefix("\n")
            sep_lines = len(re.findall(r"\r\n|\r|\n", whole[: len(whole) - len(head)]))  # the file's line numbers count them
        sniffed = sep is None
        if sniffed:
            head = _read_header_row(lines, head)
            sep = _sniff_separator(head)
        kind = "TSV" if sep == "\t" else "CSV" if sep == "," else f"{SNIFFED_SEPARATORS.get(sep, repr(sep))}-separated CSV"
        how = f" (the {SNIFFED_SEPARATORS[sep]} separator was detected from the header row)" if sniffed else ""
        width_fix = f"read as {kind}{how}. Check the quoting on that row, or that the file is really {kind}"
        # The head read so far is whole lines: split as the rest of the file is, line numbers run on.
        reader = csv.reader(itertools.chain(io.StringIO(head, newline=""), lines), delimiter=sep, strict=True)
        header: Header | None = None
        columns: list[list[str]] = []
        kept = 0  # rows kept so far, the header included
        # Rows as a spreadsheet numbers them: blank rows count (they are skipped, not deleted), so the
        # row being read is row `row_number`; `blank_rows` holds the blank ones' numbers, for errors found later.
        row_number, blank_rows, separator_rows, long_rows = 0, [], [], []
        bad_cell = None  # (sheet row, column) holding bytes that are not UTF-8, named once the file has parsed
        bad_row = None  # the first other row that cannot be read: what is wrong with it, in a line naming it
        short_rows, previous_row = None, None  # `ShortRows` once the header is read; the last data row's sheet row
        last_line = 0
        # csv refuses fields over 128 KiB by default, but one abstract can be longer;
        # no field is longer than the file. The limit is global to the process: restore it.
        old_limit = csv.field_size_limit(min(max(path.stat().st_size + 1, csv.field_size_limit()), 2**31 - 1))
        try:
            for row in reader:
                last_line = reader.line_num
                row_number += 1
                # A row of nothing but Ctrl-Z (DOS's end-of-file mark, which old tools append) is blank too.
                if not row or not any(cell.strip().strip("\x1a") for cell in row):
                    blank_rows.append(row_number)
                    if len(row) > 1 and kept:  # `,,`: a cleared spreadsheet row, maybe a record the user expects
                        separator_rows.append(row_number)
                    continue
                if source.undecodable and bad_cell is None:
                    bad_cell = next(((row_number if kept else 0, col) for col, cell in enumerate(row) if not _is_utf8(cell)), None)
                if source.has_nul and bad_row is None:
                    bad_row = nul_problem(row, row_number, header)
                if header is None:
                    header = Header(row)
                    columns = [[] for _ in header.names]
                    named = len(header.names)
                    short_rows = ShortRows(named)
                else:
                    # Most rows are as wide as the named columns and do not start with a header name: nothing to look at.
                    if bad_row is None and (len(row) != named or (row[0][:1] in header.first_chars
                                                                  and header_name(row[0]) in header.normalized)):
                        fields = len(row)
                        bad_row = header.problem(row, row_number, width_fix)
                        if fields < named:
                            short_rows.add(kept - 1, row_number, fields, previous_row)
                        elif bad_row is None and fields > len(header.raw):  # past even the header's trailing separators
                            long_rows.append((row_number, fields))
                    if bad_cell is None and bad_row is None:  # past an error, cells are no longer kept
                        for column, cell in zip(columns, row):
                            column.append(cell)
                    previous_row = row_number
                kept += 1
        except csv.Error as error:
            where = "the header row" if not kept else f"row {row_number + 1}"
            if "unexpected end of data" in str(error):
                problem = f"a quote in the record that starts on line {last_line + 1 + sep_lines} is never closed"
            else:
                problem = f"bad quoting on line {reader.line_num + sep_lines} ({_one_line(error)})"
            raise ScreenstackError(
                f"{path}: cannot parse {where} as {kind}{how}: {problem}. "
                "Double the quotes inside quoted fields or close the quote, or re-save the file from a spreadsheet."
            )
        finally:
            csv.field_size_limit(old_limit)
    if header is None:
        raise ScreenstackError(f"{path}: the file has no header row. Give a file with a header row and at least one record.")
    first = header.raw[0]
    if by_suffix and len(header.names) == 1 and (other := next((c for c in SNIFFED_SEPARATORS if c != sep and c in first), None)):
        raise ScreenstackError(
            f"{path}: read as {kind} for its {path.suffix} ending, but its header has no {SNIFFED_SEPARATORS.get(sep, repr(sep))}s "
            f"and holds {SNIFFED_SEPARATORS[other]}s ({first[:60]!r}). Rename it to .csv, whose separator is detected."
        )
    warn_duplicate_names(path, header.raw[: len(header.names)], header.names)
    if source.undecodable:
        _raise_undecodable(path, header.names, bad_cell)
    # Rows with empty fields past the header's are read as ending in separators; where most rows do not, they may
    # instead be rows split by an unquoted separator, their cells shifted (a helper's title read as "The Use of Mobile
    # Phones to Supp", its abstract "ort Children's ..."): a warning's, and a label error's on such a row (corpus.py).
    long_rows = long_rows if 2 * len(long_rows) < kept - 1 else []
    if bad_row is not None and long_rows and "fields but the header has" in bad_row:  # rows read before it may be split too
        shown = ", ".join(str(number) for number, _ in long_rows[:5]) + (", ..." if len(long_rows) > 5 else "")
        plural = len(long_rows) > 1
        bad_row += (f"; row{'s' if plural else ''} {shown} before it {'have' if plural else 'has'} more fields than the header "
                    "too (the last ones empty): check {} as well".format("them" if plural else "it"))
    bad_row = bad_row or short_rows.problem(header.shown()) or _other_row_separator(header, short_rows, columns, sep, kept)
    if bad_row is not None:
        raise ScreenstackError(f"{path}: {bad_row}.")
    names = header.names
    frame = pd.DataFrame({name: np.array(column, dtype=object) for name, column in zip(names, columns)}, columns=names,
                         dtype=object)  # pandas 3 would infer its str dtype
    frame.attrs["separator"] = sep
    frame.attrs["blank_rows"] = blank_rows
    frame.attrs["separator_rows"] = separator_rows  # blank rows holding separators, a warning's (corpus.py)
    frame.attrs["long_rows"] = long_rows
    frame.attrs["header_width"] = len(header.raw)
    return frame


def _other_row_separator(header, short_rows, columns: list[list[str]], sep: str, kept: int) -> str | None:
    """The problem when the header is split by `sep` but not one data row is (each one field, holding another
    separator): the rows would read as records with an id and no text, and then as "no record is labelled"."""
    width, first = len(header.names), columns[0][0] if columns and columns[0] else ""
    if width < 2 or kept < 2 or len(short_rows.rows) != kept - 1 or any(fields != 1 for *_, fields, _ in short_rows.rows):
        return None
    other = next((c for c in SNIFFED_SEPARATORS if c != sep and c in first), None)
    if other is None:
        return None
    return (f"the header row is split by {SNIFFED_SEPARATORS.get(sep, repr(sep))}s but no data row holds one; the rows look "
            f"split by {SNIFFED_SEPARATORS[other]}s (row {short_rows.rows[0][1]}: {first[:60]!r}). Re-save the file with one "
            "separator throughout")


def row_place(frame: pd.DataFrame, index: int) -> str:
    """Where data row `index` of a frame `read_table` read is in its file, as errors name it: "record N" in a RIS or
    MEDLINE file, else "row N" as a spreadsheet shows it."""
    return place(frame.attrs.get("format"), frame.attrs.get("blank_rows", ()), index)


def place(kind: str | None, blank_rows, index: int) -> str:
    """`row_place` of data row `index` in a file of format `kind` with blank rows `blank_rows`."""
    return f"record {index + 1}" if kind in RECORD_FORMATS else f"row {sheet_row(index, blank_rows)}"


def long_row_note(frame: pd.DataFrame, index: int) -> str:
    """Words for an error on data row `index` where it is one of the rows that ran past the header (``long_rows``): its
    cells may be shifted."""
    number = sheet_row(index, frame.attrs.get("blank_rows", ()))
    fields = dict(frame.attrs.get("long_rows", ())).get(number)
    if fields is None:
        return ""
    return (f" (row {number} has {fields} fields where the header has {frame.attrs['header_width']}: check its quoting, as "
            "a separator inside an unquoted field shifts the cells after it)")


def sheet_row(index: int, blank_rows=()) -> int:
    """The row a spreadsheet shows for data row `index` of a `read_table` frame (the header is row 1), given
    the numbers of its blank rows (``frame.attrs["blank_rows"]``), which the frame skips and a spreadsheet shows."""
    row = index + 2
    for blank in blank_rows:  # sorted
        if blank > row:
            break
        row += 1
    return row


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _raise_undecodable(path: Path, header: list[str], bad_cell: tuple[int, int] | None) -> None:
    fix = "Re-save the file as UTF-8 (in Excel: CSV UTF-8), or fix the text in that cell."
    if _japanese_legacy(path):  # helper-169: a whole file in Excel's Japanese encoding, not one bad cell
        fix = (f"It reads as Shift-JIS (cp932), as Excel saves CSV in Japanese: re-save it as CSV UTF-8, or convert it "
               f"(iconv -f cp932 -t utf-8 {quoted(path)} > {quoted(path.with_name(path.stem + '-utf8' + path.suffix))}).")
    offset, byte = _first_undecodable_byte(path)
    if bad_cell is not None:
        row_number, col = bad_cell
        name = header[col] if col < len(header) else f"field {col + 1}"
        where = "the header row" if row_number == 0 else f"row {row_number}, column {name!r}"
        raise ScreenstackError(f"{path}: {where} is not valid UTF-8 text (byte {byte:#04x}). {fix}")
    raise ScreenstackError(f"{path}: not valid UTF-8 at byte offset {offset}. {fix}")


def _japanese_legacy(path: Path) -> bool:
    """Whether `path`'s first megabyte decodes as Shift-JIS (cp932) into Japanese text with kana, or into the Greek
    letters and signs (± × ° μ) English abstracts hold, as a Japanese Excel saves them. Not kanji alone: a
    Windows-1252 accent before a letter (`naïve`) decodes as one, while kana, Greek and those signs need a lead byte
    0x81-0x83, which Windows-1252 leaves unused or spends on a low quote and a florin, and an accent before a space or a
    digit is no cp932 at all."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 20)
    try:
        text = head.decode("cp932")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 1:  # not merely a character cut at the megabyte's end
            return False
        text = head[:error.start].decode("cp932")
    return any("\u3040" <= c <= "\u30ff" or "\u0391" <= c <= "\u03c9" or c in "\u00b1\u00d7\u00b0\u00f7" for c in text)


def _first_undecodable_byte(path: Path) -> tuple[int, int]:
    """Offset (after a BOM) and value of the first byte of `path` that is not UTF-8, read a block at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as handle:
        if handle.read(3) != codecs.BOM_UTF8:
            handle.seek(0)
        fed = 0
        while True:
            block = handle.read(1 << 20)
            pending = len(decoder.getstate()[0])  # the bytes of a character cut by the last block
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:  # its object is the pending bytes and this block
                return fed - pending + error.start, error.object[error.start]
            if not block:
                raise AssertionError(f"{path}: every byte decodes as UTF-8")
            fed += len(block)


def _read_xlsx(path: Path) -> pd.DataFrame:
    """The workbook's first sheet, its rows read by the rules a CSV file's are: blank rows skipped (above the header
    too) and counted in row numbers, data under no name or the header repeated refused (`Header.problem`). Cells as
    text, numbers as pandas writes them (10, not 10.0), an error cell (#N/A) as the text it shows, as a CSV export of
    the sheet would hold them. A line names the first sheet where there are others, which are not read."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head.startswith(b"PK\x03\x04"):  # an .xlsx is a zip archive: name what it is instead
        if head.startswith(b"\xd0\xcf\x11\xe0"):  # Excel saves a password-protected workbook in the old container
            raise ScreenstackError(f"{path}: is an old-style .xls workbook or a password-protected one, not an .xlsx "
                                   "workbook. Save it as .xlsx without a password, or as CSV UTF-8.")
        refuse_binary(path, head)
        raise ScreenstackError(f"{path}: is not an Excel workbook (.xlsx is a zip archive); it looks like text. If it is "
                               "a CSV or TSV file, rename it to end in .csv or .tsv.")
    _refuse_other_zip(path)
    sheet, sheets, xml_path, rows, visible = _sheet_rows(path)
    others = [name for name in sheets if name != sheet]
    if others:
        which = "first visible worksheet" if visible else "first worksheet (every one is hidden)"
        warnings.warn(f"{path}: read its {which} {sheet!r}; its other sheets ({', '.join(map(repr, others))}) "
                      "are not read. If the records are on another sheet, move that sheet first or save it as CSV.", stacklevel=4)
    _refuse_uncomputed_formulas(path, xml_path)
    width = max(map(len, rows), default=0)
    filled = [any(cell.strip() for cell in row) for row in rows]
    last = max((i for i, full in enumerate(filled) if full), default=-1)
    header, kept, blank_rows, cleared_rows = None, [], [], []
    for i, row in enumerate(rows):
        number = i + 1  # as the spreadsheet numbers it
        if not filled[i]:
            if i < last:  # rows after the last record number none (formatted to row 1,048,576, they would be a million)
                blank_rows.append(number)
                if header is not None:  # between records: a cleared row, maybe a record the user expects
                    cleared_rows.append(number)
            continue
        if header is None:  # as wide as the sheet: data under no name is found (`Header.problem` pads the rows)
            header = Header(row + [""] * (width - len(row)))
            continue
        if problem := header.problem(row, number, "check the sheet"):
            raise ScreenstackError(f"{path}: {problem}.")
        kept.append(row)
    frame = pd.DataFrame(kept, columns=header.names if header else [], dtype=object)
    if header is not None:
        warn_duplicate_names(path, header.raw[: len(header.names)], header.names)
    frame.attrs.update(sheet=sheet, other_sheets=others, blank_rows=blank_rows, separator_rows=cleared_rows)
    return frame


def _sheet_rows(path: Path) -> tuple[str, list[str], str, list[list[str]], bool]:
    """The sheet read (the first visible worksheet: chart sheets and hidden sheets are not what a reader sees first),
    every sheet's name, the path of its XML in the archive, its rows as text (formulas as their saved values; an empty
    row as [], none after the last that holds a cell), and whether it is visible."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
        try:
            if not book.worksheets:
                raise ScreenstackError(f"{path}: holds no worksheet (only chart sheets), so no records. Give the workbook "
                                       "with the records' sheet, or save that sheet as CSV.")
            sheet = next((s for s in book.worksheets if s.sheet_state == "visible"), book.worksheets[0])
            sheet.reset_dimensions()  # rows past a wrong <dimension> tag, which some writers leave, are rows too
            # an empty row kept as [] (a formatted row 1,048,576 makes a million of them)
            rows = [[_cell_text(value) for value in row] if any(v is not None for v in row) else []
                    for row in sheet.iter_rows(values_only=True)]
            while rows and not rows[-1]:
                rows.pop()
            return sheet.title, list(book.sheetnames), sheet._worksheet_path, rows, sheet.sheet_state == "visible"
        finally:
            book.close()
    except ScreenstackError:
        raise
    except OSError as error:
        if error.errno is not None:
            raise  # read_table names it (permissions, a disk error)
        raise ScreenstackError(f"{path}: cannot read it as an Excel workbook ({_one_line(error)}; a binary .xlsb or "
                               "another format under this name?). Save it as Excel Workbook (.xlsx) or CSV UTF-8.") from None
    except Exception as error:  # openpyxl raises many types for broken workbooks
        raise ScreenstackError(f"{path}: cannot read it as an Excel workbook ({type(error).__name__}: {_one_line(error)}). "
                               "Save it again as .xlsx or .csv.") from None


def _refuse_other_zip(path: Path) -> None:
    """Name a zip archive that is no .xlsx workbook (which holds ``xl/``): an OpenDocument spreadsheet, a zip of files."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            # Excel's "Strict Open XML Spreadsheet": openpyxl finds no sheets in it
            strict = "xl/workbook.xml" in names and b"purl.oclc.org/ooxml" in archive.read("xl/workbook.xml")[:4096]
    except zipfile.BadZipFile:
        return  # damaged: openpyxl's error names it
    if any(name.startswith("xl/") for name in names):
        if strict:
            raise ScreenstackError(f"{path}: is saved as Strict Open XML Spreadsheet, which is not read. Save it as Excel "
                                   "Workbook (.xlsx) or CSV UTF-8.")
        return
    if "content.xml" in names:
        raise ScreenstackError(f"{path}: is an OpenDocument spreadsheet (.ods), not an Excel .xlsx workbook. Save it as "
                               ".xlsx or as CSV UTF-8.")
    raise ScreenstackError(f"{path}: is a zip archive of other files, not an Excel .xlsx workbook. Decompress it first "
                           f"(unzip {path.name}) and give the CSV, TSV, XLSX, RIS or MEDLINE file it holds.")


_FORMULA = re.compile(rb"<(?:[\w.-]+:)?f[\s/>]")  # an <f> element, namespace prefix and attributes or not


def _refuse_uncomputed_formulas(path: Path, xml_path: str) -> None:
    """Refuse formulas without a saved value in the sheet read (`xml_path`; a workbook written by a program that does
    not compute them): they read as empty cells, a label as a record not screened yet. A formula whose value is the
    empty string keeps an empty <v> of a text cell and is read as such. The XML is searched a megabyte at a time for
    a formula at all, and parsed only then."""
    import zipfile
    from xml.etree.ElementTree import iterparse

    with zipfile.ZipFile(path) as archive:
        with archive.open(xml_path) as xml:
            tail, found = b"", False
            while not found and (block := xml.read(1 << 20)):  # a sheet of 100,000 abstracts is 100 MB of XML
                found = _FORMULA.search(tail + block) is not None
                tail = block[-64:]
        if not found:
            return
        # xlsxwriter saves 0 for every formula and asks the next program that opens it to compute them
        placeholders = b'fullCalcOnLoad="1"' in archive.read("xl/workbook.xml") if "xl/workbook.xml" in archive.namelist() else False
        missing, first, row, column = 0, None, 0, 0
        with archive.open(xml_path) as xml:
            for event, element in iterparse(xml, events=("start", "end")):
                tag = element.tag.rsplit("}", 1)[-1]
                if event == "start":  # where a cell is, for one without its r="B3" (optional in the format)
                    if tag == "row":
                        row, column = int(element.get("r", row + 1)), 0
                    elif tag == "c":
                        column += 1
                    continue
                if tag != "c":
                    continue
                children = {child.tag.rsplit("}", 1)[-1]: child for child in element}
                value = children.get("v")
                # An empty <v> is a saved value only as a text result (t="str", Excel's ""); openpyxl writes <v /> unsaved.
                saved = "is" in children or (value is not None and (bool(value.text) or element.get("t") == "str"))
                if "f" in children and (placeholders or not saved):
                    missing += 1
                    first = first or element.get("r") or f"{_column_letter(column)}{row}"
                element.clear()
    if missing:
        why = ("the workbook asks to be computed when opened (its saved values are placeholders)" if placeholders else
               "it would read as an empty cell")
        raise ScreenstackError(f"{path}: cell {first} holds a formula without a saved value ({missing} such): {why}. Open "
                               "the workbook in Excel or LibreOffice and save it (which computes them), or export the sheet "
                               "as CSV.")


def _column_letter(number: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(max(number, 1))


# How OOXML writes a character XML cannot hold as itself: `_x000D_` for a carriage return (Excel's for every line break
# a CSV's field brought in as CRLF), `_x005F_` for the underscore that starts a literal `_x000D_`. openpyxl leaves
# them as written (helper-161: "Objective:_x000D_" joined the word before it into one TF-IDF token).
OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_(?:_x([dD][c-fC-F][0-9A-Fa-f]{2})_)?")


def _unescaped(escape: re.Match) -> str:
    """`OOXML_ESCAPE`'s character: a surrogate pair joined (an emoji), a lone surrogate or NUL left as written
    (neither is text a file can hold: helper-162's `_xD83D_` alone ended in a traceback writing Parquet)."""
    code, low = int(escape.group(1), 16), escape.group(2)
    if 0xD800 <= code < 0xDC00 and low is not None:
        return chr(0x10000 + ((code - 0xD800) << 10) + (int(low, 16) - 0xDC00))
    first = escape.group(0)[:7] if code == 0 or 0xD800 <= code < 0xE000 else chr(code)
    return first + (OOXML_ESCAPE.sub(_unescaped, escape.group(0)[7:]) if low else "")  # a low half that pairs nothing


def _cell_text(value) -> str:
    """A workbook cell's value as text: empty for none, a whole number without ``.0`` (as pandas reads a sheet), a
    text's `OOXML_ESCAPE`s as the characters they stand for.

    >>> [_cell_text(v) for v in (None, 31456789.0, 0.5, 7, "a_x000D_b")]
    ['', '31456789', '0.5', '7', 'a\\rb']
    """
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and "_x" in value:
        return OOXML_ESCAPE.sub(_unescaped, value)
    return str(value)
