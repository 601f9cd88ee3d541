"""Which synthetic rain teaches a derainer that helps on real rain? Same network, data and budget;
only the rain model differs. Scored on Rain100L 001–010 (the tuning half; recipes/rain.py `compare`).

    clearer compare recipes/rain_models.py --profile compare     # 500 training steps per model
    clearer compare recipes/rain_models.py --profile smoke       # seconds, for tests

The architecture is fixed (all fusion) and the search skipped, so the table measures the rain model
alone. `fitted` is the rain recipe's own model (benchmarks/fit_rain.py); the others undo one of the
fitted choices (screen instead of add, equal instead of faint-and-bright streaks, soft tapered
instead of sharp box streaks, near-vertical rain), `before-fit` is the faint screen-blended model the recipe
used before it was fitted to Rain100L, and `beyond-fit` what the recipe trains on now: the fitted rain with
a share drawn from wider ranges, over thin bright lines, grids, fences and text, a quarter of the crops without rain.
"""

from rain import RAIN, TRAIN_RAIN

BASE = "rain.py"
SEEDS = 1
FIXED = {"search.strategy": {"name": "fixed", "candidate": "fusion"}, "search.epochs": 1, "search.steps_per_epoch": 1}

MODELS = {
    "fitted": RAIN,
    "beyond-fit": TRAIN_RAIN,
    "screen-blend": dict(RAIN, blend="screen"),
    "equal-streaks": dict(RAIN, variation=0.0),
    "soft-tapered": dict(RAIN, blur=True, taper=True),
    "steep-5deg": dict(RAIN, angle=[-5, 5]),
    "before-fit": dict(
        name="rain_streaks",
        density=[0.0, 0.005],
        length=[20, 60],
        angle=[-30, 30],
        width=[1, 1.5],
        brightness=[0.05, 0.4],
        noise=[0.0, 0.03],
    ),
}
VARIANTS = {name: {**FIXED, "data.degradation": model} for name, model in MODELS.items()}
