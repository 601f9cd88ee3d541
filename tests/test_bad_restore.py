"""Hostile and careless `clearer restore`: images, places and outputs that must never overwrite an input."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from clearer.data.images import read_image

from conftest import bad, cli, digest, needs_data, png, truncate, write

pytestmark = pytest.mark.usefixtures("restore_registries", "one_thread")


@needs_data
def test_restore_into_the_folder_of_its_input_never_overwrites_it(finished_run, tmp_path):
    folder = tmp_path / "D"
    photo = png(folder / "photo.png", np.random.default_rng(0).integers(0, 255, (40, 48), dtype=np.uint8))
    before = digest(photo)
    result = cli("restore", photo, "--run", finished_run, "--out", folder)
    assert result.code == 0, result.err
    assert digest(photo) == before and (folder / "photo-2.png").is_file()
    again = cli("restore", photo, "--run", finished_run, "--out", folder, "--overwrite")
    assert again.code == 0 and digest(photo) == before  # --overwrite replaces outputs, never inputs


@needs_data
def test_restore_same_stem_from_two_folders_gets_unique_names(finished_run, tmp_path):
    a = png(tmp_path / "a" / "x.png", np.full((40, 40), 50, np.uint8))
    b = png(tmp_path / "b" / "x.png", np.full((40, 40), 200, np.uint8))
    result = cli("restore", a, b, "--run", finished_run, "--out", tmp_path / "out")
    assert result.code == 0, result.err
    outs = [tmp_path / "out" / "x.png", tmp_path / "out" / "x-2.png"]
    assert [str(p) for p in outs] == result.out.split()
    means = [np.asarray(Image.open(p)).mean() for p in outs]
    assert means[0] < 128 < means[1]  # each output comes from its own input


@needs_data
def test_restore_refuses_existing_outputs(finished_run, tmp_path):
    image = png(tmp_path / "in" / "photo.png", np.full((40, 40), 90, np.uint8))
    earlier = write(tmp_path / "out" / "photo.png", "earlier result")
    bad(
        "restore",
        image,
        "--run",
        finished_run,
        "--out",
        tmp_path / "out",
        says=("photo.png", "--overwrite"),
        watch=(image, earlier),
    )


def _bomb(path: Path, side: int = 60_000) -> Path:
    """A PNG whose header claims side x side pixels (a decompression bomb) in a few dozen bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )
    return path


RESTORE_INPUTS = {
    "missing": (lambda d: d / "nope.png", "not found"),
    "text": (lambda d: write(d / "notes.png", "not an image"), "cannot read image file"),
    "empty": (lambda d: write(d / "empty.png", ""), "cannot read image file"),
    "truncated": (
        lambda d: (truncate(png(d / "cut.png", np.full((64, 64), 7, np.uint8)), 60), d / "cut.png")[1],
        "cannot read image file",
    ),
    "bomb": (lambda d: _bomb(d / "bomb.png"), "decompression bomb"),
    "float tiff": (
        lambda d: (Image.fromarray(np.full((8, 8), 255.0, np.float32)).save(d / "f.tif"), d / "f.tif")[1],
        "outside [0, 1]",
    ),
    "folder": (lambda d: (d / "sub.png").mkdir() or d / "sub.png", "not found"),
}


@needs_data
@pytest.mark.parametrize("case", list(RESTORE_INPUTS))
def test_restore_bad_image(case, finished_run, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    make, says = RESTORE_INPUTS[case]
    image = make(folder)
    bad("restore", image, "--run", finished_run, "--out", tmp_path / "out", says=says, watch=(folder, finished_run))


@needs_data
def test_restore_bad_places(finished_run, tmp_path):
    image = png(tmp_path / "in" / "photo.png", np.full((40, 40), 90, np.uint8))
    a_file = write(tmp_path / "file.txt", "mine")
    watch = (image, a_file, finished_run)
    bad("restore", image, "--run", finished_run, "--out", a_file, says="is a file", watch=watch)
    bad("restore", image, "--run", finished_run, "--out", a_file / "sub", says="cannot write", watch=watch)
    bad(
        "restore",
        image,
        "--run",
        tmp_path / "norun",
        "--out",
        tmp_path / "o",
        says="norun does not exist",
        watch=watch,
    )
    bad(
        "restore",
        image,
        "--run",
        finished_run,
        "--out",
        tmp_path / "o",
        "--tile",
        "0",
        says="tile must be at least",
        watch=watch,
    )


def test_sixteen_bit_png_keeps_its_range(tmp_path):
    """Regression: I;16 -> L clipped every value above 255, so 16-bit images read as all white."""
    values = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    gray = read_image(path, 1)
    assert torch.allclose(gray[0], torch.from_numpy(values / 65535.0).float(), atol=1e-6)
    rgb = read_image(path, 3)
    assert rgb.shape == (3, 64, 64) and torch.equal(rgb[0], gray[0]) and 0.45 < gray.mean() < 0.55
    eight = png(tmp_path / "eight.png", (values // 257).astype(np.uint8))
    assert (read_image(eight, 1) - gray).abs().max() < 1 / 255
