"""Read PubMed's MEDLINE format (`.nbib`, "Send to: Citation manager"; "Save: PubMed format") into a frame of strings.

PubMed's CSV export has no abstracts, so a search's records with their
abstracts come from PubMed as MEDLINE text: records separated by blank lines,
each line a tag of up to four capitals padded to four characters, a dash and a
space (`PMID- 31064148`, `TI  - A title`), continued on lines indented by six
spaces. A record's fields become columns named by their tags (`PMID`, `TI`,
`AB`, ...), a repeated tag's values joined by "; " (`AU`, `MH`), so the
corpus reads the title from `TI`, the abstract from `AB` and the id from
`PMID` as it reads a table's columns. Where a record's TI or AB is empty or
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

FIRST_LINE = re.compile(r"PMID- +\d")  # a record's first line: how a MEDLINE file is told from a table
TAG_LINE = re.compile(r"([A-Z][A-Z0-9]{0,3}) {0,3}- ?(.*)")  # `PMID- 1`, `TI  - x`, `AU  - x`, `LID - x`, `AB  -` (empty)
# Files joined with `cat`, the first without its last newline: its last line and the next file's PMID line in one.
JOINED_PMID = re.compile(r"^(.*\S)(PMID- +\d+)$", re.MULTILINE)
ID_TAG = "PMID"
FIELDS = {"title": "TI", "abstract": "AB", "id": ID_TAG}  # what a flag may call a tag (`--text-cols title,abstract`)
ONCE = ("TI", "AB")  # tags a record holds once: a second one is a damaged file, not a list
STAND_INS = {"TI": ("BTI", "TT"), "AB": ("OAB",)}  # in order: a book's title, the title in its own language; another abstract


def looks_like_medline(first_line: str) -> bool:
    """Whether a file's first line that is not blank starts a MEDLINE record."""
    return bool(FIRST_LINE.match(first_line.lstrip("\ufeff")))


def read_medline(path: Path) -> pd.DataFrame:
    """The records of a MEDLINE file, one row each, a column per tag; errors name the line and the fix."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = len(re.split(rb"\r\n|\r|\n", error.object[: error.start]))
        raise ScreenstackError(f"{path}: line {line} is not valid UTF-8 text (byte offset {error.start}). "
                               "Save the PubMed export again (it is UTF-8 as PubMed writes it).") from None
    text = text.replace("\ufeff", "").replace("\r\n", "\n").replace("\r", "\n")  # BOMs of files joined with `cat`
    text = JOINED_PMID.sub(r"\1\n\2", text.removesuffix("\x1a"))
    rows: list[dict[str, list[list[str]]]] = []  # per record, per tag, each value's lines: joined once, at the end
    starts: list[int] = []
    record, tag = None, None
    for number, line in enumerate(text.split("\n"), start=1):
        if not line:  # an empty line ends a record
            record = tag = None
            continue
        line = line.rstrip()
        if not line or line == "\x1a":  # spaces alone (an editor's), inside a record or between records: passed over
            continue
        found = TAG_LINE.fullmatch(line) if line[:1] != " " else None
        if found and len(line) > 4 and line[4] == "-":  # the dash in column five: a tag, not a line of text
            tag, value = found.group(1), found.group(2).strip()
            if record is None or tag == ID_TAG:  # a PMID line starts a record, also where no blank line is before it
                record = {}
                rows.append(record)
                starts.append(number)
            if tag in ONCE and tag in record:
                raise ScreenstackError(f"{path}: line {number}: a second {tag} line in the record from line "
                                       f"{starts[-1]}: {line[:60]!r}. A record holds one {tag}: is a blank line "
                                       "missing before a record, or a PMID line lost? Fix the file or export it again.")
            record.setdefault(tag, []).append([value])
        elif record is not None and line.startswith(" "):
            record[tag][-1].append(line.strip())  # a continuation line runs on
        else:
            raise ScreenstackError(f"{path}: line {number} is neither a tag (`XXXX- `, the dash in column five) nor a "
                                   f"line continued from one (six spaces first): {line[:60]!r}. Save the records from "
                                   "PubMed again (\"Send to: Citation manager\" or \"Save: PubMed format\").")
    frame = pd.DataFrame([{tag: "; ".join(" ".join(filter(None, lines)) for lines in values)
                           for tag, values in row.items()} for row in rows], dtype=str).fillna("")
    _refuse_split_records(path, frame, starts)
    for field, stand_ins in STAND_INS.items():
        for other in (s for s in stand_ins if s in frame):
            have = frame[field] if field in frame else pd.Series("", index=frame.index)
            lacking = (have.str.strip() == "") | missing_text(have)
            frame[field] = have.where(~lacking | (frame[other] == "") | missing_text(frame[other]), frame[other])
    return frame


def _refuse_split_records(path: Path, frame: pd.DataFrame, starts: list[int]) -> None:
    """Refuse a record without a PMID line among records with one: a blank line inside a record split it in two."""
    if ID_TAG not in frame:  # no record has one (ERIC's export): the records are numbered
        return
    lacking = [i for i, pmid in enumerate(frame[ID_TAG]) if pmid == ""]
    if lacking:
        raise ScreenstackError(f"{path}: record {lacking[0] + 1} (from line {starts[lacking[0]]}) has no `PMID- ` line, "
                               f"where the others have one ({len(lacking)} such): is it the end of the record before it, "
                               "split off by a blank line? Remove that blank line, or export the records again.")


def medline_field(name: str, columns) -> str:
    """The column of `read_medline`'s frame that a flag's `name` means: itself, else the tag of `FIELDS`
    (`--text-cols title,abstract` read `TI` and `AB`)."""
    return name if name in columns else FIELDS.get(name.strip().lower(), name)
