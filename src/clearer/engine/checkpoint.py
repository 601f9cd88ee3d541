"""Nested state (models, optimisers, generators, counters) in one safetensors file, written atomically.

Tensors go into the safetensors body; everything else (numbers, strings, lists, the nesting) into a JSON
skeleton in the header metadata. Nothing is ever pickled, so loading runs no code.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from safetensors import safe_open

from ..errors import ClearerError

_TENSOR = "__tensor__"


def _flatten(value: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        tensors[key] = value.detach().cpu().contiguous()
        return {_TENSOR: key}
    if isinstance(value, dict):
        return {"__dict__": [[_flatten(k, f"{key}.k{i}", tensors), _flatten(v, f"{key}.{i}", tensors)]
                             for i, (k, v) in enumerate(value.items())]}
    if isinstance(value, (list, tuple)):
        return {"__list__": [_flatten(v, f"{key}.{i}", tensors) for i, v in enumerate(value)],
                "tuple": isinstance(value, tuple)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store {type(value).__name__} at {key!r} in a checkpoint")


def _unflatten(node: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(node, dict):
        if _TENSOR in node:
            return tensors[node[_TENSOR]]
        if "__dict__" in node:
            return {_unflatten(k, tensors): _unflatten(v, tensors) for k, v in node["__dict__"]}
        if "__list__" in node:
            items = [_unflatten(v, tensors) for v in node["__list__"]]
            return tuple(items) if node["tuple"] else items
    return node


def _file_mode() -> int:
    """The mode a newly created file gets under the process umask (0644 under the usual 022)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: Path, write: Any) -> None:
    """Write through a temporary file and rename, so a crash never leaves a half-written file.

    The file gets the usual mode for new files: safetensors writes 0600, which kept weights from the
    rest of a group sharing a run folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_state(path: Path, state: dict[str, Any], metadata: dict[str, Any] | None = None) -> None:
    """Save a nested state dict; `metadata` (plain JSON) is readable without loading tensors."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _flatten(state, "s", tensors)
    header = {"skeleton": json.dumps(skeleton), "metadata": json.dumps(metadata or {})}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=header))


def load_state(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ClearerError(f"checkpoint {path} not found.")
    try:
        tensors = load_file(str(path))
        with safe_open(str(path), "pt") as f:
            header = f.metadata() or {}
        return _unflatten(json.loads(header["skeleton"]), tensors)
    except (KeyError, ValueError, OSError, json.JSONDecodeError) as err:
        raise ClearerError(f"checkpoint {path} is not a clearer state file ({err}).") from err


def read_metadata(path: Path) -> dict[str, Any]:
    with safe_open(str(path), "pt") as f:
        return json.loads((f.metadata() or {}).get("metadata", "{}"))


def save_weights(path: Path, model: torch.nn.Module, metadata: dict[str, Any]) -> None:
    """Model weights only, as a plain safetensors file with a JSON metadata header (other tools can read it)."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    header = {"clearer": json.dumps(metadata)}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=header))


def load_weights(path: Path, model: torch.nn.Module) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ClearerError(f"weights file {path} not found.")
    model.load_state_dict(load_file(str(path)))
    with safe_open(str(path), "pt") as f:
        return json.loads((f.metadata() or {}).get("clearer", "{}"))
