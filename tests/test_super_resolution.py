"""Super-resolution: MATLAB bicubic against the benchmarks' own LR files, the `sr` protocol, SR spaces,
and inference that returns larger images (whole, tiled in LR coordinates, within the memory bound)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from clearer.data.bicubic import imresize, output_length
from clearer.data.datasets import bsds500, overlapping
from clearer.data.super_resolution import bicubic, bsd100, set5, set14
from clearer.engine.evaluate import as_measured_input, colors
from clearer.errors import ClearerError
from clearer.metrics import get_protocol
from clearer.nn.upscale import BicubicUpsample
from clearer.recipe import Recipe, apply_overrides
from clearer.spaces.clearer_space import ClearerSpace
from clearer.spaces.darts_space import DartsSpace
from clearer.train.inference import restore_image

PUBLISHED_BICUBIC_SET5_X2 = 33.66  # Y-PSNR, as SRCNN/VDSR list it


def _rgb(path) -> torch.Tensor:
    return torch.from_numpy(np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255).permute(2, 0, 1)


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("benchmark", [set5, set14])
def test_bicubic_downscale_reproduces_the_benchmarks_lr_files(data_dir, benchmark, scale):
    """Our imresize on each HR file gives the released LR file within one grey level (measured: identical)."""
    pairs = benchmark(scale=scale).pairs
    assert len(pairs) in (5, 14)
    for lr_path, hr_path in pairs:
        mine = imresize(_rgb(hr_path), 1 / scale, quantize=True)
        theirs = _rgb(lr_path)
        assert mine.shape == theirs.shape
        assert float((mine - theirs).abs().max()) * 255 <= 1 + 1e-6, lr_path.name


def test_bicubic_upsampling_of_set5_x2_scores_the_published_psnr(data_dir):
    protocol = get_protocol("sr").at_scale(2)
    scores = []
    for lr, hr in set5(scale=2).load(3):
        up = imresize(lr, 2, quantize=True)
        scores.append(protocol.measure(up, protocol.prepare(hr), color="y")["psnr"])
    assert abs(sum(scores) / len(scores) - PUBLISHED_BICUBIC_SET5_X2) < 0.05, scores


def test_torch_bicubic_is_not_matlab_bicubic(data_dir):
    """Why imresize exists: torch's bicubic (a = -0.75, no antialiasing) misses the LR files by far more."""
    (lr_path, hr_path), *_ = set5(scale=2).pairs
    theirs = _rgb(lr_path)
    torch_lr = torch.nn.functional.interpolate(_rgb(hr_path)[None], scale_factor=0.5, mode="bicubic")[0]
    assert float((torch_lr.clamp(0, 1) - theirs).abs().max()) * 255 > 5


@settings(max_examples=25, deadline=None)
@given(
    scale=st.integers(2, 4),
    height=st.integers(3, 20),
    width=st.integers(3, 20),
    seed=st.integers(0, 2**16),
)
def test_network_upsampler_is_imresize_for_any_size(scale, height, width, seed):
    x = torch.rand(1, 2, height, width, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    got = BicubicUpsample(scale)(x)
    assert got.shape == (1, 2, height * scale, width * scale)
    assert torch.allclose(got.double(), imresize(x, scale), atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(
    scale=st.sampled_from([0.25, 1 / 3, 0.5, 2.0, 3.0, 0.7, 1.5]),
    height=st.integers(4, 30),
    width=st.integers(4, 30),
    level=st.floats(0, 1),
)
def test_imresize_keeps_a_flat_image_flat_and_sizes_as_matlab(scale, height, width, level):
    x = torch.full((1, height, width), level, dtype=torch.float64)
    y = imresize(x, scale)
    assert y.shape[-2:] == (output_length(height, scale), output_length(width, scale))
    assert torch.allclose(y, x.new_full(y.shape, level), atol=1e-12)  # weights sum to one everywhere


def test_output_length_is_exact_for_thirds():
    assert output_length(255, 1 / 3) == 85 and output_length(256, 1 / 3) == 86 and output_length(85, 3.0) == 255


def test_bicubic_degradation_checks_its_inputs():
    down = bicubic(scale=3)
    assert down(torch.rand(2, 3, 12, 9)).shape == (2, 3, 4, 3)
    assert "×1/3" in down.describe()
    with pytest.raises(ClearerError, match="not a multiple of 3"):
        down(torch.rand(1, 1, 10, 9))
    for bad in (1, 2.0, True, 0):
        with pytest.raises(ClearerError, match="integer >= 2"):
            bicubic(scale=bad)


def test_sr_protocol_crops_to_the_scale_shaves_it_and_measures_y():
    protocol = get_protocol("sr").at_scale(3)
    assert protocol.crop_multiple == 3 and protocol.shave == 3
    assert protocol.prepare(torch.rand(3, 100, 50)).shape == (3, 99, 48)
    assert get_protocol("standard").at_scale(3).shave == 0  # only `sr` shaves
    clean = torch.rand(3, 30, 30)
    spoiled = clean.clone()
    spoiled[:, :3] = 0  # damage only the shaved border
    assert protocol.measure(spoiled, clean, color="y")["psnr"] > 40
    assert get_protocol("standard").measure(spoiled, clean, color="y")["psnr"] < 25
    assert colors(3, protocol) == {"": "y", "_rgb": "rgb"} and colors(3, get_protocol("standard"))[""] == "rgb"


def test_the_input_is_measured_as_its_bicubic_upscaling():
    lr, hr = torch.rand(1, 3, 8, 10), torch.rand(1, 3, 16, 20)
    assert torch.equal(as_measured_input(lr, hr), imresize(lr, 2, quantize=True))
    assert as_measured_input(hr, hr) is hr
    with pytest.raises(ClearerError, match="not one integer scale"):
        as_measured_input(lr, torch.rand(1, 3, 16, 21))


def test_sr_benchmarks_pair_their_files_and_split_crops_back(data_dir):
    pairs = set14(scale=3)
    assert len(pairs) == 14 and all(lr.name.replace("_LR", "_HR") == hr.name for lr, hr in pairs.pairs)
    stacked = pairs.images(3)[0]
    lr, hr = pairs.split(stacked[None])
    (lr0, hr0), *_ = pairs.load(3)
    assert torch.equal(lr[0], lr0) and torch.equal(hr[0], hr0)
    with pytest.raises(ClearerError, match="scales 2, 3, 4"):
        set5(scale=8)
    # BSD100 is BSDS500 val: never a picture that training (train) or α (test) sees
    assert len(bsd100()) == 100
    assert not overlapping(bsds500("train"), bsd100()) and not overlapping(bsds500("test"), bsd100())


@pytest.mark.parametrize("upsample", ["pre", "post"])
@pytest.mark.parametrize("scale", [2, 3])
def test_sr_spaces_upscale_and_start_as_bicubic(scale, upsample):
    torch.manual_seed(0)
    x = torch.rand(2, 3, 16, 24)
    arch = {"cell1/col0": "fusion", "cell2/col0": "parallel"}
    net = ClearerSpace(3, 8, 2, 1, 1, residual=True, architecture=arch, scale=scale, upsample=upsample).eval()
    with torch.no_grad():
        y = net(x)
    assert y.shape == (2, 3, 16 * scale, 24 * scale) and net.scale == scale
    assert torch.allclose(y, imresize(x, scale).float(), atol=1e-5)  # zero output conv: the bicubic base
    darts = DartsSpace(3, 8, 1, 1, residual=True, scale=scale, upsample=upsample)
    darts.set_weights({c.label: torch.full((len(c.candidates),), 1 / len(c.candidates)) for c in darts.choices()})
    with torch.no_grad():
        assert darts(x).shape == y.shape


def test_space_scale_must_be_a_whole_factor():
    with pytest.raises(ClearerError, match="integer >= 1"):
        ClearerSpace(channels=1, width=8, cells=1, columns=1, scale=1.5)
    with pytest.raises(ClearerError, match="'pre'"):
        ClearerSpace(channels=1, width=8, cells=1, columns=1, scale=2, upsample="middle")


class TinySR(torch.nn.Module):
    """A 2x-downsampling feature net and a x`scale` sub-pixel head over the bicubic base; radius < 16 LR px."""

    multiple = 2

    def __init__(self, scale: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.scale = scale
        self.up = BicubicUpsample(scale)
        self.a = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.b = torch.nn.Conv2d(4, 4, 3, padding=1)
        self.out = torch.nn.Conv2d(4, scale * scale, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = torch.relu(self.a(x))
        g = torch.nn.functional.interpolate(torch.relu(self.b(torch.nn.functional.avg_pool2d(f, 2))), scale_factor=2)
        return self.up(x) + 0.1 * torch.nn.functional.pixel_shuffle(self.out(f + g), self.scale)


@pytest.mark.parametrize("scale", [2, 3])
def test_tiled_sr_inference_matches_whole_images(scale):
    net = TinySR(scale).eval()
    x = torch.rand(1, 1, 75, 93)
    whole = restore_image(net, x, net.multiple, tile=None)
    tiled = restore_image(net, x, net.multiple, tile=40, overlap=32)
    assert whole.shape == (1, 1, 75 * scale, 93 * scale)
    assert torch.allclose(whole, tiled, atol=1e-5)
    assert restore_image(net, x[0], net.multiple, tile="auto").shape == (1, 75 * scale, 93 * scale)


def test_a_network_that_resizes_otherwise_is_refused():
    with pytest.raises(ClearerError, match="both times the same integer"):
        restore_image(lambda t: t[..., :-1, :], torch.rand(1, 1, 8, 8), 1)
    with pytest.raises(ClearerError, match="both times the same integer"):
        restore_image(lambda t: torch.nn.functional.interpolate(t, size=(16, 24)), torch.rand(1, 1, 8, 8), 1)


def _sr_recipe(**overrides) -> Recipe:
    base = Recipe().to_dict()
    changes = {
        "data.degradation": dict(name="bicubic", scale=2),
        "data.channels": 3,
        "space": dict(name="clearer", width=8, cells=2, columns=1, stem_blocks=1, residual=True),
        "evaluate.protocol": "sr",
        **overrides,
    }
    return Recipe.from_dict(apply_overrides(base, changes))


def test_the_network_scale_follows_the_degradation_and_patches_fit_it():
    from clearer.engine.build import build_space, check_recipe

    assert build_space(_sr_recipe(**{"data.patch": 32})).scale == 2
    check_recipe(_sr_recipe(**{"data.patch": 32}))
    with pytest.raises(ClearerError, match="data.patch=36 must be a multiple of 8"):
        check_recipe(_sr_recipe(**{"data.patch": 36}))
    with pytest.raises(ClearerError, match="space.scale=3"):
        build_space(_sr_recipe(**{"space.scale": 3}))


def bounded_sr_script() -> str:
    """test_inference's bounded-memory script with a ×2 network on the 2000×1500 image that becomes 4000×3000."""
    from test_inference import BOUNDED_SCRIPT

    changes = {
        "architecture=arch)": "architecture=arch, scale=2)",
        "x = torch.rand(1, 3000, 4000)": "x = torch.rand(1, 1500, 2000)",
        "per_pixel * 4000 * 3000": "per_pixel * 2000 * 1500",
    }
    script = BOUNDED_SCRIPT
    for old, new in changes.items():
        assert script.count(old) == 1, old
        script = script.replace(old, new)
    return script


@pytest.mark.slow
def test_4000x3000_sr_output_stays_within_the_memory_budget():
    """A ×2 network making a 12-Mpx picture from a 2000×1500 one runs in tiles of the LR image, and the
    process grows by at most twice the budget plus a few output-sized buffers (as test_inference's bound)."""
    import platform

    from test_inference import _python

    if platform.system() != "Linux":
        pytest.skip("measures the peak RSS through /proc")
    got = _python(bounded_sr_script(), CLEARER_INFERENCE_MEMORY="128MiB", OMP_NUM_THREADS="1")
    output = 3000 * 4000 * 4
    assert got["shape"] == [1, 3000, 4000] and got["tiles"] is not None
    assert got["whole"] > 2 * got["budget"]  # untiled it would need more than twice the budget
    assert got["grew"] < 2 * got["budget"] + 4 * output, got
