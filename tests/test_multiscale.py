"""The CLEARER space's building blocks and its two materialisations: modules that start as the identity,
and a derived network that computes exactly what the supernet computes with one-hot weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from clearer.nn.multiscale import Fusion, Transition
from clearer.spaces.clearer_space import ClearerSpace

pytestmark = pytest.mark.usefixtures("one_thread")

WIDTHS = [4, 8, 16]


def branches(batch: int = 2, size: int = 16, widths: list[int] = WIDTHS) -> list[torch.Tensor]:
    """Non-negative inputs (as every branch is after a ReLU), branch k at 1/2^k resolution."""
    g = torch.Generator().manual_seed(0)
    return [torch.rand(batch, w, size >> k, size >> k, generator=g) for k, w in enumerate(widths)]


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Every parameter and BatchNorm statistic drawn at random, so no candidate is an identity any more."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
    return model


@pytest.mark.parametrize("train", [True, False])
def test_fusion_starts_as_the_identity_on_every_branch(train):
    xs = branches()
    fusion = Fusion(WIDTHS).train(train)
    with torch.no_grad():
        out = fusion(xs)
        assert len(out) == 3 and all(torch.equal(y, x) for y, x in zip(out, xs))
        head = Fusion(WIDTHS, outputs=1).train(train)(xs)  # the space's head: the full-resolution branch
        assert len(head) == 1 and torch.equal(head[0], xs[0])
        # the other branches' paths are what keeps it the identity: one non-zero scale changes branch 0
        last_bn = [m for m in fusion.paths[0][2].modules() if isinstance(m, nn.BatchNorm2d)][-1]
        last_bn.weight.fill_(1.0)
        changed = fusion(xs)
        assert not torch.equal(changed[0], xs[0]) and torch.equal(changed[1], xs[1])


def test_transition_keeps_branches_of_unchanged_width_and_adds_one_at_half_resolution():
    xs = branches(widths=WIDTHS[:2])
    with torch.no_grad():
        out = Transition(WIDTHS[:2], WIDTHS)(xs)
        assert len(out) == 3 and out[0] is xs[0] and out[1] is xs[1]
        assert out[2].shape == (2, 16, 4, 4)
        wider = Transition([2], [4, 8])(branches(widths=[2]))  # the stem's width differs: a conv adapts it
    assert [tuple(y.shape) for y in wider] == [(2, 4, 16, 16), (2, 8, 8, 8)]


SMALL = dict(channels=1, width=4, cells=2, columns=2, stem_blocks=1, residual=True)
ARCH = {"cell1/col0": "fusion", "cell1/col1": "parallel", "cell2/col0": "parallel", "cell2/col1": "fusion"}


def one_hot(space: ClearerSpace, architecture: dict[str, str]) -> dict[str, torch.Tensor]:
    return {
        c.label: torch.tensor([float(name == architecture[c.label]) for name in c.candidates]) for c in space.choices()
    }


def test_derived_clearer_net_is_the_supernet_restricted_to_its_choices():
    """Same code, same parameter names, same weights: the fixed net computes what the supernet computes
    with one-hot α on its choices."""
    space = randomise(ClearerSpace(**SMALL)).eval()
    fixed = ClearerSpace(**SMALL, architecture=ARCH).eval()
    missing, unexpected = fixed.load_state_dict(space.state_dict(), strict=False)
    assert not missing and unexpected  # every fixed parameter is the supernet's; the other candidates are left
    x = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        space.set_weights(one_hot(space, ARCH))
        restricted, derived = space(x), fixed(x)
        assert torch.allclose(restricted, derived, atol=1e-6)
        # another choice at one column gives another output, so the comparison can tell them apart
        space.set_weights(one_hot(space, {**ARCH, "cell2/col1": "parallel"}))
        assert not torch.allclose(space(x), derived, atol=1e-3)
