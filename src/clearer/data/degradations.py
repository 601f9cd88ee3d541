"""Synthetic degradations applied to clean batches on the fly (additive white Gaussian noise)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ClearerError
from ..registry import DEGRADATIONS

SIGMA_SCALE = 255.0


def generator_device(generator: torch.Generator | None) -> torch.device:
    """Where random numbers for `generator` must be drawn (the default generator lives on the CPU)."""
    return generator.device if generator is not None else torch.device("cpu")


def _check_sigma(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ClearerError(f"gaussian sigma must be a number on the 0-255 pixel scale, got {value!r}")
    if not 0.0 <= float(value) <= SIGMA_SCALE:
        raise ClearerError(
            f"gaussian sigma={value!r} is outside 0..255; sigma is on the 0-255 pixel scale "
            f"(e.g. 25 for the usual σ=25, not 25/255 ≈ 0.098)."
        )
    return float(value)


def parse_sigma(sigma: float | list[float] | tuple[float, float]) -> tuple[float, float]:
    """sigma (one value or a [low, high] range, 0-255 scale) -> validated (low, high)."""
    if isinstance(sigma, (list, tuple)):
        if len(sigma) != 2:
            raise ClearerError(
                f"gaussian sigma list must be [low, high] (two values on the 0-255 scale), got {list(sigma)!r}"
            )
        low, high = (_check_sigma(v) for v in sigma)
        if low > high:
            raise ClearerError(
                f"gaussian sigma range [{low:g}, {high:g}] has low > high; write it as [{high:g}, {low:g}]."
            )
        return low, high
    value = _check_sigma(sigma)
    return value, value


@dataclass(frozen=True)
class GaussianNoise:
    """Additive white Gaussian noise with sigma on the 0-255 scale; optional clip and 8-bit rounding."""

    low: float
    high: float
    clip: bool = False
    quantize: bool = False

    @property
    def sigma(self) -> float | tuple[float, float]:
        """The noise level (0-255 scale): one value, or the (low, high) range drawn per image."""
        return self.low if self.low == self.high else (self.low, self.high)

    def sigmas(self, batch: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
        """Per-image sigma on the [0,1] intensity scale, shape [B,1,1,1]."""
        if self.low == self.high:
            return torch.full((batch, 1, 1, 1), self.low / SIGMA_SCALE, device=device)
        u = torch.rand((batch, 1, 1, 1), generator=generator, device=generator_device(generator))
        return (self.low + (self.high - self.low) * u).to(device) / SIGMA_SCALE

    def __call__(self, clean: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Degrade a clean [B,C,H,W] batch in [0,1] (one tensor op for the whole batch)."""
        if clean.dim() == 3:
            return self(clean.unsqueeze(0), generator).squeeze(0)
        if clean.dim() != 4:
            raise ClearerError(f"gaussian noise expects [B,C,H,W] or [C,H,W], got shape {tuple(clean.shape)}")
        noise = torch.randn(clean.shape, generator=generator, device=generator_device(generator), dtype=torch.float32)
        sig = self.sigmas(clean.shape[0], generator, clean.device)
        noisy = clean + noise.to(device=clean.device, dtype=clean.dtype) * sig.to(clean.dtype)
        if self.clip:
            noisy = noisy.clamp(0.0, 1.0)
        if self.quantize:
            noisy = noisy.clamp(0.0, 1.0).mul(255.0).round().div(255.0)
        return noisy

    def describe(self) -> str:
        """One line naming the noise, its level and post-processing, for logs and metric records."""
        level = f"σ={self.low:g}" if self.low == self.high else f"σ~U[{self.low:g},{self.high:g}]"
        post = [w for w, on in (("clipped", self.clip), ("8-bit", self.quantize)) if on]
        return f"gaussian {level} (0-255 scale), {', '.join(post) if post else 'float, unclipped'}"


@DEGRADATIONS.register("gaussian")
def gaussian(sigma: float | list[float] = 25.0, clip: bool = False, quantize: bool = False) -> GaussianNoise:
    """Additive Gaussian noise, sigma on the 0-255 scale (a [low, high] list draws one per image).

    Why: clip=True, quantize=True reproduces the paper code's noisy input (`clearer` protocol); the
    defaults give the float, unclipped noise of DnCNN/KAIR (`standard` protocol).
    """
    low, high = parse_sigma(sigma)
    return GaussianNoise(low, high, bool(clip), bool(quantize))
