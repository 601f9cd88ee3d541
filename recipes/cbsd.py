"""Colour denoising on CBSD68 with the CLEARER space: RGB in, RGB out, scored as colour denoisers are.

CBSD68 (`cbsd68`) is the colour originals of BSD68: 68 of the 100 BSDS500 val photos. Weights learn on
BSDS500 train (none of them), α on the 32 BSDS500 val photos that are not in CBSD68 (`exclude="bsd68"`
names the same 68 pictures). Noise and measurement follow the colour denoising papers (CDnCNN, FFDNet):
float Gaussian noise of one σ on every channel, unclipped; PSNR over all three RGB channels and MATLAB
SSIM (mean over channels) of the output rounded to 8 bits, no crop: the `standard` protocol, as the grey
`quick` profile of bsd.py. The noisy inputs' scores (the floor) are stored beside every result.

σ = 25 unless set: `--set data.degradation.sigma=15` (or 50), as the papers report 15/25/50.

A recipe derived from bsd.py rather than a profile of it: colour changes data, channels, noise and the
test set in every profile (paper, quick, compare, smoke), so as profiles of bsd.py it would double
that file's profile list; deriving keeps one network and budget definition, bsd.py's, for both.
Profiles: `paper` the paper's network and budget (bsd.py's base); `quick` (default on CPU) bsd.py's
quick network and budget; `compare` bsd.py's compare profile on the first 24 CBSD68 images; `smoke`
seconds.
"""

from clearer.recipe import derive

from bsd import PROFILES as BSD_PROFILES
from bsd import RECIPE as BSD

CBSD68 = "cbsd68"

RECIPE = derive(
    BSD,
    {
        "name": "cbsd",
        "data.channels": 3,
        "data.train": dict(name="bsds500", split="train"),
        # BSD68's 68 pictures are CBSD68's: α never sees a test picture
        "data.alpha": dict(name="bsds500", split="val", exclude="bsd68"),
        "data.degradation": dict(name="gaussian", sigma=25.0),
        "evaluate.sets": [CBSD68],
        "evaluate.protocol": "standard",
    },
)


def _colour(profile: dict, sets: list) -> dict:
    """A bsd.py profile with its noise and test sets replaced by this recipe's (σ stays settable)."""
    kept = {k: v for k, v in profile.items() if not k.startswith(("data.degradation", "evaluate.sets"))}
    return {**kept, "evaluate.sets": sets}


PROFILES = {
    "paper": {},
    "quick": _colour(BSD_PROFILES["quick"], [CBSD68]),
    "compare": _colour(BSD_PROFILES["compare"], [dict(name=CBSD68, limit=24)]),
    "smoke": _colour(BSD_PROFILES["smoke"], [dict(name=CBSD68, limit=2)]),
}
