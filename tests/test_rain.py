"""Synthetic rain streaks: statistics against the parameters, orientation, determinism, validation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from clearer.data.rain import RainStreaks, expected_mean, line_kernels, rain_streaks, render_streaks
from clearer.engine.build import upright
from clearer.errors import ClearerError
from clearer.metrics import PROTOCOLS
from clearer.recipe import load_recipe
from clearer.registry import DEGRADATIONS
from clearer.train.inference import EVERY_VIEW, UPRIGHT_VIEWS, _forward

from conftest import RECIPES


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def streak_angle(layer: torch.Tensor, sigma: float = 1.0) -> float:
    """Streak direction in degrees from vertical, from the structure tensor of a [B,1,H,W] layer.

    The summed structure tensor's dominant gradient direction φ (from the x axis) is perpendicular
    to the streaks; with the streak direction (sin θ, cos θ) in (x right, y down), θ = −φ.
    """
    x = layer.double()
    r = int(3 * sigma)
    c = torch.arange(-r, r + 1, dtype=torch.float64)
    g = torch.exp(-(c**2) / (2 * sigma**2))
    g = g / g.sum()
    dg = -c / sigma**2 * g
    gx = F.conv2d(F.conv2d(x, g.view(1, 1, -1, 1)), dg.view(1, 1, 1, -1))
    gy = F.conv2d(F.conv2d(x, g.view(1, 1, 1, -1)), dg.view(1, 1, -1, 1))
    jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    return -math.degrees(0.5 * math.atan2(2 * jxy, jxx - jyy))


def test_registered_and_describe():
    deg = DEGRADATIONS.get("rain_streaks")()
    assert isinstance(deg, RainStreaks)
    assert deg.density == (0.002, 0.01) and deg.angle == (-20.0, 20.0) and deg.blur is True
    text = deg.describe()
    assert "density~U[0.002,0.01]" in text and "screen blend" in text and "from vertical" in text
    assert "angle=5°" in rain_streaks(angle=5, blur=False).describe()


def test_mean_brightness_follows_density_and_brightness():
    shape = (4, 192, 192)
    fixed = dict(length=20, angle=10, width=1.5)
    means = {}
    for density in (0.001, 0.003):
        for brightness in (0.5, 0.9):
            layer = render_streaks(shape, _gen(3), density=density, brightness=brightness, **fixed)
            assert layer.shape == (4, 1, 192, 192) and float(layer.min()) >= 0 and float(layer.max()) <= 1
            expected = expected_mean(density, 20, 1.5, brightness)
            means[density, brightness] = float(layer.mean())
            assert means[density, brightness] == pytest.approx(expected, rel=0.15)
    assert means[0.003, 0.5] > means[0.001, 0.5] and means[0.003, 0.9] > means[0.001, 0.9]
    assert means[0.001, 0.9] > means[0.001, 0.5] and means[0.003, 0.9] > means[0.003, 0.5]
    # added brightness on a flat gray image: screen blend adds R·(1 − clean)
    clean = torch.full((4, 3, 192, 192), 0.3)
    low = rain_streaks(density=0.001, brightness=0.5, **fixed)(clean, _gen(3)) - clean
    high = rain_streaks(density=0.003, brightness=0.9, **fixed)(clean, _gen(3)) - clean
    assert float(low.min()) >= 0 and float(high.mean()) > 3 * float(low.mean())
    assert float(high.mean()) == pytest.approx(0.7 * means[0.003, 0.9], rel=1e-5)


@pytest.mark.parametrize("angle", [-25.0, 15.0])
def test_streak_orientation_matches_angle(angle):
    for blur in (True, False):
        layer = render_streaks(
            (2, 192, 192), _gen(0), density=0.003, length=25, angle=angle, width=1.5, brightness=0.8, blur=blur
        )
        assert streak_angle(layer) == pytest.approx(angle, abs=2.0)


@settings(max_examples=12, deadline=None)
@given(angle=st.floats(-25.0, 25.0), seed=st.integers(0, 2**31 - 1))
def test_upright_views_keep_streaks_at_a_trained_angle_and_quarter_turns_lay_them_sideways(angle, seed):
    """Why a derainer's self-ensemble leaves out quarter turns: they show it rain it never trained on."""
    layer = render_streaks((1, 160, 160), _gen(seed), density=0.003, length=25, angle=angle, width=1.5, brightness=0.8)
    for k, flip in EVERY_VIEW:
        seen = abs(streak_angle(_forward(layer, k, flip)))
        if (k, flip) in UPRIGHT_VIEWS:
            assert seen == pytest.approx(abs(angle), abs=2.5)  # a flip mirrors the angle: still within ±25°
        else:
            assert seen > 90 - abs(angle) - 2.5 >= 62.5  # a quarter turn: far outside every trained angle


def test_rain_is_upright_unless_its_streaks_take_every_direction():
    assert rain_streaks().upright and rain_streaks(angle=[-89, 89]).upright
    assert not rain_streaks(angle=[-90, 90]).upright
    around = dict(name="with_structures", degradation=dict(name="rain_streaks"))
    assert DEGRADATIONS.build(around).upright
    assert not DEGRADATIONS.build({**around, "degradation": dict(name="gaussian")}).upright
    for name in ("gaussian", "bicubic"):
        assert not getattr(DEGRADATIONS.build(dict(name=name)), "upright", False)


@pytest.mark.parametrize(
    "recipe, profile, expected",
    [("rain.py", "quick", True), ("rain.py", "fitted", True), ("bsd.py", "quick", False), ("sr.py", "quick", False)],
)
def test_only_the_derainers_self_ensemble_leaves_out_quarter_turns(recipe, profile, expected):
    assert upright(load_recipe(RECIPES / recipe).resolve(profile)) is expected


def test_positive_angle_runs_top_left_to_bottom_right():
    k = line_kernels(torch.tensor([21.0]), torch.tensor([30.0]), torch.tensor([1.0]), radius=12, soften=False)[0, 0]
    assert k.shape == (25, 25) and float(k.max()) == pytest.approx(1.0)
    assert float(k.sum()) == pytest.approx(21.0, rel=0.05)  # about length·width
    top_left, top_right = float(k[:12, :12].sum()), float(k[:12, 13:].sum())
    assert top_left > 5 and top_right == 0.0


def test_deterministic_for_a_seed_and_batched():
    deg = rain_streaks()
    clean = torch.rand((3, 3, 48, 40), generator=_gen(9))
    a, b = deg(clean, _gen(1)), deg(clean, _gen(1))
    assert torch.equal(a, b) and not torch.equal(a, deg(clean, _gen(2)))
    assert a.shape == clean.shape and float(a.min()) >= 0 and float(a.max()) <= 1
    assert bool((a >= clean - 1e-6).all())  # screen blend only brightens
    # the layer render_streaks returns is the one blended in, for the same generator state
    layer = render_streaks(clean.shape, _gen(1))
    assert torch.allclose(a, 1 - (1 - clean) * (1 - layer), atol=1e-6)
    # per-image parameters differ across the batch (ranges are drawn per image)
    assert len({round(float(m), 6) for m in layer.mean((1, 2, 3))}) == 3
    single = deg(clean[0], _gen(1))
    assert single.shape == clean[0].shape
    with pytest.raises(ClearerError, match="B,C,H,W"):
        deg(torch.zeros(4, 4))


def test_veil_and_noise_follow_their_parameters():
    """No streaks: the veil moves a flat image to (1 − haze)·clean + haze·airlight; the noise adds σ."""
    clean = torch.full((2, 3, 96, 96), 0.2)
    veiled = rain_streaks(density=0, haze=0.3, airlight=0.9)(clean, _gen(5))
    assert torch.allclose(veiled, torch.full_like(clean, 0.7 * 0.2 + 0.3 * 0.9), atol=1e-6)
    noisy = rain_streaks(density=0, noise=0.02)(clean, _gen(5))
    assert float((noisy - clean).mean()) == pytest.approx(0.0, abs=1e-3)
    assert float((noisy - clean).std()) == pytest.approx(0.02, rel=0.05)
    # ranges are drawn per image: two images get two veils
    both = rain_streaks(density=0, haze=[0.0, 0.5])(clean, _gen(6))
    assert len({round(float(m), 5) for m in both.mean((1, 2, 3))}) == 2
    assert "grey veil haze=0.3 airlight=0.9" in rain_streaks(haze=0.3, airlight=0.9).describe()
    assert "Gaussian sensor noise~U[0,0.03]" in rain_streaks(noise=[0, 0.03]).describe()


def test_y_channel_psnr_of_rainy_image_is_finite(tmp_path):
    clean = torch.rand((1, 3, 64, 64), generator=_gen(4)) * 0.6
    rainy = rain_streaks(density=0.005, length=15, brightness=0.8)(clean, _gen(4))
    result = PROTOCOLS["standard"].measure(rainy, clean, color="y")
    assert math.isfinite(result["psnr"]) and 5.0 < result["psnr"] < 40.0
    assert result["ssim"] < 1.0


def test_rain100l_rain_is_added_grey_as_the_add_blend(data_dir):
    """Rain100L's residual rainy − clean is the same in R, G and B wherever nothing clipped (grey rain
    added to the picture); the `add` blend reproduces that, the `screen` blend does not."""
    from clearer.data.paired import rain100l

    for rainy, clean in rain100l("tune", limit=3).load(3):
        d = rainy - clean
        unclipped = (d.amax(0) > 2 / 255) & (rainy.amax(0) < 1)
        assert float((d.amax(0) - d.amin(0))[unclipped].max()) < 1e-6 and float(d.min()) >= 0
    clean = torch.rand((2, 3, 64, 64), generator=_gen(7)) * 0.9
    for blend, grey in (("add", True), ("screen", False)):
        rainy = rain_streaks(density=0.01, length=15, brightness=0.5, blend=blend)(clean, _gen(7))
        d = rainy - clean
        spread = (d.amax(1) - d.amin(1))[(d.amax(1) > 0.01) & (rainy.amax(1) < 1)]
        assert (float(spread.max()) < 1e-6) == grey, blend


def test_variation_makes_most_streaks_faint_and_taper_fades_the_ends():
    fixed = dict(length=21, angle=0, width=1, brightness=1.0, blur=False)
    even = render_streaks((1, 256, 256), _gen(2), density=0.002, **fixed)
    spread = render_streaks((1, 256, 256), _gen(2), density=0.002, variation=4.0, **fixed)
    lit = lambda layer: layer[layer > 0.01]  # noqa: E731
    # equal streaks sit at full intensity; with u^4 most are faint and a few stay bright
    assert float(lit(even).median()) == pytest.approx(1.0) and float(lit(spread).median()) < 0.3
    assert float(spread.max()) > 0.9
    box = line_kernels(torch.tensor([21.0]), torch.tensor([0.0]), torch.tensor([1.0]), radius=12, soften=False)[0, 0]
    tapered = line_kernels(
        torch.tensor([21.0]), torch.tensor([0.0]), torch.tensor([1.0]), radius=12, soften=False, taper=True
    )[0, 0]
    column = tapered[:, 12]
    assert float(column.max()) == pytest.approx(1.0) and float(column[2]) < 0.25 < float(box[2, 12])
    assert float(tapered.sum()) == pytest.approx(float(box.sum()) / 2, rel=0.1)
    assert "variation~U[1,8]" in rain_streaks(variation=[1, 8], taper=True, blend="add").describe()
    assert "tapered soft streaks, add blend" in rain_streaks(taper=True, blend="add").describe()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(density=1.5), r"density=1\.5 is outside 0\.\.1"),
        (dict(density=-0.1), r"density=-0\.1 is outside"),
        (dict(length=[30, 10]), r"length range \[30, 10\] has low > high"),
        (dict(length=[1, 2, 3]), r"length range must be \[low, high\]"),
        (dict(length=0.5), r"length=0\.5 is outside 1\.\.128"),
        (dict(angle=120), r"angle=120 is outside -90\.\.90"),
        (dict(width=0), r"width=0 is outside"),
        (dict(brightness="bright"), r"brightness must be a number.*'bright'"),
        (dict(brightness=True), r"brightness must be a number.*True"),
        (dict(density=float("nan")), r"density must be a number.*nan"),
        (dict(blur="yes"), r"blur must be true or false, got 'yes'"),
        (dict(haze=1.5), r"haze=1\.5 is outside 0\.\.1"),
        (dict(airlight=[0.9, 0.5]), r"airlight range \[0\.9, 0\.5\] has low > high"),
        (dict(noise=-0.01), r"noise=-0\.01 is outside 0\.\.0\.5"),
        (dict(variation=9), r"variation=9 is outside 0\.\.8"),
        (dict(taper=1), r"taper must be true or false, got 1"),
        (dict(blend="multiply"), r"blend='multiply' is not valid; use one of screen, add"),
    ],
)
def test_parameter_validation_names_the_value(kwargs, message):
    with pytest.raises(ClearerError, match=message):
        rain_streaks(**kwargs)


def test_bad_shape():
    with pytest.raises(ClearerError, match="shape"):
        render_streaks((5,), _gen(0))


FITTED = dict(density=[0.001, 0.01], length=[10, 50], angle=[-25, 25], width=[1.2, 2.6], brightness=[0.2, 0.7])
WIDER = dict(angle=[-65, 65], width=[1.0, 6.0], length=[6, 72])


def test_wider_share_of_layers_draws_beyond_the_fit_with_the_fit_as_centre():
    deg = rain_streaks(**FITTED, wider=WIDER, wider_share=0.4)
    p = deg.draw(4000, _gen(0))
    outside = (p["angle"].abs() > 25) | (p["width"] > 2.6) | (p["length"] > 50) | (p["length"] < 10)
    # a wider layer lands outside the fitted angles with chance 1 − 50/130, its widths with 1 − 1.6/5 ...
    assert 0.3 < float(outside.float().mean()) < 0.4
    for name, (low, high) in WIDER.items():
        assert low <= float(p[name].min()) and float(p[name].max()) <= high
    fitted = rain_streaks(**FITTED).draw(4000, _gen(0))
    assert float(fitted["angle"].abs().max()) <= 25
    # most layers still look like the fit: the fitted angle range holds more than its share of the wider one
    assert float((p["angle"].abs() <= 25).float().mean()) > 0.6 + 0.4 * 50 / 130 - 0.05
    # the kernels reach the longest, widest streak of the wider ranges
    assert deg.radius >= 37 > rain_streaks(**FITTED).radius
    text = deg.describe()
    assert "0.4 of the layers wider: angle~U[-65,65], width~U[1,6], length~U[6,72]" in text


def test_steep_wide_streaks_of_the_wider_family_are_rendered_at_their_angle():
    steep = render_streaks((2, 192, 192), _gen(5), density=0.002, length=40, angle=50, width=4.5, brightness=0.8)
    assert streak_angle(steep) == pytest.approx(50, abs=3.0)


def test_more_layers_add_more_rain_each_with_its_own_angle():
    one = render_streaks((64, 64, 64), _gen(1), **FITTED)
    two = render_streaks((64, 64, 64), _gen(1), **FITTED, layers=2)
    up_to_two = render_streaks((64, 64, 64), _gen(1), **FITTED, layers=[1, 2])
    assert float(one.mean()) < float(up_to_two.mean()) < float(two.mean())
    assert float(two.max()) <= 1.0
    assert "1–2 layers" in rain_streaks(**FITTED, layers=[1, 2]).describe()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(wider=dict(angle=[-20, 60])), r"wider angle=\[-20, 60\] must hold the fitted angle range \[-25, 25\]"),
        (dict(wider=dict(speed=[0, 1])), r"wider names 'speed', not a parameter"),
        (dict(wider=[1, 2]), r"wider must be a dict"),
        (dict(wider=dict(width=[1, 200])), r"width=200 is outside 1\.\.16"),
        (dict(wider_share=1.5), r"wider_share must be a number in 0\.\.1"),
        (dict(layers=5), r"layers=5 must lie in 1\.\.4"),
        (dict(layers=[2, 1]), r"layers=\[2, 1\] must lie"),
        (dict(layers=1.5), r"layers must be an integer"),
    ],
)
def test_wider_and_layers_validation_names_the_value(kwargs, message):
    with pytest.raises(ClearerError, match=message):
        rain_streaks(**{**FITTED, **kwargs})
