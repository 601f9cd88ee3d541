"""The DARTS cell space at a single resolution: stem, K stacked normal cells, head.

Each cell takes the outputs of the two previous cells and computes `nodes` intermediate nodes (DARTS:
4); every edge into a node (from the two inputs and the earlier nodes) is a choice point among the
DARTS ops, labelled `node{i}/edge{j}` (j = 0, 1: the cell inputs; j = 2 + m: node m). As in DARTS,
every normal cell shares one set of α and so one derived cell (`shared=False` gives each cell its
own, labelled `cell{k}/node{i}/edge{j}`). A derived architecture keeps two incoming edges per node and
sets every other edge to "none".

In a fixed architecture an edge set to "none" is not built at all (no module, no computation): the
retrained network carries only the kept edges. "none" is accepted there even if `ops` lacks it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import ClearerError
from ..nn.blocks import conv_bn
from ..nn.darts_ops import DARTS_OPS
from ..nn.upscale import Upscale
from ..registry import OPS, SPACES
from .choice import Choice, Supernet, check_architecture

NONE = "none"


def edge_label(cell: int | None, node: int, edge: int) -> str:
    """'node1/edge2' for a choice shared by every cell (cell None), else 'cell3/node1/edge2'."""
    return (f"cell{cell}/" if cell is not None else "") + f"node{node}/edge{edge}"


def labels(cells: int, nodes: int, shared: bool = True) -> list[str]:
    """Every choice point of the space: node by node, edge by edge (cell by cell when not shared)."""
    per_cell = [None] if shared else list(range(1, cells + 1))
    return [edge_label(k, i, j) for k in per_cell for i in range(nodes) for j in range(2 + i)]


class DartsCell(nn.Module):
    """A DARTS normal cell: two inputs, `nodes` nodes summing chosen ops on their incoming edges."""

    def __init__(
        self,
        index: int | None,
        c_prev_prev: int,
        c_prev: int,
        width: int,
        nodes: int,
        ops: list[str],
        architecture: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.nodes = nodes
        self.pre0 = nn.Identity() if c_prev_prev == width else conv_bn(c_prev_prev, width, 1)
        self.pre1 = nn.Identity() if c_prev == width else conv_bn(c_prev, width, 1)
        build = lambda name: OPS.build(name, width=width)  # noqa: E731
        self.edges = nn.ModuleDict()
        self.incoming: list[list[int]] = []  # per node: indices of the states that have an edge built
        for i in range(nodes):
            kept = []
            for j in range(2 + i):
                label = edge_label(index, i, j)
                chosen = None if architecture is None else architecture[label]
                if chosen == NONE:
                    continue  # fixed architecture: a "none" edge contributes nothing, so build nothing
                self.edges[f"n{i}_e{j}"] = Choice(label, list(ops), build, chosen)
                kept.append(j)
            self.incoming.append(kept)
        self.project = conv_bn(nodes * width, width, 1, relu=False)

    def forward(self, s0: Tensor, s1: Tensor) -> Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for i, kept in enumerate(self.incoming):
            node = torch.zeros_like(states[1]) if not kept else None
            for j in kept:
                y = self.edges[f"n{i}_e{j}"](states[j])
                node = y if node is None else node + y
            states.append(node)
        return self.project(torch.cat(states[2:], dim=1))


@SPACES.register("darts_cells")
class DartsSpace(Supernet):
    """Single-resolution DARTS space: stem conv, K normal cells (one shared searched cell), 3x3 head conv."""

    multiple = 1

    def __init__(
        self,
        channels: int = 1,
        width: int | float = 16,
        cells: int = 4,
        nodes: int = 4,
        ops: list[str] = DARTS_OPS,
        residual: bool = False,
        shared: bool = True,
        architecture: dict[str, str] | None = None,
        scale: int = 1,
        upsample: str = "post",
    ) -> None:
        super().__init__()
        self.upscale = Upscale(scale, upsample)  # `scale` > 1: super-resolution, as in the clearer space
        self.scale = scale
        if cells < 1 or nodes < 1 or width < 1:
            raise ClearerError(f"darts_cells needs width, cells and nodes >= 1, got {width}, {cells} and {nodes}.")
        check_architecture(architecture, labels(cells, nodes, shared))
        width = round(width)  # `retrain.match_cost` scales widths as real numbers
        self.residual = residual
        self.stem = conv_bn(channels, width, relu=False)
        self.cells = nn.ModuleList(
            DartsCell(None if shared else k, width, width, width, nodes, list(ops), architecture)
            for k in range(1, cells + 1)
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(width, channels * self.upscale.factor, 3, padding=1))

    def forward(self, x: Tensor) -> Tensor:
        x, base = self.upscale.prepare(x)
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        y = self.upscale.finish(self.head(s1))
        return base + y if self.residual else y

    def derive(self, probabilities: dict[str, list[float]]) -> dict[str, str]:
        """Per node, keep the two incoming edges whose best non-"none" op is most probable (that op);
        every other edge becomes "none" (as in DARTS)."""
        best: dict[str, tuple[float, str]] = {}
        for choice in self.choices():
            probs = probabilities[choice.label]
            options = [(p, name) for p, name in zip(probs, choice.candidates) if name != NONE]
            if not options:
                raise ClearerError(f"{choice.label}: every candidate is 'none'; nothing to keep.")
            best[choice.label] = max(options, key=lambda t: t[0])  # first of equals on ties
        out: dict[str, str] = {}
        by_node: dict[str, list[str]] = {}
        for label in best:
            by_node.setdefault(label.rsplit("/", 1)[0], []).append(label)
        for edges in by_node.values():
            ranked = sorted(edges, key=lambda l: -best[l][0])  # stable: earlier edge first on ties
            keep = set(ranked[:2])
            for label in edges:
                out[label] = best[label][1] if label in keep else NONE
        return out
