"""Which device and precision a run uses, and how training steps run there: compiled or eager, bf16
autocast, TF32, fused optimisers (the measured choices).

Why these defaults (`benchmarks/search_step.py` measures each of them on the machine at hand):
- compile (`compile="auto"`): on CUDA, where the paper-size steps are launch-bound (eager on an H200:
  0.10 s per search step, 0.025 s per retrain step, a small fraction of its TF32 peak), with CUDA
  graphs ("reduce-overhead"): the shapes of training batches never change. Not on the CPU: there the convolutions already run at
  the bf16 matmul peak, a compiled quick-profile retrain step measured 1.5x slower than eager and
  compiling took minutes, more than a quick run could save. `compile="on"` forces it anywhere.
- TF32 for float32 matmuls and convolutions on CUDA (cuDNN convolutions use it by default already).
- fused optimisers on CUDA only: one kernel over all parameters. On the CPU the quick network's Adam
  step was 1.7 ms fused vs 10.7 ms for-each, but a resumed run then drifted from an unbroken one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ClearerError

COMPILE_SETTINGS = ("auto", "off", "on")


def use_compile(setting: str, device: torch.device) -> bool:
    """Resolve the recipe's `compile` setting: 'auto' compiles on CUDA only (see the module docstring)."""
    if setting not in COMPILE_SETTINGS:
        raise ClearerError(f"compile={setting!r} is not a valid setting; use one of {', '.join(COMPILE_SETTINGS)}.")
    return device.type == "cuda" if setting == "auto" else setting == "on"


def compile_mode(device: torch.device, distributed: bool = False) -> str | None:
    """torch.compile mode: CUDA graphs on a single GPU (static training shapes), plain Inductor otherwise."""
    return "reduce-overhead" if device.type == "cuda" and not distributed else None


@contextmanager
def compiled(module: nn.Module, device: torch.device, enabled: bool, distributed: bool = False) -> Iterator[nn.Module]:
    """Run `module` compiled inside the block (training), eager again after it.

    Why in place and only for the block: the same object keeps its state_dict keys and stays callable
    by strategies that call the bare supernet; evaluation afterwards feeds whole images of many
    sizes, which would recompile (and re-record CUDA graphs) for every new shape.
    """
    if not enabled:
        yield module
        return
    module.compile(mode=compile_mode(device, distributed))
    try:
        yield module
    finally:
        module._compiled_call_impl = None  # what nn.Module.compile set: back to the eager forward


def configure(device: torch.device) -> None:
    """Process-wide precision switches for `device`: TF32 matmuls and convolutions on CUDA."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True  # fixed training shapes: pick the fastest kernels once


def fused(params: Iterable[torch.Tensor]) -> dict[str, Any]:
    """Optimiser keyword that fuses the update into one kernel on CUDA.

    Not on the CPU: there a resumed run's fused update drifted from an unbroken run's (tests/test_run.py's
    SIGKILL test), and the optimiser step is a small part of a CPU step anyway."""
    params = list(params)
    ok = params and all(p.is_floating_point() and p.device.type == "cuda" for p in params)
    return {"fused": True} if ok else {}


def adam(params: Iterable[torch.Tensor], lr: float, **kwargs: Any) -> torch.optim.Adam:
    """Adam with the fused update where supported."""
    params = list(params)
    return torch.optim.Adam(params, lr, **kwargs, **fused(params))


def sgd(params: Iterable[torch.Tensor], lr: float, **kwargs: Any) -> torch.optim.SGD:
    """SGD with the fused update where supported."""
    params = list(params)
    return torch.optim.SGD(params, lr, **kwargs, **fused(params))


def parse_device(name: str) -> torch.device | None:
    """The torch device a recipe names (None for 'auto'); an unknown name is a ClearerError."""
    if name == "auto":
        return None
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        device = None
    if device is not None and device.type in ("cpu", "cuda", "mps"):
        return device
    raise ClearerError(
        f"device={name!r} is not a device clearer can use; use 'auto' (CUDA when "
        "available, else the CPU), 'cpu', 'cuda' or 'cuda:N' (--set device=cpu)."
    )


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA when available, else the CPU; a device this machine lacks is a ClearerError."""
    device = parse_device(name)
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (device.index or 0) >= count:
            raise ClearerError(
                f"device={name!r} but this machine has {count} CUDA device(s)"
                f"{'' if torch.version.cuda else ' (this torch build has no CUDA)'}; use device='auto' "
                "or 'cpu' (--set device=cpu)."
            )
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ClearerError(f"device={name!r} is not available here; use device='auto' or 'cpu'.")
    return device


def bf16_is_fast(device: torch.device) -> bool:
    """True where bf16 autocast is the faster choice, as measured by benchmarks/search_step.py.

    On a Xeon with AMX it makes a paper-size search step 2.4x faster than float32 channels_last. On
    CPUs without AMX/AVX512-BF16 bf16 is emulated and slower. On an H200 the paper-size steps are
    launch-bound and bf16 was slower than float32 channels_last (0.135 vs 0.102 s), so CUDA keeps float32.
    """
    if device.type != "cpu":
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


def use_autocast(setting: str, device: torch.device) -> bool:
    """Resolve a recipe's `autocast` setting ('auto' -> bf16 where it is fast) for training steps."""
    if setting == "auto":
        return bf16_is_fast(device)
    return setting == "bf16"
