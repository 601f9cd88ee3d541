"""Reading recipes: a recipe .py file is run (it may import other recipes and register parts), a
resolved recipe.json is read as data; `LoadedRecipe.resolve` applies a profile and --set overrides.

A recipe file defines ``RECIPE`` (a nested dict of plain values and registered names) and optionally
``PROFILES`` (name -> dotted overrides).
"""

from __future__ import annotations

import json
import runpy
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ClearerError, did_you_mean
from .overrides import apply_overrides
from .schema import Recipe


@dataclass
class LoadedRecipe:
    """A recipe file after execution: its base dict, profiles and the module namespace.

    `resolved` marks a recipe.json written by a run: its profile is already applied, so a profile
    asked for again is ignored (the run is reproduced exactly as recorded).
    """

    path: Path
    base: dict[str, Any]
    profiles: dict[str, dict[str, Any]]
    namespace: dict[str, Any]
    resolved: bool = False

    def resolve(self, profile: str | None = None, overrides: dict[str, Any] | None = None) -> Recipe:
        """Base, then the profile, then --set overrides; an error says which of the three it is in."""
        if self.resolved:
            profile = None
        if profile is not None and profile not in self.profiles:
            raise ClearerError(
                f"recipe {self.path.name} has no profile {profile!r}.{did_you_mean(profile, self.profiles)} "
                f"Profiles: {', '.join(self.profiles) or '(none)'}."
            )
        recipe = _within(f"recipe {self.path}", lambda: Recipe.from_dict(self.base))
        if profile is not None:
            recipe = _within(
                f"profile {profile!r} of {self.path.name}",
                lambda: Recipe.from_dict(apply_overrides(recipe.to_dict(), self.profiles[profile])),
            )
        if overrides:
            recipe = _within("--set", lambda: Recipe.from_dict(apply_overrides(recipe.to_dict(), overrides)))
        return recipe


def _within(where: str, step: Callable[[], Recipe]) -> Recipe:
    try:
        return step()
    except ClearerError as err:
        raise ClearerError(f"{where}: {err}") from err


def _recipe_line(tb: Any, path: Path) -> int | None:
    line = None
    for frame in traceback.extract_tb(tb):
        if Path(frame.filename).resolve() == path:
            line = frame.lineno
    return line


_RECIPE_MODULES: set[str] = set()  # modules imported from a recipe folder, e.g. by `from bsd import RECIPE`
# The recipes shipped inside the package (a link to the repository's recipes/ folder): searched after a
# recipe's own folder, so a recipe copied anywhere still finds `from bsd import RECIPE`.
BUNDLED = Path(__file__).resolve().parents[1] / "recipes"


def _from_folder(name: str, folder: Path) -> bool:
    """A module is a recipe-folder sibling: folder/top.py or the package folder/top/."""
    file = getattr(sys.modules.get(name), "__file__", None)
    top = folder / name.split(".")[0]
    return file is not None and (Path(file).resolve() == top.with_suffix(".py") or top in Path(file).resolve().parents)


def exec_recipe(path: str | Path) -> dict[str, Any]:
    """Run a recipe file (its folder importable, so recipes can import each other).

    Why the module bookkeeping: `from base import RECIPE` must read base.py from this recipe's folder as
    it is now, not a module cached by an earlier load (an edited file, or another folder's base.py).
    """
    path = Path(path)
    if not path.is_file():
        raise ClearerError(f"recipe file {str(path)!r} not found. Give the path to a .py recipe, e.g. recipes/bsd.py.")
    if path.suffix != ".py":
        raise ClearerError(
            f"{path} is not a .py file: clearer runs code only from a recipe file whose name ends in .py, and "
            "reads a resolved recipe from a .json file (never run). Rename it, or give the right file."
        )
    path = path.resolve()
    folder = str(path.parent)
    for name in _RECIPE_MODULES:
        sys.modules.pop(name, None)
    _RECIPE_MODULES.clear()
    before = set(sys.modules)
    folders = [folder] + ([str(BUNDLED)] if BUNDLED.is_dir() and BUNDLED != path.parent else [])
    sys.path[:0] = folders
    try:
        return runpy.run_path(str(path), run_name=f"clearer_recipe_{path.stem}")
    except SyntaxError as err:
        raise ClearerError(
            f"syntax error in recipe {err.filename}:{err.lineno}: {err.msg}. Fix the recipe file."
        ) from err
    except ClearerError as err:
        line = _recipe_line(err.__traceback__, path)
        raise ClearerError(f"in recipe {path}{f':{line}' if line else ''}: {err}") from err
    except SystemExit as err:  # exit() in a recipe must not end clearer with the recipe's status, unnoticed
        line = _recipe_line(err.__traceback__, path)
        raise ClearerError(
            f"recipe {path}{f':{line}' if line else ''} called exit({err.code!r}) while loading; a recipe file only "
            "defines RECIPE (and PROFILES), so nothing was run. Remove the exit call."
        ) from None
    except Exception as err:
        line = _recipe_line(err.__traceback__, path)
        raise ClearerError(
            f"recipe {path}{f':{line}' if line else ''} raised {type(err).__name__}: {err}. "
            f"Run with --debug to see the full traceback."
        ) from err
    finally:
        for entry in folders:
            sys.path.remove(entry)
        _RECIPE_MODULES.update(
            n for n in set(sys.modules) - before if _from_folder(n, path.parent) or _from_folder(n, BUNDLED)
        )


def read_recipe_json(path: str | Path) -> dict[str, Any]:
    """A resolved recipe saved as JSON (a run folder's recipe.json): data only, nothing is executed."""
    path = Path(path)
    if not path.is_file():
        raise ClearerError(
            f"recipe file {str(path)!r} not found. Give the path to a .py recipe or a run folder's recipe.json."
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ClearerError(
            f"cannot read recipe {path}: {err}. The file is not valid JSON (truncated or "
            "edited by hand); restore it from the run's recipe .py file."
        ) from None
    if not isinstance(data, dict):
        raise ClearerError(f"recipe {path} must hold a JSON object of recipe sections, got {type(data).__name__}.")
    return data


def load_recipe(path: str | Path) -> LoadedRecipe:
    """A recipe .py file (executed) or a resolved recipe.json (read as data, never executed)."""
    if Path(path).suffix.lower() == ".json":
        return LoadedRecipe(Path(path), read_recipe_json(path), {}, {}, resolved=True)
    namespace = exec_recipe(path)
    if "RECIPE" not in namespace:
        raise ClearerError(
            f"recipe {path} defines no RECIPE dict. A recipe file sets RECIPE = dict(...) "
            f"and optionally PROFILES = {{'smoke': {{...}}}}."
        )
    base = namespace["RECIPE"]
    if isinstance(base, Recipe):
        base = base.to_dict()
    if not isinstance(base, dict):
        raise ClearerError(f"RECIPE in {path} must be a dict, got {type(base).__name__}.")
    profiles = namespace.get("PROFILES", {})
    if not isinstance(profiles, dict) or not all(
        isinstance(k, str) and isinstance(v, dict) for k, v in profiles.items()
    ):
        raise ClearerError(
            f"PROFILES in {path} must map profile names to dicts of dotted overrides, "
            f"e.g. {{'smoke': {{'search.epochs': 2}}}}; got {profiles!r}."
        )
    return LoadedRecipe(Path(path), base, dict(profiles), namespace)
