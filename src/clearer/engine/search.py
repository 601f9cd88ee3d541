"""Search phase: train a supernet with a strategy, log α every epoch, derive the architecture."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..contracts import SearchContext, Strategy
from ..losses import binary_entropy
from ..recipe import Recipe
from ..registry import LOSSES, STRATEGIES
from ..rundir import artifacts
from ..rundir.artifacts import ArchRecord, arch_summary
from ..rundir.progress import RunLog
from ..rundir.tracking import Tracker, alpha_columns
from ..spaces.cost import candidate_costs
from ..strategies.base import architecture_weights
from ..train import distributed
from ..train.device import compiled, configure, use_autocast, use_compile
from .build import build_space, build_stream, set_name
from .loop import PhaseState, run_epochs
from .one_shot import RECALIBRATION_BATCHES, Batches, one_shot_estimates, score


@dataclass
class SearchOutcome:
    """The architecture record (as in arch.json) and the trained supernet and strategy behind it."""

    record: ArchRecord
    space: torch.nn.Module
    strategy: Strategy


def search(recipe: Recipe, out: Path, device: torch.device, log: RunLog) -> SearchOutcome:
    """Run (or resume) the search and write arch.json."""
    cfg, data = recipe.search, recipe.data
    torch.manual_seed(recipe.seed)
    configure(device)
    space = build_space(recipe).to(device)
    if recipe.channels_last:
        space = space.to(memory_format=torch.channels_last)
    network = distributed.wrap(space, device)
    costs = candidate_costs(space, cfg.cost, data.channels)
    arch_losses = {name: (weight, LOSSES.get(name)) for name, weight in cfg.arch_losses.items()}
    ctx = SearchContext(
        restore_loss=LOSSES.build(cfg.loss),
        arch_losses=arch_losses,
        costs=costs,
        total_steps=cfg.epochs * cfg.steps_per_epoch,
        steps_per_epoch=cfg.steps_per_epoch,
        autocast=use_autocast(recipe.autocast, device),
        grad_sync=distributed.average_,
    )
    # a space without choice points (a plain network) has nothing to search
    strategy: Strategy = STRATEGIES.build(cfg.strategy if space.choices() else {"name": "fixed", "architecture": {}})
    strategy.prepare(space, network, ctx)
    seed = recipe.seed * 1000
    # the two splits differ only in data and seed
    train_stream, alpha_stream = (
        build_stream(recipe, data.train, seed, device),
        build_stream(recipe, data.alpha, seed + 7, device),
    )
    candidates = {c.label: c.candidates for c in space.choices()}
    history: list[dict[str, Any]] = []
    streams = {"train_stream": train_stream, "alpha_stream": alpha_stream}
    state = PhaseState(
        "search",
        out / artifacts.SEARCH_STATE,
        {"space": space, "strategy": strategy, **streams},
        lambda: {"history": history},
    )
    history.extend(state.resume(log).get("history", []))
    log(
        f"search: {sum(p.numel() for p in space.parameters()) / 1e6:.2f}M supernet parameters, "
        f"{len(candidates)} choice points, strategy {cfg.strategy['name']}, weights on "
        f"{train_stream.describe()}, α on {alpha_stream.describe()}, {'bf16 autocast' if ctx.autocast else 'float32'}"
    )
    if strategy.describe():
        log(f"search: {strategy.describe()}")
    tracker = Tracker(out, recipe.tracking)
    epochs = cfg.epochs if strategy.searches else 0  # e.g. `fixed`: nothing to learn

    space.train()
    with compiled(space, device, use_compile(recipe.compile, device), distributed.active()):
        for epoch, means in run_epochs(
            state,
            log=log,
            epochs=epochs,
            steps_per_epoch=cfg.steps_per_epoch,
            step=lambda epoch: strategy.step(next(train_stream), next(alpha_stream), epoch),
            status=lambda: arch_summary(strategy.derive()),
        ):
            signal = strategy.alpha_signal()
            if signal:
                log(
                    f"search epoch {epoch + 1} α-gradient signal/noise: "
                    + ", ".join(
                        f"{label} {v['snr']:.2f} ({v['grad_mean']:.2e}/{v['grad_std']:.2e})"
                        for label, v in signal.items()
                    )
                )
            history.append(
                {"epoch": epoch + 1, "probabilities": strategy.probability_lists(), "signal": signal, **means}
            )
            tracker.log(
                "search",
                epoch + 1,
                {**means, **strategy.learning_rates(), **alpha_columns(history[-1]["probabilities"], candidates)},
            )
            if distributed.is_main():
                artifacts.write_alpha_csv(out / artifacts.ALPHA, history, candidates)
    architecture = strategy.derive()
    seconds = state.seconds()
    summary = None
    if strategy.searches and candidates:
        summary = search_summary(strategy.probability_lists(), log)
        crops = fixed_crops(recipe, data.alpha, GAP_SEED, GAP_CROPS, device)
        summary.update(discretisation_gap(recipe, space, strategy, architecture, crops, device))
        log(
            f"search: discretisation gap {summary['discretisation_gap_db']:.3f} dB (supernet "
            f"{summary['supernet_psnr']:.2f} dB, derived with inherited weights {summary['inherited_psnr']:.2f} dB "
            f"on {summary['gap_set']})"
        )
        if cfg.one_shot:
            train_batches = fixed_crops(recipe, data.train, GAP_SEED + 1, RECALIBRATION_BATCHES * data.batch, device)
            estimates = one_shot_estimates(space, crops, train_batches, data.channels, cfg.one_shot, log)
            summary["one_shot"] = {**estimates, "space": recipe.space}
    record = ArchRecord(
        architecture,
        strategy.probability_lists(),
        candidates,
        space=recipe.space,
        strategy=cfg.strategy["name"],
        search_seconds=seconds,
        search=summary,
    )
    if distributed.is_main():
        record.write(out / artifacts.ARCH)
    log(
        f"search: done in {record.search_seconds:.0f}s, architecture {record.hash}: "
        + ", ".join(f"{k}={v}" for k, v in architecture.items())
    )
    return SearchOutcome(record, space, strategy)


def search_summary(probabilities: dict[str, list[float]], log: RunLog) -> dict[str, Any]:
    """How decided the search ended: mean binary entropy (nats), the least decided choice point's
    top probability; warns, naming them, when some choice point ended within 0.1 of uniform."""
    probs = {label: torch.tensor(p, dtype=torch.float64) for label, p in probabilities.items()}
    entropy = float(binary_entropy(probs, {}))
    undecided = {label: max(p) for label, p in probabilities.items() if max(p) - 1 / len(p) < 0.1}
    if undecided:
        log(
            "search: WARNING the search did not decide: "
            + ", ".join(f"{label} (top p={p:.3f})" for label, p in undecided.items())
            + ". Raise search.strategy.alpha.movement or the search budget, or see docs/search.md."
        )
    return {
        "final_entropy": round(entropy, 6),
        "min_max_prob": round(min(max(p) for p in probabilities.values()), 6),
        "decided": not undecided,
    }


GAP_CROPS, GAP_SEED = 64, 99991


def fixed_crops(recipe: Recipe, dataset: dict[str, Any], seed: int, count: int, device: torch.device) -> Batches:
    """`count` seeded crops (at least one batch) of a split at the training patch size, as batches."""
    data = recipe.data
    stream = build_stream(recipe, dataset, seed, device)
    return [next(stream) for _ in range(max(count // data.batch, 1))]


@torch.no_grad()
def discretisation_gap(
    recipe: Recipe,
    space: torch.nn.Module,
    strategy: Strategy,
    architecture: dict[str, str],
    crops: Batches,
    device: torch.device,
) -> dict[str, Any]:
    """PSNR of the supernet with its α minus PSNR of the derived network with the supernet's weights
    (before retraining), BatchNorm in eval mode, on fixed seeded crops of the α split (the paper's claim:
    the binarisation loss makes this gap small)."""
    space.set_weights({k: v.detach().to(device) for k, v in strategy.probabilities().items()})
    supernet = score(space, crops)
    space.set_weights(*architecture_weights(space, architecture, device))
    inherited = score(space, crops)
    data = recipe.data
    return {
        "discretisation_gap_db": round(supernet - inherited, 4),
        "supernet_psnr": round(supernet, 4),
        "inherited_psnr": round(inherited, 4),
        "gap_set": f"{sum(len(x) for x, _ in crops)} {data.patch}x{data.patch} crops of the α split "
        f"({set_name(data.alpha)}, seed {GAP_SEED})",
    }
