"""The one weight trainer: the search's weight steps and retraining both step weights through it.

Why one: the optimiser choice, the cosine schedule, gradient clipping, bf16 autocast and the resumable
state were written twice (search and retrain) and could drift apart; here they cannot.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor, nn

from .device import adam, sgd

Batch = tuple[Tensor, Tensor]  # (degraded input, clean target)
Loss = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class OptimConfig:
    """How weights are optimised; a recipe writes it as a dict, e.g. `weights=dict(lr=0.025, ...)`.

    The defaults are the CLEARER search's (paper code): SGD lr 0.025, momentum 0.9, weight decay 3e-4,
    cosine to 1e-3, gradients clipped to norm 5. `momentum` applies to SGD only. The field metadata
    are the ranges the recipe checks (as the recipe schema's numbers).
    """

    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float = field(default=0.025, metadata={"above": 0})
    min_lr: float = field(default=1e-3, metadata={"low": 0})
    momentum: float = field(default=0.9, metadata={"low": 0})
    weight_decay: float = field(default=3e-4, metadata={"low": 0})
    grad_clip: float = field(default=5.0, metadata={"above": 0})

    def describe(self) -> str:
        return f"{'SGD' if self.optimizer == 'sgd' else 'Adam'} lr {self.lr:g} cosine to {self.min_lr:g}"


def cosine(step: int, total: int, lr: float, min_lr: float) -> float:
    """Cosine decay from `lr` at step 0 to `min_lr` at step `total` (and after)."""
    t = min(step / max(total, 1), 1.0)
    return min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * t))


def restore_forward(network: nn.Module, batch: Batch, loss: Loss, autocast: bool) -> Tensor:
    """Loss of the network's output on a (degraded, clean) batch, optionally under bf16 autocast."""
    degraded, clean = batch
    with torch.autocast(degraded.device.type, dtype=torch.bfloat16, enabled=autocast):
        out = network(degraded)
    return loss(out.float(), clean)


class Trainer:
    """Clipped optimiser steps of `params` on `loss(network(input), target)`, the learning rate following
    a cosine from `config.lr` to `config.min_lr` over `total_steps`.

    `network` is what a step calls (a module, or its DDP wrapper); `params` are the weights it trains.
    """

    def __init__(
        self,
        network: nn.Module,
        params: Iterable[Tensor],
        config: OptimConfig,
        total_steps: int,
        loss: Loss,
        autocast: bool = False,
    ) -> None:
        self.network, self.params = network, list(params)
        self.config, self.total_steps, self.loss, self.autocast = config, total_steps, loss, autocast
        if config.optimizer == "sgd":
            self.optimizer: torch.optim.Optimizer = sgd(
                self.params, config.lr, momentum=config.momentum, weight_decay=config.weight_decay
            )
        else:
            self.optimizer = adam(self.params, config.lr, weight_decay=config.weight_decay)
        self.steps_done = 0

    def lr(self) -> float:
        """The learning rate of the next step."""
        return cosine(self.steps_done, self.total_steps, self.config.lr, self.config.min_lr)

    def step(self, batch: Batch) -> Tensor:
        """One clipped optimiser step; the loss comes back as a device tensor (no host sync)."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr()
        loss = restore_forward(self.network, batch, self.loss, self.autocast)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.params, self.config.grad_clip)
        self.optimizer.step()
        self.steps_done += 1
        return loss.detach()

    def last_lr(self) -> float:
        """The learning rate the last step used (what a per-epoch log reports)."""
        return self.optimizer.param_groups[0]["lr"]

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "steps_done": self.steps_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.steps_done = state["steps_done"]
