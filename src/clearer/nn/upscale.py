"""Super-resolution inside a space: where its network sits relative to the ×scale upscaling.

Both placements take the low-resolution image and return one `scale` times larger, with the image's
MATLAB-bicubic upscaling as the residual base (the network learns only what bicubic misses):
- "pre" (VDSR): upscale first, run the network at high resolution on the upscaled image;
- "post" (ESPCN/EDSR): run the network at low resolution, its output conv gives scale² maps per
  channel that a sub-pixel shuffle puts side by side; scale² less work per layer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.bicubic import (
    upsampling_phases,
)  # upward: one MATLAB bicubic for the LR data and this residual base; bicubic.py imports only errors
from ..errors import ClearerError

UPSAMPLING = ("pre", "post")


class BicubicUpsample(nn.Module):
    """MATLAB's bicubic ×scale upsampling (integer scales; border pixels repeated), for any image size.

    Why shifted multiply-adds instead of a convolution: elementwise ops stay in float32 under bf16
    autocast, and the residual base must carry the full 8-bit precision of the image."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.phases = [[float(w) for w in row] for row in upsampling_phases(scale)]

    def _along(self, x: Tensor, dim: int) -> Tensor:
        pad = (0, 0, 2, 2) if dim == -2 else (2, 2, 0, 0)
        padded = F.pad(x, pad, mode="replicate")
        n = x.shape[dim]
        phases = [sum(w * padded.narrow(dim, t, n) for t, w in enumerate(row)) for row in self.phases]
        out = torch.stack(phases, dim=dim)  # dim -2: [..., H, s, W] ; dim -1: [..., H, W, s]
        shape = list(x.shape)
        shape[dim] = n * self.scale
        return out.reshape(shape)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise ClearerError(f"bicubic upsampling expects [B,C,H,W], got shape {tuple(x.shape)}")
        return self._along(self._along(x.float(), -2), -1)


class Upscale(nn.Module):
    """A space's input and output side of ×scale super-resolution (scale 1: denoising, nothing changes).

    A space runs `inp, base = upscale.prepare(x)`, its network on `inp`, an output conv with
    `channels * upscale.factor` maps, then `upscale.finish(y)` (plus `base` when it is residual)."""

    def __init__(self, scale: int = 1, upsample: str = "post") -> None:
        super().__init__()
        if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
            raise ClearerError(f"space scale must be an integer >= 1 (1: same size out; 2, 3, 4: SR), got {scale!r}")
        if upsample not in UPSAMPLING:
            raise ClearerError(
                f"upsample={upsample!r} is not valid; 'pre' (network at high resolution on the bicubic-upscaled "
                "image, VDSR) or 'post' (network at low resolution, sub-pixel output, ESPCN)."
            )
        self.scale, self.upsample = scale, upsample
        self.bicubic = BicubicUpsample(scale) if scale > 1 else None

    @property
    def factor(self) -> int:
        """Output maps per image channel of the space's last conv: scale² after-the-fact, else 1."""
        return self.scale**2 if self.scale > 1 and self.upsample == "post" else 1

    def prepare(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(what the network runs on, the residual base at the output size)."""
        if self.bicubic is None:
            return x, x
        up = self.bicubic(x)
        return (up.to(x.dtype), up) if self.upsample == "pre" else (x, up)

    def finish(self, y: Tensor) -> Tensor:
        """The network's output at the output size (sub-pixel shuffle after a low-resolution network)."""
        return F.pixel_shuffle(y, self.scale) if self.factor > 1 else y

    def extra_repr(self) -> str:
        return f"scale={self.scale}, upsample={self.upsample!r}"
