"""Using a trained run: clearer.load + restore, clearer evaluate, clearer export (ONNX checked in
onnxruntime, .pt2), and the run's tracking files; on one smoke run of recipes/custom_module.py, whose
own candidate module is registered again only from the recipe file the caller passes (checked against the
sha256 the run recorded; a run folder never chooses code)."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

import clearer
from clearer.errors import ClearerError
from clearer.metrics import psnr
from clearer.registry import CANDIDATES

from conftest import RECIPES, smoke_run
from conftest import clearer as cli  # `clearer` here is the package whose API these tests use

CUSTOM = RECIPES / "custom_module.py"

pytestmark = pytest.mark.slow  # one smoke run shared by every test, then evaluations and exports


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """One smoke run of the custom-module recipe (in another process, as a user's earlier session)."""
    value = os.environ.get("CLEARER_DATA")
    if not value or not Path(value).is_dir():
        pytest.skip("CLEARER_DATA is not set to the benchmark data folder")
    out = tmp_path_factory.mktemp("api") / "run"
    proc = cli(*smoke_run(CUSTOM, out, "evaluate.sets=[dict(name='bsd68', limit=1)]"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture
def fresh_registry(restore_registries):
    """As in a new Python process: the recipe's own module is not registered yet."""
    CANDIDATES._entries.pop("dilated_parallel", None)


def test_load_and_restore_a_bsd68_image(run, data_dir, fresh_registry, one_thread):
    model = clearer.load(run, recipe=CUSTOM)
    assert isinstance(model, torch.nn.Module) and not model.training
    assert (model.multiple, model.channels) == (4, 1) and model.recipe.name == "custom_module"
    assert "dilated_parallel" in model.architecture.values()  # registered from the file passed
    path = data_dir / "BSD68" / "test001.png"
    clean = torch.from_numpy(np.asarray(Image.open(path), np.float32) / 255)[None]
    noisy = (clean + 25 / 255 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    restored = model.restore(noisy)  # 481x321: padded to the multiple of 4 and cropped back
    assert restored.shape == noisy.shape
    assert float(psnr(restored.clamp(0, 1), clean)) > float(psnr(noisy, clean))
    as_pil = model.restore(Image.open(path))
    assert isinstance(as_pil, Image.Image) and as_pil.size == (321, 481) and as_pil.mode == "L"
    assert np.array_equal(np.asarray(model.restore(str(path))), np.asarray(as_pil))
    as_array = model.restore(np.asarray(Image.open(path)))
    assert as_array.dtype == np.uint8 and as_array.shape == (481, 321)
    assert np.array_equal(as_array, np.asarray(as_pil))
    with pytest.raises(ClearerError, match="1-channel"):
        model.restore(np.zeros((8, 8, 3), np.uint8))


def test_load_asks_for_the_recipe_file_and_checks_its_hash(run, tmp_path, fresh_registry):
    sources = json.loads((run / "sources.json").read_text())
    assert [Path(s["path"]) for s in sources] == [CUSTOM.resolve()]
    assert sources[0]["registers"] == {"candidates": ["dilated_parallel"]}
    with pytest.raises(ClearerError, match=r"candidates 'dilated_parallel' must be registered.*recipe="):
        clearer.load(run)  # the recorded file is there and unchanged, yet never run unasked
    edited = tmp_path / "mine" / "custom_module.py"
    edited.parent.mkdir()
    edited.write_text(CUSTOM.read_text() + "\n# edited\n")
    with pytest.raises(ClearerError, match="differs from that file"):
        clearer.load(run, recipe=edited)
    CANDIDATES._entries.pop("dilated_parallel", None)
    with pytest.raises(ClearerError, match="does not register candidates 'dilated_parallel'"):
        clearer.load(run, recipe=RECIPES / "bsd.py")
    moved = tmp_path / "moved" / "custom_module.py"
    moved.parent.mkdir()
    shutil.copy(CUSTOM, moved)
    assert clearer.load(run, recipe=moved).architecture  # moved but unchanged: the same sha256


def test_evaluate_sigma_15_writes_per_image_scores_beside_the_run(run):
    own = (run / "metrics.json").read_bytes()
    proc = cli("evaluate", str(run), "--set", "data.degradation.sigma=15", "--quiet", "--recipe", CUSTOM)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (out,) = (run / "evaluations").iterdir()
    metrics = json.loads((out / "metrics.json").read_text())
    bsd68 = metrics["sets"]["bsd68"]
    assert "sigma=15" in bsd68["degradation"] or "σ=15" in bsd68["degradation"]
    assert 24.0 < bsd68["input_psnr"] < 25.5  # σ = 15 noise, not the σ = 50 the run trained on
    assert [r["image"] for r in bsd68["per_image"]] == ["test001"]
    assert bsd68["per_image"][0]["psnr"] == pytest.approx(bsd68["psnr"], abs=1e-4)
    with (out / "per_image.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["set"] == "bsd68" and float(rows[0]["psnr"]) == pytest.approx(bsd68["psnr"], abs=1e-4)
    assert (run / "metrics.json").read_bytes() == own
    refused = cli("evaluate", str(run), "--out", str(run), "--recipe", CUSTOM)
    assert refused.returncode == 2 and "is a run folder" in refused.stderr
    retrain = cli("evaluate", str(run), "--set", "search.epochs=3")
    assert retrain.returncode == 2 and "would need retraining" in retrain.stderr


def test_export_onnx_checked_in_onnxruntime_at_other_sizes(run, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    file = tmp_path / "model.onnx"
    proc = cli("export", str(run), "--format", "onnx", "--out", str(file), "--recipe", CUSTOM)
    assert proc.returncode == 0, proc.stderr[-3000:]
    diff = float(re.search(r"max \|export - eager\| = (\S+)", proc.stdout).group(1))
    assert diff < 1e-4 and "bsd68/test001" in proc.stdout
    model = clearer.load(run, recipe=CUSTOM, device="cpu")
    session = onnxruntime.InferenceSession(str(file), providers=["CPUExecutionProvider"])
    for shape in [(1, 1, 40, 56), (3, 1, 24, 16)]:  # height/width any multiple of 4, any batch
        x = torch.rand(shape, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            expected = model(x)
        got = session.run(None, {"image": x.numpy()})[0]
        assert got.shape == tuple(shape) and np.abs(got - expected.numpy()).max() < 1e-4


def test_export_pt2_on_a_given_image(run, data_dir, tmp_path):
    image = data_dir / "Set12" / "01.png"
    result = clearer.export(run, "pt2", tmp_path / "model.pt2", image=image, recipe=CUSTOM)
    assert result.max_abs_diff < 1e-4 and result.checked_on == str(image) and result.shape == (1, 1, 256, 256)
    program = torch.export.load(str(tmp_path / "model.pt2")).module()
    x = torch.rand(2, 1, 36, 20)
    with torch.no_grad():
        assert torch.allclose(program(x), clearer.load(run, CUSTOM)(x), atol=1e-5)
    with pytest.raises(ClearerError, match="onnx, pt2"):
        clearer.export(run, "tflite", tmp_path / "model.tflite", recipe=CUSTOM)


def test_run_tracks_epochs_and_keeps_best_weights_group_readable(run):
    with (run / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    search = [r for r in rows if r["phase"] == "search"]
    retrain = [r for r in rows if r["phase"] == "retrain"]
    assert [int(r["epoch"]) for r in search] == [1, 2] and [int(r["epoch"]) for r in retrain] == [1, 2]
    for r in search:
        probs = [float(r[f"alpha/cell1/col0/{c}"]) for c in ("parallel", "fusion", "dilated_parallel")]
        assert sum(probs) == pytest.approx(1, abs=1e-4) and float(r["lr"]) > 0
    assert all(float(r["val_psnr"]) > 5 and float(r["lr"]) > 0 for r in retrain)
    best_epoch = max(retrain, key=lambda r: float(r["val_psnr"]))["epoch"]
    with safe_open(str(run / "model_best.safetensors"), "pt") as f:
        meta = json.loads(f.metadata()["clearer"])
    assert meta["epoch"] == int(best_epoch)
    assert meta["val_psnr"] == pytest.approx(max(float(r["val_psnr"]) for r in retrain), abs=1e-3)
    assert clearer.load(run, CUSTOM, best=True).architecture == clearer.load(run, CUSTOM).architecture
    for name in ("model.safetensors", "model_best.safetensors"):
        assert (run / name).stat().st_mode & stat.S_IRGRP, f"{name} is not readable by the group"
    sample = Image.open(next((run / "samples").glob("bsd68-000-*.png")))
    assert sample.width == 3 * 321 + 2 * 6  # three panels and two separators
