"""Registered losses: restoration losses on images and regularisers on architecture probabilities.

Restoration losses take ``(output, target)``. Architecture regularisers take
``(probabilities, costs)``: label -> softmax probabilities, label -> per-candidate normalised costs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .registry import LOSSES


@LOSSES.register("mse")
def mse() -> callable:
    """Mean squared error between output and clean image (the paper's L_restore)."""
    return F.mse_loss


@LOSSES.register("l1")
def l1() -> callable:
    """Mean absolute error between output and clean image."""
    return F.l1_loss


@LOSSES.register("binary_entropy")
def binary_entropy(probabilities: dict[str, Tensor], costs: dict[str, Tensor]) -> Tensor:
    """Mean of −α log α − (1−α) log(1−α) over all α: low when every α is near 0 or 1."""
    alphas = torch.cat(list(probabilities.values())).clamp(1e-6, 1 - 1e-6)
    return -(alphas * alphas.log() + (1 - alphas) * (1 - alphas).log()).mean()


@LOSSES.register("expected_cost")
def expected_cost(probabilities: dict[str, Tensor], costs: dict[str, Tensor]) -> Tensor:
    """Mean over choice points of Σ_i α_i·cost_i, with costs measured from the candidate modules."""
    terms = [(probabilities[label] * costs[label].to(probabilities[label])).sum() for label in probabilities]
    return torch.stack(terms).mean()
