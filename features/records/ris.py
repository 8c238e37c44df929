"""Read a RIS file (reference managers' and ASReview's export) into a frame of strings.

A RIS record's fields become columns (TI/T1 both the title, AB/N2 both the
abstract), and ASReview's label note becomes the column `ASREVIEW_LABEL_COLUMN`,
which `features.records.corpus.load_records` reads as labels.
"""
from __future__ import annotations

import functools
import re
import warnings
from pathlib import Path

import pandas as pd

from ..errors import ScreenstackError
from .missing import missing_text

# ASReview keeps a RIS record's label in an N1 note, among the record's other notes; the last one counts,
# as in ASReview's reader. `read_ris` puts it in this column, which `load_records` then reads as labels.
ASREVIEW_NOTE = re.compile(r"\bASReview_(?:relevant|irrelevant|not_seen)\b", re.IGNORECASE)
ASREVIEW_LABEL_COLUMN = "asreview_label"
FIELD_ALIASES = {"title": "primary_title", "abstract": "notes_abstract"}  # TI and T1, AB and N2: `read_ris` fills one from the other
TEXT_FIELDS = {*FIELD_ALIASES, *FIELD_ALIASES.values()}  # whose repeated lines run on (`_record_parser`)
NOTED_TWICE = {"id": "ID", "label": "LB"}  # fields whose second, other value `_record_parser` notes, by tag
SECOND_VALUES = "_second_values"
# Lines outside a record skipped as no record's: rispy's counter lines ("1."), and the lines a database puts above each
# download ("Provider: John Wiley & Sons, Ltd", "Content: text/plain; charset=..."). Any other is an error, as in rispy.
# Also EndNote's and ISI's closing `EF` line, and an old export's Ctrl-Z.
OUTSIDE_RECORDS = re.compile(r"^(?:\d+\.?\s*$|[A-Za-z][\w ]*: |EF\s*$|\x1a\s*$)")
# A RIS tag mistyped (`  AB  - x`, `AB\t- x`, `AB   - x`, `AB  -x`, `ER -`): rispy reads it as the line before's text
# (an abstract in the title), so one of the standard's tags (`rispy.TAG_KEY_MAPPING`) so written is refused. A line
# of other letters so written, or with no space before the dash, is text (a wrapped abstract's `IL - 6 levels`,
# `T2-weighted`); one space each side of the dash (`AD - Alzheimer disease`, an abbreviation list) is text too, but
# said in a warning, as a hand-typed `AB - x` reads so (`LOOKS_LIKE_TAGS`).
MISTYPED_TAG = re.compile(r"^\s*([A-Z][A-Z0-9])\s+-(.*)$")
ONE_SPACE_TAG = re.compile(r"^([A-Z][A-Z0-9]) - \S")
LOOKS_LIKE_TAGS = "_looks_like_tags"
EMPTY_TAG = re.compile(r"^([A-Z][A-Z0-9])  -$", re.MULTILINE)  # a tag with no value whose trailing space was stripped
# Files joined with `cat`, one without its last newline: its `ER  - ` and the next file's first line on one line.
JOINED_END = re.compile(r"^(ER  -)[ \t]*(\S.*)$", re.MULTILINE)


def read_ris(path: Path) -> pd.DataFrame:
    import rispy

    try:
        text = path.read_bytes().decode("utf-8-sig").lstrip("\ufeff")  # a second BOM, as the CSV reader strips it
    except UnicodeDecodeError as error:
        record = error.object[: error.start].count(b"\nER  -") + 1
        raise ScreenstackError(
            f"{path}: record {record} is not valid UTF-8 text (byte offset {error.start}). Re-export the RIS file as UTF-8."
        )
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # rispy splits on \n alone: a lone-CR file was one line
    text = text.replace("\n\ufeff", "\n")  # files joined with `cat`: each one's byte-order mark starts a line
    text = EMPTY_TAG.sub(r"\1  - ", text)  # `N2  -` is an empty N2, not text of the line before
    text = JOINED_END.sub(r"\1 \n\2", text)
    lines = text.splitlines()
    starts = sum(1 for line in lines if line.startswith("TY  -"))
    last = {tag: max((i for i, line in enumerate(lines) if line.startswith(tag)), default=-1) for tag in ("TY  -", "ER  -")}
    if last["TY  -"] > last["ER  -"]:
        text += "\nER  - \n"  # rispy silently drops a last record without its end tag
    try:
        entries = rispy.loads(text, implementation=_record_parser())
    except Exception as error:
        raise ScreenstackError(f"{path}: cannot parse it as RIS ({_parse_error(error)}). Check that every record starts "
                               "with `TY  - ` and ends with `ER  - `.") from None
    if len(entries) != starts:
        raise ScreenstackError(
            f"{path}: {starts} records start with `TY  - ` but {len(entries)} could be read. "
            "Check that every record ends with an `ER  - ` line."
        )
    rows, conflicting, tag_like = [], [], []
    for number, entry in enumerate(entries, start=1):
        unknown = entry.pop("unknown_tag", {}) or {}
        tag_like += [(number, line) for line in entry.pop(LOOKS_LIKE_TAGS, [])]
        conflicting += [f"record {number}, {tag}: {' then '.join(values)}" for tag, values in entry.pop(SECOND_VALUES, {}).items()]
        row = {key: _ris_value(value) for key, value in entry.items()}
        row.update({tag: _ris_value(value) for tag, value in unknown.items()})
        notes = entry.get("notes") or []  # N1: a list, one item per N1 line
        notes = [notes] if isinstance(notes, str) else notes
        labels = [found for note in notes for found in ASREVIEW_NOTE.findall(str(note))]
        if len({label.lower() for label in labels}) > 1:  # else the last note won, whichever it was
            raise ScreenstackError(
                f"{path}: record {number} ({row.get('id') or row.get('primary_title') or row.get('title') or 'untitled'}) "
                f"has conflicting ASReview label notes ({', '.join(dict.fromkeys(labels))}). Keep one N1 label note per record."
            )
        if labels:
            row[ASREVIEW_LABEL_COLUMN] = labels[-1]
        rows.append(row)
    if tag_like:
        number, line = tag_like[0]
        warnings.warn(f"{path}: {len(tag_like)} line(s) in records look like a tag with one space before its dash (first: "
                      f"record {number}, {line!r}) and are read as text of the line before, as an abbreviation list is; "
                      f"where a tag was meant, write it {mistyped_tag(line)!r}.", stacklevel=2)
    if conflicting:
        warnings.warn(f"{path}: {len(conflicting)} record(s) have an ID or LB line twice with other values (first: "
                      f"{conflicting[0]}); the first line is read. Keep one such line per record.", stacklevel=2)
    frame = pd.DataFrame(rows, dtype=str).fillna("")
    # TI and T1 both mean the title, AB and N2 both the abstract: fill one from the other, where it is empty or
    # only says the text is missing ("[No abstract available]") and the other holds text.
    for name, alias in FIELD_ALIASES.items():
        if alias in frame:
            if name not in frame:
                frame[name] = frame[alias]
                continue
            lacking = (frame[name] == "") | missing_text(frame[name])
            frame[name] = frame[name].where(~lacking | (frame[alias] == "") | missing_text(frame[alias]), frame[alias])
    return frame


def mistyped_tag(line: str) -> str | None:
    """The line as the RIS tag it was meant as (`ab - x` -> `AB  - x`), where it is one of the standard's tags written
    otherwise than `XX  - `; else None."""
    found = MISTYPED_TAG.match(line)  # first: this runs on every continuation line of every record
    if not found or found.group(1) not in _standard_tags():
        return None
    meant = f"{found.group(1)}  - {found.group(2).strip()}"
    return None if line.rstrip() == meant.rstrip() else meant


@functools.cache
def _standard_tags() -> frozenset[str]:
    import rispy

    return frozenset({*rispy.TAG_KEY_MAPPING, "TY", "ER"})


def _parse_error(error: Exception) -> str:
    """rispy's error, its line counted from 1 and quoted as it is (a tag with one space before its dash, `TY - JOUR`,
    read as the same words as a right one), with the fix where the line is a mistyped tag."""
    found = re.match(r"(.*) in line (\d+):\n ?(.*)", str(error), re.DOTALL)
    if not found:
        return " ".join(str(error).split())
    line = found.group(3).rstrip("\n")
    said = f"{found.group(1)} on line {int(found.group(2)) + 1}: {line!r}"  # rispy counts from 0
    if meant := mistyped_tag(line):
        said += f"; a tag is its two characters in capitals, two spaces, a dash and a space: {meant!r}"
    return said


def _ris_value(value) -> str:
    return "; ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


@functools.cache
def _record_parser():
    """rispy's RIS parser, except that a record's repeated title or abstract lines run on (an abstract exported over
    several AB lines), where rispy keeps the first line alone: a helper's abstracts lost half their text, silently.
    Other single tags keep their first line, as in rispy; a second ID or LB line with another value is noted
    (`SECOND_VALUES`), for a warning. Built on first use: rispy is imported only to read a RIS file."""
    import rispy

    class RecordParser(rispy.RisParser):
        def is_header(self, line):  # a line outside a record that is no tag (rispy refused a database's preamble)
            return bool(OUTSIDE_RECORDS.match(line))

        def _parse_other(self, line):
            if self.in_ref and mistyped_tag(line):  # else joined to the field before: an abstract in the title
                one_space = ONE_SPACE_TAG.match(line)
                if not one_space or one_space.group(1) in ("TY", "ER"):  # a record's bounds are never text
                    raise rispy.parser.ParseError(f"Mistyped tag in line {self.line_number}:\n {line}")
                self.current.setdefault(LOOKS_LIKE_TAGS, []).append(line)
            return super()._parse_other(line)

        def _add_single_value(self, name, value, is_multi=False):
            before = self.current.get(name)
            if is_multi or not isinstance(before, str) or not isinstance(value, str):
                return super()._add_single_value(name, value, is_multi)
            if name in TEXT_FIELDS:  # a continuation line after it then runs on as after one line
                self.current[name] = f"{before} {value}"
            elif name in NOTED_TWICE and value.strip() != before.strip():
                self.current.setdefault(SECOND_VALUES, {}).setdefault(NOTED_TWICE[name], [before]).append(value)

    return RecordParser


def ris_field(name: str, columns) -> str:
    """The column of `read_ris`'s frame (`columns`) that holds `name`: `name` itself where it is one, else the field rispy
    reads the tag `name` into (LB: label, TI: title), or the one `read_ris` fills from it (T1 and N2: title and abstract)."""
    if name in columns:
        return name
    import rispy

    field = rispy.TAG_KEY_MAPPING.get(name.upper(), name)
    merged = next((kept for kept, alias in FIELD_ALIASES.items() if alias == field), None)
    return merged if merged in columns else field
