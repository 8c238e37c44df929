"""Learner outputs: the files `stack` reads, one folder per learner.

``OUT/learners/NAME/`` holds ``oof.parquet`` (``id``, ``fold``, ``label``,
``score`` for every training record, scored by the fold model that did not see
it), ``test.parquet`` (``id``, ``score``: the mean of the fold models) and
``meta.json`` (the learner's parameters, its inputs, the fold plan and package
versions). Any producer of scores, a CPU learner or the fine-tuned encoder,
writes this format, so `stack` blends them all alike.
"""
from __future__ import annotations

import importlib.metadata
import platform
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import read_json, write_json, write_parquet
from .errors import ScreenstackError
from .folds import FoldPlan

LEARNERS_DIR = "learners"
PACKAGES = ("screenstack", "numpy", "pandas", "scikit-learn", "lightgbm", "xgboost", "torch", "transformers", "pyarrow")


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide the numbers, for artifact metadata."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def learner_dir(out: str | Path, name: str) -> Path:
    return Path(out) / LEARNERS_DIR / name


def differing_keys(old: dict, new: dict, ignore: tuple[str, ...] = ()) -> list[str]:
    """The keys, sorted, whose values differ between two metadata dicts (a missing key counts as None)."""
    return sorted(k for k in set(old) | set(new) if k not in ignore and old.get(k) != new.get(k))


def check_reusable(out: str | Path, name: str, meta: dict, plan: FoldPlan) -> bool:
    """True if NAME's outputs in OUT were made with exactly this metadata and fold plan.

    Outputs made otherwise are refused, never silently replaced. Package
    versions are not compared: an upgrade alone does not force a refit.
    """
    path = learner_dir(out, name) / "meta.json"
    if not path.is_file():
        return False
    keys = differing_keys(read_json(path), {**meta, "name": name, "fold_plan": plan.meta}, ignore=("versions",))
    if keys:
        raise ScreenstackError(
            f"{path.parent}: holds {name!r} outputs of another configuration (differs in: {', '.join(keys)}). "
            "Use a new --out folder, or delete that learner's folder to refit it."
        )
    return True


def write_learner_output(out: str | Path, name: str, plan: FoldPlan, oof: np.ndarray, test_ids, test: np.ndarray, meta: dict) -> Path:
    """Write one learner's OOF and test scores and its metadata (meta.json last, so it marks completion)."""
    folder = learner_dir(out, name)
    write_parquet(folder / "oof.parquet", pd.DataFrame({"id": plan.ids.astype(str), "fold": plan.folds, "label": plan.labels, "score": oof}))
    write_parquet(folder / "test.parquet", pd.DataFrame({"id": np.asarray(test_ids).astype(str), "score": test}))
    write_json(folder / "meta.json", {**meta, "name": name, "fold_plan": plan.meta, "versions": package_versions()})
    return folder


def read_learner_outputs(out: str | Path) -> dict[str, tuple[pd.DataFrame, pd.DataFrame, dict]]:
    """Every finished learner in OUT: name -> (oof frame, test frame, meta), sorted by name."""
    root = Path(out) / LEARNERS_DIR
    found = {}
    for meta_path in sorted(root.glob("*/meta.json")):
        folder = meta_path.parent
        found[folder.name] = (pd.read_parquet(folder / "oof.parquet"), pd.read_parquet(folder / "test.parquet"), read_json(meta_path))
    if not found:
        raise ScreenstackError(f"{root}: no learner outputs. Run `screenstack fit-learners --out {out}` first.")
    return found
