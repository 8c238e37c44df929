"""Split one labelled file into competition-format train and test files plus an answer key.

``OUT/train.csv`` (``id,title,abstract,judgement``), ``OUT/test.csv``
(``id,title,abstract``) and ``OUT/test_labels.csv`` (``id,judgement``) are
what the competition hands out and keeps back, so a labelled review can be
run end to end and scored. ``OUT/split.json`` says how the files were made.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from ..artifacts.atomic import atomic_path, read_json, sha256_file, write_json
from ..artifacts.runfolder import OS_FILES, first_names, named_like_a_file
from .corpus import ColumnSpec, load_records
from .labels import check_both_classes
from .tables import read_table
from ..errors import ScreenstackError, quoted

SPLIT_FILES = ("train.csv", "test.csv", "test_labels.csv")
SPLIT_META = "split.json"
log = logging.getLogger("screenstack")


@dataclass(frozen=True)
class SplitConfig:
    """A stratified split: the test share of the records and the seed."""

    test_size: float = 0.5
    seed: int = 0


def split_file(data: str | Path, out: str | Path, config: SplitConfig = SplitConfig(),
               spec: ColumnSpec = ColumnSpec()) -> dict[str, Path]:
    """Write a stratified train/test split of a labelled file to `out`.

    Records keep their file order within each part, so the same file, test
    size and seed give byte-identical files. Files already in `out` that differ
    from this split are refused before anything is written.

    Examples
    --------
    >>> split_file("data/cohen_adhd.csv", "data/cohen_adhd", SplitConfig(test_size=0.5, seed=0))  # doctest: +SKIP
    {'train.csv': PosixPath('data/cohen_adhd/train.csv'), ...}
    """
    file_like = named_like_a_file(out)  # as typed: Path drops a trailing separator
    data, out = Path(data), Path(out)
    if not 0 < config.test_size < 1:
        raise ScreenstackError(f"--test-size {config.test_size:g}: give the test share as a fraction between 0 and 1, e.g. 0.5.")
    _refuse_other_files(out, file_like)
    records = load_records(data, spec, labelled="partly", table=read_table(data, "--data"))
    unscreened = int(records["label"].isna().sum())
    if unscreened == len(records):
        raise ScreenstackError(f"{data}: no record is screened yet (every label is empty, -1 or ASReview_not_seen), so there is "
                               "nothing to split. Label some records first, or pass another --label-col.")
    if unscreened:  # a review's export in mid-screening: its screened records are what a split can score
        records = records[records["label"].notna()]
        warnings.warn(f"{data}: {unscreened} record(s) not screened yet left out of the split (no label to score them "
                      f"against); to screen them, give the file to `screenstack run --data {quoted(data)}{spec.flags()} "
                      f"--out {quoted(out.with_name(out.name + '-run'))}`", stacklevel=2)
    check_both_classes(data, records)
    labels = records["label"].to_numpy(dtype=int)
    counts = np.bincount(labels, minlength=2)
    if counts.min() < 2:
        name = "included (1)" if counts[1] < 2 else "excluded (0)"
        raise ScreenstackError(f"{data}: only {counts.min()} {name} record; a stratified split needs at least 2 of each class.")
    try:
        train_idx, test_idx = train_test_split(np.arange(len(records)), test_size=config.test_size,
                                               random_state=config.seed, stratify=labels)
    except ValueError:  # scikit-learn's words name its own parameters: said in the flag's terms instead
        n_test = int(np.ceil(config.test_size * len(records)))
        raise ScreenstackError(f"--test-size {config.test_size:g}: {data} has {len(records)} records ({int(counts[1])} included), "
                               f"so the test file would hold {n_test} and the train file {len(records) - n_test}, too few to "
                               "hold both classes on each side. Choose a test size that leaves records of both classes on "
                               "each side, e.g. 0.5.") from None
    train = records.iloc[np.sort(train_idx)]
    test = records.iloc[np.sort(test_idx)]
    for side, part in (("train", train), ("test", test)):  # stratified, yet a class of 2 can land wholly on one side
        missing = [name for value, name in ((1, "included (1)"), (0, "excluded (0)")) if not (part["label"] == value).any()]
        if missing:
            raise ScreenstackError(f"--test-size {config.test_size:g}: the {side} file would hold no {missing[0]} record "
                                   f"({len(train)} train, {len(test)} test records; {int(counts[1])} included in all). "
                                   "Choose a test size that leaves records of both classes on each side, e.g. 0.5.")
    judgement = {"judgement": lambda f: f["label"].astype(int)}
    contents = {
        "train.csv": _csv(train.assign(**judgement)[["id", "title", "abstract", "judgement"]]),
        "test.csv": _csv(test[["id", "title", "abstract"]]),
        "test_labels.csv": _csv(test.assign(**judgement)[["id", "judgement"]]),
    }
    meta = {
        **asdict(config), "source": data.name, "source_sha256": sha256_file(data),
        "columns": records.attrs["columns"], "n_train": len(train), "n_test": len(test),
        "included_train": int(train["label"].sum()), "included_test": int(test["label"].sum()),
        "unscreened_left_out": unscreened,
    }
    _refuse_other_split(out, contents, meta)
    written, new = {}, []
    try:
        for name, payload in contents.items():
            path = out / name
            if not (path.is_file() and path.read_bytes() == payload):
                with atomic_path(path) as tmp:
                    tmp.write_bytes(payload)
                new.append(path)
            written[name] = path
        # split.json goes last: a folder with it is a finished split.
        write_json(out / SPLIT_META, meta)
        written[SPLIT_META] = out / SPLIT_META
    except BaseException as error:  # a full disk or Ctrl-C after train.csv: no half split left for a run to read
        for done in new:
            done.unlink(missing_ok=True)
        if isinstance(error, ScreenstackError) and new:
            raise ScreenstackError(f"{error} ({', '.join(p.name for p in new)}, written before it, removed: no half split "
                                   "is left.)") from None
        raise
    log.info("%s: train %d records (%d included), test %d records (%d included)", out, meta["n_train"],
             meta["included_train"], meta["n_test"], meta["included_test"])
    return written


def _csv(frame: pd.DataFrame) -> bytes:
    # Lines end in "\n", but in CRLF (RFC 4180's) where a field holds a lone carriage return: under "\n" pandas leaves
    # such a field unquoted, and the file read back with that row broken in two (helper-161: a split refused by the run
    # it was made for). Only there: a split made before reads as the same bytes, not as another split (helper-162).
    lone_return = any(frame[column].astype(str).str.contains(r"\r(?!\n)").any() for column in frame.columns)
    return frame.to_csv(index=False, lineterminator="\r\n" if lone_return else "\n").encode("utf-8")


def _refuse_other_files(out: Path, file_like: bool) -> None:
    """Refuse an `out` holding files other than a split's (a run folder, the user's data folder): the split's files
    would mix with them, as README promises no command does; or, `file_like`, one named as a file (`named_like_a_file`)."""
    if out.exists() and not out.is_dir():  # said now, as the other commands say it, not once the data are read
        raise ScreenstackError(f"--out {out}: is a file, not a folder. Give the path of a folder for the split's files, "
                               f"e.g. --out {quoted(out.parent / (out.name + '-split'))}.")
    if file_like:  # helper-171, as the other commands
        raise ScreenstackError(f"--out {out}: names a file, but --out is the folder the split writes train.csv, "
                               f"test.csv and test_labels.csv into. Give a folder, e.g. --out {quoted(out.parent / out.stem)}.")
    existing = next(p for p in out.absolute().parents if p.exists())
    if not existing.is_dir():
        raise ScreenstackError(f"--out {out}: {existing} is a file, so no folder can be made there. Choose another --out.")
    try:
        own = {*SPLIT_FILES, SPLIT_META}
        other = sorted(p.name for p in out.iterdir() if p.name not in own and p.name not in OS_FILES
                       and not (p.name.startswith(".") and p.name.endswith(".tmp")))  # atomic_path's, left by a killed split
    except OSError:
        return  # a new folder, a file in the way or an unreadable one: writing names it
    if other:
        raise ScreenstackError(f"--out {out}: holds other files ({first_names(other)}) than a split's train.csv, test.csv, test_labels.csv "
                               f"and split.json, which the split would mix with. Give a new or empty folder, e.g. --out "
                               f"{out.parent / (out.name + '-split')}.")  # beside it: inside, a run folder's files would hold it


def _refuse_other_split(out: Path, contents: dict[str, bytes], meta: dict) -> None:
    """Refuse when `out` holds split files with other contents (another source, size or seed; or the same, written
    otherwise: by another version, or edited since)."""
    differing = [name for name, payload in contents.items() if (out / name).exists() and
                 not ((out / name).is_file() and (out / name).read_bytes() == payload)]
    if not differing:
        return
    said = "another split, not this one"
    if (out / SPLIT_META).is_file():
        old = read_json(out / SPLIT_META)
        made = f"made from {old.get('source')} with --test-size {old.get('test_size')} --seed {old.get('seed')}"
        said = f"another split ({made}), not this one"
        if all(old.get(key) == meta[key] for key in ("source", "source_sha256", "test_size", "seed", "columns")):
            # The same file and options: "another split ... not this one" contradicted the options it named.
            said = (f"this split's files written otherwise ({made}: the same file and options, but its files were "
                    "edited since or written by another screenstack version)")
    raise ScreenstackError(
        f"{out / differing[0]}: holds {said}. "
        "Use another --out folder, or delete its train.csv, test.csv and test_labels.csv to split again."
    )
