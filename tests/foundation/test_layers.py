"""Imports run one way: runtime ← protocol ← schemas ← worker ← supervisor / client.

Read from the source (no imports executed), so a violation is named by file and line.
A module-level import is what loading a module costs; an import inside a function runs only
when that function does, which is how the fork server loads the engine and the chat CLI its
local mode.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("runtime", "protocol", "schemas", "worker", "supervisor", "client")

# Which of our packages each package may import at all (at module level or inside functions).
MAY_IMPORT: dict[str, set[str]] = {
    "runtime": set(),
    "protocol": {"runtime"},
    "schemas": {"runtime"},
    "worker": {"runtime", "protocol", "schemas"},
    "supervisor": {"runtime", "protocol", "schemas", "worker", "client"},
    "client": {"runtime", "protocol", "schemas", "worker"},
}

# The only worker modules the supervisor and the client may import at module level.
WORKER_MODULES_AT_MODULE_LEVEL: dict[str, set[str]] = {
    "supervisor": {"worker.spec"},
    "client": set(),
}
# Local mode hosts the engine in the chat's own process: its modules may import the worker at
# module level, and are themselves imported (by other modules) only where local mode starts.
LOCAL_MODE_MODULES = {"client.local", "client.in_process_link", "client.in_process_channel"}


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str
    at_module_level: bool

    def __str__(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line} imports {self.module}"


def _imports(path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend(Import(path, child.lineno, a.name, not in_function)
                             for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append(Import(path, child.lineno, child.module, not in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def _our_imports(package: str) -> list[Import]:
    return [
        imp
        for path in sorted((REPO / package).rglob("*.py"))
        for imp in _imports(path)
        if imp.module.split(".")[0] in PACKAGES and imp.module.split(".")[0] != package
    ]


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    upward = [str(imp) for imp in _our_imports(package)
              if imp.module.split(".")[0] not in MAY_IMPORT[package]]
    assert upward == []


@pytest.mark.parametrize("package", sorted(WORKER_MODULES_AT_MODULE_LEVEL))
def test_the_engine_is_imported_only_where_it_runs(package: str) -> None:
    allowed = WORKER_MODULES_AT_MODULE_LEVEL[package]
    eager = [str(imp) for imp in _our_imports(package)
             if imp.at_module_level and imp.module.split(".")[0] == "worker"
             and imp.module not in allowed
             and _module_name(imp.path) not in LOCAL_MODE_MODULES]
    assert eager == []


def test_local_mode_is_imported_only_where_it_starts() -> None:
    eager = [str(imp) for package in ("client", "supervisor")
             for path in sorted((REPO / package).rglob("*.py"))
             for imp in _imports(path)
             if imp.at_module_level and imp.module in LOCAL_MODE_MODULES
             and _module_name(path) not in LOCAL_MODE_MODULES]
    assert eager == []


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts)


def test_the_import_reader_sees_function_level_imports_as_lazy(tmp_path: Path) -> None:
    source = tmp_path / "example.py"
    source.write_text("import worker.main\n\ndef f():\n    from worker.engine import prompt\n")
    assert [(i.module, i.at_module_level) for i in _imports(source)] == [
        ("worker.main", True), ("worker.engine", False)]
