"""First-order bilevel search (DARTS-style, as CLEARER): alternate weight and architecture steps."""
from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import nn

from ..registry import STRATEGIES
from .base import Batch, SearchContext, Strategy, restore_forward


@STRATEGIES.register("bilevel")
class Bilevel(Strategy):
    """Weights on the train split with L_restore; α on a disjoint split with the full loss, after warm-up."""

    def __init__(self, warmup_epochs: int = 10, bn_mode: Literal["train", "eval"] = "train",
                 w_lr: float = 0.025, w_min_lr: float = 1e-3, w_momentum: float = 0.9,
                 w_weight_decay: float = 3e-4, w_optimizer: Literal["sgd", "adam"] = "sgd",
                 grad_clip: float = 5.0, a_lr: float = 3e-4, a_betas: list[float] = (0.5, 0.999),
                 a_weight_decay: float = 1e-3) -> None:
        self.warmup_epochs, self.bn_mode = warmup_epochs, bn_mode
        self.w_lr, self.w_min_lr, self.w_momentum = w_lr, w_min_lr, w_momentum
        self.w_weight_decay, self.w_optimizer, self.grad_clip = w_weight_decay, w_optimizer, grad_clip
        self.a_lr, self.a_betas, self.a_weight_decay = a_lr, tuple(a_betas), a_weight_decay
        self.steps_done = 0

    def prepare(self, space: nn.Module, network: nn.Module, ctx: SearchContext) -> None:
        super().prepare(space, network, ctx)
        params = list(space.parameters())
        if self.w_optimizer == "sgd":
            self.w_opt = torch.optim.SGD(params, self.w_lr, momentum=self.w_momentum,
                                         weight_decay=self.w_weight_decay)
        else:
            self.w_opt = torch.optim.Adam(params, self.w_lr, weight_decay=self.w_weight_decay)
        self.a_opt = torch.optim.Adam(self.alpha.parameters(), self.a_lr, betas=self.a_betas,
                                      weight_decay=self.a_weight_decay)

    def _lr(self) -> float:
        """Cosine decay of the weight learning rate from w_lr to w_min_lr over the whole search."""
        t = min(self.steps_done / max(self.ctx.total_steps, 1), 1.0)
        return self.w_min_lr + (self.w_lr - self.w_min_lr) * 0.5 * (1 + math.cos(math.pi * t))

    def step(self, train: Batch, arch: Batch, epoch: int) -> dict[str, float]:
        logs: dict[str, float] = {}
        if epoch >= self.warmup_epochs:
            logs.update(self.arch_step(arch))
        probs = self.probabilities()
        self.space.set_weights({k: v.detach() for k, v in probs.items()})
        for group in self.w_opt.param_groups:
            group["lr"] = self._lr()
        loss = restore_forward(self.network, train, self.ctx.restore_loss, self.ctx.autocast)
        self.w_opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.space.parameters(), self.grad_clip)
        self.w_opt.step()
        self.steps_done += 1
        logs["loss"] = loss.item()
        return logs

    def arch_step(self, arch: Batch) -> dict[str, float]:
        """One first-order step on α with L_restore + Σ λ·L_arch on the architecture split."""
        was_training = self.space.training
        self.space.train(self.bn_mode == "train")
        probs = self.probabilities()
        self.space.set_weights(probs)
        restore = restore_forward(self.network, arch, self.ctx.restore_loss, self.ctx.autocast)
        penalty, parts = self.arch_penalty(probs)
        self.a_opt.zero_grad(set_to_none=True)
        self.space.zero_grad(set_to_none=True)
        (restore + penalty).backward()
        self.ctx.grad_sync([p.grad for p in self.alpha.parameters() if p.grad is not None])
        self.a_opt.step()
        self.space.train(was_training)
        return {"arch_loss": restore.item(), **parts}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "w_opt": self.w_opt.state_dict(),
                "a_opt": self.a_opt.state_dict(), "steps_done": self.steps_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.w_opt.load_state_dict(state["w_opt"])
        self.a_opt.load_state_dict(state["a_opt"])
        self.steps_done = state["steps_done"]
