"""Loss values and candidate costs on small inputs whose results are worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from clearer.losses import binary_entropy, expected_cost, l1, mse
from clearer.registry import LOSSES
from clearer.spaces.clearer_space import ClearerSpace
from clearer.spaces.cost import candidate_costs, flops_per_pixel, module_flops

pytestmark = pytest.mark.usefixtures("one_thread")


def test_restoration_losses():
    out, target = torch.tensor([0.0, 0.5, 2.0]), torch.tensor([1.0, 1.0, 1.0])
    assert float(mse()(out, target)) == pytest.approx((1 + 0.25 + 1) / 3)
    assert float(l1()(out, target)) == pytest.approx((1 + 0.5 + 1) / 3)
    assert LOSSES.get("mse") is mse and LOSSES.get("l1") is l1


def entropy(a: float) -> float:
    return -a * math.log(a) - (1 - a) * math.log(1 - a)


def test_binary_entropy_is_the_mean_over_every_alpha():
    probs = {"a": torch.tensor([0.5, 0.5]), "b": torch.tensor([0.25, 0.75])}
    assert float(binary_entropy(probs, {})) == pytest.approx((2 * math.log(2) + 2 * entropy(0.25)) / 4)
    assert float(binary_entropy({"a": torch.tensor([0.5, 0.5])}, {})) == pytest.approx(math.log(2))
    decided = float(binary_entropy({"a": torch.tensor([1.0, 0.0])}, {}))  # clamped to [1e-6, 1 - 1e-6]: finite
    assert 0 < decided == pytest.approx(entropy(1e-6), rel=0.01)  # (1 - 1e-6 is rounded in float32)


def test_expected_cost_is_the_mean_over_choice_points_of_the_weighted_costs():
    probs = {"a": torch.tensor([0.25, 0.75]), "b": torch.tensor([1.0, 0.0])}
    costs = {"a": torch.tensor([1.0, 0.5]), "b": torch.tensor([0.2, 1.0])}
    assert float(expected_cost(probs, costs)) == pytest.approx(((0.25 + 0.375) + 0.2) / 2)


# one cell, one column over branches of width w = 4 at 64x64 and 2w = 8 at 32x32 (a 64x64 input)
SPACE = dict(channels=1, width=4, cells=1, columns=1, stem_blocks=1)


def test_parameter_costs_counted_from_the_candidates():
    """parallel: a residual block per branch, two 3x3 convs (no bias) + BatchNorm each: 2(9w² + 2w) on
    branch w, 2(9(2w)² + 4w) on branch 2w; fusion: a 1x1 conv + BN up (2w·w + 2w) and a stride-2 3x3
    conv + BN down (9·w·2w + 4w)."""
    w = 4
    parallel = 2 * (9 * w * w + 2 * w) + 2 * (9 * 4 * w * w + 4 * w)
    fusion = (2 * w * w + 2 * w) + (18 * w * w + 4 * w)
    assert (parallel, fusion) == (1488, 344)
    costs = candidate_costs(ClearerSpace(**SPACE), "params", 1)
    assert list(costs) == ["cell1/col0"]
    assert costs["cell1/col0"].tolist() == pytest.approx([1.0, fusion / parallel])


def test_flop_costs_counted_from_the_candidates():
    """2 FLOPs per multiply-add of every convolution: parallel 4 3x3 convs (two on 64² px at 4->4, two on
    32² px at 8->8); fusion a 1x1 conv 8->4 and a stride-2 3x3 conv 4->8, both to 32² px."""
    parallel = 2 * (2 * 9 * 4 * 4 * 64 * 64 + 2 * 9 * 8 * 8 * 32 * 32)
    fusion = 2 * (8 * 4 * 32 * 32 + 9 * 4 * 8 * 32 * 32)
    assert fusion / parallel == pytest.approx(5 / 36)
    costs = candidate_costs(ClearerSpace(**SPACE), "flops", 1, size=64)
    assert costs["cell1/col0"].tolist() == pytest.approx([1.0, 5 / 36])
    with pytest.raises(ValueError, match="params' or 'flops'"):
        candidate_costs(ClearerSpace(**SPACE), "seconds", 1)


class MatmulUp(nn.Module):
    """A user module with a matmul and a transposed convolution, which layer hooks used to miss."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.up = nn.ConvTranspose2d(8, 8, 2, stride=2)
        self.mix = nn.Parameter(torch.randn(8, 8))
        self.out = nn.Conv2d(8, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(self.conv(x)[..., ::2, ::2])
        return self.out(torch.einsum("bchw,cd->bdhw", y, self.mix))


def test_flops_count_matmul_and_transposed_conv(one_thread):
    net = MatmulUp()
    # per output pixel, x2 for multiply-add: 3x3 conv 1->8: 144; 2x2 stride-2 transposed conv 8->8 on a
    # quarter of the pixels: 2*8*8*4/4 = 128; 8x8 matmul: 128; 1x1 conv 8->1: 16
    assert flops_per_pixel(net, 1, size=32) == 144 + 128 + 128 + 16
    per_module = module_flops(net, torch.zeros(2, 1, 32, 32))
    assert per_module[net.up] == 128 * 32 * 32 and per_module[net.conv] == 144 * 32 * 32
