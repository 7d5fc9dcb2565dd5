"""The code's shape: no import circle between files, every stage package says what it
holds and may import, and no shipped function grows past 60 lines.

The layering itself (interfaces > sources > stages > storage > model) is import-linter's
contract in pyproject.toml, run by ``make lint``; here it is also run once from the tests,
so that ``pytest`` alone catches an arrow pointing the wrong way.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ingest", "storage", "spiders")
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules a file imports (at any depth: lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
                break
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_between_files() -> None:
    modules = _modules()
    graph = {
        name: {dep for dep in _imports(path, modules) if dep != name}
        for name, path in modules.items()
    }
    # a package's __init__ importing its own modules is not a circle of files
    for name in graph:
        graph[name] = {dep for dep in graph[name] if not dep.startswith(name + ".")}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_storage_imports_only_the_model_of_ingest() -> None:
    modules = _modules()
    wrong = {
        f"{name} -> {dep}"
        for name, path in modules.items()
        if name.startswith("storage")
        for dep in _imports(path, modules)
        if dep.startswith("ingest") and not dep.startswith("ingest.model")
    }
    assert wrong == set()


def test_every_stage_package_says_what_it_holds_and_may_import() -> None:
    for init in sorted((ROOT / "ingest").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text("utf-8"))) or ""
        assert len(doc) > 80, f"{init.relative_to(ROOT)} has no docstring worth the name"
        if init.parent.name not in ("cli", "model"):
            assert "May import" in doc, f"{init.relative_to(ROOT)} does not say what it imports"


def _functions() -> Iterator[tuple[str, int]]:
    for path in _modules().values():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                where = f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
                yield where, (node.end_lineno or node.lineno) - node.lineno + 1


def test_no_shipped_function_over_sixty_lines() -> None:
    assert [w for w, n in _functions() if n > MAX_FUNCTION_LINES] == []


def test_poll_feeds_stays_small() -> None:
    sizes = dict(_functions())
    (poll,) = [n for w, n in sizes.items() if w.endswith(" poll_feeds")]
    assert poll < 40


def test_layering_contract_holds() -> None:
    linter = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if linter is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    done = subprocess.run([linter], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "BROKEN" not in done.stdout
