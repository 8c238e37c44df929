"""Write files so that a crash never leaves a half-written artifact.

Every artifact is written to a temporary file in the same folder and then
renamed over the target, which is atomic on POSIX file systems.
"""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` on success.

    Examples
    --------
    >>> with atomic_path("out/submission.csv") as tmp:  # doctest: +SKIP
    ...     frame.to_csv(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: str | os.PathLike, obj) -> None:
    """Write `obj` as indented, key-sorted JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: str | os.PathLike):
    return json.loads(Path(path).read_text())


def write_parquet(path: str | os.PathLike, frame: pd.DataFrame, meta: dict | None = None) -> None:
    """Write `frame` to zstd Parquet with `meta` as JSON in the schema metadata, atomically."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if meta is not None:
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), b"screenstack": json.dumps(meta, sort_keys=True, default=str).encode()}
        )
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_parquet_meta(path: str | os.PathLike) -> dict:
    """Return the screenstack metadata stored in a Parquet file's schema (empty if none)."""
    raw = (pq.read_schema(path).metadata or {}).get(b"screenstack")
    return json.loads(raw) if raw else {}
