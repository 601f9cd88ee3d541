"""Endless, seeded streams of (degraded, clean) training batches: crop, then split into pairs, all batched."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..contracts import Degradation
from ..train import distributed
from .datasets import ImageSet
from .paired import PairSource, as_pairs
from .patches import PatchSampler


class PairStream:
    """Crops of a pair source's images, split into (input, target): a degradation on clean crops draws
    from the stream's own seeded generator; real pairs are cropped as one stacked image."""

    def __init__(
        self,
        source: PairSource,
        channels: int,
        patch: int,
        batch: int,
        seed: int,
        device: torch.device,
        channels_last: bool = False,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        # every process draws the same global batch (batch x world) and keeps its own slice: N processes
        # see N x the data, and a single process with the global batch sees exactly the same patches
        # crops and noise are drawn where training runs on a GPU (the CPU streams are as before)
        home = device if torch.device(device).type == "cuda" else "cpu"
        self.source = source
        self.sampler = PatchSampler(source.images(channels), patch, batch * world, seed, device=home)
        self.part = slice(rank * batch, (rank + 1) * batch)
        self.noise = torch.Generator(device=home).manual_seed(seed + 1)
        self.device = device
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def __next__(self) -> tuple[Tensor, Tensor]:
        degraded, clean = self.source.split(self.sampler.sample(), self.noise)
        degraded, clean = degraded[self.part], clean[self.part]
        move = lambda t: t.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)  # noqa: E731
        return move(degraded), move(clean)

    def describe(self) -> str:
        """What the inputs are: real pairs, or the degradation applied to clean crops."""
        return self.source.describe()

    def __iter__(self) -> PairStream:
        return self

    def state_dict(self) -> dict[str, Any]:
        return {"sampler": self.sampler.state_dict(), "noise": self.noise.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampler.load_state_dict(state["sampler"])
        self.noise.set_state(state["noise"])


def make_stream(
    dataset: PairSource | ImageSet,
    degrade: Degradation,
    channels: int,
    patch: int,
    batch: int,
    seed: int,
    device: torch.device,
    channels_last: bool,
) -> PairStream:
    """This process's training stream of the dataset's pairs (clean images degraded by `degrade`);
    `batch` is per process."""
    return PairStream(
        as_pairs(dataset, degrade),
        channels,
        patch,
        batch,
        seed,
        device,
        channels_last,
        rank=distributed.rank(),
        world=distributed.world_size(),
    )
