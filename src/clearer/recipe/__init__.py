"""Recipes: small Python files that declare one experiment, resolved into validated plain data.

Loading applies a profile, then ``--set`` overrides, checks every key and type against the schema
(`schema.py`: what a recipe may hold) and returns a :class:`Recipe` that round-trips through JSON.
"""

from .loading import BUNDLED, LoadedRecipe, exec_recipe, load_recipe, read_recipe_json
from .overrides import apply_overrides, derive, parse_set, parse_value
from .refs import DatasetRef, DegradationRef, LossName, LossRef, SpaceRef, StrategyRef
from .schema import DataConfig, EvalConfig, Recipe, RetrainConfig, SearchConfig
from .validation import resolve_callable

__all__ = [
    "BUNDLED",
    "DataConfig",
    "DatasetRef",
    "DegradationRef",
    "EvalConfig",
    "LoadedRecipe",
    "LossName",
    "LossRef",
    "Recipe",
    "RetrainConfig",
    "SearchConfig",
    "SpaceRef",
    "StrategyRef",
    "apply_overrides",
    "derive",
    "exec_recipe",
    "load_recipe",
    "parse_set",
    "parse_value",
    "read_recipe_json",
    "resolve_callable",
]
