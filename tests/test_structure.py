"""The code's shape: layers point one way, files and functions stay readable."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("routing", "notifications", "models", "config")
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 600

# Which of our packages each package may import: routing → notifications → models;
# everything may read config, which imports nothing of ours.
ALLOWED = {
    "config": set(),
    "models": {"config"},
    "notifications": {"models", "config"},
    "routing": {"notifications", "models", "config"},
}


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _ours(name: str) -> str | None:
    top = name.split(".", 1)[0]
    return top if top in PACKAGES else None


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_one_way(path: Path):
    package = path.relative_to(ROOT).parts[0]
    wrong = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = _ours(name)
            if top and top != package and top not in ALLOWED[package]:
                wrong.append(f"line {node.lineno}: {package} imports {name}")
    assert not wrong, wrong


def test_no_function_longer_than_80_lines():
    long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
        for path in _modules()
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, long


def test_no_module_longer_than_600_lines():
    long = [
        f"{path.relative_to(ROOT)} ({n} lines)"
        for path in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert not long, long


def test_every_package_says_what_it_owns():
    silent = [
        str(init.relative_to(ROOT))
        for pkg in PACKAGES
        for init in (ROOT / pkg).rglob("__init__.py")
        if not ast.get_docstring(_tree(init))
    ]
    assert not silent, silent


# Where the real clock may be read: its definition and the edge that hands it out.
CLOCK_READERS = {"models/base.py", "routing/clock.py"}


def _reads_real_clock(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id == "utcnow"
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and (func.value.id, func.attr)
        in {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("time", "time")}
    )


def test_services_take_the_clock_from_the_edge():
    """Only routing.clock reads the time for requests and commands; the worker's runtime
    passes its injected clock (a default argument, not a call) to every job."""
    readers = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _modules()
        if str(path.relative_to(ROOT)) not in CLOCK_READERS
        for node in ast.walk(_tree(path))
        if _reads_real_clock(node)
    ]
    assert not readers, readers
