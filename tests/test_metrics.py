"""PSNR/SSIM values and the named measurement protocols."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from clearer.errors import ClearerError
from clearer.metrics import PROTOCOLS, center_crop, get_protocol, psnr, rgb_to_y, ssim


def _numpy_ssim_valid(a: np.ndarray, b: np.ndarray) -> float:
    """Wang et al.'s ssim_index.m for one 2-D image in [0,255], written with explicit windows."""
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    wa = np.lib.stride_tricks.sliding_window_view(a, (11, 11))
    wb = np.lib.stride_tricks.sliding_window_view(b, (11, 11))
    mu_a, mu_b = (wa * w).sum((-2, -1)), (wb * w).sum((-2, -1))
    va = (wa**2 * w).sum((-2, -1)) - mu_a**2
    vb = (wb**2 * w).sum((-2, -1)) - mu_b**2
    cov = (wa * wb * w).sum((-2, -1)) - mu_a * mu_b
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    return float((((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (va + vb + c2))).mean())


def test_psnr_known_mse_and_shapes():
    x = torch.zeros(1, 8, 8)
    y = torch.full((1, 8, 8), 0.1)
    assert math.isclose(psnr(x, y).item(), 20.0, abs_tol=1e-5)  # mse 0.01
    assert math.isclose(psnr(x * 255, y * 255, data_range=255).item(), 20.0, abs_tol=1e-5)
    batch = psnr(torch.zeros(3, 1, 4, 4), torch.stack([torch.full((1, 4, 4), v) for v in (0.1, 0.01, 0.001)]))
    assert batch.shape == (3,) and torch.allclose(
        batch, torch.tensor([20.0, 40.0, 60.0], dtype=torch.float64), atol=1e-5
    )
    assert psnr(y, y).item() == math.inf
    with pytest.raises(ClearerError, match="differ in shape"):
        psnr(x, torch.zeros(1, 8, 9))


def test_ssim_identity_and_monotone_in_noise():
    g = torch.Generator().manual_seed(0)
    clean = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 68, 68, generator=g), 5, 1)[0]
    for window in ("gaussian", "matlab"):
        assert math.isclose(ssim(clean, clean, window).item(), 1.0, abs_tol=1e-9)
        values = [
            ssim(clean + s * torch.randn(clean.shape, generator=g), clean, window).item() for s in (0.02, 0.1, 0.3)
        ]
        assert values[0] > values[1] > values[2] and values[0] < 1
    with pytest.raises(ClearerError, match="gaussian, matlab"):
        ssim(clean, clean, "box")


def test_ssim_matlab_matches_explicit_window_reference():
    g = torch.Generator().manual_seed(1)
    a = torch.rand(2, 23, 31, generator=g)
    b = (a + 0.1 * torch.randn(a.shape, generator=g)).clamp(0, 1)
    ref = np.mean([_numpy_ssim_valid(a[c].double().numpy() * 255, b[c].double().numpy() * 255) for c in range(2)])
    assert math.isclose(ssim(a, b, "matlab").item(), ref, rel_tol=1e-6)  # float32 separable vs float64 2-D
    # the paper's gaussian/same-padding SSIM differs from it at the borders
    assert abs(ssim(a, b, "gaussian").item() - ref) > 1e-4


def test_ssim_matlab_on_real_image_at_sigma_25(data_dir):
    from clearer.data.datasets import set12
    from clearer.data.degradations import gaussian

    clean = set12(limit=1).load(1)[0]  # 01.png, 256x256
    noisy = gaussian(25)(clean[None], torch.Generator().manual_seed(0))[0]
    out = PROTOCOLS["standard"].measure(noisy, clean)
    assert 0.30 < out["ssim"] < 0.42
    assert 20.0 < out["psnr"] < 20.9  # 20.17 dB before output rounding/clipping
    assert 20.0 < psnr(noisy, clean).item() < 20.35


def _conv2d_ssim(x: torch.Tensor, y: torch.Tensor, window: str) -> float:
    """The former SSIM: a float64 2-D 11x11 Gaussian convolution ([0,255] scale for MATLAB style)."""
    from clearer.metrics import gaussian_window

    scale, padding = (1.0, 5) if window == "gaussian" else (255.0, 0)
    x, y = x[None].double() * scale, y[None].double() * scale
    c1, c2 = (0.01 * scale) ** 2, (0.03 * scale) ** 2
    blur = lambda t: torch.nn.functional.conv2d(t, gaussian_window()[None, None], padding=padding)  # noqa: E731
    mu_x, mu_y = blur(x), blur(y)
    var_x, var_y, cov = blur(x * x) - mu_x**2, blur(y * y) - mu_y**2, blur(x * y) - mu_x * mu_y
    value = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(value.mean())


@pytest.mark.slow
def test_ssim_matches_former_float64_conv2d_on_real_images(data_dir):
    """The separable float32 SSIM gives the former float64 2-D values to 1e-4 (it took 77 % of evaluation)."""
    from clearer.data.datasets import bsd68, set12
    from clearer.data.degradations import gaussian

    images = bsd68(limit=3).load(1) + set12(limit=2).load(1)
    for i, clean in enumerate(images):
        for sigma in (15, 50):
            noisy = gaussian(sigma, clip=True, quantize=True)(clean[None], torch.Generator().manual_seed(i))[0]
            for window in ("gaussian", "matlab"):
                assert abs(ssim(noisy, clean, window).item() - _conv2d_ssim(noisy, clean, window)) < 1e-4


def test_rgb_to_y_bt601():
    white, black = torch.ones(3, 2, 2), torch.zeros(1, 3, 2, 2)
    assert torch.allclose(rgb_to_y(white), torch.full((1, 2, 2), 235 / 255), atol=1e-6)
    assert torch.allclose(rgb_to_y(black), torch.full((1, 1, 2, 2), 16 / 255))
    red = torch.tensor([1.0, 0, 0]).view(3, 1, 1)
    assert math.isclose(rgb_to_y(red).item() * 255, 16 + 65.481, rel_tol=1e-6)
    with pytest.raises(ClearerError, match="RGB"):
        rgb_to_y(torch.zeros(1, 4, 4))


def test_protocols_prepare_measure_and_lookup():
    clearer, standard = get_protocol("clearer"), get_protocol("standard")
    img = torch.rand(1, 321, 481)
    assert clearer.prepare(img).shape == (1, 320, 448)
    assert torch.equal(clearer.prepare(img), img[:, 0:320, 16:464])
    assert standard.prepare(img).shape == img.shape
    assert center_crop(torch.rand(2, 1, 70, 130), 64).shape == (2, 1, 64, 128)
    assert clearer.as_dict()["ssim_window"] == "gaussian" and standard.ssim_window == "matlab"
    assert (clearer.clip_input, clearer.quantize_input, standard.clip_input, standard.quantize_output) == (
        True,
        True,
        False,
        True,
    )
    assert clearer.noise(30).clip and not standard.noise(25).quantize

    clean8 = torch.full((1, 16, 16), 128 / 255)
    out = torch.full((1, 16, 16), 0.5015)  # 127.9 on the 0-255 scale: rounds to the clean 128
    assert standard.measure(out, clean8)["psnr"] == math.inf
    assert clearer.measure(out, clean8)["psnr"] < 100
    assert clearer.measure(torch.full((1, 16, 16), 1.5), torch.ones(1, 16, 16))["psnr"] == math.inf  # clamped

    rgb = torch.rand(3, 24, 24)
    noisy = rgb + 0.05 * torch.randn(rgb.shape)
    on_y = clearer.measure(noisy, rgb, color="y")
    assert on_y["psnr"] != pytest.approx(clearer.measure(noisy, rgb)["psnr"])
    with pytest.raises(ClearerError, match="Did you mean 'standard'"):
        get_protocol("standart")
    with pytest.raises(ClearerError, match="color"):
        clearer.measure(noisy, rgb, color="ycbcr")
