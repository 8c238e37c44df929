"""The records to screen, kept in OUT as the reviewer gave them: ``OUT/records.parquet``.

The ranked list names each record by more than its id, so `fit-learners`
keeps the test records (those of ``--test``, or the unlabelled ones of
``--data``) with ``id``, ``title`` and every column of the input file, as
strings, named ``input:`` + the file's column name (``input:authors``,
``input:doi``, ...), in the order of `Corpus.test`, ``has_text``
("1", or "0" for a record with neither title nor abstract, which `stack`
flags since no model can rank it), ``has_abstract`` ("1" or "0": a title
alone is scored unlike the labelled records where they nearly all have an
abstract, `stacking.set_apart.titles_unlike_labelled`), and ``copy_of`` and ``copy_label``: the
labelled record, or the earlier record to screen, whose title and abstract
it repeats (`features.records.duplicates.copy_columns`), and ``text_key``, the
hash of its title and abstract as copies are compared ("" where it lacks
either), by which `predict` finds a search update's copies of these records
under other ids. The file is its own
committed set, ``records``, so a damaged copy is refused by name; it is
rewritten only when its content changes, so a rerun keeps its version. Its
manifest also keeps the warnings given reading the input files
(`Corpus.said`), which `stack` repeats in the summary and report.
It is written and hashed `ROW_GROUP_ROWS` records at a time, so a million
records to screen cost their strings once (bench/scoring.py).
"""
from __future__ import annotations

import hashlib
import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..records.corpus import Corpus, texts, update_row_hashes
from ..records.duplicates import copy_columns
from .atomic import atomic_path
from . import sets
from .damage import DamagedArtifact, read_checked
from .runfolder import RunFolder

RECORDS_SET = "records"
RECORDS_FILE = "records.parquet"
INPUT_PREFIX = "input:"
ROW_GROUP_ROWS = 50_000  # records converted to Arrow and written at a time
log = logging.getLogger("screenstack")


def screening_records(corpus: Corpus, labelled: pd.DataFrame | None = None,
                      to_screen: pd.DataFrame | None = None) -> pd.DataFrame:
    """``id``, ``title``, ``has_text``, ``has_abstract``, ``copy_of`` and ``copy_label`` (`copy_columns`), ``text_key``
    and the ``input:`` columns of `corpus`'s test records, as strings, in test order. Copies are looked for among
    `labelled` (``id``, ``label``, ``text_key``: `predict`'s run's training records) or else `corpus`'s own training
    records, and among `to_screen` (``id``, ``key``: `predict`'s run's records to screen, `records_to_screen`)."""
    test = corpus.test
    has_text = ["1" if text.strip() else "0" for text in texts(test)]
    has_abstract = np.where(test["abstract"].astype(str).str.strip().to_numpy() != "", "1", "0")
    frame = pd.DataFrame({"id": test["id"].astype(str).to_numpy(), "title": test["title"].astype(str).to_numpy(),
                          "has_text": has_text, "has_abstract": has_abstract}, dtype=object)
    if labelled is None:
        train = corpus.frame[corpus.frame["split"] == "train"]
        labelled = pd.DataFrame({"id": train["id"].astype(str).to_numpy(), "label": train["label"].to_numpy(),
                                 "text_key": corpus.split_keys("train")["text_key"].to_numpy()})
    keys = corpus.split_keys("test")["text_key"].to_numpy(dtype=np.uint64)
    copies = copy_columns(keys, frame["id"], labelled.rename(columns={"text_key": "key"}), to_screen)
    frame[["copy_of", "copy_label"]] = pd.DataFrame(copies.to_numpy(dtype=object), index=frame.index, dtype=object)
    frame["text_key"] = pd.Series(np.where(keys != 0, keys.astype(str), ""), index=frame.index, dtype=object)
    if corpus.screen_columns is not None:
        original = corpus.screen_columns
        assert len(original) == len(frame), "screen_columns follow the test rows"
        # In one step: a column at a time, a file of 100 columns or more printed pandas' "highly fragmented" warning
        # once a column (2,908 lines for a 3,000-column export). Object dtype: pandas 3 would infer str.
        inputs = {f"{INPUT_PREFIX}{name}": original[name].astype(str).to_numpy(dtype=object) for name in original.columns}
        frame = pd.concat([frame, pd.DataFrame(inputs, index=frame.index, dtype=object)], axis=1)
    return frame


def _digest(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256("\x1f".join(frame.columns).encode())
    for name in frame.columns:
        update_row_hashes(digest, frame[name])
    return digest.hexdigest()


def _write_row_groups(path: Path, frame: pd.DataFrame) -> None:
    """Write `frame` to zstd Parquet, atomically, `ROW_GROUP_ROWS` rows per row group.

    Only one row group's strings are in Arrow at a time: a million abstracts
    would otherwise be held twice, as Python strings and as Arrow.
    """
    with atomic_path(path) as tmp:
        writer = None
        try:
            for start in range(0, max(len(frame), 1), ROW_GROUP_ROWS):  # no records: one empty group, as before
                part = frame.iloc[start:start + ROW_GROUP_ROWS]
                table = pa.Table.from_pandas(part, preserve_index=False, schema=writer.schema if writer else None)
                writer = writer or pq.ParquetWriter(tmp, table.schema, compression="zstd")
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()


def _read_row_groups(path: Path) -> pd.DataFrame:
    """`pd.read_parquet`, one row group at a time: the strings are never held in Arrow and Python at once."""
    parquet = pq.ParquetFile(path)
    parts = [_objects(parquet.read_row_group(group).to_pandas()) for group in range(parquet.num_row_groups)]
    return pd.concat(parts, ignore_index=True) if parts else _objects(parquet.schema_arrow.empty_table().to_pandas())


def _objects(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns, as `screening_records` makes them: pandas 3 reads Arrow strings as its str dtype."""
    return frame.astype({name: object for name, dtype in frame.dtypes.items() if isinstance(dtype, pd.StringDtype)})


def _fix(out: str | Path) -> str:
    return sets.written_by(Path(out), RECORDS_SET)


def write_screening_records(out: str | Path, corpus: Corpus) -> Path:
    """Write ``OUT/records.parquet`` for `corpus`'s test records, committed as the set ``records``.

    Skipped when OUT already holds, undamaged, the same content.

    Examples
    --------
    >>> write_screening_records("artifacts/run1", load_partly_screened("data/export.ris"))  # doctest: +SKIP
    PosixPath('artifacts/run1/records.parquet')
    """
    run = RunFolder(out)
    frame = screening_records(corpus)
    digest = _digest(frame)
    try:
        manifest = run.verify(RECORDS_SET, _fix(out))
    except DamagedArtifact as error:
        warnings.warn(f"{error.path}: {error.state}: writing records.parquet again.", stacklevel=3)
        manifest = None
    meta = {"digest": digest, "records": len(frame), "said": list(corpus.said)}
    if manifest is not None and {key: manifest.get("meta", {}).get(key) for key in meta} == meta:
        return run.out / RECORDS_FILE
    recipe = _unchanged_recipe(run)
    with run.remaking(*(["config"] if recipe else [])):
        with run.commit(RECORDS_SET, meta=meta) as staging:
            _write_row_groups(staging / RECORDS_FILE, frame)
        if recipe and sets.committed(run.out, "config") is None:  # removed with the records.parquet it was made from
            manifest, kept = recipe
            with run.commit("config", meta=manifest.get("meta"), inputs=tuple(manifest["inputs"])) as staging:
                (staging / "config.toml").write_bytes(kept)
    return run.out / RECORDS_FILE


def _unchanged_recipe(run: RunFolder) -> tuple[dict, bytes] | None:
    """A `run` folder's config.toml (its manifest and bytes) where a records.parquet written again would remove it
    while the learners and fold plan it was made from stay as they were (an older folder's records, kept before text
    hashes): committed again as it was, it still describes the run, and it is the only record of the run's options
    (helper-176, 178: fit-learners removed it, and with it the `run --config` that would have kept it). None where
    there is none, or one edited by hand since (not the run's: it goes, with a warning)."""
    manifest, path = sets.committed(run.out, "config"), run.out / "config.toml"
    if manifest is None or not path.is_file() or sets.changed_since_written(run.out, "config", "config.toml") is not False:
        return None
    if any(run.version(name) != version for name, version in (manifest.get("inputs") or {}).items() if name != "records"):
        return None
    return manifest, path.read_bytes()


def records_to_screen(records: pd.DataFrame | None) -> pd.DataFrame | None:
    """``id`` and ``key`` (the ``text_key`` as a number) of `read_screening_records`' records with a title and an
    abstract, for `copy_columns`; None where there are none kept, or they were kept before ``text_key`` (0.3.39)."""
    if records is None or "text_key" not in records.columns:
        return None
    keyed = records[records["text_key"].astype(str) != ""]
    return pd.DataFrame({"id": keyed["id"].astype(str).to_numpy(), "key": keyed["text_key"].astype(np.uint64).to_numpy()})


def read_screening_records(out: str | Path) -> pd.DataFrame | None:
    """The records `write_screening_records` kept in OUT (None: OUT has none, e.g. a run folder made before them),
    with ``attrs["said"]``: the warnings given reading the input files (`Corpus.said`; [] before 0.3.9).

    A missing, altered or unreadable file raises `DamagedArtifact` naming it.
    """
    run = RunFolder(out)
    if not run.manifest_path(RECORDS_SET).is_file():
        return None
    fix = _fix(out)
    manifest = run.verify(RECORDS_SET, fix)
    path = run.out / RECORDS_FILE
    frame = read_checked(path, _read_row_groups, fix)
    if not {"id", "title"} <= set(frame.columns):
        raise DamagedArtifact(path, f"columns {', '.join(map(str, frame.columns))}, expected id, title and input:*", fix)
    said = (manifest or {}).get("meta", {}).get("said", [])
    if not (isinstance(said, list) and all(isinstance(line, str) for line in said)):
        raise DamagedArtifact(run.manifest_path(RECORDS_SET), "its warnings are not a list of lines", fix)
    frame.attrs["said"] = said
    return frame
