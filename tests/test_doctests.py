"""The examples in the package's docstrings run as written: each is documentation a reader copies."""
from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module(path: Path) -> str:
    """The module a source file is imported as: extract/, features/, learners/ and stacking/ are installed as
    subpackages of `screenstack` (pyproject.toml's package-dir)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join(parts if parts[0] == "screenstack" else ("screenstack", *parts))


MODULES = sorted(_module(path) for top in ("extract", "features", "learners", "stacking", "screenstack")
                 for path in (ROOT / top).rglob("*.py") if ">>> " in path.read_text())


def test_the_package_has_examples_to_run():
    assert len(MODULES) >= 20


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_give_what_they_show(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             report=True, verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples differ (printed above)"
