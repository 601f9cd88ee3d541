"""One name, one thing: names in the package that used to mean two things stay apart."""

from __future__ import annotations

import ast
import inspect
from collections import Counter

from conftest import ROOT

PACKAGE = ROOT / "src" / "clearer"


def test_clearer_restore_is_the_function_even_after_the_cli_is_imported():
    import clearer
    import clearer.cli  # noqa: F401  (it imports the module that restores files)

    assert inspect.isfunction(clearer.restore)


def test_no_two_modules_share_a_name():
    names = Counter(p.name for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")
    assert [n for n, c in names.items() if c > 1] == []


def test_no_library_function_looks_like_a_test():
    found = [
        f"{path.relative_to(PACKAGE)}:{node.name}"
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")
    ]
    assert found == []
