"""Random training patches cut from many images of different sizes as batched tensor ops."""

from __future__ import annotations

from typing import Any

import torch
from einops import rearrange

from ..errors import ClearerError


def _to_landscape(image: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """Rotate a portrait [C,H,W] image by 90° so H <= W; returns (image, rotated?)."""
    if image.shape[-2] > image.shape[-1]:
        return torch.rot90(image, 1, (-2, -1)), True
    return image, False


def _stack_padded(images: list[torch.Tensor]) -> torch.Tensor:
    """Zero-pad [C,h,w] images at the bottom/right into one [N,C,Hmax,Wmax] tensor."""
    height = max(i.shape[-2] for i in images)
    width = max(i.shape[-1] for i in images)
    out = images[0].new_zeros((len(images), images[0].shape[0], height, width))
    for n, img in enumerate(images):
        out[n, :, : img.shape[-2], : img.shape[-1]] = img
    return out


def _where(mask: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-sample choice between two [B,C,H,W] tensors."""
    return torch.where(rearrange(mask, "b -> b 1 1 1"), a, b)


def dihedral(batch: torch.Tensor, transpose: torch.Tensor, hflip: torch.Tensor, vflip: torch.Tensor) -> torch.Tensor:
    """Apply per-sample transpose / horizontal / vertical flips to square [B,C,P,P] patches.

    The three booleans together reach all 8 flips/90° rotations.
    """
    batch = _where(transpose, batch.transpose(-2, -1), batch)
    batch = _where(hflip, batch.flip(-1), batch)
    return _where(vflip, batch.flip(-2), batch)


class PatchSampler:
    """Draws seeded batches of random square crops (with optional flips/rotations) from in-memory images.

    Why: images are padded into one tensor once (portrait ones turned landscape, so padding stays
    small) and every batch is a single gather, so no per-patch Python or PIL work slows training.
    The generator state can be saved, so a resumed run continues the same stream of patches.
    """

    def __init__(
        self,
        images: list[torch.Tensor],
        patch: int,
        batch: int,
        seed: int,
        augment: bool = True,
        device: torch.device | str = "cpu",
    ) -> None:
        if not images:
            raise ClearerError("PatchSampler needs at least one image; the dataset is empty.")
        if patch < 1 or batch < 1:
            raise ClearerError(f"patch and batch must be positive, got patch={patch}, batch={batch}")
        channels = {int(i.shape[0]) for i in images}
        if len(channels) != 1 or any(i.dim() != 3 for i in images):
            raise ClearerError(
                f"PatchSampler needs [C,H,W] images with one channel count, got shapes "
                f"{sorted({tuple(i.shape) for i in images})[:4]}"
            )
        smallest = min(images, key=lambda i: min(i.shape[-2:]))
        if patch > min(smallest.shape[-2:]):
            raise ClearerError(
                f"patch size {patch} is larger than the smallest image "
                f"({smallest.shape[-2]}x{smallest.shape[-1]}); use patch <= {min(smallest.shape[-2:])} "
                "or drop the small images."
            )
        # on a GPU the images, the generator and every crop stay there: no host work or copy per batch
        turned = [_to_landscape(i) for i in images]
        self.data = _stack_padded([t for t, _ in turned]).to(device)
        self.rotated = torch.tensor([r for _, r in turned], device=device)
        self.heights = torch.tensor([t.shape[-2] for t, _ in turned], device=device)
        self.widths = torch.tensor([t.shape[-1] for t, _ in turned], device=device)
        self.patch, self.batch, self.seed, self.augment = patch, batch, seed, augment
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self._offsets = torch.arange(patch, device=device)

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def sample(self) -> torch.Tensor:
        """One [batch, C, patch, patch] batch of random crops (augmented if enabled)."""
        g, p, dev = self.generator, self.patch, self.data.device
        idx = torch.randint(len(self), (self.batch,), generator=g, device=dev)
        top = (torch.rand(self.batch, generator=g, device=dev) * (self.heights[idx] - p + 1)).long()
        left = (torch.rand(self.batch, generator=g, device=dev) * (self.widths[idx] - p + 1)).long()
        # one gather: indices broadcast to [batch, channel, row, column]
        rows = rearrange(top[:, None] + self._offsets, "b p -> b 1 p 1")
        cols = rearrange(left[:, None] + self._offsets, "b p -> b 1 1 p")
        chans = rearrange(torch.arange(self.data.shape[1], device=dev), "c -> 1 c 1 1")
        out = self.data[rearrange(idx, "b -> b 1 1 1"), chans, rows, cols]
        # crops from images turned landscape are turned back, so augment=False sees original orientation
        out = _where(self.rotated[idx], torch.rot90(out, -1, (-2, -1)), out)
        if self.augment:
            flags = torch.rand((3, self.batch), generator=g, device=dev) < 0.5
            out = dihedral(out, flags[0], flags[1], flags[2])
        return out.contiguous()

    def state_dict(self) -> dict[str, Any]:
        """Generator state and settings, so a resumed run draws the same patches as an unbroken one."""
        return {"generator": self.generator.get_state(), "seed": self.seed, "patch": self.patch, "batch": self.batch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the generator state saved by `state_dict`."""
        if state.get("patch", self.patch) != self.patch or state.get("batch", self.batch) != self.batch:
            raise ClearerError(
                f"patch sampler state was saved with patch={state.get('patch')}, batch={state.get('batch')} "
                f"but this run uses patch={self.patch}, batch={self.batch}; resume with the same settings."
            )
        self.generator.set_state(state["generator"])
