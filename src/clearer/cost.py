"""Measure each candidate's cost (parameters or FLOPs) from the modules themselves, never by hand."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .spaces.choice import Supernet, uniform_weights


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _conv_flops(module: nn.Module, out: Tensor) -> int:
    """Multiply-adds x2 of a conv/linear layer for its output (per sample)."""
    if isinstance(module, nn.Conv2d):
        per_out = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        return 2 * per_out * out[0].numel()
    if isinstance(module, nn.Linear):
        return 2 * module.in_features * out[0].numel()
    return 0


@torch.no_grad()
def module_flops(model: nn.Module, x: Tensor) -> dict[nn.Module, int]:
    """FLOPs per sample of every submodule for input `x` (a forward pass with hooks)."""
    totals: dict[nn.Module, int] = {}
    hooks = []
    leaves = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for leaf in leaves:
        hooks.append(leaf.register_forward_hook(lambda m, i, o: totals.__setitem__(m, totals.get(m, 0) + _conv_flops(m, o))))
    was_training = model.training
    model.eval()
    try:
        model(x)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    out: dict[nn.Module, int] = {}
    for parent in model.modules():
        out[parent] = sum(totals.get(m, 0) for m in parent.modules())
    return out


def candidate_costs(space: Supernet, kind: str, channels: int, size: int = 64) -> dict[str, Tensor]:
    """label -> cost of each candidate, normalised by the largest candidate cost in the space."""
    if kind == "params":
        raw = {c.label: [float(count_params(c.ops[n])) for n in c.candidates] for c in space.choices()}
    elif kind == "flops":
        if any(c.weights is None for c in space.choices()):
            space.set_weights(uniform_weights(space))
        device = next(space.parameters()).device
        flops = module_flops(space, torch.zeros(1, channels, size, size, device=device))
        raw = {c.label: [float(flops[c.ops[n]]) for n in c.candidates] for c in space.choices()}
    else:
        raise ValueError(f"cost kind must be 'params' or 'flops', got {kind!r}")
    top = max((v for costs in raw.values() for v in costs), default=1.0) or 1.0
    return {label: torch.tensor(costs) / top for label, costs in raw.items()}


def flops_per_pixel(model: nn.Module, channels: int, size: int = 64) -> float:
    """FLOPs per output pixel of a (fixed) network, measured on a size x size input."""
    device = next(model.parameters()).device
    return module_flops(model, torch.zeros(1, channels, size, size, device=device))[model] / size**2
