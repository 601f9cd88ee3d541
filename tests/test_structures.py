"""Thin bright structure that is not rain: the masks, the compositing, and `with_structures` pairs."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from clearer.contracts import DrawsTarget
from clearer.data.paired import Degraded
from clearer.data.rain import rain_streaks
from clearer.data.structures import KINDS, WithStructures, draw_structures, grid_mask, structure_masks
from clearer.errors import ClearerError
from clearer.registry import DEGRADATIONS

RAIN = dict(name="rain_streaks", blend="add", blur=False, density=0.005, length=20, brightness=0.5)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_grid_mask_covers_the_stated_lines_only():
    mask = grid_mask(37, 50, period=12.0, line_width=1.0)[0, 0]
    ys, xs = torch.meshgrid(torch.arange(37), torch.arange(50), indexing="ij")
    on = (ys % 12 == 0) | (xs % 12 == 0)
    assert bool((mask[on] == 1).all()) and bool((mask[~on] == 0).all())
    turned = grid_mask(64, 64, period=8.0, angle=45.0)[0, 0]
    assert 0 < float(turned.mean()) < 0.4 and not torch.equal(turned, grid_mask(64, 64, period=8.0)[0, 0])


@settings(max_examples=40, deadline=None)
@given(batch=st.integers(1, 6), height=st.integers(8, 64), width=st.integers(8, 64), seed=st.integers(0, 2**31))
def test_every_kind_is_thin_structure_inside_the_picture(batch, height, width, seed):
    masks = structure_masks(batch, height, width, _gen(seed))
    assert masks.shape == (batch, len(KINDS), height, width)
    assert float(masks.min()) >= 0 and float(masks.max()) <= 1
    # thin: no kind covers most of a picture (grids, fences and text leave the background visible)
    assert bool((masks.mean((2, 3)) < 0.75).all())
    # inside: every kind crosses a crop larger than its widest mesh (fences up to 24 px)
    if min(height, width) >= 32:
        assert bool((masks.amax((2, 3)) > 0.35).all())  # a 0.8 px line covers its nearest pixel >= 0.4


@settings(max_examples=15, deadline=None)
@given(share=st.sampled_from([0.0, 0.5, 1.0]), seed=st.integers(0, 2**31))
def test_drawn_structure_is_a_bright_blend_and_share_zero_draws_nothing(share, seed):
    clean = torch.rand((8, 3, 24, 24), generator=_gen(seed))
    out = draw_structures(clean, share, _gen(seed))
    assert out.shape == clean.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    changed = (out - clean).abs().amax((1, 2, 3)) > 0
    # each pixel moves from the picture towards a bright grey (0.675..1): never beyond either
    assert bool((out >= torch.minimum(clean, torch.tensor(0.675)) - 1e-6).all())
    if share == 0.0:
        assert torch.equal(out, clean)
    if share == 1.0:
        assert bool(changed.all())


def test_with_structures_pairs_keep_the_structure_in_the_target():
    deg = DEGRADATIONS.build(dict(name="with_structures", degradation=RAIN, share=1.0))
    assert isinstance(deg, WithStructures) and isinstance(deg, DrawsTarget)
    clean = torch.rand((4, 3, 32, 32), generator=_gen(1)) * 0.5
    inp, target = deg.pair(clean, _gen(2))
    generator = _gen(2)
    scene = draw_structures(clean, 1.0, generator)
    assert torch.equal(target, scene) and not torch.equal(target, clean)
    assert torch.equal(inp, rain_streaks(**{k: v for k, v in RAIN.items() if k != "name"})(scene, generator))
    # the training stream's pairs come from `pair`; a plain degradation still gives (degraded, clean)
    assert all(torch.equal(a, b) for a, b in zip(Degraded(None, deg).split(clean, _gen(2)), (inp, target)))
    plain = DEGRADATIONS.build(RAIN)
    assert not isinstance(plain, DrawsTarget) and torch.equal(Degraded(None, plain).split(clean, _gen(2))[1], clean)
    # a given clean picture (evaluation) is degraded as it is
    assert torch.equal(deg(clean, _gen(3)), plain(clean, _gen(3)))
    assert (
        deg.describe().startswith(plain.describe()) and "grids, fences or text on 100% of the crops" in deg.describe()
    )


@settings(max_examples=25, deadline=None)
@given(untouched=st.floats(0.0, 1.0), seed=st.integers(0, 2**31 - 1))
def test_untouched_crops_are_given_as_they_are_and_the_rest_get_rain(untouched, seed):
    deg = DEGRADATIONS.build(dict(name="with_structures", degradation=RAIN, share=0.5, untouched=untouched))
    clean = torch.rand((8, 3, 24, 24), generator=_gen(seed)) * 0.5
    inp, target = deg.pair(clean, _gen(seed + 1))
    generator = _gen(seed + 1)
    scene = draw_structures(clean, 0.5, generator)
    rainy = DEGRADATIONS.build(RAIN)(scene, generator)
    assert torch.equal(target, scene)
    for i in range(clean.shape[0]):  # every crop is either exactly the target or exactly its rainy version
        assert torch.equal(inp[i], scene[i]) or torch.equal(inp[i], rainy[i])
    if untouched == 0.0:
        assert torch.equal(inp, rainy)
    if untouched == 1.0:
        assert torch.equal(inp, scene)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(degradation=RAIN, share=1.5), r"share must be a number in 0\.\.1.*1\.5"),
        (dict(degradation=RAIN, share=True), r"share must be a number"),
        (dict(degradation=RAIN, untouched=-0.1), r"untouched must be a number in 0\.\.1.*-0\.1"),
        (dict(degradation=dict(name="no_such_rain")), r"unknown degradations 'no_such_rain'"),
    ],
)
def test_with_structures_validation_names_the_value(kwargs, message):
    with pytest.raises(ClearerError, match=message):
        DEGRADATIONS.build(dict(name="with_structures", **kwargs))
