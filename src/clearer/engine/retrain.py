"""Retrain phase: build the derived architecture from scratch and train it (Adam, cosine decay)."""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..recipe import Recipe
from ..registry import DATASETS, LOSSES
from ..strategies.base import restore_forward
from . import artifacts as A
from . import distributed as D
from .build import use_autocast, build_degradation, build_space
from .checkpoint import load_module_state, load_state, save_state, save_weights
from .device import adam, compiled, configure, use_compile
from .loop import run_epochs
from .pairs import make_stream
from .progress import RunLog
from .tracking import Tracker
from .validation import Validation


def cosine(step: int, total: int, lr: float, min_lr: float) -> float:
    t = min(step / max(total, 1), 1.0)
    return min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * t))


def train_step(network: nn.Module, optimizer: torch.optim.Optimizer, batch: tuple[torch.Tensor, torch.Tensor],
               loss_fn: Any, autocast: bool, grad_clip: float) -> torch.Tensor:
    """One clipped optimiser step on a (degraded, clean) batch; the loss comes back as a device tensor."""
    loss = restore_forward(network, batch, loss_fn, autocast)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], grad_clip)
    optimizer.step()
    return loss.detach()


def retrain(recipe: Recipe, arch: dict[str, Any], out: Path, device: torch.device, log: RunLog) -> nn.Module:
    """Train the fixed architecture; writes model.safetensors and returns the trained model."""
    cfg, data = recipe.retrain, recipe.data
    torch.manual_seed(recipe.seed + 1)
    configure(device)
    model = build_space(recipe, arch["architecture"]).to(device)
    if recipe.channels_last:
        model = model.to(memory_format=torch.channels_last)
    network = D.wrap(model, device)
    optimizer = adam(model.parameters(), cfg.lr, weight_decay=cfg.weight_decay)
    loss_fn = LOSSES.build(cfg.loss)
    stream = make_stream(DATASETS.build(data.train), build_degradation(recipe), data.channels,
                         cfg.patch or data.patch, cfg.batch or data.batch,
                         recipe.seed * 1000 + 500, device, recipe.channels_last)
    total = cfg.epochs * cfg.steps_per_epoch
    autocast = use_autocast(recipe, device)
    state_path = out / A.RETRAIN_STATE
    start, elapsed, steps = 0, 0.0, [0]
    tracker = Tracker(out, recipe.tracking)
    validation = Validation(recipe, device)
    if state_path.exists():
        state = load_state(state_path)
        load_module_state(model, state["model"], state_path)
        optimizer.load_state_dict(state["optimizer"])
        stream.load_state_dict(state["stream"])
        start, elapsed = state["epoch"], state["elapsed"]
        validation.best = state.get("best", validation.best)
        steps[0] = start * cfg.steps_per_epoch
        log(f"retrain: resuming after epoch {start} from {state_path}")
    params = sum(p.numel() for p in model.parameters())
    log(f"retrain: {params / 1e6:.3f}M parameters, {total} steps, Adam lr {cfg.lr:g} cosine to {cfg.min_lr:g}, "
        f"{'bf16 autocast' if autocast else 'float32'}, on {stream.describe()}")
    t0 = time.time() - elapsed

    def step(epoch: int) -> dict[str, torch.Tensor]:
        for group in optimizer.param_groups:
            group["lr"] = cosine(steps[0], total, cfg.lr, cfg.min_lr)
        loss = train_step(network, optimizer, next(stream), loss_fn, autocast, cfg.grad_clip)
        steps[0] += 1
        return {"loss": loss}

    def weights_meta() -> dict[str, Any]:
        return {"recipe_hash": recipe.hash(), "seed": recipe.seed, "architecture": arch["architecture"],
                "arch_hash": arch["hash"], "space": recipe.space, "channels": data.channels,
                "retrain_seconds": round(time.time() - t0, 1), "params": params, **A.versions()}

    def end_epoch(epoch: int, means: dict[str, float]) -> None:
        scores = validation.run(model, tracker, epoch + 1)
        if scores.get("improved") and D.is_main():
            save_weights(out / A.BEST_WEIGHTS, model, {**weights_meta(), "epoch": epoch + 1,
                                                       "val_psnr": scores["val_psnr"]})
        tracker.log("retrain", epoch + 1, {**means, "lr": optimizer.param_groups[0]["lr"],
                                           **{k: v for k, v in scores.items() if k != "improved"}})
        if D.is_main():
            save_state(state_path, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                    "stream": stream.state_dict(), "epoch": epoch + 1,
                                    "elapsed": time.time() - t0, "best": validation.best})

    model.train()
    with compiled(model, device, use_compile(recipe.compile, device), D.active()):
        run_epochs(log, "retrain", cfg.epochs, cfg.steps_per_epoch, start, step, end_epoch, state_path)
    seconds = round(time.time() - t0, 1)
    if D.is_main():
        save_weights(out / A.WEIGHTS, model, weights_meta())
    log(f"retrain: done in {seconds:.0f}s" + validation.summary())
    model.retrain_seconds = seconds
    return model
