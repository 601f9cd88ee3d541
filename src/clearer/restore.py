"""Apply a finished run's model to a user's own images (any size, tiled)."""
from __future__ import annotations

from pathlib import Path

import torch

from .data.images import read_image, save_image
from .engine.inference import restore_image
from .recipe import Recipe

OVERLAP = 64


def load_model(run_dir: Path) -> tuple[torch.nn.Module, Recipe]:
    """The trained network of a run directory and its recipe (see `clearer.load`)."""
    from .api import load
    model = load(run_dir, device="cpu")
    return model, model.recipe


def restore_files(run_dir: Path, images: list[Path], out_dir: Path, tile: int | None = 512,
                  self_ensemble: bool = False) -> list[Path]:
    """Restore each image file; outputs are PNGs named after the inputs in `out_dir`."""
    model, recipe = load_model(run_dir)
    written = []
    for path in images:
        image = read_image(path, recipe.data.channels)
        restored = restore_image(model, image, model.multiple, tile, OVERLAP, self_ensemble)
        written.append(save_image(Path(out_dir) / f"{Path(path).stem}.png", restored))
    return written
