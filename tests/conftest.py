"""Fixtures shared by every test folder: small slices of the shared datasets, written to tmp files."""
from __future__ import annotations

from pathlib import Path

# Before any test module loads torch (the first did so with OpenMP's default, spinning idle threads): the tests run
# under the policy the command and the package set. Beside other work on 2 cores, the fine-tuning and boosted learners'
# test modules took 371 s spinning, 157 s not (bench/README.md, "OpenMP's idle threads").
import screenstack  # noqa: F401

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

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


# A valid 1 x 1 PNG: what a figure's file holds in tests that do not look at figures.
ONE_PIXEL_PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                              "0000000d49444154789c63f8ffffff7f0009fb03fd2a86e38a0000000049454e44ae426082")

_RENDER = {"figures": True}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    # Before the item's fixtures are made: a module-scoped run folder is made under its first test's marker.
    _RENDER["figures"] = item.get_closest_marker("rendered_figures") is not None
    yield


@pytest.fixture(scope="session", autouse=True)
def figures_built_not_rendered():
    """Outside tests marked `rendered_figures`, each report figure is built (every plotting call runs on the run's
    data) but not rendered: its file is a one-pixel PNG. Rendering six PNGs (about 1.6 s a report) was 27% of the
    suite's time, 236 reports in tests that read the page's text or nothing of the report at all."""
    import matplotlib.pyplot as plt

    from screenstack.stacking import figures

    rendered = figures._png

    def png(fig) -> bytes:
        if _RENDER["figures"]:
            return rendered(fig)
        plt.close(fig)
        return ONE_PIXEL_PNG
    figures._png = png
    yield
    figures._png = rendered
