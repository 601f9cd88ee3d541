"""Whole-image inference: padding to the network multiple, tiling, self-ensemble."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from clearer.errors import ClearerError
from clearer.metrics import psnr
from clearer.train.inference import owned_ranges, pad_to_multiple, restore_image, tile_starts


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


@settings(max_examples=30, deadline=None)
@given(height=st.integers(4, 23), width=st.integers(4, 23), upright=st.booleans(), multiple=st.sampled_from([1, 4]))
def test_every_self_ensemble_view_is_undone_and_upright_ones_never_turn_the_image(height, width, upright, multiple):
    image, seen = torch.rand(2, 3, height, width), []

    def net(x: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(x.shape[-2:]))
        return x

    out = restore_image(net, image, multiple, self_ensemble=True, upright=upright)
    torch.testing.assert_close(out, image)
    assert len(seen) == (4 if upright else 8)
    padded = tuple(-(-n // multiple) * multiple for n in (height, width))
    assert sum(shape != padded for shape in seen) == (0 if upright or padded[0] == padded[1] else 4)


def test_an_upright_ensemble_of_a_network_that_only_knows_vertical_lines_is_that_network():
    """A stand-in for a derainer: it smooths along columns only (flip-equivariant, not turn-equivariant)."""

    def along_columns(x: torch.Tensor) -> torch.Tensor:
        return nn.functional.avg_pool2d(x, (5, 1), stride=1, padding=(2, 0), count_include_pad=False)

    image = torch.rand(1, 1, 24, 40)
    alone = along_columns(image)
    torch.testing.assert_close(restore_image(along_columns, image, 1, self_ensemble=True, upright=True), alone)
    turned = restore_image(along_columns, image, 1, self_ensemble=True)  # half its views smooth along rows
    assert (turned - alone).abs().mean() > 0.02


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


# ------------------------------------------------------------------ issue 27: allocator, tiles only when needed

ALLOCATOR_SCRIPT = """
import ctypes, hashlib, json, torch
from torch import nn
from clearer.train.allocator import keep_freed_memory
from clearer.train.inference import restore_image

class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 1, 3, padding=1)).eval()
x = torch.rand(1, 1, 256, 256, generator=torch.Generator().manual_seed(1))
y = restore_image(net, x, 1, tile=None)  # applies the allocator setting on its first call
big = torch.empty(16 * 2**20)  # 64 MiB: served by mmap unless the thresholds were raised
mapped = libc.mallinfo2().hblkhd
del big
print(json.dumps({"applied": keep_freed_memory(), "mapped": mapped, "sha": hashlib.sha256(y.numpy().tobytes()).hexdigest()}))
"""


def _python(script: str, **env: str) -> dict:
    import json
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env={**os.environ, **env}
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_allocator_keeps_large_blocks_and_changes_no_result():
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("the allocator setting applies to glibc on Linux only")
    kept, default = _python(ALLOCATOR_SCRIPT), _python(ALLOCATOR_SCRIPT, CLEARER_KEEP_MEMORY="0")
    assert kept["applied"] and not default["applied"]
    assert kept["mapped"] < 2**26 <= default["mapped"]  # the 64 MiB block came from the heap, not a fresh mmap
    assert kept["sha"] == default["sha"]  # bit-identical output


def test_activation_footprint_is_the_measured_peak():
    from clearer.train.inference import _PeakBytes, activation_footprint

    net = TinyUNet().eval()
    constant, per_pixel = activation_footprint(net, torch.rand(1, 1, 50, 70), multiple=4)
    assert per_pixel > 0
    with torch.inference_mode(), _PeakBytes() as meter:
        net(torch.zeros(1, 1, 96, 160))
    assert meter.peak == pytest.approx(constant + per_pixel * 96 * 160, rel=0.02)


def test_auto_tile_whole_when_it_fits_tiles_when_not():
    from clearer.train.inference import activation_footprint, auto_tile

    net = TinyUNet().eval()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 150, 250, generator=g)
    whole = restore_image(net, x, multiple=4)
    _, per_pixel = activation_footprint(net, x, multiple=4)
    need = per_pixel * 2 * 152 * 252  # the padded batch
    assert auto_tile(net, x, 4, 40, budget=int(need) + 1) is None
    calls = []

    def counted(t: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(t.shape[-2:]))
        return net(t)

    fits = restore_image(counted, x, multiple=4, tile="auto", overlap=40, budget=int(need) + 1)
    assert calls[-1] == (152, 252) and torch.equal(fits, whole)  # whole image: the same computation
    budget = int(need / 5)
    th, tw = auto_tile(net, x, 4, 40, budget=budget)
    assert th * tw * per_pixel * 2 <= budget and th % 4 == 0 and tw % 4 == 0
    calls.clear()
    tiled = restore_image(counted, x, multiple=4, tile="auto", overlap=40, budget=budget)
    tiles = [c for c in calls if c == (th, tw)]
    assert len(tiles) > 1 and len(tiles) >= len(calls) - 2  # besides at most the two probes of a new fn
    assert tiled.shape == whole.shape and (tiled - whole).abs().max().item() < 1e-5


def test_balanced_tiles_and_memory_budget(monkeypatch):
    from clearer.train.inference import MEMORY_BUDGET, balanced_tile, memory_budget

    assert balanced_tile(1704, 1576, 64, 8) == 888  # two tiles either way; the smaller one computes less
    assert len(tile_starts(1704, 888, 64, 8)) == 2
    assert balanced_tile(400, 512, 64, 8) == 400
    for length, largest in [(3000, 512), (4000, 1000), (648, 136)]:
        tile = balanced_tile(length, largest, 64, 8)
        assert tile <= largest and tile % 8 == 0
        assert len(tile_starts(length, tile, 64, 8)) == len(tile_starts(length, largest, 64, 8))
    monkeypatch.delenv("CLEARER_INFERENCE_MEMORY", raising=False)
    assert memory_budget() == MEMORY_BUDGET
    for text, value in [("512MiB", 2**29), ("1.5GB", 1.5e9), ("3gib", 3 * 2**30), ("1000", 1000)]:
        monkeypatch.setenv("CLEARER_INFERENCE_MEMORY", text)
        assert memory_budget() == value
    monkeypatch.setenv("CLEARER_INFERENCE_MEMORY", "lots")
    with pytest.raises(ClearerError, match="not a memory size"):
        memory_budget()
    with pytest.raises(ClearerError, match="'auto' or None"):
        restore_image(lambda x: x, torch.rand(1, 16, 16), multiple=1, tile="big")


BOUNDED_SCRIPT = """
import json, torch
from clearer.spaces.clearer_space import ClearerSpace
from clearer.train.inference import activation_footprint, auto_tile, memory_budget, restore_image

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

torch.manual_seed(0)
arch = {"cell1/col0": "fusion", "cell2/col0": "parallel"}
net = ClearerSpace(channels=1, width=8, cells=2, columns=1, stem_blocks=1, residual=True, architecture=arch).eval()
x = torch.rand(1, 3000, 4000)
_, per_pixel = activation_footprint(net, x, net.multiple)
open("/proc/self/clear_refs", "w").write("5")  # the peak RSS starts again from here
before = status("VmRSS")
y = restore_image(net, x, net.multiple, "auto", 64)
print(json.dumps({"grew": status("VmHWM") - before, "budget": memory_budget(), "whole": per_pixel * 4000 * 3000,
                  "tiles": auto_tile(net, x[None], net.multiple, 64), "shape": list(y.shape)}))
"""


@pytest.mark.slow
def test_4000x3000_restore_stays_within_the_memory_budget():
    """A 12-Mpx photograph whose whole-image activations exceed the budget runs in tiles, and the process
    grows by at most twice the budget plus a few image-sized buffers (input padding, output, stitching).

    Why twice: the budget counts live activation bytes; with freed blocks kept in the heap (allocator.py)
    the heap also holds the gaps between them, measured 1.3-1.6x the live peak here (1.0x without)."""
    import platform

    if platform.system() != "Linux":
        pytest.skip("measures the peak RSS through /proc")
    got = _python(BOUNDED_SCRIPT, CLEARER_INFERENCE_MEMORY="512MiB")
    image = 3000 * 4000 * 4
    assert got["shape"] == [1, 3000, 4000] and got["tiles"] is not None
    assert got["whole"] > 2 * got["budget"]  # untiled it would need more than twice the budget
    assert got["grew"] < 2 * got["budget"] + 4 * image, got
