"""The epoch loop shared by search and retraining: progress, NaN guard, a checkpoint per epoch."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from ..errors import ClearerError
from ..rundir.progress import RunLog

StepFn = Callable[[int], dict[str, "float | torch.Tensor"]]
STATUS_EVERY_S = 0.5  # the live status line reads the loss (a host sync on a GPU) at most this often


class NonFiniteLoss(ClearerError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


def _read(logs: list[dict[str, float | torch.Tensor]]) -> list[dict[str, float]]:
    """Per-step logs as floats, reading device tensors in one transfer (one host sync per epoch)."""
    flat = [(i, k, v) for i, step in enumerate(logs) for k, v in step.items()]
    values = (
        torch.stack([torch.as_tensor(v, dtype=torch.float64).detach().reshape(()).cpu() for _, _, v in flat]).tolist()
        if flat
        else []
    )
    rows: list[dict[str, float]] = [{} for _ in logs]
    for (i, k, _), value in zip(flat, values):
        rows[i][k] = value
    return rows


def run_epochs(
    phase: str,
    *,
    log: RunLog,
    epochs: int,
    steps_per_epoch: int,
    start_epoch: int,
    step: StepFn,
    checkpoint: Path,
    status: Callable[[], str] = lambda: "",
) -> Iterator[tuple[int, dict[str, float]]]:
    """Run epochs [start_epoch, epochs) of `step(epoch)`, yielding `(epoch, mean losses)` after each.

    The caller's loop body is the end of the epoch (save the checkpoint, record metrics); the epoch's
    log line follows it. Steps may return losses as device tensors: they are read once per epoch, not
    once per step, so a GPU is never made to wait for the host. A non-finite loss therefore stops the
    run at the end of its epoch (before that epoch's checkpoint), naming the first bad step.
    """
    total = epochs * steps_per_epoch
    with log.progress(phase, total, completed=start_epoch * steps_per_epoch) as bar:
        for epoch in range(start_epoch, epochs):
            logs, shown = [], 0.0
            for _ in range(steps_per_epoch):
                logs.append(step(epoch))
                text = ""
                if bar.live and time.monotonic() - shown > STATUS_EVERY_S:
                    text, shown = f"loss {float(logs[-1]['loss']):.5f} {status()}", time.monotonic()
                bar.advance(text)
            values = _read(logs)
            check_finite(values, phase, epoch, checkpoint)
            keys = dict.fromkeys(k for row in values for k in row)
            means = {k: sum(row.get(k, 0.0) for row in values) / steps_per_epoch for k in keys}
            yield epoch, means
            note = status()
            log(
                f"{phase} epoch {epoch + 1}/{epochs} "
                + " ".join(f"{k}={v:.5g}" for k, v in means.items())
                + (f" {note}" if note else "")
            )


def check_finite(values: list[dict[str, float]], phase: str, epoch: int, checkpoint: Path) -> None:
    """NonFiniteLoss naming the first step of the epoch whose loss is NaN or infinite."""
    for i, row in enumerate(values):
        bad = [k for k, v in row.items() if not math.isfinite(v)]
        if bad:
            kept = (
                f"the last good checkpoint ({checkpoint}) is kept"
                if checkpoint.exists()
                else "no checkpoint had been written yet"
            )
            raise NonFiniteLoss(
                f"{phase}: {', '.join(bad)} became {row[bad[0]]} at epoch {epoch + 1}, step "
                f"{i + 1}; {kept}. Lower the learning rate (or raise grad clipping) and rerun, or "
                f"resume with --resume."
            )
