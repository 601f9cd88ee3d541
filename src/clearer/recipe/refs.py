"""The recipe's words for "a registered part": a ref names a part by `name` plus its arguments, and each
ref type says which registry the name is looked up in. Apart from the schema so that the schema and
its validation can both read it without importing each other."""

from __future__ import annotations

from typing import Any, NewType

from ..registry import DATASETS, DEGRADATIONS, LOSSES, SPACES, STRATEGIES, Registry

DatasetRef = NewType("DatasetRef", dict)
DegradationRef = NewType("DegradationRef", dict)
SpaceRef = NewType("SpaceRef", dict)
StrategyRef = NewType("StrategyRef", dict)
LossRef = NewType("LossRef", dict)
LossName = NewType("LossName", str)  # a registered loss named without arguments (arch_losses keys)
REF_REGISTRY: dict[Any, Registry[Any]] = {
    DatasetRef: DATASETS,
    DegradationRef: DEGRADATIONS,
    SpaceRef: SPACES,
    StrategyRef: STRATEGIES,
    LossRef: LOSSES,
}
