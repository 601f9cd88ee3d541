"""`clearer compare`: the ablation grid (smoke), sharding + report, resume, tables and figures."""

from __future__ import annotations

import json

import pytest

from clearer.compare import PerSeed, job_identity, load_comparison, shard
from clearer.compare.figures import alpha_over_epochs, figures
from clearer.compare.report import add_ranks, cells, ground_truth_table, mark_ties, pareto, sweep_monotone
from clearer.recipe import Recipe
from clearer.rundir.artifacts import arch_summary

from conftest import RECIPES, clearer, comparison_table

ABLATIONS = RECIPES / "ablations.py"
GROUND_TRUTH = RECIPES / "ground_truth.py"
VARIANTS = [
    "bilevel",
    "no-binary-entropy",
    "lambda2=0.0001",
    "lambda2=0.0002",
    "lambda2=0.0003",
    "lambda2=0.0004",
    "lambda2=0.0005",
    "gumbel",
    "random-search",
    "random-arch",
    "darts-bilevel",
]


def test_ablation_grid_resolves_every_variant_with_the_same_data_and_budget(data_dir, tmp_path):
    comparison = load_comparison(ABLATIONS, "compare", {}, None, tmp_path)
    assert list(dict.fromkeys(j.variant for j in comparison.jobs)) == VARIANTS
    assert len(comparison.jobs) == 3 * (len(VARIANTS) - 1) + 5  # 3 seeds, 5 random architectures
    assert [j.variant for j in comparison.jobs[: len(VARIANTS)]] == VARIANTS  # seed-major
    recipes = [j.recipe for j in comparison.jobs]
    for r in recipes:
        assert r.data.train == recipes[0].data.train and r.evaluate == recipes[0].evaluate
        assert r.retrain.epochs == recipes[0].retrain.epochs and (r.retrain.batch or r.data.batch) == 16
    jobs = {(j.variant, j.seed): j.recipe for j in comparison.jobs}
    assert "binary_entropy" not in jobs["no-binary-entropy", 0].search.arch_losses
    assert jobs["lambda2=0.0005", 0].search.arch_losses["expected_cost"] == 5e-4
    assert jobs["lambda2=0.0005", 0].search.cost == "flops" and comparison.sweep[0] == "bilevel"
    randoms = [json.dumps(jobs["random-arch", s].search.strategy["architecture"], sort_keys=True) for s in range(5)]
    assert len(set(randoms)) == 5  # a new architecture per seed
    assert {jobs["random-search", s].search.strategy["seed"] for s in range(3)} == {0, 1, 2}
    darts = jobs["darts-bilevel", 0].space
    assert darts["name"] == "darts_cells" and darts["nodes"] == 4 and darts.get("shared", True)
    assert jobs["gumbel", 0].search.strategy["name"] == "gumbel"


def test_darts_baseline_is_within_2x_of_clearer_in_flops():
    """DARTS' derived cells (sep/conv ops) land within 2x of the CLEARER networks' FLOPs/px."""
    from clearer.engine.build import build_space
    from clearer.spaces.cost import flops_per_pixel

    grid = {j.variant: j.recipe for j in load_comparison(ABLATIONS, "compare", {}, 1, None).jobs}
    clearer_flops = [
        flops_per_pixel(
            build_space(grid["bilevel"], {c.label: name for c in build_space(grid["bilevel"]).choices()}), 1
        )
        for name in ("parallel", "fusion")
    ]
    darts_space = build_space(grid["darts-bilevel"])
    labels = list(dict.fromkeys(c.label for c in darts_space.choices()))
    for op in ("sep_conv_3x3", "conv_3x3"):
        arch = {label: op if int(label[-1]) < 2 else "none" for label in labels}
        darts = flops_per_pixel(build_space(grid["darts-bilevel"], arch), 1)
        assert min(clearer_flops) / 2 <= darts <= max(clearer_flops) * 2, (op, darts, clearer_flops)


@pytest.mark.slow
def test_compare_smoke_prints_every_variant_and_writes_tables_and_figures(data_dir, tmp_path):
    out = tmp_path / "cmp"
    proc = clearer("compare", str(ABLATIONS), "--profile", "smoke", "--out", str(out), "--seeds", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    for variant in VARIANTS:
        assert variant in proc.stdout, variant
    assert "…" not in proc.stdout and "α entropy" in proc.stdout  # piped: whole rows, no cut at 80 columns
    tables = json.loads((out / "comparison.json").read_text())
    assert set(tables) == {"bsd68", "set12"}
    assert [r["variant"] for r in tables["bsd68"]] == VARIANTS
    rows = {r["variant"]: r for r in tables["bsd68"]}
    assert rows["random-arch"]["seeds"] == 5 and rows["random-arch"]["search_s"] == 0.0
    assert rows["random-arch"]["architecture"].endswith("different") or rows["random-arch"]["seeds"] == 1
    assert rows["darts-bilevel"]["params"] != rows["bilevel"]["params"]
    assert rows["bilevel"]["entropy"] is not None and rows["random-arch"]["gap_db"] is None
    for name in ("comparison.csv", "comparison.md", "psnr_vs_params-bsd68.png", "alpha_over_epochs.png"):
        assert (out / name).is_file(), name
    md = (out / "comparison.md").read_text()
    assert "| bilevel |" in md and "gap dB" in md and " ± 0.00" not in md.split("| random-arch |")[0]
    # a re-run skips finished variants
    again = clearer("compare", str(ABLATIONS), "--profile", "smoke", "--out", str(out), "--seeds", "1")
    skipped = [line for line in again.stdout.splitlines() if line.startswith("skip ")]
    assert again.returncode == 0 and len(skipped) == len(VARIANTS) - 1 + 5


@pytest.mark.slow
def test_ground_truth_ranks_every_architecture_and_searches_land_in_it(data_dir, tmp_path):
    """Smoke profile: all 4 architectures of the space, ranked; a sibling comparison gets its rank column."""
    truth_dir, cmp_dir = tmp_path / "ground_truth", tmp_path / "cmp"
    # a larger retrain step than smoke's, so the 4 networks differ measurably and rank correlations exist
    lr = ("--set", "retrain.lr=0.01")
    proc = clearer("compare", str(GROUND_TRUTH), "--profile", "smoke", "--out", str(truth_dir), *lr)
    assert proc.returncode == 0, proc.stderr[-3000:]
    truth = json.loads((truth_dir / "ground_truth.json").read_text())
    entries = truth["sets"]["bsd68"]
    assert sorted(e["name"] for e in entries) == ["FF", "FP", "PF", "PP"]
    assert [e["rank"] for e in entries] == [1, 2, 3, 4]
    assert [e["psnr"] for e in entries] == sorted((e["psnr"] for e in entries), reverse=True)
    for e in entries:
        assert e["seeds"] == 2 and e["tie_low"] <= e["rank"] <= e["tie_high"]
    assert "rank (tied)" in proc.stdout
    mini = tmp_path / "mini.py"
    mini.write_text(
        f"BASE = {str(RECIPES / 'bsd.py')!r}\nVARIANTS = {{'bilevel': {{}}, 'all-fusion': "
        "{'search.strategy': {'name': 'fixed', 'candidate': 'fusion'}}}\n"
    )
    proc = clearer("compare", str(mini), "--profile", "smoke", "--out", str(cmp_dir), "--seeds", "2", *lr)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ranked against the ground truth" in proc.stdout and "rank in ground truth" in proc.stdout
    rows = {r["variant"]: r for r in json.loads((cmp_dir / "comparison.json").read_text())["bsd68"]}
    ff = next(e for e in entries if e["name"] == "FF")
    assert rows["all-fusion"]["rank"] == [ff["rank"], ff["rank"]] and rows["all-fusion"]["rank_of"] == 4
    assert len(rows["bilevel"]["rank"]) == 2 and 0 <= rows["bilevel"]["percentile"] <= 100
    # the searches' one-shot estimates, judged against the ground truth beside them
    one_shot = rows["bilevel"]["one_shot"]
    assert one_shot["architectures"] == 4 and one_shot["seeds"] == 2
    # a smoke supernet may rank every architecture alike (its candidates start as the identity): τ is
    # then undefined (None); the FLOPs prior's τ exists (4 distinct costs and PSNRs)
    assert len({e["psnr"] for e in entries}) == 4 and -1 <= one_shot["flops_kendall_tau"] <= 1
    if one_shot["kendall_tau"] is not None:
        low, high = one_shot["kendall_tau_ci"]
        assert -1 <= low <= high <= 1
    assert set(one_shot["inherited"]) >= {"kendall_tau", "kendall_tau_ci", "top1", "top3"}
    assert "one_shot" not in rows["all-fusion"]  # nothing was searched
    assert "one-shot bilevel vs" in proc.stdout
    # another retrain budget is another ground truth: no rank column
    other = clearer(
        "compare",
        str(mini),
        "--profile",
        "smoke",
        "--out",
        str(tmp_path / "cmp2"),
        "--seeds",
        "1",
        "--set",
        "retrain.epochs=1",
        *lr,
    )
    assert other.returncode == 0 and "rank in ground truth" not in other.stdout


MINI = """
BASE = {base!r}
VARIANTS = {{"clearer": {{}}, "all-fusion": {{"search.strategy": {{"name": "fixed", "candidate": "fusion"}}}}}}
SEEDS = 2
"""


@pytest.mark.slow
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

    assert comparison_table(sharded) == comparison_table(whole)
    assert comparison_table(whole)["bsd68"][0]["seeds"] == 2


def test_shard_slices_cover_the_grid_once(tmp_path):
    jobs = list(range(7))
    parts = [shard(jobs, f"{i}/3") for i in range(3)]
    assert sorted(sum(parts, [])) == jobs
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


def row(variant: str, psnr: float, std: float, seeds: int = 3, **extra) -> dict:
    return {
        **dict(
            variant=variant,
            psnr=psnr,
            psnr_std=std,
            seeds=seeds,
            architecture="a",
            params=1,
            flops_per_pixel=1,
            search_s=0.0,
            retrain_s=0.0,
            ssim=0.5,
            ssim_std=0.0,
        ),
        **extra,
    }


def test_ties_are_differences_under_two_pooled_seed_std_and_one_seed_shows_no_std():
    rows = [row("a", 28.00, 0.05), row("b", 27.92, 0.05), row("c", 27.70, 0.05), row("d", 27.99, 0.0, seeds=1)]
    mark_ties(rows)
    by = {r["variant"]: r for r in rows}
    assert by["a"]["tie"] is None and by["b"]["tie"] is True and by["c"]["tie"] is False
    assert by["d"]["tie"] is None  # one seed: no spread, no verdict
    headers, body = cells(rows)
    line = dict(zip(headers, body[3]))
    assert line["PSNR"] == "27.99" and "±" not in line["SSIM"]  # not "± 0.00"
    assert dict(zip(headers, body[1]))["vs best"] == "-0.08 tie" and dict(zip(headers, body[0]))["vs best"] == "best"


def test_ground_truth_table_ranks_ties_percentiles_and_front():
    gt_rows = [
        row(n, p, 0.02, arch_hashes=[n], architectures=[{"x": n}], flops_per_pixel=f)
        for n, p, f in (("A", 28.3, 100), ("B", 28.28, 50), ("C", 28.0, 20), ("D", 27.9, 60))
    ]
    truth = ground_truth_table({"set": gt_rows}, "key")
    entries = {e["name"]: e for e in truth["sets"]["set"]}
    assert [e["name"] for e in truth["sets"]["set"]] == ["A", "B", "C", "D"]
    assert (entries["A"]["tie_low"], entries["A"]["tie_high"]) == (1, 2)  # A and B: 0.02 dB apart, tied
    assert (entries["C"]["rank"], entries["C"]["tie_low"], entries["C"]["tie_high"]) == (3, 3, 3)
    assert entries["A"]["percentile"] == 100.0 and entries["D"]["percentile"] == 0.0
    searched = [row("search", 28.1, 0.1, arch_hashes=["D", "B", "B"]), row("other-space", 28.1, 0.1, arch_hashes=["Z"])]
    add_ranks({"set": searched}, truth, {"search", "other-space"})
    assert searched[0]["rank"] == [4, 2, 2] and searched[0]["rank_of"] == 4
    assert searched[0]["rank_tied"] == ["4", "1–2", "1–2"]
    assert searched[0]["percentile"] == pytest.approx((0 + 66.7 + 66.7) / 3, abs=0.1)
    # D (60 FLOPs, 27.9 dB) lies 0.38 dB under the front (B: 28.28 dB at 50 FLOPs); B is on it
    assert searched[0]["below_front_db"] == pytest.approx(0.38 / 3, abs=1e-3)
    assert "rank" not in searched[1]  # its architecture is not in the ground truth


def test_seed_agreement_is_kendall_tau_of_the_two_seeds_orders():
    from clearer.compare.report import seed_agreement

    same = [dict(seed_psnr=[p, p + 0.01]) for p in (28.0, 28.1, 28.2)]
    assert "τ = 1.00" in seed_agreement(same)
    flipped = [dict(seed_psnr=[p, -p]) for p in (28.0, 28.1, 28.2)]
    assert "τ = -1.00" in seed_agreement(flipped) and seed_agreement(same[:2]) is None


def test_sweep_monotone_says_so_either_way():
    rows = [dict(variant=v, flops_per_pixel=f) for v, f in (("a", 100), ("b", 80), ("c", 80), ("d", 90))]
    assert "monotone (non-increasing)" in sweep_monotone(rows, ["a", "b", "c"])
    assert "NOT monotone" in sweep_monotone(rows, ["a", "b", "c", "d"])
    assert sweep_monotone(rows, ["a", "x"]) is None


def test_job_identity_ignores_search_settings_of_a_fixed_architecture_and_space_defaults():
    base = Recipe.from_dict({"search": {"strategy": {"name": "fixed", "candidate": "fusion"}}})
    retuned = Recipe.from_dict({"search": {"strategy": {"name": "fixed", "candidate": "fusion"}, "epochs": 3}})
    assert job_identity(base) == job_identity(retuned)
    explicit = Recipe.from_dict(
        {
            "search": {"strategy": {"name": "fixed", "candidate": "fusion"}},
            "space": {"name": "clearer", "residual": False},
        }
    )
    assert job_identity(explicit) == job_identity(base)  # residual=False is the space's default
    searched = Recipe.from_dict({})
    assert job_identity(searched) != job_identity(Recipe.from_dict({"search": {"epochs": 3}}))
    assert job_identity(base) != job_identity(
        Recipe.from_dict({"search": {"strategy": {"name": "fixed", "candidate": "parallel"}}})
    )


SIGMA = """
BASE = {base!r}
VARIANTS = {{"fusion": {{"search.strategy": {{"name": "fixed", "candidate": "fusion"}}}}}}
"""


@pytest.mark.slow
def test_runs_of_another_recipe_are_never_resumed_overwritten_or_reported(data_dir, tmp_path):
    """Regression: σ=50 runs were reported as σ=15, and a partial run's recipe.json was overwritten."""
    mini = tmp_path / "sigma.py"
    mini.write_text(SIGMA.format(base=str(RECIPES / "bsd.py")))
    out = tmp_path / "cmp"
    args = ["compare", str(mini), "--profile", "smoke", "--out", str(out)]
    assert clearer(*args, "--set", "data.degradation.sigma=50").returncode == 0
    run_dir = out / "fusion" / "seed0"
    table = (out / "comparison.json").read_text()
    report = clearer(*args, "--set", "data.degradation.sigma=15", "--report")
    assert report.returncode == 2 and "nothing to report" in report.stderr and "Traceback" not in report.stderr
    assert "different recipe" in report.stderr and (out / "comparison.json").read_text() == table
    (run_dir / "metrics.json").unlink()  # now a partial run of σ=50
    saved = (run_dir / "recipe.json").read_bytes()
    proc = clearer(*args, "--set", "data.degradation.sigma=15")
    assert proc.returncode == 2 and "different recipe" in proc.stderr and "Traceback" not in proc.stderr
    assert (run_dir / "recipe.json").read_bytes() == saved and not (run_dir / "metrics.json").exists()
    # without --out, other --set values get their own folder
    default = load_comparison(mini, "smoke", {}, None, None).out
    assert load_comparison(mini, "smoke", {"data.degradation.sigma": 15.0}, None, None).out != default


@pytest.mark.slow
def test_report_with_nothing_finished_fails_and_writes_nothing(data_dir, tmp_path):
    mini = tmp_path / "sigma.py"
    mini.write_text(SIGMA.format(base=str(RECIPES / "bsd.py")))
    out = tmp_path / "empty"
    proc = clearer("compare", str(mini), "--profile", "smoke", "--out", str(out), "--report")
    assert proc.returncode == 2 and "nothing to report" in proc.stderr
    assert not out.exists() or not any(out.iterdir())


def test_per_seed_changes_are_made_from_each_seed(tmp_path):
    comp = tmp_path / "c.py"
    comp.write_text(
        f"from clearer.compare import PerSeed\nBASE = {str(RECIPES / 'bsd.py')!r}\nSEEDS = 2\n"
        "VARIANT_SEEDS = {'b': 3}\n"
        "VARIANTS = {'a': {}, 'b': {'search.epochs': PerSeed(lambda seed: seed + 1)}}\n"
    )
    jobs = load_comparison(comp, "smoke", {}, None, tmp_path).jobs
    assert [(j.variant, j.seed) for j in jobs] == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("b", 2)]
    assert [j.recipe.search.epochs for j in jobs if j.variant == "b"] == [1, 2, 3]
    assert PerSeed


def test_alpha_figure_draws_every_candidate_of_every_choice_point(tmp_path):
    """DARTS collapse to `skip` is only visible when every candidate's curve is drawn."""
    pytest.importorskip("matplotlib")
    run = tmp_path / "v" / "seed0"
    run.mkdir(parents=True)
    candidates = {"node0/edge0": ["conv", "skip", "none"], "node0/edge1": ["conv", "skip", "none"]}
    (run / "arch.json").write_text(json.dumps({"candidates": candidates}))
    header = ["epoch"] + [f"{label}:{n}" for label, ns in candidates.items() for n in ns] + ["node0/edge0:snr"]
    lines = [",".join(header)] + [
        ",".join([str(e), "0.2", str(0.3 + 0.1 * e), str(0.5 - 0.1 * e)] * 1 + ["0.3", "0.4", "0.3", ""])
        for e in (1, 2, 3)
    ]
    (run / "alpha.csv").write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawn = []
    original = plt.Axes.plot

    def spy(ax, *args, **kwargs):
        drawn.append((ax.get_title(), kwargs.get("label")))
        return original(ax, *args, **kwargs)

    plt.Axes.plot = spy
    try:
        path = alpha_over_epochs(plt, {"v": run / "alpha.csv"}, tmp_path)
    finally:
        plt.Axes.plot = original
    assert path == tmp_path / "alpha_over_epochs.png" and path.stat().st_size > 1000
    assert sorted(drawn) == sorted((label, n) for label, ns in candidates.items() for n in ns)


def test_sr_ablations_and_ground_truth_resolve_on_the_sr_base(data_dir, tmp_path):
    """One switch (BASE = sr.py) runs every ablation variant on super-resolution: each resolves to a
    ×2 network on bicubic LR inputs, measured with the sr protocol; the ground truth covers the space."""
    from clearer.engine.build import build_space, check_recipe

    comparison = load_comparison(RECIPES / "sr_ablations.py", "compare", {}, None, tmp_path)
    assert list(dict.fromkeys(j.variant for j in comparison.jobs)) == VARIANTS and len(comparison.jobs) == 35
    for job in comparison.jobs[: len(VARIANTS)]:
        r = job.recipe
        assert r.data.degradation["name"] == "bicubic" and r.evaluate.protocol == "sr", job.variant
        check_recipe(r)
        assert build_space(r).scale == 2, job.variant  # DARTS too: the scale follows the degradation
    truth = load_comparison(RECIPES / "sr_ground_truth.py", "compare", {}, None, tmp_path / "truth")
    assert truth.ground_truth and len({j.variant for j in truth.jobs}) == 16
