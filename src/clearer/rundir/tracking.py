"""Per-epoch numbers a researcher opens without reading logs: metrics.csv, optionally TensorBoard.

One row per (phase, epoch): losses, learning rates, α probabilities (search), validation PSNR
(retrain). The CSV is rewritten whole each epoch (it is small), so a resumed run replaces the rows of
the epochs it repeats instead of appending duplicates.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import torch

from ..errors import ClearerError
from ..train import distributed
from ..writing import write_text
from . import artifacts


class Tracker:
    """Writes rows to out/metrics.csv and, with `kind="tensorboard"`, scalars and images to out/tensorboard.
    Only the main process writes."""

    def __init__(self, out: Path, kind: str = "csv") -> None:
        self.path = Path(out) / artifacts.TRACK
        self.active = distributed.is_main()
        self.rows: list[dict[str, Any]] = []
        if self.active and self.path.is_file():
            with self.path.open(newline="") as f:
                self.rows = list(csv.DictReader(f))
        self.writer = _tensorboard(Path(out) / artifacts.TENSORBOARD) if kind == "tensorboard" and self.active else None

    def log(self, phase: str, epoch: int, values: dict[str, float]) -> None:
        """Record the numbers of one finished epoch (1-based) of a phase."""
        if not self.active:
            return
        self.rows = [r for r in self.rows if not (r["phase"] == phase and int(r["epoch"]) >= epoch)]
        self.rows.append({"phase": phase, "epoch": epoch, **{k: f"{v:.6g}" for k, v in values.items()}})
        columns = list(dict.fromkeys(k for row in self.rows for k in row))
        buf = io.StringIO()
        writer = csv.DictWriter(buf, columns, restval="")
        writer.writeheader()
        writer.writerows(self.rows)
        write_text(self.path, buf.getvalue())
        if self.writer is not None:
            for key, value in values.items():
                self.writer.add_scalar(f"{phase}/{key}", value, epoch)
            self.writer.flush()

    def image(self, tag: str, image: torch.Tensor, epoch: int) -> None:
        """A [C,H,W] picture in [0,1] (e.g. input | output | clean) to TensorBoard; nothing without it."""
        if self.writer is not None:
            self.writer.add_image(tag, image.clamp(0, 1), epoch)
            self.writer.flush()


def _tensorboard(folder: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ClearerError(
            "tracking='tensorboard' needs the tensorboard package: pip install 'clearer[tensorboard]', "
            "or set tracking='csv'."
        ) from None
    return SummaryWriter(str(folder))


def alpha_columns(probabilities: dict[str, list[float]], candidates: dict[str, list[str]]) -> dict[str, float]:
    """α probabilities as flat columns 'alpha/cell1/col0/fusion'."""
    return {
        f"alpha/{label}/{name}": probabilities[label][i]
        for label, names in candidates.items()
        for i, name in enumerate(names)
    }
