"""No search: a given architecture, or one candidate everywhere (ablations such as all-fusion)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..contracts import SearchContext
from ..errors import ClearerError
from ..registry import STRATEGIES
from ..spaces.choice import Supernet, check_architecture
from ..train.trainer import Batch, restore_forward
from .base import StrategyBase, architecture_weights


@STRATEGIES.register("fixed")
class Fixed(StrategyBase):
    """No search: the given architecture, `candidate` everywhere, or a random one drawn with `seed`."""

    searches = False

    def __init__(
        self, *, candidate: str | None = None, architecture: dict[str, str] | None = None, seed: int | None = None
    ) -> None:
        if sum(x is not None for x in (candidate, architecture, seed)) != 1:
            raise ClearerError(
                "fixed needs exactly one of `candidate` (e.g. 'fusion'), `architecture` "
                "(label -> candidate) or `seed` (a random architecture)."
            )
        self.candidate, self.given, self.seed = candidate, architecture, seed

    def prepare(self, space: Supernet, network: nn.Module, ctx: SearchContext) -> None:
        super().prepare(space, network, ctx)
        choices = space.choices()
        if self.seed is not None:
            from .random_search import draw_architectures

            self.architecture = draw_architectures(space, 1, self.seed)[0]
        elif self.given is not None:
            check_architecture(self.given, [c.label for c in choices])
            self.architecture = {c.label: self.given[c.label] for c in choices}
        else:
            self.architecture = {c.label: self.candidate for c in choices}
        bad = [
            f"{c.label}={self.architecture[c.label]!r} (candidates {c.candidates})"
            for c in choices
            if self.architecture[c.label] not in c.candidates
        ]
        if bad:
            raise ClearerError(
                f"fixed: not a candidate of its choice point: {'; '.join(bad[:5])}"
                + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
            )
        self.device = next(space.parameters()).device

    def step(self, train_batch: Batch, alpha_batch: Batch, epoch: int) -> dict[str, float | Tensor]:
        """Nothing to learn: reports L_restore of the fixed architecture on the batch."""
        self.space.set_weights(*architecture_weights(self.space, self.architecture, self.device))
        with torch.no_grad():
            loss = restore_forward(self.network, train_batch, self.ctx.restore_loss, self.ctx.autocast)
        return {"loss": loss}

    def probabilities(self) -> dict[str, Tensor]:
        """One-hot of the fixed choice at every choice point."""
        weights, _ = architecture_weights(self.space, self.architecture, "cpu")
        return weights

    def derive(self) -> dict[str, str]:
        return dict(self.architecture)
