"""Thin bright structure that is not rain — lines, grids, fences, lettering — drawn on clean pictures, and
`with_structures`, a registered degradation that draws it into a share of the clean crops before another
degradation (rain) is applied to them.

Why: a derainer that has only seen natural photographs under rain learns that every thin bright line is
rain, and erases wires, grids and lettering with it. Drawn into the clean target as well as into the
input, these structures teach it to leave them alone; they differ from rain in what a network can see in
a patch: long (they cross the crop), sparse or regular (grids, fences), or glyph-shaped (text), while
rain is many short parallel streaks.

Each picture of a batch gets one kind (or none), its own geometry, grey level and opacity; a structure
mask m in [0,1] is composited as `clean·(1 − a·m) + colour·a·m`. Masks are anti-aliased: a line of
width w covers a pixel by clamp(w/2 + 0.5 − distance, 0, 1), as the rain kernels do.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from einops import rearrange
from PIL import Image, ImageDraw, ImageFont

from ..contracts import Degradation
from ..errors import ClearerError
from ..registry import DEGRADATIONS
from .degradations import generator_device

KINDS = ("lines", "grid", "fence", "text")
MAX_LINES = 3
TEXT_BANK = (256, 512)  # height, width of the lettering every text crop is cut from


def line_mask(distance: torch.Tensor, width: torch.Tensor) -> torch.Tensor:
    """Anti-aliased coverage of a line of `width` px at `distance` px from its axis."""
    return (width / 2 + 0.5 - distance.abs()).clamp(0.0, 1.0)


def periodic_distance(projection: torch.Tensor, period: torch.Tensor) -> torch.Tensor:
    """Distance to the nearest of the lines projection = k·period (k any integer)."""
    t = torch.remainder(projection, period)
    return torch.minimum(t, period - t)


def coordinates(height: int, width: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates (y down, x right) relative to the picture's centre, [1,1,H,W] each."""
    ys = torch.arange(height, dtype=torch.float32, device=device) - (height - 1) / 2
    xs = torch.arange(width, dtype=torch.float32, device=device) - (width - 1) / 2
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    return y[None, None], x[None, None]


def grid_mask(
    height: int, width: int, period: float, line_width: float = 1.0, angle: float = 0.0, device: str = "cpu"
) -> torch.Tensor:
    """[1,1,H,W] coverage of a square grid: two families of lines `period` px apart, turned by `angle`°,
    one line of each family through the picture's top-left pixel at angle 0."""
    y, x = coordinates(height, width, torch.device(device))
    y, x = y + (height - 1) / 2, x + (width - 1) / 2
    theta = math.radians(angle)
    across = x * math.cos(theta) + y * math.sin(theta)
    along = -x * math.sin(theta) + y * math.cos(theta)
    p, w = torch.tensor(period), torch.tensor(line_width)
    return torch.maximum(line_mask(periodic_distance(across, p), w), line_mask(periodic_distance(along, p), w))


def composite(clean: torch.Tensor, mask: torch.Tensor, colour: torch.Tensor, opacity: torch.Tensor) -> torch.Tensor:
    """`clean·(1 − a·m) + colour·a·m` for [B,C,H,W] clean, [B,1,H,W] mask, colour [B,C,1,1], opacity [B,1,1,1]."""
    a = opacity * mask
    return clean * (1 - a) + colour * a


@lru_cache(maxsize=1)
def text_bank() -> torch.Tensor:
    """[H,W] coverage of lines of random letters and digits at a few sizes (PIL's built-in font), drawn
    once from a fixed seed: text crops are cut from it at random places."""
    height, width = TEXT_BANK
    picture = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(picture)
    rng = random.Random(0)
    symbols = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .-/"
    y = 0
    while y < height:
        size = rng.choice((9, 11, 14, 18, 24))
        font = ImageFont.load_default(size=size)
        line = "".join(rng.choice(symbols) for _ in range(width // max(size // 2, 1)))
        draw.text((rng.randint(-size, 0), y), line, fill=255, font=font)
        y += size + rng.randint(1, size)
    return torch.from_numpy(np.asarray(picture, dtype=np.float32) / 255.0)


def _uniform(u: torch.Tensor, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * u


def structure_masks(batch: int, height: int, width: int, generator: torch.Generator | None) -> torch.Tensor:
    """[B,len(KINDS),H,W]: for every picture one mask of each kind, each with its own random geometry."""
    device = generator_device(generator)
    u = lambda *shape: torch.rand(shape, generator=generator, device=device)  # noqa: E731
    y, x = coordinates(height, width, device)
    col = lambda t: rearrange(t, "b -> b 1 1 1")  # noqa: E731

    # lines: 1..MAX_LINES straight lines at any angle through the crop, 0.8-2 px wide
    count = torch.randint(1, MAX_LINES + 1, (batch,), generator=generator, device=device)
    lines = torch.zeros(batch, 1, height, width, device=device)
    for k in range(MAX_LINES):
        phi = col(_uniform(u(batch), 0.0, math.pi))
        # within 0.8 of the crop's half-extent along the line's normal, so that the line crosses the crop
        support = (width - 1) / 2 * torch.cos(phi).abs() + (height - 1) / 2 * torch.sin(phi).abs()
        offset, w = col(_uniform(u(batch), -0.8, 0.8)) * support, col(_uniform(u(batch), 0.8, 2.0))
        line = line_mask(x * torch.cos(phi) + y * torch.sin(phi) - offset, w) * col((count > k).float())
        lines = torch.maximum(lines, line)

    def lattice(angle_a: torch.Tensor, angle_b: torch.Tensor, period: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        phase = col(_uniform(u(batch), 0.0, 1.0)) * period
        a = line_mask(periodic_distance(x * torch.cos(angle_a) + y * torch.sin(angle_a) - phase, period), w)
        b = line_mask(periodic_distance(x * torch.cos(angle_b) + y * torch.sin(angle_b) - phase, period), w)
        return torch.maximum(a, b)

    # grid: square, period 5-16 px, lines 0.8-1.6 px, turned by up to ±45°
    turn = col(torch.deg2rad(_uniform(u(batch), -45.0, 45.0)))
    grid = lattice(turn, turn + math.pi / 2, col(_uniform(u(batch), 5.0, 16.0)), col(_uniform(u(batch), 0.8, 1.6)))
    # fence: chain link, wires 1.2-3 px crossing at 60-120°, mesh 8-24 px
    half = col(torch.deg2rad(_uniform(u(batch), 30.0, 60.0)))
    tilt = col(torch.deg2rad(_uniform(u(batch), -15.0, 15.0)))
    fence = lattice(tilt + half, tilt - half, col(_uniform(u(batch), 8.0, 24.0)), col(_uniform(u(batch), 1.2, 3.0)))

    # text: a crop of the lettering bank (wrapping around its edges) placed over a random inked pixel, so
    # that it never lands in the blank space between lines or words
    bank = text_bank().to(device)
    inked = torch.nonzero(bank > 0.5)
    pick = inked[torch.randint(0, inked.shape[0], (batch,), generator=generator, device=device)]
    top = pick[:, 0] - torch.randint(0, height, (batch,), generator=generator, device=device)
    left = pick[:, 1] - torch.randint(0, width, (batch,), generator=generator, device=device)
    rows = (top[:, None] + torch.arange(height, device=device)) % bank.shape[0]
    cols = (left[:, None] + torch.arange(width, device=device)) % bank.shape[1]
    text = bank[rows[:, :, None], cols[:, None, :]][:, None]
    return torch.cat([lines, grid, fence, text], dim=1)


def draw_structures(clean: torch.Tensor, share: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """A [B,C,H,W] batch in [0,1] with one kind of thin bright structure (KINDS, equally likely) drawn
    into `share` of its pictures: grey level 0.75-1 with a faint tint, opacity 0.6-1."""
    if clean.dim() != 4:
        raise ClearerError(f"structures are drawn on [B,C,H,W] batches, got shape {tuple(clean.shape)}")
    batch, channels, height, width = clean.shape
    device = generator_device(generator)
    masks = structure_masks(batch, height, width, generator)
    u = torch.rand((batch, 2 + channels), generator=generator, device=device)
    kind = torch.randint(0, len(KINDS), (batch,), generator=generator, device=device)
    chosen = masks[torch.arange(batch, device=device), kind][:, None] * rearrange(u[:, 0] < share, "b -> b 1 1 1")
    grey = 0.75 + 0.25 * u[:, 1:2]
    colour = (grey * (1 - 0.1 * u[:, 2:])).clamp(0, 1)
    opacity = 0.6 + 0.4 * torch.rand((batch,), generator=generator, device=device)
    out = composite(
        clean,
        chosen.to(clean),
        rearrange(colour, "b c -> b c 1 1").to(clean),
        rearrange(opacity, "b -> b 1 1 1").to(clean),
    )
    return out


@dataclass(frozen=True)
class WithStructures:
    """Another degradation applied over pictures into a share of which thin bright structure was drawn:
    the structure is part of the target (`pair`), so a network learns to keep it. An `untouched` share of
    the crops skips the inner degradation (input = target), so it also sees pictures without rain."""

    degradation: Degradation
    share: float
    untouched: float = 0.0

    @property
    def upright(self) -> bool:
        """As upright as the degradation it wraps (the structures are drawn at every angle)."""
        return bool(getattr(self.degradation, "upright", False))

    def pair(self, clean: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(degraded, target) for a clean [B,C,H,W] batch: the target is the batch with structure drawn in."""
        scene = draw_structures(clean, self.share, generator)
        degraded = self.degradation(scene, generator)
        if self.untouched > 0:
            dry = (
                torch.rand((scene.shape[0],), generator=generator, device=generator_device(generator)) < self.untouched
            )
            degraded = torch.where(rearrange(dry, "b -> b 1 1 1").to(scene.device), scene, degraded)
        return degraded, scene

    def __call__(self, clean: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Degrade a given clean picture as it is (its target cannot change here): the inner degradation."""
        return self.degradation(clean, generator)

    def describe(self) -> str:
        dry = f", {self.untouched:.0%} of the crops left undegraded" if self.untouched > 0 else ""
        return f"{self.degradation.describe()}; over thin lines, grids, fences or text on {self.share:.0%} of the crops{dry}"


def _share(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ClearerError(f"with_structures {name} must be a number in 0..1 (a share of the crops), got {value!r}")
    return float(value)


@DEGRADATIONS.register("with_structures")
def with_structures(degradation: dict | str, share: float = 0.4, untouched: float = 0.0) -> WithStructures:
    """`degradation` (a degradations ref, e.g. dict(name="rain_streaks", ...)) over clean crops into
    `share` of which thin bright lines, grids, fences or text were drawn (also into the target);
    `untouched` of the crops are given as they are (no degradation).

    Why: teaches a derainer that thin bright structure is picture, not rain (see clearer.data.structures),
    and that a picture without rain is left as it is.
    """
    return WithStructures(DEGRADATIONS.build(degradation), _share("share", share), _share("untouched", untouched))
