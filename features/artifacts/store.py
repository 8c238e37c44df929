"""Feature files: one row per record, its pooled vector, and metadata saying how it was made.

Layout of a feature file (Parquet, zstd):

- ``id`` (string), ``split`` (``train``/``test``), ``vector`` (fixed-size list of
  float32 or float16);
- schema metadata ``screenstack``: a JSON object with at least ``model``,
  ``layers``, ``pooling``, ``max_length``, ``dtype``, ``train_fingerprint``,
  ``test_fingerprint`` and package ``versions``.

`load_vectors` hands learners dense float32 matrices aligned with the corpus,
and refuses a file whose ids or text fingerprints do not match the corpus, or
(inside a run folder) whose checksum differs from when it was written.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .atomic import atomic_path
from ..records.corpus import Corpus
from ..errors import ScreenstackError
from .runfolder import DamagedArtifact, RunFolder


def vector_column(vectors: np.ndarray) -> pa.FixedSizeListArray:
    """One fixed-size list per row of `vectors` (n x d), in the matrix's own dtype."""
    vectors = np.ascontiguousarray(vectors)
    return pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), type=pa.from_numpy_dtype(vectors.dtype)),
                                             vectors.shape[1])


def column_matrix(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The n x d matrix of a fixed-size-list column, in the column's dtype."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return column.flatten().to_numpy(zero_copy_only=False).reshape(-1, column.type.list_size)


def write_vectors(path: str | Path, ids, splits, vectors: np.ndarray, meta: dict) -> Path:
    """Write vectors (n x d, float32 or float16) with their ids and split, atomically."""
    n, dim = vectors.shape
    table = pa.table({
        "id": pa.array([str(i) for i in ids], pa.string()),
        "split": pa.array(list(splits), pa.string()),
        "vector": vector_column(vectors),
    })
    table = table.replace_schema_metadata({b"screenstack": json.dumps({**meta, "dim": dim, "n": n}, sort_keys=True, default=str).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return Path(path)


def write_run_vectors(out: str | Path, path: str | Path, ids, splits, vectors: np.ndarray, meta: dict) -> Path:
    """`write_vectors` for a feature file inside run folder OUT, committed with a manifest so damage is caught on read."""
    run = RunFolder(out)
    rel = run.relative(path)
    with run.commit(rel) as staging:
        write_vectors(staging / rel, ids, splits, vectors, meta)
    return Path(path)


def is_intact(path: str | Path) -> bool:
    """True if the feature file exists, reads as Parquet and (inside a run folder) matches its manifest."""
    path = Path(path)
    try:
        _verify(path, "")
        pq.read_schema(path)
    except (ScreenstackError, OSError, ValueError):
        return False
    return True


def read_vectors(path: str | Path) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """Return (frame of id and split, float32 matrix, metadata) from a feature file."""
    path = Path(path)
    if not path.is_file():
        raise ScreenstackError(f"{path}: no such feature file. Run `screenstack extract` first, or check the --features path.")
    fix = "Re-run `screenstack extract` (or the fine-tuner) with this --out: it makes the file again."
    _verify(path, fix)
    try:
        table = pq.read_table(path)
    except Exception as error:
        with open(path, "rb") as handle:
            head = handle.read(4)
        if head != b"PAR1":  # not Parquet at all: the wrong file was passed, nothing to re-extract
            raise ScreenstackError(f"{path}: not a Parquet feature file. --features takes a file `screenstack extract` "
                                   "wrote (OUT/features/NAME.parquet).") from None
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DamagedArtifact(path, f"not a readable Parquet feature file: {reason if len(reason) <= 160 else reason[:157] + '...'}",
                              fix) from None
    if not {"id", "split", "vector"} <= set(table.column_names):
        raise ScreenstackError(f"{path}: not a screenstack feature file (columns: {', '.join(table.column_names)}). Re-run `screenstack extract`.")
    matrix = column_matrix(table.column("vector")).astype(np.float32, copy=False)
    frame = table.select(["id", "split"]).to_pandas()
    raw = (table.schema.metadata or {}).get(b"screenstack")
    return frame, matrix, json.loads(raw) if raw else {}


def _verify(path: Path, fix: str) -> None:
    """Check a feature file inside a run folder (``OUT/features/``) against the manifest it was committed with."""
    run = RunFolder(path.parent.parent)
    if path.parent.name == "features" and (name := run.set_of(path)) is not None:
        run.verify(name, fix)


def load_vectors(paths: list[str | Path], corpus: Corpus) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Train and test matrices for the corpus, the files' columns side by side.

    Rows follow the corpus order. A file missing a corpus id, or holding ids the
    corpus lacks, or whose stored text fingerprints differ from the corpus's, is
    refused: it was extracted for other data.
    """
    train_ids = corpus.train["id"].to_numpy(dtype=object)
    test_ids = corpus.test["id"].to_numpy(dtype=object)
    blocks_train, blocks_test, metas = [], [], []
    for path in paths:
        frame, matrix, meta = read_vectors(path)
        position = pd.Series(np.arange(len(frame)), index=frame["id"].astype(str).to_numpy())
        wanted = np.concatenate([train_ids, test_ids]).astype(str)
        missing = np.setdiff1d(wanted, position.index.to_numpy(dtype=str))
        extra = len(frame) - len(wanted)
        if len(missing) or extra:
            detail = f"{len(missing)} corpus ids missing (first: {str(missing[0])!r})" if len(missing) else f"{extra} ids not in the corpus"
            raise ScreenstackError(
                f"{path}: feature file does not match the corpus ({detail}). "
                "It was extracted for other data: re-run `screenstack extract` with these --train/--test files."
            )
        for split in ("train", "test"):
            stored = meta.get(f"{split}_fingerprint")
            if stored is not None and stored != corpus.fingerprint(split):
                raise ScreenstackError(
                    f"{path}: feature file was extracted from other {split} texts with the same ids ({split}_fingerprint differs). "
                    "Re-run `screenstack extract` with these --train/--test files."
                )
        blocks_train.append(matrix[position[train_ids.astype(str)].to_numpy()])
        blocks_test.append(matrix[position[test_ids.astype(str)].to_numpy()])
        metas.append(meta)
    return np.hstack(blocks_train), np.hstack(blocks_test), metas
