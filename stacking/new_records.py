"""Reading a search update for `predict`: its records, read with a finished run's text columns, less those the run trained on."""
from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..features.artifacts import sets
from ..features.artifacts.records import INPUT_PREFIX, RECORDS_FILE, RECORDS_SET
from ..features.artifacts.runfolder import RunFolder
from ..features.errors import ScreenstackError
from ..features.records.columns import ABSTRACT_COLUMNS, TITLE_COLUMNS, named_like_abstracts
from ..features.records.corpus import (TEST_ID_PREFIX, ColumnSpec, Corpus, load_records, read_table, refuse_headerless,
                                       sheet_note)
from ..features.records.duplicates import record_keys, warn_duplicates
from ..features.records.ids import ID_COLUMNS, ID_COLUMNS_SAID, id_key, pick_column, record_place
from ..features.records.labels import say_labels_unused
from ..features.records.ranked_csv import is_ranked_csv
from ..features.records.ris import ris_field

if TYPE_CHECKING:
    from .fitted_run import FittedRun

log = logging.getLogger("screenstack")
LEFT_OUT_COLUMNS = ["id", "run_id", "label", "title"]  # left_out.csv's: the records left out as screened in the run


def load_new_records(run: FittedRun, path: str | Path, id_col: str | None = None,
                     text_cols: tuple[str, ...] | None = None) -> tuple[Corpus, pd.DataFrame]:
    """NEW's records as a corpus of test rows only, read with the run's text columns (labels are ignored), and
    those of NEW's records left out as the run's training records: ``id`` (as NEW spells it), ``run_id`` and, where
    the run's fold plan keeps them (from 0.3.9), ``label``.

    The run's title and abstract columns may have other names in NEW (``TI``
    and ``AB`` in a RIS update of a CSV run): NEW's own are then read.

    A record whose id is one of the run's training records is left out, with an
    info line: its label is known, and the fold models saw it, so its score
    would be in-sample. A file of such records alone is refused. Where the
    run's fold plan keeps its records' title hashes (from 0.3.9), a record with
    a training record's id but another title is another paper under a reused
    id: it is scored, with a warning (`_reused_ids`); and records with a
    training record's title and abstract under another id are named in a
    warning, as `run` names them. Ids are
    compared as a spreadsheet may have rewritten them: a number with leading
    zeros or a ``.0`` (``0151``, ``151.0``) is the run's ``151``; and regardless
    of case (`id_key`). Records that repeat another's title and abstract
    are named in a warning (`features.records.duplicates`), and a label column
    in the file in an info line: predict does not learn from it.

    Ids are read from the run's id column (`run_id_column`) unless `id_col`
    names another. A warning says when no overlap can be found (the file has no
    id column, or the run's ids were row numbers) or when the file's id column
    is not the run's.
    """
    original = read_table(path, "--data").reset_index(drop=True)
    header = list(original.columns)
    columns = tuple(text_cols) if text_cols else _text_columns_in(header, run.text_columns)
    if columns and not text_cols:
        columns = _title_and_present_abstracts(path, header, columns, run.text_columns, sheet_note(original))
    as_read = None if id_col is None else ris_field(id_col, header) if original.attrs["format"] == "ris" else id_col
    named = [c for c in columns if as_read is not None and str(c).strip().lower() == as_read.strip().lower()]
    if named:  # the text columns are the run's (given or not: predict takes no others), so the --id-col is what is wrong
        raise ScreenstackError(f"{path}: --id-col {id_col} names a column of the records' text, which the run reads as their "
                               f"{'title' if named[0] == columns[0] else 'abstract'}. Pass --id-col naming the column of "
                               "record ids (a DOI, PubMed id or record number), or leave it out (the run's id column is "
                               "looked for).")
    if id_col is None and run.id_column:  # the run's id column, as `run` read it (a new export may spell it DOI)
        id_col = pick_column(header, (run.id_column.lower(),))
    spec = ColumnSpec(id_col, columns, None)
    records = load_records(path, spec, labelled=False, id_prefix=TEST_ID_PREFIX, table=original)
    texts = tuple(records.attrs["columns"]["text"])
    if text_cols and [str(c).lower() for c in texts] != [str(c).lower() for c in run.text_columns]:
        _warn_unlike_texts(path, original, texts, text_cols, run)  # the run's own names in place: as the run read them
    say_labels_unused(path, header, None, "predict fits nothing, so every record is scored as not screened; to train on "
                      "these labels, add the records to the run's training data and run again", table=original)
    if run.row_number_ids:
        # The run's ids number its file's rows: no id of another file names the same record, so none is compared.
        warnings.warn(f"{path}: records already screened in the run cannot be recognised, so all {len(records)} are "
                      f"scored as new: the run's records had no id column (their ids are row numbers). To leave them "
                      f"out, rerun `screenstack run` with --id-col naming a real id column (a DOI or PubMed id) and "
                      f"predict from that run.", stacklevel=2)
        warn_duplicates(records.assign(split="test"), path, path, labelled=run.train_keys, to_screen=run.to_screen)
        return Corpus(records.assign(split="test"), original, texts), pd.DataFrame(columns=LEFT_OUT_COLUMNS, dtype=str)
    used = records.attrs["columns"].get("id")
    if used is None:
        looked = ID_COLUMNS_SAID if _default_id(run.id_column) else f"{run.id_column}, {ID_COLUMNS_SAID}"
        warnings.warn(f"{path}: no id column ({looked}; found: {', '.join(map(str, header))}), so records "
                      "the run trained on (an update's overlap with the last search) cannot be left out and are scored as "
                      "new (a warning names any whose title and abstract repeat a labelled record's). Where a column "
                      "holds the run's record ids" + (f" (the run's {run.id_column!r})" if run.id_column else "")
                      + ", pass --id-col with it; else add those ids to the file (in RIS, an ID tag).", stacklevel=2)
    train = {id_key(str(i)): i for i in run.train_ids}
    keys = records["id"].astype(str).map(id_key)
    screened = keys.isin(train.keys()).to_numpy(copy=True)  # written below: pandas 3's to_numpy is a read-only view
    to_screen_keys = {id_key(str(i)) for i in run.test_ids}
    texts_of = record_keys(records).reset_index(drop=True)
    matched = screened.copy()
    screened &= ~_reused_ids(path, run, records, keys, texts_of, screened)
    textless = (texts_of[["title_key", "text_key"]].to_numpy() == 0).all(axis=1)
    everything = bool((matched & (screened | textless)).all())  # the run's training file itself (its empty records too)
    if used is not None and run.id_column and str(used).lower() != run.id_column.lower() and not (
            _default_id(used) and _default_id(run.id_column)):  # RIS's ID is a CSV export's record_id
        # Another column's ids match the run's only where both columns hold the same ids (a DOI is no PubMed id):
        # said as a warning where none matches a record of the run, screened or still to screen (an update of new
        # records alone, under the run's kind of ids, matches neither: then only the run's ids tell). The fix only
        # where the file lacks the run's column: one it has was passed over by --id-col on purpose.
        listed = keys.isin(to_screen_keys).to_numpy()
        alike = (screened.any() or listed.any() or is_ranked_csv(header)  # a ranked.csv's ids are its run's
                 or (original.attrs["format"] == "medline" and _pubmed_like(run)))
        fix = "" if alike or pick_column(header, (run.id_column.lower(),)) else (
            " A MEDLINE file's ids are its PMIDs: for them to match, the run's training file needs its PubMed ids as "
            "its id column (--id-col); a warning names any record whose title and abstract repeat a labelled one's."
            if original.attrs["format"] == "medline" else f" Pass --id-col naming the file's column of the run's ids "
            f"({run.id_column}).")
        said = (f"{path}: ids read from column {used!r}, not the run's {run.id_column!r}: a record already screened is "
                f"recognised only where both hold the same id ({int(screened.sum())} of {len(records)} did).{fix}")
        if alike:  # the two columns hold the same kind of ids (a PMID beside the run's pubmedID): said, no warning
            log.info(said)
        else:
            warnings.warn(said, stacklevel=2)
    left_out = pd.DataFrame({"id": records["id"].astype(str)[screened], "run_id": keys[screened].map(train).astype(str)})
    if run.train_keys is not None:  # the label the reviewer gave it, from the fold plan
        left_out["label"] = run.train_keys.loc[keys[screened], "label"].to_numpy()
    left_out["title"] = records["title"].astype(str)[screened]  # as this file has it: checked without looking ids up
    if screened.any():
        _say_screened(path, records, screened, train[keys[screened].iloc[0]], run.id_column, run.train_keys is not None,
                      everything)
        records, original = records[~screened].reset_index(drop=True), original[~screened].reset_index(drop=True)
        keys, texts_of = keys[~screened].reset_index(drop=True), texts_of[~screened].reset_index(drop=True)
    again = keys.isin(to_screen_keys).to_numpy()
    if again.any():  # still unscreened, so scored: but the reviewer should not screen them twice from two lists
        # Titles tell the same paper from another one under its id (an export numbering its records anew), where the
        # run kept them (a helper's update of another review: 112 "have the ids", none the same paper).
        was = np.array([(run.test_titles or {}).get(key, 0) for key in keys[again]], dtype=np.uint64)
        now = texts_of["title_key"].to_numpy(dtype=np.uint64)[again]
        # A title on one side alone is another paper too (all 10 of a helper's renumbered update): screened twice at
        # worst, where counting it as the same would have the reviewer pass over a paper nobody screened.
        other = (was != now) & (run.test_titles is not None)  # a run without records.parquet kept no titles to tell
        # Said by title: a copy of the run's record under another id is the warning's (`warn_duplicates`), not this.
        said = ("scored here; where they are those records, they are in both lists" if not other.any() else
                "scored here; every one has another title (other papers under those ids), so none is in both lists"
                if other.all() else
                f"scored here; {int((~other).sum())} of them are in both lists, {int(other.sum())} "
                f"{'has another title' if other.sum() == 1 else 'have other titles'} "
                "(other papers under those ids)")
        line = (f"{int(again.sum())} of the {len(again)} records of {path} {'has' if again.sum() == 1 else 'have'} the ids "
                f"of the run's records to screen (its ranked.csv; the first: id "
                f"{str(records['id'].iloc[int(np.flatnonzero(again)[0])])!r}): {said}")
        both = int((~other).sum())
        if 0 < both < len(again):  # an update overlapping the last list: kept in summary.json and the report, to be
            # screened once (the run's own records to screen again, all of them, are a rescoring: said alone)
            warnings.warn(f"{line}. Screen each once: their ids are in the run's ranked.csv.", stacklevel=2)
        else:
            log.info(line)
    warn_duplicates(records.assign(split="test"), path, path, labelled=run.train_keys, keys=texts_of["text_key"],
                    to_screen=run.to_screen)
    return Corpus(records.assign(split="test"), original, texts, keys=texts_of), left_out.reset_index(drop=True)


def _reused_ids(path, run: FittedRun, records: pd.DataFrame, keys: pd.Series, texts_of: pd.DataFrame,
                screened: np.ndarray) -> np.ndarray:
    """Which of the records with a training record's id are not shown by their texts to be that record, with a
    warning: the titles differ, or both records have abstracts and they differ, or a title is missing and title and
    abstract are not the same. Records with neither text on both sides are told by the others: the training
    record where no other with a text differs (the ids are the run's), else scored (flagged anyway), not named in
    the warning.
    Such a record is another paper under a reused id (an export that numbers its records anew), scored rather than
    left out unseen, since leaving out an included paper costs far more than screening one twice. None where the
    run's fold plan keeps no titles (before 0.3.9)."""
    reused = np.zeros(len(records), dtype=bool)
    if run.train_keys is None or not screened.any():
        return reused
    was = run.train_keys.loc[keys[screened], ["title_key", "text_key"]].to_numpy(dtype=np.uint64)
    now = texts_of[["title_key", "text_key"]].to_numpy(dtype=np.uint64)[screened]
    titled = (was[:, 0] != 0) & (now[:, 0] != 0)
    both_abstracts = (was[:, 1] != 0) & (now[:, 1] != 0)
    # Titles alike and abstracts not both there, or alike too ("Erratum" twice is not one paper); untitled: both alike.
    same = np.where(titled, (was[:, 0] == now[:, 0]) & (~both_abstracts | (was[:, 1] == now[:, 1])),
                    both_abstracts & (was[:, 1] == now[:, 1]))
    blank = (was == 0).all(axis=1) & (now == 0).all(axis=1)
    differ = ~same & ~blank
    # Neither text on either side tells nothing by itself; the other records do: where none with a text differs, the
    # file's ids are the run's (an overlap with the last search), and a blank record is the screened one, left out.
    # Where some differ, ids were reused (a renumbered export): a blank one may be a new paper, scored (flagged anyway).
    reused[np.flatnonzero(screened)[differ | (blank & differ.any())]] = True
    said = np.zeros(len(records), dtype=bool)  # those whose texts show another paper: the warning's
    said[np.flatnonzero(screened)[differ]] = True
    if said.any():
        first = int(np.flatnonzero(said)[0])
        title = " ".join(str(records["title"].iloc[first]).split())  # a non-breaking space shown as a space, not escaped
        shown = f'"{title[:60]}..."' if len(title) > 60 else f'"{title}"' if title else "no title"
        warnings.warn(f"{path}: {int(said.sum())} record(s) have the id of a record the run trained on but not its "
                      f"title and abstract (first: {record_place(records, first)}, id "
                      f"{str(records['id'].iloc[first])!r}, {shown}): another paper under a reused id, or a retitled "
                      "one, so they are scored as new rather than left out as screened. If they are the papers the run "
                      "trained on, remove them from the file.", stacklevel=3)
    return reused


def _pubmed_like(run: FittedRun) -> bool:
    """Whether the run's ids look like PubMed ids (whole numbers of 6 to 8 digits, as `id_key` compares them), so a
    MEDLINE update's PMIDs are the run's kind of ids even where none is shared (an update of new records alone)."""
    ids = pd.Series([id_key(str(i)) for i in (*run.train_ids, *run.test_ids)], dtype=object)
    return bool(len(ids) and ids.str.fullmatch(r"[0-9]{1,8}").all() and 6 <= ids.str.len().median() <= 8)


def _default_id(column: str | None) -> bool:
    """Whether `column` is ASReview's record number under one of its two names (``id``, ``record_id``), or none: a
    Zotero or Rayyan ``key``, also read by default, is another kind of id."""
    return column is None or str(column).lower() in ID_COLUMNS[:2]


def _say_screened(path, records: pd.DataFrame, screened: np.ndarray, run_id: str, run_id_column: str | None,
                  titles_checked: bool, everything: bool) -> None:
    """Name the first of NEW's records that is one of the run's training records (`run_id`: its id in the run), and
    how many are: one info line, or a refusal when no other record is left (the run's training file, or an update
    with nothing new) or when NEW's ids only number its rows and their titles could not be checked (`_reused_ids`)."""
    first = int(np.flatnonzero(screened)[0])
    place = record_place(records, first)
    ids = records["id"].astype(str)
    named = f"the first: {place}, id {ids.iloc[first]!r}" + (f", the run's {run_id!r}" if run_id != ids.iloc[first] else "")
    # ASReview's record_id numbers an export's rows: a new export's ids then name other records than the run's, and
    # leaving them out would drop new records unseen; so a match is not trusted, and the user names a stable id column.
    numbering = ids.tolist() in ([str(i) for i in range(1, len(ids) + 1)], [str(i) for i in range(len(ids))])
    id_fix = "pass --id-col with a column of ids of their own (a DOI or PubMed id)"
    if _default_id(run_id_column):  # the run's ids are such numbers too: a new column matches none of them
        id_fix += (f", one the run's training file holds too: the run read its ids from {run_id_column or 'the row numbers'!r}, "
                   "so rerun `screenstack run` with the same --id-col first, or records already screened are not recognised")
    if everything:
        raise ScreenstackError(
            f"{path}: all {len(screened)} records are the run's training records ({named}), already screened, so "
            "there is nothing new to score. Give the search update's file, not the run's training file"
            + (f"; if they are new records, their ids only number the rows, so {id_fix}." if numbering and not titles_checked else "."))
    if numbering and not titles_checked:
        raise ScreenstackError(
            f"{path}: its ids only number the rows ({ids.iloc[0]}, {ids.iloc[1]}, ...) and {int(screened.sum())} of them "
            f"are ids of the run's training records ({named}), so records already screened cannot be told from new ones: "
            f"{id_fix}, or remove the records already screened. (A run made by screenstack 0.3.9 or later, in a new --out, "
            "keeps its records' titles, and predict tells screened records from new ones by them.)")
    log.info("left out %d of %d records of %s that are the run's training records (%s): their labels are known, and the "
             "run's models saw them", int(screened.sum()), len(screened), path, named)


def _title_and_present_abstracts(path, header: list[str], columns: tuple[str, ...], run_columns: tuple[str, ...],
                                 note: str = "") -> tuple[str, ...]:
    """`columns` (the run's text columns as NEW names them) less the abstract columns NEW lacks, with a warning:
    the run joined them into one abstract, so its records are read as the run read a record with those cells empty.
    A missing title column is refused, naming the names looked for (and, `note`, a workbook's other sheets)."""
    found = ", ".join(header) + note
    if columns[0] not in header:
        refuse_headerless(path, header)  # a file written without its header row (as `run` refuses it)
        titled = column_roles(run_columns[:1]) == ("title",)  # TITLE_COLUMNS stand only for a column whose name says title
        looked = ", ".join(dict.fromkeys([columns[0], *(TITLE_COLUMNS if titled else ())]))
        what = "no title column" if titled else f"no column {run_columns[0]}, which the run read first, as its titles"
        raise ScreenstackError(f"{path}: {what} (the run read its texts from {', '.join(run_columns)}; looked for "
                               f"{looked}; found: {found}). Give --text-cols with the file's names for the run's "
                               f"{', '.join(run_columns)}, in that order, or rename its columns so.")
    absent = [c for c in columns[1:] if c not in header]  # the run joined them into the abstract: absent = empty
    if absent:
        what = "no abstract column" if len(absent) == 1 and absent[0].lower() in ABSTRACT_COLUMNS else f"no column {', '.join(absent)}"
        them, cells = ("it", "that cell") if len(absent) == 1 else ("them", "those cells")
        likely = named_like_abstracts(header, but=columns) if _named_role(absent[0]) == "abstract" else []  # keywords: no hint
        hint = (f" Column {likely[0]!r} looks like one: rename it {absent[0]} to have it read." if likely else
                f" Where the file holds {them} under another name, give --text-cols with its names for the run's "
                f"{', '.join(run_columns)}, in that order.")
        warnings.warn(f"{path}: {what} (the run read {', '.join(run_columns)}; found: {found}): its records are scored "
                      f"without {them}, as the run scored records with {cells} empty.{hint}", stacklevel=3)
    return tuple(c for c in columns if c not in absent)


LENGTH_RATIO = 3.0  # a column's median text this many times longer or shorter than the run's: another kind of text


def _median_lengths(cells: pd.DataFrame) -> list[float | None]:
    """Per column, the median length of its non-empty texts (None: fewer than 5)."""
    lengths = []
    for name in cells.columns:
        filled = cells[name].astype(str).str.strip()
        filled = filled[filled != ""]
        lengths.append(float(filled.str.len().median()) if len(filled) >= 5 else None)
    return lengths


def _run_median_lengths(run) -> list[float | None] | None:
    """`_median_lengths` of the run's records to screen, as its text columns held them (None: not kept)."""
    names = [INPUT_PREFIX + str(c) for c in run.text_columns]
    try:
        return _median_lengths(pq.read_table(run.out / RECORDS_FILE, columns=names).to_pandas().fillna(""))
    except (OSError, ValueError, KeyError, pa.ArrowException):  # a run before 0.3.9, or a column not kept: no yardstick
        return None


def _warn_unlike_texts(path, original: pd.DataFrame, texts, given, run) -> None:
    """Warn where a column `--text-cols` names holds texts of another length than the run's column in its place held
    in the run's records to screen (median 3 times longer or shorter): another kind of text, or given in another
    order (helper-165 to 168: `Abstract Text,Headline`, `Body,Headline`, `title,Tags,Body`, an abstract for keywords
    were scored without a word)."""
    usual = _run_median_lengths(run)
    if usual is None:
        return
    here = _median_lengths(original[list(texts)].fillna("").astype(str))
    unlike = [(typed, column, length, run_length) for typed, column, length, run_length in zip(given, run.text_columns, here, usual)
              if length and run_length and max(length, run_length) / min(length, run_length) > LENGTH_RATIO]
    if unlike:
        said = "; ".join(f"{typed}: {length:.0f} characters (the run's {column}: {run_length:.0f})"
                         for typed, column, length, run_length in unlike)
        warnings.warn(f"{path}: --text-cols {','.join(given)}: median text length {said}, in its records against the run's "
                      "records to screen: another kind of text, or the columns in another order? The run's models read "
                      "each in its --text-cols place.", stacklevel=3)


OTHER_TITLES = ("journal", "secondary", "short", "series", "source", "alternate", "book")  # "Journal Title" is no paper's title


def _named_role(name: str) -> str | None:
    """"title" or "abstract" where a column's name says so (TI, "Article Title"; AB, Abstract Note, "Abstract Text"),
    else None."""
    lower = str(name).lower()
    words = lower.replace("_", " ").split()
    if lower in TITLE_COLUMNS or (words and words[-1] == "title" and words[0] not in OTHER_TITLES):
        return "title"
    return "abstract" if lower in ABSTRACT_COLUMNS or named_like_abstracts([lower]) else None


def column_roles(columns) -> tuple[str, ...]:
    """Text columns by what their names say they hold: "title", "abstract" (`_named_role`), or else their own name.
    By names, not places: a run of `--text-cols title,keywords` read keywords after the title, no abstract (helper-166:
    a second column taken for the abstract read an update's AB in its place, without a word)."""
    return tuple(_named_role(c) or str(c).lower() for c in columns)


def same_roles(given, run_columns) -> bool:
    """Whether `--text-cols` `given` can name a file's columns for the run's `run_columns`: as many, each the run's own
    name in its place (never in another's), or a name that says nothing (the file's own: "Headline,Summary"), or a
    title's or abstract's name where the run's column says the same (its first column, named nothing, is its titles,
    a later one may be an abstract: `title,abstract` for `Headline,Body`; a run of `Abstract,Title` read abstracts
    first, so `AB,TI`; helper-167: `TI,AB` for it read the wrong texts without a word). An abstract given for a run's
    `keywords` is accepted, and its length warned of (`_warn_unlike_texts`)."""
    own = [str(r).lower() for r in run_columns]
    if len(given) != len(own):
        return False
    for i, name in enumerate(str(g).lower() for g in given):
        if name == own[i]:
            continue
        said, theirs = _named_role(name), _named_role(own[i]) or ("title" if i == 0 else "abstract")
        if name in own or (said is not None and said != theirs):  # a column named nothing after the first: any text
            return False
    return True


def _text_columns_in(header: list[str], run_columns: tuple[str, ...]) -> tuple[str, ...] | None:
    """The run's text columns as NEW names them: the same names, or NEW's own title and abstract columns
    where the run read title and abstract columns under other names (a CSV run, a RIS update)."""
    lower = {}
    for name in header:
        lower.setdefault(name.lower(), name)
    found, named = [], {str(c).lower() for c in run_columns}
    for column, role in zip(run_columns, column_roles(run_columns)):
        if column in header or str(column).lower() in lower:  # the run's own name first, as the run matched it
            found.append(column if column in header else lower[str(column).lower()])
            continue
        # else NEW's own name for the role, one no other of the run's columns is named (a run of `--text-cols
        # Abstract,Title` read its abstracts as titles: an update's `abstract` stays its first column, not `title`)
        candidates = {"title": TITLE_COLUMNS, "abstract": ABSTRACT_COLUMNS}.get(role, ())
        found.append(next((lower[c] for c in candidates if c in lower and lower[c] not in found and c not in named), column))
    return tuple(found) or None


def run_id_column(out: Path, config_id_col: str | None = None) -> tuple[str | None, bool]:
    """The input column run OUT read its record ids from, and whether it had none (its ids are row numbers).

    Found in ``OUT/records.parquet``, which keeps each record's id beside its
    input columns: the column holding the ids is the one they came from (`run`'s
    ``--id-col``, `config_id_col`, is looked at first). No column holds them:
    row numbers. ``(None, False)``: not known (a run without records.parquet).
    """
    run = RunFolder(out)
    if not run.manifest_path(RECORDS_SET).is_file():
        return config_id_col, False
    run.verify(RECORDS_SET, sets.written_by(out, RECORDS_SET))
    parquet = pq.ParquetFile(out / RECORDS_FILE)
    inputs = [n[len(INPUT_PREFIX):] for n in parquet.schema_arrow.names if n.startswith(INPUT_PREFIX)]
    first = pick_column(inputs, tuple(c.lower() for c in (config_id_col, *ID_COLUMNS) if c))
    if parquet.metadata.num_rows == 0:  # no ids to compare: the column `run` would have read
        return first or config_id_col, not (first or config_id_col)
    group = parquet.read_row_group(0, columns=["id"]).column("id").to_pylist()  # 50,000 records decide
    ids = [id_key(str(i)) for i in group]
    for name in dict.fromkeys([first, *inputs] if first else inputs):
        values = parquet.read_row_group(0, columns=[INPUT_PREFIX + name]).column(0).to_pylist()
        if [id_key(str(v).strip().removeprefix("'")) for v in values] == ids:
            return name, False
    return None, True
