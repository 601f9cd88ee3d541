"""Single-image deraining with the CLEARER space: colour in, colour out.

No paired training data is assumed: rain is synthesised (`rain_streaks`) on BSDS500 *test* images,
because public rain test sets reuse BSDS500 train/val images as backgrounds. Weights learn on the
first 150 test images, α on the other 50, and the model is evaluated on real pairs: by default the 10
RainTrainL sample pairs (`--set "evaluate.sets=[dict(name='rain_pairs', path='/my/rain')]"` for yours),
with PSNR/SSIM on RGB and on the BT.601 Y channel.

With paired training data, name it instead of the synthetic rain (the degradation is then unused):
`--set "data.train=dict(name='paired_folder', path='/my/train')" --set "data.arch=dict(...)"`.
"""
from bsd import PROFILES as BSD_PROFILES
from bsd import RECIPE as BSD
from clearer.recipe import derive

# Faint, sparse, long, thin streaks, some images nearly dry, plus a little sensor noise: brighter, shorter or
# denser rain, or a grey veil, teaches the network to erase bright thin structures (poles, gravel, white
# walls) and to darken dark scenes, which costs more on real photographs than the rain it removes (see
# recipes/rain_models.py and its table in the README).
RAIN = dict(name="rain_streaks", density=[0.0, 0.005], length=[20, 60], angle=[-30, 30], width=[1, 1.5],
            brightness=[0.05, 0.4], noise=[0.0, 0.03])
PAIRS = dict(name="rain_pairs", path="RainTrainL-sample")

RECIPE = derive(BSD, {
    "name": "rain",
    "space.residual": True,
    "data.channels": 3,
    "data.train": dict(name="bsds500", split="test", limit=150),
    "data.arch": dict(name="bsds500", split="test", skip=150),
    "data.degradation": RAIN,
    "evaluate.sets": [PAIRS],
})

# Same budgets as the denoising profiles; only the test sets differ.
PROFILES = {
    "paper": {},
    "quick": {**BSD_PROFILES["quick"], "evaluate.sets": [PAIRS]},
    # A quarter of the quick budget, for comparisons (recipes/rain_models.py).
    "compare": {**{k: v for k, v in BSD_PROFILES["compare"].items() if not k.startswith("data.degradation")},
                "evaluate.sets": [PAIRS]},
    "smoke": {**BSD_PROFILES["smoke"], "data.train.limit": 6, "data.arch.limit": 3,
              "evaluate.sets": [dict(PAIRS, limit=3)]},
}
