"""Which user files registered the parts a run uses, so that loading the run can register them again.

A recipe may define and register its own module; the resolved recipe then names it, and a later
process (`clearer.load`, `clearer evaluate`, `clearer export`) must register it before it can build the
network. The run records each such file with its sha256 in `sources.json`. That record is data: loading
runs only the recipe file the user names (and checks it against the recorded hash), never a file the
JSON points to, so a shared run folder cannot run its own code (docs/writing.md, the trust model).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..errors import ClearerError
from ..recipe import Recipe, exec_recipe
from ..registry import REGISTRIES, code_of
from . import artifacts

SOURCES = artifacts.SOURCES
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


def _entries(path: Path) -> list[dict[str, Any]]:
    """sources.json, checked to be a list of {"path", "sha256", "registers": {kind: [names]}} (data only)."""
    entries = artifacts.read_json(path) if path.is_file() else []  # runs from before sources.json: built-ins only
    ok = isinstance(entries, list) and all(
        isinstance(e, dict)
        and isinstance(e.get("path"), str)
        and isinstance(e.get("sha256"), str)
        and isinstance(e.get("registers"), dict)
        and all(
            k in REGISTRIES and isinstance(v, list) and all(isinstance(n, str) for n in v)
            for k, v in e["registers"].items()
        )
        for e in entries
    )
    if not ok:
        raise ClearerError(
            f"{path} is damaged (it should list the recipe files that registered the run's parts, with their "
            "sha256); restore it from a copy of the run folder."
        )
    return entries


def register_sources(run_dir: Path, recipe_file: str | Path | None = None) -> None:
    """Make sure the parts a run needs are registered, running code only from `recipe_file`, the file the
    caller names. A run folder never chooses code: sources.json is data (which file registered which part,
    and its sha256), used only to ask for the right file and to check the one given against the record."""
    path = Path(run_dir) / SOURCES
    entries = _entries(path)
    if recipe_file is not None:
        exec_recipe(recipe_file)
    for entry in entries:
        names = [(kind, name) for kind, names in entry["registers"].items() for name in names]
        missing = [f"{kind} {name!r}" for kind, name in names if name not in REGISTRIES[kind]]
        defined = {defining_file(REGISTRIES[kind].get(name)) for kind, name in names if name in REGISTRIES[kind]}
        changed = [f for f in defined if f is None or sha256(f) != entry["sha256"]]
        if not missing and not changed:
            continue
        problem = (
            f"{recipe_file} does not register {', '.join(missing)}"
            if missing and recipe_file is not None
            else f"{', '.join(missing)} must be registered by the recipe file that defines them"
            if missing
            else f"{', '.join(str(f) for f in changed)}, which registers them now, differs from that file"
        )
        raise ClearerError(
            f"the run {run_dir} uses parts registered by {entry['path']} (sha256 {entry['sha256'][:12]}..., "
            f"recorded in {path}): {problem}. clearer never runs code a run folder names; pass the recipe file "
            f"yourself: clearer.load({str(run_dir)!r}, recipe='path/to/recipe.py'), or --recipe FILE on the "
            "command line."
        )
