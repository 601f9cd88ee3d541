"""Apply a finished run's model to a user's own images (any size; tiled when they do not fit in memory)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .data.images import read_pixels, save_image
from .errors import ClearerError
from .recipe import Recipe
from .rundir import artifacts
from .train.inference import TILE_OVERLAP, Tile, restore_image
from .writing import check_target, holding


def load_model(run_dir: Path, recipe: Path | None = None) -> tuple[torch.nn.Module, Recipe]:
    """The trained network of a run directory and its recipe (see `clearer.load`)."""
    from .api import load

    model = load(run_dir, recipe, device="cpu")
    return model, model.recipe


def output_paths(images: list[Path], out_dir: Path, overwrite: bool = False) -> list[Path]:
    """One PNG per input in `out_dir`, named after it, unique (photo.png, photo-2.png, ...).

    Why: inputs with the same stem from different folders must not overwrite each other, an output
    must never replace an input, and results of an earlier call survive unless `overwrite` is given.
    """
    inputs = {os.path.realpath(p) for p in images}
    taken: set[str] = set()
    paths = []
    for image in images:
        stem, n = Path(image).stem, 1
        while True:
            name = f"{stem}.png" if n == 1 else f"{stem}-{n}.png"
            target = Path(out_dir) / name
            if name not in taken and os.path.realpath(target) not in inputs:
                break
            n += 1
        taken.add(name)
        paths.append(target)
    existing = [str(p) for p in paths if p.is_symlink() or p.exists()]
    if existing and not overwrite:
        raise ClearerError(
            f"{', '.join(existing[:3])}{' ...' if len(existing) > 3 else ''} already exist(s); "
            "pass --overwrite to replace earlier outputs, or choose another --out."
        )
    return paths


def restore_files(
    run_dir: Path,
    images: list[Path],
    out_dir: Path,
    tile: Tile = "auto",
    self_ensemble: bool = False,
    overwrite: bool = False,
    recipe_file: Path | None = None,
) -> list[Path]:
    """Restore each image file; outputs are PNGs named after the inputs in `out_dir` (never an input, never
    through a link, never outside `out_dir`; an existing file only with `overwrite`)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ClearerError(f"--out {out_dir} is a file, not a folder; give a folder for the restored images.")
    missing = [str(p) for p in images if not Path(p).is_file()]
    if missing:
        raise ClearerError(f"image file(s) {', '.join(missing[:3])} not found (or not files); check the paths.")
    inputs = [*images, *(Path(run_dir) / name for name in artifacts.RUN_FILES)]
    targets = output_paths(images, out_dir, overwrite)
    for target in targets:  # every output checked before the first is written
        check_target(target, overwrite, inputs, inside=out_dir)
    model, recipe = load_model(run_dir, recipe_file)
    written = []
    with holding(run_dir, "run", out_dir / "x"):  # restoring into the run's own folder: hold it
        for path, target in zip(images, targets):
            pixels = read_pixels(path, recipe.data.channels)  # an alpha channel is written back unchanged
            restored = restore_image(
                model, pixels.colour[0], model.multiple, tile, TILE_OVERLAP, self_ensemble, upright=model.upright
            )
            alpha = None if pixels.alpha is None else pixels.alpha[0]
            written.append(save_image(target, restored, alpha, replace=overwrite, inputs=inputs, inside=out_dir))
    return written
