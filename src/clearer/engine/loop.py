"""The outline search and retraining share: resume from the phase's state file, run epochs with progress
and a NaN guard, and save the state after every epoch (so a killed run loses at most one)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from ..errors import ClearerError
from ..rundir.progress import RunLog
from ..train import distributed
from ..train.checkpoint import load_module_state, load_state, save_state

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


class PhaseState:
    """A phase's resumable state, one file: its stateful parts (modules, trainer, strategy, streams: all
    with `state_dict`/`load_state_dict`), the epochs done, the seconds spent, and `extras()` (the
    phase's own records, e.g. the α history or the best validation score)."""

    def __init__(
        self, phase: str, path: Path, parts: dict[str, Any], extras: Callable[[], dict[str, Any]] = dict
    ) -> None:
        self.phase, self.path, self.parts, self.extras = phase, path, parts, extras
        self.epoch, self.resumed = 0, {}
        self.started = time.time()

    def resume(self, log: RunLog) -> dict[str, Any]:
        """Load the file if there is one (a module that doesn't fit is a ClearerError naming it); returns
        the saved extras, empty on a fresh start. The clock continues from the saved seconds."""
        if self.path.exists():
            state = load_state(self.path)
            for name, part in self.parts.items():
                if isinstance(part, torch.nn.Module):
                    load_module_state(part, state[name], self.path)
                else:
                    part.load_state_dict(state[name])
            self.epoch = state["epoch"]
            self.started = time.time() - state["elapsed"]
            self.resumed = {k: v for k, v in state.items() if k not in self.parts and k not in ("epoch", "elapsed")}
            log(f"{self.phase}: resuming after epoch {self.epoch} from {self.path}")
        return self.resumed

    def seconds(self) -> float:
        return round(time.time() - self.started, 1)

    def save(self, epoch: int) -> None:
        self.epoch = epoch
        if distributed.is_main():
            parts = {name: part.state_dict() for name, part in self.parts.items()}
            save_state(self.path, {**parts, "epoch": epoch, "elapsed": time.time() - self.started, **self.extras()})


def run_epochs(
    state: PhaseState,
    *,
    log: RunLog,
    epochs: int,
    steps_per_epoch: int,
    step: StepFn,
    status: Callable[[], str] = lambda: "",
) -> Iterator[tuple[int, dict[str, float]]]:
    """Run the epochs after `state.epoch` of `step(epoch)`, yielding `(epoch, mean losses)` after each,
    then saving `state`.

    The caller's loop body is the end of the epoch (record metrics, keep the best weights); the state
    is saved and the epoch's log line written after it. Steps may return losses as device tensors: they
    are read once per epoch, not once per step, so a GPU is never made to wait for the host. A
    non-finite loss therefore stops the run at the end of its epoch (before that epoch's state is
    saved), naming the first bad step.
    """
    phase, start_epoch, checkpoint = state.phase, state.epoch, state.path
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
            state.save(epoch + 1)
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
