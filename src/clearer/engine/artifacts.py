"""Files in a run directory, their names in one place, and the architecture JSON format."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import platform
from pathlib import Path
from typing import Any

import torch

from ..errors import ClearerError
from .checkpoint import atomic_write

RECIPE = "recipe.json"
OVERRIDES = "overrides.json"
LOG = "log.txt"
ALPHA = "alpha.csv"
ARCH = "arch.json"
WEIGHTS = "model.safetensors"
BEST_WEIGHTS = "model_best.safetensors"  # best validation PSNR during retraining
TRACK = "metrics.csv"  # per-epoch losses, learning rates, α, validation PSNR
METRICS = "metrics.json"
SEARCH_STATE = "state/search.safetensors"
RETRAIN_STATE = "state/retrain.safetensors"
SAMPLES = "samples"


def write_json(path: Path, data: Any) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n"))


def read_json(path: Path) -> Any:
    if not path.is_file():
        raise ClearerError(f"{path} not found: is {path.parent} a clearer run directory?")
    return json.loads(path.read_text())


def arch_hash(architecture: dict[str, str]) -> str:
    """Short content hash of an architecture (same choices -> same hash)."""
    return hashlib.sha256(json.dumps(architecture, sort_keys=True).encode()).hexdigest()[:10]


def arch_record(architecture: dict[str, str], probabilities: dict[str, list[float]] | None,
                candidates: dict[str, list[str]], **extra: Any) -> dict[str, Any]:
    return {"architecture": architecture, "probabilities": probabilities, "candidates": candidates,
            "hash": arch_hash(architecture), **extra}


def write_alpha_csv(path: Path, history: list[dict[str, Any]], candidates: dict[str, list[str]]) -> None:
    """One row per epoch, one column per (choice point, candidate) probability."""
    columns = [f"{label}:{name}" for label, names in candidates.items() for name in names]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["epoch"] + columns)
    for row in history:
        probs = row["probabilities"]
        writer.writerow([row["epoch"]] + [probs[label][i] for label, names in candidates.items()
                                          for i in range(len(names))])
    atomic_write(path, lambda tmp: tmp.write_text(buf.getvalue()))


def versions() -> dict[str, str]:
    from .. import __version__
    return {"clearer": __version__, "torch": torch.__version__, "python": platform.python_version()}
