"""Bilevel search (DARTS-style, as CLEARER): alternate weight and architecture steps.

`order=1` (CLEARER, DARTS first order) takes the α gradient at the current weights. `order=2` is
DARTS' unrolled approximation: the α gradient of L_val(w − ξ∇_w L_train(w, α), α), with ξ the current
weight learning rate (a plain gradient step: no momentum or weight decay in the virtual step) and the
Hessian-vector product by central finite differences. It costs about three times an order-1 α step.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from ..nn.mode import train_mode
from ..registry import STRATEGIES
from ..train.trainer import Batch, OptimConfig, restore_forward
from .base import AlphaConfig, Alternating, grads_of


@STRATEGIES.register("bilevel")
class Bilevel(Alternating):
    """Weights on the train split with L_restore; α on a disjoint split with the full loss, after warm-up."""

    def __init__(
        self,
        *,
        warmup_epochs: int = 10,
        bn_mode: Literal["train", "eval"] = "train",
        order: Literal[1, 2] = 1,
        weights: OptimConfig = OptimConfig(),
        alpha: AlphaConfig = AlphaConfig(),
    ) -> None:
        super().__init__(warmup_epochs, bn_mode, weights, alpha)
        if order not in (1, 2):
            raise ValueError(f"bilevel order must be 1 or 2, got {order!r}")
        self.order = order

    fd_radius: float = 0.01  # ‖w⁺ − w‖ of the finite-difference Hessian-vector product (as DARTS)

    def step(self, train_batch: Batch, alpha_batch: Batch, epoch: int) -> dict[str, float | Tensor]:
        logs: dict[str, float | Tensor] = {}
        if epoch >= self.warmup_epochs:
            logs.update(
                self.arch_step(alpha_batch) if self.order == 1 else self.unrolled_arch_step(train_batch, alpha_batch)
            )
        probs = self.probabilities()
        logs["loss"] = self.weight_step(train_batch, {k: v.detach() for k, v in probs.items()})
        return logs

    def arch_step(self, alpha_batch: Batch) -> dict[str, Tensor]:
        """One first-order step on α with L_restore + Σ λ·L_arch on the α split's batch."""
        probs = self.probabilities()
        return self.arch_update(alpha_batch, probs, None, probs)

    def unrolled_arch_step(self, train_batch: Batch, alpha_batch: Batch) -> dict[str, Tensor]:
        """One second-order (unrolled) step on α."""
        with train_mode(self.space, self.bn_mode == "train"):
            grads, logs = self.hypergradient(train_batch, alpha_batch)
        self.ctx.grad_sync(grads)
        penalty, _ = self.arch_penalty(self.probabilities())
        alphas = list(self.alpha.parameters())
        extra = grads_of(penalty, alphas) if penalty.requires_grad else [torch.zeros_like(a) for a in alphas]
        self.apply_alpha_grads(grads, [g - e for g, e in zip(grads, extra)])
        return logs

    def hypergradient(self, train_batch: Batch, alpha_batch: Batch) -> tuple[list[Tensor], dict[str, Tensor]]:
        """∇_α L_val(w', α) − ξ·[∇_α L_train(w⁺, α) − ∇_α L_train(w⁻, α)] / 2ε, with w' = w − ξ∇_w L_train,
        w± = w ± ε·∇_w' L_val(w', α); weights are restored afterwards. Calls the space itself (not a DDP
        wrapper): α gradients are averaged by the engine's grad_sync, weight gradients stay per rank."""
        params = [p for p in self.space.parameters() if p.requires_grad]
        alphas = list(self.alpha.parameters())
        xi = self.trainer.lr()

        def train_loss() -> Tensor:
            self.space.set_weights(self.probabilities())
            return restore_forward(self.space, train_batch, self.ctx.restore_loss, self.ctx.autocast)

        backup = [p.detach().clone() for p in params]
        try:
            g_train = grads_of(train_loss(), params)
            with torch.no_grad():
                for p, g in zip(params, g_train):
                    p.sub_(xi * g)
            probs = self.probabilities()
            self.space.set_weights(probs)
            restore = restore_forward(self.space, alpha_batch, self.ctx.restore_loss, self.ctx.autocast)
            penalty, parts = self.arch_penalty(probs)
            g_val = grads_of(restore + penalty, alphas + params)
            d_alpha, d_w = g_val[: len(alphas)], g_val[len(alphas) :]
            eps = self.fd_radius / (torch.sqrt(sum((g.float() ** 2).sum() for g in d_w)) + 1e-12)
            with torch.no_grad():
                for p, b, v in zip(params, backup, d_w):
                    p.copy_(b + eps * v)
            g_plus = grads_of(train_loss(), alphas)
            with torch.no_grad():
                for p, b, v in zip(params, backup, d_w):
                    p.copy_(b - eps * v)
            g_minus = grads_of(train_loss(), alphas)
        finally:
            with torch.no_grad():
                for p, b in zip(params, backup):
                    p.copy_(b)
        hyper = [d - xi * (gp - gm) / (2 * eps) for d, gp, gm in zip(d_alpha, g_plus, g_minus)]
        return hyper, {"arch_loss": restore.detach(), **parts}
