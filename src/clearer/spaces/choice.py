"""Choice points: one labelled decision among registered candidates, shared by supernet and final net.

In search mode a choice point holds every candidate and returns Σ_i w_i·candidate_i(x) for the weights
a strategy gives it (all candidates, or only the `active` ones for sampling strategies). Given a fixed
architecture it holds and runs only the chosen candidate. The same space code builds both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import ClearerError


def _scale(y: Any, w: Tensor) -> Any:
    return [w * t for t in y] if isinstance(y, list) else w * y


def _add(a: Any, b: Any) -> Any:
    return [p + q for p, q in zip(a, b)] if isinstance(a, list) else a + b


class Choice(nn.Module):
    """A labelled choice among candidates; `build(name)` makes a candidate module."""

    def __init__(
        self, label: str, candidates: list[str], build: Callable[[str], nn.Module], chosen: str | None = None
    ) -> None:
        super().__init__()
        if not candidates or len(set(candidates)) != len(candidates):
            raise ClearerError(
                f"choice {label!r} needs one or more distinct candidates (a repeated one would count twice in "
                f"the search); got {list(candidates)}. Fix the space's candidate (or op) list."
            )
        if chosen is not None and chosen not in candidates:
            raise ClearerError(f"architecture gives {label!r} = {chosen!r}, but the candidates there are {candidates}.")
        self.label = label
        self.candidates = list(candidates)
        self.chosen = chosen
        names = [chosen] if chosen is not None else self.candidates
        self.ops = nn.ModuleDict({name: build(name) for name in names})
        self.weights: Tensor | None = None  # set by the strategy before each forward in search mode
        self.active: list[int] | None = None

    @property
    def searching(self) -> bool:
        return self.chosen is None

    def forward(self, x: Any) -> Any:
        if not self.searching:
            return self.ops[self.chosen](x)
        if self.weights is None:
            raise RuntimeError(f"choice {self.label!r} has no weights: a strategy must set them")
        indices = range(len(self.candidates)) if self.active is None else self.active
        out = None
        for i in indices:
            y = _scale(self.ops[self.candidates[i]](x), self.weights[i])
            out = y if out is None else _add(out, y)
        return out

    def extra_repr(self) -> str:
        return f"label={self.label!r}, candidates={self.candidates}, chosen={self.chosen!r}"


class Supernet(nn.Module):
    """Base class of spaces: exposes choice points, input size multiple, output scale and how to derive."""

    multiple: int = 1
    scale: int = 1  # output size / input size (super-resolution spaces: 2, 3, 4)

    def choices(self) -> list[Choice]:
        return [m for m in self.modules() if isinstance(m, Choice)]

    def derive(self, probabilities: dict[str, list[float]]) -> dict[str, str]:
        """The architecture a strategy's probabilities point to (argmax per choice point)."""
        out = {}
        for choice in self.choices():
            probs = probabilities[choice.label]
            out[choice.label] = choice.candidates[max(range(len(probs)), key=probs.__getitem__)]
        return out

    def set_weights(self, weights: dict[str, Tensor], active: dict[str, list[int]] | None = None) -> None:
        for choice in self.choices():
            choice.weights = weights[choice.label]
            choice.active = None if active is None else active[choice.label]


def check_architecture(architecture: dict[str, str] | None, labels: list[str]) -> None:
    """A fixed architecture must name exactly the space's choice points."""
    if architecture is None:
        return
    missing = [l for l in labels if l not in architecture]
    extra = [l for l in architecture if l not in labels]
    if missing or extra:
        raise ClearerError(
            f"architecture does not fit the space: missing {missing or 'nothing'}, unknown "
            f"{extra or 'nothing'}. Derive it from a search over the same space settings."
        )


def uniform_weights(space: Supernet) -> dict[str, Tensor]:
    return {c.label: torch.full((len(c.candidates),), 1.0 / len(c.candidates)) for c in space.choices()}


def architecture_code(architecture: dict[str, str], candidates: dict[str, list[str]]) -> str:
    """'PFFP': one letter per choice point (the candidate's initial), or its index when initials clash."""
    parts = []
    for label, names in candidates.items():
        initials = [n[0].upper() for n in names]
        chosen = names.index(architecture[label])
        parts.append(initials[chosen] if len(set(initials)) == len(initials) else str(chosen))
    return "".join(parts)


def enumerate_architectures(
    candidates: dict[str, list[str]], limit: int = 64, seed: int = 0
) -> dict[str, dict[str, str]]:
    """Every architecture over `candidates` (label -> names) when there are at most `limit`, else a
    seeded sample of `limit` distinct ones; code -> architecture, e.g. 'PFFP' -> {...}."""
    import itertools
    import math
    import random

    labels = list(candidates)
    if math.prod(len(names) for names in candidates.values()) <= limit:
        combos = list(itertools.product(*candidates.values()))
    else:
        rng, seen = random.Random(seed), set()
        while len(seen) < limit:
            seen.add(tuple(rng.choice(names) for names in candidates.values()))
        combos = sorted(seen)
    archs = [dict(zip(labels, combo)) for combo in combos]
    return {architecture_code(a, candidates): a for a in archs}
