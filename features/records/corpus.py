"""Load screening records from the files people bring, into one `Corpus`.

Accepted inputs (the layout is detected from the header; flags override it):

- competition CSV: ``id,title,abstract,judgement`` (test file without ``judgement``);
- ASReview-style CSV/TSV/XLSX: ``record_id`` (optional), ``title``, ``abstract``,
  and ``label_included`` / ``included`` / ``label``; a CSV may be separated by
  commas, tabs or semicolons (sniffed from the header) and hold fields of any size;
- RIS files (read with `rispy`): title (``TI``/``T1``) and abstract
  (``AB``/``N2``); the label from ASReview's ``N1`` note (``ASReview_relevant``,
  ``ASReview_irrelevant``, ``ASReview_not_seen``, found among a record's other
  notes), or from the field or tag ``--label-col`` names; RIS has no standard label tag;
- PubMed's MEDLINE format (`features.records.medline`): title ``TI``, abstract ``AB``, id ``PMID``; no labels,
  so records to screen only.

Labels are 0/1; an empty cell, ``-1`` or ``ASReview_not_seen`` marks a record
not screened yet. A training file (``--train``) must have every label, a
partly screened file (``--data``, `load_partly_screened`) trains on its
labelled records and screens the others. A missing abstract means the record
is screened on its title alone. Ids come from ``id``, ``record_id`` or ``key``
(Zotero's and Rayyan's exports); a file with none gets record numbers, except a test file beside a training file
with ids, which is refused (`features.records.ids`: where ``--id-col`` applies).

Errors name the place: in a table, "row N" counts the header as row 1, as a
spreadsheet shows it; in a RIS or MEDLINE file, "record N" counts records from 1.
"""
from __future__ import annotations

import hashlib
import logging
import re
import shlex
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..checks import closest, comma_items
from ..errors import ScreenstackError, quoted
from .duplicates import record_keys, warn_duplicates
from .header import headerless, reads_as_a_record
from .columns import ABSTRACT_COLUMNS, TITLE_COLUMNS, named_column, named_like_abstracts, spelled_alike
from .ids import check_disjoint, check_test_ids, id_columns, id_key, pair_id_columns, pick_column
from .rayyan import RAYYAN_LABEL_COLUMN, warn_undecided
from .labels import (LABEL_COLUMNS, check_both_classes, label_column, label_source, labelled_label_column, parse_labels,
                     say_labels_unused, screened, warn_labels_elsewhere, warn_other_label_column)
from .missing import missing_text
from .ranked_csv import refuse_ranked_csv
from .tables import RECORD_FORMATS, read_table, row_place, sheet_note  # noqa: F401  (read_table: also imported from here)

TEST_ID_PREFIX = "test-"
HASH_CHUNK_ROWS = 50_000  # rows hashed at a time by `update_row_hashes`
log = logging.getLogger("screenstack")


@dataclass(frozen=True)
class ColumnSpec:
    """Which columns hold the id, the text and the label; ``None`` means detect."""

    id_col: str | None = None
    text_cols: tuple[str, ...] | None = None
    label_col: str | None = None

    @classmethod
    def from_flags(cls, id_col: str | None, text_cols: str | None, label_col: str | None) -> "ColumnSpec":
        """Build a spec from the ``--id-col``, ``--text-cols`` (comma-separated) and ``--label-col`` values."""
        cols = tuple(comma_items(text_cols, "--text-cols")) if text_cols else None
        if cols and len(set(cols)) < len(cols):
            raise ScreenstackError(f"--text-cols {','.join(cols)}: a column is listed twice.")
        return cls(id_col or None, cols or None, label_col or None)

    def flags(self) -> str:
        """The flags that give this spec (`from_flags`' inverse), each with a leading space: a command this
        screenstack offers a file read with ``--label-col LB`` must name it too, or it is refused."""
        given = (("--id-col", self.id_col), ("--text-cols", ",".join(self.text_cols or ())), ("--label-col", self.label_col))
        # A column name is not a path: one starting with "-" goes after "=", or argparse reads it as a flag.
        return "".join(f" {flag}{'=' if value.startswith('-') else ' '}{shlex.quote(value)}" for flag, value in given if value)


@dataclass(frozen=True)
class Corpus:
    """Training and test records in one frame.

    ``frame`` has columns ``id`` (str), ``title``, ``abstract`` (str, may be
    empty), ``label`` (0/1 for training rows, NaN for test rows) and ``split``
    (``"train"`` or ``"test"``); training rows come first, each split in file order.
    ``screen_columns`` holds every column of the input file for the test rows,
    as strings, in the order of `test` (None when not read from a file), so the
    records to screen can be listed as the reviewer gave them. It is not part of
    the fingerprints.
    """

    frame: pd.DataFrame
    screen_columns: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    text_columns: tuple[str, ...] = field(default=(), compare=False)  # the file's columns the texts came from, title first
    said: tuple[str, ...] = field(default=(), compare=False)  # the warnings given reading the files (`kept_warnings`)
    keys: pd.DataFrame | None = field(default=None, compare=False, repr=False)  # `record_keys` of the frame's rows, if made
    labelled_file: str = field(default="", compare=False)  # the file the labelled records came from, named in refusals

    def split_keys(self, split: str) -> pd.DataFrame:
        """`record_keys` of one split's records, in its order: those the loader made for its copy check, or made here."""
        if self.keys is None:
            return record_keys(self.frame[self.frame["split"] == split]).reset_index(drop=True)
        return self.keys[(self.frame["split"] == split).to_numpy()].reset_index(drop=True)

    @property
    def train(self) -> pd.DataFrame:
        return self.frame[self.frame["split"] == "train"].reset_index(drop=True)

    @property
    def test(self) -> pd.DataFrame:
        return self.frame[self.frame["split"] == "test"].reset_index(drop=True)

    def fingerprint(self, split: str) -> str:
        """SHA-256 of the ids, texts and labels of one split, to tie artifacts to their data."""
        return fingerprint_of(self.frame[self.frame["split"] == split])


def fingerprint_of(part: pd.DataFrame) -> str:
    """`Corpus.fingerprint` of the records `part` (one split's rows), in their order."""
    digest = hashlib.sha256()
    for column in ("id", "title", "abstract", "label"):
        digest.update(column.encode())
        update_row_hashes(digest, part[column], as_str=True)
    return digest.hexdigest()


def update_row_hashes(digest, values: pd.Series, as_str: bool = False) -> None:
    """Feed `digest` pandas' 64-bit hash of each value (made ``str`` first with `as_str`), `HASH_CHUNK_ROWS` at a time.

    Each value hashes alone, so the chunks give the bytes of the whole column at
    once, without a UTF-8 copy of a million abstracts.
    """
    for start in range(0, len(values), HASH_CHUNK_ROWS):
        chunk = values.iloc[start:start + HASH_CHUNK_ROWS]
        # `str` of each value, as pandas 2's astype(str) spells it ("nan", "None"): pandas 3's astype(str) keeps a
        # missing label missing, which hashed otherwise, so a run folder's test fingerprint changed with pandas.
        digest.update(pd.util.hash_pandas_object(chunk.map(str) if as_str else chunk, index=False).to_numpy().tobytes())


def record_text(title: str, abstract: str) -> str:
    """The text a model reads: title and abstract, or the title alone."""
    title, abstract = title.strip(), abstract.strip()
    if title and abstract:
        return f"{title}. {abstract}" if title[-1] not in ".?!" else f"{title} {abstract}"
    return title or abstract


def texts(frame: pd.DataFrame) -> list[str]:
    """`record_text` for every row of a corpus frame."""
    return [record_text(t, a) for t, a in zip(frame["title"], frame["abstract"])]


# --- from a table to records ---------------------------------------------------------------------

def load_records(path: str | Path, spec: ColumnSpec = ColumnSpec(), labelled: bool | Literal["partly"] = True,
                 id_prefix: str = "", table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read one file into a frame with ``id``, ``title``, ``abstract`` and ``label``.

    ``label`` is 0/1 when `labelled` is True (a record not screened yet is
    refused), 0/1 or NaN for a record not screened yet when it is ``"partly"``,
    and NaN when it is False. A file without an id column gets ids
    ``id_prefix + record number`` (1-based); ``frame.attrs["columns"]`` says
    which columns were used. `table`: the file as `read_table` read it, when
    the caller already holds it (the file is then not read again).

    Examples
    --------
    >>> records = load_records("data/cohen_adhd.csv")  # doctest: +SKIP
    """
    return _read_records(Path(path), spec, labelled, id_prefix, table)[0]


def refuse_headerless(path: Path, columns: list) -> None:
    """Refuse a file whose header reads as a record (`reads_as_a_record`): written without its header row, its first
    record was taken for the column names, and "no title column" would name a title as a column."""
    if reads_as_a_record(columns):
        raise ScreenstackError(f"{path}: {headerless(columns)}.")


def _read_records(path: Path, spec: ColumnSpec, labelled: bool | Literal["partly"],
                  id_prefix: str, table: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`load_records`, and the file's own columns as read (strings), row for row."""
    frame = read_table(path) if table is None else table
    _warn_separator_rows(path, frame.attrs.get("separator_rows", ()), frame.attrs["format"] == "xlsx")
    _warn_long_rows(path, frame.attrs.get("long_rows", ()), frame.attrs.get("header_width", 0), labelled is not False)
    columns = list(frame.columns)
    found = ", ".join(columns) + sheet_note(frame)
    kind = frame.attrs["format"]
    is_ris = kind == "ris"
    if kind == "medline" and labelled and not spec.label_col:  # said before any warning about the records' text
        raise ScreenstackError(
            f"{path}: PubMed's MEDLINE format has no label tag, so its records can only be screened: give it as "
            "--test, or to `screenstack predict --data`. Give the labelled records as CSV, TSV, XLSX or RIS (a "
            "column of 0/1), or pass --label-col naming a tag you added that holds 0/1."
        )

    def need(typed: str, flag: str) -> str:
        name = named_column(typed, columns, kind)
        if name is None and len(alike := spelled_alike(typed, columns)) > 1:
            raise ScreenstackError(f"{path}: {flag} {typed!r}: no column spelled so, and {len(alike)} spelled so but for "
                                   f"case ({', '.join(map(repr, alike))}). Pass the one meant, spelled as the header has it.")
        if name is None:
            raise ScreenstackError(f"{path}: no column {typed!r} (found: {found}). Fix {flag} or the file's header.")
        if name != typed and kind not in RECORD_FORMATS:
            log.info("%s: %s %r: read from column %r", path, flag, typed, name)
        return name

    if spec.text_cols:
        text_cols = [need(c, "--text-cols") for c in spec.text_cols]
        if len(set(text_cols)) < len(text_cols):  # `title,Title`: one column by two spellings, its text read twice
            raise ScreenstackError(f"{path}: --text-cols {','.join(spec.text_cols)} names column "
                                   f"{next(c for c in text_cols if text_cols.count(c) > 1)!r} twice. List it once.")
    else:
        title_col = pick_column(columns, TITLE_COLUMNS)
        if title_col is None:
            refuse_headerless(path, columns)
            raise ScreenstackError(
                f"{path}: no title column (expected one of {', '.join(TITLE_COLUMNS)}; found: {found}). "
                "Rename the titles' column title (and the abstracts' abstract), or pass --text-cols TITLE,ABSTRACT if "
                "every input file names its columns so."
            )
        abstract_col = pick_column(columns, ABSTRACT_COLUMNS)
        text_cols = [title_col] + ([abstract_col] if abstract_col else [])
    cells = {c: _without_missing_markers(path, frame, c) for c in text_cols}
    title = cells[text_cols[0]].str.strip()
    abstract = pd.Series("", index=frame.index)
    if len(text_cols) > 1:  # the abstract columns joined by spaces (zip: a row-wise agg takes seconds per 100,000 rows)
        joined = [" ".join(parts) for parts in zip(*(cells[c] for c in text_cols[1:]))]
        abstract = pd.Series(joined, index=frame.index, dtype=object).str.strip()
    if not spec.text_cols and not abstract.ne("").any():  # no abstract read: perhaps under a name not looked for
        _point_to_abstracts(path, frame, columns, text_cols)

    id_col = need(spec.id_col, "--id-col") if spec.id_col else pick_column(columns, id_columns(kind, columns))
    if not spec.id_col and id_col is not None and str(id_col).lower() == "key":
        keys = frame[id_col].astype(str).str.strip()
        if keys.eq("").any() or keys.duplicated().any():  # a `key` column that is no Zotero or Rayyan record key
            warnings.warn(f"{path}: column {id_col!r} is not read as the records' ids, as a Zotero or Rayyan key would "
                          "be: some are empty or repeated; records are numbered instead (pass --id-col naming an id "
                          "column, if there is one).", stacklevel=3)
            id_col = None
    if id_col and id_col in text_cols:  # an id is a record's name, not its words: TF-IDF would learn the ids
        if spec.id_col and not spec.text_cols:  # the user named a text column as the ids
            raise ScreenstackError(f"{path}: --id-col {spec.id_col} names a column of the records' text, which screenstack reads "
                                   f"as their {'title' if id_col == text_cols[0] else 'abstract'}. Pass --id-col naming the "
                                   "column of record ids (a DOI, PubMed id or record number), or leave it out.")
        if spec.id_col:  # both flags name it: either may be the slip (not the text's only column)
            typed = next(c for c, used in zip(spec.text_cols, text_cols) if used == id_col)
            other = f", or leave {typed} out of --text-cols" if len(text_cols) > 1 else ""
            raise ScreenstackError(f"{path}: --id-col {spec.id_col} is one of --text-cols ({','.join(spec.text_cols)}): a column "
                                   "holds either the ids or text. Pass --id-col naming the column of record ids (a DOI, "
                                   f"PubMed id or record number){other}.")
        raise ScreenstackError(f"{path}: --text-cols names the id column {id_col!r}. Leave it out of --text-cols, "
                               "or pass --id-col if another column holds the ids.")
    if id_col:
        ids = _unquoted_ids(frame[id_col].str.strip())
        blank = np.flatnonzero((ids == "").to_numpy())
        if len(blank):
            outside = (" (where records found outside PubMed have no PubMed id, another id of theirs in that cell, such "
                       "as embase-17 from their record number)" if re.search("pmid|pubmed", str(id_col), re.IGNORECASE) else "")
            raise ScreenstackError(
                f"{path}: {row_place(frame, blank[0])}, column {id_col!r}: empty id ({len(blank)} such). "
                f"Give every record an id{outside}, or pass --id-col with a column that has one for every record."
            )
        broken = np.flatnonzero(ids.str.contains(r"[\r\n]", regex=True).to_numpy())
        if len(broken):  # it would split its line of submission.csv and ranked.csv in two
            raise ScreenstackError(
                f"{path}: {row_place(frame, broken[0])}, column {id_col!r}: id {ids.iloc[broken[0]]!r} holds a line break "
                f"({len(broken)} such). Remove the line breaks from the ids, or pass another --id-col."
            )
        keys = ids.map(id_key)  # as files are compared: 1000.0 or '1000 is 1000, so one record cannot train and be scored
        first = keys.duplicated(keep=False).to_numpy()
        if first.any():
            dup = ids[first].iloc[0]
            rows = np.flatnonzero((keys == keys[first].iloc[0]).to_numpy())[:5]
            typed = frame[id_col].astype(str)  # as the file holds them: ' 1' and '1' are one id, told apart here
            spelled = len({typed.iloc[i] for i in rows}) > 1
            where = [row_place(frame, i) + (f" as {typed.iloc[i]!r}" if spelled else "") for i in rows]
            repeated = int(keys[first].nunique())  # all of them at once: a merged file repeats dozens, one per rerun was slow
            others = f"; {repeated} ids do" if repeated > 1 else ""
            fix = ("remove the repeated records (searches joined with `cat` repeat the records they share: combine the "
                   "searches in PubMed with OR and export once)" if kind == "medline" else
                   "remove the duplicate records (a file merged with an update holds its records twice: keep one copy "
                   "of each, with its label) or pass another --id-col")
            raise ScreenstackError(
                f"{path}: column {id_col!r}: id {dup!r} appears more than once ({', '.join(where)}){others}. "
                f"Ids must be unique: {fix}."
            )
    else:
        ids = pd.Series([f"{id_prefix}{i + 1}" for i in range(len(frame))], index=frame.index)

    out = pd.DataFrame({"id": ids.to_numpy(), "title": title.to_numpy(), "abstract": abstract.to_numpy()})
    empty = (out["title"] == "") & (out["abstract"] == "")
    if empty.any():
        # Real exports hold records with no text (the Cohen sets have some, a few
        # of them included); they stay in and are scored like any other record.
        warnings.warn(f"{path}: {int(empty.sum())} record(s) have neither title nor abstract "
                      f"(first: {row_place(frame, int(np.flatnonzero(empty.to_numpy())[0]))}).", stacklevel=2)

    label_col = label_column(frame, spec.label_col) if labelled else None
    if label_col is not None and spec.label_col and label_col != spec.label_col and kind not in RECORD_FORMATS:
        log.info("%s: --label-col %r: read from column %r", path, spec.label_col, label_col)
    if labelled and label_col is None:
        if spec.label_col:
            need(spec.label_col, "--label-col")  # refuses, naming the columns found
        if is_ris:
            raise ScreenstackError(
                f"{path}: no record has an ASReview label note (`N1  - ASReview_relevant`, `ASReview_irrelevant` or "
                f"`ASReview_not_seen`), and RIS has no standard label tag (found: {found}). Export the file from "
                "ASReview, or pass --label-col naming the tag or field that holds 0/1."
            )
        # judgment, label_incluced; not label_excluded or not_included, whose 1 would mean the opposite (helper-142)
        near = next((c for c in columns if closest(c, LABEL_COLUMNS) is not None
                     and not any(word in str(c).lower() for word in ("exclu", "not", "irrelev", "reject", "non"))), None)
        way = f"pass --label-col {near} if that column holds the labels" if near is not None else "pass --label-col"
        raise ScreenstackError(
            f"{path}: no label column (expected one of {', '.join(LABEL_COLUMNS)}; found: {found}). "
            f"Rename the column or {way}. Records to screen alone (a search update) go to `screenstack predict --run "
            f"RUN --data {quoted(path)}`, which scores them with a finished run's models, or to --test beside a labelled --train."
        )
    if labelled:
        if label_col in text_cols:  # the models would read each training record's answer in its text
            if spec.label_col and not spec.text_cols:  # --label-col names a column read as text by default
                raise ScreenstackError(f"{path}: --label-col {spec.label_col} names a text column ({label_col!r} is read "
                                       f"as text: {', '.join(text_cols)}). Give --label-col the column of 0/1 labels.")
            raise ScreenstackError(f"{path}: --text-cols names the label column {label_col!r}. Leave it out of "
                                   "--text-cols, or pass --label-col if another column holds the labels.")
        out["label"] = parse_labels(path, frame, label_col, partly=labelled == "partly")
    else:
        out["label"] = np.nan
    out.attrs["columns"] = {"id": id_col, "text": text_cols, "label": label_col, "format": frame.attrs["format"],
                            "blank_rows": frame.attrs.get("blank_rows", [])}
    return out, frame


def _warn_separator_rows(path: Path, rows, workbook: bool = False) -> None:
    """Name the rows holding only separators (``,,``; in a `workbook`, empty rows between records), which are skipped
    as blank rows are: such a row has no id and no text, so it is no record to screen, but a file that lost rows must
    not look whole."""
    if len(rows):
        shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
        plural = len(rows) > 1
        what = (f"{len(rows)} row{'s' if plural else ''} between records {'are' if plural else 'is'} empty" if workbook
                else f"{len(rows)} row{'s hold' if plural else ' holds'} only separators")
        warnings.warn(f"{path}: {what}, no id or text ({'rows' if plural else 'row'} {shown}), "
                      "and are skipped as blank rows are: fill them in if they are records, or delete them.", stacklevel=4)


def _warn_long_rows(path: Path, rows, header_width: int, labelled: bool) -> None:
    """Name the rows that ran past the header with empty fields, where most rows do not (`read_table`'s
    ``long_rows``): read as ending in separators, they may be rows split by an unquoted separator, cells shifted.
    `labelled`: the file has a label column, which a shift can fill."""
    if len(rows):
        shown = ", ".join(f"row {number} with {fields}" for number, fields in rows[:3]) + (", ..." if len(rows) > 3 else "")
        label = ", the label column holding another's value" if labelled else ""
        warnings.warn(f"{path}: {len(rows)} row(s) have more fields than the header's {header_width}, the last ones empty "
                      f"({shown}): read as ending in separators, but where a separator inside an unquoted field split "
                      f"a row its cells are shifted (a title cut in two{label}). Check the quoting on those rows.", stacklevel=4)


def _unquoted_ids(ids: pd.Series) -> pd.Series:
    """`ids` without the ``'`` that ranked.csv puts before an id starting with ``=``, ``+``, ``-`` or ``@`` (so a
    spreadsheet does not run it as a formula), so ranked.csv given to predict, or ids copied from it, name its records."""
    if not ids.str.startswith("'").any():  # the common case: no regex over a million ids
        return ids
    return ids.str.replace(r"^'(?=[=+\-@])", "", n=1, regex=True)


def _point_to_abstracts(path: Path, frame: pd.DataFrame, columns, text_cols: list[str]) -> None:
    """Where the columns read give no abstract (none of the names looked for, or one whose every cell is empty), warn of
    a column that looks like the abstracts: a name holding "abstract" (not a ``label...`` one), ``summary`` or
    ``description``, else one of long text (`_long_text_column`); records screened on their titles alone otherwise
    went ahead without a word."""
    title_col, abstract_col = text_cols[0], (text_cols[1:] or [None])[0]
    likely = named_like_abstracts(columns, but=(abstract_col,))
    how = "looks like one"
    if not likely and (long := _long_text_column(frame, columns, text_cols)):
        likely, how = [long[0]], f"holds long text (half its cells {long[1]} characters or more), perhaps the abstracts"
    if likely:
        lead = (f"column {abstract_col!r} is empty" if abstract_col else
                f"no abstract column by a name screenstack looks for ({', '.join(ABSTRACT_COLUMNS)})")
        warnings.warn(f"{path}: {lead}, so the records are screened on their titles alone; column {likely[0]!r} {how}: "
                      f"to read it, rename it abstract, or pass --text-cols \"{title_col},{likely[0]}\" if every input "
                      "file names its columns so.", stacklevel=4)


# An abstract holds 1,000-2,000 characters, a title about 100, an author list of 40 names some 750.
LONG_TEXT = 800


def _long_text_column(frame: pd.DataFrame, columns, read: list[str]) -> tuple[str, int] | None:
    """The first column not `read` whose cells among the first 1,000 rows, empty ones counted, have a median length of
    `LONG_TEXT` characters or more, with that median: abstracts under a name not looked for (`summary_text`), which
    were left unread without a word; a column of a few long notes is no such column."""
    head = frame.head(1000)
    for column in columns:
        if column in read:
            continue
        median = head[column].astype(str).str.strip().str.len().median()
        if median >= LONG_TEXT:
            return column, int(median)
    return None


def _without_missing_markers(path: Path, frame: pd.DataFrame, name: str) -> pd.Series:
    """Column `name` with the cells that hold no text (`missing.missing_text`) emptied, with a warning."""
    column = frame[name]
    marked = missing_text(column)
    if not marked.any():
        return column
    first = int(np.flatnonzero(marked)[0])
    warnings.warn(f"{path}: column {name!r}: {int(marked.sum())} record(s) hold {column.iloc[first].strip()!r} or the like "
                  f"(first: {row_place(frame, first)}), read as no text there.", stacklevel=4)
    return column.where(~marked, "")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.is_file() and a.samefile(b)
    except OSError:  # one is missing or unreadable: `read_table` names it
        return False


def load_corpus(train: str | Path, test: str | Path | None = None, spec: ColumnSpec = ColumnSpec()) -> Corpus:
    """Read a labelled training file and an optional unlabelled test file.

    ``spec.id_col`` is used in each file that has it, the other keeping its
    ``id``/``record_id`` column (`pair_id_columns`). A test file without ids
    beside a training file with them, an id in both files (as `id_key`
    compares them), and screenstack's own ranked.csv as the training file
    (`refuse_ranked_csv`), are refused; the test file's label column is not used.

    Examples
    --------
    >>> corpus = load_corpus("data/train.csv", "data/test.csv")  # doctest: +SKIP
    """
    train_path = Path(train)
    if test is not None and _same_file(train_path, Path(test)):
        raise ScreenstackError(f"--train {train} and --test {test}: the same file. --test takes the records to screen, "
                               "apart from the labelled ones; a file holding both, partly screened, goes alone in --data.")
    train_table = read_table(train_path, "--train")
    refuse_ranked_csv(train_path, train_table.columns, "--train")
    train_id = test_id = spec.id_col
    if test is not None:  # both headers decide where --id-col applies (`pair_id_columns`)
        test_path = Path(test)
        test_table = read_table(test_path, "--test")
        train_id, test_id = pair_id_columns(spec.id_col, train_path, train_table, test_path, test_table)
        _refuse_swapped(train_path, train_table, test_path, test_table, spec)
    train_frame = load_records(train_path, replace(spec, id_col=train_id), labelled=True, table=train_table)
    check_both_classes(train_path, train_frame)
    _log_loaded(train_path, train_frame)
    frames = [train_frame.assign(split="train")]
    screen_columns = None
    if test is not None:
        test_frame, screen_columns = _read_records(test_path, ColumnSpec(test_id, spec.text_cols, None), False,
                                                   TEST_ID_PREFIX, test_table)
        check_test_ids(train_path, train_frame, test_path, test_frame, list(test_table.columns))
        check_disjoint(train_path, train_frame, test_path, test_frame)
        _warn_fewer_text_columns(train_path, train_frame, test_path, test_frame)
        _log_loaded(test_path, test_frame)
        say_labels_unused(test_path, list(test_table.columns), spec.label_col, table=test_table)
        frames.append(test_frame.assign(split="test"))
    frame = pd.concat(frames, ignore_index=True)
    keys = record_keys(frame)
    warn_duplicates(frame, train_path, test, keys=keys["text_key"])
    return Corpus(frame, screen_columns, tuple(train_frame.attrs["columns"]["text"]), keys=keys, labelled_file=str(train_path))


def _refuse_swapped(train_path: Path, train_table: pd.DataFrame, test_path: Path, test_table: pd.DataFrame, spec: ColumnSpec) -> None:
    """A training file without labels (no label column, or one with no record screened) beside a test file with
    some: the two were given the wrong way round, and the missing labels' own fix ("rename the column", "give it as
    --data") would send the user the wrong way."""
    test_col = label_column(test_table, spec.label_col)
    if test_col is None or not screened(test_table[test_col]):
        return
    train_col = label_column(train_table, spec.label_col)
    if train_col is None or not screened(train_table[train_col]):
        raise ScreenstackError(f"--train {train_path} has no labels, but --test {test_path} has ({test_col!r}): were the two "
                               "swapped? --train takes the labelled records, --test the records to screen.")


def _warn_fewer_text_columns(train_path: Path, train: pd.DataFrame, test_path: Path, test: pd.DataFrame) -> None:
    """A test file read with fewer text columns than the training file (exported without its abstracts): its records
    are read as training records with those cells empty, so the models see less of them than they learned from."""
    trained, tested = train.attrs["columns"]["text"], test.attrs["columns"]["text"]
    if len(tested) < len(trained):
        warnings.warn(f"{test_path}: text columns {'+'.join(tested)}, where {train_path} has {'+'.join(trained)}: its "
                      f"records are scored on {'+'.join(tested)} alone, as a training record with the rest empty. Give "
                      "the test file the same columns.", stacklevel=3)


def load_partly_screened(data: str | Path, spec: ColumnSpec = ColumnSpec()) -> Corpus:
    """Read one partly screened file: its labelled records train, the others are the test records to score.

    A record is not screened yet when its label is empty, ``-1`` or
    ``ASReview_not_seen`` (see `UNLABELLED_VALUES`). Ids of a file without an id
    column are its record numbers, so the two parts never share one. Every
    record may be labelled: the corpus then has no test records. Screenstack's
    own ranked.csv is refused (`refuse_ranked_csv`): it lacks the earlier labels.

    Examples
    --------
    >>> corpus = load_partly_screened("data/asreview_export.ris")  # doctest: +SKIP
    """
    path = Path(data)
    table = read_table(path, "--data")
    refuse_ranked_csv(path, table.columns, "--data")
    records, original = _read_records(path, spec, "partly", "", table)
    if records.attrs["columns"]["label"] == RAYYAN_LABEL_COLUMN:  # only where they train: not beside a label column
        warn_undecided(path, original, lambda index: row_place(original, index))
    labelled = records["label"].notna().to_numpy()
    if not labelled.any():
        chosen = records.attrs["columns"]["label"]
        other = None if spec.label_col else labelled_label_column(original, chosen)
        holds = "Rayyan's decisions in its notes hold" if other == RAYYAN_LABEL_COLUMN else "that column holds"
        fix = (f"Pass --label-col {other}: {holds} labels." if other else
               "Screen some records first: training needs included (1) and excluded (0) ones.")
        raise ScreenstackError(f"{path}: no record is labelled yet (column {chosen!r} is empty, -1 or "
                               f"ASReview_not_seen throughout). {fix}")
    train, test = records[labelled], records[~labelled]  # each keeps records.attrs
    check_both_classes(path, train)
    cols = records.attrs["columns"]
    if test.empty and not spec.label_col:
        warn_other_label_column(path, original, cols["label"])
    elif not spec.label_col:
        warn_labels_elsewhere(path, original, cols["label"], ~labelled)
    log.info("%s: %d records: %d labelled, %d included (%s), and %d not screened yet, to score; "
             "id column %s, text columns %s", path, len(records), len(train), int(train["label"].sum()), label_source(cols),
             len(test), repr(cols["id"]) if cols["id"] else "none (record numbers)", "+".join(cols["text"]))
    frame = pd.concat([train.assign(split="train"), test.assign(split="test")], ignore_index=True)
    keys = record_keys(frame)
    warn_duplicates(frame, path, path, keys=keys["text_key"])
    return Corpus(frame, original[~labelled].reset_index(drop=True), tuple(cols["text"]), keys=keys, labelled_file=str(path))


def _log_loaded(path: Path, records: pd.DataFrame) -> None:
    cols = records.attrs["columns"]
    labels = "" if cols["label"] is None else f", {int(records['label'].sum())} included ({label_source(cols)})"
    log.info("%s: %d records%s; id column %s, text columns %s", path, len(records), labels,
             repr(cols["id"]) if cols["id"] else "none (record numbers)", "+".join(cols["text"]))
