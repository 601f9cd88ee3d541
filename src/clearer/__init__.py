"""clearer: multi-scale neural architecture search for image restoration (CLEARER, NeurIPS 2020)."""
from __future__ import annotations

__version__ = "0.1.0"

from .registry import (CANDIDATES, DATASETS, DEGRADATIONS, LOSSES, OPS,  # noqa: E402
                       REGISTRIES, SPACES, STRATEGIES, Registry)
from .recipe import Recipe, derive, load_recipe  # noqa: E402
from . import losses, metrics  # noqa: E402,F401  (losses register; metrics for clearer.metrics)
from .nn import multiscale  # noqa: E402,F401
from .nn import darts_ops  # noqa: E402,F401
from .spaces import clearer_space  # noqa: E402,F401
from .spaces import darts_space  # noqa: E402,F401
from .strategies import bilevel  # noqa: E402,F401
from .strategies import fixed, gumbel, random_search  # noqa: E402,F401
from .data import datasets, degradations  # noqa: E402,F401
from .data import paired, rain  # noqa: E402,F401
from .api import evaluate, export, load, restore  # noqa: E402

__all__ = ["Registry", "Recipe", "load_recipe", "derive", "REGISTRIES", "CANDIDATES", "OPS", "SPACES",
           "LOSSES", "STRATEGIES", "DATASETS", "DEGRADATIONS", "load", "restore", "evaluate", "export",
           "__version__"]
