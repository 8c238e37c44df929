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
