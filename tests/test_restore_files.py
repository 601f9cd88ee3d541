"""`clearer restore` (and `clearer.load`, `export`, `evaluate`) on image files and run folders nobody
listed: generated files in every PIL mode a format can hold either give a clear error (exit 2, no
traceback, nothing written) or the PNG the Python API gives for the same file, alpha included; a run
whose weights hold NaN is refused by every entry point; the exported program takes the sizes the docs
promise. One smoke run of recipes/bsd.py is shared by every test."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from PIL import Image
from safetensors.torch import load_file, save_file
from test_restore_inputs import pil_images

import clearer
from clearer.errors import ClearerError

from conftest import FAST, RECIPES, SMOKE, bad, cli, has_data

pytestmark = [
    pytest.mark.usefixtures("restore_registries", "one_thread"),
    pytest.mark.skipif(not has_data(), reason="CLEARER_DATA is not set to the benchmark data folder"),
]

# the format each mode is written in (modes no format holds are skipped)
FORMATS = {"F": "TIFF", "I": "TIFF", "CMYK": "TIFF", "YCbCr": "JPEG", "LAB": "TIFF", "I;16": "PNG"}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("files") / "run"
    result = cli("run", RECIPES / "bsd.py", *SMOKE, "--out", out, *FAST)
    assert result.code == 0, result.err[-3000:]
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(image=pil_images())
def test_restore_writes_what_the_api_gives_or_refuses_cleanly(image, run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("case")
    path = folder / f"in.{FORMATS.get(image.mode, 'PNG').lower()}"
    try:
        image.save(path, format=FORMATS.get(image.mode, "PNG"))
    except (OSError, KeyError, ValueError):
        return  # a mode this format cannot hold: nothing to restore
    model = clearer.load(run)
    try:
        expected = model.restore(Image.open(path))
    except ClearerError as error:
        bad("restore", path, "--run", run, "--out", folder / "out", says=_reason(error))
        assert not (folder / "out").exists() or not list((folder / "out").iterdir())
        return
    result = cli("restore", path, "--run", run, "--out", folder / "out")
    assert result.code == 0 and "Traceback" not in result.err, result.err[-2000:]
    written = Image.open(folder / "out" / "in.png")
    assert written.mode == expected.mode and written.size == Image.open(path).size
    assert np.array_equal(np.asarray(written), np.asarray(expected))


def _reason(error: ClearerError) -> str:
    """The part of an error about the pixels, not about where they came from."""
    return str(error).replace("the PIL image", "").split(";")[0].strip()[:50]


def test_restore_keeps_alpha_and_orientation(run, tmp_path):
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (20, 12, 4), dtype=np.uint8)
    Image.fromarray(rgba).save(tmp_path / "glass.png")
    stored = Image.fromarray(rng.integers(0, 256, (12, 20), dtype=np.uint8))
    exif = stored.getexif()
    exif[0x0112] = 8  # displayed rotated 90 degrees counter-clockwise
    stored.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    result = cli("restore", tmp_path / "glass.png", tmp_path / "phone.jpg", "--run", run, "--out", tmp_path / "out")
    assert result.code == 0, result.err
    glass = Image.open(tmp_path / "out" / "glass.png")
    assert glass.mode == "LA" and np.array_equal(np.asarray(glass)[:, :, 1], rgba[:, :, 3])
    assert Image.open(tmp_path / "out" / "phone.png").size == (12, 20)  # upright, as displayed


@pytest.mark.parametrize("kind", ["gif", "tiff"])
def test_multi_frame_files_are_refused(run, tmp_path, kind):
    frames = [Image.fromarray(np.full((8, 8), v, np.uint8)) for v in (10, 200)]
    path = tmp_path / f"many.{kind}"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    bad("restore", path, "--run", run, "--out", tmp_path / "out", says="holds 2 frames", watch=(path,))


def test_nan_weights_are_refused_by_every_entry_point(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    tensors = load_file(copy / "model.safetensors")
    name = next(k for k, t in tensors.items() if t.is_floating_point() and t.numel() > 3)
    tensors[name].view(-1)[:3] = float("nan")
    save_file(tensors, copy / "model.safetensors")
    says = ("NaN or infinite", f"{name} (3 of")
    with pytest.raises(ClearerError, match="NaN or infinite"):
        clearer.load(copy)
    image = tmp_path / "x.png"
    Image.fromarray(np.full((16, 16), 90, np.uint8)).save(image)
    bad("restore", image, "--run", copy, "--out", tmp_path / "out", says=says)
    bad("evaluate", copy, "--out", tmp_path / "eval", says=says)
    bad("export", copy, "--format", "pt2", "--out", tmp_path / "m.pt2", says=says)
    assert not (tmp_path / "out").exists() and not (tmp_path / "m.pt2").exists()


@pytest.mark.slow
def test_exported_program_takes_the_smallest_documented_size(run, tmp_path):
    model = clearer.load(run)
    result = clearer.export(run, "pt2", tmp_path / "m.pt2")
    program = torch.export.load(str(tmp_path / "m.pt2")).module()
    small = 2 * model.multiple  # docs/api.md: multiples of model.multiple, at least twice it
    for shape in [(1, 1, small, small), (3, 1, small, 3 * small), (1, 1, 5 * small, small)]:
        x = torch.rand(shape, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            assert torch.allclose(program(x), model(x), atol=1e-5), shape
    assert result.max_abs_diff < 1e-4
