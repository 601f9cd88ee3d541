"""What a part must look like to plug into clearer: one `typing.Protocol` per registry of parts.

Why written down: a part is found by name and called by code that never imports it (a recipe's own
module, a new strategy), so its shape is the only agreement between the two. Protocols are structural:
a class fits by having these methods, without inheriting from anything here. `SearchContext` is the one
value the engine hands a strategy, so it lives here too rather than with either side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from torch import Generator, Tensor

if TYPE_CHECKING:
    from torch import nn

    from .spaces.choice import Supernet


class Candidate(Protocol):
    """A multi-scale module of the `clearer` space: one tensor per branch in, the same shapes out, so
    a column can mix candidates and chain columns."""

    def __call__(self, xs: list[Tensor], /) -> list[Tensor]: ...


class CandidateFactory(Protocol):
    """What CANDIDATES holds: built from the branch widths (C, 2C, 4C, ...; branch k at 1/2^k size)."""

    def __call__(self, widths: list[int]) -> Candidate: ...


class Op(Protocol):
    """A DARTS op: [B, C, H, W] to the same shape, so any op fits any edge of a cell."""

    def __call__(self, x: Tensor, /) -> Tensor: ...


class OpFactory(Protocol):
    """What OPS holds: built from the cell's width (channels)."""

    def __call__(self, width: int) -> Op: ...


class Degradation(Protocol):
    """Turns clean [B, C, H, W] images in [0, 1] into inputs; seeded by `generator` for reproducible
    noise, and named by `describe` in logs and metric records.

    One whose inputs have a direction that a quarter turn breaks (rain falls down) says so with a true
    `upright` attribute: a network trained on it never saw sideways inputs, so self-ensembles leave the
    quarter turns out (`engine.build.upright`)."""

    def __call__(self, clean: Tensor, generator: Generator | None = None) -> Tensor: ...

    def describe(self) -> str: ...


@runtime_checkable
class DrawsTarget(Protocol):
    """A degradation that also changes the clean picture it degrades (draws structure into it first):
    training pairs come from `pair`, (input, target), not from (degradation(clean), clean)."""

    def pair(self, clean: Tensor, generator: Generator | None = None, /) -> tuple[Tensor, Tensor]: ...


class ImageSource(Protocol):
    """A data set: named, sized, read only on `load` (clean [C, H, W] images, or (input, target) pairs
    for paired sets)."""

    name: str

    def __len__(self) -> int: ...

    def load(self, channels: int) -> list[Any]: ...


@dataclass
class SearchContext:
    """What a strategy needs from the engine: the losses, the step budget and a few switches."""

    restore_loss: Callable[[Tensor, Tensor], Tensor]
    arch_losses: dict[str, tuple[float, Callable[..., Tensor]]]  # name -> (λ, regulariser)
    costs: dict[str, Tensor]
    total_steps: int
    steps_per_epoch: int
    autocast: bool = False
    grad_sync: Callable[[list[Tensor]], None] = lambda grads: None  # averages α grads across ranks


class Strategy(Protocol):
    """How architecture parameters are learned or sampled over a supernet's choice points: the engine
    calls `prepare` once, `step` per batch pair (weights batch, α batch), then `derive`; it logs
    `describe()` and `alpha_signal()` where a strategy has them."""

    searches: bool  # False: nothing to learn, the engine skips the search loop

    def prepare(self, space: Supernet, network: nn.Module, ctx: SearchContext, /) -> None: ...

    def step(
        self, train: tuple[Tensor, Tensor], alpha: tuple[Tensor, Tensor], epoch: int, /
    ) -> dict[str, float | Tensor]: ...

    def probabilities(self) -> dict[str, Tensor]: ...

    def probability_lists(self) -> dict[str, list[float]]: ...

    def derive(self) -> dict[str, str]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any], /) -> None: ...
