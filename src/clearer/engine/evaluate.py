"""Evaluation: degrade each test image with a per-image seed, restore it, measure under a protocol."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data.images import save_image
from ..metrics import get_protocol
from ..recipe import Recipe
from . import artifacts as A
from .build import build_dataset, build_degradation, set_name
from .inference import restore_image
from .progress import RunLog

OVERLAP = 64


def protocol_degradation(recipe: Recipe, protocol: Any) -> Any:
    """The recipe's degradation with the input post-processing (clip/8-bit) the protocol prescribes."""
    ref = recipe.data.degradation
    if ref["name"] == "gaussian":
        return build_degradation(recipe, clip=protocol.clip_input, quantize=protocol.quantize_input)
    return build_degradation(recipe)


def evaluate(recipe: Recipe, model: nn.Module, out: Path, device: torch.device, log: RunLog) -> dict[str, Any]:
    """Metrics of `model` on every test set of the recipe; sample images go to out/samples."""
    cfg = recipe.evaluate
    protocol = get_protocol(cfg.protocol)
    degrade = protocol_degradation(recipe, protocol)
    model.eval()
    memory = torch.channels_last if recipe.channels_last else torch.contiguous_format
    net = lambda x: model(x.contiguous(memory_format=memory))  # noqa: E731
    results: dict[str, Any] = {}
    for ref in cfg.sets:
        name = set_name(ref)
        images = build_dataset(ref).load(recipe.data.channels)
        t0 = time.time()
        rows = []
        with log.progress(f"evaluate {name}", len(images)) as bar:
            for i, image in enumerate(images):
                clean = protocol.prepare(image).to(device)
                noisy = degrade(clean[None].cpu(), torch.Generator().manual_seed(i)).to(device)
                restored = restore_image(net, noisy, getattr(model, "multiple", 1), cfg.tile, OVERLAP,
                                         cfg.self_ensemble)
                rows.append({"input": protocol.measure(noisy, clean[None]),
                             "output": protocol.measure(restored, clean[None])})
                if i < cfg.samples:
                    strip = torch.cat([noisy[0], protocol.postprocess(restored[0]), clean], dim=-1)
                    save_image(out / A.SAMPLES / f"{name}-{i:03d}-input-output-clean.png", strip.cpu())
                bar.advance()
        mean = lambda side, key: sum(r[side][key] for r in rows) / len(rows)  # noqa: E731
        results[name] = {
            "psnr": round(mean("output", "psnr"), 4), "ssim": round(mean("output", "ssim"), 5),
            "input_psnr": round(mean("input", "psnr"), 4), "input_ssim": round(mean("input", "ssim"), 5),
            "images": len(rows), "degradation": degrade.describe(), "protocol": protocol.name,
            "self_ensemble": cfg.self_ensemble, "seconds": round(time.time() - t0, 1)}
        log(f"evaluate {name}: PSNR {results[name]['psnr']:.2f} dB, SSIM {results[name]['ssim']:.4f} "
            f"(input {results[name]['input_psnr']:.2f} dB) on {len(rows)} images, protocol {protocol.name}")
    return results
