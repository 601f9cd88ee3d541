"""Fit the synthetic rain model (`rain_streaks`) to real rain pairs: prints the measured streak statistics
and the fitted ranges, and writes a picture (real rainy | synthetic rainy, on the same clean image).

    CLEARER_DATA=/path/to/data python benchmarks/fit_rain.py                 # fit on Rain100L 001–010
    python benchmarks/fit_rain.py --split val --picture rain_fit.png         # all 20 pairs

What it does, per pair (rain-N, norain-N):
1. compositing rule: the residual rainy − clean is compared with the two blends `rain_streaks` offers.
   Under `add` (rainy = min(clean + R, 1), R grey) the residual is identical in the three channels
   wherever nothing clipped; under `screen` (rainy = 1 − (1 − clean)(1 − R)) it is R·(1 − clean), which
   differs between channels of a coloured background. The script prints both spreads.
2. the streak layer R = the residual's largest channel (the least clipped estimate) is cut at 4/255
   into streaks (8-connected components); each streak's length and width are its second moments
   along and across its main axis (as a box: √(12·variance) + 1), its angle the main axis (degrees
   from vertical, positive: falling to the right), its brightness its peak. Image statistics:
   mean R, the angle (median), the median length and width of elongated streaks, the 50th and 90th
   percentile of the streak peaks.
3. fit by simulated moments: the model is rendered at the pair's size with that angle, measured the
   same way, and length, width, brightness, density and variation are scaled by the ratio of the real
   to the synthetic statistic they drive most (median length, width, 90th percentile peak, number of
   streaks, and the 50th/90th peak ratio), for a few rounds; the mean of R is left as a check.
The fitted per-image values give the ranges printed last (angles made symmetric: wind blows either way).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch
import torch.nn.functional as F

from clearer.data.images import save_image
from clearer.data.paired import rain100l
from clearer.data.rain import rain_streaks

THRESHOLD = 4 / 255  # residual level that counts as rain (the clean frames are exact: no rain is 0)
MIN_PIXELS = 6  # smaller components are specks, not streaks
ROUNDS = 6
FITTED = ("density", "length", "width", "brightness", "variation", "angle")
STATS = ("streaks", "mean", "angle", "length", "width", "peak50", "peak90")
# streak shapes tried; the one whose fitted renderings match the real statistics best is kept
FORMS = [{"blur": blur, "taper": taper} for taper in (False, True) for blur in (False, True)]


def residual(rainy: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """[3,H,W] pair -> rainy − clean, [3,H,W]."""
    return rainy.double() - clean.double()


def blend_spreads(rainy: torch.Tensor, clean: torch.Tensor) -> tuple[float, float, float]:
    """Relative spread across channels of the streak layer as each blend would recover it, on rain
    pixels that did not clip, and the fraction of rain pixels that clipped.

    `add`: R = rainy − clean; `screen`: R = (rainy − clean)/(1 − clean). The true blend recovers the
    same R in every channel (white rain), so its spread is ~0.
    """
    d = residual(rainy, clean)
    rain = d.amax(0) >= THRESHOLD
    unclipped = rain & (rainy.amax(0) < 1.0)
    screen = d / (1.0 - clean.double()).clamp(min=1 / 255)

    def spread(r: torch.Tensor) -> float:
        r = r[:, unclipped]
        return float(((r.amax(0) - r.amin(0)) / r.mean(0)).mean())

    return spread(d), spread(screen), float(1 - unclipped.sum() / rain.sum().clamp(min=1))


def components(mask: torch.Tensor) -> torch.Tensor:
    """8-connected components of a [H,W] bool mask as labels (0 = background), by max-label propagation."""
    h, w = mask.shape
    m = mask.view(1, 1, h, w).float()
    labels = torch.arange(1, h * w + 1, dtype=torch.float32).view(1, 1, h, w) * m
    while True:
        grown = F.max_pool2d(labels, 3, 1, 1) * m
        if torch.equal(grown, labels):
            return labels.view(h, w).long()
        labels = grown


def streaks(layer: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-streak length, width (px, as a box), angle (degrees from vertical) and peak of a [H,W] layer."""
    labels = components(layer >= THRESHOLD).flatten()
    h, w = layer.shape
    ys, xs = (t.flatten().double() for t in torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij"))
    ids, index, counts = torch.unique(labels, return_inverse=True, return_counts=True)

    def mean(v: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(ids), dtype=torch.float64).index_add_(0, index, v) / counts

    mx, my = mean(xs), mean(ys)
    sxx, syy, sxy = mean(xs * xs) - mx**2, mean(ys * ys) - my**2, mean(xs * ys) - mx * my
    half, disc = (sxx + syy) / 2, torch.sqrt(((sxx - syy) / 2) ** 2 + sxy**2)
    peak = torch.zeros(len(ids), dtype=torch.float64).scatter_reduce_(0, index, layer.flatten().double(), "amax")
    # main axis at φ from the x axis; the streak direction (sin θ, cos θ) gives θ = 90° − φ
    phi = torch.rad2deg(0.5 * torch.atan2(2 * sxy, sxx - syy))
    keep = (ids > 0) & (counts >= MIN_PIXELS)
    return {
        "length": torch.sqrt(12 * (half + disc) + 1)[keep],
        "width": torch.sqrt(12 * (half - disc).clamp(min=0) + 1)[keep],
        "angle": ((90 - phi + 90) % 180 - 90)[keep],
        "peak": peak[keep],
    }


def statistics(layer: torch.Tensor) -> dict[str, float]:
    """The image statistics the fit matches (see the module docstring), of a [H,W] streak layer."""
    s = streaks(layer)
    long = s["length"] > 3 * s["width"]
    long = long if bool(long.any()) else torch.ones_like(long)
    q = torch.quantile(s["peak"], torch.tensor([0.5, 0.9], dtype=torch.float64))
    return {
        "mean": float(layer.mean()),
        "angle": float(s["angle"][long].median()),
        "length": float(s["length"][long].median()),
        "width": float(s["width"][long].median()),
        "peak50": float(q[0]),
        "peak90": float(q[1]),
        "streaks": len(s["peak"]),
    }


def render(params: dict[str, float], shape: tuple[int, int], seed: int) -> torch.Tensor:
    """The synthetic streak layer [H,W] for one set of parameters (and form: blur, taper)."""
    model = rain_streaks(**params)
    return model.streaks((1, 1, *shape), torch.Generator().manual_seed(seed))[0, 0].double()


def _clip(name: str, value: float) -> float:
    bounds = {
        "density": (1e-5, 0.2),
        "length": (2.0, 120.0),
        "width": (1.0, 8.0),
        "brightness": (0.02, 1.0),
        "variation": (0.0, 8.0),
    }
    low, high = bounds[name]
    return min(max(value, low), high)


def fit(
    real: dict[str, float], shape: tuple[int, int], seed: int, form: dict[str, bool]
) -> tuple[dict[str, float], dict[str, float]]:
    """Model parameters whose rendering has the real image's statistics; returns (params, their stats)."""
    params = {
        "density": 0.005,
        "length": real["length"],
        "width": 1.5,
        "brightness": min(1.0, 1.3 * real["peak90"]),
        "variation": 1.5,
        "angle": real["angle"],
        **form,
    }
    for _ in range(ROUNDS):
        syn = statistics(render(params, shape, seed))
        params["length"] = _clip("length", params["length"] * real["length"] / syn["length"])
        params["width"] = _clip("width", params["width"] * (real["width"] - 1) / max(syn["width"] - 1, 0.1))
        params["brightness"] = _clip("brightness", params["brightness"] * real["peak90"] / syn["peak90"])
        params["density"] = _clip("density", params["density"] * real["streaks"] / syn["streaks"])
        # a wider spread of streak intensities lowers the median peak relative to the top ones
        ratio = (real["peak50"] / real["peak90"]) / (syn["peak50"] / syn["peak90"])
        params["variation"] = _clip("variation", params["variation"] / ratio)
    return params, statistics(render(params, shape, seed))


def misfit(real: dict[str, float], syn: dict[str, float]) -> float:
    """Mean squared log-ratio of the synthetic to the real statistics (angles: degrees/10 apart)."""
    terms = [math.log(max(syn[k], 1e-9) / max(real[k], 1e-9)) ** 2 for k in STATS if k != "angle"]
    return (sum(terms) + ((syn["angle"] - real["angle"]) / 10) ** 2) / len(STATS)


def ranges(fitted: list[dict[str, float]]) -> dict[str, list[float]]:
    """Per-image fitted values -> the [low, high] ranges of the rain model.

    n pictures rarely show the extremes, so each range is widened by span/(n − 1) on both sides (the
    unbiased estimate of a uniform distribution's ends) and kept within the parameter's limits; the
    angle range is symmetric (wind blows either way), ±(n + 1)/n · the largest |angle|.
    """
    n = len(fitted)
    limits = {
        "density": (0.0, 1.0),
        "length": (1.0, 128.0),
        "width": (1.0, 16.0),
        "brightness": (0.0, 1.0),
        "variation": (0.0, 8.0),
    }

    def span(name: str, digits: int) -> list[float]:
        values = [f[name] for f in fitted]
        margin = (max(values) - min(values)) / max(n - 1, 1)
        low, high = limits[name]
        return [round(max(low, min(values) - margin), digits), round(min(high, max(values) + margin), digits)]

    widest = max(abs(f["angle"]) for f in fitted) * (n + 1) / n
    return {
        "density": span("density", 4),
        "length": span("length", 0),
        "width": span("width", 1),
        "brightness": span("brightness", 2),
        "variation": span("variation", 1),
        "angle": [-math.ceil(widest), math.ceil(widest)],
    }


def picture(
    pairs: list[tuple[torch.Tensor, torch.Tensor]], fitted: list[dict[str, float]], rows: list[int], path: Path
) -> None:
    """Rows of real rainy | synthetic rainy (fitted parameters of that pair, same clean image, add blend)."""
    strips = []
    for i in rows:
        rainy, clean = pairs[i]
        synthetic = (clean + render(fitted[i], tuple(clean.shape[-2:]), seed=i).float()).clamp(max=1.0)
        if rainy.shape[-2] > rainy.shape[-1]:  # portrait pairs are turned, so every row has one width
            rainy, synthetic = (torch.rot90(t, 1, (-2, -1)) for t in (rainy, synthetic))
        strips.append(torch.cat([rainy, torch.ones(3, rainy.shape[-2], 8), synthetic], dim=-1))
    width = max(s.shape[-1] for s in strips)
    strips = [F.pad(s, (0, width - s.shape[-1]), value=1.0) for s in strips]
    gaps = [torch.ones(3, 8, width)] * len(strips)
    save_image(path, torch.cat([t for pair in zip(strips, gaps) for t in pair][:-1], dim=-2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="tune", help="rain100l split to fit on: tune (001–010), heldout, val")
    parser.add_argument("--picture", type=Path, default=Path("rain_fit.png"), help="where to write the picture")
    parser.add_argument("--rows", default="0,4", help="which pairs of the split the picture shows (indices)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    dataset = rain100l(args.split)
    pairs = dataset.load(3)
    print(
        f"Rain100L {args.split}: {len(pairs)} pairs; threshold {THRESHOLD * 255:.0f}/255, streaks of >= {MIN_PIXELS} px"
    )
    print("\ncompositing: relative spread across channels of the recovered streak layer (0 = grey rain)")
    print(f"{'pair':>10} {'add':>7} {'screen':>7} {'clipped':>8}")
    for (rainy, clean), name in zip(pairs, dataset.inputs):
        add, screen, clipped = blend_spreads(rainy, clean)
        print(f"{name.stem:>10} {add:7.4f} {screen:7.4f} {clipped:8.2%}")
    reals = [statistics(residual(rainy, clean).amax(0).clamp(min=0)) for rainy, clean in pairs]
    shapes = [tuple(clean.shape[-2:]) for _, clean in pairs]
    print("\nstreak forms: mean squared log-ratio synthetic/real over all statistics (lower fits better)")
    best = None
    for form in FORMS:
        fits = [fit(real, shape, i, form) for i, (real, shape) in enumerate(zip(reals, shapes))]
        error = sum(misfit(real, syn) for real, (_, syn) in zip(reals, fits)) / len(fits)
        print(f"  blur={form['blur']!s:5} taper={form['taper']!s:5}  {error:.4f}")
        if best is None or error < best[0]:
            best = (error, form, fits)
    _, form, fits = best
    fitted = [params for params, _ in fits]
    print(
        f"\nstreak statistics with blur={form['blur']}, taper={form['taper']}: real | synthetic with the "
        "fitted parameters (mean and peaks on 0-255)"
    )
    print(f"{'pair':>10} " + " ".join(f"{k:>8}" for k in STATS))
    scale = {"mean": 255, "peak50": 255, "peak90": 255}
    for name, real, (_, syn) in zip(dataset.inputs, reals, fits):
        for label, stats in ((name.stem, real), ("  fitted", syn)):
            print(f"{label:>10} " + " ".join(f"{stats[k] * scale.get(k, 1):8.2f}" for k in STATS))
    print("\nfitted parameters per pair")
    print(f"{'pair':>10} " + " ".join(f"{k:>10}" for k in FITTED))
    for name, params in zip(dataset.inputs, fitted):
        print(f"{name.stem:>10} " + " ".join(f"{params[k]:10.4f}" for k in FITTED))
    print(f"\nfitted ranges (blend=add, blur={form['blur']}, taper={form['taper']}):")
    print("  " + ", ".join(f"{k}={v}" for k, v in ranges(fitted).items()))
    picture(pairs, fitted, [int(r) for r in args.rows.split(",")], args.picture)
    print(f"\npicture (real rainy | synthetic rainy, same clean image): {args.picture}")


if __name__ == "__main__":
    main()
