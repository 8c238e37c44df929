"""Feature files: one row per record, its pooled vector, and metadata saying how it was made.

Layout of a feature file (Parquet, zstd):

- ``id`` (string), ``split`` (``train``/``test``), ``vector`` (fixed-size list of
  float32 or float16);
- schema metadata ``screenstack``: a JSON object with at least ``model``,
  ``layers``, ``pooling``, ``max_length``, ``dtype``, ``train_fingerprint``,
  ``test_fingerprint`` and package ``versions``.

Rows are written in row groups of `ROW_GROUP_ROWS`, so a reader decodes one
group at a time: `VectorFiles` checks the files' ids against the corpus from
the ``id`` column alone, then hands the test rows out chunk by chunk (a
million test records at 768 columns are 3 GB as one matrix).

`VectorFiles` refuses a file whose ids or text fingerprints do not match the
corpus, or (inside a run folder) whose checksum differs from when it was
written; `read_vectors` reads one file as it is (ids, vectors, metadata).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .atomic import atomic_path, permission_denied
from ..records.corpus import Corpus
from ..errors import ScreenstackError
from .damage import DamagedArtifact
from .runfolder import RunFolder

ROW_GROUP_ROWS = 16_384  # ~50 MB of float32 at 768 columns: what a chunked reader decodes at once


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
        pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)
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
    table = _read(path, _open(path).read)
    matrix = column_matrix(table.column("vector")).astype(np.float32, copy=False)
    frame = table.select(["id", "split"]).to_pandas()
    return frame, matrix, _meta(table.schema, path)


def feature_file_kind(path: str | Path, corpus: Corpus) -> str:
    """What the file at `path` in a run's features/ holds for `corpus`: ``"unreadable"`` (no Parquet file that opens),
    ``"not a feature file"`` (a Parquet file without the id, split and vector columns `extract` writes),
    ``"other records"`` (its stored fingerprints are not the corpus's), ``"fine-tuned"`` (a fine-tuning's cross-fitted
    vectors of these records: its metadata holds the fine-tuning's settings) or ``"frozen"`` (an encoder's vectors of
    these records, or of records it holds no fingerprint of)."""
    try:
        schema = pq.ParquetFile(path).schema_arrow
        meta = _meta(schema, Path(path))
    except PermissionError:  # not damage: said as what it is (helper-155: fit-learners said to extract it again), named
        raise permission_denied(path) from None
    except Exception:  # damaged, not Parquet, a folder: `VectorFiles` names what is wrong where such a file is given
        return "unreadable"
    if not {"id", "split", "vector"} <= set(schema.names):
        return "not a feature file"
    if any(meta.get(f"{split}_fingerprint") not in (None, corpus.fingerprint(split)) for split in ("train", "test")):
        return "other records"
    return "fine-tuned" if is_crossfit(meta) else "frozen"


def is_crossfit(meta) -> bool:
    """Whether a feature file's metadata (or a learner's made from one) is a fine-tuning's: `extract.finetune` writes
    its cross-fitted vectors, and its learner's outputs, with kind "crossfit" and its settings under "finetune"."""
    return isinstance(meta, dict) and (meta.get("kind") == "crossfit" or "finetune" in meta)


_FIX = ("Extract it again (`screenstack extract` with the settings it was made with, or the fine-tuner) and give "
        "the new file.")


def _meta(schema: pa.Schema, path: Path | None = None) -> dict:
    """A feature file's screenstack metadata (empty if none); unreadable metadata names the file and the fix."""
    raw = (schema.metadata or {}).get(b"screenstack")
    try:
        meta = json.loads(raw) if raw else {}
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise ScreenstackError(f"{path or 'feature file'}: its screenstack metadata is not a JSON object (edited?). {_FIX}")
    return meta


def _read(path: Path, read, *args, **kwargs):
    """`read(*args, **kwargs)` of a feature file's data; a page that does not decode names the file and the fix."""
    try:
        return read(*args, **kwargs)
    except (OSError, ValueError, pa.ArrowException) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DamagedArtifact(path, f"not a readable Parquet feature file: {reason[:160]}", _FIX) from None


def _open(path: Path) -> pq.ParquetFile:
    """The feature file at `path`, checked against its manifest and for its columns; errors name the fix."""
    if path.is_dir():  # a run folder or its features/ folder: name the files it holds
        found = sorted(p.relative_to(path).as_posix() for p in [*path.glob("*.parquet"), *path.glob("features/*.parquet")])
        raise ScreenstackError(f"{path}: is a folder; --features takes a feature file `screenstack extract` wrote"
                               + (f" (there: {', '.join(found[:3])})." if found else " (OUT/features/NAME.parquet)."))
    if not path.is_file():
        raise ScreenstackError(f"{path}: no such feature file. Run `screenstack extract` first, or check the --features path.")
    _verify(path, _FIX)
    try:
        parquet = pq.ParquetFile(path)
    except Exception as error:
        with open(path, "rb") as handle:
            head = handle.read(4)
        if head != b"PAR1":  # not Parquet at all: the wrong file was passed, nothing to re-extract
            raise ScreenstackError(f"{path}: not a Parquet feature file. --features takes a file `screenstack extract` "
                                   "wrote (OUT/features/NAME.parquet).") from None
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DamagedArtifact(path, f"not a readable Parquet feature file: {reason if len(reason) <= 160 else reason[:157] + '...'}",
                              _FIX) from None
    names = parquet.schema_arrow.names
    if not {"id", "split", "vector"} <= set(names):
        raise ScreenstackError(f"{path}: not a screenstack feature file (columns: {', '.join(names)}). Re-run `screenstack extract`.")
    vector = parquet.schema_arrow.field("vector").type
    if not (pa.types.is_fixed_size_list(vector) and pa.types.is_floating(vector.value_type)):
        raise ScreenstackError(f"{path}: its vector column is {vector}, not the fixed-size list of floats `screenstack "
                               f"extract` writes (a file another tool, such as pandas, wrote again). {_FIX}")
    return parquet


def _verify(path: Path, fix: str) -> None:
    """Check a feature file inside a run folder (``OUT/features/``) against the manifest it was committed with."""
    run = RunFolder(path.parent.parent)
    if path.parent.name == "features" and (name := run.set_of(path)) is not None:
        run.verify(name, fix)


class VectorFiles:
    """The corpus's rows in one or more feature files, checked up front, read a few row groups at a time.

    Opening reads only each file's ``id`` column and metadata, and refuses a
    file missing a corpus id, holding ids the corpus lacks, or whose stored
    text fingerprints differ from the corpus's: it was extracted for other data.
    Matrices hold the files' columns side by side, rows in corpus order.

    Examples
    --------
    >>> files = VectorFiles(["artifacts/run1/features/minilm.parquet"], corpus)  # doctest: +SKIP
    >>> X = files.train(); scores = [model.predict(chunk) for chunk in files.test_chunks(50_000)]  # doctest: +SKIP
    """

    def __init__(self, paths: list[str | Path], corpus: Corpus):
        self.paths = [Path(p) for p in paths]
        self.n_train, self.n_test = int((corpus.frame["split"] == "train").sum()), int((corpus.frame["split"] == "test").sum())
        self.metas, self._readers, self._train_rows, self._test_rows = [], [], [], []
        wanted = pd.Index(np.concatenate([corpus.train["id"].to_numpy(dtype=str), corpus.test["id"].to_numpy(dtype=str)]))
        for path in self.paths:
            parquet = _open(path)
            ids = pd.Index(_read(path, parquet.read, columns=["id"]).column("id").to_numpy(zero_copy_only=False).astype(str))
            missing = wanted.difference(ids)
            extra = len(ids) - len(wanted)
            if len(missing) or extra:
                detail = f"{len(missing)} corpus ids missing (first: {str(missing.sort_values()[0])!r})" if len(missing) else f"{extra} ids not in the corpus"
                raise ScreenstackError(
                    f"{path}: feature file does not match the corpus ({detail}). "
                    "It was extracted for other data: re-run `screenstack extract` with these input files (--train/--test, or --data)."
                )
            meta = _meta(parquet.schema_arrow, path)
            if "train_fingerprint" not in meta:
                warnings.warn(f"{path}: its metadata holds no fingerprint of the records it was made from (not a file "
                              "`screenstack extract` wrote, or one whose metadata was removed), so only its ids are checked "
                              "against these records.", stacklevel=2)
            for split in ("train", "test"):
                stored = meta.get(f"{split}_fingerprint")
                if stored is not None and stored != corpus.fingerprint(split):
                    raise ScreenstackError(
                        f"{path}: feature file was extracted from other {split} records with the same ids (their texts "
                        f"{'or labels ' if split == 'train' else ''}differ, or their row order: another "
                        f"{'--train or --data' if split == 'train' else '--test or --data'} file"
                        f"{', a label corrected since' if split == 'train' else ''}, or other --text-cols). "
                        "Re-run `screenstack extract` with these files and --text-cols (its vector cache keeps the texts "
                        "already encoded)."
                    )
            rows = ids.get_indexer(wanted)  # a file's row of each corpus record, train records first
            self._train_rows.append(rows[:self.n_train])
            self._test_rows.append(rows[self.n_train:])
            self._readers.append(_RowReader(path, parquet))
            self.metas.append(meta)

    @property
    def widths(self) -> list[int]:
        """Each file's vector width, in the order its columns stand in the matrices."""
        return [reader.dim for reader in self._readers]

    def _take(self, rows_per_file: list[np.ndarray]) -> np.ndarray:
        return np.hstack([reader.take(rows) for reader, rows in zip(self._readers, rows_per_file)])

    def train(self) -> np.ndarray:
        """The training records' float32 matrix."""
        return self._take(self._train_rows)

    def test(self) -> np.ndarray:
        """The test records' float32 matrix, whole."""
        return self._take(self._test_rows)

    def test_chunks(self, rows: int) -> Iterator[np.ndarray]:
        """The test records' matrix, `rows` records at a time, in corpus order."""
        for start in range(0, self.n_test, rows):
            yield self._take([r[start:start + rows] for r in self._test_rows])


class _RowReader:
    """Rows of one feature file's vectors by position, decoding one row group at a time (the last one kept)."""

    def __init__(self, path: Path, parquet: pq.ParquetFile):
        self.path, self.parquet = path, parquet
        sizes = [parquet.metadata.row_group(g).num_rows for g in range(parquet.num_row_groups)]
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.dim = parquet.schema_arrow.field("vector").type.list_size
        self._kept: tuple[int, np.ndarray] | None = None

    def _group(self, group: int) -> np.ndarray:
        if self._kept is None or self._kept[0] != group:
            self._kept = None  # free the last group before decoding the next
            table = _read(self.path, self.parquet.read_row_group, group, columns=["vector"])
            matrix = column_matrix(table.column("vector")).astype(np.float32, copy=False)
            if not np.isfinite(matrix).all():  # a learner would stop on them with a traceback, after the others' work
                row = int(self.starts[group] + np.flatnonzero(~np.isfinite(matrix).all(axis=1))[0])
                raise ScreenstackError(f"{self.path}: row {row} holds NaN or infinite vector values (an edited file, or "
                                       "vectors made before screenstack refused them). Extract the vectors again.")
            self._kept = group, matrix
        return self._kept[1]

    def take(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        groups = np.searchsorted(self.starts, rows, side="right") - 1
        for group in np.unique(groups):  # ascending: a file in corpus order is read front to back, each group once
            here = groups == group
            out[here] = self._group(int(group))[rows[here] - self.starts[group]]
        return out
