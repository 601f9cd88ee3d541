"""Measure each candidate's cost (parameters or FLOPs) from the modules themselves, never by hand."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..nn.mode import train_mode
from .choice import Supernet, uniform_weights


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@torch.no_grad()
def module_flops(model: nn.Module, x: Tensor) -> dict[nn.Module, int]:
    """FLOPs per sample of every submodule for input `x`, as torch counts them.

    Why torch's counter: it sees every matmul, convolution (transposed too), bmm and attention a
    module runs, including functional calls inside a user's own module, where hooks on Conv2d and
    Linear layers missed all but those two layer types. Elementwise ops are not counted (as usual).
    """
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with train_mode(model, False), counter:
        model(x)
    counts = counter.get_flop_counts()
    root = type(model).__name__
    out: dict[nn.Module, int] = {}
    for name, module in model.named_modules():
        if module not in out:
            key = f"{root}.{name}" if name else root
            out[module] = int(sum(counts.get(key, {}).values())) // x.shape[0]
    return out


def candidate_costs(space: Supernet, kind: str, channels: int, size: int = 64) -> dict[str, Tensor]:
    """label -> cost of each candidate, normalised by the largest candidate cost in the space."""
    _, each = _counted(space, kind, channels, size)
    raw = {label: [each[label][n] for n in names] for label, names in _candidates(space).items()}
    top = max((v for costs in raw.values() for v in costs), default=1.0) or 1.0
    return {label: torch.tensor(costs) / top for label, costs in raw.items()}


def _candidates(space: Supernet) -> dict[str, list[str]]:
    return {c.label: c.candidates for c in space.choices()}


def _counted(space: Supernet, kind: str, channels: int, size: int) -> tuple[float, dict[str, dict[str, float]]]:
    """The supernet's whole cost and each candidate's (label -> name -> cost), parameters or FLOPs on one
    size x size input with every candidate running (uniform weights, none inactive)."""
    choices = space.choices()
    if kind == "params":
        return float(count_params(space)), {
            c.label: {n: float(count_params(c.ops[n])) for n in c.candidates} for c in choices
        }
    if kind == "flops":
        space.set_weights(uniform_weights(space))
        device = next(space.parameters()).device
        flops = module_flops(space, torch.zeros(1, channels, size, size, device=device))
        return float(flops[space]), {c.label: {n: float(flops[c.ops[n]]) for n in c.candidates} for c in choices}
    raise ValueError(f"cost kind must be 'params' or 'flops', got {kind!r}")


def flops_per_pixel(model: nn.Module, channels: int, size: int = 64) -> float:
    """FLOPs per output pixel of a (fixed) network, measured on a size x size input (a super-resolution
    network's output has scale² times as many pixels: pre- and post-upsampling networks compare alike)."""
    device = next(model.parameters()).device
    flops = module_flops(model, torch.zeros(1, channels, size, size, device=device))[model]
    return flops / (size * getattr(model, "scale", 1)) ** 2


def architecture_costs(
    space: Supernet, kind: str, channels: int, architectures: dict[str, dict[str, str]]
) -> dict[str, float]:
    """name -> FLOPs per output pixel or parameters of each architecture, from one count over the supernet.

    Why exact: both costs add up over modules, so an architecture costs the supernet's total minus
    every candidate plus its chosen ones, without building each network.
    """
    size = max(8, int(getattr(space, "multiple", 1)))
    total, each = _counted(space, kind, channels, size)
    pixels = (size * getattr(space, "scale", 1)) ** 2 if kind == "flops" else 1  # per output pixel, as flops_per_pixel
    fixed = total - sum(v for costs in each.values() for v in costs.values())
    return {
        name: (fixed + sum(each[label][chosen] for label, chosen in arch.items())) / pixels
        for name, arch in architectures.items()
    }
