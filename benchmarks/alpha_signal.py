"""Signal-to-noise of the architecture gradient, and what raises it per second of search.

Trains a recipe's supernet with its strategy's weight steps (uniform α, as in warm-up) and, after each
of the given numbers of weight steps, takes `--grads` α gradients of L_restore on fresh batches of the
architecture split at those fixed weights (no α update). Per choice point it prints ‖mean g‖, the
spread of g around the mean and their ratio (the SNR of one α step); then the mean SNR over choice
points, seconds per α gradient and SNR²/s: averaging n gradients multiplies SNR² by n, so SNR²/s
says how fast a setting gathers evidence about α.

    python benchmarks/alpha_signal.py --profile quick --set data.degradation.sigma=25 \\
        --after 0,25,50,100 --grads 10 [--set space.search_init=0.1] [--set data.batch=64]
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def measure(recipe_path: str, profile: str, overrides: dict, after: list[int], grads: int) -> list[dict]:
    from clearer.data.stream import make_stream
    from clearer.engine.build import (
        build_degradation,
        build_space,
    )
    from clearer.nn.mode import train_mode
    from clearer.recipe import load_recipe
    from clearer.registry import DATASETS, LOSSES, STRATEGIES
    from clearer.spaces.cost import candidate_costs
    from clearer.strategies.base import SearchContext, grads_of
    from clearer.train.trainer import restore_forward

    recipe = load_recipe(recipe_path).resolve(profile, overrides)
    cfg, data = recipe.search, recipe.data
    torch.manual_seed(recipe.seed)
    space = build_space(recipe).to(memory_format=torch.channels_last)
    ctx = SearchContext(
        restore_loss=LOSSES.build(cfg.loss),
        arch_losses={},
        costs=candidate_costs(space, cfg.cost, data.channels),
        total_steps=cfg.epochs * cfg.steps_per_epoch,
        steps_per_epoch=cfg.steps_per_epoch,
    )
    strategy = STRATEGIES.build(cfg.strategy)
    strategy.prepare(space, space, ctx)
    degrade = build_degradation(recipe)
    train = make_stream(
        DATASETS.build(data.train), degrade, data.channels, data.patch, data.batch, 0, torch.device("cpu"), True
    )
    alpha = make_stream(
        DATASETS.build(data.alpha), degrade, data.channels, data.patch, data.batch, 7, torch.device("cpu"), True
    )
    space.train()
    rows, done = [], 0
    for target in after:
        t0 = time.perf_counter()
        while done < target:
            strategy.weight_step(next(train), {k: v.detach() for k, v in strategy.probabilities().items()})
            done += 1
        weight_s = (time.perf_counter() - t0) / max(target - (rows[-1]["after"] if rows else 0), 1)
        alphas = list(strategy.alpha.parameters())
        samples, t0 = [], time.perf_counter()
        for _ in range(grads):
            with train_mode(space, strategy.bn_mode == "train"):
                space.set_weights(strategy.probabilities())
                loss = restore_forward(space, next(alpha), ctx.restore_loss, False)
                samples.append(torch.stack([g.detach().double() for g in grads_of(loss, alphas)]))
        alpha_s = (time.perf_counter() - t0) / grads
        g = torch.stack(samples)  # [grads, choice points, candidates]
        mean = g.mean(0)
        spread = (g - mean).pow(2).sum(-1).mean(0).sqrt()
        snr = mean.norm(dim=-1) / spread
        row = {
            "after": target,
            "snr": [round(float(v), 3) for v in snr],
            "mean_snr": round(float(snr.mean()), 3),
            "grad_mean": float(mean.norm(dim=-1).mean()),
            "alpha_s": round(alpha_s, 3),
            "weight_s": round(weight_s, 3),
            "snr2_per_s": round(float((snr**2).mean()) / alpha_s, 3),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main() -> None:
    from clearer.recipe import parse_set

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default="recipes/bsd.py")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--set", action="append", default=[], dest="sets")
    parser.add_argument("--after", default="0,25,50,100", help="weight steps before each measurement")
    parser.add_argument("--grads", type=int, default=10, help="α gradients per measurement")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = dict(parse_set(s) for s in args.sets)
    print(json.dumps({"recipe": args.recipe, "profile": args.profile, "overrides": overrides}))
    measure(args.recipe, args.profile, overrides, [int(a) for a in args.after.split(",")], args.grads)


if __name__ == "__main__":
    main()
