"""Hostile and careless recipes and command lines: --set values at resolve time, recipe files (Python and
JSON) and options. Each case ends with exit code 2, one paragraph naming the bad value, no traceback and
nothing executed."""

from __future__ import annotations

import pytest

from clearer.cli import main
from clearer.errors import ClearerError

from conftest import BSD, SMOKE, bad, write

pytestmark = pytest.mark.usefixtures("restore_registries", "one_thread")


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
