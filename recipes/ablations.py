"""Ablations of CLEARER on BSDS500 denoising, all on the same data, retrain budget and seeds.

    clearer compare recipes/ablations.py --profile compare      # about 45 min on 2 CPU cores
    clearer compare recipes/ablations.py --profile smoke        # seconds, for tests

Each variant is the base recipe (with the chosen profile) plus the changes below.
"""

BASE = "bsd.py"
SEEDS = 1


def VARIANTS(profile):
    small = profile == "smoke"
    darts = dict(name="darts_cells", width=8 if small else 24, cells=2 if small else 3,
                 nodes=2, residual=True)
    return {
        "clearer": {},
        "no-binary-entropy": {"search.arch_losses": {"expected_cost": 1e-3}},
        "no-expected-cost": {"search.arch_losses": {"binary_entropy": 1e-3}},
        "lambda2=1e-4": {"search.arch_losses.expected_cost": 1e-4},
        "lambda2=1e-2": {"search.arch_losses.expected_cost": 1e-2},
        "lambda2=1e-1": {"search.arch_losses.expected_cost": 1e-1},
        "all-parallel": {"search.strategy": {"name": "fixed", "candidate": "parallel"}},
        "all-fusion": {"search.strategy": {"name": "fixed", "candidate": "fusion"}},
        "random-arch": {"search.strategy": {"name": "fixed", "seed": 1}},
        "darts-bilevel": {"space": darts},
        "clearer-gumbel": {"search.strategy.name": "gumbel"},
    }
