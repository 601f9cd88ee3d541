"""The run folder's files (rundir/): arch.json's format, metrics.csv across a resume, TensorBoard events and the
captioned sample strips."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from clearer.rundir.artifacts import ArchRecord, arch_hash
from clearer.rundir.strips import GAP, GAP_GRAY, strip_image
from clearer.rundir.tracking import Tracker


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


def test_arch_record_keeps_the_arch_json_format(tmp_path):
    searched = ArchRecord(
        {"cell1/col0": "fusion"},
        {"cell1/col0": [0.4, 0.6]},
        {"cell1/col0": ["parallel", "fusion"]},
        space={"name": "clearer"},
        strategy="bilevel",
        search_seconds=1.5,
        search=None,
    )
    searched.write(tmp_path / "arch.json")
    data = json.loads((tmp_path / "arch.json").read_text())
    assert data == {
        "architecture": {"cell1/col0": "fusion"},
        "probabilities": {"cell1/col0": [0.4, 0.6]},
        "candidates": {"cell1/col0": ["parallel", "fusion"]},
        "hash": arch_hash({"cell1/col0": "fusion"}),
        "space": {"name": "clearer"},
        "strategy": "bilevel",
        "search_seconds": 1.5,
        "search": None,
    }
    assert ArchRecord.read(tmp_path / "arch.json") == searched
    given = ArchRecord({"cell1/col0": "fusion"}, None, {"cell1/col0": ["parallel", "fusion"]}, strategy="fixed")
    assert "search" not in given.to_dict()  # nothing was searched: no search entry, as before
    (tmp_path / "hand.json").write_text('{"architecture": {"cell1/col0": "parallel"}}')
    hand = ArchRecord.read(tmp_path / "hand.json")
    assert hand.hash == arch_hash({"cell1/col0": "parallel"}) and hand.search_seconds == 0.0
