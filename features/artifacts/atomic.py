"""Write files so that a crash never leaves a half-written artifact.

Every artifact is written to a temporary file in the same folder and then
renamed over the target, which is atomic on POSIX file systems. Files get the
permissions of any new file (0666 less the umask). A failed write (read-only
disk, no permission, disk full) is one `ScreenstackError` naming the path.
Sets of files that belong together are committed through `features.artifacts.runfolder`.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from ..errors import ScreenstackError

if TYPE_CHECKING:
    import pandas as pd

STAGING_DIR = ".staging"  # features.artifacts.runfolder stages sets of outputs here, under OUT
_FIXES = {
    errno.EROFS: "the file system is read-only: give --out a folder on a writable disk",
    errno.EACCES: "no permission to write there: use another --out or fix its permissions",
    errno.EPERM: "no permission to write there: use another --out or fix its permissions",
    # A file system out of inodes says ENOSPC too, with space free in `df -h` (a helper's tmpfs of 40 files).
    errno.ENOSPC: "the disk is full (of bytes, or of files: df -h, df -i): free some space or give --out a folder on "
                  "another disk",
    errno.EFBIG: "the file would pass this shell's file-size limit (ulimit -f): raise it, then rerun",
    errno.EDQUOT: "the disk quota is used up: free some space or give --out a folder on another disk",
    errno.ENOTDIR: "a file stands where a folder is needed: use another --out, or move that file",
    errno.EEXIST: "a file stands where a folder is needed: use another --out, or move that file",
    errno.EISDIR: "a folder stands where a file is needed: use another --out, or move that folder",
    # A folder made where it exists no longer (removed meanwhile) or cannot (/proc, another pseudo file system).
    errno.ENOENT: "no folder can be made there (removed meanwhile, or a system folder such as /proc): use another --out",
    errno.EXDEV: "it is another disk or mount inside --out, so files cannot be moved into it in one step: "
                 "use an --out whose folders are all on one disk",
}


def unwritable_errno(folder: str | os.PathLike) -> int:
    """Why `folder` cannot be written, as an errno: EROFS on a file system mounted read-only, where permissions cannot
    help (a read-only bind mount), else EACCES."""
    try:
        return errno.EROFS if os.statvfs(folder).f_flag & os.ST_RDONLY else errno.EACCES
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return errno.EACCES


def io_error(path: str | os.PathLike, error: OSError, kept: bool = True, shown: bool = False,
             flag: str = "--out", outcome: str | None = None) -> ScreenstackError:
    """The one-line error for an OSError met while writing `path`, naming the fix.

    A path inside a staging folder is shown as the path it is staged for
    (`shown` True: as it is, e.g. the staging folder itself).
    `kept` False: the error came while a whole staged set was being moved in,
    which the next command finishes. `flag`: the option that chose the folder (``--cache-dir`` for the vector cache).
    `outcome`: what became of the command's work, where the caller knows more than the one file (a whole set refused).
    """
    parts = Path(path).parts
    whole_set = False  # the staging folder itself, no file in it: a set of files, not one
    if STAGING_DIR in parts and not shown:
        i = parts.index(STAGING_DIR)
        whole_set = len(parts) <= i + 2
        path = Path(*parts[:i]) if whole_set else Path(*parts[:i], *parts[i + 2:])
    fix = _FIXES.get(error.errno, "check the path and the disk, then rerun").replace("--out", flag)
    # Said of this file only: files the same command committed before it stay (`run` lists them).
    if outcome is None:
        outcome = f"{Path(path).name} was not {'changed' if Path(path).exists() else 'written'}." if not whole_set else (
            "The files being written were not kept (those this command finished before stay, and the same command reuses them).")
        outcome = outcome if kept else "The next command in this --out finishes writing the set."
    return ScreenstackError(f"{path}: cannot write ({error.strerror or error}); {fix}. {outcome}")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike, flag: str = "--out") -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` on success. A failed write's error names `flag`.

    Examples
    --------
    >>> with atomic_path("out/submission.csv") as tmp:  # doctest: +SKIP
    ...     frame.to_csv(tmp)
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise io_error(path, error, flag=flag) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; artifacts follow the umask like any file
    except OSError as error:  # a file system without modes (some vfat and CIFS mounts): no temporary file left behind
        Path(tmp).unlink(missing_ok=True)
        raise io_error(path, error, flag=flag) from None
    finally:
        os.close(fd)
    tmp = Path(tmp)
    try:
        try:
            yield tmp
        except OSError as error:
            if error.errno in _FIXES:  # a failed write; others (a dropped download) keep their own handling
                raise io_error(path, error, flag=flag) from None
            raise
        try:
            os.replace(tmp, path)
        except OSError as error:
            raise io_error(path, error, flag=flag) from None
    finally:
        if tmp.exists():
            tmp.unlink()


def sha256_file(path: str | os.PathLike) -> str:
    """The hex SHA-256 of the file at `path`, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: str | os.PathLike, obj, flag: str = "--out") -> None:
    """Write `obj` as indented, key-sorted JSON, atomically (a failed write's error names `flag`)."""
    with atomic_path(path, flag) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: str | os.PathLike):
    return json.loads(Path(path).read_text())


def write_parquet(path: str | os.PathLike, frame: pd.DataFrame, meta: dict | None = None) -> None:
    """Write `frame` to zstd Parquet with `meta` as JSON in the schema metadata, atomically."""
    import pyarrow as pa  # local: keeps `screenstack --help` fast (the CLI imports this module to build its parser)
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if meta is not None:
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), b"screenstack": json.dumps(meta, sort_keys=True, default=str).encode()}
        )
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def permission_denied(path: str | os.PathLike, error: OSError | None = None) -> PermissionError:
    """A PermissionError naming its file, as the one-line message needs (`screenstack.cli`): pyarrow's names none.
    Raised for a file the permissions keep from being read, which is no damage to make again."""
    return PermissionError(errno.EACCES, os.strerror(errno.EACCES), (error and error.filename) or str(path))


def read_parquet_meta(path: str | os.PathLike) -> dict:
    """Return the screenstack metadata stored in a Parquet file's schema (empty if none)."""
    import pyarrow.parquet as pq  # local: keeps `screenstack --help` fast

    raw = (pq.read_schema(path).metadata or {}).get(b"screenstack")
    return json.loads(raw) if raw else {}
