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
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image
from torch import nn

from .data.images import read_image, to_uint8
from .engine import artifacts
from .engine.artifacts import ArchRecord
from .engine.build import build_space
from .engine.checkpoint import atomic_write, load_weights
from .engine.device import resolve_device
from .engine.inference import TILE_OVERLAP, Tile, pad_to_multiple, restore_image
from .engine.sources import register_sources
from .errors import ClearerError
from .recipe import Recipe, apply_overrides

EVALUATIONS = "evaluations"
# what a re-evaluation may change: test sets, protocol, inference settings and the test degradation
EVALUABLE = ("evaluate", "data.degradation", "device", "autocast", "channels_last")
ImageLike = torch.Tensor | np.ndarray | Image.Image | str | Path


def load(
    run_dir: str | Path, recipe: str | Path | None = None, device: str | torch.device = "auto", best: bool = False
) -> nn.Module:
    """The trained network of a finished run, in eval mode, with `restore(image)` and the attributes
    `multiple` (input sizes it needs), `scale` (output size / input size: 1, or 2-4 for super-resolution),
    `channels` (1 gray, 3 RGB), `recipe`, `architecture`, `run_dir`.

    Parts a recipe file registered itself are registered again from the file the run recorded
    (unchanged) or from `recipe`. `best=True` loads the checkpoint with the best validation PSNR.
    """
    run_dir = Path(run_dir)
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
    model.channels, model.recipe, model.architecture, model.run_dir = (
        resolved.data.channels,
        resolved,
        architecture,
        run_dir,
    )
    model.restore = types.MethodType(restore, model)
    return model.to(resolve_device(str(device))).eval()


def _as_batch(image: ImageLike, channels: int) -> tuple[torch.Tensor, Any]:
    """[B,C,H,W] float batch in [0,1] and a function turning the restored batch back into the input's kind."""
    if isinstance(image, (str, Path)):
        x = read_image(image, channels)[None]
        return x, lambda y: Image.fromarray(to_uint8(y[0]))
    if isinstance(image, Image.Image):
        array = np.asarray(image.convert("L" if channels == 1 else "RGB"))
        x, _ = _as_batch(array, channels)
        return x, lambda y: Image.fromarray(to_uint8(y[0]))
    if isinstance(image, np.ndarray):
        scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(image.dtype, 1.0)
        hwc = image[:, :, None] if image.ndim == 2 else image
        if hwc.ndim != 3 or hwc.shape[2] != channels:
            raise ClearerError(
                f"the model takes {channels}-channel images (H x W{' x 3' if channels == 3 else ''}); "
                f"got an array of shape {image.shape}. Convert the image first."
            )
        x = torch.from_numpy(np.ascontiguousarray(hwc, dtype=np.float32) / scale).permute(2, 0, 1)[None]

        def to_array(y: torch.Tensor) -> np.ndarray:
            out = y[0].permute(1, 2, 0).numpy()
            out = out[:, :, 0] if image.ndim == 2 else out
            if scale == 1.0:
                return out.astype(image.dtype)
            return np.clip(np.round(out * scale), 0, scale).astype(image.dtype)

        return x, to_array
    if isinstance(image, torch.Tensor):
        if image.dim() not in (3, 4) or image.shape[-3] != channels:
            raise ClearerError(
                f"the model takes [C,H,W] or [B,C,H,W] tensors with C={channels}; got shape {tuple(image.shape)}."
            )
        single = image.dim() == 3
        return (image[None] if single else image).float(), lambda y: (y[0] if single else y).to(
            image.device, image.dtype
        )
    raise ClearerError(f"restore takes a tensor, numpy array, PIL image or file path; got {type(image).__name__}.")


def restore(model: nn.Module, image: ImageLike, tile: Tile = "auto", self_ensemble: bool = False) -> Any:
    """Restore one image (or a batch of tensors) of any size with a loaded model; same kind out as in (a
    super-resolution model's output `model.scale` times larger; its tiles are cut in input pixels).

    Tensors ([C,H,W] or [B,C,H,W], floats in [0,1]) come back unclipped on their own device; numpy
    arrays ([H,W] or [H,W,C]; uint8, uint16 or floats in [0,1]) in their dtype; PIL images and file
    paths as PIL images. Sizes are padded to the model's multiple; `tile="auto"` runs an image whole when
    the network's activations for it fit the inference memory budget (2 GiB, CLEARER_INFERENCE_MEMORY) and
    in tiles sized to it otherwise, an int tiles images larger than it in tiles of that size, None runs
    whole images; `self_ensemble` averages the 8 flips/rotations.
    """
    channels = getattr(model, "channels", None) or next(model.parameters()).shape[1]
    x, back = _as_batch(image, channels)
    device = next(model.parameters()).device
    y = restore_image(model, x.to(device), getattr(model, "multiple", 1), tile, TILE_OVERLAP, self_ensemble)
    return back(y.float().cpu())


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
    from .engine.evaluate import evaluate as evaluate_sets
    from .engine.progress import RunLog

    run_dir, overrides = Path(run_dir), dict(overrides or {})
    _check_evaluable(overrides)
    model = load(run_dir, recipe, device="cpu")
    evaluated = Recipe.from_dict(apply_overrides(model.recipe.to_dict(), overrides))
    out = Path(out) if out is not None else run_dir / EVALUATIONS / evaluated.hash()
    if (out / artifacts.WEIGHTS).exists() or ((out / artifacts.RECIPE).exists() and (out / artifacts.ARCH).exists()):
        raise ClearerError(
            f"{out} is a run folder; its metrics.json is never overwritten. "
            f"Choose another --out (default: {run_dir / EVALUATIONS}/<hash>/)."
        )
    device = resolve_device(evaluated.device)
    model.to(device)
    per_image: dict[str, list[dict[str, Any]]] = {}
    log = RunLog(out / artifacts.LOG, verbose)
    log(f"evaluate {run_dir} ({model.recipe.hash()}) with {overrides or 'its own settings'} -> {out}")
    sets = evaluate_sets(evaluated, model, out, device, log, per_image)
    for name, rows in per_image.items():
        sets[name]["per_image"] = rows
    metrics = {
        "run": str(run_dir),
        "run_recipe_hash": model.recipe.hash(),
        "recipe_hash": evaluated.hash(),
        "arch_hash": artifacts.arch_hash(model.architecture),
        "overrides": overrides,
        "sets": sets,
        **artifacts.versions(),
    }
    artifacts.write_json(out / artifacts.RECIPE, evaluated.to_dict())
    artifacts.write_json(out / artifacts.OVERRIDES, overrides)
    artifacts.write_json(out / artifacts.METRICS, metrics)
    _write_per_image_csv(out / PER_IMAGE, per_image)
    return Evaluation(out, metrics)


PER_IMAGE = "per_image.csv"


def _write_per_image_csv(path: Path, per_image: dict[str, list[dict[str, Any]]]) -> None:
    keys = [k for rows in per_image.values() for k in rows[0] if k != "image"] if per_image else []
    columns = ["set", "image"] + list(dict.fromkeys(keys))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for name, rows in per_image.items():
        for row in rows:
            writer.writerow([name, row["image"]] + [f"{row[k]:.5f}" if k in row else "" for k in columns[2:]])
    atomic_write(path, lambda tmp: tmp.write_text(buf.getvalue()))


# -------------------------------------------------------------------------------------------- export


@dataclass
class Export:
    """An exported file and how far it is from the eager model on a real image."""

    path: Path
    max_abs_diff: float
    checked_on: str
    shape: tuple[int, ...]


def _check_image(model: nn.Module, image: str | Path | None) -> tuple[torch.Tensor, str]:
    """A real test input, padded to the model's multiple: the given file, else the first image of the
    run's first test set degraded as evaluation degrades it."""
    from .engine.build import set_name
    from .engine.evaluate import evaluation_pairs, protocol_degradation, recipe_protocol
    from .engine.progress import RunLog
    from .registry import DATASETS

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
    return pad_to_multiple(x, model.multiple)[0], where


def _dynamic_shapes(multiple: int) -> tuple[dict[int, Any], ...]:
    """Batch, height and width free; height and width multiples of `multiple`."""
    from torch.export import Dim

    h, w = Dim("h_blocks", min=1, max=65536 // multiple), Dim("w_blocks", min=1, max=65536 // multiple)
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
) -> Export:
    """Export a run's network to ONNX (torch's dynamo exporter) or a torch.export .pt2 archive with
    free batch, height and width (height and width multiples of the model's `multiple`), then run the
    exported file on a real image and return its largest difference from the eager model."""
    if format not in ("onnx", "pt2"):
        raise ClearerError(f"unknown export format {format!r}; valid: onnx, pt2.")
    model = run if isinstance(run, nn.Module) else load(run, recipe, device="cpu")
    model = model.cpu().eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    net = _Forward(model).eval()
    m = model.multiple
    example = torch.rand(2, model.channels, 4 * m if m > 1 else 32, 6 * m if m > 1 else 48)
    shapes = _dynamic_shapes(m)
    x, where = _check_image(model, image)
    with torch.no_grad():
        expected = net(x)
        if format == "pt2":
            program = torch.export.export(net, (example,), dynamic_shapes=shapes)
            torch.export.save(program, str(out))
            got = torch.export.load(str(out)).module()(x)
        else:
            _need("onnx", "onnxscript", "onnxruntime")
            import onnxruntime

            torch.onnx.export(
                net,
                (example,),
                str(out),
                dynamo=True,
                dynamic_shapes=shapes,
                input_names=["image"],
                output_names=["restored"],
                external_data=False,
                verbose=False,
            )
            session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
            got = torch.from_numpy(session.run(None, {"image": x.numpy()})[0])
    diff = float((got - expected).abs().max())
    return Export(out, diff, where, tuple(x.shape))


def _need(*modules: str) -> None:
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ClearerError(f"ONNX export needs {', '.join(missing)}: pip install 'clearer[export]'.")
