"""Hostile and careless input at every entry point (issue 12): each case must end with exit code 2, one
paragraph naming the bad value, no traceback, nothing executed, and no input or earlier output changed.

The CLI runs in-process (`main(argv)`); run-folder cases share one smoke run (module fixture) and work
on copies of it.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import traceback
import zipfile
import zlib
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from clearer.cli import main
from clearer.data import fetch as fetch_mod
from clearer.data.images import read_image
from clearer.errors import ClearerError

from conftest import RECIPES

BSD = str(RECIPES / "bsd.py")
SMOKE = ["--profile", "smoke"]
# the shared run: smoke profile, one epoch per phase, two small test images
FAST = [
    "--set",
    "search.epochs=1",
    "--set",
    "retrain.epochs=1",
    "--set",
    "evaluate.sets=[dict(name='set12', limit=1)]",
    "--quiet",
]

pytestmark = pytest.mark.usefixtures("restore_registries", "one_thread")


# ------------------------------------------------------------------------------------------ helpers


@dataclass
class Outcome:
    code: int
    out: str
    err: str  # whitespace-normalised (rich may wrap)


def cli(*args: object) -> Outcome:
    """`clearer ARGS` in this process; an exception escaping main() shows up as a traceback in err."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except BaseException:  # noqa: BLE001 - the test reports it as the traceback a user would see
            err.write(traceback.format_exc())
            code = -1
    return Outcome(code, out.getvalue(), " ".join(err.getvalue().split()))


def _files(*roots: Path) -> list[Path]:
    files = []
    for root in map(Path, roots):
        files += [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return files


def digest(*roots: Path) -> dict[str, str]:
    """sha256 of every file under the given files/folders (a run's log.txt is append-only: see logs)."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in _files(*roots) if p.name != "log.txt"}


def logs(*roots: Path) -> dict[str, str]:
    return {str(p): p.read_text() for p in _files(*roots) if p.name == "log.txt"}


def bad(*args: object, says: tuple[str, ...] | str, watch: tuple[Path, ...] = ()) -> Outcome:
    """Run a command that must fail cleanly: exit 2, message naming the value, watched files unchanged."""
    before, logged = digest(*watch), logs(*watch)
    result = cli(*args)
    assert "Traceback" not in result.err, result.err[-3000:]
    assert result.code == 2, (result.code, result.err[-2000:])
    assert "error: " in result.err, result.err  # (a resume may print its recipe warning first)
    for needle in (says,) if isinstance(says, str) else says:
        assert needle in result.err, (needle, result.err)
    after, logged_after = digest(*watch), logs(*watch)
    assert {k: after.get(k) for k in before} == before, "an input or earlier output changed"
    assert all(logged_after.get(k, "").startswith(v) for k, v in logged.items()), "a log lost lines"
    return result


def png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def has_data() -> bool:
    value = os.environ.get("CLEARER_DATA")
    return bool(value) and Path(value).is_dir()


needs_data = pytest.mark.skipif(not has_data(), reason="CLEARER_DATA is not set to the benchmark data folder")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    """One finished smoke run shared by every run-folder case (they work on copies)."""
    if not has_data():
        pytest.skip("CLEARER_DATA is not set to the benchmark data folder")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("shared") / "run"
    result = cli("run", BSD, *SMOKE, "--out", out, *FAST)
    torch.set_num_threads(before)
    assert result.code == 0, result.err[-3000:]
    return out


@pytest.fixture
def run_copy(smoke_run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(smoke_run, copy)
    return copy


# ------------------------------------------------------------------------------ --set at resolve time

SET_CASES = [
    ("search.epochs=-1", "search.epochs must be at least 1, got -1"),
    ("search.epochs=0", "search.epochs must be at least 1, got 0"),
    ("search.steps_per_epoch=0", "search.steps_per_epoch must be at least 1, got 0"),
    ("retrain.epochs=0", "retrain.epochs must be at least 1"),
    ("retrain.steps_per_epoch=-5", "retrain.steps_per_epoch must be at least 1, got -5"),
    ("data.patch=0", "data.patch must be at least 1, got 0"),
    ("data.patch=-32", "data.patch must be at least 1"),
    ("data.batch=0", "data.batch must be at least 1, got 0"),
    ("data.batch=-1", "data.batch must be at least 1"),
    ("retrain.patch=0", "retrain.patch must be at least 1"),
    ("retrain.batch=0", "retrain.batch must be at least 1"),
    ("retrain.lr=0", "retrain.lr must be above 0"),
    ("retrain.lr=-0.1", "retrain.lr must be above 0"),
    ("retrain.min_lr=-1", "retrain.min_lr must be at least 0"),
    ("retrain.weight_decay=-1", "retrain.weight_decay must be at least 0"),
    ("retrain.grad_clip=0", "retrain.grad_clip must be above 0"),
    ("evaluate.tile=0", "evaluate.tile must be at least 1, got 0"),
    ("evaluate.tile=-512", "evaluate.tile must be at least 1"),
    ("evaluate.tile=32", "evaluate.tile=32 is too small"),
    ("evaluate.samples=-1", "evaluate.samples must be at least 0"),
    ("seed=-1", "seed must be at least 0 and at most 4294967295, got -1"),
    ("seed=1099511627776", "got 1099511627776"),
    ("data.channels=2", "data.channels must be one of 1, 3, got 2"),
    ("data.channels=0", "data.channels must be one of 1, 3"),
    ("data.degradation.sigma=300", "sigma=300"),
    ("data.degradation.sigma=-5", "sigma=-5"),
    ("data.degradation.sigma=[50, 10]", "low > high"),
    ("data.degradation.sigma=[1, 2, 3]", "[low, high]"),
    ("data.degradation.sigma='high'", "data.degradation.sigma expects"),
    ("space.candidates=['parallel', 'nope']", "unknown candidates 'nope'"),
    ("space.candidates=['parallel', 'os:system']", "unknown candidates 'os:system'"),
    ("space.width=0", "width must be at least 1, got 0"),
    ("space.cells=0", "cells must be at least 1"),
    ("space.columns=0", "columns must be at least 1"),
    ("space.stem_blocks=-1", "stem_blocks must be at least 0"),
    ("data.patch=30", "data.patch=30 must be a multiple of 4"),
    ("retrain.patch=34", "retrain.patch=34 must be a multiple of 4"),
    ("device='tpu'", "device='tpu'"),
    ("device='meta'", "device='meta'"),
    ("device='cuda:x'", "device='cuda:x'"),
    ("device='gpu0'", "device='gpu0'"),
    ("space=dict(name='torch.nn:Identity')", "unknown spaces 'torch.nn:Identity'"),
    ("search.loss='os:getcwd'", "unknown losses 'os:getcwd'"),
    ("search.strategy=dict(name='subprocess:call', args='x')", "unknown strategies 'subprocess:call'"),
    ("evaluate.sets=[dict(name='builtins:exec', source='x')]", "unknown datasets 'builtins:exec'"),
    ("data.degradation=dict(name='shutil:rmtree', path='x')", "unknown degradations 'shutil:rmtree'"),
    ("retrain.loss='importlib:import_module'", "unknown losses 'importlib:import_module'"),
    ("search.arch_losses={'binary_entropy': -1.0}", "search.arch_losses.binary_entropy must be at least 0"),
    ("search.arch_losses={'os:system': 1.0}", "unknown losses 'os:system'"),
    ("search.strategy.weights.lr=-1", "search.strategy.weights.lr must be above 0"),
    ("search.strategy.alpha.lr=0", "search.strategy.alpha.lr must be above 0"),
    ("search.strategy.alpha.betas=[1.0, 2.0]", "alpha.betas must be two numbers in [0, 1)"),
    ("search.strategy.weights.lrr=0.1", "Did you mean search.strategy.weights.lr?"),
    ("search.strategy.warmup_epochs=-1", "warmup_epochs must be at least 0"),
    ("search.strategy.weights.grad_clip=0", "search.strategy.weights.grad_clip must be above 0"),
    ("search.strategy.bn_mode='sometimes'", "bn_mode must be one of"),
    ("search.strategy.nonsense=1", "unknown key search.strategy.nonsense"),
    ("search.strategy=dict(name='random', samples=0)", "random needs samples >= 1"),
    ("search.strategy=dict(name='random', train_fraction=2.0)", "train_fraction"),
    ("search.strategy=dict(name='gumbel', tau_min=0.0)", "gumbel needs 0 < tau_min <= tau_max"),
    ("search.strategy=dict(name='fixed')", "fixed needs exactly one of"),
    ("search.epochs=3.5", "search.epochs expects int, got 3.5"),
    ("search.epochs='many'", "search.epochs expects int, got 'many'"),
    ("search.epochs=True", "search.epochs expects int, got True"),
    ("search.cost='watts'", "search.cost must be one of"),
    ("evaluate.protocol='fancy'", "evaluate.protocol must be one of"),
    ("autocast='fp8'", "autocast must be one of"),
    ("evaluate.self_ensemble=1", "evaluate.self_ensemble expects bool"),
    ("channels_last='yes'", "channels_last expects bool"),
    ("name=5", "name expects str"),
    ("search.epoch=3", "unknown key search.epoch."),
    ("searches.epochs=3", "unknown key searches.epochs"),
    ("search.epochs", "--set expects key=value"),
    ("data.patch=__import__('os').system('touch pwned')", "calls a function"),
    ("retrain.lr=float('nan')", "calls a function"),
    ("retrain.architecture={'cell1/col0': 'nope', 'cell2/col0': 'fusion'}", "'cell1/col0' = 'nope'"),
    ("retrain.architecture={'bogus': 'fusion'}", "architecture does not fit the space"),
    ("evaluate.sets='bsd68'", "evaluate.sets expects list"),
    ("data.train=5", "data.train expects a datasets name"),
]


@pytest.mark.parametrize("setting,says", SET_CASES, ids=[c[0][:40] for c in SET_CASES])
def test_bad_set_fails_at_resolve_time(setting, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a command that ran would leave files here
    bad("show", BSD, *SMOKE, "--set", setting, says=says)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["show", "run"])
def test_set_naming_os_system_executes_nothing(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    flag = tmp_path / "pwned"
    out = ["--out", tmp_path / "out"] if command == "run" else []
    bad(
        command,
        BSD,
        *SMOKE,
        *out,
        "--set",
        f"data.train=dict(name='os:system', command='touch {flag}')",
        says="unknown datasets 'os:system'",
    )
    assert not flag.exists() and not (tmp_path / "out").exists()


# -------------------------------------------------------------------- run: fails before writing --out

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


# ------------------------------------------------------------------------------------- recipe files

RECIPE_FILES = [
    ("syntax.py", "RECIPE = dict(\n    name='x',,\n)\n", "syntax error in recipe"),
    ("boom.py", "RECIPE = dict(seed=1 // 0)\n", "raised ZeroDivisionError"),
    ("norecipe.py", "X = 1\n", "defines no RECIPE dict"),
    ("listrecipe.py", "RECIPE = [1, 2]\n", "RECIPE in"),
    ("badprofiles.py", "RECIPE = {}\nPROFILES = [1]\n", "PROFILES in"),
    ("unknownkey.py", "RECIPE = dict(serch=dict(epochs=1))\n", "unknown key serch"),
    ("unregistered.py", "class Net:\n    pass\nRECIPE = dict(space=Net)\n", "'Net' is not registered"),
    (
        "qualname.py",
        "RECIPE = dict(space=dict(name='os:system', command='touch pwned'))\n",
        "unknown spaces 'os:system'",
    ),
    ("negative.py", "RECIPE = dict(search=dict(epochs=-1))\n", "search.epochs must be at least 1"),
    ("nan.py", "RECIPE = dict(retrain=dict(lr=float('nan')))\n", "retrain.lr must be a finite number"),
    ("inf.py", "RECIPE = dict(retrain=dict(grad_clip=float('inf')))\n", "retrain.grad_clip must be a finite"),
    ("badkeys.py", "RECIPE = {1: 2}\n", "unknown key 1"),
    ("import.py", "import no_such_module_xyz\nRECIPE = {}\n", "ModuleNotFoundError"),
]


@pytest.mark.parametrize("name,text,says", RECIPE_FILES, ids=[c[0] for c in RECIPE_FILES])
def test_bad_recipe_file(name, text, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / name, text)
    bad("show", path, "--profile", "none", says=says, watch=(path,))
    assert not (tmp_path / "pwned").exists()


JSON_RECIPES = [
    ("{", "is not valid JSON"),
    ("", "is not valid JSON"),
    ("[1, 2]", "must hold a JSON object"),
    ('{"search": {"epochs": -1}}', "search.epochs must be at least 1"),
    ('{"serch": {}}', "unknown key serch"),
    ('{"data": {"train": {"name": "os:system", "command": "touch pwned"}}}', "unknown datasets 'os:system'"),
    ('{"space": {"name": "helpers:Net"}}', "unknown spaces 'helpers:Net'"),
    ('{"device": "tpu"}', "device='tpu'"),
    ('{"seed": 1e400}', "seed expects int"),
]


@pytest.mark.parametrize("text,says", JSON_RECIPES, ids=[c[0][:30] or "empty" for c in JSON_RECIPES])
def test_bad_recipe_json_is_data_never_code(text, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "helpers.py", f"open({str(tmp_path / 'pwned')!r}, 'w').close()\nclass Net: pass\n")
    path = write(tmp_path / "recipe.json", text)
    bad("show", path, says=says, watch=(path,))
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    "args,says",
    [
        (["show", "no/such/recipe.py"], "recipe file 'no/such/recipe.py' not found"),
        (["show", "no/such/recipe.json"], "not found"),
        (["list", "nosuchkind"], "unknown kind 'nosuchkind'"),
        (["list", "--recipe", "no/such.py"], "not found"),
        (["run", "no/such/recipe.py", "--profile", "smoke"], "not found"),
        (["show", BSD, "--profile", "smok"], "Did you mean 'smoke'"),
        (["show-arch", "no/such/run"], "arch.json not found"),
    ],
    ids=lambda v: " ".join(v)[:40] if isinstance(v, list) else None,
)
def test_bad_command_line(args, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad(*args, says=says)


def test_a_directory_as_recipe(tmp_path):
    bad("show", tmp_path, says="not found")


@pytest.mark.parametrize("where", ["before", "after", "end"])
def test_debug_is_accepted_anywhere(where, tmp_path):
    missing = str(tmp_path / "missing.py")
    args = {
        "before": ["--debug", "show", missing],
        "after": ["show", "--debug", missing],
        "end": ["show", missing, "--profile", "smoke", "--debug"],
    }[where]
    with pytest.raises(ClearerError, match="not found"):
        main(args)


# ------------------------------------------------------------------------------------- run folders


def _truncate(path: Path, size: int | None = None) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 if size is None else size])


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
    "weights truncated": (lambda r: _truncate(r / "model.safetensors"), "model.safetensors is damaged"),
    "weights empty": (lambda r: _truncate(r / "model.safetensors", 0), "model.safetensors is damaged"),
    "weights garbage": (lambda r: write(r / "model.safetensors", "not weights"), "model.safetensors is damaged"),
    "retrain state truncated": (
        lambda r: (_truncate(r / "state/retrain.safetensors"), (r / "model.safetensors").unlink()),
        "retrain.safetensors is damaged",
    ),
    "retrain state empty": (
        lambda r: (_truncate(r / "state/retrain.safetensors", 0), (r / "model.safetensors").unlink()),
        "retrain.safetensors is damaged",
    ),
    "search state truncated": (
        lambda r: (
            _truncate(r / "state/search.safetensors"),
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
def test_new_run_into_an_existing_run_or_a_non_run(smoke_run, tmp_path):
    bad("run", BSD, *SMOKE, "--out", smoke_run, says="already holds a run", watch=(smoke_run,))
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
def test_recipe_json_of_a_run_reproduces_it(smoke_run, tmp_path):
    """`clearer run RUN/recipe.json --profile smoke` gives the same metrics exactly (issue 13 item 4)."""
    shown = cli("show", smoke_run / "recipe.json", "--profile", "smoke")
    assert shown.code == 0 and json.loads(shown.out) == json.loads((smoke_run / "recipe.json").read_text())
    again = tmp_path / "again"
    result = cli("run", smoke_run / "recipe.json", "--profile", "smoke", "--out", again, "--quiet")
    assert result.code == 0, result.err[-2000:]
    first, second = (json.loads((r / "metrics.json").read_text()) for r in (smoke_run, again))
    for name, values in first["sets"].items():
        values, others = dict(values), dict(second["sets"][name])
        values.pop("seconds"), others.pop("seconds")
        assert values == others, name
    assert first["recipe_hash"] == second["recipe_hash"] and first["architecture"] == second["architecture"]


# ----------------------------------------------------------------------------------------- restore


@needs_data
def test_restore_into_the_folder_of_its_input_never_overwrites_it(smoke_run, tmp_path):
    folder = tmp_path / "D"
    photo = png(folder / "photo.png", np.random.default_rng(0).integers(0, 255, (40, 48), dtype=np.uint8))
    before = digest(photo)
    result = cli("restore", photo, "--run", smoke_run, "--out", folder)
    assert result.code == 0, result.err
    assert digest(photo) == before and (folder / "photo-2.png").is_file()
    again = cli("restore", photo, "--run", smoke_run, "--out", folder, "--overwrite")
    assert again.code == 0 and digest(photo) == before  # --overwrite replaces outputs, never inputs


@needs_data
def test_restore_same_stem_from_two_folders_gets_unique_names(smoke_run, tmp_path):
    a = png(tmp_path / "a" / "x.png", np.full((40, 40), 50, np.uint8))
    b = png(tmp_path / "b" / "x.png", np.full((40, 40), 200, np.uint8))
    result = cli("restore", a, b, "--run", smoke_run, "--out", tmp_path / "out")
    assert result.code == 0, result.err
    outs = [tmp_path / "out" / "x.png", tmp_path / "out" / "x-2.png"]
    assert [str(p) for p in outs] == result.out.split()
    means = [np.asarray(Image.open(p)).mean() for p in outs]
    assert means[0] < 128 < means[1]  # each output comes from its own input


@needs_data
def test_restore_refuses_existing_outputs(smoke_run, tmp_path):
    image = png(tmp_path / "in" / "photo.png", np.full((40, 40), 90, np.uint8))
    earlier = write(tmp_path / "out" / "photo.png", "earlier result")
    bad(
        "restore",
        image,
        "--run",
        smoke_run,
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
        lambda d: (_truncate(png(d / "cut.png", np.full((64, 64), 7, np.uint8)), 60), d / "cut.png")[1],
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
def test_restore_bad_image(case, smoke_run, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    make, says = RESTORE_INPUTS[case]
    image = make(folder)
    bad("restore", image, "--run", smoke_run, "--out", tmp_path / "out", says=says, watch=(folder, smoke_run))


@needs_data
def test_restore_bad_places(smoke_run, tmp_path):
    image = png(tmp_path / "in" / "photo.png", np.full((40, 40), 90, np.uint8))
    a_file = write(tmp_path / "file.txt", "mine")
    watch = (image, a_file, smoke_run)
    bad("restore", image, "--run", smoke_run, "--out", a_file, says="is a file", watch=watch)
    bad("restore", image, "--run", smoke_run, "--out", a_file / "sub", says="cannot write", watch=watch)
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
        smoke_run,
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


# ----------------------------------------------------------------------------------------- compare

COMPARISONS = {
    "variants list": ("BASE = 'bsd.py'\nVARIANTS = ['a', 'b']\n", "VARIANTS in"),
    "variants raise": ("BASE = 'bsd.py'\ndef VARIANTS(profile):\n    raise KeyError(profile)\n", "raised KeyError"),
    "no base": ("VARIANTS = {}\n", "defines no BASE"),
    "missing base": ("BASE = 'nothere.py'\nVARIANTS = {}\n", "not found"),
    "negative epochs": (
        "BASE = 'bsd.py'\nVARIANTS = {'x': {'search.epochs': -1}}\n",
        "search.epochs must be at least 1",
    ),
    "os:system": (
        "BASE = 'bsd.py'\nVARIANTS = {'x': {'data.train': {'name': 'os:system', 'command': 'touch pwned'}}}\n",
        "unknown datasets 'os:system'",
    ),
    "bad candidate": ("BASE = 'bsd.py'\nVARIANTS = {'x': {'space.candidates': ['parallel', 'nope']}}\n", "variant 'x'"),
    "bad tile": ("BASE = 'bsd.py'\nVARIANTS = {'x': {'evaluate.tile': 16}}\n", "evaluate.tile=16 is too small"),
}


@pytest.mark.parametrize("case", list(COMPARISONS))
def test_bad_comparison(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(RECIPES / "bsd.py", tmp_path / "bsd.py")
    text, says = COMPARISONS[case]
    path = write(tmp_path / "cmp.py", text)
    bad("compare", path, *SMOKE, "--out", tmp_path / "cmp", says=says, watch=(path, tmp_path / "bsd.py"))
    assert not (tmp_path / "cmp").exists() and not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    "args,says",
    [
        (["--shard", "3/2"], "--shard expects I/N"),
        (["--shard", "x"], "--shard expects I/N"),
        (["--seeds", "0"], "--seeds must be at least 1"),
    ],
)
def test_bad_comparison_options(args, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(RECIPES / "bsd.py", tmp_path / "bsd.py")
    path = write(tmp_path / "cmp.py", "BASE = 'bsd.py'\nVARIANTS = {'a': {}}\n")
    bad("compare", path, *SMOKE, "--out", tmp_path / "cmp", *args, says=says)


# ------------------------------------------------------------------------------------------- fetch


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def served(tmp_path):
    """A local http server over tmp_path/served (these machines have no internet)."""
    folder = tmp_path / "served"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _zip(path: Path, members: dict[str, bytes]) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return hashlib.sha256(path.read_bytes()).hexdigest()


SET12 = "DnCNN-master/testsets/Set12/"


def test_fetch_bad_downloads(served, tmp_path):
    folder, base = served
    root = tmp_path / "root"
    root.mkdir()
    digest_ok = _zip(folder / "set12.zip", {SET12 + "01.png": b"x"})
    (folder / "text.zip").write_text("not a zip")
    _zip(folder / "evil.zip", {"../evil.txt": b"x"})
    _zip(folder / "layout.zip", {"Other/01.png": b"x"})
    cases = [
        (["nosuch"], "unknown dataset 'nosuch'"),
        (["bsds50"], "Did you mean 'bsds500'"),
        (["set12", "--url", f"{base}/missing.zip"], "could not download"),
        (["set12", "--url", f"{base}/set12.zip", "--sha256", "0" * 64], f"expected sha256 {'0' * 64}, got {digest_ok}"),
        (["set12", "--url", f"{base}/text.zip"], "cannot unpack"),
        (["set12", "--url", f"{base}/evil.zip"], "unsafe paths"),
        (["set12", "--url", f"{base}/layout.zip"], "does not contain the folder"),
        (["set12", "--url", f"{base}/set12.zip"], "do not match the recorded sha256 manifest"),
        (["set12", "--url", "ftp://127.0.0.1/x.zip"], "could not download"),
    ]
    for args, says in cases:
        bad("data", "fetch", *args, "--root", root, says=says, watch=(folder,))
        assert list(root.iterdir()) == [], args


def test_fetch_needs_a_root(monkeypatch):
    monkeypatch.delenv("CLEARER_DATA", raising=False)
    bad("data", "fetch", "set12", says="set CLEARER_DATA or pass --root")


@needs_data
def test_fetch_verifies_every_file_writes_the_bsd68_map_and_force_refetches(served, tmp_path):
    folder, base = served
    data = Path(os.environ["CLEARER_DATA"])
    members = {f"DnCNN-master/testsets/BSD68/{p.name}": p.read_bytes() for p in sorted((data / "BSD68").iterdir())}
    _zip(folder / "bsd68.zip", members)
    root = tmp_path / "root"
    result = cli("data", "fetch", "bsd68", "--root", root, "--url", f"{base}/bsd68.zip")
    assert result.code == 0, result.err
    assert "every file matches its recorded sha256" in result.out
    assert (root / "bsd68_in_bsds500_val.txt").read_text() == (data / "bsd68_in_bsds500_val.txt").read_text()
    assert digest(root / "BSD68") == {
        str(root / "BSD68" / Path(k).name): hashlib.sha256(v).hexdigest() for k, v in members.items()
    }
    again = cli("data", "fetch", "bsd68", "--root", root, "--url", f"{base}/bsd68.zip")
    assert again.code == 0 and "already exists" in again.out
    (root / "BSD68" / "test001.png").write_bytes(b"damaged")
    forced = cli("data", "fetch", "bsd68", "--root", root, "--url", f"{base}/bsd68.zip", "--force")
    assert forced.code == 0, forced.err
    assert (root / "BSD68" / "test001.png").read_bytes() == members["DnCNN-master/testsets/BSD68/test001.png"]


def test_recorded_sources_use_https_and_have_manifests():
    for name, source in fetch_mod.SOURCES.items():
        assert source.url.startswith("https://"), name
        files = fetch_mod.manifest(source.folder)
        assert files and all(len(h) == 64 for h in files.values()), name
