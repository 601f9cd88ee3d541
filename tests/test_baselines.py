"""Hand-designed baselines registered by a recipe (recipes/hand_designed.py) and their comparison."""

from __future__ import annotations

import csv

import pytest

from clearer.recipe import load_recipe
from clearer.registry import SPACES
from clearer.spaces.cost import count_params, flops_per_pixel

from conftest import RECIPES, clearer


@pytest.fixture
def hand_designed(restore_registries):
    load_recipe(RECIPES / "hand_designed.py")  # registers dncnn and ircnn, as a comparison's BASE does


def test_parameter_counts_are_the_published_ones(hand_designed):
    dncnn = SPACES.build({"name": "dncnn", "width": 64, "depth": 17}, channels=1, architecture={})
    ircnn = SPACES.build({"name": "ircnn", "width": 64}, channels=1, architecture={})
    # DnCNN: 1->64 conv with bias, 15 x (64->64 conv + BatchNorm), 64->1 conv; published 0.56 M
    assert count_params(dncnn) == 64 * 9 + 64 + 15 * (64 * 64 * 9 + 2 * 64) + 64 * 9 == 556_096
    # IRCNN: the same with 5 dilated middle layers; published 0.19 M
    assert count_params(ircnn) == 64 * 9 + 64 + 5 * (64 * 64 * 9 + 2 * 64) + 64 * 9 == 186_176
    assert round(count_params(dncnn) / 1e6, 2) == 0.56 and round(count_params(ircnn) / 1e6, 2) == 0.19
    assert 1.0e6 < flops_per_pixel(dncnn, 1) < 1.2e6  # "about 1.1 M FLOPs/px"


def test_hand_designed_networks_start_as_the_identity_and_keep_the_image_size(hand_designed):
    import torch

    for ref in ({"name": "dncnn", "width": 8, "depth": 5}, {"name": "ircnn", "width": 8}):
        net = SPACES.build(ref, channels=3, architecture={}).eval()
        x = torch.rand(1, 3, 23, 17)
        assert torch.equal(net(x), x) and net.choices() == []
        he = SPACES.build({**ref, "identity_start": False}, channels=3, architecture={}).eval()
        assert he(x).shape == x.shape and not torch.equal(he(x), x)


@pytest.mark.slow
def test_the_baselines_comparison_has_dncnn_and_ircnn_rows_native_and_at_the_searched_cost(data_dir, tmp_path):
    out = tmp_path / "baselines"
    proc = clearer("compare", RECIPES / "baselines.py", "--profile", "smoke", "--out", out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = list(csv.DictReader((out / "comparison.csv").open()))
    names = {r["variant"] for r in rows}
    assert {"dncnn", "ircnn", "dncnn@searched", "ircnn@searched", "clearer-searched"} <= names
    flops = {r["variant"]: int(r["flops_per_pixel"]) for r in rows if r["test_set"] == "bsd68"}
    assert flops["dncnn"] > 2 * flops["dncnn@searched"]  # rescaled to the smoke target, 14,000 ± 5 %
    assert abs(flops["dncnn@searched"] / 14000 - 1) <= 0.05 and abs(flops["ircnn@searched"] / 14000 - 1) <= 0.05


def test_ircnn_runs_in_float32_under_bf16_autocast(hand_designed):
    """Regression: its dilated convolutions in CPU bf16 made the loss NaN at the second step."""
    import torch

    net = SPACES.build({"name": "ircnn", "width": 8}, channels=1, architecture={}).eval()
    torch.nn.init.normal_(net.net[-1].weight, std=0.1)
    x = torch.rand(2, 1, 24, 24)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = net(x)
    assert mixed.dtype == torch.float32 and torch.equal(mixed, net(x))
