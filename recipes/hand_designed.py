"""Hand-designed denoisers registered as spaces without choice points, so they train, evaluate, load
and export through the same engine, data and budget as a searched network.

- `dncnn`: DnCNN (Zhang et al., TIP 2017), 17 layers of 64 channels, BatchNorm, residual learning:
  556,096 parameters for grey images (published: 0.56 M), about 1.1 M FLOPs per pixel.
- `ircnn`: the IRCNN denoiser (Zhang et al., CVPR 2017), 7 layers of 64 channels with dilation rates
  1, 2, 3, 4, 3, 2, 1, BatchNorm, residual learning: 186,176 parameters (published: 0.19 M); its large
  receptive field comes from dilation rather than from lower-resolution branches.

Both start as the identity (last convolution at zero), as the CLEARER space's residual networks do, so
the comparison is of architectures, not of starting points; `identity_start=False` gives every
convolution the papers' He initialisation instead (a plain 17-layer network starting as the identity
sits on a plateau for its first few hundred steps; docs/results.md measures both). `width` is every layer's channel count,
which `retrain.match_cost` scales to compare them at another network's cost.

    clearer run recipes/hand_designed.py --set "space=dict(name='dncnn', width=64)"
    clearer compare recipes/baselines.py --profile compare
"""

import torch
from torch import Tensor, nn

from clearer import SPACES
from clearer.recipe import derive
from clearer.spaces.choice import Supernet, check_architecture

from bsd import PROFILES, RECIPE


def plain_denoiser(channels: int, width: int, dilations: list[int], identity_start: bool) -> nn.Sequential:
    """conv-ReLU, then conv-BN-ReLU per middle dilation, then conv back to the image: zero-initialised
    (`identity_start`), or every conv He-initialised as both papers did."""
    first, *middle, last = dilations
    layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, padding=first, dilation=first), nn.ReLU(inplace=True)]
    for d in middle:
        layers += [nn.Conv2d(width, width, 3, padding=d, dilation=d, bias=False), nn.BatchNorm2d(width)]
        layers.append(nn.ReLU(inplace=True))
    layers.append(nn.Conv2d(width, channels, 3, padding=last, dilation=last, bias=False))
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    if identity_start:
        nn.init.zeros_(convs[-1].weight)
    else:
        for conv in convs:
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
    return nn.Sequential(*layers)


class HandDesigned(Supernet):
    """A fixed network predicting the residual: output = input + net(input)."""

    def __init__(
        self, channels: int, width: int | float, dilations: list[int], architecture: dict | None, identity_start: bool
    ) -> None:
        super().__init__()
        check_architecture(architecture, [])  # no choice points: only {} (or nothing) fits
        if width < 1:
            raise ValueError(f"width must be at least 1, got {width}")
        self.net = plain_denoiser(channels, round(width), dilations, identity_start)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.net(x)


@SPACES.register("dncnn")
class DnCNN(HandDesigned):
    """DnCNN: `depth` 3x3 layers (17 in the paper), BatchNorm between, residual learning."""

    def __init__(
        self,
        channels: int = 1,
        width: int | float = 64,
        depth: int = 17,
        architecture: dict | None = None,
        identity_start: bool = True,
    ):
        if depth < 2:
            raise ValueError(f"depth must be at least 2, got {depth}")
        super().__init__(channels, width, [1] * depth, architecture, identity_start)


@SPACES.register("ircnn")
class IRCNN(HandDesigned):
    """IRCNN's denoiser: 7 dilated 3x3 layers (rates 1, 2, 3, 4, 3, 2, 1), BatchNorm, residual learning.

    Runs in float32 even under bf16 autocast: on the CPU its dilated convolutions in bf16 turned the
    loss to NaN at the second training step (as DARTS' dilated ops did, clearer/nn/darts_ops.py).
    """

    def __init__(
        self,
        channels: int = 1,
        width: int | float = 64,
        architecture: dict | None = None,
        identity_start: bool = True,
    ):
        super().__init__(channels, width, [1, 2, 3, 4, 3, 2, 1], architecture, identity_start)

    def forward(self, x: Tensor) -> Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x.float())


RECIPE = derive(RECIPE, {"name": "hand_designed"})
PROFILES = PROFILES
