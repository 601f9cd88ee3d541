"""Which user files registered the parts a run uses, so that loading the run can register them again.

A recipe may define and register its own module; the resolved recipe then names it, and a later
process (`clearer.load`, `clearer evaluate`, `clearer export`) must register it before it can build the
network. The run records each such file with its sha256 in `sources.json`; loading executes exactly
that file (unchanged) or the one the user names, never anything a name in the JSON points to.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..errors import ClearerError
from ..recipe import Recipe, exec_recipe
from ..registry import REGISTRIES, code_of
from . import artifacts

SOURCES = "sources.json"
PACKAGE = Path(__file__).resolve().parents[1]


def _strings(tree: Any) -> set[str]:
    """Every string value in a nested recipe dict (names of parts appear only as strings)."""
    if isinstance(tree, str):
        return {tree}
    if isinstance(tree, dict):
        return set().union(*map(_strings, tree.values())) if tree else set()
    if isinstance(tree, list):
        return set().union(*map(_strings, tree)) if tree else set()
    return set()


def defining_file(obj: Any) -> Path | None:
    """The file outside the clearer package that defines a registered part (None for built-in parts)."""
    code = code_of(obj)
    if code is None or code.co_filename.startswith("<"):
        return None
    path = Path(code.co_filename).resolve()
    return None if PACKAGE in path.parents else path


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def used_sources(recipe: Recipe) -> dict[Path, dict[str, list[str]]]:
    """file -> {kind: [names]} for the parts the recipe names that a user's file registered."""
    names = _strings(recipe.to_dict())
    found: dict[Path, dict[str, list[str]]] = {}
    for kind, registry in REGISTRIES.items():
        for name, obj in registry:
            path = defining_file(obj) if name in names else None
            if path is not None:
                found.setdefault(path, {}).setdefault(kind, []).append(name)
    return found


def record_sources(recipe: Recipe, out: Path) -> None:
    """Write out/sources.json: each user file that registered a part of this run, with its sha256."""
    entries = [
        {"path": str(path), "sha256": sha256(path), "registers": registers}
        for path, registers in sorted(used_sources(recipe).items())
    ]
    artifacts.write_json(Path(out) / SOURCES, entries)


def _missing(entries: list[dict[str, Any]]) -> list[str]:
    return [
        f"{kind} {name!r}"
        for e in entries
        for kind, names in e["registers"].items()
        for name in names
        if name not in REGISTRIES[kind]
    ]


def register_sources(run_dir: Path, recipe_file: str | Path | None = None) -> None:
    """Register the user-defined parts a run needs: from `recipe_file` when given, else from the
    files the run recorded, each only if it is still there and unchanged."""
    path = Path(run_dir) / SOURCES
    entries = artifacts.read_json(path) if path.is_file() else []  # runs from before sources.json: built-ins only
    if recipe_file is not None:
        exec_recipe(recipe_file)
        missing = _missing(entries)
        if missing:
            raise ClearerError(
                f"{recipe_file} does not register {', '.join(missing)}, which the run {run_dir} uses; "
                f"pass the recipe file that defines them (recorded in {path})."
            )
        return
    for entry in entries:
        if not _missing([entry]):
            continue  # already registered in this process (e.g. the run that trained it)
        file = Path(entry["path"])
        names = ", ".join(n for names in entry["registers"].values() for n in names)
        problem = (
            "no longer exists"
            if not file.is_file()
            else "has changed since the run"
            if sha256(file) != entry["sha256"]
            else None
        )
        if problem:
            raise ClearerError(
                f"the run {run_dir} uses {names}, registered by {file}, which {problem} (sha256 "
                f"{entry['sha256'][:12]}... is recorded in {path}). Pass the file that defines them: "
                f"clearer.load({str(run_dir)!r}, recipe='path/to/recipe.py'), or --recipe on the command line."
            )
        exec_recipe(file)
