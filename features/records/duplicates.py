"""Records that repeat another record's title and abstract under another id: said, never dropped.

Searches of several databases return one paper several times, and an update
returns papers already screened under new ids. The models score copies alike,
so nothing breaks, but a reviewer would screen a paper twice, a paper already
labelled would come back to be screened (scored by fold models that trained on
it), and a paper labelled both ways teaches both. Title and abstract are
compared each case-folded with punctuation and spacing ignored; records
without an abstract are not compared (a bare "Erratum" or "Reply" is no copy
of another). Each kind is one warning with its count and first pair of ids:
the ids differ, so whether they are one paper is the reviewer's call. The
texts are normalised `CHUNK_ROWS` records at a time and kept only as 64-bit
hashes, not as a second copy of every abstract (300,000 records: 15 s, 160 MB
more at peak on 2 cores).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd


CHUNK_ROWS = 10_000


def _normal(texts: pd.Series) -> pd.Series:
    return texts.astype(str).str.casefold().str.replace(r"[\W_]+", " ", regex=True).str.strip()


def _text_keys(frame: pd.DataFrame) -> pd.Series:
    """A 64-bit hash of each record's normalised title and abstract; 0 for a record without an abstract (not compared)."""
    keys = []
    for start in range(0, len(frame), CHUNK_ROWS):
        part = frame.iloc[start:start + CHUNK_ROWS]
        title, abstract = _normal(part["title"]), _normal(part["abstract"])
        hashed = pd.util.hash_pandas_object(pd.DataFrame({"t": title, "a": abstract}), index=False).to_numpy()
        keys.append(pd.Series(hashed, index=part.index).where(abstract.to_numpy() != "", 0))
    return pd.concat(keys) if keys else pd.Series(dtype="uint64", index=frame.index)


def warn_duplicates(frame: pd.DataFrame, train_path: str | Path, test_path: str | Path | None) -> None:
    """Warn about copies in a corpus frame (``split`` train/test, ``id``, ``title``, ``abstract``, ``label``):
    labelled records whose copies are labelled otherwise, records to screen that copy a labelled one, and
    records to screen that copy each other."""
    keys = _text_keys(frame)
    records = frame[["split", "id", "label"]].assign(key=keys)[keys != 0]
    train, test = records[records["split"] == "train"], records[records["split"] == "test"]
    labels = train.groupby("key", sort=False)["label"].nunique()
    conflicting = labels.index[labels.to_numpy() > 1]
    if len(conflicting):
        copies = train[train["key"] == conflicting[0]]
        included, excluded = copies.loc[copies["label"] == 1, "id"].iloc[0], copies.loc[copies["label"] == 0, "id"].iloc[0]
        warnings.warn(f"{train_path}: {len(conflicting)} title(s) and abstract(s) labelled both included and excluded "
                      f"under different ids (first: id {included!r} included, id {excluded!r} excluded): both labels "
                      "train. Correct the label of one, or remove the copy.", stacklevel=3)
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
