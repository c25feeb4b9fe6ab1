"""The package's imports form a DAG with the core at the bottom (STYLE 5a).

The imports are read from the source (``ast``), not by importing: every ``import``
statement counts, at module level or inside a function (a lazy import is still a
dependency), except those under ``if TYPE_CHECKING:``, which are annotations only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "minilink"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(runtime imports, annotation-only imports) of one module, as module names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    runtime: set[str] = set()
    annotations: set[str] = set()

    def visit(node: ast.AST, target: set[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for inner in child.body:
                    visit_one(inner, annotations)
                for inner in child.orelse:
                    visit_one(inner, target)
                continue
            visit_one(child, target)

    def visit_one(node: ast.AST, target: set[str]) -> None:
        if isinstance(node, ast.Import):
            target.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            target.add(base)
            # "from minilink.core import pages" imports the module minilink.core.pages.
            for alias in node.names:
                if (
                    (PACKAGE.parent / (base + "." + alias.name).replace(".", "/"))
                    .with_suffix(".py")
                    .exists()
                ):
                    target.add(f"{base}.{alias.name}")
        visit(node, target)

    visit(tree, runtime)
    return runtime, annotations


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
IMPORTS = {name: _imports(path) for name, path in MODULES.items()}


def _own(names: set[str]) -> set[str]:
    return {n for n in names if n == "minilink" or n.startswith("minilink.")}


def test_the_walk_sees_the_known_imports() -> None:
    # The walker itself: a lazy import and a TYPE_CHECKING import are both found.
    runtime, annotations = IMPORTS["minilink.core.app"]
    assert "minilink.core.pages" in runtime  # imported inside a method
    assert "minilink.core.service" in annotations


CORE = sorted(name for name in MODULES if name.startswith("minilink.core"))


@pytest.mark.parametrize("module", CORE)
def test_the_core_knows_no_backend_adapter_or_kit(module: str) -> None:
    runtime, annotations = IMPORTS[module]
    # The Store interface (storage.base) may be named in annotations; nothing else
    # outside the core, at run time or in annotations.
    outside = {
        n
        for n in _own(runtime | annotations)
        if not n.startswith("minilink.core") and n != "minilink"
    }
    outside -= {"minilink.storage.base"} & annotations
    assert outside == set(), f"{module} imports {sorted(outside)}"
    assert "minilink" not in _own(runtime), f"{module} imports the package root"


def test_no_import_cycle_in_minilink() -> None:
    graph = {name: _own(IMPORTS[name][0]) & set(MODULES) for name in MODULES}
    # Importing minilink.x runs minilink/__init__ first: that is Python's doing, not
    # an edge of ours, so only explicit imports of the root count.
    seen: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(name: str) -> None:
        seen[name] = 1
        path.append(name)
        for nxt in sorted(graph[name]):
            if seen.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in seen:
                walk(nxt)
        path.pop()
        seen[name] = 2

    for name in sorted(graph):
        if name not in seen:
            walk(name)
