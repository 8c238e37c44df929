"""Fixtures shared by every test folder: small slices of the shared datasets, written to tmp files."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

DATASETS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"


@pytest.fixture
def tiny_corpus_files(tmp_path) -> tuple[Path, Path]:
    """``(train.csv, test.csv)``: 200 labelled records (30 included) and 100 unlabelled ones.

    Sliced from ``cohen_atypical_antipsychotics.csv`` in its ASReview layout
    (``record_id``, ``title``, ``abstract``, ``label_included``).
    """
    data = pd.read_csv(DATASETS / "cohen_atypical_antipsychotics.csv", dtype=str, keep_default_na=False)
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    data.iloc[:200][["record_id", "title", "abstract", "label_included"]].to_csv(train, index=False)
    data.iloc[200:300][["record_id", "title", "abstract"]].to_csv(test, index=False)
    return train, test


@pytest.fixture
def resign():
    """``resign(out, name)``: rewrite committed set `name`'s manifest for its files as they are now, as if the set had
    been written so; for tests that edit a run's file by hand and need it read, not refused as damaged."""
    import hashlib
    import json

    def rewrite(out: Path, name: str) -> None:
        path = Path(out) / ".manifests" / (name.replace("/", "%") + ".json")
        manifest = json.loads(path.read_text())
        for rel in manifest["files"]:
            data = (Path(out) / rel).read_bytes()
            manifest["files"][rel] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        path.write_text(json.dumps(manifest))
    return rewrite
