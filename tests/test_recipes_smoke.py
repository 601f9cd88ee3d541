"""Smoke runs of the other recipes: a custom module searched beside CLEARER's, deraining, show-arch, restore."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

import clearer as clearer_api
from clearer.compare import load_comparison
from clearer.compare.report import cells, collect, markdown, title
from clearer.data.datasets import bsds500
from clearer.data.images import read_image, save_image
from clearer.data.rain import rain_streaks
from clearer.errors import ClearerError

from conftest import RECIPES, clearer, noise_pngs, smoke_run


@pytest.mark.slow
def test_custom_module_recipe_searches_over_its_own_candidate(synthetic_data, tmp_path):
    out = tmp_path / "run"
    proc = clearer("run", str(RECIPES / "custom_module.py"), "--profile", "smoke", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    arch = json.loads((out / "arch.json").read_text())
    for candidates in arch["candidates"].values():
        assert candidates == ["parallel", "fusion", "dilated_parallel"]
    assert all(len(p) == 3 for p in arch["probabilities"].values())
    listing = clearer("list", "candidates", "--recipe", str(RECIPES / "custom_module.py"))
    assert "dilated_parallel" in listing.stdout


@pytest.mark.slow
def test_rain_recipe_smoke_measures_rgb_and_y_and_restores_colour_images(data_dir, tmp_path):
    out = tmp_path / "run"
    proc = clearer("run", str(RECIPES / "rain.py"), "--profile", "smoke", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())["sets"]["rain100l-tune"]
    assert metrics["color"] == "rgb" and metrics["images"] == 2 and metrics["protocol"] == "standard"
    for key in ("psnr", "ssim", "psnr_y", "ssim_y", "input_psnr", "input_psnr_y"):
        assert key in metrics
    # per-image figures beside the means: the rainy input's and the output's, on RGB and Y
    rows = metrics["per_image"]
    assert [r["image"] for r in rows] == ["rain-001", "rain-002"]
    assert sum(r["psnr_y"] for r in rows) / 2 == pytest.approx(metrics["psnr_y"], abs=1e-4)
    assert all(r["input_psnr_y"] > r["input_psnr"] for r in rows)  # Rain100L inputs: about 26 dB Y, 25 RGB
    strips = sorted((out / "samples").glob("rain100l-tune-*.png"))
    assert strips and 3 * 481 <= Image.open(strips[0]).size[0] < 3 * 481 + 40  # rainy | derained | clean (+ gaps)
    # a comparison of colour runs shows the Y channel and what the inputs scored
    tables = collect({"rain": [out]})
    rows = tables["rain100l-tune"]
    assert f"rgb; input {metrics['input_psnr']:.2f} dB" in title("rain100l-tune", rows)
    headers, body = cells(rows)
    assert headers[-2:] == ["PSNR-Y", "SSIM-Y"] and body[0][-2] == f"{metrics['psnr_y']:.2f}"
    assert "| PSNR-Y | SSIM-Y |" in markdown(tables)
    restored = tmp_path / "restored"
    rainy = data_dir / "Rain100L-val" / "rain-001.png"
    proc = clearer("restore", "--run", str(out), "--out", str(restored), str(rainy), "--tile", "128")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = Image.open(restored / "rain-001.png")
    assert result.mode == "RGB" and result.size == Image.open(rainy).size
    assert clearer_api.load(out).upright  # its self-ensemble never turns rain sideways


@pytest.mark.slow
def test_show_arch_draws_a_png(synthetic_data, tmp_path):
    out = tmp_path / "run"
    assert clearer(*smoke_run(RECIPES / "bsd.py", out)).returncode == 0
    proc = clearer("show-arch", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    image = Image.open(out / "arch.png")
    assert image.size[0] > 300


@pytest.mark.slow
def test_restore_errors_on_an_unfinished_run(tmp_path):
    (image,) = noise_pngs(tmp_path / "in", 1)  # a real image, so the error can only be about the run
    proc = clearer("restore", "--run", str(tmp_path), "--out", str(tmp_path / "o"), str(image))
    assert proc.returncode == 2 and "model.safetensors" in proc.stderr, proc.stderr


def test_rain_model_comparison_changes_only_the_rain(tmp_path):
    """recipes/rain_models.py: every variant is the same fixed network and budget; only the rain differs."""
    grid = load_comparison(RECIPES / "rain_models.py", "compare", {}, None, tmp_path)
    recipes = {job.variant: job.recipe.to_dict() for job in grid.jobs}
    assert len(recipes) >= 6 and recipes["fitted"]["data"]["degradation"]["name"] == "rain_streaks"
    strip = [dict(r, name=None, data=dict(r["data"], degradation=None)) for r in recipes.values()]
    assert all(r == strip[0] for r in strip)
    assert strip[0]["search"]["strategy"] == {"name": "fixed", "candidate": "fusion"}
    assert len({json.dumps(r["data"]["degradation"], sort_keys=True) for r in recipes.values()}) == len(recipes)


@pytest.mark.slow
def test_rain_recipe_trains_on_real_pairs_when_given_them(data_dir, tmp_path):
    """With a paired dataset as training data the degradation is not used: crops of the pairs train.

    The pairs are made here (rain on BSDS500 test images, never a Rain100L background) in the
    RainTrainL layout, rain-N.png / norain-N.png; weights and α take disjoint parts of the folder."""
    folder = tmp_path / "pairs"
    folder.mkdir()
    rain = rain_streaks(density=0.005, length=30, brightness=0.6, blend="add")
    for n, path in enumerate(bsds500("test", limit=6).paths, 1):
        clean = read_image(path, 3)
        save_image(folder / f"norain-{n}.png", clean)
        save_image(folder / f"rain-{n}.png", rain(clean, torch.Generator().manual_seed(n)))
    out = tmp_path / "run"
    train = f"data.train=dict(name='rain_pairs', path='{folder}', skip=2)"
    alpha = f"data.alpha=dict(name='rain_pairs', path='{folder}', limit=2)"
    proc = clearer(*smoke_run(RECIPES / "rain.py", out, train, alpha))
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = (out / "log.txt").read_text()
    assert "weights on real pairs, α on real pairs" in log and "on real pairs" in log.split("retrain:")[1]
    assert "rain_streaks" not in log.split("evaluate")[0]
    assert json.loads((out / "metrics.json").read_text())["sets"]["rain100l-tune"]["images"] == 2


@pytest.mark.slow
def test_cbsd_recipe_smoke_denoises_cbsd68_in_rgb_at_a_settable_sigma(data_dir, tmp_path):
    """Colour denoising: 3-channel network, CBSD68's colour pictures, RGB scores of 8-bit outputs and the noisy
    inputs' scores beside them; σ = 25 by default and re-measured at σ = 50 without retraining."""
    out = tmp_path / "run"
    proc = clearer(*smoke_run(RECIPES / "cbsd.py", out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())["sets"]["cbsd68"]
    assert metrics["color"] == "rgb" and metrics["images"] == 2 and metrics["protocol"] == "standard"
    assert metrics["degradation"].startswith("gaussian σ=25 ") and "unclipped" in metrics["degradation"]
    assert [r["image"] for r in metrics["per_image"]] == ["101085", "101087"]  # BSD68's test001, test002
    assert metrics["input_psnr"] == pytest.approx(20.17, abs=0.05)  # float noise of σ = 25 on every channel
    assert metrics["psnr"] > metrics["input_psnr"] and "psnr_y" in metrics
    again = tmp_path / "sigma50"
    proc = clearer("evaluate", str(out), "--set", "data.degradation.sigma=50", "--out", str(again), "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((again / "metrics.json").read_text())["sets"]["cbsd68"]
    assert metrics["input_psnr"] == pytest.approx(14.15, abs=0.05)  # 20 log10(255 / 50)


def test_sr_recipe_smoke_upscales_and_restores_evaluates_and_exports_larger_images(data_dir, tmp_path):
    """recipes/sr.py end to end at ×2: Y-PSNR with the bicubic baseline beside it, then a user's image
    restored 2x larger (CLI and API), re-evaluated on another set, exported with free sizes."""
    import numpy as np

    import clearer as api
    from clearer.data.bicubic import imresize
    from clearer.data.super_resolution import set5
    from clearer.metrics import get_protocol

    out = tmp_path / "run"
    proc = clearer(*smoke_run(RECIPES / "sr.py", out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    sets = json.loads((out / "metrics.json").read_text())["sets"]
    s5 = sets["set5"]
    assert s5["protocol"] == "sr" and s5["color"] == "y" and "psnr_rgb" in s5 and "×1/2 LR files" in s5["degradation"]
    # the input row is the bicubic baseline: the LR file upscaled by imresize, on Y, 2 px shaved
    (lr, hr), *_ = set5(scale=2).load(3)
    protocol = get_protocol("sr").at_scale(2)
    bicubic = protocol.measure(imresize(lr, 2, quantize=True), hr, color="y")
    assert s5["per_image"][0]["input_psnr"] == pytest.approx(bicubic["psnr"], abs=1e-4)
    assert "bsd100" in sets and sets["bsd100"]["degradation"].startswith("MATLAB bicubic ×1/2")
    # restore: CLI on the LR file, API on an array; both come back twice as large
    lr_file = data_dir / "SR" / "Set5" / "image_SRF_2" / "img_002_SRF_2_LR.png"
    proc = clearer("restore", "--run", str(out), "--out", str(tmp_path / "restored"), str(lr_file), "--tile", "96")
    assert proc.returncode == 0, proc.stderr[-3000:]
    width, height = Image.open(lr_file).size
    assert Image.open(tmp_path / "restored" / lr_file.name).size == (2 * width, 2 * height)
    model = api.load(out)
    assert model.scale == 2
    assert model.restore(np.zeros((30, 41, 3), np.uint8)).shape == (60, 82, 3)
    again = api.evaluate(out, {"evaluate.sets": [dict(name="set14", scale=2, limit=1)]}, verbose=False)
    assert again.metrics["sets"]["set14"]["psnr"] > 20
    with pytest.raises(ClearerError, match="not made at the network's scale"):
        api.evaluate(out, {"evaluate.sets": [dict(name="set14", scale=3, limit=1)]}, verbose=False)
    exported = api.export(out, "pt2", tmp_path / "sr.pt2")
    assert exported.max_abs_diff < 1e-4
    program = torch.export.load(str(tmp_path / "sr.pt2")).module()
    x = torch.rand(1, 3, 24, 40)  # another size than the check image: the sizes stay free
    with torch.no_grad():
        assert torch.allclose(program(x), model(x), atol=1e-4) and program(x).shape == (1, 3, 48, 80)
    # the other scales resolve (network, patch and test sets follow the degradation)
    proc = clearer("show", str(RECIPES / "sr.py"), "--profile", "smoke-x3")
    assert proc.returncode == 0 and '"scale": 3' in proc.stdout, proc.stderr[-3000:]
