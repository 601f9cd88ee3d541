"""Process-group helpers; with one process every function is a cheap no-op."""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.distributed as dist


def active() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    return rank() == 0


def barrier() -> None:
    """Wait for every process (e.g. all have checked a folder before rank 0 writes into it)."""
    if active():
        dist.barrier()


def average_(tensors: list[torch.Tensor]) -> None:
    """All-reduce-average in place (architecture gradients, metric sums)."""
    if not active():
        return
    for t in tensors:
        dist.all_reduce(t)
        t.div_(world_size())


def sum_values(values: dict[str, float]) -> dict[str, float]:
    """Sum a dict of floats over ranks (every rank passes the same keys, in the same order)."""
    if not active():
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64)
    dist.all_reduce(t)
    return dict(zip(keys, t.tolist()))


def gather_lists(items: list) -> list:
    """Every process's list, concatenated in rank order (the list itself with one process)."""
    if not active():
        return items
    parts: list = [None] * world_size()
    dist.all_gather_object(parts, items)
    return [item for part in parts for item in part]


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DDP around the network's weights (BatchNorm made global) when several processes run; else the model."""
    if not active():
        return model
    from torch.nn.parallel import DistributedDataParallel
    from ..nn.sync_bn import globalize_batchnorm
    globalize_batchnorm(model)  # batch statistics over all processes, as one process with the global batch
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids, broadcast_buffers=True, find_unused_parameters=True)


@contextmanager
def process_group() -> Iterator[None]:
    """Join the process group when launched by torchrun (gloo on CPU, nccl on GPU); else nothing."""
    if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) < 2 or active():
        yield
        return
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group(backend)
    try:
        yield
    finally:
        dist.destroy_process_group()
