"""clearer: multi-scale neural architecture search for image restoration (CLEARER, NeurIPS 2020)."""

from __future__ import annotations

from . import losses, metrics  # noqa: E402,F401  (losses register; metrics for clearer.metrics)
from .api import evaluate, export, load, restore  # noqa: E402
from .data import datasets, degradations, paired, rain, structures, super_resolution  # noqa: E402,F401
from .nn import (
    darts_ops,  # noqa: E402,F401
    multiscale,  # noqa: E402,F401
)
from .recipe import Recipe, derive, load_recipe  # noqa: E402
from .registry import CANDIDATES, DATASETS, DEGRADATIONS, LOSSES, OPS, REGISTRIES, SPACES, STRATEGIES, Registry  # noqa: E402
from .spaces import (
    clearer_space,  # noqa: E402,F401
    darts_space,  # noqa: E402,F401
)
from .strategies import (  # noqa: E402,F401
    bilevel,  # noqa: E402,F401
    fixed,
    gumbel,
    random_search,
)
from .version import __version__  # noqa: E402

__all__ = [
    "Registry",
    "Recipe",
    "load_recipe",
    "derive",
    "REGISTRIES",
    "CANDIDATES",
    "OPS",
    "SPACES",
    "LOSSES",
    "STRATEGIES",
    "DATASETS",
    "DEGRADATIONS",
    "load",
    "restore",
    "evaluate",
    "export",
    "__version__",
]
