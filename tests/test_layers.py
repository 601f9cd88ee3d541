"""Layers you can see: the package imports downwards only, and nothing imports itself back round.

An `ast` walk over `src/clearer` (deferred imports inside functions count; `if TYPE_CHECKING:` imports,
which never run, do not). Each module belongs to one layer below; a module may import its own layer
or lower ones. An import up the layers needs `# upward: REASON` in its statement, and there may be at most
two. A new top-level module or package fails here until it is given a layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "src" / "clearer"
LAYERS = [
    {"errors", "version", "writing"},  # writing: every file clearer writes goes through it
    {"contracts", "registry"},
    {"nn", "losses", "recipe", "spaces"},
    {"train"},  # trainer, device, distributed, checkpoint, inference: what training and inference run on
    {"data", "strategies", "metrics"},
    {"rundir"},  # every file of a run folder: names, records, sources, tracking, progress, strips
    {"engine"},  # the phases: build, search, retrain, evaluate, run
    {"api", "archplot", "compare", "restore_files", "slurm"},
    {"cli", "__main__", ""},  # "": the package's __init__, which gathers the public API
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layer(module: str) -> int:
    unit = module.removeprefix("clearer").lstrip(".").split(".")[0]
    found = [n for n, units in enumerate(LAYERS) if unit in units]
    assert found, f"{module}: give {unit!r} a layer in tests/test_layers.py"
    return found[0]


def type_checking_nodes(tree: ast.AST) -> set[int]:
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skip


def imports(module: str) -> list[tuple[str, tuple[int, int]]]:
    """(imported clearer module, (first line, last line)) for every import of `module` that runs."""
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    skip = type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if id(node) in skip or not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.append((name, (node.lineno, node.end_lineno or node.lineno)))
    return found


GRAPH = {m: imports(m) for m in MODULES}


def test_every_module_has_a_layer():
    for module in MODULES:
        layer(module)


def test_imports_run_down_the_layers_with_at_most_two_commented_exceptions():
    upward, uncommented = [], []
    for module, found in GRAPH.items():
        lines = MODULES[module].read_text().splitlines()
        for target, (first, last) in found:
            if layer(target) > layer(module):
                where = f"{module}:{first} imports {target}"
                commented = "# upward:" in "\n".join(lines[first - 1 : last])
                (upward if commented else uncommented).append(where)
    assert uncommented == [], "imports up the layers without an `# upward: REASON` comment"
    assert len(upward) <= 2, upward


def test_no_import_cycle():
    """Depth-first search for a back edge; the cycle is printed when there is one."""
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "open"
        for target, _ in GRAPH[module]:
            if state.get(target) == "open":
                return path[path.index(target) :] + [target] if target in path else [module, target]
            if target not in state and (cycle := visit(target, path + [target])):
                return cycle
        state[module] = "done"
        return None

    for module in sorted(GRAPH):
        if module not in state:
            assert (cycle := visit(module, [module])) is None, " -> ".join(cycle)
