"""Super-resolution data: the bicubic downscale that makes LR inputs, and the SR benchmark sets.

- `bicubic` (DEGRADATIONS): clean HR crops -> their MATLAB-bicubic ×1/scale LR versions, 8-bit;
- `set5`, `set14` (DATASETS): the benchmarks' own HR/LR files (CLEARER_DATA/SR, as released with
  SelfExSR), so inputs are exactly the published ones;
- `bsd100` (DATASETS): the BSDS500 val split (the 100 test images of BSDS300), clean; its LR inputs are
  made by the recipe's `bicubic` degradation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from ..errors import ClearerError
from ..registry import DATASETS, DEGRADATIONS
from .bicubic import imresize
from .datasets import ImageSet, bsds500, check_limit
from .images import data_root, list_images, read_image

SR_FOLDER = "SR"
SR_SCALES = (2, 3, 4)


def check_scale(scale: object) -> int:
    """A super-resolution factor: an integer >= 2."""
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 2:
        raise ClearerError(
            f"super-resolution scale must be an integer >= 2 (2, 3 or 4 in the benchmarks), got {scale!r}"
        )
    return scale


@dataclass(frozen=True)
class BicubicDownscale:
    """HR images -> LR images `scale` times smaller by MATLAB's bicubic `imresize` (8-bit when quantized)."""

    scale: int
    quantize: bool = True

    def __call__(self, clean: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Downscale a clean [B,C,H,W] (or [C,H,W]) batch in [0,1]; H and W must be multiples of scale."""
        height, width = clean.shape[-2:]
        if height % self.scale or width % self.scale:
            raise ClearerError(
                f"bicubic ×1/{self.scale}: the image is {width}x{height} (WxH), not a multiple of {self.scale}; "
                f"crop it to one first (the `sr` protocol does; training patches must be multiples of {self.scale})."
            )
        return imresize(clean, 1.0 / self.scale, quantize=self.quantize).to(clean.dtype)

    def describe(self) -> str:
        return f"MATLAB bicubic ×1/{self.scale} downscale, {'8-bit' if self.quantize else 'float'}"


@DEGRADATIONS.register("bicubic")
def bicubic(scale: int = 2, quantize: bool = True) -> BicubicDownscale:
    """Bicubic downscaling by `scale` as MATLAB's imresize, the LR images of every SR benchmark.

    Why 8-bit by default: the benchmarks' LR files are 8-bit images, so the network trains on inputs
    rounded as its test inputs are. A recipe with this degradation gets a network that upscales by
    `scale` (engine/build.py passes it to the space)."""
    return BicubicDownscale(check_scale(scale), bool(quantize))


@dataclass
class SRPairs:
    """(LR file, HR file) pairs of an SR benchmark at one scale; read only by `images`/`load`.

    Each pair is one [2C,H,W] image (HR, and LR with every pixel repeated scale x scale), so a crop
    at offsets that are multiples of `scale` cuts both alike; `split` takes the LR pixels back."""

    name: str
    scale: int
    pairs: list[tuple[Path, Path]] = field(default_factory=list)

    @property
    def inputs(self) -> list[Path]:
        return [lr for lr, _ in self.pairs]

    @property
    def paths(self) -> list[Path]:
        """The HR files, so `datasets.overlapping` / `image_identity` see the pictures."""
        return [hr for _, hr in self.pairs]

    def __len__(self) -> int:
        return len(self.pairs)

    def describe(self) -> str:
        return f"the benchmark's bicubic ×1/{self.scale} LR files"

    def load(self, channels: int) -> list[tuple[Tensor, Tensor]]:
        """(LR, HR) [C,H,W] tensors in [0,1]; HR must be exactly `scale` times the LR."""
        out = []
        for lr_path, hr_path in self.pairs:
            lr, hr = read_image(lr_path, channels), read_image(hr_path, channels)
            if tuple(hr.shape[-2:]) != (lr.shape[-2] * self.scale, lr.shape[-1] * self.scale):
                raise ClearerError(
                    f"{hr_path} is {tuple(hr.shape[-2:])} but its LR file {lr_path} is {tuple(lr.shape[-2:])}: "
                    f"not ×{self.scale}. Restore the SR folder from the data distribution."
                )
            out.append((lr, hr))
        return out

    def images(self, channels: int) -> list[Tensor]:
        s = self.scale
        return [torch.cat([hr, lr.repeat_interleave(s, -2).repeat_interleave(s, -1)]) for lr, hr in self.load(channels)]

    def split(self, batch: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        hr, lr = batch.chunk(2, dim=-3)
        return lr[..., :: self.scale, :: self.scale].contiguous(), hr


def _sr_benchmark(folder: str, scale: int, limit: int | None) -> SRPairs:
    check_scale(scale)
    check_limit(limit)
    if scale not in SR_SCALES:
        raise ClearerError(f"{folder} has LR files for scales {', '.join(map(str, SR_SCALES))}, not {scale}.")
    root = data_root() / SR_FOLDER / folder / f"image_SRF_{scale}"
    hrs = [p for p in list_images(root) if p.stem.endswith("_HR")]
    pairs = []
    for hr in hrs:
        lr = hr.with_name(hr.name.replace("_HR", "_LR"))
        if not lr.is_file():
            raise ClearerError(
                f"{hr} has no LR partner: expected {lr}. Restore the SR folder from the data distribution."
            )
        pairs.append((lr, hr))
    pairs = pairs if limit is None else pairs[:limit]
    return SRPairs(f"{folder.lower()}-x{scale}", scale, pairs)


@DATASETS.register("set5")
def set5(scale: int = 2, limit: int | None = None) -> SRPairs:
    """Set5 (5 images) with its MATLAB-bicubic LR files for ×2/×3/×4 (CLEARER_DATA/SR/Set5).

    Why the shipped LR files and not our own: the published tables were measured on them."""
    return _sr_benchmark("Set5", scale, limit)


@DATASETS.register("set14")
def set14(scale: int = 2, limit: int | None = None) -> SRPairs:
    """Set14 (14 images, one gray) with its MATLAB-bicubic LR files for ×2/×3/×4 (CLEARER_DATA/SR/Set14)."""
    return _sr_benchmark("Set14", scale, limit)


@DATASETS.register("bsd100")
def bsd100(limit: int | None = None) -> ImageSet:
    """BSD100, the third SR benchmark: the 100 BSDS500 val images (BSDS300's test split), clean; the LR
    inputs come from the recipe's degradation (`bicubic`), as the published ones were made."""
    images = bsds500("val", limit=limit)
    return ImageSet("bsd100", images.paths)
