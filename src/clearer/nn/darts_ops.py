"""DARTS candidate operations (Liu et al., ICLR 2019) at stride 1, for single-resolution cells.

Every op is built as `op(width)` and maps [B, C, H, W] to the same shape, so any op can sit on any
edge of a cell. The first ReLU of each op is not in-place: an edge's input is shared by other edges.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..registry import OPS


def _relu_conv_bn(
    width: int, kernel: int, dilation: int = 1, groups: int = 1, pointwise: bool = False
) -> list[nn.Module]:
    """ReLU -> k x k conv (optionally depthwise + 1x1 pointwise) -> BN, 'same' padding at stride 1."""
    pad = dilation * (kernel // 2)
    layers: list[nn.Module] = [
        nn.ReLU(inplace=False),
        nn.Conv2d(width, width, kernel, 1, pad, dilation=dilation, groups=groups, bias=False),
    ]
    if pointwise:
        layers.append(nn.Conv2d(width, width, 1, bias=False))
    layers.append(nn.BatchNorm2d(width))
    return layers


class Float32Sequential(nn.Sequential):
    """A block that runs in float32 even under bf16 autocast.

    Why: on the CPU, bf16 depthwise convolutions made DARTS runs differ from run to run with the same
    seed and threads, and sometimes diverge to NaN within a few steps; in float32 they are reproducible.
    """

    def forward(self, x: Tensor) -> Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x.float())


class SepConv(Float32Sequential):
    """Two rounds of ReLU - depthwise k x k - pointwise 1x1 - BN (DARTS' separable convolution)."""

    def __init__(self, width: int, kernel: int) -> None:
        super().__init__(
            *_relu_conv_bn(width, kernel, groups=width, pointwise=True),
            *_relu_conv_bn(width, kernel, groups=width, pointwise=True),
        )


class DilConv(Float32Sequential):
    """ReLU - depthwise k x k with dilation 2 - pointwise 1x1 - BN: a wider view at the same cost."""

    def __init__(self, width: int, kernel: int) -> None:
        super().__init__(*_relu_conv_bn(width, kernel, dilation=2, groups=width, pointwise=True))


class ReluConvBN(nn.Sequential):
    """ReLU - k x k conv - BN: the dense convolution among the ops."""

    def __init__(self, width: int, kernel: int) -> None:
        super().__init__(*_relu_conv_bn(width, kernel))


def _conv_op(name: str, block: type[nn.Module], kernel: int, doc: str) -> Callable[[int], nn.Module]:
    """A registered `op(width)` that builds `block(width, kernel)`, named and documented as `name`."""

    def op(width: int) -> nn.Module:
        return block(width, kernel)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


CONV_OPS: dict[str, tuple[type[nn.Module], int, str]] = {
    "sep_conv_3x3": (SepConv, 3, "Separable 3x3 conv, applied twice (ReLU-dw-pw-BN x2): DARTS' most used op."),
    "sep_conv_5x5": (SepConv, 5, "Separable 5x5 conv, applied twice (ReLU-dw-pw-BN x2): a larger receptive field."),
    "dil_conv_3x3": (DilConv, 3, "Dilated (2) separable 3x3 conv (ReLU-dw-pw-BN): 5x5 view for the price of 3x3."),
    "dil_conv_5x5": (DilConv, 5, "Dilated (2) separable 5x5 conv (ReLU-dw-pw-BN): 9x9 view for the price of 5x5."),
    "conv_3x3": (ReluConvBN, 3, "Plain ReLU - 3x3 conv - BN: the dense baseline among the ops."),
}
for _name, (_block, _kernel, _doc) in CONV_OPS.items():
    OPS.register(_name)(_conv_op(_name, _block, _kernel, _doc))


@OPS.register("skip")
class Skip(nn.Module):
    """Identity (stride 1): lets a cell pass features through unchanged."""

    def __init__(self, width: int) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


@OPS.register("none")
class Zero(nn.Module):
    """Zeros: the 'no edge' op, so a search can learn to drop an edge."""

    def __init__(self, width: int) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return torch.zeros_like(x)


DARTS_OPS: tuple[str, ...] = (
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "conv_3x3",
    "skip",
    "none",
)
"""The default candidate list of the `darts_cells` space."""
