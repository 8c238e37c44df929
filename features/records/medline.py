"""Read PubMed's MEDLINE format (`.nbib`, "Send to: Citation manager"; "Save: PubMed format") into a frame of strings.

PubMed's CSV export has no abstracts, so a search's records with their
abstracts come from PubMed as MEDLINE text: records separated by blank lines,
each line a tag of up to four capitals padded to four characters, a dash and a
space (`PMID- 31064148`, `TI  - A title`), continued on lines indented by six
spaces. A record's fields become columns named by their tags (`PMID`, `TI`,
`AB`, ...), a repeated tag's values joined by "; " (`AU`, `MH`), so the
corpus reads the title from `TI`, the abstract from `AB` and the id from
`PMID` as it reads a table's columns. A book or chapter without `TI` takes
its title from `BTI`. MEDLINE has no label tag: the file is records to screen.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..errors import ScreenstackError

FIRST_LINE = re.compile(r"PMID- ?\d")  # a record's first line: how a MEDLINE file is told from a table
TAG_LINE = re.compile(r"([A-Z][A-Z0-9]{0,3}) {0,3}- ?(.*)")  # `PMID- 1`, `TI  - x`, `AU  - x`, `LID - x`, `AB  -` (empty)
ID_TAG = "PMID"
FIELDS = {"title": "TI", "abstract": "AB", "id": ID_TAG}  # what a flag may call a tag (`--text-cols title,abstract`)
BOOK_TITLE = "BTI"


def looks_like_medline(first_line: str) -> bool:
    """Whether a file's first line that is not blank starts a MEDLINE record."""
    return bool(FIRST_LINE.match(first_line.lstrip("\ufeff")))


def read_medline(path: Path) -> pd.DataFrame:
    """The records of a MEDLINE file, one row each, a column per tag; errors name the line and the fix."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = error.object[: error.start].count(b"\n") + 1
        raise ScreenstackError(f"{path}: line {line} is not valid UTF-8 text (byte offset {error.start}). "
                               "Save the PubMed export again (it is UTF-8 as PubMed writes it).") from None
    rows: list[dict[str, list[str]]] = []
    record: dict[str, list[str]] | None = None
    tag = None
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        line = line.lstrip("\ufeff").rstrip()  # files joined with `cat`: each one's byte-order mark
        if not line or line == "\x1a":  # a blank line ends a record
            record = tag = None
            continue
        found = TAG_LINE.fullmatch(line) if line[:1] != " " else None
        if found and len(line) > 4 and line[4] == "-":  # the dash in column five: a tag, not a line of text
            tag, value = found.group(1), found.group(2).strip()
            if record is None or tag == ID_TAG:  # a PMID line starts a record, also where a blank line is missing
                if tag != ID_TAG:
                    raise ScreenstackError(f"{path}: line {number}: a record starts with {tag!r}, not `PMID- `: "
                                           f"{line[:60]!r}. Keep a blank line between records, each from its PMID line.")
                record = {}
                rows.append(record)
            record.setdefault(tag, []).append(value)
        elif record is not None and line.startswith(" ") and tag is not None:
            values = record[tag]
            values[-1] = f"{values[-1]} {line.strip()}".strip()  # a continuation line runs on
        else:
            raise ScreenstackError(f"{path}: line {number} is neither a tag (`XXXX- `, the dash in column five) nor a "
                                   f"line continued from one (six spaces first): {line[:60]!r}. Save the records from "
                                   "PubMed again (\"Send to: Citation manager\" or \"Save: PubMed format\").")
    frame = pd.DataFrame([{tag: "; ".join(values) for tag, values in row.items()} for row in rows], dtype=str).fillna("")
    if BOOK_TITLE in frame:  # a book or a chapter: its title is BTI where it has no TI
        frame["TI"] = frame["TI"].where(frame["TI"] != "", frame[BOOK_TITLE]) if "TI" in frame else frame[BOOK_TITLE]
    return frame


def medline_field(name: str, columns) -> str:
    """The column of `read_medline`'s frame that a flag's `name` means: itself, else the tag of `FIELDS`
    (`--text-cols title,abstract` read `TI` and `AB`)."""
    return name if name in columns else FIELDS.get(name.strip().lower(), name)
