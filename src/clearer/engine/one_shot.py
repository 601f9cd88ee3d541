"""One-shot estimates: the supernet's own ranking of its space's architectures, before any retraining.

After a search, every architecture of the space (or a seeded sample) is scored with the supernet's
weights: α fixed one-hot on it, PSNR on the fixed crops the discretisation gap uses. A search can only
pick well if this ranking agrees with stand-alone training; a comparison with a ground truth beside it
measures that agreement (Kendall τ, compare/ranking.py). Each architecture is scored twice: with the
BatchNorm statistics the supernet ran with, and with statistics recalibrated on training batches of
that architecture alone (the usual practice, since the supernet's statistics mix every candidate).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from ..metrics import psnr
from ..nn.mode import train_mode
from ..spaces.choice import Supernet, enumerate_architectures
from ..spaces.cost import architecture_costs
from ..strategies.base import architecture_weights

RECALIBRATION_BATCHES = 8
Batches = list[tuple[Tensor, Tensor]]


@torch.no_grad()
def score(model: nn.Module, batches: Batches) -> float:
    """Mean PSNR (dB) of `model` in eval mode over fixed crops."""
    with train_mode(model, False):
        return float(torch.cat([psnr(model(x).float().clamp(0, 1), y) for x, y in batches]).mean())


@torch.no_grad()
def recalibrate_bn(model: nn.Module, batches: Batches) -> None:
    """Replace every BatchNorm's running statistics by their plain average over `batches` (train-mode
    forwards, no weight changes)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
    with train_mode(model, True):
        for k, (x, _) in enumerate(batches):
            for m in norms:  # 1/(k+1): the plain average of the batches so far, with any BatchNorm
                m.momentum = 1.0 / (k + 1)  # (momentum=None is not understood by every one, e.g. sync_bn)
            model(x)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum


@torch.no_grad()
def one_shot_estimates(
    space: Supernet,
    crops: Batches,
    train_batches: Batches,
    channels: int,
    limit: int,
    log: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Code -> the supernet's PSNR estimates (inherited and recalibrated BatchNorm) and the native
    FLOPs/px and parameters of every architecture of the space (a seeded sample of `limit`)."""
    candidates = {c.label: c.candidates for c in space.choices()}
    archs = enumerate_architectures(candidates, limit, seed=0)
    flops = architecture_costs(space, "flops", channels, archs)
    params = architecture_costs(space, "params", channels, archs)
    device = next(space.parameters()).device
    saved = {k: v.clone() for k, v in space.state_dict().items()}
    out = {}
    for i, (code, arch) in enumerate(archs.items()):
        space.set_weights(*architecture_weights(space, arch, device))
        inherited = score(space, crops)
        recalibrate_bn(space, train_batches)
        recalibrated = score(space, crops)
        space.load_state_dict(saved)
        out[code] = {
            "architecture": arch,
            "inherited_psnr": round(inherited, 6),
            "recalibrated_psnr": round(recalibrated, 6),
            "flops_per_pixel": round(flops[code]),
            "params": round(params[code]),
        }
        if (i + 1) % 16 == 0 or i + 1 == len(archs):
            log(f"search: one-shot estimates {i + 1}/{len(archs)}")
    return {
        "architectures": out,
        "sampled": len(archs) < math.prod(len(names) for names in candidates.values()),
        "recalibration_batches": len(train_batches),
    }
