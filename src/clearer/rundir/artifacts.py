"""Files in a run directory, their names in one place, and the architecture JSON format."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..errors import ClearerError
from ..train import distributed
from ..version import __version__
from ..writing import write_text

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
SOURCES = "sources.json"
TENSORBOARD = "tensorboard"  # folder of the event files, with tracking="tensorboard"
EVALUATIONS = "evaluations"  # each `clearer evaluate` of the run, one folder per evaluation recipe hash
PER_IMAGE = "per_image.csv"  # an evaluation's scores per image
# what a run folder holds: the inputs of every command that reads a run (export, restore, show-arch, ...)
RUN_FILES = (
    RECIPE,
    OVERRIDES,
    LOG,
    ALPHA,
    ARCH,
    WEIGHTS,
    BEST_WEIGHTS,
    TRACK,
    METRICS,
    SOURCES,
    SEARCH_STATE,
    RETRAIN_STATE,
)


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: Path) -> Any:
    """A run folder's JSON file; missing, unreadable or damaged files are a ClearerError naming it."""
    if not path.is_file():
        raise ClearerError(f"{path} not found: is {path.parent} a clearer run directory?")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ClearerError(
            f"cannot read {path}: {err}. The file is damaged (cut short, or edited by hand); "
            f"restore it from a copy of the run folder, or start the run again."
        ) from None


def metrics_record(
    recipe_hash: str,
    architecture: dict[str, str],
    sets: dict[str, dict[str, Any]],
    per_image: dict[str, list[dict[str, Any]]],
    /,
    **fields: Any,
) -> dict[str, Any]:
    """What metrics.json holds, for a run and an evaluation alike: the caller's own fields, the recipe
    and architecture hashes, each test set's means with its per-image scores beside them (from every
    process, sorted by image, rounded to 5 digits) and the versions that measured them."""
    for name in sets:
        rows = sorted(distributed.gather_lists(per_image.get(name, [])), key=lambda row: row["image"])
        sets[name]["per_image"] = [
            {k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()} for row in rows
        ]
    return {**fields, "recipe_hash": recipe_hash, "arch_hash": arch_hash(architecture), "sets": sets, **versions()}


def arch_hash(architecture: dict[str, str]) -> str:
    """Short content hash of an architecture (same choices -> same hash)."""
    return hashlib.sha256(json.dumps(architecture, sort_keys=True).encode()).hexdigest()[:10]


def arch_summary(architecture: dict[str, str]) -> str:
    """'3 fusion / 3 parallel': how many choice points took each candidate."""
    counts: dict[str, int] = {}
    for name in architecture.values():
        counts[name] = counts.get(name, 0) + 1
    return " / ".join(f"{n} {name}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass
class ArchRecord:
    """What arch.json holds: the architecture, its content hash and where it came from.

    `probabilities` are the searched softmax values per choice point (None for a given architecture),
    `search` the search's summary (how decided it ended, the discretisation gap; None when nothing was
    learned). A given architecture's record has no `search` entry in arch.json at all.
    """

    architecture: dict[str, str]
    probabilities: dict[str, list[float]] | None = None
    candidates: dict[str, list[str]] = field(default_factory=dict)
    hash: str = ""
    space: dict[str, Any] | None = None
    strategy: str | None = None
    search_seconds: float = 0.0
    search: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.hash = self.hash or arch_hash(self.architecture)  # a new record, or a hand-written file

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        if self.probabilities is None:  # a given architecture: nothing was searched
            del data["search"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchRecord:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})

    def write(self, path: Path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def read(cls, path: Path) -> ArchRecord:
        """arch.json, checked to be an architecture record (the space checks the choices themselves)."""
        data = read_json(path)
        architecture = data.get("architecture") if isinstance(data, dict) else None
        if not isinstance(architecture, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in architecture.items()
        ):
            raise ClearerError(
                f'{path} is not an architecture record: it needs "architecture": '
                '{"cell1/col0": "fusion", ...}. Restore it from a copy of the run, or delete '
                "it and --resume to search again."
            )
        return cls.from_dict(data)


def write_alpha_csv(path: Path, history: list[dict[str, Any]], candidates: dict[str, list[str]]) -> None:
    """One row per epoch: each (choice point, candidate) probability, then each choice point's α-gradient
    signal over the epoch's α steps (`label:grad_mean`, `label:grad_std`, `label:snr`; empty in warm-up)."""
    columns = [f"{label}:{name}" for label, names in candidates.items() for name in names]
    stats = [(label, key) for label in candidates for key in SIGNAL_KEYS]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["epoch"] + columns + [f"{label}:{key}" for label, key in stats])
    for row in history:
        probs, signal = row["probabilities"], row.get("signal") or {}
        writer.writerow(
            [row["epoch"]]
            + [probs[label][i] for label, names in candidates.items() for i in range(len(names))]
            + [_short(signal[label][key]) if label in signal else "" for label, key in stats]
        )
    write_text(path, buf.getvalue())


SIGNAL_KEYS = ("grad_mean", "grad_std", "snr")


def _short(value: float) -> str:
    return f"{value:.4g}"


def versions() -> dict[str, str]:
    return {"clearer": __version__, "torch": torch.__version__, "python": platform.python_version()}
