"""The wheel holds every package: each folder with an ``__init__.py`` is listed in pyproject.toml.

`make install` installs editable, which imports straight from the source tree,
so a subpackage missing from ``[tool.setuptools] packages`` only breaks a
non-editable install (`pip install .`). `.ci/run` also builds and runs the wheel.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_in_pyproject():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    dirs = setuptools["package-dir"]
    found = set()
    for top, folder in dirs.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            if "__pycache__" not in relative:
                found.add(".".join((top, *relative)))
    assert found - listed == set(), f"add these to [tool.setuptools] packages in pyproject.toml: {sorted(found - listed)}"
    assert listed - found == set(), f"listed in pyproject.toml but not found: {sorted(listed - found)}"


def test_every_python_file_sits_in_a_package():
    """A module in a folder without ``__init__.py`` would be left out of the wheel silently."""
    dirs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    orphans = [str(p.relative_to(ROOT)) for folder in dirs.values() for p in (ROOT / folder).rglob("*.py")
               if not (p.parent / "__init__.py").is_file()]
    assert orphans == []


def test_the_command_starts_without_torch():
    """`screenstack --help` stays fast: torch and transformers load only in the stages that use them."""
    import subprocess
    import sys

    code = "import sys, screenstack.cli; heavy = {'torch', 'transformers', 'matplotlib'} & set(sys.modules); assert not heavy, heavy"
    subprocess.run([sys.executable, "-c", code], check=True)
