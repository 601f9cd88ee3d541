"""Paired (degraded, clean) datasets: rain_pairs and rain100l on the real Rain100L pairs, every layout and error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from clearer.data.datasets import ImageSet
from clearer.data.degradations import gaussian
from clearer.data.images import read_image
from clearer.data.paired import (
    Degraded,
    PairedSet,
    PairSource,
    as_pairs,
    paired_folder,
    rain100l,
    rain_pairs,
    side_by_side,
)
from clearer.data.patches import PatchSampler
from clearer.data.stream import make_stream
from clearer.engine.evaluate import evaluation_pairs
from clearer.errors import ClearerError
from clearer.metrics import get_protocol
from clearer.registry import DATASETS

from conftest import noise_pngs


@pytest.fixture
def rain100l_dir(data_dir) -> Path:
    return data_dir / "Rain100L-val"


def _png(path: Path, height: int, width: int, value: int = 0, rgb: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (height, width, 3) if rgb else (height, width)
    Image.fromarray(np.full(shape, value, np.uint8)).save(path)
    return path


# ---------------------------------------------------------------- real data


def test_rain_pairs_on_rain100l(rain100l_dir):
    s = rain_pairs("Rain100L-val")  # relative to CLEARER_DATA
    assert isinstance(s, PairedSet) and isinstance(s, PairSource) and len(s) == 20
    assert s.name == "rain_pairs:Rain100L-val"
    # numeric order, rain-NNN paired with norain-NNN
    assert [p.name for p in s.inputs] == [f"rain-{n:03d}.png" for n in range(1, 21)]
    assert [p.name for p in s.targets] == [f"norain-{n:03d}.png" for n in range(1, 21)]
    assert s.paths == s.targets
    for inp, tgt in s.load(3)[:4]:
        assert inp.shape == tgt.shape and inp.shape[0] == 3 and inp.dtype == torch.float32
        # pixel-aligned pairs: rain only adds light, and leaves most pixels exactly as they were
        assert float((inp - tgt).min()) >= 0.0 and float((inp == tgt).float().mean()) > 0.4
    gray = rain_pairs("Rain100L-val", limit=2).load(1)
    assert len(gray) == 2 and gray[0][0].shape[0] == 1
    assert len(rain_pairs(str(rain100l_dir), limit=3)) == 3  # absolute path
    assert DATASETS.get("rain_pairs") is rain_pairs


def test_rain100l_splits_are_the_two_halves(rain100l_dir):
    whole, tune, held = rain100l("val"), rain100l("tune"), rain100l("heldout")
    assert (len(whole), len(tune), len(held)) == (20, 10, 10)
    assert tune.pairs + held.pairs == whole.pairs
    assert held.inputs[0].name == "rain-011.png" and held.name == "rain100l-heldout"
    assert len(rain100l("heldout", limit=2)) == 2
    with pytest.raises(ClearerError, match="valid splits: val, tune, heldout"):
        rain100l("test")


def test_skip_and_limit_cut_disjoint_parts(rain100l_dir):
    first, rest = rain_pairs("Rain100L-val", limit=5), rain_pairs("Rain100L-val", skip=5)
    assert len(first) == 5 and len(rest) == 15 and not set(first.inputs) & set(rest.inputs)
    assert rest.name == "rain_pairs:Rain100L-val-from5"
    with pytest.raises(ClearerError, match=r"skip=20 must be an integer in \[0, 20\)"):
        rain_pairs("Rain100L-val", skip=20)


# ---------------------------------------------------------------- layouts in tmp folders


def test_paired_folder_matches_by_stem_and_sorts_naturally(tmp_path, monkeypatch):
    for i, n in enumerate((10, 2, 1)):
        _png(tmp_path / "d" / "input" / f"img{n}.jpg", 4, 6, 100 + i)
        _png(tmp_path / "d" / "target" / f"img{n}.png", 4, 6, 10 + i)
    monkeypatch.setenv("CLEARER_DATA", str(tmp_path))
    s = paired_folder("d")
    assert [p.stem for p in s.inputs] == ["img1", "img2", "img10"]
    assert [(a.suffix, b.suffix) for a, b in s.pairs] == [(".jpg", ".png")] * 3
    inp, tgt = s.load(1)[0]
    assert inp.shape == tgt.shape == (1, 4, 6) and not torch.equal(inp, tgt)
    assert len(paired_folder(str(tmp_path / "d"), limit=2)) == 2
    _png(tmp_path / "e" / "rainy" / "a.png", 3, 3)
    _png(tmp_path / "e" / "gt" / "a.png", 3, 3)
    assert len(paired_folder(str(tmp_path / "e"), input="rainy", target="gt")) == 1
    with pytest.raises(ClearerError, match="limit"):
        paired_folder(str(tmp_path / "d"), limit=0)


def test_rain_pairs_one_and_two_folders(tmp_path):
    for n in (3, 12, 1):
        _png(tmp_path / "one" / f"rain-{n}.png", 5, 4, 200)
        _png(tmp_path / "one" / f"norain-{n}.png", 5, 4, 50)
    _png(tmp_path / "one" / "rainstreak-1.png", 5, 4)  # other Rain100L files are ignored
    s = rain_pairs(str(tmp_path / "one"))
    assert [p.name for p in s.inputs] == ["rain-1.png", "rain-3.png", "rain-12.png"]
    inp, tgt = s.load(3)[2]
    assert abs(float(inp.mean()) - 200 / 255) < 1e-6 and abs(float(tgt.mean()) - 50 / 255) < 1e-6
    for n in (1, 2):
        _png(tmp_path / "rain" / f"rain-00{n}.png", 5, 4)
        _png(tmp_path / "clean" / f"norain-{n}.png", 5, 4)
    two = rain_pairs(str(tmp_path / "rain"), target_path=str(tmp_path / "clean"))
    assert [(a.name, b.name) for a, b in two.pairs] == [
        ("rain-001.png", "norain-1.png"),
        ("rain-002.png", "norain-2.png"),
    ]


def test_side_by_side_splits_halves(tmp_path):
    img = np.zeros((4, 10, 3), np.uint8)
    img[:, :5] = 30  # clean on the left
    img[:, 5:] = 220  # rainy on the right
    Image.fromarray(img).save(tmp_path / "2.png")
    Image.fromarray(img).save(tmp_path / "10.png")
    s = side_by_side(str(tmp_path))
    assert [p.name for p in s.inputs] == ["2.png", "10.png"]
    inp, tgt = s.load(3)[0]
    assert inp.shape == tgt.shape == (3, 4, 5)
    assert abs(float(inp.mean()) - 220 / 255) < 1e-6 and abs(float(tgt.mean()) - 30 / 255) < 1e-6
    inp, tgt = side_by_side(str(tmp_path), clean="right", limit=1).load(1)[0]
    assert [p.name for p in side_by_side(str(tmp_path), skip=1).inputs] == ["10.png"]  # α on a disjoint part
    assert float(inp.mean()) < float(tgt.mean())
    with pytest.raises(ClearerError, match="'left' or 'right'"):
        side_by_side(str(tmp_path), clean="middle")


# ---------------------------------------------------------------- one interface: (input, target) pairs


def _inverted_pairs(tmp_path: Path, count: int = 3, size: tuple[int, int] = (40, 56)) -> PairedSet:
    """Pairs whose input is the negative of the target: input + target == 1 wherever both are cut."""
    targets = noise_pngs(tmp_path / "target", count, size=size)
    (tmp_path / "input").mkdir()
    for t in targets:
        Image.fromarray(255 - np.asarray(Image.open(t))).save(tmp_path / "input" / t.name)
    return paired_folder(str(tmp_path))


def test_real_pairs_are_their_own_source_and_clean_images_are_wrapped_with_the_degradation(tmp_path):
    noise = gaussian(25)
    pairs = PairedSet("x", [("a.png", "b.png")])
    assert isinstance(pairs.pairs[0][0], Path) and len(pairs) == 1
    assert as_pairs(pairs, noise) is pairs and pairs.describe() == "real pairs"
    clean = ImageSet("y", noise_pngs(tmp_path, 2))
    assert not isinstance(clean, PairSource)
    wrapped = as_pairs(clean, noise)
    assert wrapped == Degraded(clean, noise) and isinstance(wrapped, PairSource)
    assert wrapped.describe() == noise.describe() and wrapped.name == "y" and len(wrapped) == 2
    assert wrapped.inputs == clean.paths
    image = wrapped.images(1)[0][None]
    degraded, target = wrapped.split(image, torch.Generator().manual_seed(3))
    assert target is image and torch.equal(degraded, noise(image, torch.Generator().manual_seed(3)))


def test_stacked_real_pairs_split_back_into_input_and_target(tmp_path):
    s = _inverted_pairs(tmp_path)
    for stacked, (inp, target) in zip(s.images(1), s.load(1)):
        assert stacked.shape == (2, 40, 56)
        got = s.split(stacked[None])
        assert torch.equal(got[0][0], inp) and torch.equal(got[1][0], target)


def test_training_stream_cuts_input_and_target_at_the_same_place(tmp_path):
    stream = make_stream(_inverted_pairs(tmp_path), gaussian(25), 1, 16, 8, 0, torch.device("cpu"), False)
    assert stream.describe() == "real pairs"
    for _ in range(3):
        inp, target = next(stream)
        assert inp.shape == target.shape == (8, 1, 16, 16)
        assert torch.allclose(inp + target, torch.ones_like(inp), atol=1e-6)


def test_training_stream_of_clean_images_degrades_the_crops_with_its_own_generator(tmp_path):
    """Crops from the sampler seeded `seed`, noise from a generator seeded `seed + 1`."""
    clean, noise = ImageSet("c", noise_pngs(tmp_path, 3)), gaussian([10, 50])
    stream = make_stream(clean, noise, 1, 16, 4, 7, torch.device("cpu"), False)
    sampler, generator = PatchSampler(clean.load(1), 16, 4, 7), torch.Generator().manual_seed(8)
    for _ in range(2):
        crops = sampler.sample()
        inp, target = next(stream)
        assert torch.equal(target, crops) and torch.equal(inp, noise(crops, generator))
    assert stream.describe() == noise.describe()


def test_evaluation_pairs_seed_each_image_by_its_index_and_skip_pairs_that_measure_nothing(tmp_path):
    protocol, logged = get_protocol("clearer"), []  # centre crop to multiples of 64
    noise = protocol.noise(25)
    clean = ImageSet("c", noise_pngs(tmp_path / "c", 2, size=(70, 130)))
    got = list(evaluation_pairs(clean, 1, protocol, noise, logged.append))
    assert [name for *_, name in got] == ["0", "1"]
    for i, (inp, target, _) in enumerate(got):
        want = protocol.prepare(read_image(clean.paths[i], 1))[None]
        assert target.shape == (1, 1, 64, 128) and torch.equal(target, want)
        assert torch.equal(inp, noise(want, torch.Generator().manual_seed(i)))
    pairs = _inverted_pairs(tmp_path / "p", 2, size=(70, 130))
    same = pairs.pairs[0][1]
    pairs.pairs.insert(1, (same, same))  # a pair whose input equals its target
    got = list(evaluation_pairs(pairs, 1, protocol, noise, logged.append))
    assert [name for *_, name in got] == ["0", "1"] and logged == [f"skipping {same}: input and target are identical"]
    inp, target, _ = got[1]
    assert torch.equal(target, protocol.prepare(read_image(pairs.pairs[2][1], 1))[None])
    assert torch.equal(inp, protocol.prepare(read_image(pairs.pairs[2][0], 1))[None])


# ---------------------------------------------------------------- errors


def test_size_mismatch_names_both_files(tmp_path):
    _png(tmp_path / "input" / "a.png", 4, 6)
    _png(tmp_path / "target" / "a.png", 4, 7)
    s = paired_folder(str(tmp_path))  # sizes are only checked when loading
    with pytest.raises(ClearerError, match=r"input .*input/a\.png is 6x4.*target .*target/a\.png is 7x4"):
        s.load(3)
    _png(tmp_path / "r" / "rain-1.png", 8, 8)
    _png(tmp_path / "r" / "norain-1.png", 9, 8)
    with pytest.raises(ClearerError, match=r"rain-1\.png.*norain-1\.png"):
        rain_pairs(str(tmp_path / "r")).load(1)


def test_missing_partner_named_at_construction(tmp_path):
    _png(tmp_path / "input" / "a.png", 4, 4)
    _png(tmp_path / "input" / "b.png", 4, 4)
    _png(tmp_path / "target" / "a.png", 4, 4)
    with pytest.raises(ClearerError, match=r"input .*b\.png has no partner.*named b\{.*target"):
        paired_folder(str(tmp_path))
    _png(tmp_path / "target" / "b.png", 4, 4)
    _png(tmp_path / "target" / "c.png", 4, 4)
    with pytest.raises(ClearerError, match=r"target .*c\.png has no partner.*named c\{.*input"):
        paired_folder(str(tmp_path))
    _png(tmp_path / "r" / "rain-1.png", 4, 4)
    _png(tmp_path / "r" / "norain-1.png", 4, 4)
    _png(tmp_path / "r" / "rain-2.png", 4, 4)
    with pytest.raises(ClearerError, match=r"rain-2\.png has no partner: expected norain-2\.png"):
        rain_pairs(str(tmp_path / "r"))
    _png(tmp_path / "q" / "norain-5.png", 4, 4)
    _png(tmp_path / "q" / "rain-4.png", 4, 4)
    _png(tmp_path / "q" / "norain-4.png", 4, 4)
    with pytest.raises(ClearerError, match=r"norain-5\.png has no partner: expected rain-5\.png"):
        rain_pairs(str(tmp_path / "q"))


def test_other_construction_errors(tmp_path):
    _png(tmp_path / "x" / "photo.png", 4, 4)
    with pytest.raises(ClearerError, match="no rainy images named rain-N"):
        rain_pairs(str(tmp_path / "x"))
    with pytest.raises(ClearerError, match="does not exist"):
        rain_pairs(str(tmp_path / "nowhere"))
    _png(tmp_path / "y" / "input" / "a.png", 4, 4)
    _png(tmp_path / "y" / "input" / "a.jpg", 4, 4)
    _png(tmp_path / "y" / "target" / "a.png", 4, 4)
    with pytest.raises(ClearerError, match="ambiguous"):
        paired_folder(str(tmp_path / "y"))


def test_side_by_side_odd_width_names_file_and_size(tmp_path):
    _png(tmp_path / "good.png", 4, 10)
    _png(tmp_path / "odd.png", 4, 9)
    s = side_by_side(str(tmp_path))
    with pytest.raises(ClearerError, match=r"odd\.png is 9x4 .*does not fit the side-by-side layout"):
        s.load(3)
