"""`clearer compare`: the ablation grid (smoke), sharding + report, resume, tables and figures."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from clearer.compare import load_comparison, shard
from clearer.report import arch_summary, figures, pareto

from conftest import RECIPES

ABLATIONS = RECIPES / "ablations.py"
VARIANTS = ["clearer", "no-binary-entropy", "no-expected-cost", "lambda2=1e-4", "lambda2=1e-2", "lambda2=1e-1",
            "all-parallel", "all-fusion", "random-arch", "darts-bilevel", "clearer-gumbel"]


def clearer(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "clearer", *args], capture_output=True, text=True, timeout=900)


def test_ablation_grid_resolves_every_variant_with_the_same_data_and_budget(data_dir, tmp_path):
    comparison = load_comparison(ABLATIONS, "smoke", {}, None, tmp_path)
    assert [j.variant for j in comparison.jobs] == VARIANTS
    recipes = [j.recipe for j in comparison.jobs]
    for r in recipes:
        assert r.data == recipes[0].data and r.retrain == recipes[0].retrain and r.evaluate == recipes[0].evaluate
    by = {j.variant: j.recipe for j in comparison.jobs}
    assert by["no-binary-entropy"].search.arch_losses == {"expected_cost": 1e-3}
    assert by["lambda2=1e-1"].search.arch_losses["expected_cost"] == 0.1
    assert by["darts-bilevel"].space["name"] == "darts_cells"
    assert by["clearer-gumbel"].search.strategy["name"] == "gumbel"
    assert len(load_comparison(ABLATIONS, "smoke", {}, 3, tmp_path).jobs) == 3 * len(VARIANTS)


def test_compare_smoke_prints_every_variant_and_writes_tables_and_figures(data_dir, tmp_path):
    out = tmp_path / "cmp"
    proc = clearer("compare", str(ABLATIONS), "--profile", "smoke", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    for variant in VARIANTS:
        assert variant in proc.stdout, variant
    tables = json.loads((out / "comparison.json").read_text())
    assert set(tables) == {"bsd68", "set12"}
    assert [r["variant"] for r in tables["bsd68"]] == VARIANTS
    rows = {r["variant"]: r for r in tables["bsd68"]}
    assert rows["all-fusion"]["architecture"] == "2 fusion" and rows["all-parallel"]["architecture"] == "2 parallel"
    assert rows["all-fusion"]["search_s"] == 0.0
    assert rows["darts-bilevel"]["params"] != rows["clearer"]["params"]
    for name in ("comparison.csv", "comparison.md", "psnr_vs_params-bsd68.png", "alpha_over_epochs.png"):
        assert (out / name).is_file(), name
    assert "| clearer |" in (out / "comparison.md").read_text()
    # a re-run skips finished variants
    again = clearer("compare", str(ABLATIONS), "--profile", "smoke", "--out", str(out))
    skipped = [line for line in again.stdout.splitlines() if line.startswith("skip ")]
    assert again.returncode == 0 and len(skipped) == len(VARIANTS)


MINI = '''
BASE = {base!r}
VARIANTS = {{"clearer": {{}}, "all-fusion": {{"search.strategy": {{"name": "fixed", "candidate": "fusion"}}}}}}
SEEDS = 2
'''


def test_two_shards_and_a_report_give_the_table_of_one_unsharded_run(data_dir, tmp_path):
    mini = tmp_path / "mini.py"
    mini.write_text(MINI.format(base=str(RECIPES / "bsd.py")))
    sharded, whole = tmp_path / "sharded", tmp_path / "whole"
    for part in ("0/2", "1/2"):
        proc = clearer("compare", str(mini), "--profile", "smoke", "--out", str(sharded), "--shard", part)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "shard " + part + " done" in proc.stdout
    report = clearer("compare", str(mini), "--profile", "smoke", "--out", str(sharded), "--report")
    assert report.returncode == 0, report.stderr[-3000:]
    assert clearer("compare", str(mini), "--profile", "smoke", "--out", str(whole)).returncode == 0

    def table(folder: Path) -> dict:
        data = json.loads((folder / "comparison.json").read_text())
        for rows in data.values():
            for r in rows:
                r.pop("search_s"), r.pop("retrain_s")  # wall-clock times differ run to run
        return data

    assert table(sharded) == table(whole)
    assert table(whole)["bsd68"][0]["seeds"] == 2


def test_shard_slices_cover_the_grid_once(tmp_path):
    jobs = list(range(7))
    parts = [shard(jobs, f"{i}/3") for i in range(3)]
    assert sorted(sum(parts, [])) == jobs
    import pytest
    from clearer.errors import ClearerError
    with pytest.raises(ClearerError, match="I/N"):
        shard(jobs, "3/3")


def test_pareto_front_and_architecture_summary():
    assert pareto([(1, 20.0), (2, 25.0), (3, 24.0), (2, 26.0)]) == [0, 3]
    assert arch_summary({"a": "fusion", "b": "parallel", "c": "fusion"}) == "2 fusion / 1 parallel"


def test_psnr_vs_params_plot_only_when_sizes_differ(tmp_path):
    """Variants that change only the data (recipes/rain_models.py) share one size: no scatter to draw."""
    pytest.importorskip("matplotlib")
    row = dict(variant="a", params=1000, psnr=30.0, psnr_std=0.0)
    same = {"set": [row, dict(row, variant="b", psnr=31.0)]}
    assert figures(same, {}, tmp_path) == []
    differ = {"set": [row, dict(row, variant="b", params=2000)]}
    assert figures(differ, {}, tmp_path) == [tmp_path / "psnr_vs_params-set.png"]
    assert (tmp_path / "psnr_vs_params-set.png").stat().st_size > 1000
