"""Equal-cost retraining (`retrain.match_cost`, spaces/match.py): widths that hit a cost target."""

from __future__ import annotations

import json

import pytest

import clearer
from clearer.compare import every_architecture
from clearer.engine.build import build_space, check_recipe, cost_match
from clearer.errors import ClearerError
from clearer.recipe import load_recipe
from clearer.spaces.cost import count_params, flops_per_pixel
from clearer.spaces.match import TOLERANCE, match_cost

from conftest import RECIPES, smoke_run
from conftest import clearer as clearer_cli

BSD = RECIPES / "bsd.py"


def compare_recipe():
    recipe = load_recipe(BSD).resolve("compare")
    return recipe, every_architecture(BSD, "compare")


@pytest.mark.slow
def test_every_architecture_of_the_compare_space_is_matched_within_five_percent(one_thread):
    recipe, archs = compare_recipe()
    for target in ({"flops": 80000}, {"flops": 60000}, {"params": 200000}):
        for name, arch in archs.items():
            match = match_cost(recipe.space, 1, arch, target)
            assert abs(match.error) <= TOLERANCE, (name, target, match)


def test_the_matched_network_is_what_build_space_builds_and_its_cost_is_measured(one_thread):
    recipe = load_recipe(BSD).resolve("compare", {"retrain.match_cost": {"flops": 80000}})
    arch = every_architecture(BSD, "compare")["FFFF"]  # 44 k FLOPs/px at width 16: must grow
    match = cost_match(recipe, arch)
    model = build_space(recipe, arch)
    assert match.width > 16 and abs(match.error) <= TOLERANCE
    assert flops_per_pixel(model, 1) == match.reached  # recorded cost = the built network's, at any size
    assert cost_match(recipe, None) is None  # the supernet is never rescaled
    params = load_recipe(BSD).resolve("compare", {"retrain.match_cost": {"params": 150000}})
    assert abs(count_params(build_space(params, arch)) / 150000 - 1) <= TOLERANCE


def test_unreachable_targets_and_bad_specs_are_clear_errors(one_thread):
    recipe, archs = compare_recipe()
    with pytest.raises(ClearerError, match="the closest, width 1, gives"):
        match_cost(recipe.space, 1, archs["PPPP"], {"flops": 10})
    with pytest.raises(ClearerError, match="one kind of cost"):
        match_cost(recipe.space, 1, archs["PPPP"], {"flops": 1e5, "params": 1e5})
    with pytest.raises(ClearerError, match="gives none"):
        match_cost({"name": "clearer"}, 1, archs["PPPP"], {"flops": 1e5})
    bad = load_recipe(BSD).resolve("compare", {"retrain.match_cost": {"flops": 1e5, "params": 1e5}})
    with pytest.raises(ClearerError, match="retrain.match_cost"):
        check_recipe(bad)


def test_show_resolves_a_match_cost_override():
    proc = clearer_cli("show", BSD, "--profile", "compare", "--set", "retrain.match_cost.flops=60000")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["retrain"]["match_cost"] == {"flops": 60000.0}


@pytest.mark.slow
def test_a_run_records_the_width_and_cost_it_reached_and_loads_at_that_width(data_dir, tmp_path):
    out = tmp_path / "run"
    proc = clearer_cli(*smoke_run(BSD, out, "retrain.match_cost=dict(flops=20000)"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    match = metrics["match_cost"]
    assert match["kind"] == "flops" and match["target"] == 20000 and abs(match["error"]) <= TOLERANCE
    assert metrics["flops_per_pixel"] == round(match["reached"]) and match["width"] != 8
    model = clearer.load(out)  # rebuilt at the matched width, so the weights fit
    assert round(flops_per_pixel(model, 1)) == metrics["flops_per_pixel"]
    assert "retrain: width" in (out / "log.txt").read_text()
