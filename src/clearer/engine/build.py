"""Turn resolved recipe refs ({"name": ..., **kwargs}) into objects."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..recipe import Recipe, _lookup
from ..registry import DATASETS, DEGRADATIONS, LOSSES, SPACES, Registry


def build(registry: Registry, ref: dict[str, Any] | str, **extra: Any) -> Any:
    """Call the registered factory named in `ref` with its recipe arguments plus `extra`."""
    ref = {"name": ref} if isinstance(ref, str) else ref
    kwargs = {k: v for k, v in ref.items() if k != "name"}
    return _lookup(registry, ref["name"])(**kwargs, **extra)


def build_space(recipe: Recipe, architecture: dict[str, str] | None = None) -> torch.nn.Module:
    return build(SPACES, recipe.space, channels=recipe.data.channels, architecture=architecture)


def build_dataset(ref: dict[str, Any]) -> Any:
    return build(DATASETS, ref)


def build_degradation(recipe: Recipe, **extra: Any) -> Any:
    return build(DEGRADATIONS, {**recipe.data.degradation, **extra})


def build_loss(ref: dict[str, Any]) -> Any:
    return build(LOSSES, ref)


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA when available, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def set_name(ref: dict[str, Any]) -> str:
    """A short label for a dataset ref: 'bsds500-test', 'bsd68', 'image_folder-rain'."""
    extras = [str(v) for k, v in ref.items() if k in ("split", "path")]
    name = str(ref["name"]).rsplit(":", 1)[-1]
    return "-".join([name] + [e.rstrip("/").rsplit("/", 1)[-1] for e in extras])


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


def use_autocast(recipe: Recipe, device: torch.device) -> bool:
    """Resolve the recipe's autocast setting ('auto' -> bf16 where it is fast) for training steps."""
    if recipe.autocast == "auto":
        return bf16_is_fast(device)
    return recipe.autocast == "bf16"
