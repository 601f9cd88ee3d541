"""DARTS ops and the darts_cells space: shapes, derivation rule, fixed materialisation."""

from __future__ import annotations

import pytest
import torch

from clearer.errors import ClearerError
from clearer.nn.darts_ops import DARTS_OPS
from clearer.registry import OPS, SPACES, summary
from clearer.spaces.choice import uniform_weights
from clearer.spaces.darts_space import DartsSpace, labels
from clearer.strategies.base import architecture_weights

SMALL = dict(channels=1, width=4, cells=2, nodes=3, shared=False)  # per-cell α: labels name the cell

pytestmark = pytest.mark.usefixtures("one_thread")


def random_probs(space: DartsSpace, seed: int = 0) -> dict[str, list[float]]:
    gen = torch.Generator().manual_seed(seed)
    return {c.label: torch.softmax(torch.randn(len(c.candidates), generator=gen), 0).tolist() for c in space.choices()}


@pytest.mark.parametrize("name", DARTS_OPS)
def test_every_op_keeps_shape(name):
    op = OPS.build(name, width=6)
    x = torch.randn(2, 6, 11, 13)
    y = op(x)
    assert y.shape == x.shape
    assert summary(OPS.get(name))  # shown by `clearer list`
    if name == "none":
        assert torch.count_nonzero(y) == 0
    if name == "skip":
        assert torch.equal(y, x)


def test_ops_do_not_modify_their_shared_input():
    x = torch.randn(1, 4, 8, 8)
    before = x.clone()
    for name in DARTS_OPS:
        OPS.build(name, width=4)(x)
    assert torch.equal(x, before)


@pytest.mark.parametrize("name", ["sep_conv_3x3", "dil_conv_5x5"])
def test_depthwise_ops_run_in_float32_under_bf16_autocast(name):
    """Regression: in CPU bf16 these ops made same-seed DARTS runs differ and sometimes go NaN."""
    torch.manual_seed(0)
    op, x = OPS.get(name)(4), torch.randn(2, 4, 12, 12)
    expected = op(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = op(x)
    assert out.dtype == torch.float32 and torch.equal(out, expected)


def test_space_registered_and_choice_points():
    assert SPACES.get("darts_cells") is DartsSpace
    space = DartsSpace(**SMALL)
    assert [c.label for c in space.choices()] == labels(2, 3, shared=False)
    assert len(space.choices()) == 2 * (2 + 3 + 4)
    assert all(c.candidates == list(DARTS_OPS) for c in space.choices())
    space.set_weights(uniform_weights(space))
    x = torch.rand(2, 1, 12, 12)
    assert space(x).shape == x.shape


def test_residual_output_convention():
    torch.manual_seed(0)
    plain, res = DartsSpace(**SMALL), DartsSpace(**SMALL, residual=True)
    res.load_state_dict(plain.state_dict())
    for s in (plain, res):
        s.set_weights(uniform_weights(s))
        s.eval()
    x = torch.rand(1, 1, 8, 8)
    assert torch.allclose(res(x), x + plain(x), atol=1e-6)


def test_derive_keeps_top2_non_none_edges_per_node():
    space = DartsSpace(**SMALL)
    none_at = DARTS_OPS.index("none")
    for seed in range(5):
        probs = random_probs(space, seed)
        arch = space.derive(probs)
        assert set(arch) == set(labels(2, 3, shared=False))
        # an edge's strength: its best op other than "none"
        strength = {label: max(p for n, p in enumerate(ps) if n != none_at) for label, ps in probs.items()}
        for k in (1, 2):
            for i in range(3):
                edges = [f"cell{k}/node{i}/edge{j}" for j in range(2 + i)]
                kept = [e for e in edges if arch[e] != "none"]
                assert len(kept) == 2
                assert min(strength[e] for e in kept) >= max((strength[e] for e in edges if e not in kept), default=0.0)
                for e in kept:  # the best non-none op of a kept edge
                    best = max((p, n) for n, p in enumerate(probs[e]) if n != none_at)[1]
                    assert arch[e] == DARTS_OPS[best]


def test_derive_ignores_none_when_ranking_edges():
    space = DartsSpace(channels=1, width=4, cells=1, nodes=2, shared=False)
    n = len(DARTS_OPS)
    probs = {c.label: [1.0 / n] * n for c in space.choices()}
    none_at = DARTS_OPS.index("none")
    heavy_none = [0.0] * n
    heavy_none[none_at], heavy_none[0] = 0.9, 0.1  # strongest edge overall, but mostly "none"
    probs["cell1/node1/edge0"] = heavy_none
    conv = [0.0] * n
    conv[DARTS_OPS.index("conv_3x3")] = 0.5
    conv[none_at] = 0.5
    probs["cell1/node1/edge2"] = conv
    arch = space.derive(probs)
    assert arch["cell1/node1/edge2"] == "conv_3x3"
    assert arch["cell1/node1/edge0"] == "none"  # its best real op (0.1) ranks below uniform 1/7
    assert arch["cell1/node1/edge1"] == "sep_conv_3x3"


def test_fixed_build_skips_none_edges_is_smaller_and_runs():
    torch.manual_seed(0)
    space = DartsSpace(**SMALL)
    arch = space.derive(random_probs(space, 1))
    fixed = DartsSpace(**SMALL, architecture=arch)
    assert sum(p.numel() for p in fixed.parameters()) < sum(p.numel() for p in space.parameters())
    assert len(fixed.choices()) == 2 * 2 * 3  # two kept edges per node, "none" edges not built
    assert all(len(c.ops) == 1 and c.chosen != "none" for c in fixed.choices())
    x = torch.rand(2, 1, 10, 10)
    assert fixed(x).shape == x.shape


def test_fixed_net_matches_supernet_computing_only_the_chosen_ops():
    """Same code, same parameter names: the fixed net is the supernet restricted to its architecture."""
    torch.manual_seed(0)
    space = DartsSpace(**SMALL).eval()
    arch = space.derive(random_probs(space, 2))
    fixed = DartsSpace(**SMALL, architecture=arch).eval()
    missing, unexpected = fixed.load_state_dict(space.state_dict(), strict=False)
    assert not missing and unexpected  # every fixed parameter exists in the supernet
    space.set_weights(*architecture_weights(space, arch, "cpu"))
    x = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(space(x), fixed(x), atol=1e-5)


def test_architecture_must_fit_and_name_known_ops():
    space = DartsSpace(**SMALL)
    arch = space.derive(random_probs(space))
    with pytest.raises(ClearerError, match="missing"):
        DartsSpace(**{**SMALL, "cells": 3}, architecture=arch)
    bad = dict(arch)
    bad[next(k for k, v in arch.items() if v != "none")] = "conv_9x9"
    with pytest.raises(ClearerError, match="conv_9x9"):
        DartsSpace(**SMALL, architecture=bad)


def test_none_is_accepted_when_fixed_even_without_none_op():
    ops = [o for o in DARTS_OPS if o != "none"]
    space = DartsSpace(**SMALL, ops=ops)
    arch = space.derive(random_probs(space))
    assert sum(v == "none" for v in arch.values()) == 2 * (0 + 1 + 2)
    fixed = DartsSpace(**SMALL, ops=ops, architecture=arch)
    assert fixed(torch.rand(1, 1, 8, 8)).shape == (1, 1, 8, 8)


def test_shared_cells_one_alpha_per_edge_one_derived_cell_everywhere():
    """DARTS' default: every normal cell shares α, so the search learns and derives one cell."""
    from clearer.contracts import SearchContext
    from clearer.strategies.bilevel import Bilevel

    space = DartsSpace(channels=1, width=4, cells=3, nodes=4)
    assert labels(3, 4) == [f"node{i}/edge{j}" for i in range(4) for j in range(2 + i)]
    assert len(space.choices()) == 3 * 14 and {c.label for c in space.choices()} == set(labels(3, 4))
    strategy = Bilevel()
    strategy.prepare(space, space, SearchContext(torch.nn.functional.mse_loss, {}, {}, 10, 5))
    assert len(strategy.alpha) == 14  # one α vector per edge of the cell, not per cell
    arch = space.derive(random_probs(space, 3))
    assert set(arch) == set(labels(3, 4))
    fixed = DartsSpace(channels=1, width=4, cells=3, nodes=4, architecture=arch)
    per_cell = [{c.label: c.chosen for c in cell.modules() if hasattr(c, "chosen")} for cell in fixed.cells]
    assert per_cell[0] == per_cell[1] == per_cell[2] and len(per_cell[0]) == 4 * 2
    assert fixed(torch.rand(1, 1, 8, 8)).shape == (1, 1, 8, 8)
