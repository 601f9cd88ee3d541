"""GDAS-style search (Dong & Yang, CVPR 2019): sample one candidate per choice point each step.

A Gumbel-softmax sample with a straight-through hard one-hot picks a single candidate per choice
point, and only that candidate is computed (`active=[index]`), so a step costs about as much as one
sub-network instead of the whole supernet. α still gets a gradient through the soft relaxation.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from ..registry import STRATEGIES
from ..train.trainer import Batch, OptimConfig
from .base import AlphaConfig, Alternating, label_key


@STRATEGIES.register("gumbel")
class Gumbel(Alternating):
    """Samples one candidate per choice point (Gumbel-softmax, hard, annealed τ): cheap steps, GDAS-style."""

    def __init__(
        self,
        *,
        tau_max: float = 10.0,
        tau_min: float = 0.1,
        warmup_epochs: int = 10,
        bn_mode: Literal["train", "eval"] = "train",
        weights: OptimConfig = OptimConfig(),
        alpha: AlphaConfig = AlphaConfig(),
    ) -> None:
        super().__init__(warmup_epochs, bn_mode, weights, alpha)
        if not 0 < tau_min <= tau_max:
            raise ValueError(f"gumbel needs 0 < tau_min <= tau_max, got {tau_min} and {tau_max}")
        self.tau_max, self.tau_min = tau_max, tau_min

    def tau(self) -> float:
        """Temperature, linear from tau_max to tau_min over the whole search."""
        t = min(self.trainer.steps_done / max(self.ctx.total_steps - 1, 1), 1.0)
        return self.tau_max + (self.tau_min - self.tau_max) * t

    def sample(self) -> tuple[dict[str, Tensor], dict[str, list[int]]]:
        """Straight-through one-hot weights (forward value 1 on the sampled candidate) and its index."""
        tau = self.tau()
        weights, active = {}, {}
        for c in self.space.choices():
            hard = F.gumbel_softmax(self.alpha[label_key(c.label)], tau=tau, hard=True)
            weights[c.label] = hard
            active[c.label] = [int(hard.detach().argmax())]
        return weights, active

    def step(self, train_batch: Batch, alpha_batch: Batch, epoch: int) -> dict[str, float | Tensor]:
        logs: dict[str, float | Tensor] = {"tau": self.tau()}
        if epoch >= self.warmup_epochs:
            mixing, active = self.sample()
            logs.update(self.arch_update(alpha_batch, mixing, active, self.probabilities()))
        with torch.no_grad():
            mixing, active = self.sample()
        logs["loss"] = self.weight_step(train_batch, mixing, active)
        return logs
