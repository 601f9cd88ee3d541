"""What every search strategy shares: α logits per choice point, probabilities, state, derivation.

Also the pieces several strategies reuse, kept here so they are written once: `WeightSharing` (the
optimiser, cosine schedule and clipped step for the supernet's shared weights) and `Alternating`
(adds the α optimiser, warm-up and BatchNorm mode of an architecture step on the other split).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Literal

import torch
from torch import Tensor, nn

from ..engine.device import adam, sgd
from ..spaces.choice import Supernet

Batch = tuple[Tensor, Tensor]  # (degraded input, clean target)


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


class Strategy:
    """Learns or samples architecture parameters over a supernet's choice points."""

    searches: bool = True  # False: nothing to learn, the engine skips the search loop

    def prepare(self, space: Supernet, network: nn.Module, ctx: SearchContext) -> None:
        """`space` is the supernet; `network` is what to call (the space itself, or its DDP wrapper)."""
        self.space, self.network, self.ctx = space, network, ctx
        device = next(space.parameters()).device
        self.alpha = nn.ParameterDict({
            label_key(c.label): nn.Parameter(torch.zeros(len(c.candidates), device=device))
            for c in space.choices()})

    def step(self, train: Batch, arch: Batch, epoch: int) -> dict[str, float | Tensor]:
        """One search step; returns its losses as floats or 0-d tensors (tensors spare a GPU a host sync)."""
        raise NotImplementedError

    def probabilities(self) -> dict[str, Tensor]:
        return {c.label: torch.softmax(self.alpha[label_key(c.label)], 0) for c in self.space.choices()}

    def derive(self) -> dict[str, str]:
        return self.space.derive(self.probability_lists())

    def probability_lists(self) -> dict[str, list[float]]:
        return {k: [round(float(p), 6) for p in v.detach().cpu()] for k, v in self.probabilities().items()}

    def arch_penalty(self, probs: dict[str, Tensor]) -> tuple[Tensor, dict[str, float]]:
        """Σ λ·regulariser(α): the architecture terms of the loss, with each term for logging."""
        total, parts = torch.zeros((), device=next(iter(probs.values())).device), {}
        for name, (weight, fn) in self.ctx.arch_losses.items():
            value = fn(probs, self.ctx.costs)
            parts[name] = value.detach()  # a tensor: no host sync per step (the loop reads it per epoch)
            total = total + weight * value
        return total, parts

    def state_dict(self) -> dict[str, Any]:
        return {"alpha": {k: v.detach().clone() for k, v in self.alpha.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            for k, v in state["alpha"].items():
                self.alpha[k].copy_(v)


def label_key(label: str) -> str:
    """ParameterDict keys cannot hold '/' or '.'."""
    return label.replace("/", "__").replace(".", "_")


def restore_forward(network: nn.Module, batch: Batch, loss: Callable[[Tensor, Tensor], Tensor],
                    autocast: bool) -> Tensor:
    """Loss of the network's output on a (degraded, clean) batch, optionally under bf16 autocast."""
    degraded, clean = batch
    device_type = degraded.device.type
    with torch.autocast(device_type, dtype=torch.bfloat16, enabled=autocast):
        out = network(degraded)
    return loss(out.float(), clean)


def architecture_weights(space: Supernet, architecture: dict[str, str], device: torch.device | str
                         ) -> tuple[dict[str, Tensor], dict[str, list[int]]]:
    """One-hot weights and `active` indices that make a supernet compute only `architecture`."""
    weights, active = {}, {}
    for c in space.choices():
        i = c.candidates.index(architecture[c.label])
        weights[c.label] = torch.nn.functional.one_hot(torch.tensor(i), len(c.candidates)).float().to(device)
        active[c.label] = [i]
    return weights, active


class WeightSharing(Strategy):
    """Base of strategies that train the supernet's shared weights (SGD/Adam, cosine LR, clipping)."""

    def __init__(self, w_lr: float, w_min_lr: float, w_momentum: float, w_weight_decay: float,
                 w_optimizer: Literal["sgd", "adam"], grad_clip: float) -> None:
        self.w_lr, self.w_min_lr, self.w_momentum = w_lr, w_min_lr, w_momentum
        self.w_weight_decay, self.w_optimizer, self.grad_clip = w_weight_decay, w_optimizer, grad_clip
        self.steps_done = 0

    def prepare(self, space: Supernet, network: nn.Module, ctx: SearchContext) -> None:
        super().prepare(space, network, ctx)
        params = list(space.parameters())
        if self.w_optimizer == "sgd":
            self.w_opt: torch.optim.Optimizer = sgd(
                params, self.w_lr, momentum=self.w_momentum, weight_decay=self.w_weight_decay)
        else:
            self.w_opt = adam(params, self.w_lr, weight_decay=self.w_weight_decay)

    def _lr(self) -> float:
        """Cosine decay of the weight learning rate from w_lr to w_min_lr over the whole search."""
        t = min(self.steps_done / max(self.ctx.total_steps, 1), 1.0)
        return self.w_min_lr + (self.w_lr - self.w_min_lr) * 0.5 * (1 + math.cos(math.pi * t))

    def weight_step(self, train: Batch, weights: dict[str, Tensor],
                    active: dict[str, list[int]] | None = None) -> Tensor:
        """One clipped optimiser step of the shared weights on L_restore with fixed mixing weights."""
        self.space.set_weights(weights, active)
        for group in self.w_opt.param_groups:
            group["lr"] = self._lr()
        loss = restore_forward(self.network, train, self.ctx.restore_loss, self.ctx.autocast)
        self.w_opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.space.parameters(), self.grad_clip)
        self.w_opt.step()
        self.steps_done += 1
        return loss.detach()

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "w_opt": self.w_opt.state_dict(), "steps_done": self.steps_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.w_opt.load_state_dict(state["w_opt"])
        self.steps_done = state["steps_done"]


class Alternating(WeightSharing):
    """Base of strategies alternating an α step (architecture split, Adam) with a weight step."""

    def __init__(self, warmup_epochs: int, bn_mode: Literal["train", "eval"], w_lr: float,
                 w_min_lr: float, w_momentum: float, w_weight_decay: float,
                 w_optimizer: Literal["sgd", "adam"], grad_clip: float, a_lr: float,
                 a_betas: list[float], a_weight_decay: float) -> None:
        super().__init__(w_lr, w_min_lr, w_momentum, w_weight_decay, w_optimizer, grad_clip)
        self.warmup_epochs, self.bn_mode = warmup_epochs, bn_mode
        self.a_lr, self.a_betas, self.a_weight_decay = a_lr, tuple(a_betas), a_weight_decay

    def prepare(self, space: Supernet, network: nn.Module, ctx: SearchContext) -> None:
        super().prepare(space, network, ctx)
        self.a_opt = adam(self.alpha.parameters(), self.a_lr, betas=self.a_betas,
                          weight_decay=self.a_weight_decay)

    def arch_update(self, arch: Batch, weights: dict[str, Tensor], active: dict[str, list[int]] | None,
                    probs: dict[str, Tensor]) -> dict[str, float]:
        """One first-order α step: L_restore(weights) + Σ λ·L_arch(probs) on the architecture split;
        `weights` must depend on α (softmax, or a straight-through sample)."""
        was_training = self.space.training
        self.space.train(self.bn_mode == "train")
        try:
            self.space.set_weights(weights, active)
            # the bare space, not a DDP wrapper: only α gradients are wanted, averaged by grad_sync
            restore = restore_forward(self.space, arch, self.ctx.restore_loss, self.ctx.autocast)
            penalty, parts = self.arch_penalty(probs)
            alphas = list(self.alpha.parameters())
            # α gradients only: skips the weight gradients a first-order architecture step never uses
            grads = torch.autograd.grad(restore + penalty, alphas, allow_unused=True)
            grads = [torch.zeros_like(a) if g is None else g for a, g in zip(alphas, grads)]
            self.ctx.grad_sync(grads)
            for alpha, grad in zip(alphas, grads):
                alpha.grad = grad
            self.a_opt.step()
        finally:
            self.space.train(was_training)
        return {"arch_loss": restore.detach(), **parts}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "a_opt": self.a_opt.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.a_opt.load_state_dict(state["a_opt"])
