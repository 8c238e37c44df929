"""Read PubMed's MEDLINE format (`.nbib`, "Send to: Citation manager"; "Save", Format: PubMed) into a frame of strings.

PubMed's CSV export has no abstracts, so a search's records with their
abstracts come from PubMed as MEDLINE text: records separated by blank lines,
each line a tag of up to four capitals padded to four characters, a dash and a
space (`PMID- 31064148`, `TI  - A title`), continued on lines indented by six
spaces. A record's fields become columns named by their tags (`PMID`, `TI`,
`AB`, ...), a repeated tag's values joined by "; " (`AU`, `MH`), so the
corpus reads the title from `TI`, the abstract from `AB` and the id from
`PMID` as it reads a table's columns; every record starts with its PMID line. Where a record's TI or AB is empty or
only says the text is missing, its book title `BTI` or title in the original
language `TT`, and its other abstract `OAB`, stand in. MEDLINE has no label
tag: the file is records to screen.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..errors import ScreenstackError
from .missing import missing_text

FIRST_LINE = re.compile(r"PMID- +[0-9]")  # a record's first line: how a MEDLINE file is told from a table
TAG_LINE = re.compile(r"([A-Z][A-Z0-9]{0,3}) {0,3}- ?(.*)")  # `PMID- 1`, `TI  - x`, `AU  - x`, `LID - x`, `AB  -` (empty)
# Files joined with `cat`, the first without its last newline: its last line and the next file's PMID line in one
# (split where the next line is a tag, as after every PMID line: in an abstract's wrapped text it is a continuation).
JOINED_PMID = re.compile(r"(.*?)[\s\x1a]*(PMID- +\d+)")
ID_TAG = "PMID"
FIELDS = {"title": "TI", "abstract": "AB", "id": ID_TAG}  # what a flag may call a tag (`--text-cols title,abstract`)
ONCE = ("TI", "AB")  # tags a record holds once: a second one is a damaged file, not a list
STAND_INS = {"TI": ("BTI", "TT"), "AB": ("OAB",)}  # in order: a book's title, the title in its own language; another abstract


def looks_like_medline(first_line: str) -> bool:
    """Whether a file's first line that is not blank starts a MEDLINE record."""
    return bool(FIRST_LINE.match(first_line))


def read_medline(path: Path) -> pd.DataFrame:
    """The records of a MEDLINE file, one row each, a column per tag; errors name the line and the fix."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = len(re.split(rb"\r\r\n|\r\n|\r|\n", error.object[: error.start]))  # as the lines are read below
        raise ScreenstackError(f"{path}: line {line} is not valid UTF-8 text (byte offset {error.start}). "
                               "Save the PubMed export again (it is UTF-8 as PubMed writes it).") from None
    # BOMs of files joined with `cat`; CRLF re-saved in text mode (CR CR LF) is one line ending, not two
    text = text.replace("\ufeff", "").replace("\r\r\n", "\n").replace("\r\n", "\n").replace("\r", "\n")
    rows: list[dict[str, list[list[str]]]] = []  # per record, per tag, each value's lines: joined once, at the end
    record, tag = None, None
    for number, line in _numbered_lines(text.removesuffix("\x1a")):
        if not line:  # an empty line ends a record
            record = tag = None
            continue
        if line[0] == " " and record is not None:  # a continuation line (most lines), or spaces alone
            if part := line.strip():
                record[tag][-1].append(part)  # runs on
            continue
        line = line.rstrip()
        if not line or line == "\x1a":  # spaces alone (an editor's), inside a record or between records: passed over
            continue
        if not rows and not line.startswith(ID_TAG):  # a file of another format, named .nbib
            raise ScreenstackError(f"{path}: line {number}: {line[:60]!r} is no `PMID- ` line, as a MEDLINE file's first "
                                   "record starts, so this is not PubMed's MEDLINE format. Give PubMed's export (\"Send "
                                   "to: Citation manager\"), or name the file for its format (.csv, .tsv, .ris).")
        if found := _tag(line):  # the dash in column five: a tag, not text
            tag, value = found.group(1), found.group(2).strip()
            if tag == ID_TAG and not re.fullmatch(r"[0-9]+", value):
                raise ScreenstackError(f"{path}: line {number}: PMID {value!r} is not a PubMed id (a number). Fix the "
                                       "line, or export the records from PubMed again.")
            if record is None or tag == ID_TAG:  # a PMID line starts a record, also where no blank line is before it
                if tag != ID_TAG:  # ERIC's export, whose records have none, is refused before (`filekind`)
                    raise ScreenstackError(f"{path}: line {number}: a record starts with {tag!r}, not `PMID- `: "
                                           f"{line[:60]!r}. Is it the rest of the record before it, after a blank "
                                           "line? Remove that blank line, or export the records from PubMed again "
                                           "(\"Send to: Citation manager\").")
                record, start = {}, number
                rows.append(record)
            if tag in ONCE and tag in record:
                raise ScreenstackError(f"{path}: line {number}: a second {tag} line in the record from line {start}: "
                                       f"{line[:60]!r}. A record holds one {tag}: is a blank line missing before a "
                                       "record, or a PMID line lost? Fix the file or export it again.")
            record.setdefault(tag, []).append([value])
        else:
            raise ScreenstackError(f"{path}: line {number} is neither a tag (`XXXX- `, the dash in column five) nor a "
                                   f"line continued from one (six spaces first): {line[:60]!r}. Save the records from "
                                   "PubMed again (\"Send to: Citation manager\" or \"Save\", Format: PubMed).")
    frame = pd.DataFrame([{tag: "; ".join(" ".join(filter(None, lines)) for lines in values)
                           for tag, values in row.items()} for row in rows], dtype=str).fillna("")
    for field, stand_ins in STAND_INS.items():
        for other in (s for s in stand_ins if s in frame):
            have = frame[field] if field in frame else pd.Series("", index=frame.index)
            lacking = (have.str.strip() == "") | missing_text(have)
            frame[field] = have.where(~lacking | (frame[other] == "") | missing_text(frame[other]), frame[other])
    return frame


def _numbered_lines(text: str):
    """``(line number, line)`` for each line of `text`; a line that ends in a PMID line joined to it (`JOINED_PMID`)
    is two, under its number."""
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        joined = JOINED_PMID.fullmatch(line) if "PMID- " in line[1:] else None
        if joined and joined.group(1).strip() and _tag(lines[number].rstrip() if number < len(lines) else ""):
            yield number, joined.group(1)
            yield number, joined.group(2)
        else:
            yield number, line


def _tag(line: str) -> re.Match | None:
    """`line` (stripped on the right) as a tag line: a tag padded to four characters, the dash in column five."""
    return TAG_LINE.fullmatch(line) if line[4:5] == "-" else None


def medline_field(name: str, columns) -> str:
    """The column of `read_medline`'s frame that a flag's `name` means: itself, else the tag of `FIELDS`
    (`--text-cols title,abstract` read `TI` and `AB`)."""
    return name if name in columns else FIELDS.get(name.strip().lower(), name)
