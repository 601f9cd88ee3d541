"""What every search strategy shares: α logits per choice point, probabilities, state, derivation."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor, nn

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

    def prepare(self, space: Supernet, network: nn.Module, ctx: SearchContext) -> None:
        """`space` is the supernet; `network` is what to call (the space itself, or its DDP wrapper)."""
        self.space, self.network, self.ctx = space, network, ctx
        device = next(space.parameters()).device
        self.alpha = nn.ParameterDict({
            label_key(c.label): nn.Parameter(torch.zeros(len(c.candidates), device=device))
            for c in space.choices()})

    def step(self, train: Batch, arch: Batch, epoch: int) -> dict[str, float]:
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
            parts[name] = value.item()
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
