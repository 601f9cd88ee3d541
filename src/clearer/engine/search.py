"""Search phase: train a supernet with a strategy, log α every epoch, derive the architecture."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..cost import candidate_costs
from ..recipe import Recipe
from ..registry import LOSSES, STRATEGIES
from ..report import arch_summary
from ..strategies.base import SearchContext
from . import artifacts as A
from . import distributed as D
from .build import use_autocast, build, build_dataset, build_degradation, build_space
from .checkpoint import load_state, save_state
from .device import compiled, configure, use_compile
from .loop import run_epochs
from .pairs import make_stream
from .progress import RunLog


@dataclass
class SearchOutcome:
    """The architecture record (as in arch.json) and the trained supernet and strategy behind it."""
    record: dict[str, Any]
    space: torch.nn.Module
    strategy: Any


def search(recipe: Recipe, out: Path, device: torch.device, log: RunLog) -> SearchOutcome:
    """Run (or resume) the search and write arch.json."""
    cfg, data = recipe.search, recipe.data
    torch.manual_seed(recipe.seed)
    configure(device)
    space = build_space(recipe).to(device)
    if recipe.channels_last:
        space = space.to(memory_format=torch.channels_last)
    network = D.wrap(space, device)
    costs = candidate_costs(space, cfg.cost, data.channels)
    arch_losses = {name: (weight, LOSSES.get(name)) for name, weight in cfg.arch_losses.items()}
    ctx = SearchContext(
        restore_loss=build(LOSSES, cfg.loss), arch_losses=arch_losses, costs=costs,
        total_steps=cfg.epochs * cfg.steps_per_epoch, steps_per_epoch=cfg.steps_per_epoch,
        autocast=use_autocast(recipe, device), grad_sync=D.average_)
    # a space without choice points (a plain network) has nothing to search
    strategy = build(STRATEGIES, cfg.strategy if space.choices() else {"name": "fixed", "architecture": {}})
    strategy.prepare(space, network, ctx)
    degrade = build_degradation(recipe)
    seed = recipe.seed * 1000
    train = make_stream(build_dataset(data.train), degrade, data.channels, data.patch, data.batch,
                        seed, device, recipe.channels_last)
    arch = make_stream(build_dataset(data.arch), degrade, data.channels, data.patch, data.batch,
                       seed + 7, device, recipe.channels_last)
    candidates = {c.label: c.candidates for c in space.choices()}
    state_path = out / A.SEARCH_STATE
    history: list[dict[str, Any]] = []
    start, elapsed = 0, 0.0
    if state_path.exists():
        state = load_state(state_path)
        space.load_state_dict(state["space"])
        strategy.load_state_dict(state["strategy"])
        train.load_state_dict(state["train"])
        arch.load_state_dict(state["arch"])
        start, history, elapsed = state["epoch"], state["history"], state["elapsed"]
        log(f"search: resuming after epoch {start} from {state_path}")
    log(f"search: {sum(p.numel() for p in space.parameters()) / 1e6:.2f}M supernet parameters, "
        f"{len(candidates)} choice points, strategy {cfg.strategy['name']}, "
        f"weights on {train.describe()}, α on {arch.describe()}, {'bf16 autocast' if ctx.autocast else 'float32'}")
    t0 = time.time() - elapsed

    def end_epoch(epoch: int, means: dict[str, float]) -> None:
        history.append({"epoch": epoch + 1, "probabilities": strategy.probability_lists(), **means})
        if D.is_main():
            save_state(state_path, {"space": space.state_dict(), "strategy": strategy.state_dict(),
                                    "train": train.state_dict(), "arch": arch.state_dict(),
                                    "epoch": epoch + 1, "history": history, "elapsed": time.time() - t0})
            A.write_alpha_csv(out / A.ALPHA, history, candidates)

    def status() -> str:
        return arch_summary(strategy.derive())

    space.train()
    if not getattr(strategy, "searches", True):  # e.g. `fixed`: nothing to learn
        cfg = dataclasses.replace(cfg, epochs=0)
    with compiled(space, device, use_compile(recipe.compile, device), D.active()):
        run_epochs(log, "search", cfg.epochs, cfg.steps_per_epoch, start,
                   lambda epoch: strategy.step(next(train), next(arch), epoch), end_epoch, state_path, status)
    architecture = strategy.derive()
    record = A.arch_record(architecture, strategy.probability_lists(), candidates,
                           space=recipe.space, strategy=cfg.strategy["name"],
                           search_seconds=round(time.time() - t0, 1))
    if D.is_main():
        A.write_json(out / A.ARCH, record)
    log(f"search: done in {record['search_seconds']:.0f}s, architecture {record['hash']}: "
        + ", ".join(f"{k}={v}" for k, v in architecture.items()))
    return SearchOutcome(record, space, strategy)
