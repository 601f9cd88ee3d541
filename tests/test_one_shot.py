"""One-shot estimates (engine/one_shot.py): the supernet with α one-hot is the derived network with
inherited weights, and architecture costs add up exactly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from clearer.engine.build import build_space
from clearer.engine.one_shot import one_shot_estimates, recalibrate_bn, score
from clearer.engine.search import fixed_crops
from clearer.recipe import load_recipe
from clearer.spaces.choice import enumerate_architectures
from clearer.spaces.cost import architecture_costs, count_params, flops_per_pixel

from conftest import RECIPES

BSD = RECIPES / "bsd.py"


def trained_like(model: nn.Module, seed: int = 0) -> nn.Module:
    """Every BatchNorm with random scales and statistics and the output conv random, so candidates differ
    (they, and a residual network's output, start as identities)."""
    gen = torch.Generator().manual_seed(seed)
    model.out.weight.data = torch.randn(model.out.weight.shape, generator=gen) * 0.05
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data = torch.rand(m.weight.shape, generator=gen) + 0.5
            m.running_var.data = torch.rand(m.running_var.shape, generator=gen) + 0.5
            m.running_mean.data = torch.randn(m.running_mean.shape, generator=gen) * 0.1
    return model


def derived_with_inherited_weights(recipe, space: nn.Module, arch: dict[str, str]) -> nn.Module:
    derived = build_space(recipe, arch)
    inherited = space.state_dict()
    derived.load_state_dict({k: inherited[k] for k in derived.state_dict()})
    return derived


def test_estimates_equal_the_derived_networks_with_inherited_weights_on_the_same_crops(data_dir, one_thread):
    recipe = load_recipe(BSD).resolve("smoke", {"data.patch": 16, "data.batch": 4})
    torch.manual_seed(0)
    space = trained_like(build_space(recipe))
    crops = fixed_crops(recipe, recipe.data.alpha, 1, 8, torch.device("cpu"))
    train = fixed_crops(recipe, recipe.data.train, 2, 8, torch.device("cpu"))
    before = {k: v.clone() for k, v in space.state_dict().items()}
    estimates = one_shot_estimates(space, crops, train, 1, limit=64)["architectures"]
    assert sorted(estimates) == ["FF", "FP", "PF", "PP"]
    for code, est in estimates.items():
        derived = derived_with_inherited_weights(recipe, space, est["architecture"])
        assert abs(score(derived, crops) - est["inherited_psnr"]) < 1e-4, code
        recalibrate_bn(derived, train)
        assert abs(score(derived, crops) - est["recalibrated_psnr"]) < 1e-4, code
        assert est["flops_per_pixel"] == round(flops_per_pixel(derived, 1))
        assert est["params"] == count_params(derived)
    assert len({e["inherited_psnr"] for e in estimates.values()}) == 4  # they do differ
    after = space.state_dict()  # estimating leaves the supernet as it was
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("base", [BSD, BSD.with_name("sr.py")], ids=["denoising", "sr-x2"])
def test_architecture_costs_add_up_to_each_derived_networks_cost(one_thread, base):
    """Also per *output* pixel for super-resolution, as flops_per_pixel counts (regression: the one-shot
    table's SR FLOPs were per input pixel, scale² times the fixed networks')."""
    recipe = load_recipe(base).resolve("compare")
    space = build_space(recipe)
    channels = recipe.data.channels
    archs = enumerate_architectures({c.label: c.candidates for c in space.choices()})
    flops = architecture_costs(space, "flops", channels, archs)
    params = architecture_costs(space, "params", channels, archs)
    for code in ("PPPP", "FFFF", "PFFP"):
        derived = build_space(recipe, archs[code])
        assert flops[code] == pytest.approx(flops_per_pixel(derived, channels), rel=1e-12)
        assert params[code] == count_params(derived)


def test_a_sampled_space_is_estimated_on_a_seeded_sample():
    candidates = {f"c{i}": ["parallel", "fusion"] for i in range(8)}  # 256 architectures
    sample = enumerate_architectures(candidates, limit=10, seed=0)
    assert len(sample) == 10 and sample == enumerate_architectures(candidates, limit=10, seed=0)
