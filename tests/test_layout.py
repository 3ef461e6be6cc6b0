"""The package's structure: imports point down the layers of ``docs/architecture.md``, and no
module imports one that imports it (lazy imports inside functions included: a circle broken only
by importing late is still a circle).

Read from the source with ``ast``, so nothing of the package is run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "monitorkit"

#: Each part of the package and its layer: a module may import its own layer and those below.
LAYERS = {
    # The vocabulary every part shares, and its utilities.
    "monitorkit.record": 0,
    "monitorkit.status": 0,
    "monitorkit.healths": 0,
    "monitorkit.expectations": 0,
    "monitorkit.transitions": 0,
    "monitorkit.snoozes": 0,
    "monitorkit.delivery": 0,
    "monitorkit.naming": 0,
    "monitorkit.cleaning": 0,
    "monitorkit.redaction": 0,
    "monitorkit.retry": 0,
    "monitorkit.forks": 0,
    "monitorkit.signals": 0,
    "monitorkit.words": 0,
    "monitorkit.models": 0,
    "monitorkit.moved": 0,
    "monitorkit.version": 0,
    "monitorkit.conf": 0,
    "monitorkit.release": 0,
    "monitorkit.measures": 0,
    "monitorkit.usual": 0,
    "monitorkit.concurrency": 0,
    "monitorkit.staleness": 0,
    "monitorkit.check_command": 0,
    "monitorkit.transport": 1,
    "monitorkit.stores": 2,
    "monitorkit.recording": 3,
    "monitorkit.alerts": 3,
    "monitorkit.health": 4,
    "monitorkit.web": 5,
    # The command side, what a user writes.
    "monitorkit.mixins": 6,
    "monitorkit.command": 6,
    "monitorkit.decorators": 6,
    "monitorkit.instrument": 6,
    # Django's places.
    "monitorkit": 7,
    "monitorkit.apps": 7,
    "monitorkit.admin": 7,
    "monitorkit.urls": 7,
    "monitorkit.templatetags": 7,
    "monitorkit.checks": 7,
    "monitorkit.management": 7,
    "monitorkit.migrations": 7,
}
APART = ("monitorkit.testing",)  # the local Realtime Database server: a tool beside the package


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {
    module_name(path): path
    for path in sorted(PACKAGE.rglob("*.py"))
    if not module_name(path).startswith(APART)
}


def layer(module: str) -> int:
    parts = module.split(".")
    for size in range(len(parts), 0, -1):
        found = LAYERS.get(".".join(parts[:size]))
        if found is not None:
            return found
    raise AssertionError(f"{module} is in no layer of tests/test_layout.py: give it one")


def imports(module: str) -> set[str]:
    """Return the package's modules that ``module`` imports, anywhere in it."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            named = [f"{origin}.{alias.name}" for alias in node.names]
            # ``from pkg import name``: the module ``pkg.name`` when there is one, else ``pkg``.
            targets = [t for t in named if t in MODULES] or [origin]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target not in ("", module) and not target.startswith(APART):
                found.add(target)
    return found


GRAPH = {module: imports(module) for module in MODULES}


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module: str) -> None:
    up = sorted(t for t in GRAPH[module] if layer(t) > layer(module))
    assert not up, f"{module} (layer {layer(module)}) imports a layer above it: {up}"


def test_no_module_imports_one_that_imports_it() -> None:
    """No circle, of any length (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert not circles, f"import circles: {circles}"


def test_the_layers_are_as_the_architecture_page_draws_them() -> None:
    """docs/architecture.md names every folder of the package."""
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    missing = [name for name in folders if f"{name}/" not in page]
    assert not missing, f"docs/architecture.md does not draw: {missing}"
