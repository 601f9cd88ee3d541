"""Run a few search steps of recipes/bsd.py (smoke) and save α and weights of this process.

Launched by tests/test_distributed.py, once under torchrun with 2 processes and once alone.
    python tests/ddp_search_worker.py RECIPE OUT BATCH RESULT_DIR
"""

import sys
from pathlib import Path

import torch

from clearer.engine.search import search
from clearer.recipe import load_recipe
from clearer.rundir.progress import RunLog
from clearer.train import distributed
from clearer.train.checkpoint import save_state

recipe_path, out, batch, result = sys.argv[1:5]
with distributed.process_group():
    recipe = load_recipe(recipe_path).resolve(
        "smoke",
        {
            "data.batch": int(batch),
            "search.epochs": 2,
            "search.steps_per_epoch": 3,
            "channels_last": False,
            "autocast": "none",
        },
    )
    outcome = search(recipe, Path(out), torch.device("cpu"), RunLog(None, verbose=False))
    save_state(
        Path(result) / f"rank{distributed.rank()}.safetensors",
        {"space": outcome.space.state_dict(), "alpha": outcome.strategy.state_dict()["alpha"]},
    )
