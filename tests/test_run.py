"""End-to-end runs of recipes/bsd.py (smoke profile): artefacts, resume after SIGKILL, NaN guard, splits."""

from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors import safe_open

from clearer.data.datasets import overlapping
from clearer.recipe import load_recipe
from clearer.registry import DATASETS

from conftest import RECIPES, clearer, smoke_run

BSD = RECIPES / "bsd.py"


def alpha_rows(run: Path) -> list[dict[str, str]]:
    with (run / "alpha.csv").open() as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_smoke_run_leaves_every_artefact(synthetic_data, tmp_path):
    out = tmp_path / "run"
    proc = clearer("run", str(BSD), "--profile", "smoke", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    for name in (
        "recipe.json",
        "overrides.json",
        "log.txt",
        "alpha.csv",
        "arch.json",
        "model.safetensors",
        "metrics.json",
        "state/search.safetensors",
        "state/retrain.safetensors",
    ):
        assert (out / name).is_file(), name
    assert list((out / "samples").glob("*.png"))
    arch = json.loads((out / "arch.json").read_text())
    assert set(arch["architecture"]) == {"cell1/col0", "cell2/col0"}
    assert all(abs(sum(p) - 1) < 1e-4 for p in arch["probabilities"].values())
    assert len(arch["hash"]) == 10
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        meta = json.loads(f.metadata()["clearer"])
    assert meta["arch_hash"] == arch["hash"] and meta["torch"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["sets"]) == {"bsd68", "set12"}
    assert metrics["sets"]["bsd68"]["protocol"] == "standard"
    assert str(out / "arch.json") in proc.stdout and str(out / "metrics.json") in proc.stdout
    rows = alpha_rows(out)
    assert len(rows) == 2
    # α-gradient signal per choice point: empty in the warm-up epoch, measured after it (nan where the few
    # smoke steps left every α gradient of a choice point at exactly 0)
    snr = [float(rows[1][f"{label}:snr"]) for label in arch["architecture"]]
    assert all(rows[0][f"{label}:snr"] == "" for label in arch["architecture"]) and any(s >= 0 for s in snr)
    assert "α-gradient signal/noise: cell1/col0" in (out / "log.txt").read_text()
    search = metrics["search"]
    assert set(search) == {
        "discretisation_gap_db",
        "supernet_psnr",
        "inherited_psnr",
        "gap_set",
        "final_entropy",
        "min_max_prob",
        "decided",
        "one_shot",
    }
    estimates = search["one_shot"]["architectures"]  # the smoke space's 4 architectures, each estimated
    assert sorted(estimates) == ["FF", "FP", "PF", "PP"] and all("recalibrated_psnr" in e for e in estimates.values())
    assert search["discretisation_gap_db"] == pytest.approx(
        search["supernet_psnr"] - search["inherited_psnr"], abs=1e-3
    )
    assert "crops of the α split" in search["gap_set"] and isinstance(search["decided"], bool)
    assert 0 <= search["final_entropy"] <= 0.6932 and 0.5 <= search["min_max_prob"] <= 1


@pytest.mark.slow
def test_sigkill_mid_search_then_resume_completes_like_an_unbroken_run(synthetic_data, tmp_path):
    sets = ("search.epochs=8", "search.steps_per_epoch=4")
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "clearer", *smoke_run(BSD, killed, *sets)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    state = killed / "state" / "search.safetensors"
    deadline = time.time() + 120
    while not state.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert state.exists(), "no search checkpoint appeared"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "arch.json").exists(), "search finished before the kill; test needs a longer search"
    resumed = clearer("run", str(BSD), "--resume", str(killed), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch" in (killed / "log.txt").read_text()
    assert (killed / "metrics.json").is_file()
    rows = alpha_rows(killed)
    assert [int(r["epoch"]) for r in rows] == list(range(1, 9))

    unbroken = tmp_path / "unbroken"
    assert clearer(*smoke_run(BSD, unbroken, *sets)).returncode == 0
    last_resumed, last_unbroken = rows[-1], alpha_rows(unbroken)[-1]
    for key in last_unbroken:
        assert float(last_resumed[key]) == pytest.approx(float(last_unbroken[key]), abs=1e-4), key


NAN_RECIPE = '''
import torch
from clearer.registry import DATASETS, LOSSES
from bsd import RECIPE, PROFILES
from clearer.recipe import derive

@LOSSES.register("mse_then_nan")
def mse_then_nan(after: int = 5):
    """MSE that turns NaN after a number of calls (to test the NaN guard)."""
    calls = [0]
    def loss(out, target):
        calls[0] += 1
        value = torch.nn.functional.mse_loss(out, target)
        return value * float("nan") if calls[0] > after else value
    return loss

RECIPE = derive(RECIPE, {"search.loss": {"name": "mse_then_nan", "after": 8}})
'''


@pytest.mark.slow
def test_nan_loss_stops_with_message_and_keeps_last_good_checkpoint(synthetic_data, tmp_path):
    # the recipe and the bsd.py it imports live in tmp_path: tests never write into the repository
    shutil.copy(RECIPES / "bsd.py", tmp_path / "bsd.py")
    recipe = tmp_path / "nan_recipe.py"
    recipe.write_text(NAN_RECIPE)
    out = tmp_path / "run"
    proc = clearer(
        "run",
        str(recipe),
        "--profile",
        "smoke",
        "--out",
        str(out),
        "--set",
        "search.epochs=5",
        "--set",
        "search.steps_per_epoch=3",
    )
    assert proc.returncode == 2
    message = " ".join(proc.stderr.split())
    assert "loss became nan at epoch 2, step 3" in message
    assert "last good checkpoint" in message and "Traceback" not in proc.stderr
    from clearer.train.checkpoint import load_state

    assert load_state(out / "state" / "search.safetensors")["epoch"] == 1


@pytest.mark.parametrize(
    "name, profile",
    [
        ("bsd.py", "paper"),
        ("bsd.py", "quick"),
        ("bsd.py", "smoke"),
        ("cbsd.py", "paper"),
        ("cbsd.py", "quick"),
        ("cbsd.py", "compare"),
        ("cbsd.py", "smoke"),
        ("rain.py", "paper"),
        ("rain.py", "quick"),
        ("rain.py", "compare"),
        ("rain.py", "smoke"),
    ],
)
def test_no_evaluation_image_reaches_training_or_search(data_dir, name, profile):
    recipe = load_recipe(RECIPES / name).resolve(profile)
    learned = [DATASETS.build(recipe.data.train), DATASETS.build(recipe.data.alpha)]
    for ref in recipe.evaluate.sets:
        test_set = DATASETS.build(ref)
        for used in learned:
            assert overlapping(used, test_set) == [], (used.name, test_set.name)
    assert overlapping(learned[0], learned[1]) == []  # weights and α on disjoint images
    if name in ("bsd.py", "cbsd.py"):
        assert len(learned[1]) == (3 if profile == "smoke" else 32)  # val without the 68 (C)BSD68 pictures
    elif profile != "smoke":  # BSDS500 without the 91 pictures behind Rain100L's 100 backgrounds
        assert (len(learned[0]), len(learned[1])) == (333, 76)
