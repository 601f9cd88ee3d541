"""Ablations of CLEARER on BSDS500 denoising, all on the same data, retrain budget and seeds.

    clearer compare recipes/ablations.py --profile compare      # 35 runs; split with --shard I/N
    clearer compare recipes/ablations.py --profile smoke        # seconds, for tests
    clearer compare recipes/sr_ablations.py --profile compare   # the same variants on super-resolution (×2)

Each variant is the base recipe (with the chosen profile) plus the changes below; 3 seeds each, and 5
for `random-arch` (a different random architecture per seed). With recipes/ground_truth.py run at the
same profile in a sibling folder, the table shows where each seed's derived architecture ranks among
all architectures of the space.

- `bilevel`: CLEARER as the base recipe searches (first-order, binary entropy, no cost term).
- `no-binary-entropy`: without the binarisation loss (see the gap and α-entropy columns).
- `lambda2=...`: the FLOPs cost term λ2·E[FLOPs] at rising λ2; with `bilevel` (λ2 = 0) the sweep whose
  derived architectures should move down in FLOPs along the ground truth's front (front-<set>.png).
- `gumbel`, `random-search`: the other strategies on the same space and budget.
- `random-arch`: no search, a random architecture of the space (a different one per seed).
- `darts-bilevel`: the DARTS cell space (4 nodes, α shared by its normal cells, DARTS' 7 ops) searched
  with the same strategy. Width 16 and 2 cells put its derived networks within 2x of the CLEARER
  networks' FLOPs (sep-conv cells 30 k, conv cells 78 k FLOPs/px against 44-116 k); its parameters are
  3-8x fewer. Its supernet step costs about 15x CLEARER's on a CPU, so it searches on batches of 4
  for 8 steps per epoch (retraining is the same as every other variant's).
"""

from pathlib import Path

from clearer.compare import PerSeed, random_architectures
from clearer.recipe import load_recipe

BASE = "bsd.py"
SEEDS = 3
VARIANT_SEEDS = {"random-arch": 5}
LAMBDA2 = [1e-4, 2e-4, 3e-4, 4e-4, 5e-4]
SWEEP = ["bilevel"] + [f"lambda2={v:g}" for v in LAMBDA2]


def VARIANTS(profile):
    return variants(BASE, profile)


def variants(base_file, profile):
    """The variants on any base recipe (bsd.py here, sr.py in sr_ablations.py)."""
    base = Path(__file__).with_name(base_file)
    resolved = load_recipe(base).resolve(profile)
    losses = dict(resolved.search.arch_losses)
    small = profile == "smoke"
    archs = random_architectures(base, profile, VARIANT_SEEDS["random-arch"], seed=1)
    weights = resolved.to_dict()["search"]["strategy"]["weights"]  # random search trains weights the same way
    darts = dict(name="darts_cells", width=8 if small else 16, cells=2, nodes=2 if small else 4, residual=True)
    return {
        "bilevel": {},
        "no-binary-entropy": {"search.arch_losses": {k: v for k, v in losses.items() if k != "binary_entropy"}},
        **{
            f"lambda2={v:g}": {"search.arch_losses": {**losses, "expected_cost": v}, "search.cost": "flops"}
            for v in LAMBDA2
        },
        "gumbel": {"search.strategy.name": "gumbel"},
        "random-search": {
            "search.strategy": PerSeed(lambda seed: {"name": "random", "samples": 8, "seed": seed, "weights": weights})
        },
        "random-arch": {
            "search.strategy": PerSeed(lambda seed: {"name": "fixed", "architecture": archs[seed % len(archs)]})
        },
        "darts-bilevel": {
            "space": darts,
            "data.batch": 4,
            "retrain.batch": resolved.data.batch,
            "search.steps_per_epoch": max(1, resolved.search.steps_per_epoch // 2),
        },
    }
