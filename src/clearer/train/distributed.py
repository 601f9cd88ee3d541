"""Process-group helpers; with one process every function is a cheap no-op."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import torch
import torch.distributed as dist

from ..errors import ClearerError

TIMEOUT_ENV = "CLEARER_DDP_TIMEOUT"
DEFAULT_TIMEOUT_S = 300.0  # torch's default is 30 minutes: far too long to notice a stopped process


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


def timeout_seconds() -> float:
    """How long a process waits for the others in a collective ($CLEARER_DDP_TIMEOUT, seconds)."""
    text = os.environ.get(TIMEOUT_ENV, str(DEFAULT_TIMEOUT_S))
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ClearerError(
            f"{TIMEOUT_ENV}={text!r} must be a positive number of seconds (default {DEFAULT_TIMEOUT_S:g})."
        )
    return value


def _silent_ranks(grace: float = 5.0) -> list[int] | None:
    """Ranks that did not report within `grace` seconds after a collective failed (None: unknown).

    Why: every live process reaches this point when a collective times out; each leaves its mark in
    the rendezvous store, and whoever left none is the one that stopped.
    """
    try:
        store = dist.distributed_c10d._get_default_store()
        store.set_timeout(timedelta(seconds=grace))
        store.set(f"clearer/alive/{rank()}", "1")
        time.sleep(grace)
        return [r for r in range(world_size()) if not store.check([f"clearer/alive/{r}"])]
    except Exception:  # the store lives in rank 0: if rank 0 stopped, it cannot answer either
        return None


def _is_peer_failure(err: BaseException) -> bool:
    text = str(err).lower()
    return any(w in text for w in ("timed out", "timeout", "connection closed", "connection reset", "broken pipe"))


@contextmanager
def process_group() -> Iterator[None]:
    """Join the process group when launched by torchrun (gloo on CPU, nccl on GPU); else nothing.

    A collective that waits longer than $CLEARER_DDP_TIMEOUT (default 5 minutes) ends the run with an
    error naming the process that stopped; checkpoints of finished epochs stay, so --resume continues.
    """
    if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) < 2 or active():
        yield
        return
    timeout = timeout_seconds()
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout))
    me = rank()
    try:
        yield
    except RuntimeError as err:
        if not _is_peer_failure(err):
            raise
        silent = _silent_ranks()
        who = (
            f"rank {', '.join(map(str, silent))} stopped answering"
            if silent
            else "rank 0 (which holds the rendezvous store) stopped answering"
            if silent is None and me != 0
            else "another process stopped answering"
        )
        raise ClearerError(
            f"rank {me}: {who}: a collective waited more than {timeout:g} s ({TIMEOUT_ENV}) or lost its "
            f"peer ({str(err).strip().splitlines()[0][:200]}). Check that process (killed, stopped, out of "
            "memory?); finished epochs are checkpointed, so rerun with --resume."
        ) from None
    finally:
        try:
            dist.destroy_process_group()
        except Exception:  # a broken group cannot always be torn down cleanly; the process ends anyway
            pass
