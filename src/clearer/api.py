"""The public Python surface: load a finished run, restore images with it, re-evaluate it, export it.

import clearer
model = clearer.load("runs/bsd/20261128-194307")      # the trained nn.Module, eval mode
clean = model.restore("noisy.png")                     # PIL in/out; also tensors, numpy arrays
clearer.evaluate("runs/bsd/20261128-194307", {"data.degradation.sigma": 15})
clearer.export("runs/bsd/20261128-194307", "onnx", "bsd.onnx")
"""

from __future__ import annotations

import csv
import io
import os
import types
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image
from torch import nn

from .data.images import read_image, read_pixels
from .data.pixels import Pixels, from_array, from_pil, to_pil
from .engine.build import build_space, upright
from .errors import ClearerError, ClearerTypeError, ClearerValueError
from .recipe import Recipe, apply_overrides
from .rundir import artifacts
from .rundir.artifacts import ArchRecord
from .rundir.sources import register_sources
from .train.checkpoint import load_weights
from .train.device import resolve_device
from .train.inference import TILE_OVERLAP, Tile, pad_to_multiple, restore_image
from .writing import check_target, folder, holding, write_file, write_text

# what a re-evaluation may change: test sets, protocol, inference settings and the test degradation
EVALUABLE = ("evaluate", "data.degradation", "device", "autocast", "channels_last")
ImageLike = torch.Tensor | np.ndarray | Image.Image | str | Path


def load(
    run_dir: str | Path, recipe: str | Path | None = None, device: str | torch.device = "auto", best: bool = False
) -> nn.Module:
    """The trained network of a finished run, in eval mode, with `restore(image)` and the attributes
    `multiple` (input sizes it needs), `scale` (output size / input size: 1, or 2-4 for super-resolution),
    `channels` (1 gray, 3 RGB), `upright` (trained on rain that falls down: self-ensembles skip quarter
    turns), `recipe`, `architecture`, `run_dir`.

    A run folder never chooses code: when the run uses parts that a recipe file registered itself, pass
    that file as `recipe` (it is run, and checked against the sha256 the run recorded). `best=True` loads
    the checkpoint with the best validation PSNR.
    """
    run_dir = _path("clearer.load", "run_dir", run_dir, "a run folder")
    recipe = _path("clearer.load", "recipe", recipe, "a recipe .py file", optional=True)
    if not isinstance(device, (str, torch.device)):
        raise ClearerTypeError(f"clearer.load: device takes 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'; got {device!r}.")
    if not isinstance(best, bool):
        raise ClearerTypeError(f"clearer.load: best takes True or False; got {best!r}.")
    if not run_dir.is_dir():
        raise ClearerError(
            f"{run_dir} {'is a file' if run_dir.exists() else 'does not exist'}; a finished run is a folder "
            "(the --out of clearer run)."
        )
    weights = run_dir / (artifacts.BEST_WEIGHTS if best else artifacts.WEIGHTS)
    if not weights.is_file():
        raise ClearerError(
            f"{run_dir} has no {weights.name}: the run has not finished retraining "
            f"(continue it with clearer run RECIPE --resume {run_dir})."
        )
    register_sources(run_dir, recipe)
    resolved = Recipe.from_dict(artifacts.read_json(run_dir / artifacts.RECIPE))
    architecture = ArchRecord.read(run_dir / artifacts.ARCH).architecture
    model = build_space(resolved, architecture)
    load_weights(weights, model)
    model.multiple = getattr(model, "multiple", 1)
    model.scale = getattr(model, "scale", 1)
    model.upright = upright(resolved)
    model.channels, model.recipe, model.architecture, model.run_dir = (
        resolved.data.channels,
        resolved,
        architecture,
        run_dir,
    )
    model.restore = types.MethodType(restore, model)
    return model.to(resolve_device(str(device))).eval()


def _path(function: str, name: str, value: Any, what: str, optional: bool = False) -> Path | None:
    """A path argument of the public API as a Path; anything else is a ClearerTypeError naming it."""
    if value is None and optional:
        return None
    if isinstance(value, (str, os.PathLike)) and str(value):
        return Path(value)
    raise ClearerTypeError(
        f"{function}: {name} takes {what} as a str or pathlib.Path{' (or None)' if optional else ''}; "
        f"got {type(value).__name__} {value!r}."
    )


def _as_pixels(image: ImageLike, channels: int) -> tuple[Pixels, Any]:
    """The image as pixels in [0,1] (data/pixels.py says how each kind is read) and a function turning
    the restored pixels back into the input's kind."""
    if isinstance(image, (str, Path)):
        return read_pixels(image, channels), to_pil
    if isinstance(image, Image.Image):
        return from_pil(image, channels, "the PIL image"), to_pil
    if isinstance(image, (np.ndarray, torch.Tensor)):
        return from_array(image, channels, f"the {'tensor' if isinstance(image, torch.Tensor) else 'array'}")
    raise ClearerTypeError(f"restore takes a tensor, numpy array, PIL image or file path; got {type(image).__name__}.")


def restore(model: nn.Module, image: ImageLike, tile: Tile = "auto", self_ensemble: bool = False) -> Any:
    """Restore one image (or a batch of tensors) of any size with a loaded model; same kind out as in (a
    super-resolution model's output `model.scale` times larger; its tiles are cut in input pixels).

    Tensors ([C,H,W] or [B,C,H,W]) come back on their own device, numpy arrays ([H,W] or [H,W,C]) in
    their dtype, PIL images and file paths as 8-bit PIL images; uint8 means 0-255, uint16 0-65535 and
    floats [0, 1] both ways (docs/api.md lists every accepted mode and dtype; others are refused, as are
    NaN/inf and float values outside [0, 1]). An alpha channel is written back unchanged. Sizes are
    padded to the model's multiple; `tile="auto"` runs an image whole when the network's activations for
    it fit the inference memory budget (2 GiB, CLEARER_INFERENCE_MEMORY) and in tiles sized to it
    otherwise, an int tiles images larger than it in tiles of that size, None runs whole images;
    `self_ensemble` averages the 8 flips/rotations (4 flips for a `model.upright` one).
    """
    if not (tile is None or tile == "auto" or (isinstance(tile, int) and not isinstance(tile, bool))):
        raise ClearerTypeError(f"restore: tile takes 'auto', None (whole images) or a number of pixels; got {tile!r}.")
    if not isinstance(self_ensemble, bool):
        raise ClearerTypeError(f"restore: self_ensemble takes True or False; got {self_ensemble!r}.")
    if not isinstance(model, nn.Module) or not isinstance(getattr(model, "channels", None), int):
        raise ClearerTypeError(
            f"restore: model takes a network from clearer.load (an nn.Module with .channels); got {type(model).__name__}."
        )
    channels = model.channels
    pixels, back = _as_pixels(image, channels)
    device = next(model.parameters()).device
    multiple, upright = getattr(model, "multiple", 1), getattr(model, "upright", False)
    y = restore_image(model, pixels.colour.to(device), multiple, tile, TILE_OVERLAP, self_ensemble, upright=upright)
    return back(Pixels(y.float().cpu(), pixels.alpha))


# ------------------------------------------------------------------------------------------ evaluate


@dataclass
class Evaluation:
    """Where a re-evaluation wrote its files, and its metrics (per set; per image under "per_image")."""

    out: Path
    metrics: dict[str, Any]


def _check_evaluable(overrides: dict[str, Any]) -> None:
    bad = [k for k in overrides if not any(k == p or k.startswith(p + ".") for p in EVALUABLE)]
    if bad:
        raise ClearerError(
            f"clearer evaluate cannot change {', '.join(bad)}: that would need retraining. It changes "
            f"{', '.join(p + ('.…' if p in ('evaluate', 'data.degradation') else '') for p in EVALUABLE)}; "
            f"e.g. --set data.degradation.sigma=15 or --set evaluate.sets=['set12']."
        )


def evaluate(
    run_dir: str | Path,
    overrides: dict[str, Any] | None = None,
    out: str | Path | None = None,
    recipe: str | Path | None = None,
    verbose: bool = True,
) -> Evaluation:
    """Measure a finished run again with other test sets, noise, protocol or self-ensemble, without
    retraining. Writes recipe.json, overrides.json, metrics.json, per_image.csv and samples to `out`
    (default RUN/evaluations/<hash of the evaluation recipe>/); the run's own metrics stay untouched."""

    run_dir = _path("clearer.evaluate", "run_dir", run_dir, "a run folder")
    out = _path("clearer.evaluate", "out", out, "a folder", optional=True)
    if overrides is not None and (not isinstance(overrides, dict) or not all(isinstance(k, str) for k in overrides)):
        raise ClearerTypeError(
            f"clearer.evaluate: overrides takes a dict of dotted keys, e.g. {{'data.degradation.sigma': 15}}; "
            f"got {overrides!r}."
        )
    overrides = dict(overrides or {})
    _check_evaluable(overrides)
    model = load(run_dir, recipe, device="cpu")
    evaluated = Recipe.from_dict(apply_overrides(model.recipe.to_dict(), overrides))
    if not evaluated.evaluate.sets:
        raise ClearerValueError(
            "clearer.evaluate: evaluate.sets is empty, so there is nothing to measure; name one or more test "
            "sets, e.g. --set \"evaluate.sets=['bsd68']\"."
        )
    out = Path(out) if out is not None else run_dir / artifacts.EVALUATIONS / evaluated.hash()
    with folder(out, "evaluation"):
        return _evaluate_into(out, run_dir, model, evaluated, overrides, verbose)


def _evaluate_into(
    out: Path, run_dir: Path, model: nn.Module, evaluated: Recipe, overrides: dict[str, Any], verbose: bool
) -> Evaluation:
    from .engine.evaluate import evaluate as evaluate_sets
    from .rundir.progress import RunLog

    if (out / artifacts.METRICS).is_file():  # the same evaluation again replaces it; any other stays
        said = artifacts.read_json(out / artifacts.METRICS)
        if not isinstance(said, dict) or (said.get("run_recipe_hash"), said.get("recipe_hash")) != (
            model.recipe.hash(),
            evaluated.hash(),
        ):
            raise ClearerError(
                f"{out} holds another evaluation (of {said.get('run') if isinstance(said, dict) else '?'} with "
                "other settings); it is never replaced. Choose another --out."
            )
    device = resolve_device(evaluated.device)
    model.to(device)
    per_image: dict[str, list[dict[str, Any]]] = {}
    log = RunLog(out / artifacts.LOG, verbose)
    log(f"evaluate {run_dir} ({model.recipe.hash()}) with {overrides or 'its own settings'} -> {out}")
    sets = evaluate_sets(evaluated, model, out, device, log, per_image)
    metrics = artifacts.metrics_record(
        evaluated.hash(),
        model.architecture,
        sets,
        per_image,
        run=str(run_dir),
        run_recipe_hash=model.recipe.hash(),
        overrides=overrides,
    )
    artifacts.write_json(out / artifacts.RECIPE, evaluated.to_dict())
    artifacts.write_json(out / artifacts.OVERRIDES, overrides)
    artifacts.write_json(out / artifacts.METRICS, metrics)
    _write_per_image_csv(out / artifacts.PER_IMAGE, per_image)
    return Evaluation(out, metrics)


def _write_per_image_csv(path: Path, per_image: dict[str, list[dict[str, Any]]]) -> None:
    keys = [k for rows in per_image.values() for k in rows[0] if k != "image"] if per_image else []
    columns = ["set", "image"] + list(dict.fromkeys(keys))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for name, rows in per_image.items():
        for row in rows:
            writer.writerow([name, row["image"]] + [f"{row[k]:.5f}" if k in row else "" for k in columns[2:]])
    write_text(path, buf.getvalue())


# -------------------------------------------------------------------------------------------- export


@dataclass
class Export:
    """An exported file and how far it is from the eager model on a real image."""

    path: Path
    max_abs_diff: float
    checked_on: str
    shape: tuple[int, ...]


def _check_image(model: nn.Module, image: str | Path | None) -> tuple[torch.Tensor, str]:
    """A real test input, padded to the model's multiple (and to the exported program's smallest size):
    the given file, else the first image of the run's first test set degraded as evaluation degrades it."""
    from .engine.build import set_name
    from .engine.evaluate import evaluation_pairs, protocol_degradation, recipe_protocol
    from .registry import DATASETS
    from .rundir.progress import RunLog

    if image is not None:
        x, where = read_image(image, model.channels)[None], str(image)
    else:
        recipe = model.recipe
        if not recipe.evaluate.sets:
            raise ClearerError("the run has no test set to check the export on; pass --image FILE.")
        ref = recipe.evaluate.sets[0]
        protocol = recipe_protocol(recipe)
        pairs = evaluation_pairs(
            DATASETS.build(ref),
            model.channels,
            protocol,
            protocol_degradation(recipe, protocol),
            RunLog(None, verbose=False),
        )
        x, _, stem = next(iter(pairs))
        where = f"{set_name(ref)}/{stem} (degraded as in evaluation)"
    low = MIN_EXPORT_BLOCKS * model.multiple  # the smallest size the exported program takes
    x = torch.nn.functional.pad(x, (0, max(0, low - x.shape[-1]), 0, max(0, low - x.shape[-2])), mode="replicate")
    return pad_to_multiple(x, model.multiple)[0], where


MIN_EXPORT_BLOCKS = 2  # exported programs take heights and widths of at least 2 x model.multiple


def _dynamic_shapes(multiple: int) -> tuple[dict[int, Any], ...]:
    """Batch, height and width free; height and width multiples of `multiple`, at least two of them.

    Why two: at one multiple the network's coarsest branch is 1 pixel high, a size torch.export
    specialises (broadcasting differs at 1), so a program traced at larger sizes refuses it.
    """
    from torch.export import Dim

    low, high = MIN_EXPORT_BLOCKS, 65536 // multiple
    h, w = Dim("h_blocks", min=low, max=high), Dim("w_blocks", min=low, max=high)
    return (
        {
            0: Dim("batch", min=1, max=1024),
            2: h * multiple if multiple > 1 else h,
            3: w * multiple if multiple > 1 else w,
        },
    )


class _Forward(nn.Module):
    """The bare forward of a loaded model, so tracing sees no extra attributes."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image)


def export(
    run: str | Path | nn.Module,
    format: Literal["onnx", "pt2"],
    out: str | Path,
    image: str | Path | None = None,
    recipe: str | Path | None = None,
    overwrite: bool = False,
) -> Export:
    """Export a run's network to ONNX (torch's dynamo exporter) or a torch.export .pt2 archive with
    free batch, height and width (height and width multiples of the model's `multiple`), then run the
    exported file on a real image and return its largest difference from the eager model. `out` is
    written atomically, never over the run's own files or `image`, and over another file only with
    `overwrite`."""
    if format not in ("onnx", "pt2"):
        raise ClearerValueError(f"unknown export format {format!r}; valid: onnx, pt2.")
    out = _path("clearer.export", "out", out, "the file to write")
    image = _path("clearer.export", "image", image, "an image file", optional=True)
    if isinstance(run, nn.Module):
        if not all(hasattr(run, a) for a in ("multiple", "channels", "recipe")):
            raise ClearerTypeError(
                f"clearer.export: run takes a run folder or a model from clearer.load; got a plain "
                f"{type(run).__name__} (without the multiple, channels and recipe that clearer.load sets). "
                "For any other module use torch.export or torch.onnx directly."
            )
        model = run
    else:
        model = load(_path("clearer.export", "run", run, "a run folder or a model from clearer.load"), recipe, "cpu")
    model = model.cpu().eval()
    run_dir = getattr(model, "run_dir", None)
    inputs = [
        *([image] if image is not None else []),
        *(Path(run_dir) / n for n in artifacts.RUN_FILES if run_dir is not None),
    ]
    out = check_target(out, overwrite, inputs)
    with holding(run_dir, "run", out) if run_dir is not None else nullcontext():
        return _export(model, format, out, image, lambda write: write_file(out, write, overwrite, inputs))


def _export(model: nn.Module, format: str, out: Path, image: str | Path | None, save: Any) -> Export:
    net = _Forward(model).eval()
    m = model.multiple
    example = torch.rand(2, model.channels, 4 * m if m > 1 else 32, 6 * m if m > 1 else 48)
    shapes = _dynamic_shapes(m)
    x, where = _check_image(model, image)
    with torch.no_grad():
        expected = net(x)
        if format == "pt2":
            program = torch.export.export(net, (example,), dynamic_shapes=shapes)
            save(lambda tmp: torch.export.save(program, str(tmp)))
            got = torch.export.load(str(out)).module()(x)
        else:
            _need("onnx", "onnxscript", "onnxruntime")
            import onnxruntime

            program = torch.onnx.export(
                net,
                (example,),
                dynamo=True,
                dynamic_shapes=shapes,
                input_names=["image"],
                output_names=["restored"],
                verbose=False,
            )
            save(lambda tmp: program.save(str(tmp), external_data=False))
            session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
            got = torch.from_numpy(session.run(None, {"image": x.numpy()})[0])
    diff = float((got - expected).abs().max())
    return Export(out, diff, where, tuple(x.shape))


def _need(*modules: str) -> None:
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ClearerError(f"ONNX export needs {', '.join(missing)}: pip install 'clearer[export]'.")
