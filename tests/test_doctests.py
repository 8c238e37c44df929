"""The examples in the package's docstrings run as written: each is documentation a reader copies."""
from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Installed as subpackages of `screenstack` (pyproject.toml's package-dir).
MODULES = sorted(
    ".".join(["screenstack", *path.relative_to(ROOT).with_suffix("").parts][: -1 if path.stem == "__init__" else None])
    .replace("screenstack.screenstack", "screenstack")
    for top in ("extract", "features", "learners", "stacking", "screenstack")
    for path in (ROOT / top).rglob("*.py") if ">>> " in path.read_text())


def test_the_package_has_examples_to_run():
    assert len(MODULES) >= 20


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_give_what_they_show(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             report=True, verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples differ (printed above)"
