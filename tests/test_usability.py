"""Small things users hit: FLOPs of any op, relative data paths, captioned strips, metrics.csv on resume,
whole `clearer list` descriptions, recipes copied to another folder."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from clearer.data.datasets import image_folder
from clearer.data.images import data_root
from clearer.data.paired import paired_folder
from clearer.recipe import load_recipe
from clearer.registry import CANDIDATES, summary
from clearer.rundir.strips import GAP, GAP_GRAY, strip_image
from clearer.rundir.tracking import Tracker
from clearer.spaces.cost import flops_per_pixel, module_flops

from conftest import RECIPES


class MatmulUp(nn.Module):
    """A user module with a matmul and a transposed convolution, which layer hooks used to miss."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.up = nn.ConvTranspose2d(8, 8, 2, stride=2)
        self.mix = nn.Parameter(torch.randn(8, 8))
        self.out = nn.Conv2d(8, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(self.conv(x)[..., ::2, ::2])
        return self.out(torch.einsum("bchw,cd->bdhw", y, self.mix))


def test_flops_count_matmul_and_transposed_conv(one_thread):
    net = MatmulUp()
    # per output pixel, x2 for multiply-add: 3x3 conv 1->8: 144; 2x2 stride-2 transposed conv 8->8 on a
    # quarter of the pixels: 2*8*8*4/4 = 128; 8x8 matmul: 128; 1x1 conv 8->1: 16
    assert flops_per_pixel(net, 1, size=32) == 144 + 128 + 128 + 16
    per_module = module_flops(net, torch.zeros(2, 1, 32, 32))
    assert per_module[net.up] == 128 * 32 * 32 and per_module[net.conv] == 144 * 32 * 32


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


def test_strip_has_separators_and_captions():
    panels = [torch.full((1, 40, 30), v) for v in (0.0, 0.5, 1.0)]
    strip = np.asarray(strip_image(panels, ["input 20.00 dB", "output 30.00 dB", "clean"]))
    bar = strip.shape[0] - 40
    assert strip.shape[1] == 3 * 30 + 2 * GAP and bar > 8
    assert (strip[:, 30 : 30 + GAP] == GAP_GRAY).all() and (strip[:, 60 + GAP : 60 + 2 * GAP] == GAP_GRAY).all()
    assert (strip[bar:, :30] == 0).all() and (strip[bar:, -30:] == 255).all()  # panels untouched
    caption = strip[:bar, :30]
    assert (caption == 255).mean() > 0.5 and (caption < 128).any()  # dark text on a white bar


def test_metrics_csv_replaces_repeated_epochs_on_resume(tmp_path):
    tracker = Tracker(tmp_path)
    for epoch in (1, 2, 3):
        tracker.log("search", epoch, {"loss": 1.0 / epoch})
    resumed = Tracker(tmp_path)  # a run killed after epoch 3's row but before its checkpoint
    resumed.log("search", 3, {"loss": 0.25})
    resumed.log("retrain", 1, {"loss": 0.5, "val_psnr": 20.0})
    with (tmp_path / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["phase"], r["epoch"], r["loss"]) for r in rows] == [
        ("search", "1", "1"),
        ("search", "2", "0.5"),
        ("search", "3", "0.25"),
        ("retrain", "1", "0.5"),
    ]
    assert rows[0]["val_psnr"] == "" and rows[-1]["val_psnr"] == "20"


def test_tensorboard_tracking_writes_event_files(tmp_path):
    pytest.importorskip("tensorboard")
    tracker = Tracker(tmp_path, "tensorboard")
    tracker.log("retrain", 1, {"loss": 0.5})
    tracker.image("validation/input-output-clean", torch.rand(1, 8, 24), 1)
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


def test_list_descriptions_are_whole_sentences():
    def wrapped():
        """A description that wraps
        onto a second line.

        Details nobody lists."""

    assert summary(wrapped) == "A description that wraps onto a second line."


def test_a_recipe_copied_elsewhere_still_imports_bsd(tmp_path, restore_registries):
    copy = tmp_path / "elsewhere" / "custom_module.py"
    copy.parent.mkdir()
    shutil.copy(RECIPES / "custom_module.py", copy)
    CANDIDATES._entries.pop("dilated_parallel", None)  # another test may have loaded the original already
    resolved = load_recipe(copy).resolve("smoke")
    assert resolved.name == "custom_module" and "dilated_parallel" in resolved.space["candidates"]
