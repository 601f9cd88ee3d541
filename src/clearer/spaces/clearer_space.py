"""The CLEARER multi-resolution space: stem, S cells of N columns, transitions, fusion head."""
from __future__ import annotations

from torch import Tensor, nn

from ..errors import check_min
from ..registry import CELLS, MODULES, SPACES
from ..nn.blocks import ResidualBlock, conv_bn
from ..nn.multiscale import Fusion, Transition
from .choice import Choice, Supernet, check_architecture


@CELLS.register("columns")
class ColumnCell(nn.Module):
    """A transition that adds a branch, then N columns, each a choice among multi-scale candidates."""

    def __init__(self, index: int, widths_in: list[int], widths: list[int], columns: int,
                 candidates: list[str], architecture: dict[str, str] | None = None) -> None:
        super().__init__()
        self.transition = Transition(widths_in, widths)
        build = lambda name: MODULES.get(name)(widths)  # noqa: E731
        self.columns = nn.ModuleList(
            Choice(f"cell{index}/col{j}", candidates, build,
                   None if architecture is None else architecture[f"cell{index}/col{j}"])
            for j in range(columns))

    def forward(self, xs: list[Tensor]) -> list[Tensor]:
        xs = self.transition(xs)
        for column in self.columns:
            xs = column(xs)
        return xs


def labels(cells: int, columns: int) -> list[str]:
    return [f"cell{i}/col{j}" for i in range(1, cells + 1) for j in range(columns)]


@SPACES.register("clearer")
class ClearerSpace(Supernet):
    """Multi-scale supernet of CLEARER (NeurIPS 2020); paper: width 32, 3 cells x 4 columns."""

    def __init__(self, channels: int = 1, width: int = 32, cells: int = 3, columns: int = 4,
                 stem_blocks: int = 2, candidates: list[str] = ("parallel", "fusion"),
                 residual: bool = False, architecture: dict[str, str] | None = None) -> None:
        super().__init__()
        check_min("clearer space", 1, width=width, cells=cells, columns=columns)
        check_min("clearer space", 0, stem_blocks=stem_blocks)
        check_architecture(architecture, labels(cells, columns))
        self.residual = residual
        self.multiple = 2 ** cells
        # no BatchNorm on the image itself (as DnCNN): it would normalise away the noise level
        self.stem = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=True),
                                  *[ResidualBlock(width) for _ in range(stem_blocks)])
        widths = [width]
        blocks = []
        for i in range(1, cells + 1):
            new = widths + [width * 2 ** i]
            blocks.append(ColumnCell(i, widths, new, columns, list(candidates), architecture))
            widths = new
        self.cells = nn.ModuleList(blocks)
        self.head = Fusion(widths, outputs=1)
        self.out = nn.Conv2d(width, channels, 3, padding=1)
        if residual:  # start as the identity: the network first predicts "no noise"
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor) -> Tensor:
        xs = [self.stem(x)]
        for cell in self.cells:
            xs = cell(xs)
        y = self.out(self.head(xs)[0])
        return x + y if self.residual else y
