"""Validation while retraining: PSNR on a few α-split images after every epoch, to keep the best weights.

Why the α split: it is held out from weight training, and the test sets must never choose a
checkpoint (the paper's code selects on its test set; DESIGN.md pitfalls).
"""

from __future__ import annotations

import math
from itertools import islice
from typing import Any

import torch
from torch import Tensor, nn

from ..metrics import psnr
from ..nn.mode import train_mode
from ..recipe import Recipe
from ..registry import DATASETS
from ..rundir import artifacts
from ..rundir.progress import RunLog
from ..rundir.tracking import Tracker
from ..train.inference import restore_image
from .evaluate import as_measured_input, evaluation_pairs, protocol_degradation, recipe_protocol

VAL_CROP = 192  # centre crop of each validation image: cheap enough to run every epoch


class Validation:
    """The first `retrain.val_images` images of `data.alpha`, degraded once (seeded) and centre-cropped."""

    def __init__(self, recipe: Recipe, device: torch.device) -> None:
        self.recipe, self.device = recipe, device
        self.count = recipe.retrain.val_images
        self.protocol = recipe_protocol(recipe)
        self.best: dict[str, Any] = {"val_psnr": -math.inf, "epoch": 0}
        self.pairs: list[tuple[Tensor, Tensor]] | None = None

    def _load(self, multiple: int) -> list[tuple[Tensor, Tensor]]:
        recipe = self.recipe
        pairs = evaluation_pairs(
            DATASETS.build(recipe.data.alpha),
            recipe.data.channels,
            self.protocol,
            protocol_degradation(recipe, self.protocol),
            RunLog(None, verbose=False),
        )
        out = []
        for x, y, _ in islice(pairs, self.count):
            scale = y.shape[-1] // x.shape[-1]  # super-resolution: crop the input and its target alike
            crop = VAL_CROP // scale - VAL_CROP // scale % multiple
            top, left, h, w = _centre(x, crop, multiple)
            x = x[..., top : top + h, left : left + w]
            y = y[..., top * scale : (top + h) * scale, left * scale : (left + w) * scale]
            out.append((x.to(self.device), y.to(self.device)))
        return out

    @torch.no_grad()
    def run(self, model: nn.Module, tracker: Tracker, epoch: int) -> dict[str, Any]:
        """{"val_psnr": mean PSNR, "improved": whether it beats every earlier epoch}; {} when disabled."""
        if self.count <= 0:
            return {}
        multiple = getattr(model, "multiple", 1)
        if self.pairs is None:
            self.pairs = self._load(multiple)
        scores = []
        with train_mode(model, False):
            for i, (degraded, clean) in enumerate(self.pairs):
                out = self.protocol.postprocess(restore_image(model, degraded, multiple).float())
                scores.append(float(psnr(out.double(), clean.double()).mean()))
                if i == 0:
                    tracker.image(
                        "validation/input-output-clean",
                        torch.cat([as_measured_input(degraded, clean)[0], out[0], clean[0]], -1),
                        epoch,
                    )
        mean = sum(scores) / len(scores)
        improved = mean > self.best["val_psnr"]
        if improved:
            self.best = {"val_psnr": mean, "epoch": epoch}
        return {"val_psnr": mean, "improved": improved}

    def summary(self) -> str:
        if self.count <= 0 or self.best["epoch"] == 0:
            return ""
        return (
            f"; best validation PSNR {self.best['val_psnr']:.2f} dB (epoch {self.best['epoch']}, "
            f"{len(self.pairs or [])} α-split images) kept as {artifacts.BEST_WEIGHTS}"
        )


def _centre(x: Tensor, size: int, multiple: int) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the centre crop to at most size x size, sides multiples of `multiple`."""
    h, w = x.shape[-2:]
    nh, nw = min(h, size), min(w, size)
    nh, nw = max(nh - nh % multiple, multiple), max(nw - nw % multiple, multiple)
    return (h - nh) // 2, (w - nw) // 2, nh, nw
