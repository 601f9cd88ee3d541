"""Synthetic rain streaks added to clean batches on the fly (a registered degradation, `rain_streaks`).

The model, per image (all images of a batch at once, as tensor ops):
1. seeds: each pixel of a canvas slightly larger than the image is a streak seed with probability
   `density` (so `density` is the fraction of pixels that start a streak). With `variation` v > 0 each
   seed gets its own intensity u^v (u uniform in [0,1]): v = 1 spreads intensities evenly, larger v
   makes most streaks faint and a few bright (far and near drops in one picture, as in Rain100L);
2. motion blur: the seed map is convolved (one grouped convolution, one kernel per image) with an
   anti-aliased line kernel of the image's `length` (px), `width` (px) and `angle` (degrees from
   vertical). The kernel's peak is 1, so a lone streak has intensity 1 along its line, and its sum is
   about length·width (`taper=True`: the intensity falls linearly from the centre to both ends, as a
   drop blurred during an exposure, and the sum halves); with `blur=True` the kernel is also softened
   by a 3×3 Gaussian (σ = 0.7 px), which keeps its sum;
3. the overlapping streaks add up, are clipped to 1 and scaled by `brightness` -> the streak layer R
   in [0,1];
4. compositing, the same R for every colour channel (white rain): `blend="screen"`
   `rainy = 1 - (1 - clean)(1 - R)` stays in [0,1] without clipping and brightens dark areas more
   than bright ones; `blend="add"` `rainy = min(clean + R, 1)` is how Rain100L/RainTrainL were
   rendered (their residual rainy − clean is the same in all three channels and does not shrink over
   bright backgrounds until it clips; benchmarks/fit_rain.py measures it).
5. optional rain veil (`haze` > 0): distant rain scatters light, so the picture is mixed with a grey
   airlight, `(1 − haze)·rainy + haze·airlight` — the atmospheric term of the heavy-rain model used to
   synthesise Rain100H (Yang et al., CVPR 2017);
6. optional sensor noise (`noise` > 0): Gaussian, σ on the [0,1] scale, then clipped to [0,1] —
   real rain is shot in dim light, and a derainer that has never seen noise mistakes it for drizzle.

Rain beyond a fit: ranges fitted to a few pictures are a centre, not a border. With `wider` (a range
per parameter that holds the fitted one) each streak layer of an image draws all its parameters from
the wider ranges with probability `wider_share`, else from the fitted ones; and `layers` [low, high]
stacks that many independent streak layers per image (each its own angle, width, ...), summed before
clipping, as near and far rain in different winds. A derainer trained so still sees mostly the fitted
rain, plus steep, wide, bright, long and dense streaks and their combinations.

Angle convention: 0 is vertical; a positive angle leans the streaks so they run from top-left to
bottom-right (rain blown by a wind from the left), a negative one from top-right to bottom-left.

The canvas is larger than the image by the kernel radius on every side and convolved without
padding, so streaks enter across the borders and the rain statistics are the same everywhere.
Mean streak-layer intensity ≈ `expected_mean(...)` = brightness·(1 − exp(−density·length·width)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from einops import rearrange

from ..errors import ClearerError
from ..registry import DEGRADATIONS
from .degradations import generator_device

# (name, lowest, highest, unit) of every numeric parameter, in the order they are drawn per image
PARAMS = (
    ("density", 0.0, 1.0, "fraction of pixels that seed a streak"),
    ("length", 1.0, 128.0, "pixels"),
    ("angle", -90.0, 90.0, "degrees from vertical"),
    ("width", 1.0, 16.0, "pixels"),
    ("brightness", 0.0, 1.0, "streak intensity on the [0,1] scale"),
    ("haze", 0.0, 1.0, "weight of the grey rain veil, 0 = none"),
    ("airlight", 0.0, 1.0, "grey level of the veil on the [0,1] scale"),
    ("noise", 0.0, 0.5, "Gaussian noise σ on the [0,1] scale"),
    ("variation", 0.0, 8.0, "per-streak intensity u^variation: 0 = all equal, 1 = uniform, more = mostly faint"),
)
BLENDS = ("screen", "add")
MAX_LAYERS = 4
SOFTEN_SIGMA = 0.7


def _check_value(name: str, value: object, low: float, high: float, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise ClearerError(f"rain_streaks {name} must be a number ({unit}) or a [low, high] range, got {value!r}")
    if not low <= float(value) <= high:
        raise ClearerError(f"rain_streaks {name}={value!r} is outside {low:g}..{high:g} ({unit}).")
    return float(value)


def parse_range(name: str, value: object) -> tuple[float, float]:
    """A parameter (one value or a [low, high] range) -> validated (low, high)."""
    _, lo, hi, unit = next(p for p in PARAMS if p[0] == name)
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ClearerError(
                f"rain_streaks {name} range must be [low, high] (two numbers, {unit}), got {list(value)!r}"
            )
        low, high = (_check_value(name, v, lo, hi, unit) for v in value)
        if low > high:
            raise ClearerError(
                f"rain_streaks {name} range [{low:g}, {high:g}] has low > high; write it as [{high:g}, {low:g}]."
            )
        return low, high
    v = _check_value(name, value, lo, hi, unit)
    return v, v


def parse_wider(wider: object, fitted: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """{parameter: [low, high]} wider ranges -> validated; each must hold the fitted range (its centre)."""
    if not isinstance(wider, dict):
        raise ClearerError(f"rain_streaks wider must be a dict of [low, high] ranges by parameter, got {wider!r}")
    names = [name for name, *_ in PARAMS]
    out = {}
    for name, value in wider.items():
        if name not in names:
            raise ClearerError(f"rain_streaks wider names {name!r}, not a parameter; use one of {', '.join(names)}.")
        low, high = parse_range(name, value)
        if not low <= fitted[name][0] <= fitted[name][1] <= high:
            raise ClearerError(
                f"rain_streaks wider {name}=[{low:g}, {high:g}] must hold the fitted {name} range "
                f"[{fitted[name][0]:g}, {fitted[name][1]:g}]: the wider family extends the fit, it does not move it."
            )
        out[name] = (low, high)
    return out


def parse_layers(value: object) -> tuple[int, int]:
    """How many streak layers per image: one integer or an integer [low, high] range in 1..MAX_LAYERS."""
    pair = value if isinstance(value, (list, tuple)) else [value, value]
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise ClearerError(f"rain_streaks layers must be an integer or an integer [low, high] range, got {value!r}")
    low, high = pair
    if not 1 <= low <= high <= MAX_LAYERS:
        raise ClearerError(f"rain_streaks layers={value!r} must lie in 1..{MAX_LAYERS} with low <= high.")
    return low, high


def expected_mean(density: float, length: float, width: float, brightness: float) -> float:
    """Approximate mean of the streak layer for fixed parameters: brightness·(1 − exp(−density·length·width)).

    Why: each seed covers about length·width pixels; counting overlapping streaks as a Poisson
    process and clipping at 1 gives the covered fraction 1 − exp(−coverage). Used by tests and to
    pick a density for a target amount of rain.
    """
    return brightness * (1.0 - math.exp(-density * length * width))


def _gaussian3(sigma: float, device: torch.device) -> torch.Tensor:
    g = torch.exp(-(torch.tensor([-1.0, 0.0, 1.0], device=device) ** 2) / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g)[None, None]


def line_kernels(
    length: torch.Tensor, angle: torch.Tensor, width: torch.Tensor, radius: int, soften: bool, taper: bool = False
) -> torch.Tensor:
    """One anti-aliased line kernel per image, [B,1,2r+1,2r+1], peak ≈ 1 (before softening).

    The streak direction in (x right, y down) image coordinates is (sin θ, cos θ) with θ = angle in
    degrees from vertical; the box profile ramps linearly over one pixel at each edge, so the kernel
    sums to about length·width; `taper` makes the profile along the line a triangle (sum halves).
    """
    coords = torch.arange(-radius, radius + 1, dtype=torch.float32, device=length.device)
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")
    theta = torch.deg2rad(angle)[:, None, None]
    sin, cos = torch.sin(theta), torch.cos(theta)
    along = xs * sin + ys * cos
    across = xs * cos - ys * sin
    half = length[:, None, None] / 2 + 0.5
    lengthwise = (1 - along.abs() / half).clamp(min=0) if taper else (half - along.abs()).clamp(0, 1)
    k = lengthwise * (width[:, None, None] / 2 + 0.5 - across.abs()).clamp(0, 1)
    k = k[:, None]
    if soften:
        k = F.conv2d(k, _gaussian3(SOFTEN_SIGMA, k.device), padding=1)
    return k


@dataclass(frozen=True)
class RainStreaks:
    """Synthetic rain streaks composited onto clean images (see the module docstring).

    Each parameter is a (low, high) pair; one value per image is drawn uniformly from it.
    """

    density: tuple[float, float]
    length: tuple[float, float]
    angle: tuple[float, float]
    width: tuple[float, float]
    brightness: tuple[float, float]
    blur: bool = True
    haze: tuple[float, float] = (0.0, 0.0)
    airlight: tuple[float, float] = (0.8, 0.8)
    noise: tuple[float, float] = (0.0, 0.0)
    variation: tuple[float, float] = (0.0, 0.0)
    taper: bool = False
    blend: str = "screen"
    wider: dict[str, tuple[float, float]] = field(default_factory=dict)
    wider_share: float = 0.0
    layers: tuple[int, int] = (1, 1)

    @property
    def upright(self) -> bool:
        """True unless the streaks take every direction (the wider ranges hold the fitted ones): a
        quarter turn would show the network rain at angles it never trained on (contracts.Degradation)."""
        return not (self.angle[0] <= -90 and self.angle[1] >= 90)

    def highest(self, name: str) -> float:
        """The largest value a parameter can take, fitted or wider."""
        return max(getattr(self, name)[1], self.wider.get(name, (0.0, 0.0))[1])

    @property
    def radius(self) -> int:
        """Half-size of the line kernels: covers the longest, widest streak at any angle (+1 to soften)."""
        half = math.hypot(self.highest("length") / 2 + 0.5, self.highest("width") / 2 + 0.5)
        return int(math.ceil(half)) + (1 if self.blur else 0)

    def draw(self, batch: int, generator: torch.Generator | None) -> dict[str, torch.Tensor]:
        """Per-image parameters, each a [batch] float32 tensor on the generator's device; with `wider`,
        an image takes all of them from the wider ranges with probability `wider_share`."""
        device = generator_device(generator)
        u = torch.rand((len(PARAMS), batch), generator=generator, device=device)
        if self.wider:
            wide = torch.rand(batch, generator=generator, device=device) < self.wider_share
        out = {}
        for row, (name, *_rest) in enumerate(PARAMS):
            low, high = getattr(self, name)
            out[name] = low + (high - low) * u[row]
            if name in self.wider:
                w_low, w_high = self.wider[name]
                out[name] = torch.where(wide, w_low + (w_high - w_low) * u[row], out[name])
        return out

    def streaks(
        self,
        shape: tuple[int, ...] | torch.Size,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """The streak layer alone, [B,1,H,W] in [0,1], for a batch shape (B,C,H,W), (B,H,W) or (H,W).

        Draws, in order: the per-image parameters, then the seed map; so a seed fixes the result.
        """
        return self._render(shape, generator, device)[0]

    def _render(
        self, shape: tuple[int, ...] | torch.Size, generator: torch.Generator | None, device: torch.device | str | None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The streak layer and the per-image parameters it was drawn with."""
        shape = tuple(int(s) for s in shape)
        if len(shape) not in (2, 3, 4) or any(s < 1 for s in shape):
            raise ClearerError(f"rain streaks need a shape (H,W), (B,H,W) or (B,C,H,W) of positive sizes, got {shape}")
        batch = 1 if len(shape) == 2 else shape[0]
        layer, p = self._layer(batch, shape[-2:], generator)
        if self.layers[1] > 1:  # more layers, each with its own parameters; images keep 1..layers of them
            count = torch.randint(
                self.layers[0], self.layers[1] + 1, (batch,), generator=generator, device=generator_device(generator)
            )
            for extra in range(1, self.layers[1]):
                more, _ = self._layer(batch, shape[-2:], generator)
                layer = layer + more * rearrange(count > extra, "b -> b 1 1 1")
            layer = layer.clamp(max=1.0)
        return (layer if device is None else layer.to(device)), p

    def _layer(
        self, batch: int, size: tuple[int, ...], generator: torch.Generator | None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One streak layer per image, [B,1,H,W], and the parameters it was drawn with."""
        height, width = size
        p = self.draw(batch, generator)
        r = self.radius
        u = torch.rand(
            (batch, 1, height + 2 * r, width + 2 * r), generator=generator, device=generator_device(generator)
        )
        per_image = {name: rearrange(value, "b -> b 1 1 1") for name, value in p.items()}
        seeds = (u < per_image["density"]).float()
        if self.highest("variation") > 0:  # per-streak intensity u^v
            v = torch.rand(u.shape, generator=generator, device=u.device)
            seeds = seeds * v.pow(per_image["variation"])
        kernels = line_kernels(p["length"], p["angle"], p["width"], r, self.blur, self.taper)
        # grouped convolution: the images become the channels of one image, each convolved with its own kernel
        layer = F.conv2d(rearrange(seeds, "b 1 h w -> 1 b h w"), kernels, groups=batch)
        return rearrange(layer, "1 b h w -> b 1 h w").clamp(0.0, 1.0) * per_image["brightness"], p

    def __call__(self, clean: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Rainy version of a clean [B,C,H,W] (or [C,H,W]) batch in [0,1]: blended streaks, then the veil
        and the noise where their ranges are above zero."""
        if clean.dim() == 3:
            return self(clean.unsqueeze(0), generator).squeeze(0)
        if clean.dim() != 4:
            raise ClearerError(f"rain_streaks expects [B,C,H,W] or [C,H,W], got shape {tuple(clean.shape)}")
        rain, p = self._render(clean.shape, generator, clean.device)
        rain = rain.to(clean.dtype)
        rainy = (clean + rain).clamp(max=1.0) if self.blend == "add" else 1.0 - (1.0 - clean) * (1.0 - rain)
        per_image = {name: rearrange(value.to(clean), "b -> b 1 1 1") for name, value in p.items()}
        if self.haze[1] > 0:
            rainy = (1.0 - per_image["haze"]) * rainy + per_image["haze"] * per_image["airlight"]
        if self.noise[1] > 0:
            n = torch.randn(clean.shape, generator=generator, device=generator_device(generator)).to(clean)
            rainy = (rainy + per_image["noise"] * n).clamp(0.0, 1.0)
        return rainy

    def describe(self) -> str:
        """One line naming the rain model and its parameters, for logs and metric records."""

        def fmt(name: str, unit: str = "") -> str:
            low, high = getattr(self, name)
            return f"{name}={low:g}{unit}" if low == high else f"{name}~U[{low:g},{high:g}]{unit}"

        parts = [
            fmt("density"),
            fmt("length", "px"),
            fmt("angle", "° from vertical"),
            fmt("width", "px"),
            fmt("brightness"),
        ] + ([fmt("variation")] if self.variation[1] > 0 else [])
        veil = f", grey veil {fmt('haze')} {fmt('airlight')}" if self.haze[1] > 0 else ""
        noise = f", Gaussian sensor {fmt('noise')}" if self.noise[1] > 0 else ""
        shape = f"{'tapered ' if self.taper else ''}{'soft' if self.blur else 'sharp'} streaks"
        wider = ""
        if self.wider:
            ranges = ", ".join(f"{name}~U[{low:g},{high:g}]" for name, (low, high) in self.wider.items())
            wider = f", {self.wider_share:g} of the layers wider: {ranges}"
        layers = "" if self.layers == (1, 1) else f", {self.layers[0]}–{self.layers[1]} layers"
        return f"rain_streaks {', '.join(parts)}, {shape}, {self.blend} blend{wider}{layers}{veil}{noise}"


@DEGRADATIONS.register("rain_streaks")
def rain_streaks(
    density: float | list[float] = (0.002, 0.01),
    length: float | list[float] = (10, 30),
    angle: float | list[float] = (-20, 20),
    width: float | list[float] = (1, 2),
    brightness: float | list[float] = (0.6, 1.0),
    blur: bool = True,
    haze: float | list[float] = 0.0,
    airlight: float | list[float] = 0.8,
    noise: float | list[float] = 0.0,
    variation: float | list[float] = 0.0,
    taper: bool = False,
    blend: str = "screen",
    wider: dict[str, list[float]] | None = None,
    wider_share: float = 0.0,
    layers: int | list[int] = 1,
) -> RainStreaks:
    """Synthetic rain (seeds -> motion blur along the streak -> blend -> veil -> noise), ranges drawn
    per image.

    Why: a controllable rain model for training and testing derainers when only a few real pairs
    exist; `density` is the fraction of pixels seeding a streak, `length`/`width` in pixels, `angle`
    in degrees from vertical (positive: falling to the right), `brightness` the streak intensity,
    `haze` the weight of a grey veil of level `airlight` over the whole image (0 = none), `noise` the
    σ of Gaussian sensor noise (0 = none), `variation` the spread of per-streak intensities u^variation
    (0 = all equal, 1 = uniform from 0 to full, more = mostly faint), `taper` streaks that fade towards
    their ends, `blend` "screen" or "add" (clipped sum, as Rain100L). benchmarks/fit_rain.py fits these
    to real rain pairs; `wider` ({parameter: [low, high]}, each holding the fitted range) and
    `wider_share` (0..1) take a share of the streak layers beyond the fit, `layers` stacks 1..4 layers.
    """
    for name, value in (("blur", blur), ("taper", taper)):
        if not isinstance(value, bool):
            raise ClearerError(f"rain_streaks {name} must be true or false, got {value!r}")
    if blend not in BLENDS:
        raise ClearerError(f"rain_streaks blend={blend!r} is not valid; use one of {', '.join(BLENDS)}.")
    given = dict(
        density=density,
        length=length,
        angle=angle,
        width=width,
        brightness=brightness,
        haze=haze,
        airlight=airlight,
        noise=noise,
        variation=variation,
    )
    ranges = {name: parse_range(name, value) for name, value in given.items()}
    if isinstance(wider_share, bool) or not isinstance(wider_share, (int, float)) or not 0 <= wider_share <= 1:
        raise ClearerError(
            f"rain_streaks wider_share must be a number in 0..1 (a share of layers), got {wider_share!r}"
        )
    return RainStreaks(
        **ranges,
        blur=blur,
        taper=taper,
        blend=blend,
        wider=parse_wider(wider or {}, ranges),
        wider_share=float(wider_share),
        layers=parse_layers(layers),
    )


def render_streaks(
    shape: tuple[int, ...] | torch.Size, generator: torch.Generator | None = None, **params
) -> torch.Tensor:
    """The streak layer alone ([B,1,H,W] in [0,1]) for `rain_streaks(**params)`; the layer that
    `rain_streaks(**params)(clean, generator)` blends in, for the same generator state."""
    return rain_streaks(**params).streaks(shape, generator)
