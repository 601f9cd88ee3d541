"""Retrain phase: build the derived architecture from scratch and train it (the one `Trainer`: Adam,
cosine decay, clipping)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..recipe import Recipe
from ..registry import LOSSES
from ..rundir import artifacts
from ..rundir.artifacts import ArchRecord
from ..rundir.progress import RunLog
from ..rundir.tracking import Tracker
from ..train import distributed
from ..train.checkpoint import save_weights
from ..train.device import compiled, configure, use_autocast, use_compile
from ..train.trainer import OptimConfig, Trainer
from .build import build_space, build_stream, cost_match, network_ref
from .epoch_validation import Validation
from .loop import PhaseState, run_epochs


@dataclass
class RetrainOutcome:
    """The trained network (as in model.safetensors) and how long training took."""

    model: nn.Module
    seconds: float


def retrain(recipe: Recipe, arch: ArchRecord, out: Path, device: torch.device, log: RunLog) -> RetrainOutcome:
    """Train the fixed architecture; writes model.safetensors."""
    cfg, data = recipe.retrain, recipe.data
    torch.manual_seed(recipe.seed + 1)
    configure(device)
    model = build_space(recipe, arch.architecture).to(device)
    if recipe.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optim = OptimConfig(
        optimizer="adam", lr=cfg.lr, min_lr=cfg.min_lr, weight_decay=cfg.weight_decay, grad_clip=cfg.grad_clip
    )
    trainer = Trainer(
        distributed.wrap(model, device),
        model.parameters(),
        optim,
        cfg.epochs * cfg.steps_per_epoch,
        LOSSES.build(cfg.loss),
        use_autocast(recipe.autocast, device),
    )
    stream = build_stream(recipe, data.train, recipe.seed * 1000 + 500, device, cfg.patch, cfg.batch)
    tracker = Tracker(out, recipe.tracking)
    validation = Validation(recipe, device)
    state = PhaseState(
        "retrain",
        out / artifacts.RETRAIN_STATE,
        {"model": model, "trainer": trainer, "stream": stream},
        lambda: {"best": validation.best},
    )
    validation.best = state.resume(log).get("best", validation.best)
    params = sum(p.numel() for p in model.parameters())
    match = cost_match(recipe, arch.architecture)
    if match is not None:
        log(
            f"retrain: width {match.width:g} for {match.reached:,.0f} {match.kind} "
            f"(retrain.match_cost {match.target:,.0f}, {match.error:+.1%})"
        )
    log(
        f"retrain: {params / 1e6:.3f}M parameters, {trainer.total_steps} steps, {optim.describe()}, "
        f"{'bf16 autocast' if trainer.autocast else 'float32'}, on {stream.describe()}"
    )

    def weights_meta() -> dict[str, Any]:
        return {
            "recipe_hash": recipe.hash(),
            "seed": recipe.seed,
            "architecture": arch.architecture,
            "arch_hash": arch.hash,
            "space": network_ref(recipe, arch.architecture),
            "channels": data.channels,
            "retrain_seconds": state.seconds(),
            "params": params,
            **artifacts.versions(),
        }

    model.train()
    with compiled(model, device, use_compile(recipe.compile, device), distributed.active()):
        for epoch, means in run_epochs(
            state,
            log=log,
            epochs=cfg.epochs,
            steps_per_epoch=cfg.steps_per_epoch,
            step=lambda epoch: {"loss": trainer.step(next(stream))},
        ):
            scores = validation.run(model, tracker, epoch + 1)
            if scores.get("improved") and distributed.is_main():
                save_weights(
                    out / artifacts.BEST_WEIGHTS,
                    model,
                    {**weights_meta(), "epoch": epoch + 1, "val_psnr": scores["val_psnr"]},
                )
            tracker.log(
                "retrain",
                epoch + 1,
                {**means, "lr": trainer.last_lr(), **{k: v for k, v in scores.items() if k != "improved"}},
            )
    seconds = state.seconds()
    if distributed.is_main():
        save_weights(out / artifacts.WEIGHTS, model, weights_meta())
    log(f"retrain: done in {seconds:.0f}s" + validation.summary())
    return RetrainOutcome(model, seconds)
