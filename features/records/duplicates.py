"""Records that repeat another record's title and abstract under another id: said, never dropped.

Searches of several databases return one paper several times, and an update
returns papers already screened under new ids. The models score copies alike,
so nothing breaks, but a reviewer would screen a paper twice, a paper already
labelled would come back to be screened (scored by fold models that trained on
it), and a paper labelled both ways teaches both. Texts are compared
case-folded with punctuation and spacing ignored; records without text are
not compared. Each kind is one warning with its count and first pair of ids:
the ids differ, so whether they are one paper is the reviewer's call.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd


def _text_keys(frame: pd.DataFrame) -> pd.Series:
    joined = frame["title"].astype(str) + " " + frame["abstract"].astype(str)
    return joined.str.casefold().str.replace(r"[\W_]+", " ", regex=True).str.strip()


def warn_duplicates(frame: pd.DataFrame, train_path: str | Path, test_path: str | Path | None) -> None:
    """Warn about copies in a corpus frame (``split`` train/test, ``id``, ``title``, ``abstract``, ``label``):
    labelled records whose copies are labelled otherwise, records to screen that copy a labelled one, and
    records to screen that copy each other."""
    keys = _text_keys(frame)
    records = frame.assign(key=keys)[keys != ""]
    train, test = records[records["split"] == "train"], records[records["split"] == "test"]
    labels = train.groupby("key", sort=False)["label"].nunique()
    conflicting = labels.index[labels.to_numpy() > 1]
    if len(conflicting):
        ids = train.loc[train["key"] == conflicting[0], "id"].tolist()
        warnings.warn(f"{train_path}: {len(conflicting)} title(s) and abstract(s) labelled both included and excluded "
                      f"under different ids (first: ids {ids[0]!r} and {ids[1]!r}): both labels train. Correct the label "
                      "of one, or remove the copy.", stacklevel=3)
    labelled = train.drop_duplicates("key").set_index("key")
    copies = test[test["key"].isin(labelled.index)]
    if len(copies):
        first = copies.iloc[0]
        original = labelled.loc[first["key"]]
        warnings.warn(f"{test_path}: {len(copies)} record(s) to screen have the title and abstract of a labelled record "
                      f"(first: id {first['id']!r}, as labelled id {original['id']!r}, "
                      f"{'included' if original['label'] == 1 else 'excluded'}): probably the same paper under another id, "
                      "already screened. They are scored and listed like the others.", stacklevel=3)
    repeated = test[test["key"].duplicated()]
    if len(repeated):
        first = repeated.iloc[0]
        original = test.loc[test["key"] == first["key"], "id"].iloc[0]
        warnings.warn(f"{test_path}: {len(repeated)} record(s) to screen repeat another's title and abstract (first: id "
                      f"{first['id']!r}, as id {original!r}): each copy gets the same score and decision; screen one of "
                      "each.", stacklevel=3)
