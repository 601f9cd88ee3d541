"""Nested state (models, optimisers, generators, counters) in one safetensors file, written atomically.

Tensors go into the safetensors body; everything else (numbers, strings, lists, the nesting) into a JSON
skeleton in the header metadata. Nothing is ever pickled, so loading runs no code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from ..errors import ClearerError
from ..writing import write_file

_TENSOR = "__tensor__"


def _flatten(value: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        tensors[key] = value.detach().cpu().contiguous()
        return {_TENSOR: key}
    if isinstance(value, dict):
        return {
            "__dict__": [
                [_flatten(k, f"{key}.k{i}", tensors), _flatten(v, f"{key}.{i}", tensors)]
                for i, (k, v) in enumerate(value.items())
            ]
        }
    if isinstance(value, (list, tuple)):
        return {
            "__list__": [_flatten(v, f"{key}.{i}", tensors) for i, v in enumerate(value)],
            "tuple": isinstance(value, tuple),
        }
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


def save_state(path: Path, state: dict[str, Any], metadata: dict[str, Any] | None = None) -> None:
    """Save a nested state dict; `metadata` (plain JSON) is readable without loading tensors."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _flatten(state, "s", tensors)
    header = {"skeleton": json.dumps(skeleton), "metadata": json.dumps(metadata or {})}
    write_file(path, lambda tmp: save_file(tensors, str(tmp), metadata=header))


def load_state(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ClearerError(f"checkpoint {path} not found.")
    try:
        tensors = load_file(str(path))
        with safe_open(str(path), "pt") as f:
            header = f.metadata() or {}
        return _unflatten(json.loads(header["skeleton"]), tensors)
    except (KeyError, ValueError, TypeError, OSError, SafetensorError) as err:
        raise ClearerError(
            f"checkpoint {path} is damaged or not a clearer state file ({err}). It was probably cut short "
            f"(full disk, or copied while being written): delete it to restart that phase from the "
            "beginning, then --resume."
        ) from None


def _header(path: Path, key: str) -> dict[str, Any]:
    """One JSON entry of a safetensors header ({} when absent); a damaged file is a ClearerError."""
    try:
        with safe_open(str(path), "pt") as f:
            value = json.loads((f.metadata() or {}).get(key, "{}"))
    except (ValueError, OSError, SafetensorError) as err:
        raise ClearerError(f"{path} is damaged or not a safetensors file ({err}).") from None
    return value if isinstance(value, dict) else {}


def load_module_state(model: torch.nn.Module, state: dict[str, torch.Tensor], path: Path, fix: str = "") -> None:
    """load_state_dict with a mismatch (other architecture or width) reported as a ClearerError."""
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError) as err:
        first = str(err).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:3])
        raise ClearerError(
            f"the weights in {path} do not fit the network built from the run's recipe and "
            f"architecture ({detail[:300]}). {fix or 'Were files copied from another run?'}"
        ) from None


def save_weights(path: Path, model: torch.nn.Module, metadata: dict[str, Any]) -> None:
    """Model weights only, as a plain safetensors file with a JSON metadata header (other tools can read it)."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    header = {"clearer": json.dumps(metadata)}
    write_file(path, lambda tmp: save_file(tensors, str(tmp), metadata=header))


def refuse_non_finite(tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Weights holding NaN or inf make every output NaN: refuse them at load, naming the tensors."""
    bad = {name: int((~torch.isfinite(t)).sum()) for name, t in tensors.items() if t.is_floating_point() and t.numel()}
    bad = {name: n for name, n in bad.items() if n}
    if bad:
        named = ", ".join(f"{name} ({n} of {tensors[name].numel()})" for name, n in list(bad.items())[:3])
        raise ClearerError(
            f"weights file {path} holds NaN or infinite values in {len(bad)} tensor(s): {named}"
            f"{' ...' if len(bad) > 3 else ''}. The training diverged or the file was altered; retrain "
            "(lower the learning rate) or copy the run folder again."
        )


def load_weights(path: Path, model: torch.nn.Module) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ClearerError(f"weights file {path} not found.")
    try:
        tensors = load_file(str(path))
    except (ValueError, OSError, SafetensorError) as err:
        raise ClearerError(
            f"weights file {path} is damaged or not a safetensors file ({err}); retrain "
            "(delete it and --resume the run) or copy it again."
        ) from None
    refuse_non_finite(tensors, path)
    load_module_state(
        model,
        tensors,
        path,
        "arch.json, recipe.json and the weights must come from the same run; copy the whole run folder.",
    )
    return _header(path, "clearer")
