"""Endless, seeded streams of (degraded, clean) training batches: crop, then degrade, all batched."""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from ..data.patches import PatchSampler


class PairStream:
    """Clean patches degraded on the fly with their own seeded generator, or crops of real pairs.

    Without a degradation, each image holds input and target stacked along channels (see
    `stack_pairs`), so one crop cuts both at the same place and one augmentation moves both.
    """

    def __init__(self, images: list[Tensor], degrade: Callable[..., Tensor] | None, patch: int, batch: int,
                 seed: int, device: torch.device, channels_last: bool = False,
                 rank: int = 0, world: int = 1) -> None:
        # every process draws the same global batch (batch x world) and keeps its own slice: N processes
        # see N x the data, and a single process with the global batch sees exactly the same patches
        # crops and noise are drawn where training runs on a GPU (the CPU streams are as before)
        home = device if torch.device(device).type == "cuda" else "cpu"
        self.sampler = PatchSampler(images, patch, batch * world, seed, device=home)
        self.part = slice(rank * batch, (rank + 1) * batch)
        self.degrade = degrade
        self.noise = torch.Generator(device=home).manual_seed(seed + 1)
        self.device = device
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def __next__(self) -> tuple[Tensor, Tensor]:
        crops = self.sampler.sample()
        if self.degrade is None:
            degraded, clean = crops.chunk(2, dim=1)
        else:
            clean, degraded = crops, self.degrade(crops, self.noise)
        degraded, clean = degraded[self.part], clean[self.part]
        move = lambda t: t.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)  # noqa: E731
        return move(degraded), move(clean)

    def describe(self) -> str:
        """What the inputs are: real pairs, or the degradation applied to clean crops."""
        return "real pairs" if self.degrade is None else self.degrade.describe()

    def __iter__(self) -> "PairStream":
        return self

    def state_dict(self) -> dict[str, Any]:
        return {"sampler": self.sampler.state_dict(), "noise": self.noise.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampler.load_state_dict(state["sampler"])
        self.noise.set_state(state["noise"])


def stack_pairs(pairs: list[tuple[Tensor, Tensor]]) -> list[Tensor]:
    """(input, target) pairs as single [2C,H,W] images, for joint cropping."""
    return [torch.cat([inp, target], dim=0) for inp, target in pairs]


def make_stream(dataset: Any, degrade: Callable[..., Tensor], channels: int, patch: int, batch: int,
                seed: int, device: torch.device, channels_last: bool) -> PairStream:
    """This process's training stream: real pairs when the dataset is paired, else clean images +
    degradation; `batch` is per process."""
    from . import distributed as D
    shard = dict(rank=D.rank(), world=D.world_size())
    if getattr(dataset, "paired", False):
        return PairStream(stack_pairs(dataset.load(channels)), None, patch, batch, seed, device,
                          channels_last, **shard)
    return PairStream(dataset.load(channels), degrade, patch, batch, seed, device, channels_last, **shard)
