"""Ablations of CLEARER on BSDS500 denoising, all on the same data, retrain budget and seeds.

    clearer compare recipes/ablations.py --profile compare      # ~45 min on 2 CPU cores
    clearer compare recipes/ablations.py --profile smoke        # seconds, for tests

Each variant is the base recipe (with the chosen profile) plus the changes below.
"""

BASE = "bsd.py"
SEEDS = 1


def VARIANTS(profile):
    small = profile == "smoke"
    darts = dict(name="darts_cells", width=8 if small else 16, cells=2 if small else 3,
                 nodes=2 if small else 3, residual=True)
    return {
        "clearer": {},
        "no-binary-entropy": {"search.arch_losses": {"expected_cost": 0.01}},
        "no-expected-cost": {"search.arch_losses": {"binary_entropy": 0.01}},
        "lambda2=0.001": {"search.arch_losses.expected_cost": 0.001},
        "lambda2=0.1": {"search.arch_losses.expected_cost": 0.1},
        "lambda2=1": {"search.arch_losses.expected_cost": 1.0},
        "all-parallel": {"search.strategy": {"name": "fixed", "candidate": "parallel"}},
        "all-fusion": {"search.strategy": {"name": "fixed", "candidate": "fusion"}},
        "random-arch": {"search.strategy": {"name": "fixed", "seed": 1}},
        "darts-bilevel": {"space": darts},
        "clearer-gumbel": {"search.strategy.name": "gumbel"},
    }
