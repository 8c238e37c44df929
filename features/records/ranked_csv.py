"""Recognise screenstack's own ``ranked.csv`` given back as a training file (``--data`` or ``--train``).

``ranked.csv`` lists only the records that were not screened at that run, best
first. It is natural to type labels into it while screening from the top, but
training on it would drop every label the run trained on, and its labelled
records (picked from the top of the list) would stand for the rest. So it is
refused, naming the fix: type the labels into the original file, whose ids
are ``ranked.csv``'s ``id`` column. `predict --data` may still read it (it
trains on nothing).

The columns are written here rather than imported, since `features` imports no
other stage; a test checks them against `stacking.ranked.COLUMNS`.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import ScreenstackError

# The leading columns `stacking.ranked.write_ranked` writes, in its order: those every ranked.csv has had (0.3.13 added
# copy_of and copy_label after them).
RANKED_COLUMNS = ("rank", "id", "title", "score", "decision", "probability", "expected_included")


# Columns of ranked.csv no input file is likely to have two or more of: a reviewer may delete some (the scores, not to
# be swayed by them while screening, or the rank and decision too) and keep the rest.
RANKED_ONLY_COLUMNS = ("rank", "score", "decision", "probability", "expected_included")
COPY_COLUMNS = ("copy_of", "copy_label")  # written since 0.3.13: together, ranked.csv's alone


def is_ranked_csv(columns) -> bool:
    """Whether a header is ranked.csv's (any capitals, in any order, other columns between them): id and title, and
    either its copy columns or three of its score columns (so a ranked.csv with some of them deleted is one too).

    >>> is_ranked_csv(["rank", "id", "title", "score", "decision", "probability", "expected_included", "included"])
    True
    >>> is_ranked_csv(["rank", "id", "title", "decision", "copy_of", "copy_label", "included"])
    True
    >>> is_ranked_csv(["id", "title", "copy_of", "copy_label", "label_included"])  # rank and every score deleted
    True
    >>> is_ranked_csv(["id", "title", "abstract", "score", "decision"])
    False
    """
    names = {str(column).strip().lower() for column in columns}
    return {"id", "title"} <= names and (set(COPY_COLUMNS) <= names or sum(name in names for name in RANKED_ONLY_COLUMNS) >= 3)


def refuse_ranked_csv(path: str | Path, columns, flag: str) -> None:
    """Raise a one-line `ScreenstackError` if the file at `path`, given as `flag`, is screenstack's ranked.csv."""
    if is_ranked_csv(columns):
        raise ScreenstackError(
            f"{path}: this is screenstack's ranked.csv (its columns are ranked.csv's), which holds only the records "
            f"not screened at that run, so training on it as {flag} would drop every earlier label. Type the new labels "
            "into the original file (its ids are ranked.csv's id column) and run again on it with a new --out."
        )
