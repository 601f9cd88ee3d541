"""The CLEARER multi-resolution space: stem, S cells of N columns, transitions, fusion head."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import check_min
from ..nn.blocks import ResidualBlock
from ..nn.multiscale import Bottleneck, Fusion, Transition, Upsample
from ..nn.upscale import Upscale
from ..registry import CANDIDATES, SPACES
from .choice import Choice, Supernet, check_architecture


class ColumnCell(nn.Module):
    """A transition that adds a branch, then N columns, each a choice among multi-scale candidates."""

    def __init__(
        self,
        index: int,
        widths_in: list[int],
        widths: list[int],
        columns: int,
        candidates: list[str],
        architecture: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.transition = Transition(widths_in, widths)
        build = lambda name: CANDIDATES.build(name, widths=widths)  # noqa: E731
        self.columns = nn.ModuleList(
            Choice(
                f"cell{index}/col{j}",
                candidates,
                build,
                None if architecture is None else architecture[f"cell{index}/col{j}"],
            )
            for j in range(columns)
        )

    def forward(self, xs: list[Tensor]) -> list[Tensor]:
        xs = self.transition(xs)
        for column in self.columns:
            xs = column(xs)
        return xs


def labels(cells: int, columns: int) -> list[str]:
    return [f"cell{i}/col{j}" for i in range(1, cells + 1) for j in range(columns)]


@SPACES.register("clearer")
class ClearerSpace(Supernet):
    """Multi-scale supernet of CLEARER (NeurIPS 2020); paper: width 32, 3 cells x 4 columns.

    `official=True` builds the released code's network: a stem of two bottleneck blocks from the image
    to 4·width channels, nearest (not bilinear) upsampling in fusion, a 1x1 output conv without bias,
    every conv drawn from N(0, 1e-3) and no identity start (12.56 M supernet parameters at the paper's
    size). The default differs where it trains faster at small budgets: a 3x3 conv + residual blocks
    stem at `width` channels, bilinear upsampling, a 3x3 output conv, PyTorch's default init with every
    candidate's last BatchNorm at 0 so blocks start as the identity.

    `width` may be fractional: branch k has round(width·2^k) channels, which lets `retrain.match_cost`
    scale a network to a cost in steps finer than one channel of the full-resolution branch.

    `search_init` (search mode only): the value those last BatchNorm scales of the candidates start at.
    0 makes every candidate start as the identity, so the first α gradients are exactly zero; a small
    value gives α a signal from the first step (benchmarks/alpha_signal.py measures it).

    `scale` > 1 makes it a super-resolution network (output `scale` times larger, bicubic-upscaled input
    as the residual base), run after (`upsample="post"`) or before (`"pre"`) the upscaling (nn/upscale.py).
    """

    def __init__(
        self,
        channels: int = 1,
        width: int | float = 32,
        cells: int = 3,
        columns: int = 4,
        stem_blocks: int = 2,
        candidates: list[str] = ("parallel", "fusion"),
        residual: bool = False,
        architecture: dict[str, str] | None = None,
        official: bool = False,
        search_init: float = 0.0,
        scale: int = 1,
        upsample: str = "post",
    ) -> None:
        super().__init__()
        check_min("clearer space", 1, width=width, cells=cells, columns=columns)
        self.upscale = Upscale(scale, upsample)
        self.scale = scale
        check_min("clearer space", 0, stem_blocks=stem_blocks)
        check_architecture(architecture, labels(cells, columns))
        self.residual = residual
        self.multiple = 2**cells
        base = round(width)
        if official:
            blocks = [Bottleneck(channels if i == 0 else 4 * base, base) for i in range(stem_blocks)]
            self.stem, widths = nn.Sequential(*blocks), [4 * base if stem_blocks else channels]
        else:
            # no BatchNorm on the image itself (as DnCNN): it would normalise away the noise level
            self.stem = nn.Sequential(
                nn.Conv2d(channels, base, 3, padding=1),
                nn.ReLU(inplace=True),
                *[ResidualBlock(base) for _ in range(stem_blocks)],
            )
            widths = [base]
        cell_list = []
        for i in range(1, cells + 1):
            new = [round(width * 2**k) for k in range(i + 1)]
            cell_list.append(ColumnCell(i, widths, new, columns, list(candidates), architecture))
            widths = new
        self.cells = nn.ModuleList(cell_list)
        self.head = Fusion(widths, outputs=1)
        kernel = 1 if official else 3
        self.out = nn.Conv2d(base, channels * self.upscale.factor, kernel, padding=kernel // 2, bias=not official)
        if official:
            official_init(self)
        elif residual:  # start as the identity: the network first predicts "no noise"
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)
        if architecture is None and search_init:
            start_candidates_at(self, search_init)

    def forward(self, x: Tensor) -> Tensor:
        x, base = self.upscale.prepare(x)
        xs = [self.stem(x)]
        for cell in self.cells:
            xs = cell(xs)
        y = self.upscale.finish(self.out(self.head(xs)[0]))
        return base + y if self.residual else y


def official_init(model: nn.Module) -> None:
    """As the released code: nearest upsampling, convs from N(0, 1e-3), biases 0, BatchNorm 1 and 0."""
    for m in model.modules():
        if isinstance(m, Upsample):
            m.mode = "nearest"
        elif isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, std=1e-3)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def start_candidates_at(space: Supernet, value: float) -> None:
    """Set the zero-initialised BatchNorm scales inside the candidates to `value` (search mode)."""
    with torch.no_grad():
        for choice in space.choices():
            for m in choice.ops.modules():
                if isinstance(m, nn.BatchNorm2d) and not m.weight.any():
                    m.weight.fill_(value)
