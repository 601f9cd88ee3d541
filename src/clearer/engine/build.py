"""Turn resolved recipe refs ({"name": ..., **kwargs}) into objects."""
from __future__ import annotations

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
