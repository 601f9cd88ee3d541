"""CLEARER's candidate modules over a list of branches; branch k has 1/2^k resolution.

Every module takes and returns a list of tensors, one per branch, so any number of branches and
widths works and a module can be used on its own.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ..registry import CANDIDATES
from .blocks import ResidualBlock, conv_bn, zero_last_bn


class Transition(nn.Module):
    """Adds a branch at half the lowest resolution (stride-2 3x3 conv); adapts widths that change."""

    def __init__(self, widths_in: list[int], widths_out: list[int]) -> None:
        super().__init__()
        if len(widths_out) != len(widths_in) + 1:
            raise ValueError(f"transition adds exactly one branch: {widths_in} -> {widths_out}")
        self.keep = nn.ModuleList(nn.Identity() if a == b else conv_bn(a, b) for a, b in zip(widths_in, widths_out))
        self.new = conv_bn(widths_in[-1], widths_out[-1], stride=2)

    def forward(self, xs: list[Tensor]) -> list[Tensor]:
        return [f(x) for f, x in zip(self.keep, xs)] + [self.new(xs[-1])]


@CANDIDATES.register("parallel")
class Parallel(nn.Module):
    """Each branch refines itself with a residual block; branches do not exchange information."""

    def __init__(self, widths: list[int]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ResidualBlock(w) for w in widths)

    def forward(self, xs: list[Tensor]) -> list[Tensor]:
        return [block(x) for block, x in zip(self.blocks, xs)]


class Upsample(nn.Module):
    """1x1 conv + BN to the target width, then upsampling by 2^levels (bilinear; the released code: nearest)."""

    mode: str = "bilinear"  # an instance attribute set to "nearest" builds the released network

    def __init__(self, c_in: int, c_out: int, levels: int) -> None:
        super().__init__()
        self.proj = conv_bn(c_in, c_out, kernel=1, relu=False)
        self.scale = 2**levels

    def forward(self, x: Tensor) -> Tensor:
        corners = {"align_corners": False} if self.mode == "bilinear" else {}
        return F.interpolate(self.proj(x), scale_factor=self.scale, mode=self.mode, **corners)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 (x4 wider) conv-BN with a skip (projected when widths differ): the released
    code's stem, two of them from the image to 4·width channels."""

    def __init__(self, c_in: int, width: int) -> None:
        super().__init__()
        c_out = 4 * width
        self.body = nn.Sequential(
            conv_bn(c_in, width, kernel=1), conv_bn(width, width), conv_bn(width, c_out, kernel=1, relu=False)
        )
        self.skip = nn.Identity() if c_in == c_out else conv_bn(c_in, c_out, kernel=1, relu=False)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.body(x) + self.skip(x))


def downsample(c_in: int, c_out: int, levels: int) -> nn.Sequential:
    """A chain of stride-2 3x3 conv + BN (ReLU between steps) from a higher resolution."""
    steps = [conv_bn(c_in, c_in, stride=2) for _ in range(levels - 1)]
    return nn.Sequential(*steps, conv_bn(c_in, c_out, stride=2, relu=False))


def resize(c_in: int, c_out: int, levels: int) -> nn.Module:
    """Map a branch `levels` resolution steps away (positive: lower resolution) onto another."""
    if levels == 0:
        return nn.Identity()
    return Upsample(c_in, c_out, levels) if levels > 0 else downsample(c_in, c_out, -levels)


@CANDIDATES.register("fusion")
class Fusion(nn.Module):
    """Every branch receives every other branch, resized: out_i = ReLU(Σ_j resize_j→i(x_j))."""

    def __init__(self, widths: list[int], outputs: int | None = None) -> None:
        super().__init__()
        outputs = len(widths) if outputs is None else outputs
        # other branches' contributions start at zero: a fusion module begins as the identity
        self.paths = nn.ModuleList(
            nn.ModuleList(
                resize(widths[j], widths[i], j - i) if i == j else zero_last_bn(resize(widths[j], widths[i], j - i))
                for j in range(len(widths))
            )
            for i in range(outputs)
        )
        self.act = nn.ReLU()

    def forward(self, xs: list[Tensor]) -> list[Tensor]:
        outs = []
        for paths in self.paths:
            total = paths[0](xs[0])
            for path, x in zip(paths[1:], xs[1:]):
                total = total + path(x)
            outs.append(self.act(total))
        return outs
