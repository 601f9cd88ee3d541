"""How training steps run on a device: compiled or eager, TF32, fused optimisers (the measured choices).

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

from contextlib import contextmanager
from typing import Any, Iterable, Iterator

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
