"""Whole-image inference: padding to the network multiple, tiling, self-ensemble."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from clearer.engine.inference import owned_ranges, pad_to_multiple, restore_image, tile_starts
from clearer.errors import ClearerError
from clearer.metrics import psnr


class TinyUNet(nn.Module):
    """Two 2x down-samplings (needs sizes divisible by 4); receptive radius about 18 pixels."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.inp = nn.Conv2d(1, 4, 3, padding=1)
        self.mid = nn.Conv2d(4, 4, 3, padding=1)
        self.low = nn.Conv2d(4, 4, 3, padding=1)
        self.out = nn.Conv2d(4, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[-2] % 4 == 0 and x.shape[-1] % 4 == 0, x.shape
        a = torch.relu(self.inp(x))
        b = torch.relu(self.mid(nn.functional.avg_pool2d(a, 2)))
        c = torch.relu(self.low(nn.functional.avg_pool2d(b, 2)))
        up = nn.functional.interpolate(c, scale_factor=4, mode="nearest")
        return x + 0.1 * self.out(a + up)


def test_pad_and_crop_back_odd_size():
    seen = []

    def fn(x: torch.Tensor) -> torch.Tensor:
        seen.append((tuple(x.shape), torch.is_inference_mode_enabled()))
        return x * 2

    img = torch.rand(1, 77, 131)
    out = restore_image(fn, img, multiple=8)
    assert out.shape == img.shape and torch.allclose(out, img * 2)
    assert seen == [((1, 1, 80, 136), True)]
    padded, size = pad_to_multiple(torch.rand(1, 1, 3, 5), 8)  # too small to reflect
    assert padded.shape == (1, 1, 8, 8) and size == (3, 5)


def test_tiled_matches_untiled_on_odd_size():
    net = TinyUNet().eval()
    g = torch.Generator().manual_seed(0)
    clean = torch.rand(2, 1, 77, 131, generator=g)
    noisy = clean + 0.1 * torch.randn(clean.shape, generator=g)
    whole = restore_image(net, noisy, multiple=4)
    calls = []

    def counted(x: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(x.shape[-2:]))
        return net(x)

    tiled = restore_image(counted, noisy, multiple=4, tile=74, overlap=40)  # tile rounds down to 72
    assert len(calls) == 6 and all(c == (72, 72) for c in calls)
    assert tiled.shape == whole.shape
    assert abs(psnr(tiled, clean).mean().item() - psnr(whole, clean).mean().item()) < 0.01
    assert (tiled - whole).abs().max().item() < 1e-5
    # tile bigger than the image: one untiled call
    calls.clear()
    restore_image(counted, noisy, multiple=4, tile=256)
    assert calls == [(80, 132)]


def test_tile_geometry():
    starts = tile_starts(132, 48, 16, align=4)
    assert starts[0] == 0 and starts[-1] == 84 and all(s % 4 == 0 for s in starts)
    assert all(b - a <= 48 - 16 for a, b in zip(starts, starts[1:]))
    ranges = owned_ranges(starts, 48, 132)
    assert ranges[0][0] == 0 and ranges[-1][1] == 132
    assert all(r[1] == n[0] for r, n in zip(ranges, ranges[1:]))
    assert tile_starts(40, 48, 16) == [0]


def test_self_ensemble_identity_and_equivariance():
    img = torch.rand(3, 13, 21)
    assert torch.allclose(restore_image(lambda x: x, img, multiple=4, self_ensemble=True), img, atol=1e-6)
    # a function that is not flip/rotation-equivariant gets averaged over the 8 views
    bias = lambda x: x + torch.linspace(0, 1, x.shape[-1])  # noqa: E731
    out = restore_image(bias, img, multiple=1, self_ensemble=True)
    assert out.shape == img.shape and not torch.allclose(out, bias(img))
    assert torch.allclose(out - img, (out - img).mean(), atol=1e-5)  # the ramp averages out to a constant
    net = TinyUNet().eval()
    x = torch.rand(1, 1, 30, 45)
    assert restore_image(net, x, multiple=4, tile=32, overlap=8, self_ensemble=True).shape == x.shape


def test_errors():
    with pytest.raises(ClearerError, match="tile must be at least"):
        restore_image(lambda x: x, torch.rand(1, 64, 64), multiple=8, tile=32, overlap=32)
    with pytest.raises(ClearerError, match="changed the image size"):
        restore_image(lambda x: x[..., ::2, ::2], torch.rand(1, 16, 16), multiple=1)
    with pytest.raises(ClearerError, match=r"\[C,H,W\]"):
        restore_image(lambda x: x, torch.rand(16, 16), multiple=1)


def test_tiled_clearer_network_matches_untiled_within_a_hundredth_of_a_db(data_dir):
    """The real multi-scale space (3 resolution levels, large receptive field) on a real 481x321 image."""
    from clearer.data.images import read_image
    from clearer.metrics import psnr
    from clearer.spaces.clearer_space import ClearerSpace

    torch.manual_seed(0)
    arch = {"cell1/col0": "fusion", "cell2/col0": "parallel"}
    net = ClearerSpace(channels=1, width=8, cells=2, columns=1, stem_blocks=1, residual=True, architecture=arch).eval()
    clean = read_image(data_dir / "BSD68" / "test001.png", 1)
    noisy = clean + torch.randn(clean.shape, generator=torch.Generator().manual_seed(0)) * 25 / 255
    whole = restore_image(net, noisy, net.multiple)
    tiled = restore_image(net, noisy, net.multiple, tile=160, overlap=64)
    assert abs(float(psnr(tiled.clamp(0, 1), clean)) - float(psnr(whole.clamp(0, 1), clean))) < 0.01
    assert float(psnr(tiled, whole)) > 50
