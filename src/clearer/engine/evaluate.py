"""Evaluation: each test pair (a real one, or a clean image degraded with a per-image seed), restored, measured."""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..contracts import Degradation
from ..data.bicubic import imresize
from ..data.datasets import ImageSet
from ..data.paired import PairSource, as_pairs
from ..errors import ClearerError
from ..metrics import Protocol, get_protocol
from ..recipe import Recipe
from ..registry import DATASETS
from ..rundir import artifacts
from ..rundir.progress import RunLog
from ..rundir.strips import save_strip
from ..train import distributed
from ..train.device import use_autocast
from ..train.inference import TILE_OVERLAP, restore_image
from .build import build_degradation, data_scale, set_name, upright

# input (degraded-image) scores per test set: they depend only on the set, protocol and degradation,
# so a process that evaluates many models (comparisons, sweeps) measures them once
_INPUT_SCORES: dict[str, dict[int, dict[str, float]]] = {}  # per set: image index -> input scores


def recipe_protocol(recipe: Recipe) -> Protocol:
    """The recipe's measurement protocol at its scale (super-resolution: cropped and shaved by it)."""
    return get_protocol(recipe.evaluate.protocol).at_scale(data_scale(recipe))


def as_measured_input(degraded: Tensor, target: Tensor) -> Tensor:
    """The input as it is scored and shown beside the output: itself, or for super-resolution its
    MATLAB-bicubic upscaling to the target's size (the bicubic baseline every SR table lists)."""
    if degraded.shape[-2:] == target.shape[-2:]:
        return degraded
    scale = target.shape[-1] // degraded.shape[-1]
    if target.shape[-2:] != (degraded.shape[-2] * scale, degraded.shape[-1] * scale):
        raise ClearerError(
            f"input {tuple(degraded.shape[-2:])} and target {tuple(target.shape[-2:])} are not one integer scale apart."
        )
    return imresize(degraded, scale, quantize=True)


def protocol_degradation(recipe: Recipe, protocol: Protocol) -> Degradation:
    """The recipe's degradation with the input post-processing (clip/8-bit) the protocol prescribes."""
    if recipe.data.degradation["name"] == "gaussian":
        return build_degradation(recipe, clip=protocol.clip_input, quantize=protocol.quantize_input)
    return build_degradation(recipe)


def evaluation_pairs(
    dataset: PairSource | ImageSet, channels: int, protocol: Protocol, degrade: Degradation, log: RunLog
) -> Iterator[tuple[Tensor, Tensor, str]]:
    """(input, target, file stem) with [1,C,H,W] images as the protocol measures them; a degradation
    draws from a generator seeded by the image's index.

    A pair whose input equals its target measures nothing (infinite PSNR) and is skipped."""
    source = as_pairs(dataset, degrade)
    for i, (image, path) in enumerate(zip(source.images(channels), source.inputs)):
        inp, target = source.split(protocol.prepare(image)[None], torch.Generator().manual_seed(i))
        if torch.equal(inp, target):
            log(f"skipping {path}: input and target are identical")
            continue
        yield inp, target, path.stem


def colors(channels: int, protocol: Protocol | None = None) -> dict[str, str]:
    """Metric suffix -> colour space: gray images once; colour images on RGB and on BT.601 Y, unsuffixed
    in the protocol's own colour (the `sr` protocol's "psnr" is the Y figure, "psnr_rgb" the RGB one)."""
    if channels != 3:
        return {"": "rgb"}
    return {"": "y", "_rgb": "rgb"} if protocol is not None and protocol.color == "y" else {"": "rgb", "_y": "y"}


def input_key(dataset: Any, channels: int, protocol: Protocol, degradation: str) -> str:
    """What the scores of a test set's degraded inputs depend on: its files (and their modification
    times), channels, protocol, degradation; "" (never reused) for a set that is not plain data."""
    if not dataclasses.is_dataclass(dataset):
        return ""
    files = getattr(dataset, "pairs", None) or getattr(dataset, "paths", [])
    stamps = [Path(f).stat().st_mtime_ns for pair in files for f in (pair if isinstance(pair, tuple) else [pair])]
    return repr((dataset, stamps, channels, protocol, degradation, distributed.world_size()))


def evaluate(
    recipe: Recipe,
    model: nn.Module,
    out: Path,
    device: torch.device,
    log: RunLog,
    per_image: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Metrics of `model` on every test set of the recipe; sample images go to out/samples.

    `per_image`, when given, receives each set's rows of per-image scores (this process's share)."""
    cfg, channels = recipe.evaluate, recipe.data.channels
    protocol = recipe_protocol(recipe)
    degrade = protocol_degradation(recipe, protocol)
    upscaled = data_scale(recipe) > 1  # super-resolution: the input is scored as its bicubic upscaling
    sideways_unseen = upright(recipe)  # self-ensemble: no quarter turns of rain that falls down
    model.eval()
    memory = torch.channels_last if recipe.channels_last else torch.contiguous_format
    autocast = use_autocast(recipe.autocast, device)

    def net(x: Tensor) -> Tensor:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            return model(x.contiguous(memory_format=memory)).float()

    results: dict[str, Any] = {}
    for ref in cfg.sets:
        name, dataset = set_name(ref), DATASETS.build(ref)
        source = as_pairs(dataset, degrade)
        t0 = time.time()
        sums: dict[str, float] = {}
        degradation = source.describe()
        input_id = input_key(dataset, channels, protocol, degradation)
        # the degraded inputs' per-image scores depend only on the set, protocol and degradation
        cached = _INPUT_SCORES.get(input_id) if input_id else None
        inputs: dict[int, dict[str, float]] = cached if cached is not None else defaultdict(dict)
        with log.progress(f"evaluate {name}", len(dataset)) as bar:
            for i, (degraded, clean, image_name) in enumerate(
                evaluation_pairs(source, channels, protocol, degrade, log)
            ):
                if i % distributed.world_size() != distributed.rank():  # evaluation is sharded over processes
                    continue
                restored = restore_image(
                    net,
                    degraded.to(device),
                    getattr(model, "multiple", 1),
                    cfg.tile,
                    TILE_OVERLAP,
                    cfg.self_ensemble,
                    upright=sideways_unseen,
                ).cpu()
                if restored.shape != clean.shape:
                    raise ClearerError(
                        f"{name}/{image_name}: the network made {tuple(restored.shape[-2:])} of a "
                        f"{tuple(degraded.shape[-2:])} input, but the target is {tuple(clean.shape[-2:])}: the test "
                        "set's inputs are not made at the network's scale (e.g. set5 scale=3 for a ×2 network); "
                        "give the set the degradation's scale."
                    )
                shown = as_measured_input(degraded, clean)
                sums["count"] = sums.get("count", 0.0) + 1
                row: dict[str, Any] = {"image": image_name}
                for suffix, color in colors(channels, protocol).items():
                    measured = protocol.measure(restored, clean, color=color, postprocess=True)
                    row.update({f"{metric}{suffix}": value for metric, value in measured.items()})
                    if cached is None:
                        measured = protocol.measure(shown, clean, color=color, postprocess=False)
                        inputs[i].update({f"input_{metric}{suffix}": value for metric, value in measured.items()})
                row.update(inputs[i])
                for key, value in row.items():
                    if key != "image":
                        sums[key] = sums.get(key, 0.0) + value
                if per_image is not None:
                    per_image.setdefault(name, []).append(row)
                if i < cfg.samples and distributed.is_main():
                    save_strip(
                        out / artifacts.SAMPLES / f"{name}-{i:03d}-input-output-clean.png",
                        [shown[0], protocol.postprocess(restored[0]), clean[0]],
                        [
                            f"{'bicubic' if upscaled else 'input'} {row['input_psnr']:.2f} dB",
                            f"output {row['psnr']:.2f} dB",
                            "clean",
                        ],
                    )
                bar.advance()
        keys = [
            f"{side}{m}{suffix}"
            for suffix in colors(channels, protocol)
            for side in ("input_", "")
            for m in ("psnr", "ssim")
        ]
        sums = distributed.sum_values({k: sums.get(k, 0.0) for k in keys + ["count"]})
        count = int(sums.pop("count"))
        if count == 0:
            raise ClearerError(f"no image of {name} measures anything: in every pair the input equals the target.")
        if input_id and cached is None:
            _INPUT_SCORES[input_id] = dict(inputs)
        results[name] = {k: round(v / count, 5) for k, v in sums.items()}
        results[name].update(
            images=count,
            protocol=protocol.name,
            color=protocol.color if channels == 3 else "gray",
            degradation=degradation,
            self_ensemble=cfg.self_ensemble,
            precision="bf16 autocast" if autocast else "float32",
            seconds=round(time.time() - t0, 1),
        )
        r = results[name]
        log(
            f"evaluate {name}: PSNR {r['psnr']:.2f} dB, SSIM {r['ssim']:.4f} "
            + (
                f"(bicubic {r['input_psnr']:.2f} dB / {r['input_ssim']:.4f})"
                if upscaled
                else f"(input {r['input_psnr']:.2f} dB)"
            )
            + (f", Y: {r['psnr_y']:.2f} dB / {r['ssim_y']:.4f}" if "psnr_y" in r else "")
            + (f", RGB: {r['psnr_rgb']:.2f} dB / {r['ssim_rgb']:.4f}" if "psnr_rgb" in r else "")
            + f" on {count} images, protocol {protocol.name}"
            + (f" (Y, {protocol.shave} px shaved)" if upscaled else "")
        )
    return results
