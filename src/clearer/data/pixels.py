"""What a pixel means: the one set of rules turning PIL images, numpy arrays and tensors into float
images in [0, 1] (and restored images back into the caller's kind).

Why one module: every reader (data sets, `clearer restore`, `model.restore`, `clearer export --image`)
must agree on what an input shows, so a 16-bit, rotated, translucent or NaN-holding image is either
converted by its true range or refused with the reason, never silently read as another image.

The rules (docs/api.md, "Accepted images"):
- EXIF orientation is applied, as viewers do; a file with several frames (animated GIF, multi-page
  TIFF) is refused.
- 8-bit modes (1, L, P, RGB, RGBX, CMYK, YCbCr) through PIL's own conversion, /255; 16-bit gray
  (I;16*, and mode I read from a PNG or PGM) /65535; F (float) as is; other 32-bit integer images refused.
- Integer arrays and tensors: uint8 /255, uint16 /65535; floats (16/32/64-bit) as is; every other dtype
  (bool, signed integers, uint32/64, complex, object) refused.
- Float values must be finite and within [0, 1]; a refusal gives the count and the first position.
- Alpha (a mode with A, or one channel more than the model takes) is kept: the colour is restored and
  the original alpha written back unchanged. Data sets refuse translucent images instead (what they
  show depends on the background); an alpha that is opaque everywhere is dropped, losing nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from einops import rearrange
from PIL import Image, ImageOps

from ..errors import ClearerTypeError, ClearerValueError

EIGHT_BIT_MODES = ("1", "L", "P", "RGB", "RGBX", "CMYK", "YCbCr", "LA", "PA", "La", "RGBA", "RGBa")
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
SIXTEEN_BIT_AS_I = ("PNG", "PPM")  # formats PIL reads 16-bit gray from as mode I, scaled to 0-65535
ACCEPTED_MODES = (*EIGHT_BIT_MODES, *SIXTEEN_BIT_MODES, "I (16-bit PNG, PGM)", "F (values in [0, 1])")
# dtype kind and size -> the value that means white; floats mean themselves
INTEGER_WHITE = {("u", 1): 255.0, ("u", 2): 65535.0}
ACCEPTED_DTYPES = "uint8 (0-255), uint16 (0-65535), float16/bfloat16/float32/float64 (values in [0, 1])"


@dataclass
class Pixels:
    """Float32 [B, C, H, W] colour in [0, 1] and, where the input had one, its alpha [B, 1, H, W]."""

    colour: torch.Tensor
    alpha: torch.Tensor | None = None


def check_values(x: torch.Tensor, where: str) -> None:
    """Refuse NaN/inf and values outside [0, 1], with the count and the first position (as the caller
    indexes its own array)."""
    for bad, what, fix in (
        (~torch.isfinite(x), "NaN or infinite", "replace them (e.g. np.nan_to_num)"),
        ((x < 0) | (x > 1), "outside [0, 1]", "scale the image to [0, 1] or clip it (e.g. .clip(0, 1))"),
    ):
        count = int(bad.sum())
        if count:
            first = tuple(int(i) for i in bad.nonzero()[0])
            raise ClearerValueError(
                f"{where} has {count} {what} value(s) of {x.numel()}, the first at index {first} "
                f"({float(x[first])!r}); {fix}. Float pixels must lie in [0, 1]."
            )


def _white(dtype: np.dtype, where: str) -> float:
    if dtype.kind == "f":
        return 1.0
    if (dtype.kind, dtype.itemsize) in INTEGER_WHITE:
        return INTEGER_WHITE[dtype.kind, dtype.itemsize]
    raise ClearerTypeError(
        f"{where} has dtype {dtype}, which clearer does not read as pixels; accepted: {ACCEPTED_DTYPES}."
    )


def _numpy_dtype(tensor: torch.Tensor, where: str) -> np.dtype:
    """The numpy dtype with the same range rule as a tensor's dtype (bfloat16 reads as float32)."""
    if tensor.dtype == torch.bfloat16:
        return np.dtype(np.float32)
    try:
        return torch.empty(0, dtype=tensor.dtype).numpy().dtype
    except (TypeError, RuntimeError):
        raise ClearerTypeError(
            f"{where} has dtype {tensor.dtype}, which clearer does not read as pixels; accepted: {ACCEPTED_DTYPES}."
        ) from None


def from_array(
    array: np.ndarray | torch.Tensor, channels: int, where: str = "the image"
) -> tuple[Pixels, Callable[[Pixels], Any]]:
    """Pixels of an array ([H,W] or [H,W,C]) or tensor ([C,H,W] or [B,C,H,W]) with C = `channels`, or
    one more for alpha; and the function turning restored pixels back into the same kind, shape and dtype.
    """
    is_tensor = isinstance(array, torch.Tensor)
    if is_tensor and (array.layout != torch.strided or array.device.type == "meta"):
        raise ClearerTypeError(
            f"{where} is a {array.layout} tensor on {array.device}, which holds no plain pixels; give a dense "
            "tensor with data (e.g. .to_dense())."
        )
    dtype = _numpy_dtype(array, where) if is_tensor else array.dtype
    white = _white(dtype, where)
    if is_tensor:
        if array.dim() not in (3, 4) or array.shape[-3] not in (channels, channels + 1):
            raise ClearerValueError(
                f"{where}: the model takes [C,H,W] or [B,C,H,W] tensors with C={channels} "
                f"(or {channels + 1} with alpha); got shape {tuple(array.shape)}."
            )
        source = array.detach().cpu()
        source = (source.float() if source.dtype == torch.bfloat16 else source).numpy()
    else:
        gray = array.ndim == 2 and channels == 1
        if not gray and (array.ndim != 3 or array.shape[2] not in (channels, channels + 1)):
            raise ClearerValueError(
                f"{where}: the model takes {channels}-channel images (H x W{' x 3' if channels == 3 else ''}, "
                f"one channel more with alpha); got an array of shape {array.shape}. Convert the image first."
            )
        source = array
    if 0 in array.shape:
        raise ClearerValueError(f"{where} is empty (shape {tuple(array.shape)}); give an image of at least 1x1 pixels.")
    values = torch.from_numpy(np.array(source, dtype=np.float32))  # a copy, in the caller's own layout
    if white == 1.0:
        check_values(values, where)
    if is_tensor:
        x = values[None] if array.dim() == 3 else values
    else:
        x = rearrange(values[:, :, None] if array.ndim == 2 else values, "h w c -> 1 c h w")
    x = x / white
    pixels = Pixels(x[:, :channels], x[:, channels:] if x.shape[1] > channels else None)

    def back(restored: Pixels) -> Any:
        y = restored.colour.clamp(0, 1)
        y = torch.cat([y, restored.alpha], 1) if restored.alpha is not None else y
        out = y.mul(white).round().numpy() if white != 1.0 else y.numpy()
        if is_tensor:
            result = torch.from_numpy(out.astype(dtype)).to(array.device)
            return (result[0] if array.dim() == 3 else result).to(array.dtype)
        hwc_out = rearrange(out[0], "c h w -> h w c")
        return (hwc_out[:, :, 0] if array.ndim == 2 else hwc_out).astype(dtype)

    return pixels, back


def from_pil(img: Image.Image, channels: int, where: str = "the image") -> Pixels:
    """Pixels of a PIL image as it is displayed (EXIF orientation applied), by the rules above."""
    try:
        img.load()  # a lazily opened file decodes here: a damaged one fails with its reason
        frames = getattr(img, "n_frames", 1)
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ClearerValueError(
            f"cannot read {where}: {exc}. The file is corrupt or not an image; replace it or leave it out."
        ) from None
    if frames > 1:
        raise ClearerValueError(
            f"{where} holds {frames} frames (an animation or a multi-page file); clearer restores single "
            "images. Save the frame you want as its own file (e.g. PIL: img.seek(i); img.save('frame.png'))."
        )
    if 0 in img.size:
        raise ClearerValueError(f"{where} is empty ({img.width}x{img.height} pixels); give an image of at least 1x1.")
    stored_as = img.format  # the copy exif_transpose makes has none
    img = ImageOps.exif_transpose(img) or img
    mode = img.mode
    if mode in SIXTEEN_BIT_MODES or (mode == "I" and stored_as in SIXTEEN_BIT_AS_I):
        gray = torch.from_numpy(np.asarray(img).astype(np.float32) / np.float32(65535.0))
        return Pixels(gray.expand(channels, -1, -1)[None].contiguous())
    if mode == "F":
        gray = torch.from_numpy(np.array(img, dtype=np.float32))
        check_values(gray, where)
        return Pixels(gray.expand(channels, -1, -1)[None].contiguous())
    translucent = "A" in mode or "a" in mode or (mode in ("P", "L", "RGB") and "transparency" in img.info)
    if mode not in EIGHT_BIT_MODES:
        raise ClearerTypeError(
            f"{where} has PIL mode {mode}, whose white level clearer does not know; accepted modes: "
            f"{', '.join(ACCEPTED_MODES)}. Save it as an 8- or 16-bit PNG."
        )
    alpha = None
    if translucent:
        rgba = img.convert("LA" if mode == "La" else mode).convert("RGBA")  # premultiplied La: via LA
        alpha = _eight_bit(rgba.getchannel("A"))[None, None]
        img = rgba
    colour = _eight_bit(img.convert("L" if channels == 1 else "RGB"))
    colour = colour[None, None] if colour.dim() == 2 else rearrange(colour, "h w c -> 1 c h w")
    return Pixels(colour.contiguous(), None if alpha is None or bool((alpha == 1).all()) else alpha)


def _eight_bit(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / np.float32(255.0))


def to_pil(pixels: Pixels) -> Image.Image:
    """8-bit L or RGB (LA or RGBA with alpha) PIL image of the first image of restored pixels."""
    y = pixels.colour[0].clamp(0, 1)
    y = torch.cat([y, pixels.alpha[0]]) if pixels.alpha is not None else y
    array = y.mul(255).round().to(torch.uint8)
    return Image.fromarray(array[0].numpy() if array.shape[0] == 1 else rearrange(array, "c h w -> h w c").numpy())
