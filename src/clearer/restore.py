"""Apply a finished run's model to a user's own images (any size, tiled)."""
from __future__ import annotations

from pathlib import Path

import torch

from .data.images import read_image, save_image
from .engine import artifacts as A
from .engine.build import build_space
from .engine.checkpoint import load_weights
from .engine.inference import restore_image
from .errors import ClearerError
from .recipe import Recipe

OVERLAP = 64


def load_model(run_dir: Path) -> tuple[torch.nn.Module, Recipe]:
    """The trained network of a run directory, built from its recipe and architecture JSON."""
    run_dir = Path(run_dir)
    if not (run_dir / A.WEIGHTS).is_file():
        raise ClearerError(f"{run_dir} has no {A.WEIGHTS}: the run has not finished retraining "
                           f"(continue it with clearer run RECIPE --resume {run_dir}).")
    recipe = Recipe.from_dict(A.read_json(run_dir / A.RECIPE))
    arch = A.read_json(run_dir / A.ARCH)
    model = build_space(recipe, arch["architecture"])
    load_weights(run_dir / A.WEIGHTS, model)
    return model.eval(), recipe


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
