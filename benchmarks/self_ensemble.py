"""Self-ensemble views of a finished run, on its own test sets: none, all 8 flips/turns, the 4 upright ones.

    CLEARER_DATA=/path/to/data python benchmarks/self_ensemble.py RUN_DIR [RUN_DIR ...]

Why: a derainer trains on rain that falls within a cone around vertical (clean crops are turned before
the rain is drawn), so the quarter turns of the usual 8-view ensemble show it sideways rain it never
saw; `clearer evaluate --set evaluate.self_ensemble=True` now averages the 4 upright views for such a
run (`engine.build.upright`). This script measures all three choices whatever the run's recipe says, on
the protocol, colour and precision `clearer evaluate` uses, and prints the mean PSNR per set (Y and RGB
for colour runs) with the seconds each took.
"""

from __future__ import annotations

import argparse
import time

import torch

import clearer
from clearer.engine.build import set_name
from clearer.engine.evaluate import colors, evaluation_pairs, protocol_degradation, recipe_protocol
from clearer.registry import DATASETS
from clearer.rundir.progress import RunLog
from clearer.train.device import use_autocast
from clearer.train.inference import TILE_OVERLAP, restore_image

CHOICES = {"none": None, "8 views": False, "4 upright": True}  # name -> restore_image's `upright`; None: no ensemble


def measure(run: str) -> None:
    model = clearer.load(run)
    recipe = model.recipe
    protocol, device = recipe_protocol(recipe), torch.device("cpu")
    degrade, autocast = protocol_degradation(recipe, protocol), use_autocast(recipe.autocast, device)

    def net(x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            return model(x).float()

    print(f"{run}  (model.upright={model.upright}, {'bf16 autocast' if autocast else 'float32'})")
    for ref in recipe.evaluate.sets:
        pairs = list(evaluation_pairs(DATASETS.build(ref), recipe.data.channels, protocol, degrade, RunLog(None)))
        for choice, upright in CHOICES.items():
            t0, sums = time.time(), {}
            ensemble = dict(self_ensemble=upright is not None, upright=bool(upright))
            for degraded, clean, _ in pairs:
                restored = restore_image(net, degraded, model.multiple, recipe.evaluate.tile, TILE_OVERLAP, **ensemble)
                for color in colors(recipe.data.channels, protocol).values():
                    sums[color] = sums.get(color, 0.0) + protocol.measure(restored, clean, color=color)["psnr"]
            figures = "  ".join(f"{color} {total / len(pairs):.2f} dB" for color, total in sums.items())
            print(f"  {set_name(ref):<18} {choice:>9}: {figures}  ({time.time() - t0:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    for run in parser.parse_args().runs:
        measure(run)


if __name__ == "__main__":
    main()
