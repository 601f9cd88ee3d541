"""The epoch loop shared by search and retraining: progress, NaN guard, a checkpoint per epoch."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

from ..errors import ClearerError
from .progress import RunLog

StepFn = Callable[[int], dict[str, float]]
EpochEnd = Callable[[int, dict[str, float]], None]


class NonFiniteLoss(ClearerError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


def run_epochs(log: RunLog, phase: str, epochs: int, steps_per_epoch: int, start_epoch: int,
               step: StepFn, end_epoch: EpochEnd, checkpoint: Path,
               status: Callable[[], str] = lambda: "") -> None:
    """Run epochs [start_epoch, epochs); `end_epoch` saves the checkpoint after each complete epoch."""
    total = epochs * steps_per_epoch
    with log.progress(phase, total, completed=start_epoch * steps_per_epoch) as bar:
        for epoch in range(start_epoch, epochs):
            sums: dict[str, float] = {}
            for i in range(steps_per_epoch):
                logs = step(epoch)
                bad = [k for k, v in logs.items() if not math.isfinite(v)]
                if bad:
                    kept = f"the last good checkpoint ({checkpoint}) is kept" if checkpoint.exists() \
                        else "no checkpoint had been written yet"
                    raise NonFiniteLoss(
                        f"{phase}: {', '.join(bad)} became {logs[bad[0]]} at epoch {epoch + 1}, step "
                        f"{i + 1}; {kept}. Lower the learning rate (or raise grad clipping) and rerun, or "
                        f"resume with --resume.")
                for k, v in logs.items():
                    sums[k] = sums.get(k, 0.0) + v
                bar.advance(f"loss {logs['loss']:.5f} {status()}")
            means = {k: v / steps_per_epoch for k, v in sums.items()}
            end_epoch(epoch, means)
            log(f"{phase} epoch {epoch + 1}/{epochs} " + " ".join(f"{k}={v:.5g}" for k, v in means.items())
                + (f" {status()}" if status() else ""))
