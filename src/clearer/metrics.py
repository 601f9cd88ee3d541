"""PSNR and SSIM, and the named measurement protocols that say exactly how a number was obtained."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F

from .errors import ClearerError, did_you_mean

SSIM_WINDOWS = ("gaussian", "matlab")
COLORS = ("rgb", "y")


def _as_batch(x: torch.Tensor, y: torch.Tensor, what: str) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Check shapes; return float64 [B,C,H,W] views and whether the input was a single image."""
    if x.shape != y.shape:
        raise ClearerError(f"{what}: images differ in shape, {tuple(x.shape)} vs {tuple(y.shape)}")
    if x.dim() not in (3, 4):
        raise ClearerError(f"{what}: expected [C,H,W] or [B,C,H,W] tensors, got shape {tuple(x.shape)}")
    single = x.dim() == 3
    x, y = (t.unsqueeze(0) if single else t for t in (x, y))
    return x.detach().double(), y.detach().double(), single


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB, per image (a scalar for [C,H,W], shape [B] for [B,C,H,W]).

    Why: computed in float64 over all channels and pixels, so 8-bit results on [0,1] equal the
    usual [0,255] figures; identical images give +inf.
    """
    x, y, single = _as_batch(x, y, "psnr")
    mse = (x - y).pow(2).flatten(1).mean(1)
    out = 10.0 * torch.log10(data_range**2 / mse)
    return out[0] if single else out


def gaussian_kernel(size: int = 11, sigma: float = 1.5, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Normalised 1-D Gaussian [size]; the SSIM window is its outer product with itself."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return (g / g.sum()).to(dtype)


def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Normalised 2-D Gaussian window [size,size] (float64), as MATLAB fspecial / cv2 use for SSIM."""
    g = gaussian_kernel(size, sigma)
    return torch.outer(g, g)


def _blur_1d(t: torch.Tensor, g: torch.Tensor, dim: int, padding: int) -> torch.Tensor:
    """Correlate the last dims of `t` with the 1-D kernel `g` along `dim` (-2 or -1), zero-padded."""
    pad = (0, 0, padding, padding) if dim == -2 else (padding, padding)
    t = F.pad(t, pad) if padding else t
    n = t.shape[dim] - g.numel() + 1
    out = g[0] * t.narrow(dim, 0, n)
    for k in range(1, g.numel()):
        out = out + g[k] * t.narrow(dim, k, n)
    return out


def _ssim_map(x: torch.Tensor, y: torch.Tensor, c1: float, c2: float, padding: int) -> torch.Tensor:
    """Local SSIM map of [B,C,H,W] float32 images with an 11x11 σ=1.5 Gaussian window.

    Why this shape: the Gaussian window is separable and zero padding commutes with it, so two 1-D
    passes of shifted multiply-adds give the 2-D result (to float32 rounding, < 1e-6 on [0,1] images),
    and the five local moments are blurred as one stacked tensor: about 30x faster than the former
    float64 2-D convolution, which took three quarters of the evaluation time.
    """
    g = gaussian_kernel(dtype=x.dtype).to(x.device)
    moments = torch.stack([x, y, x * x, y * y, x * y])
    mu_x, mu_y, xx, yy, xy = _blur_1d(_blur_1d(moments, g, -2, padding), g, -1, padding).unbind(0)
    var_x, var_y, cov = xx - mu_x**2, yy - mu_y**2, xy - mu_x * mu_y
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))


def ssim(x: torch.Tensor, y: torch.Tensor, window: str = "gaussian") -> torch.Tensor:
    """Structural similarity of images in [0,1], per image (scalar for [C,H,W], shape [B] otherwise).

    Why two windows: "gaussian" is the paper code's SSIM (zero 'same' padding, mean over the whole
    image); "matlab" is Wang et al.'s ssim_index.m as BasicSR's calculate_ssim: [0,255] scale,
    K1=0.01, K2=0.03, only fully-covered ("valid") windows, mean over channels. They differ at the
    borders, so a number is only comparable under the same window.
    """
    if window not in SSIM_WINDOWS:
        raise ClearerError(f"unknown SSIM window {window!r}; valid: {', '.join(SSIM_WINDOWS)}.")
    x, y, single = _as_batch(x, y, "ssim")
    # computed on [0,1] in float32: the SSIM ratio is unchanged by scaling images and constants
    # together (so the [0,255] MATLAB constants become K²), and float32 keeps it within 1e-6
    x, y = x.float(), y.float()
    if window == "matlab" and min(x.shape[-2:]) < 11:
        raise ClearerError(f"MATLAB-style SSIM needs images of at least 11x11, got {tuple(x.shape[-2:])}")
    value = _ssim_map(x, y, 0.01**2, 0.03**2, padding=5 if window == "gaussian" else 0)
    out = value.flatten(1).double().mean(1)
    return out[0] if single else out


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """ITU-R BT.601 luma 'Y' of RGB images in [0,1] ([3,H,W] or [B,3,H,W] -> one channel), in [16,235]/255.

    Why: deraining papers report PSNR/SSIM on this studio-swing Y (as MATLAB rgb2ycbcr):
    Y = 16 + 65.481 R + 128.553 G + 24.966 B on the 0-255 scale with R,G,B in [0,1]; the result is
    divided by 255 so it stays on the [0,1] scale used everywhere else. Not the same as PIL "L".
    """
    if x.dim() not in (3, 4) or x.shape[-3] != 3:
        raise ClearerError(f"rgb_to_y needs [3,H,W] or [B,3,H,W] RGB images, got shape {tuple(x.shape)}")
    coeffs = torch.tensor([65.481, 128.553, 24.966], dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (16.0 + (x * coeffs).sum(-3, keepdim=True)) / 255.0


def quantize8(x: torch.Tensor) -> torch.Tensor:
    """Clamp to [0,1] and round to the 256 levels of an 8-bit image (values stay on [0,1])."""
    return x.clamp(0.0, 1.0).mul(255.0).round().div(255.0)


def center_crop(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Centre-crop the last two dims of an image down to multiples of `multiple` (1: unchanged)."""
    if multiple <= 1:
        return x
    h, w = x.shape[-2:]
    nh, nw = h - h % multiple, w - w % multiple
    if nh == 0 or nw == 0:
        raise ClearerError(f"image {h}x{w} is smaller than the crop multiple {multiple}; use larger images.")
    top, left = (h - nh) // 2, (w - nw) // 2
    return x[..., top : top + nh, left : left + nw]


@dataclass(frozen=True)
class Protocol:
    """How noisy inputs are made and results measured; recorded next to every reported number.

    Why: the same network scores differently under clipped/quantised inputs, rounded outputs,
    cropped test images and SSIM windows, so numbers are only comparable under one named protocol.
    """

    name: str
    clip_input: bool
    quantize_input: bool
    quantize_output: bool
    crop_multiple: int
    ssim_window: str
    color: str = "rgb"  # what "psnr"/"ssim" of a colour image measure; the other space gets a suffix
    shave_scale: bool = False  # at scale s > 1 (super-resolution), shave s pixels from each border
    shave: int = 0  # pixels shaved from each border before measuring (set by `at_scale`)

    def at_scale(self, scale: int) -> Protocol:
        """This protocol for a network that upscales by `scale`: the clean image cropped to a multiple
        of it too (so the LR image is whole), and `scale` border pixels shaved where the protocol says so
        (as SR papers do: the borders a bicubic LR image lacks context for)."""
        if scale <= 1:
            return self
        crop = self.crop_multiple * scale // math.gcd(self.crop_multiple, scale)
        return replace(self, crop_multiple=crop, shave=scale if self.shave_scale else 0)

    def prepare(self, clean: torch.Tensor) -> torch.Tensor:
        """The clean test image as measured: centre-cropped to a multiple of `crop_multiple`."""
        return center_crop(clean, self.crop_multiple)

    def noise(self, sigma: float | list[float]) -> Any:
        """The gaussian degradation this protocol prescribes for the given sigma (0-255 scale)."""
        from .data.degradations import gaussian

        return gaussian(sigma, clip=self.clip_input, quantize=self.quantize_input)

    def postprocess(self, output: torch.Tensor) -> torch.Tensor:
        """Network output as measured: clamped to [0,1], rounded to 8 bits if the protocol says so."""
        return quantize8(output) if self.quantize_output else output.clamp(0.0, 1.0)

    def measure(
        self, output: torch.Tensor, clean: torch.Tensor, color: str = "rgb", postprocess: bool = True
    ) -> dict[str, float]:
        """PSNR (dB) and SSIM of a restored image (batch: the mean) against its clean version.

        `color="y"` measures 3-channel images on the BT.601 Y channel instead of RGB; `postprocess=False`
        measures the tensor as it is (degraded inputs: the noisy image a method receives).
        """
        if color not in COLORS:
            raise ClearerError(f"unknown color {color!r}; valid: {', '.join(COLORS)}.")
        out = (self.postprocess(output.detach()) if postprocess else output.detach()).double()
        ref = clean.detach().double()
        if color == "y" and out.shape[-3] == 3:
            out, ref = rgb_to_y(out), rgb_to_y(ref)
        if self.shave:
            b = self.shave
            out, ref = out[..., b:-b, b:-b], ref[..., b:-b, b:-b]
        return {
            "psnr": float(psnr(out, ref).mean()),
            "ssim": float(ssim(out, ref, window=self.ssim_window).mean()),
        }

    def as_dict(self) -> dict[str, Any]:
        """The protocol's fields, to store with metrics."""
        return asdict(self)


PROTOCOLS: dict[str, Protocol] = {
    # as the paper's code: noisy input clipped + 8-bit, output clipped, Gaussian-window SSIM, 64-crop
    "clearer": Protocol(
        "clearer", clip_input=True, quantize_input=True, quantize_output=False, crop_multiple=64, ssim_window="gaussian"
    ),
    # as DnCNN/KAIR/BasicSR: float unclipped noise, output rounded to 8 bits, MATLAB SSIM, no crop
    "standard": Protocol(
        "standard", clip_input=False, quantize_input=False, quantize_output=True, crop_multiple=1, ssim_window="matlab"
    ),
    # as SR papers (SRCNN, VDSR, EDSR): HR cropped to a multiple of the scale, output rounded to 8 bits,
    # PSNR/SSIM (MATLAB SSIM) on its BT.601 Y channel with `scale` pixels shaved from each border
    "sr": Protocol(
        "sr",
        clip_input=False,
        quantize_input=False,
        quantize_output=True,
        crop_multiple=1,
        ssim_window="matlab",
        color="y",
        shave_scale=True,
    ),
}


def get_protocol(name: str | Protocol) -> Protocol:
    """The named measurement protocol ("clearer", "standard" or "sr"); a Protocol is returned as is."""
    if isinstance(name, Protocol):
        return name
    if name in PROTOCOLS:
        return PROTOCOLS[name]
    raise ClearerError(
        f"unknown metric protocol {name!r}.{did_you_mean(str(name), PROTOCOLS)} Valid: {', '.join(PROTOCOLS)}."
    )
