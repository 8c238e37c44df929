"""Load screening records from the files people bring, into one `Corpus`.

Accepted inputs (the layout is detected from the header; flags override it):

- competition CSV: ``id,title,abstract,judgement`` (test file without ``judgement``);
- ASReview-style CSV/TSV/XLSX: ``record_id`` (optional), ``title``, ``abstract``,
  and ``label_included`` / ``included`` / ``label``;
- RIS files (read with `rispy`): title and abstract; a label only where
  ``--label-col`` names a RIS field that holds 0/1.

A missing abstract means the record is screened on its title alone.
"""
from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ScreenstackError

ID_COLUMNS = ("id", "record_id")
TITLE_COLUMNS = ("title", "primary_title", "ti")
ABSTRACT_COLUMNS = ("abstract", "notes_abstract", "ab")
LABEL_COLUMNS = ("judgement", "label_included", "included", "label", "label_abstract_screening")
TEXT_EXTENSIONS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "\t"}


@dataclass(frozen=True)
class ColumnSpec:
    """Which columns hold the id, the text and the label; ``None`` means detect."""

    id_col: str | None = None
    text_cols: tuple[str, ...] | None = None
    label_col: str | None = None


@dataclass(frozen=True)
class Corpus:
    """Training and test records in one frame.

    ``frame`` has columns ``id`` (str), ``title``, ``abstract`` (str, may be
    empty), ``label`` (0/1 for training rows, NaN for test rows) and ``split``
    (``"train"`` or ``"test"``); training rows come first, each split in file order.
    """

    frame: pd.DataFrame

    @property
    def train(self) -> pd.DataFrame:
        return self.frame[self.frame["split"] == "train"].reset_index(drop=True)

    @property
    def test(self) -> pd.DataFrame:
        return self.frame[self.frame["split"] == "test"].reset_index(drop=True)

    def fingerprint(self, split: str) -> str:
        """SHA-256 of the ids, texts and labels of one split, to tie artifacts to their data."""
        part = self.frame[self.frame["split"] == split]
        digest = hashlib.sha256()
        for column in ("id", "title", "abstract", "label"):
            digest.update(column.encode())
            digest.update(pd.util.hash_pandas_object(part[column].astype(str), index=False).values.tobytes())
        return digest.hexdigest()


def record_text(title: str, abstract: str) -> str:
    """The text a model reads: title and abstract, or the title alone."""
    title, abstract = title.strip(), abstract.strip()
    if title and abstract:
        return f"{title}. {abstract}" if title[-1] not in ".?!" else f"{title} {abstract}"
    return title or abstract


def texts(frame: pd.DataFrame) -> list[str]:
    """`record_text` for every row of a corpus frame."""
    return [record_text(t, a) for t, a in zip(frame["title"], frame["abstract"])]


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV/TSV/XLSX/RIS file into a frame of strings, with errors that name the fix."""
    path = Path(path)
    if not path.is_file():
        raise ScreenstackError(f"{path}: no such file. Check the path, or run `screenstack split` to make train/test files.")
    if path.stat().st_size == 0:
        raise ScreenstackError(f"{path}: the file is empty. Give a file with a header row and at least one record.")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xls"):
        try:
            frame = pd.read_excel(path, dtype=str)
        except Exception as error:  # openpyxl raises many types for broken files
            raise ScreenstackError(f"{path}: cannot read it as an Excel workbook ({error}). Save it again as .xlsx or .csv.")
    elif suffix == ".ris":
        frame = _read_ris(path)
    else:
        frame = _read_delimited(path, TEXT_EXTENSIONS.get(suffix, ","))
    if frame.empty:
        raise ScreenstackError(f"{path}: the file has a header but no records. Give at least one record.")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _read_delimited(path: Path, sep: str) -> pd.DataFrame:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ScreenstackError(
            f"{path}: line {line} is not valid UTF-8 (byte {raw[error.start]:#04x} at offset {error.start}). "
            "Re-save the file as UTF-8 or fix that row."
        )
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except pd.errors.ParserError as error:
        raise ScreenstackError(f"{path}: cannot parse it as {'TSV' if sep == chr(9) else 'CSV'} ({error}). Check quoting on that line.")


def _read_ris(path: Path) -> pd.DataFrame:
    import rispy

    try:
        entries = rispy.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as error:
        raise ScreenstackError(f"{path}: not valid UTF-8 at byte offset {error.start}. Re-save the file as UTF-8.")
    except Exception as error:
        raise ScreenstackError(f"{path}: cannot parse it as RIS ({error}). Check the file is an RIS export.")
    rows = []
    for entry in entries:
        row = {key: "; ".join(map(str, value)) if isinstance(value, list) else str(value) for key, value in entry.items()}
        row.setdefault("title", row.get("primary_title", ""))
        row.setdefault("abstract", row.get("notes_abstract", ""))
        rows.append(row)
    return pd.DataFrame(rows, dtype=str).fillna("")


def _pick(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[c] for c in candidates if c in lower), None)


def _normalise(path: Path, frame: pd.DataFrame, spec: ColumnSpec, labelled: bool) -> pd.DataFrame:
    columns = list(frame.columns)
    found = ", ".join(columns)

    def need(name: str, flag: str) -> str:
        if name not in columns:
            raise ScreenstackError(f"{path}: no column {name!r} (found: {found}). Fix {flag} or the file's header.")
        return name

    if spec.text_cols:
        text_cols = [need(c, "--text-cols") for c in spec.text_cols]
        title = frame[text_cols[0]].fillna("").astype(str)
        abstract = frame[text_cols[1:]].fillna("").astype(str).agg(" ".join, axis=1) if len(text_cols) > 1 else pd.Series("", index=frame.index)
    else:
        title_col = _pick(columns, TITLE_COLUMNS)
        if title_col is None:
            raise ScreenstackError(
                f"{path}: no title column (expected one of {', '.join(TITLE_COLUMNS)}; found: {found}). "
                "Rename the column or pass --text-cols."
            )
        abstract_col = _pick(columns, ABSTRACT_COLUMNS)
        title = frame[title_col].fillna("").astype(str)
        abstract = frame[abstract_col].fillna("").astype(str) if abstract_col else pd.Series("", index=frame.index)

    id_col = need(spec.id_col, "--id-col") if spec.id_col else _pick(columns, ID_COLUMNS)
    ids = frame[id_col].astype(str).str.strip() if id_col else pd.Series([str(i) for i in range(len(frame))], index=frame.index)
    blank = ids[ids == ""]
    if len(blank):
        raise ScreenstackError(f"{path}: row {blank.index[0] + 2} has an empty id in column {id_col!r}. Give every record an id.")
    duplicated = ids[ids.duplicated()]
    if len(duplicated):
        raise ScreenstackError(
            f"{path}: id {duplicated.iloc[0]!r} appears more than once (rows {', '.join(str(i + 2) for i in ids.index[ids == duplicated.iloc[0]])}). "
            "Ids must be unique: remove the duplicate records or pick another --id-col."
        )

    out = pd.DataFrame({"id": ids.values, "title": title.values, "abstract": abstract.values})
    empty = (out["title"].str.strip() == "") & (out["abstract"].str.strip() == "")
    if empty.any():
        # Real exports hold records with no text (the Cohen sets have some, a few
        # of them included); they stay in and are scored like any other record.
        row = int(np.flatnonzero(empty.values)[0]) + 2
        warnings.warn(f"{path}: {int(empty.sum())} record(s) have neither title nor abstract (first: row {row}).", stacklevel=3)

    if labelled:
        label_col = need(spec.label_col, "--label-col") if spec.label_col else _pick(columns, LABEL_COLUMNS)
        if label_col is None:
            raise ScreenstackError(
                f"{path}: no label column (expected one of {', '.join(LABEL_COLUMNS)}; found: {found}). "
                "Rename the column or pass --label-col."
            )
        out["label"] = _parse_labels(path, frame[label_col], label_col)
    else:
        out["label"] = np.nan
    return out


def _parse_labels(path: Path, column: pd.Series, name: str) -> np.ndarray:
    mapping = {"0": 0.0, "1": 1.0, "0.0": 0.0, "1.0": 1.0, "false": 0.0, "true": 1.0}
    values = column.fillna("").astype(str).str.strip().str.lower().map(mapping)
    bad = values[values.isna()]
    if len(bad):
        row = bad.index[0]
        raise ScreenstackError(
            f"{path}: row {row + 2}, column {name!r}: label {column[row]!r} is not 0 or 1 "
            f"({len(bad)} such rows). Labels must be 0 (exclude) or 1 (include)."
        )
    return values.to_numpy(dtype=float)


def load_corpus(train: str | Path, test: str | Path | None = None, spec: ColumnSpec = ColumnSpec()) -> Corpus:
    """Read a labelled training file and an optional unlabelled test file.

    Examples
    --------
    >>> corpus = load_corpus("data/train.csv", "data/test.csv")  # doctest: +SKIP
    """
    train_path = Path(train)
    train_frame = _normalise(train_path, read_table(train_path), spec, labelled=True)
    present = set(train_frame["label"].astype(int))
    if present != {0, 1}:
        missing = "included (1)" if 1 not in present else "excluded (0)"
        raise ScreenstackError(f"{train_path}: no {missing} records in the training labels. Training needs both classes.")
    frames = [train_frame.assign(split="train")]
    if test is not None:
        test_path = Path(test)
        test_frame = _normalise(test_path, read_table(test_path), ColumnSpec(spec.id_col, spec.text_cols, None), labelled=False)
        shared = sorted(set(train_frame["id"]) & set(test_frame["id"]))
        if shared:
            raise ScreenstackError(
                f"{test_path}: {len(shared)} ids also appear in {train_path} (first: {shared[0]!r}). "
                "A record cannot be in both train and test: remove it from one of them."
            )
        frames.append(test_frame.assign(split="test"))
    return Corpus(pd.concat(frames, ignore_index=True))
