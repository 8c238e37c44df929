"""The benchmark scripts still fit the package: bench/README.md quotes the commands behind its figures, so a renamed or
moved function must not leave a script that fails (or patches nothing) only when someone reruns it."""
from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def module_aliases(tree: ast.AST) -> dict[str, str]:
    """Names a script binds to screenstack modules: ``from screenstack.stacking import stack as S`` -> S."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update({a.asname: a.name for a in node.names if a.asname and a.name.startswith("screenstack")})
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("screenstack"):
            for a in node.names:
                if _is_module(f"{node.module}.{a.name}"):
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


def _is_module(name: str) -> bool:
    try:  # a name inside a module (a function, a class) is no module: its parent has no __path__
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.parametrize("script", sorted(BENCH.glob("*.py")), ids=lambda p: p.name)
def test_every_package_name_a_bench_script_uses_exists(script):
    tree = ast.parse(script.read_text())
    missing = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("screenstack"):
            module = importlib.import_module(node.module)
            missing += [f"{node.module}.{a.name}" for a in node.names if not hasattr(module, a.name)]
    aliases = module_aliases(tree)
    for node in ast.walk(tree):  # S.name read, called or patched, S a screenstack module
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            if not hasattr(importlib.import_module(aliases[node.value.id]), node.attr):
                missing.append(f"{aliases[node.value.id]}.{node.attr}")
    assert not missing, f"{script.name} uses names the package no longer has: {', '.join(sorted(set(missing)))}"


def test_a_benchmark_stacks_with_the_code_in_hand_not_the_stack_it_finds(tmp_path, monkeypatch):
    # `stack` reuses a stack of the same version, learner outputs and options, whatever code made it: a benchmark
    # that restacks (bench/protocol.py --restack, speed.py --stages stack) first drops it, or it scores and times
    # that reuse (a blend changed without a version bump read as no change).
    monkeypatch.syspath_prepend(str(BENCH))
    from quality import drop_stack
    from screenstack.stacking import stack as stage

    from .stacking.conftest import make_run

    first = make_run(tmp_path)
    monkeypatch.setattr(stage, "auto_blend", lambda n_included: "rank-average" if first["blend"]["method"] == "logistic"
                        else "logistic")
    assert stage.stack(tmp_path, stage.StackConfig(beta=7.0))["blend"]["method"] == first["blend"]["method"]  # reused
    drop_stack(tmp_path)
    assert not (tmp_path / "summary.json").exists() and not (tmp_path / "report").exists()
    assert stage.stack(tmp_path, stage.StackConfig(beta=7.0))["blend"]["method"] != first["blend"]["method"]
