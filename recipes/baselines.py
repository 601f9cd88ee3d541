"""Searched CLEARER against hand-designed denoisers, on the same data, retrain budget and evaluation.

    clearer compare recipes/baselines.py --profile compare   # 3 seeds per row
    clearer compare recipes/baselines.py --profile quick --set data.degradation.sigma=25   # 1 seed
    clearer compare recipes/baselines.py --profile smoke     # 1 seed, seconds, for tests

Rows: CLEARER searched (bilevel), its space's all-parallel and all-fusion networks, DnCNN and the IRCNN
denoiser (recipes/hand_designed.py registers both), each at its native size and, with the suffix
`@searched`, rescaled by `retrain.match_cost` to the FLOPs per pixel of the network the search derives
at that profile (TARGET_FLOPS). So each hand-designed network is compared twice: as published, and
at the searched network's cost, where only its topology differs.
"""

BASE = "hand_designed.py"


def SEEDS(profile):
    return 3 if profile == "compare" else 1


# FLOPs/px of the network bilevel derives at each profile (the derived architectures are in the
# comparison's table): all parallel at compare and at quick (one thread per process), so
# clearer-all-parallel@searched would be clearer-all-parallel itself and is left out. Smoke: a target
# every row reaches within ±5 % at its tiny widths.
TARGET_FLOPS = {"compare": 116160, "quick": 767872, "smoke": 14000}


def VARIANTS(profile):
    fixed = lambda candidate: {"search.strategy": {"name": "fixed", "candidate": candidate}}  # noqa: E731
    plain = {"search.strategy": {"name": "fixed", "architecture": {}}}  # no choice points
    native = {
        "clearer-all-parallel": fixed("parallel"),
        "clearer-all-fusion": fixed("fusion"),
        "dncnn": {"space": {"name": "dncnn", "width": 64, "depth": 17}, **plain},
        "ircnn": {"space": {"name": "ircnn", "width": 64}, **plain},
    }
    target = TARGET_FLOPS.get(profile)
    matched = {
        f"{name}@searched": {**changes, "retrain.match_cost": {"flops": target}}
        for name, changes in native.items()
        if target is not None and name != "clearer-all-parallel"
    }
    # DnCNN with the paper's He initialisation instead of the identity start every other row has: does the
    # start decide its result at a short budget? (compare budget only: the quick budget is 25 min a run)
    init = {} if profile == "quick" else {"dncnn-he": {**native["dncnn"], "space.identity_start": False}}
    return {"clearer-searched": {}, **native, **matched, **init}
