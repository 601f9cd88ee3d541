"""Bicubic resizing as MATLAB's `imresize` does it, the way every SR benchmark's low-resolution files were made.

Why not torch's or PIL's bicubic: MATLAB uses the cubic kernel with a = -0.5 (torch: -0.75), widens the
kernel by 1/scale when shrinking (antialiasing; torch does not), maps pixel centres with
u = x/scale + (1 - 1/scale)/2 and mirrors the image at its borders (edge pixel repeated). On 8-bit
images it rounds to 8 bits after each of its two passes (rows first when both scales are equal).
Networks trained on other LR images score lower on the benchmarks' LR files, and PSNR of a bicubic
baseline only reproduces the published figures with this kernel.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..errors import ClearerError

KERNEL_WIDTH = 4.0  # the cubic kernel's support, in input pixels at scale 1


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5, as MATLAB's `imresize` (support [-2, 2])."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return near + far


def _factor(scale: float) -> tuple[float, float]:
    """(scale, 1/scale) with 1/scale exact for the usual 1/2, 1/3, 1/4 (and scale exact for 2, 3, 4)."""
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not math.isfinite(scale) or scale <= 0:
        raise ClearerError(f"resize scale must be a positive number (e.g. 0.5 to halve, 2 to double), got {scale!r}")
    inverse = 1.0 / scale
    if abs(inverse - round(inverse)) < 1e-9:
        inverse = float(round(inverse))
    return float(scale), inverse


def output_length(length: int, scale: float) -> int:
    """MATLAB's output size, ceil(length * scale), without the float error of 1/3 * 255 (= 85.00000000000001)."""
    factor, inverse = _factor(scale)
    return math.ceil(length / inverse - 1e-9) if inverse.is_integer() else math.ceil(length * factor - 1e-9)


def contributions(length: int, out: int, scale: float, antialias: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(weights [out, P], 0-based input indices [out, P]) of one dimension, as MATLAB's `contributions`:
    the kernel widened by 1/scale when shrinking, weights normalised per output pixel, indices outside
    the image mirrored back (symmetric, edge repeated)."""
    factor, inverse = _factor(scale)
    shrink = factor < 1 and antialias
    width = KERNEL_WIDTH * inverse if shrink else KERNEL_WIDTH
    x = np.arange(1, out + 1, dtype=np.float64)
    u = x * inverse + 0.5 * (1.0 - inverse)  # the output pixel's centre in 1-based input coordinates
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]
    distance = u[:, None] - indices
    weights = factor * cubic(factor * distance) if shrink else cubic(distance)
    weights = weights / weights.sum(axis=1, keepdims=True)
    indices = np.clip(indices.astype(np.int64) - 1, 0, length - 1)
    keep = np.any(weights != 0, axis=0)
    return weights[:, keep], indices[:, keep]


def resize_matrix(length: int, out: int, scale: float) -> np.ndarray:
    """The [out, length] float64 matrix that resizes one dimension (mirrored taps summed in place)."""
    weights, indices = contributions(length, out, scale)
    matrix = np.zeros((out, length), dtype=np.float64)
    np.add.at(matrix, (np.repeat(np.arange(out), weights.shape[1]), indices.ravel()), weights.ravel())
    return matrix


def _along(x: torch.Tensor, matrix: np.ndarray, dim: int) -> torch.Tensor:
    m = torch.from_numpy(matrix).to(x.device, torch.float64)
    return torch.matmul(m, x) if dim == -2 else torch.matmul(x, m.T)


def imresize(image: torch.Tensor, scale: float, quantize: bool = False) -> torch.Tensor:
    """Resize the last two dims of an image in [0,1] by `scale` (0.5 halves, 2 doubles) as MATLAB's
    `imresize(image, scale, 'bicubic')`; `quantize=True` treats it as an 8-bit image, as MATLAB does
    with uint8 input: rounded to 8 bits after each pass, so the result equals MATLAB's LR files.

    Computed in float64 (as MATLAB) and returned in the image's dtype."""
    if image.dim() < 2:
        raise ClearerError(f"imresize needs an image [..., H, W], got shape {tuple(image.shape)}")
    height, width = image.shape[-2:]
    out_h, out_w = output_length(height, scale), output_length(width, scale)
    # 8-bit images are resized on the 0-255 scale, as MATLAB resizes uint8 pixels: a tie (x.5) is then
    # exact and rounds up, where on [0,1] it would land a hair either side of it
    x = image.double().mul(255.0).round() if quantize else image.double()
    for dim, length, out in ((-2, height, out_h), (-1, width, out_w)):
        x = _along(x, resize_matrix(length, out, scale), dim)
        if quantize:
            x = x.clamp(0.0, 255.0).add(0.5).floor()  # halves away from zero, as MATLAB
    x = x.div(255.0) if quantize else x
    return x.to(image.dtype)


def upsampling_phases(scale: int) -> np.ndarray:
    """[scale, 5] weights of MATLAB's bicubic ×scale upsampling away from the borders: output pixel
    scale·i + p is Σ_t phases[p, t] · input[i - 2 + t] (integer scales repeat one pattern per input pixel).

    Why: a network that upsamples inside itself needs the same interpolation for every image size (an
    exported network has no fixed size), which a fixed convolution gives and a per-size matrix does not."""
    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
        raise ClearerError(f"bicubic upsampling needs an integer scale >= 1, got {scale!r}")
    length = 8  # an interior input pixel (index 4) with two neighbours each side inside the image
    weights, indices = contributions(length, length * scale, float(scale))
    phases = np.zeros((scale, 5), dtype=np.float64)
    for p in range(scale):
        row = 4 * scale + p
        for w, i in zip(weights[row], indices[row]):
            phases[p, i - 2] += w
    return phases
