"""First-order bilevel search (DARTS-style, as CLEARER): alternate weight and architecture steps."""
from __future__ import annotations

from typing import Literal

from ..registry import STRATEGIES
from .base import Alternating, Batch


@STRATEGIES.register("bilevel")
class Bilevel(Alternating):
    """Weights on the train split with L_restore; α on a disjoint split with the full loss, after warm-up."""

    def __init__(self, warmup_epochs: int = 10, bn_mode: Literal["train", "eval"] = "train",
                 w_lr: float = 0.025, w_min_lr: float = 1e-3, w_momentum: float = 0.9,
                 w_weight_decay: float = 3e-4, w_optimizer: Literal["sgd", "adam"] = "sgd",
                 grad_clip: float = 5.0, a_lr: float = 3e-4, a_betas: list[float] = (0.5, 0.999),
                 a_weight_decay: float = 1e-3) -> None:
        super().__init__(warmup_epochs, bn_mode, w_lr, w_min_lr, w_momentum, w_weight_decay,
                         w_optimizer, grad_clip, a_lr, a_betas, a_weight_decay)

    def step(self, train: Batch, arch: Batch, epoch: int) -> dict[str, float]:
        logs: dict[str, float] = {}
        if epoch >= self.warmup_epochs:
            logs.update(self.arch_step(arch))
        probs = self.probabilities()
        logs["loss"] = self.weight_step(train, {k: v.detach() for k, v in probs.items()})
        return logs

    def arch_step(self, arch: Batch) -> dict[str, float]:
        """One first-order step on α with L_restore + Σ λ·L_arch on the architecture split."""
        probs = self.probabilities()
        return self.arch_update(arch, probs, None, probs)
