"""Speed work that must not change results: cached input scores, compiled steps, honest benchmarks."""
from __future__ import annotations

import torch

from clearer.engine import evaluate as E
from clearer.engine.build import build_space
from clearer.engine.progress import RunLog
from clearer.recipe import load_recipe

from conftest import RECIPES


def test_input_scores_are_measured_once_per_set_and_reused(data_dir, tmp_path, one_thread):
    recipe = load_recipe(RECIPES / "bsd.py").resolve("smoke", {"evaluate.sets": [{"name": "bsd68", "limit": 2}]})
    torch.manual_seed(0)
    model = build_space(recipe, {"cell1/col0": "parallel", "cell2/col0": "fusion"})
    log = RunLog(None, verbose=False)
    E._INPUT_SCORES.clear()
    first = E.evaluate(recipe, model, tmp_path, torch.device("cpu"), log)["bsd68"]
    assert len(E._INPUT_SCORES) == 1
    cached = dict(next(iter(E._INPUT_SCORES.values())))
    second = E.evaluate(recipe, model, tmp_path, torch.device("cpu"), log)["bsd68"]
    assert {k: v for k, v in first.items() if k != "seconds"} == {k: v for k, v in second.items() if k != "seconds"}
    assert second["input_psnr"] == round(cached["input_psnr"], 5)
    # a lower noise level degrades the inputs less: measured anew, not taken from the cache
    milder = load_recipe(RECIPES / "bsd.py").resolve("smoke", {"evaluate.sets": [{"name": "bsd68", "limit": 2}],
                                                                "data.degradation.sigma": 15.0})
    third = E.evaluate(milder, model, tmp_path, torch.device("cpu"), log)["bsd68"]
    assert len(E._INPUT_SCORES) == 2 and third["input_psnr"] > first["input_psnr"] + 8
