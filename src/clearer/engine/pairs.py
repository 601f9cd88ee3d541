"""Endless, seeded streams of (degraded, clean) training batches: crop, then degrade, all batched."""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from ..data.patches import PatchSampler


class PairStream:
    """Clean patches from a PatchSampler, degraded on the fly with their own seeded generator."""

    def __init__(self, images: list[Tensor], degrade: Callable[..., Tensor], patch: int, batch: int,
                 seed: int, device: torch.device, channels_last: bool = False) -> None:
        self.sampler = PatchSampler(images, patch, batch, seed)
        self.degrade = degrade
        self.noise = torch.Generator().manual_seed(seed + 1)
        self.device = device
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def __next__(self) -> tuple[Tensor, Tensor]:
        clean = self.sampler.sample()
        degraded = self.degrade(clean, self.noise)
        move = lambda t: t.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)  # noqa: E731
        return move(degraded), move(clean)

    def __iter__(self) -> "PairStream":
        return self

    def state_dict(self) -> dict[str, Any]:
        return {"sampler": self.sampler.state_dict(), "noise": self.noise.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampler.load_state_dict(state["sampler"])
        self.noise.set_state(state["noise"])
