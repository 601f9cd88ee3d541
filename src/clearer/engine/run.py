"""A whole experiment: search -> derive -> retrain -> evaluate, resumable, every artefact on disk."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cost import flops_per_pixel
from ..errors import ClearerError
from ..recipe import Recipe
from . import artifacts as A
from . import distributed as D
from .build import build_space, resolve_device
from .checkpoint import load_weights
from .evaluate import evaluate
from .progress import RunLog
from .retrain import retrain
from .search import search


@dataclass
class RunResult:
    """Where a finished run put its outputs, and its metrics."""
    out: Path
    metrics: dict[str, Any]

    @property
    def arch(self) -> Path:
        return self.out / A.ARCH

    @property
    def weights(self) -> Path:
        return self.out / A.WEIGHTS

    @property
    def metrics_file(self) -> Path:
        return self.out / A.METRICS


def default_out(recipe: Recipe, root: Path = Path("runs")) -> Path:
    return root / recipe.name / time.strftime("%Y%m%d-%H%M%S")


def fixed_architecture(recipe: Recipe) -> dict[str, Any] | None:
    """A recipe that gives `retrain.architecture` skips the search."""
    given = recipe.retrain.architecture
    if given is None:
        return None
    space = build_space(recipe)
    candidates = {c.label: c.candidates for c in space.choices()}
    return A.arch_record(given, None, candidates, space=recipe.space, strategy="fixed", search_seconds=0.0)


def run(recipe: Recipe, out: Path, overrides: dict[str, Any] | None = None, verbose: bool = True,
        resume: bool = False) -> RunResult:
    """Run every phase not yet finished in `out` (a fresh folder, or one being resumed)."""
    out = Path(out)
    if not resume and (out / A.RECIPE).exists():
        raise ClearerError(
            f"{out} already holds a run. Use --resume {out} to continue it, or choose another --out.")
    D.barrier()  # every rank has checked `out` before rank 0 writes into it
    log = RunLog(out / A.LOG if D.is_main() else None, verbose and D.is_main())
    if D.is_main():
        out.mkdir(parents=True, exist_ok=True)
        A.write_json(out / A.RECIPE, recipe.to_dict())
        if not resume:
            A.write_json(out / A.OVERRIDES, overrides or {})
    device = resolve_device(recipe.device)
    log(f"run {recipe.name} ({recipe.hash()}) on {device} -> {out}")
    times: dict[str, float] = {}

    if (out / A.ARCH).exists():
        arch = A.read_json(out / A.ARCH)
        log(f"search: already done ({arch['hash']})")
    else:
        arch = fixed_architecture(recipe)
        if arch is not None:
            A.write_json(out / A.ARCH, arch)
            log(f"search: skipped, fixed architecture {arch['hash']}")
        else:
            arch = search(recipe, out, device, log).record
    times["search_s"] = arch["search_seconds"]

    if (out / A.WEIGHTS).exists():
        model = build_space(recipe, arch["architecture"]).to(device)
        meta = load_weights(out / A.WEIGHTS, model)
        times["retrain_s"] = meta.get("retrain_seconds", 0.0)
        log("retrain: already done")
    else:
        model = retrain(recipe, arch, out, device, log)
        times["retrain_s"] = model.retrain_seconds

    t0 = time.time()
    per_image: dict[str, list[dict[str, Any]]] = {}
    sets = evaluate(recipe, model, out, device, log, per_image)
    for name in sets:  # per-image scores beside each set's means, from every process
        rows = sorted(D.gather_lists(per_image.get(name, [])), key=lambda row: row["image"])
        sets[name]["per_image"] = [{k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()}
                                   for row in rows]
    times["evaluate_s"] = round(time.time() - t0, 1)
    metrics = {
        "recipe": recipe.name, "recipe_hash": recipe.hash(), "seed": recipe.seed,
        "architecture": arch["architecture"], "arch_hash": arch["hash"],
        "params": sum(p.numel() for p in model.parameters()),
        "flops_per_pixel": round(flops_per_pixel(model, recipe.data.channels)),
        "sets": sets, "times": times, **A.versions()}
    if D.is_main():
        A.write_json(out / A.METRICS, metrics)
    return RunResult(out, metrics)
