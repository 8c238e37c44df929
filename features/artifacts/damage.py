"""What a reader of a run folder says of a file it cannot trust: damaged (missing, cut short, changed), stale (made
from other outputs upstream than the folder holds now), or made from learners deleted since, each with its fix."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ScreenstackError
from . import sets


class DamagedArtifact(ScreenstackError):
    """A file of a committed set is missing, truncated, altered or unreadable."""

    def __init__(self, path: Path, reason: str, fix: str):
        super().__init__(f"{path}: {said(reason)}. {fix}")
        self.path, self.reason, self.fix = path, reason, fix

    @property
    def state(self) -> str:
        """What became of the file, in words: `said`."""
        return said(self.reason)


def said(reason: str) -> str:
    """A damaged file's state in words: a missing one was mostly moved or deleted by hand (README says to move
    ranked.csv aside), not "damaged"."""
    return "missing (moved or deleted)" if reason == "missing" else f"damaged ({reason})"


class StaleArtifact(DamagedArtifact):
    """A committed set made from another version of one of its inputs than OUT holds now."""

    def __init__(self, out: Path, files: list[str], upstream: str, fix: str):
        ScreenstackError.__init__(self, f"{out}: {_named(files)} are stale (made from other {upstream!r} outputs than "
                                        f"OUT holds now). {fix}")
        self.path, self.reason = out / (files[0] if files else ""), f"made from other {upstream!r} outputs"


def _named(files: list[str]) -> str:
    """`files` (paths inside OUT) in a few words: a learner's 14 files as its folder, with their count."""
    folder = os.path.commonpath(files) if len(files) > 3 else ""
    return f"the {len(files)} files of {folder}" if folder else ", ".join(files)


class DeletedLearners(StaleArtifact):
    """A committed set made from learners whose folders and manifests were since deleted (by hand, as some refusals
    say to do): the fix is theirs to refit, or a stack of the others, not the set's own command."""

    def __init__(self, out: Path, files: list[str], deleted: list[str], kept: list[str]):
        one = len(deleted) == 1
        ScreenstackError.__init__(self, f"{', '.join(str(out / 'learners' / name) for name in deleted)}: deleted, but "
                                        f"{', '.join(files)} in {out} were made from {'it' if one else 'them'}. "
                                        f"{sets.deleted_learners_fix(out, deleted, kept)}")
        self.path, self.reason = out / (files[0] if files else ""), "made from deleted learners"


def read_checked(path: Path, reader, fix: str):
    """``reader(path)``, with an unreadable file (bad Parquet or JSON) raised as `DamagedArtifact`."""
    try:
        return reader(path)
    except (OSError, ValueError, KeyError) as error:  # pyarrow's ArrowInvalid is a ValueError, ArrowIOError an OSError
        if isinstance(error, FileNotFoundError):
            raise DamagedArtifact(path, "missing", fix) from None
        raise DamagedArtifact(path, f"not readable: {str(error).splitlines()[0][:120] if str(error) else type(error).__name__}", fix) from None
