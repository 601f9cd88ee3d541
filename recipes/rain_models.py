"""Which synthetic rain teaches a derainer that helps on real rain? Same network, data and budget;
only the rain model differs. Evaluated on the real RainTrainL sample pairs (recipes/rain.py).

    clearer compare recipes/rain_models.py --profile compare     # about 20 min on 2 CPU cores
    clearer compare recipes/rain_models.py --profile smoke       # seconds, for tests

The architecture is fixed (all fusion) and the search skipped, so the table measures the rain model
alone. `default` is the rain recipe's own model; the others change one thing or a few.
"""
from rain import RAIN

BASE = "rain.py"
SEEDS = 1
FIXED = {"search.strategy": {"name": "fixed", "candidate": "fusion"}, "search.epochs": 1,
         "search.steps_per_epoch": 1}
BRIGHT = dict(RAIN, density=[0.002, 0.01], length=[10, 40], angle=[-25, 25], width=[1, 2], brightness=[0.4, 0.9],
              noise=0.0)

MODELS = {
    "default": RAIN,
    "bright-short": BRIGHT,
    "bright-short+veil": dict(BRIGHT, haze=[0.0, 0.25], airlight=[0.6, 1.0]),
    "faint-short": dict(RAIN, density=[0.0, 0.01], length=[2, 40], angle=[-25, 25], width=[1, 2],
                        brightness=[0.05, 0.5]),
    "default+veil": dict(RAIN, haze=[0.0, 0.15], airlight=[0.6, 1.0]),
    "default-steep": dict(RAIN, angle=[-15, 15]),
    "default-no-noise": dict(RAIN, noise=0.0),
    "noise-only": dict(RAIN, density=0.0),
}
VARIANTS = {name: {**FIXED, "data.degradation": model} for name, model in MODELS.items()}
