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


# Names no other file is likely to have: ranked.csv's own (copy_of and copy_label since 0.3.13).
RANKED_ONLY_COLUMNS = ("expected_included", "copy_of", "copy_label")


def is_ranked_csv(columns) -> bool:
    """Whether a header is ranked.csv's (any capitals), some of its columns deleted: id and title with one of its own
    names (`RANKED_ONLY_COLUMNS`), or a header that begins with four of its leading columns in their order (rank, id,
    title, decision: its scores and copy columns deleted). An export of another tool with a rank, a score and a
    decision of its own is none.

    >>> is_ranked_csv(["rank", "id", "title", "score", "decision", "probability", "expected_included", "included"])
    True
    >>> is_ranked_csv(["rank", "id", "title", "decision", "copy_of", "copy_label", "included"])
    True
    >>> is_ranked_csv(["rank", "id", "title", "decision", "abstract", "label_included"])  # scores and copies deleted
    True
    >>> is_ranked_csv(["id", "title", "abstract", "score", "probability", "decision"])
    False
    """
    names = [str(column).strip().lower() for column in columns]
    if not {"id", "title"} <= set(names):
        return False
    if any(name in names for name in RANKED_ONLY_COLUMNS):
        return True
    leading = []
    for name in names:  # the header's first columns, while they are ranked.csv's in its order
        if name not in RANKED_COLUMNS or (leading and RANKED_COLUMNS.index(name) <= RANKED_COLUMNS.index(leading[-1])):
            break
        leading.append(name)
    return len(leading) >= 4 and {"id", "title"} <= set(leading)


def refuse_ranked_csv(path: str | Path, columns, flag: str) -> None:
    """Raise a one-line `ScreenstackError` if the file at `path`, given as `flag`, is screenstack's ranked.csv."""
    if is_ranked_csv(columns):
        raise ScreenstackError(
            f"{path}: this is screenstack's ranked.csv (its columns are ranked.csv's), which holds only the records "
            f"not screened at that run, so training on it as {flag} would drop every earlier label. Type the new labels "
            "into the original file (its ids are ranked.csv's id column) and run again on it with a new --out."
        )
