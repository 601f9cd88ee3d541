"""Equal-cost networks: scale a network's width until its cost (FLOPs per pixel or parameters) is
within ±5 % of a target.

Why: in a space where candidates differ in size, retraining each architecture at its own size compares
capacity, not topology. Retraining every one at one cost (`retrain.match_cost`) asks which topology
uses a budget best, the question a search should answer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from ..errors import ClearerError
from ..registry import SPACES
from .cost import count_params, flops_per_pixel

TOLERANCE = 0.05
KINDS = ("flops", "params")


@dataclass(frozen=True)
class CostMatch:
    """The width chosen for a target cost and the cost it reached (recorded in metrics.json)."""

    kind: str
    target: float
    width: float
    reached: float

    @property
    def error(self) -> float:
        return self.reached / self.target - 1

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "error": round(self.error, 4)}


def parse_target(target: dict[str, float]) -> tuple[str, float]:
    """('flops', 60000.0) from {'flops': 60000}; one kind, a positive number."""
    if len(target) != 1 or next(iter(target)) not in KINDS:
        raise ClearerError(
            f"give one kind of cost ({', '.join(KINDS)}) with its target, e.g. "
            f"dict(flops=60000) (FLOPs per pixel) or dict(params=200000); got {target!r}."
        )
    kind, value = next(iter(target.items()))
    return kind, float(value)


def network_cost(space: dict[str, Any], channels: int, architecture: dict[str, str], kind: str) -> float:
    """FLOPs per output pixel or parameters of one architecture of a space ref."""
    model = SPACES.build(space, channels=channels, architecture=architecture)
    if kind == "params":
        return float(count_params(model))
    # FLOPs per pixel do not depend on the image size (a multiple of the network's): probe the smallest
    return flops_per_pixel(model, channels, size=max(8, int(getattr(model, "multiple", 1))))


def match_cost(
    space: dict[str, Any], channels: int, architecture: dict[str, str], target: dict[str, float]
) -> CostMatch:
    """The width (of `space`'s `width` argument) whose network costs closest to the target; a
    ClearerError when no width comes within ±5 %."""
    key = json.dumps([space, channels, architecture, target], sort_keys=True)
    return _match(key)


@lru_cache(maxsize=256)
def _match(key: str) -> CostMatch:
    space, channels, architecture, target = json.loads(key)
    kind, goal = parse_target(target)
    if "width" not in space:
        raise ClearerError(
            f"retrain.match_cost scales the space's `width`, but the space ref {space['name']!r} gives none; "
            f"add width=... to it (every space registered for equal-cost retraining takes one)."
        )
    tried: dict[float, float] = {}

    def cost(width: float) -> float:
        width = round(width, 4)
        if width not in tried:
            tried[width] = network_cost({**space, "width": width}, channels, architecture, kind)
        return tried[width]

    # cost grows about as width² for convolutional networks: a first guess, then bracket and bisect
    start = float(space["width"])
    low = high = max(1.0, start * (goal / cost(start)) ** 0.5)
    for _ in range(20):
        if cost(low) <= goal or low == 1.0:
            break
        low = max(1.0, low / 1.25)
    for _ in range(20):
        if cost(high) >= goal:
            break
        high *= 1.25
    for _ in range(10):
        middle = (low + high) / 2
        if cost(middle) < goal:
            low = middle
        else:
            high = middle
    width = min(tried, key=lambda w: (abs(tried[w] - goal), w))
    found = CostMatch(kind, goal, width, tried[width])
    if abs(found.error) > TOLERANCE:
        raise ClearerError(
            f"retrain.match_cost={target}: no width brings {space['name']} {architecture or ''} within "
            f"±{TOLERANCE:.0%} of {goal:g} {kind}; the closest, width {width:g}, gives {found.reached:,.0f} "
            f"({found.error:+.1%}). Its channels change in whole steps: choose a larger target or a space "
            f"whose cost changes more finely with its width."
        )
    return found
