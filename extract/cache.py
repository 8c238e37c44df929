"""Vectors cached per record text, for one encoder setting.

A setting (encoder fingerprint, layers, pooling, max length, precision, padding,
the recipe joining title and abstract) owns
one folder under the cache directory: ``setting.json`` says what it is, and
``chunk-*.parquet`` files hold ``key`` (a SHA-256 prefix of the record text)
and ``vector`` (float32). Each chunk is written atomically once its texts are
encoded, so a run killed midway leaves only complete chunks, and the next run
encodes only the texts no chunk holds. The same mechanism lets a new split of
the same records, or a corpus that grew, reuse every vector already made.
A chunk keeps the SHA-256 of its keys and vectors in its metadata; one whose
vectors changed since is removed when read, in one line naming it that asks
for the same command again; an unreadable one is removed with a warning
naming it, and its texts encoded again. From 0.3.22 a chunk also names its
setting (a digest of setting.json): one of another setting (copied in from
another cache folder) is removed with a warning, as is one without a
checksum (written before 0.3.6), whose vectors nothing can vouch for.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..features.artifacts.atomic import atomic_path, io_error, read_json, write_json
from ..features.errors import ScreenstackError, one_line
from ..features.records.datasets import CACHE_ENV
from ..features.artifacts.store import column_matrix, vector_column


log = logging.getLogger("screenstack")
CHECKSUM = b"screenstack_sha256"  # a chunk's schema metadata: the digest of its keys and vectors, checked on reading
SETTING = b"screenstack_setting"  # and the digest of the setting it was encoded with (`setting_digest`; from 0.3.22)


def setting_digest(setting: dict) -> str:
    """The SHA-256 of `setting` as setting.json holds it: what a chunk names to say whose vectors it holds."""
    return hashlib.sha256(json.dumps(_as_stored(setting), sort_keys=True).encode()).hexdigest()


def _checksum(keys: Sequence[str], vectors: np.ndarray) -> str:
    digest = hashlib.sha256("\n".join(keys).encode("utf-8"))
    digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    return digest.hexdigest()


def text_key(text: str) -> str:
    """The cache key of a record text: 128 bits of its SHA-256, in hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _as_stored(setting: dict) -> dict:
    """`setting` as its setting.json reads back."""
    return json.loads(json.dumps(setting, sort_keys=True, default=str))


def _probe_write(folder: Path) -> None:
    """Create and remove a file in `folder`; an OSError says a chunk could not be written there."""
    handle, probe = tempfile.mkstemp(dir=folder, prefix=".probe-")
    os.close(handle)
    os.unlink(probe)


def usable_for(folder: Path, setting: dict) -> bool:
    """Whether the existing cache `folder` holds `setting` (its setting.json reads and says so) and can be written to."""
    try:
        if read_json(folder / "setting.json") != _as_stored(setting):
            return False
        _probe_write(folder)
    except (OSError, ValueError):
        return False
    return True


class DamagedChunk(ScreenstackError):
    """A chunk `gather` found unreadable, changed since written, or gone: removed, and the cache's index read again,
    so `missing` lists its texts to be encoded again (`extract.stage` does so once, in the same command)."""


class VectorCache:
    """Chunk files of one encoder setting in `folder`, looked up by text key.

    Examples
    --------
    >>> cache = VectorCache(".cache/minilm-0123abcd", {"layers": [-1]})  # doctest: +SKIP
    >>> todo = cache.missing(keys)  # doctest: +SKIP
    """

    def __init__(self, folder: str | Path, setting: dict):
        self.folder = Path(folder)
        self.setting = setting
        marker = self.folder / "setting.json"
        if marker.is_file():
            try:
                stored, damage = read_json(marker), "holds another encoder setting than its folder's name says (edited?)"
            except (OSError, ValueError) as error:
                stored, damage = None, f"unreadable ({one_line(error)})"
            # The folder's name is a digest of the setting, so a setting.json that differs was damaged or edited.
            if stored != _as_stored(setting):
                raise ScreenstackError(f"{marker}: {damage}, so its cached vectors cannot be trusted. Delete the folder "
                                       f"{self.folder} (it holds only cached vectors; they are encoded again), or pass "
                                       "another --cache-dir.")
        else:
            try:  # the cache lies outside --out (OUT/../.cache by default), so a failed write names --cache-dir
                write_json(marker, setting, flag=self.flag)
            except OSError as error:
                raise ScreenstackError(f"{self.folder}: cannot write the vector cache ({error.strerror}). "
                                       "Pass a writable --cache-dir or set SCREENSTACK_CACHE.") from None
        self._index: dict[str, tuple[Path, int]] | None = None
        # A run killed while writing a chunk leaves its temporary file; one
        # older than an hour belongs to no live writer.
        for stale in self.folder.glob(".chunk-*.tmp"):
            try:
                if time.time() - stale.stat().st_mtime > 3600:
                    stale.unlink()
            except OSError:  # another process removed or renamed it first
                pass

    @property
    def flag(self) -> str:
        """What chose this cache folder, for a message: ``--cache-dir``, or the environment variable where it set the
        folder (a user who never typed --cache-dir would look for it in vain)."""
        chosen = os.environ.get(CACHE_ENV)
        if chosen and self.folder.resolve().is_relative_to(Path(chosen).expanduser().resolve()):
            return f"--cache-dir (here ${CACHE_ENV})"
        return "--cache-dir"

    def _chunks(self) -> list[Path]:
        return sorted(self.folder.glob("chunk-*.parquet"))

    def index(self) -> dict[str, tuple[Path, int]]:
        """Key -> (chunk file, row) for every cached vector; read once, then kept up to date by `add`."""
        if self._index is None:
            self._index = {}
            mine = setting_digest(self.setting).encode()
            for path in self._chunks():
                try:
                    keys = pq.read_table(path, columns=["key"]).column("key").to_pylist()
                    metadata = pq.read_schema(path).metadata or {}
                except Exception as error:  # its texts are encoded again: say why this run is slower
                    self._drop_unreadable(path, error)
                    continue
                if CHECKSUM not in metadata or metadata.get(SETTING, mine) != mine:
                    self._drop_unreadable(path, ValueError(
                        "no checksum: written before 0.3.6" if CHECKSUM not in metadata else
                        "its vectors are of another encoder setting: copied in from another cache folder?"),
                        what="a vector cache chunk nothing vouches for")
                    continue
                for row, key in enumerate(keys):
                    self._index.setdefault(key, (path, row))
        return self._index

    @staticmethod
    def _drop_unreadable(path: Path, error: Exception, say: bool = True, what: str = "an unreadable vector cache chunk") -> str:
        """Remove a chunk no reader can open (cut short by a full disk, or overwritten), or `what` else it is, saying
        so (`say`); return what was done. It holds nothing usable, and kept it would be skipped, and said, on every run."""
        try:
            path.unlink()
            done = "removed it"
        except OSError as failed:
            done = f"delete it (could not: {failed.strerror})"
        if say:
            log.warning("extract: %s: %s (%s): %s; its texts are encoded again", path, what, one_line(error), done)
        return done

    def missing(self, keys: Sequence[str]) -> list[str]:
        """The keys, in order and without repeats, that no chunk holds."""
        index = self.index()
        return [k for k in dict.fromkeys(keys) if k not in index]

    def check_writable(self) -> None:
        """Refuse, before any text is encoded for it, a cache folder no chunk can be written to (read-only, not
        ours), in `atomic.io_error`'s one line naming --cache-dir."""
        try:
            _probe_write(self.folder)
        except OSError as error:
            raise io_error(self.folder, error, shown=True, flag=self.flag) from None

    def add(self, keys: Sequence[str], vectors: np.ndarray) -> Path:
        """Write one chunk of vectors (float32), atomically; return its path."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        assert len(keys) == len(vectors), "one key per vector"
        digest = hashlib.sha256("".join(keys).encode()).hexdigest()[:16]
        path = self.folder / f"chunk-{digest}.parquet"
        table = pa.table({"key": pa.array(list(keys), pa.string()), "vector": vector_column(vectors)},
                         metadata={CHECKSUM: _checksum(keys, vectors).encode(), SETTING: setting_digest(self.setting).encode()})
        with atomic_path(path, flag=self.flag) as tmp:
            pq.write_table(table, tmp, compression="zstd")
        index = self.index()
        for row, key in enumerate(keys):
            index.setdefault(key, (path, row))
        return path

    def gather(self, keys: Sequence[str], out: np.ndarray) -> np.ndarray:
        """Fill row i of `out` with the vector of ``keys[i]``, reading one chunk file at a time."""
        index = self.index()
        by_file: dict[Path, tuple[list[int], list[int]]] = {}
        for i, key in enumerate(keys):
            path, row = index[key]
            rows_out, rows_in = by_file.setdefault(path, ([], []))
            rows_out.append(i)
            rows_in.append(row)
        for path, (rows_out, rows_in) in by_file.items():
            try:
                table = pq.read_table(path)
                matrix = column_matrix(table.column("vector"))
            except FileNotFoundError:  # removed since the index was read (by hand, or another run mending it)
                self._index = None
                raise DamagedChunk(f"{path}: a vector cache chunk this run listed was removed while it ran") from None
            except Exception as error:  # keys readable, vectors not (a page overwritten)
                done = self._drop_unreadable(path, error, say=False)
                self._index = None
                raise DamagedChunk(f"{path}: an unreadable vector cache chunk ({one_line(error)}): {done}") from None
            stored = (table.schema.metadata or {}).get(CHECKSUM)  # `index` removed chunks without one
            if stored is None or stored.decode() != _checksum(table.column("key").to_pylist(), matrix):
                # Vectors changed since they were written are no encoder's: never reused, and kept they would stop every run.
                done = self._drop_unreadable(path, ValueError(), say=False)
                self._index = None
                raise DamagedChunk(f"{path}: a damaged vector cache chunk (its vectors differ from the checksum written "
                                   f"with them: changed since): {done}")
            if matrix.shape[1] != out.shape[1]:
                raise ScreenstackError(f"{path}: cached vectors have {matrix.shape[1]} columns, expected {out.shape[1]}. Delete that cache folder.")
            out[rows_out] = matrix[rows_in]
        return out
