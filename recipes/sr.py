"""Single-image super-resolution (×2, ×3, ×4) with the CLEARER space, measured as SR papers measure it.

    clearer run recipes/sr.py --profile quick            # ×2 within 20 minutes on 2 CPU cores
    clearer run recipes/sr.py --profile quick-x4         # ×3 / ×4: every profile has -x3 and -x4 forms

The low-resolution inputs are made by MATLAB's bicubic `imresize` (data/bicubic.py; it reproduces the
benchmarks' LR files pixel for pixel), the network gets the LR image and returns one `scale` times larger,
predicting what the bicubic upscaling misses (`space.residual`). Where it runs is the space's `upsample`
option: "post" (default: at low resolution, sub-pixel output) or "pre" (at high resolution on the bicubic
upscaling, as VDSR); docs/super-resolution.md has the measurement behind the default.

Data: weights learn on BSDS500 train and α on BSDS500 test; the test sets are Set5 and Set14 with their
own LR files and BSD100 (= BSDS500 val, LR made by the same bicubic), so no evaluation image is ever
trained or searched on. Protocol `sr`: HR cropped to a multiple of the scale, PSNR/SSIM on the BT.601 Y
channel of the 8-bit output with `scale` pixels shaved from each border; the bicubic upscaling of each LR
input is scored beside it (`input_psnr`, the bicubic baseline row).

The scale lives in the degradation (`data.degradation.scale`), which also sizes the network; the test
sets' LR files and the patch size must follow it, which `at_scale` (and the -x3/-x4 profiles) do.
"""

from clearer.recipe import derive

from bsd import PROFILES as BSD_PROFILES
from bsd import RECIPE as BSD

SCALE = 2
LR_PATCH = 48  # training crops are LR_PATCH x scale pixels, so the network sees the same LR size at every scale


def at_scale(scale: int) -> dict:
    """The overrides that set the scale everywhere it appears: degradation, patch size, test sets."""
    return {
        "data.degradation": dict(name="bicubic", scale=scale),
        "data.patch": LR_PATCH * scale,
        "evaluate.sets": [dict(name="set5", scale=scale), dict(name="set14", scale=scale), dict(name="bsd100")],
    }


RECIPE = derive(
    BSD,
    {
        "name": "sr",
        # bsd.py's space (the paper's size), residual over the bicubic upscaling, PyTorch init (not the
        # denoising code's N(0, 1e-3) and bottleneck stem, made for noisy images at full resolution)
        "space.residual": True,
        "space.official": False,
        "space.upsample": "post",
        "data.channels": 3,
        "data.train": dict(name="bsds500", split="train"),
        "data.alpha": dict(name="bsds500", split="test"),  # val is BSD100, a test set
        "data.batch": 16,
        **at_scale(SCALE),
        # L1, as EDSR and most SR networks train (it gave them higher PSNR than L2)
        "search.loss": "l1",
        "search.arch_losses": {"binary_entropy": 4.34e-3},
        "retrain.loss": "l1",
        "retrain.lr": 2e-4,
        "retrain.min_lr": 1e-6,
        "evaluate.protocol": "sr",
    },
)

_ADAM = {
    "search.strategy.weights.optimizer": "adam",
    "search.strategy.weights.lr": 1e-3,
    "search.strategy.weights.min_lr": 1e-4,
}

# The whole run within 20 minutes on 2 CPU cores (docs/super-resolution.md has the measured phases):
# bsd.py's quick space (3 cells x 2 columns, width 32) at low resolution.
QUICK = {
    **_ADAM,
    "space.width": 32,
    "space.cells": 3,
    "space.columns": 2,
    "data.batch": 16,
    "search.epochs": 8,
    "search.steps_per_epoch": 25,
    "search.strategy.warmup_epochs": 2,
    "retrain.epochs": 24,
    "retrain.steps_per_epoch": 100,
    "retrain.lr": 1e-3,
    "retrain.min_lr": 1e-5,
    "evaluate.samples": 2,
}

# For comparisons of variants x seeds (recipes/ablations.py with BASE = "sr.py"; recipes/ground_truth.py
# likewise): minutes per run, 2 cells x 2 columns = 16 architectures, Set5 and the first 5 Set14 images.
COMPARE = {
    **_ADAM,
    "space.width": 16,
    "space.cells": 2,
    "space.columns": 2,
    "space.stem_blocks": 2,
    "data.batch": 16,
    "data.patch": 32 * SCALE,
    "search.epochs": 5,
    "search.steps_per_epoch": 16,
    "search.strategy.warmup_epochs": 2,
    "retrain.epochs": 2,
    "retrain.steps_per_epoch": 100,
    "retrain.lr": 1e-3,
    "retrain.min_lr": 1e-5,
    "retrain.val_images": 2,
    "evaluate.sets": [dict(name="set5", scale=SCALE), dict(name="set14", scale=SCALE, limit=5)],
    "evaluate.samples": 1,
}

SMOKE = {
    **{k: v for k, v in BSD_PROFILES["smoke"].items() if not k.startswith(("evaluate.", "space.official"))},
    "data.patch": 16 * SCALE,
    "retrain.val_images": 1,
    "evaluate.sets": [dict(name="set5", scale=SCALE, limit=1), dict(name="bsd100", limit=1)],
    "evaluate.samples": 1,
}


def _scaled(profile: dict, scale: int) -> dict:
    """A ×2 profile at another scale: degradation, patch and test sets follow `scale`."""
    out = {**profile, "data.degradation": dict(name="bicubic", scale=scale)}
    out["data.patch"] = profile.get("data.patch", LR_PATCH * SCALE) // SCALE * scale
    sets = profile.get("evaluate.sets", at_scale(SCALE)["evaluate.sets"])
    out["evaluate.sets"] = [{**ref, "scale": scale} if "scale" in ref else ref for ref in sets]
    return out


_BASE = {
    # the paper's budget (bsd.py's base: 200 search epochs x 50 steps, 1000 x 100 retrain steps)
    "paper": {},
    "quick": QUICK,
    "compare": COMPARE,
    "smoke": SMOKE,
}
PROFILES = {
    **_BASE,
    **{f"{name}-x{s}": _scaled(profile, s) for name, profile in _BASE.items() for s in (3, 4)},
}
