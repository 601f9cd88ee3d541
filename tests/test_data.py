"""Data layer: image I/O, datasets and overlap checks, degradations, patch sampling, fetching."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from clearer.data import fetch as fetch_mod
from clearer.data.datasets import (
    ImageSet,
    bsd68,
    bsds500,
    cbsd68,
    image_folder,
    image_identity,
    overlapping,
    set12,
    train400,
)
from clearer.data.degradations import gaussian
from clearer.data.images import data_root, list_images, read_image, save_image
from clearer.data.paired import paired_folder
from clearer.data.patches import PatchSampler
from clearer.errors import ClearerError
from clearer.registry import DATASETS, DEGRADATIONS


def _png(path: Path, array: np.ndarray) -> Path:
    Image.fromarray(array).save(path)
    return path


# ---------------------------------------------------------------- images


def test_data_root_unset_and_missing(monkeypatch, tmp_path):
    monkeypatch.delenv("CLEARER_DATA", raising=False)
    with pytest.raises(ClearerError, match="CLEARER_DATA is not set.*clearer data fetch"):
        data_root()
    monkeypatch.setenv("CLEARER_DATA", str(tmp_path / "nope"))
    with pytest.raises(ClearerError, match="nope"):
        data_root()
    monkeypatch.setenv("CLEARER_DATA", str(tmp_path))
    assert data_root() == tmp_path


def test_read_image_gray_rgb_and_roundtrip(tmp_path):
    rgb = np.zeros((5, 7, 3), np.uint8)
    rgb[..., 0] = 255
    rgb[1, 2] = (10, 20, 30)
    path = _png(tmp_path / "a.png", rgb)
    x = read_image(path, 3)
    assert x.shape == (3, 5, 7) and x.dtype == torch.float32
    assert torch.allclose(x[:, 1, 2], torch.tensor([10, 20, 30]) / 255.0)
    g = read_image(path, 1)
    assert g.shape == (1, 5, 7)
    # PIL "L": L = R*299/1000 + G*587/1000 + B*114/1000
    assert round(g[0, 0, 0].item() * 255) == np.asarray(Image.open(path).convert("L"))[0, 0] == 76
    out = save_image(tmp_path / "sub" / "b.png", x)
    assert torch.equal(read_image(out, 3), x)
    save_image(tmp_path / "c.png", torch.full((1, 3, 3), 1.7))  # clamped
    assert read_image(tmp_path / "c.png", 1).max().item() == 1.0


def test_corrupt_and_missing_image_errors_name_the_file(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    with pytest.raises(ClearerError, match="broken.png"):
        read_image(bad, 1)
    with pytest.raises(ClearerError, match="missing.png"):
        read_image(tmp_path / "missing.png", 3)


def test_list_images_sorted_filtered_and_errors(tmp_path):
    for name in ("b.png", "a.JPG", "c.txt", "d.bmp"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path)] == ["a.JPG", "b.png", "d.bmp"]
    with pytest.raises(ClearerError, match="does not exist"):
        list_images(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ClearerError, match="no images"):
        list_images(tmp_path / "empty")


def test_image_folder_relative_to_data_root_and_limit(monkeypatch, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    for i in range(3):
        _png(folder / f"{i}.png", np.full((4, 4), i * 50, np.uint8))
    monkeypatch.setenv("CLEARER_DATA", str(tmp_path))
    s = image_folder("mine", limit=2)
    assert isinstance(s, ImageSet) and len(s) == 2
    imgs = s.load(1)
    assert imgs[1].shape == (1, 4, 4) and abs(imgs[1].mean().item() - 50 / 255) < 1e-6
    assert len(image_folder(str(folder))) == 3
    with pytest.raises(ClearerError, match="limit"):
        image_folder("mine", limit=0)
    assert DATASETS.get("image_folder") is image_folder


# ---------------------------------------------------------------- datasets (real data)


def test_bsds500_splits_and_exclude(data_dir):
    assert [len(bsds500(s)) for s in ("train", "val", "test")] == [200, 100, 200]
    kept = bsds500("val", exclude="bsd68")
    assert len(kept) == 32
    with pytest.raises(ClearerError, match="train, val, test"):
        bsds500("validation")
    assert len(bsds500("train", limit=5)) == 5
    assert (len(train400()), len(bsd68()), len(set12())) == (400, 68, 12)


def test_rain100l_backgrounds_are_bsds500_images_and_can_be_left_out(data_dir):
    from clearer.data.paired import rain100l

    rain = rain100l("val")
    pairs = overlapping(bsds500("train+val"), rain)
    assert len(pairs) == 20 and {p.parent.name for p, _ in pairs} == {"train", "val"}
    for jpg, png in (pairs[0], pairs[-1]):  # the mapped picture is the clean frame, pixel for pixel
        clean, photo = read_image(png, 3), read_image(jpg, 3)
        if clean.shape != photo.shape:
            photo = photo.transpose(-2, -1)
        assert float((clean - photo).abs().max()) <= 1 / 255 + 1e-6
    assert image_identity(rain.inputs[0]) == image_identity(rain.targets[0]) == "100075"  # rain-001 too
    kept = bsds500("train+val+test", exclude="rain100l")
    assert len(kept) == 500 - 91 and overlapping(kept, rain) == []
    both = bsds500("val", exclude=["bsd68", "rain100l"])
    assert both.name == "bsds500-val-minus-bsd68-minus-rain100l" and overlapping(both, bsd68()) == []
    with pytest.raises(ClearerError, match="valid: bsd68, rain100l"):
        bsds500("val", exclude="rain100h")
    with pytest.raises(ClearerError, match="joined by"):
        bsds500("train+train")


def test_bsd68_overlaps_bsds500_val_pixel_for_pixel(data_dir):
    pairs = overlapping(bsd68(), bsds500("val"))
    assert len(pairs) == 68
    assert overlapping(bsd68(), bsds500("val", exclude="bsd68")) == []
    assert overlapping(bsd68(), bsds500("train")) == []
    for png, jpg in (pairs[0], pairs[37], pairs[-1]):
        assert image_identity(png) == jpg.stem
        gray = read_image(jpg, 1)
        ref = read_image(png, 1)
        if gray.shape != ref.shape:  # same picture stored in the other orientation
            gray = gray.transpose(-2, -1)
        # same picture: equal up to JPEG-decoder rounding (libjpeg versions differ by 1 level on a few pixels)
        diff = (gray - ref).abs() * 255
        assert diff.max() <= 1.001 and (diff > 0.5).float().mean() < 1e-3, (png, jpg)
    other = read_image(pairs[1][1], 1)
    assert other.shape != ref.shape or ((other - ref).abs() * 255 > 0.5).float().mean() > 0.5


def test_cbsd68_is_bsd68_in_colour_in_bsd68_order(data_dir):
    colour, gray = cbsd68(), bsd68()
    assert colour.name == "cbsd68" and len(colour) == 68 and DATASETS.get("cbsd68") is cbsd68
    assert {p.parent.name for p in colour.paths} == {"val"}
    assert [image_identity(p) for p in colour.paths] == [image_identity(p) for p in gray.paths]
    # no CBSD68 picture in training or α data; every one of them among BSDS500 val
    assert overlapping(cbsd68(), bsds500("train")) == [] and overlapping(cbsd68(), bsds500("test")) == []
    assert overlapping(cbsd68(), bsds500("val", exclude="bsd68")) == []
    assert len(overlapping(cbsd68(), bsds500("val"))) == 68
    for i in (0, 41, 67):  # the i-th colour image is the i-th BSD68 image before its luma conversion
        rgb = read_image(colour.paths[i], 3)
        assert rgb.shape[0] == 3 and float((rgb[0] - rgb[1]).abs().mean()) > 0.01  # colour, not gray copies
        diff = (read_image(colour.paths[i], 1) - read_image(gray.paths[i], 1)).abs() * 255
        assert diff.max() <= 1.001 and (diff > 0.5).float().mean() < 1e-3, colour.paths[i]
    assert cbsd68(limit=3).paths == colour.paths[:3]


# ---------------------------------------------------------------- degradations


def test_sigma_validation_messages():
    for bad in (-1, 300, [10, 300], [5, 10, 15], "25"):
        with pytest.raises(ClearerError, match="sigma"):
            gaussian(bad)
    with pytest.raises(ClearerError, match="0-255"):
        gaussian(256.0)
    with pytest.raises(ClearerError, match="low > high"):
        gaussian([50, 10])
    assert DEGRADATIONS.get("gaussian") is gaussian


def test_gaussian_std_on_real_image(data_dir):
    clean = set12(limit=1).load(1)[0][None]
    deg = gaussian(25)
    noisy = deg(clean, torch.Generator().manual_seed(0))
    std = (noisy - clean).std().item()
    assert abs(std - 25 / 255) < 0.02 * 25 / 255
    assert deg.sigma == 25 and "σ=25" in deg.describe() and "unclipped" in deg.describe()
    assert noisy.min() < 0 or noisy.max() > 1  # float noise is not clipped


def test_clip_quantize_determinism_and_ranges():
    clean = torch.rand(4, 1, 32, 32)
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    q = gaussian(50, clip=True, quantize=True)(clean, g())
    assert q.min() >= 0 and q.max() <= 1
    assert torch.allclose(q * 255, (q * 255).round(), atol=1e-4)
    c = gaussian(50, clip=True)(clean, g())
    assert c.min() >= 0 and c.max() <= 1 and not torch.allclose(c * 255, (c * 255).round(), atol=1e-4)
    assert torch.equal(gaussian(50)(clean, g()), gaussian(50)(clean, g()))
    assert torch.equal(gaussian(0)(clean, g()), clean)
    deg = gaussian([0, 50])
    big = torch.full((64, 1, 48, 48), 0.5)
    stds = (deg(big, g()) - big).flatten(1).std(1) * 255
    assert stds.min() < 10 and stds.max() > 40 and stds.max() < 52
    assert deg.sigma == (0.0, 50.0) and "U[0,50]" in deg.describe()
    single = gaussian(10)(torch.rand(1, 8, 8), g())
    assert single.shape == (1, 8, 8)


# ---------------------------------------------------------------- patches


def _ramp(c: int, h: int, w: int, offset: int = 0) -> torch.Tensor:
    return (torch.arange(c * h * w, dtype=torch.float32) + offset).view(c, h, w)


def _is_crop(patch: torch.Tensor, images: list[torch.Tensor]) -> bool:
    p = patch.shape[-1]
    for img in images:
        hits = (img[0] == patch[0, 0, 0]).nonzero()
        for r, c in hits.tolist():
            if r + p <= img.shape[-2] and c + p <= img.shape[-1] and torch.equal(img[:, r : r + p, c : c + p], patch):
                return True
    return False


def test_patch_sampler_shapes_crops_and_sizes():
    images = [_ramp(2, 20, 30), _ramp(2, 40, 17, 10_000), _ramp(2, 16, 16, 50_000)]
    s = PatchSampler(images, patch=12, batch=24, seed=0, augment=False)
    batch = s.sample()
    assert batch.shape == (24, 2, 12, 12)
    assert all(_is_crop(p, images) for p in batch)  # portrait image crops come back upright
    # every image gets used
    starts = {int(p[0, 0, 0].item()) // 10_000 for _ in range(5) for p in s.sample()}
    assert starts == {0, 1, 5}
    aug = PatchSampler(images, patch=12, batch=64, seed=0, augment=True).sample()
    assert aug.shape == (64, 2, 12, 12)
    assert not all(_is_crop(p, images) for p in aug)  # some were flipped/rotated


def test_patch_sampler_determinism_and_resume():
    images = [torch.rand(1, 30, 25), torch.rand(1, 21, 40)]
    a, b = PatchSampler(images, 8, 4, seed=7), PatchSampler(images, 8, 4, seed=7)
    assert torch.equal(a.sample(), b.sample())
    assert not torch.equal(a.sample(), PatchSampler(images, 8, 4, seed=8).sample())
    state = a.state_dict()
    expected = [a.sample() for _ in range(3)]
    c = PatchSampler(images, 8, 4, seed=123)
    c.load_state_dict(state)
    assert all(torch.equal(x, c.sample()) for x in expected)
    with pytest.raises(ClearerError, match="same settings"):
        PatchSampler(images, 9, 4, seed=0).load_state_dict(state)


def test_patch_too_large_names_sizes():
    with pytest.raises(ClearerError, match=r"patch size 40 .*30x25"):
        PatchSampler([torch.rand(1, 50, 60), torch.rand(1, 30, 25)], 40, 2, seed=0)


# ---------------------------------------------------------------- fetch


@pytest.fixture
def http_dir(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _tiny_zip(path: Path) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        buf = Path(path.parent / "img.png")
        _png(buf, np.full((4, 4), 9, np.uint8))
        zf.write(buf, "Tiny-master/sets/Tiny/img.png")
        zf.writestr("Tiny-master/README", "hi")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fetch_good_and_bad_checksum(http_dir, tmp_path, monkeypatch, capsys):
    served, base = http_dir
    digest = _tiny_zip(served / "tiny.zip")
    src = fetch_mod.Source(f"{base}/tiny.zip", digest, "zip", "Tiny", "Tiny-master/sets/Tiny")
    monkeypatch.setitem(fetch_mod.SOURCES, "tiny", src)
    root = tmp_path / "data"
    root.mkdir()
    folder = fetch_mod.fetch("tiny", root)
    assert folder == root / "Tiny" and [p.name for p in list_images(folder)] == ["img.png"]
    assert sorted(p.name for p in root.iterdir()) == ["Tiny"]  # no archive or temp left

    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(ClearerError, match=f"expected sha256 {'0' * 64}, got {digest}"):
        fetch_mod.fetch("tiny", other, sha256="0" * 64)
    assert list(other.iterdir()) == []

    monkeypatch.setitem(fetch_mod.SOURCES, "tiny", src._replace(sha256=None))
    fetch_mod.fetch("tiny", other)
    assert "could not verify" in capsys.readouterr().out and (other / "Tiny" / "img.png").is_file()


def test_fetch_errors(tmp_path, http_dir):
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(ClearerError, match="Did you mean 'bsds500'"):
        fetch_mod.fetch("bsds50", root)
    _, base = http_dir
    with pytest.raises(ClearerError, match="could not download"):
        fetch_mod.fetch("set12", root, url=f"{base}/missing.zip")
    assert list(root.iterdir()) == []
    assert set(fetch_mod.SOURCES) >= {"bsds500", "train400", "bsd68", "set12"}


def test_relative_clearer_data_and_relative_dataset_paths(tmp_path, monkeypatch):
    """CLEARER_DATA may be relative (resolved once against the current folder); a relative dataset
    path= is always read under CLEARER_DATA, wherever the command runs."""
    for sub in ("mine/a.png", "pairs/input/b.png", "pairs/target/b.png"):
        (tmp_path / "data" / sub).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "data" / sub)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLEARER_DATA", "data")
    assert data_root() == tmp_path / "data" and data_root().is_absolute()
    assert image_folder("mine").paths == [tmp_path / "data" / "mine" / "a.png"]
    assert paired_folder("pairs").pairs[0][0] == tmp_path / "data" / "pairs" / "input" / "b.png"
    assert len(image_folder(str(tmp_path / "data" / "mine"))) == 1  # absolute paths as given
