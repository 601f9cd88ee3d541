"""Hostile and careless `clearer run`: what fails before the run folder is written, and damaged, foreign
or full run folders on --resume and restore. Each case ends with exit code 2, one paragraph naming the bad
value, no traceback, and no input or earlier output changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import BSD, SMOKE, bad, cli, needs_data, png, truncate, write

pytestmark = pytest.mark.usefixtures("restore_registries", "one_thread")


RUN_CASES = [
    (["--set", "search.epochs=-1"], "search.epochs must be at least 1"),
    (["--set", "data.patch=0"], "data.patch must be at least 1"),
    (["--set", "data.batch=0"], "data.batch must be at least 1"),
    (["--set", "evaluate.tile=0"], "evaluate.tile must be at least 1"),
    (["--set", "data.degradation.sigma=256"], "sigma=256"),
    (["--set", "space.candidates=['parallel', 'nope']"], "unknown candidates 'nope'"),
    (["--set", "device='tpu'"], "device='tpu'"),
    (["--set", "data.train.limit=0"], "limit must be a positive integer"),
    (["--set", "data.train.split='training'"], "unknown BSDS500 split 'training'"),
    (["--set", "data.alpha.exclude='set12'"], "exclude='set12'"),
    (["--set", "evaluate.sets=['nope']"], "unknown datasets 'nope'"),
    (["--set", "data.train=dict(name='image_folder', path='/no/such/folder')"], "/no/such/folder"),
    (["--set", "evaluate.sets=[dict(name='paired_folder', path='/no/such/pairs')]"], "/no/such/pairs"),
    (["--profile", "smok"], "no profile 'smok'"),
]


@needs_data
@pytest.mark.parametrize("extra,says", RUN_CASES, ids=[" ".join(c[0])[:40] for c in RUN_CASES])
def test_bad_run_fails_before_the_run_folder_is_written(extra, says, tmp_path):
    args = extra if extra[0] == "--profile" else [*SMOKE, *extra]
    bad("run", BSD, *args, "--out", tmp_path / "out", "--quiet", says=says)
    assert not (tmp_path / "out").exists()


@needs_data
@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_device_on_a_cpu_machine_fails_before_the_run_folder(tmp_path):
    bad("run", BSD, *SMOKE, "--set", "device='cuda'", "--out", tmp_path / "out", says="device='cuda' but")
    assert not (tmp_path / "out").exists()


def test_out_that_is_a_file(tmp_path):
    target = write(tmp_path / "file.txt", "mine")
    bad("run", BSD, *SMOKE, "--out", target, says=f"--out {target} is a file", watch=(target,))


@needs_data
def test_out_under_a_file_cannot_be_created(tmp_path):
    target = write(tmp_path / "file.txt", "mine")
    bad(
        "run",
        BSD,
        *SMOKE,
        "--out",
        target / "sub",
        says=f"cannot create the run folder {target / 'sub'}",
        watch=(target,),
    )


def test_out_with_a_stray_arch_json_is_refused(tmp_path):
    out = tmp_path / "out"
    write(out / "arch.json", json.dumps({"architecture": {"cell1/col0": "fusion"}}))
    bad("run", BSD, *SMOKE, "--out", out, says=("already holds files (arch.json)",), watch=(out,))


RUN_FOLDER_CASES = {
    # name: (how to damage the copy, what the error must say)
    "recipe.json corrupt": (lambda r: write(r / "recipe.json", "{"), "recipe.json: Expecting"),
    "recipe.json empty": (lambda r: write(r / "recipe.json", ""), "recipe.json"),
    "recipe.json a list": (lambda r: write(r / "recipe.json", "[]"), "a recipe is a dict"),
    "recipe.json os:system": (
        lambda r: _edit(r / "recipe.json", ["data", "train"], {"name": "os:system", "command": "touch pwned"}),
        "unknown datasets 'os:system'",
    ),
    "recipe.json helpers:Net": (
        lambda r: _edit(r / "recipe.json", ["space"], {"name": "helpers:Net"}),
        "unknown spaces 'helpers:Net'",
    ),
    "recipe.json epochs -1": (
        lambda r: _edit(r / "recipe.json", ["retrain", "epochs"], -1),
        "retrain.epochs must be at least 1",
    ),
    "arch.json corrupt": (lambda r: write(r / "arch.json", '{"architecture": '), "arch.json"),
    "arch.json not a record": (
        lambda r: write(r / "arch.json", '{"architecture": 5}'),
        "is not an architecture record",
    ),
    "arch.json unknown label": (
        lambda r: _edit(r / "arch.json", ["architecture"], {"bogus": "fusion"}),
        "architecture does not fit the space",
    ),
    "arch.json other candidate": (lambda r: _flip_arch(r), "do not fit the network"),
    "weights truncated": (lambda r: truncate(r / "model.safetensors"), "model.safetensors is damaged"),
    "weights empty": (lambda r: truncate(r / "model.safetensors", 0), "model.safetensors is damaged"),
    "weights garbage": (lambda r: write(r / "model.safetensors", "not weights"), "model.safetensors is damaged"),
    "retrain state truncated": (
        lambda r: (truncate(r / "state/retrain.safetensors"), (r / "model.safetensors").unlink()),
        "retrain.safetensors is damaged",
    ),
    "retrain state empty": (
        lambda r: (truncate(r / "state/retrain.safetensors", 0), (r / "model.safetensors").unlink()),
        "retrain.safetensors is damaged",
    ),
    "search state truncated": (
        lambda r: (
            truncate(r / "state/search.safetensors"),
            (r / "arch.json").unlink(),
            (r / "model.safetensors").unlink(),
        ),
        "search.safetensors is damaged",
    ),
    "search state other space": (
        lambda r: (
            _edit(r / "recipe.json", ["space", "width"], 16),
            (r / "arch.json").unlink(),
            (r / "model.safetensors").unlink(),
        ),
        "do not fit the network",
    ),
}


def _edit(path: Path, keys: list[str], value: object) -> None:
    data = json.loads(path.read_text())
    node = data
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    path.write_text(json.dumps(data))


def _flip_arch(run: Path) -> None:
    data = json.loads((run / "arch.json").read_text())
    data["architecture"] = {k: "fusion" if v == "parallel" else "parallel" for k, v in data["architecture"].items()}
    (run / "arch.json").write_text(json.dumps(data))


@needs_data
@pytest.mark.parametrize("case", list(RUN_FOLDER_CASES))
def test_damaged_run_folder_on_resume(case, run_copy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(run_copy / "helpers.py", f"open({str(tmp_path / 'pwned')!r}, 'w').close()\nclass Net: pass\n")
    damage, says = RUN_FOLDER_CASES[case]
    damage(run_copy)
    bad("run", BSD, *SMOKE, "--resume", run_copy, "--quiet", says=says, watch=(run_copy,))
    assert not (tmp_path / "pwned").exists()


@needs_data
@pytest.mark.parametrize(
    "case",
    [
        "recipe.json corrupt",
        "recipe.json os:system",
        "recipe.json helpers:Net",
        "arch.json corrupt",
        "arch.json other candidate",
        "weights truncated",
        "weights empty",
    ],
)
def test_damaged_run_folder_on_restore(case, run_copy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(run_copy / "helpers.py", f"open({str(tmp_path / 'pwned')!r}, 'w').close()\nclass Net: pass\n")
    damage, says = RUN_FOLDER_CASES[case]
    damage(run_copy)
    image = png(tmp_path / "in" / "photo.png", np.full((40, 40), 100, np.uint8))
    bad("restore", image, "--run", run_copy, "--out", tmp_path / "out", says=says, watch=(run_copy, image))
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "out" / "photo.png").exists()


@needs_data
@pytest.mark.parametrize(
    "setting,says",
    [
        ("search.epochs=5", "--resume can change only evaluate.* keys; --set search.epochs"),
        ("data.degradation.sigma=15", "--set data.degradation.sigma"),
        ("evaluate.tile=0", "evaluate.tile must be at least 1"),
        ("evaluate.sets=['nope']", "unknown datasets 'nope'"),
    ],
)
def test_resume_set_changes_evaluation_only(setting, says, run_copy):
    bad("run", BSD, *SMOKE, "--resume", run_copy, "--set", setting, "--quiet", says=says, watch=(run_copy,))


@needs_data
def test_resume_can_change_evaluation_keys(run_copy):
    result = cli(
        "run",
        BSD,
        *SMOKE,
        "--resume",
        run_copy,
        "--quiet",
        "--set",
        "evaluate.sets=[dict(name='bsd68', limit=1)]",
        "--set",
        "evaluate.tile=128",
    )
    assert result.code == 0, result.err[-2000:]
    metrics = json.loads((run_copy / "metrics.json").read_text())
    assert list(metrics["sets"]) == ["bsd68"]
    assert json.loads((run_copy / "recipe.json").read_text())["evaluate"]["tile"] == 128


@needs_data
def test_new_run_into_an_existing_run_or_a_non_run(finished_run, tmp_path):
    bad("run", BSD, *SMOKE, "--out", finished_run, says="already holds a run", watch=(finished_run,))
    bad("run", BSD, *SMOKE, "--resume", tmp_path, says="is not a run folder")


@needs_data
def test_orphan_temp_files_are_removed_on_resume(run_copy):
    orphan = write(run_copy / "state" / ".clearer-tmp-12345-0a1b2c3d-search.safetensors", "half")
    other = write(run_copy / ".clearer-tmp-999-0a1b2c3d-metrics.json", "half")
    users = write(run_copy / ".metrics.json.tmp999", "a user's file, not clearer's temporary file")
    result = cli("run", BSD, *SMOKE, "--resume", run_copy, "--quiet")
    assert result.code == 0, result.err[-2000:]
    assert not orphan.exists() and not other.exists() and users.exists()


@pytest.mark.slow
@needs_data
def test_full_disk_is_a_clear_error(run_copy, tmp_path):
    """A file size limit (ulimit -f) while the weights are written: one paragraph, nothing half-written."""
    (run_copy / "model.safetensors").unlink()  # retraining resumes after its last epoch and saves weights
    limit = 20_000
    code = (
        f"import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
        "from clearer.cli import main; sys.argv[0] = 'clearer'; main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "run", BSD, *SMOKE, "--resume", str(run_copy), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    err = " ".join(proc.stderr.split())
    assert proc.returncode == 2 and "Traceback" not in err, err[-2000:]
    assert "cannot write" in err and "model.safetensors" in err and "ulimit -f" in err
    assert not (run_copy / "model.safetensors").exists()
    assert not list(run_copy.rglob(".clearer-tmp-*"))


@needs_data
def test_recipe_json_of_a_run_reproduces_it(finished_run, tmp_path):
    """`clearer run RUN/recipe.json --profile smoke` gives the same metrics exactly (issue 13 item 4)."""
    shown = cli("show", finished_run / "recipe.json", "--profile", "smoke")
    assert shown.code == 0 and json.loads(shown.out) == json.loads((finished_run / "recipe.json").read_text())
    again = tmp_path / "again"
    result = cli("run", finished_run / "recipe.json", "--profile", "smoke", "--out", again, "--quiet")
    assert result.code == 0, result.err[-2000:]
    first, second = (json.loads((r / "metrics.json").read_text()) for r in (finished_run, again))
    for name, values in first["sets"].items():
        values, others = dict(values), dict(second["sets"][name])
        values.pop("seconds"), others.pop("seconds")
        assert values == others, name
    assert first["recipe_hash"] == second["recipe_hash"] and first["architecture"] == second["architecture"]


def test_evaluate_with_no_test_sets_is_refused(run_copy, tmp_path):
    """Found by benchmarks/hostile_probe_fresh.py: `evaluate.sets=[]` used to write an evaluation of nothing."""
    bad("evaluate", run_copy, "--set", "evaluate.sets=[]", "--out", tmp_path / "e", says="evaluate.sets is empty")
    assert not (tmp_path / "e").exists()
