"""Image files <-> float tensors in [0,1], and where the benchmark data lives (CLEARER_DATA)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from einops import rearrange
from PIL import Image, UnidentifiedImageError

from ..errors import ClearerError
from .pixels import Pixels, from_pil, to_pil

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def data_root() -> Path:
    """The benchmark data folder named by the CLEARER_DATA environment variable, as an absolute path.

    Why: library code must never hard-code where the data lives; one variable points at it. A relative
    value (`export CLEARER_DATA=../data`) is resolved here, once, against the current folder, so
    paths built from it never join it twice. A relative dataset `path=` is read under this folder.
    """
    value = os.environ.get("CLEARER_DATA")
    if not value:
        raise ClearerError(
            "CLEARER_DATA is not set. Set it to the folder holding the benchmark images "
            "(BSDS500/, Train400/, BSD68/, Set12/ ...), e.g. `export CLEARER_DATA=/path/to/data`; "
            "`clearer data fetch NAME` downloads a dataset there on machines with internet."
        )
    root = Path(value).expanduser().resolve()
    if not root.is_dir():
        raise ClearerError(
            f"CLEARER_DATA points at {root}, which is not a folder. Create it or point CLEARER_DATA at "
            "the folder holding the benchmark images; `clearer data fetch NAME` downloads a dataset "
            "there on machines with internet."
        )
    return root


def read_pixels(path: str | Path, channels: int) -> Pixels:
    """Read an image file as it is displayed: float32 colour [1,C,H,W] in [0,1] (C=1: ITU-R 601 luma,
    C=3: RGB) and its alpha, if translucent (the rules are in data/pixels.py)."""
    if channels not in (1, 3):
        raise ClearerError(f"channels must be 1 (gray) or 3 (RGB), got {channels!r}")
    path = Path(path)
    if not path.is_file():
        raise ClearerError(f"image file {path} does not exist (or is not a file); check the path.")
    try:
        with Image.open(path) as img:
            return from_pil(img, channels, f"image file {path}")
    except Image.DecompressionBombError as exc:
        raise ClearerError(
            f"refusing to read image file {path}: {exc} Such a size is usually a decompression bomb; if "
            "the image is genuine, split it into tiles first."
        ) from None
    except ClearerError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ClearerError(
            f"cannot read image file {path}: {exc}. The file is corrupt or not an image; "
            "replace it (re-download the dataset) or remove it from the folder."
        ) from None


def read_image(path: str | Path, channels: int) -> torch.Tensor:
    """Read an image file as a float32 [C,H,W] tensor in [0,1] (C=1: ITU-R 601 luma, C=3: RGB).

    Why: every dataset goes through one decoder so gray conversion matches the paper code (PIL "L").
    A translucent image is refused: what it shows depends on the background it is drawn on.
    """
    pixels = read_pixels(path, channels)
    if pixels.alpha is not None:
        raise ClearerError(
            f"image file {path} is translucent (its alpha channel is not opaque everywhere), so what it shows "
            "depends on the background; flatten it onto the background you mean and save it without alpha."
        )
    return pixels.colour[0]


def to_uint8(tensor: torch.Tensor) -> np.ndarray:
    """[C,H,W] float tensor in [0,1] -> [H,W] or [H,W,3] uint8 array (clamped, rounded)."""
    if tensor.dim() != 3 or tensor.shape[0] not in (1, 3):
        raise ClearerError(f"expected an image tensor [C,H,W] with C=1 or 3, got shape {tuple(tensor.shape)}")
    array = tensor.detach().float().cpu().clamp(0, 1).mul(255).round().to(torch.uint8)
    return rearrange(array, "1 h w -> h w" if tensor.shape[0] == 1 else "c h w -> h w c").numpy()


def save_image(path: str | Path, tensor: torch.Tensor, alpha: torch.Tensor | None = None, **checks: Any) -> Path:
    """Write a [C,H,W] tensor in [0,1] as an 8-bit PNG (clamped and rounded), with `alpha` [1,H,W] when
    given, atomically; returns the path. `checks` go to `writing.write_file` (replace, inputs, inside).

    Why: results and sample pictures are saved exactly as they would be measured under 8-bit output.
    """
    from ..writing import write_file

    image = to_pil(Pixels(tensor[None], None if alpha is None else alpha[None]))
    return write_file(path, lambda tmp: image.save(tmp, format="PNG"), **checks)


def list_images(folder: str | Path) -> list[Path]:
    """Sorted image files (png/jpg/jpeg/bmp/tif) directly inside a folder.

    Why: a sorted listing makes datasets, and hence seeded runs, identical across machines.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ClearerError(
            f"image folder {folder} does not exist. Check CLEARER_DATA / the path, or run "
            "`clearer data fetch NAME` on a machine with internet."
        )
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ClearerError(
            f"image folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)}); "
            "point at the folder that contains the image files."
        )
    return paths
