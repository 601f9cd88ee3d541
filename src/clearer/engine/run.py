"""A whole experiment: search -> derive -> retrain -> evaluate, resumable, every artefact on disk."""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ClearerError
from ..recipe import Recipe, apply_overrides
from ..rundir import artifacts
from ..rundir.artifacts import ArchRecord
from ..rundir.progress import RunLog
from ..rundir.sources import record_sources
from ..spaces.cost import flops_per_pixel
from ..train import distributed
from ..train.checkpoint import load_weights
from ..train.device import resolve_device
from ..writing import check_kind, folder
from .build import build_space, check_recipe, cost_match, plan_space
from .evaluate import evaluate
from .retrain import retrain
from .search import search


@dataclass
class RunResult:
    """Where a finished run put its outputs, and its metrics."""

    out: Path
    metrics: dict[str, Any]

    @property
    def arch(self) -> Path:
        return self.out / artifacts.ARCH

    @property
    def weights(self) -> Path:
        return self.out / artifacts.WEIGHTS

    @property
    def metrics_file(self) -> Path:
        return self.out / artifacts.METRICS


def default_out(recipe: Recipe, root: Path = Path("runs")) -> Path:
    return root / recipe.name / time.strftime("%Y%m%d-%H%M%S")


def fixed_architecture(recipe: Recipe) -> ArchRecord | None:
    """A recipe that gives `retrain.architecture` skips the search."""
    given = recipe.retrain.architecture
    if given is None:
        return None
    space = plan_space(recipe)  # only its choice points are read
    candidates = {c.label: c.candidates for c in space.choices()}
    return ArchRecord(given, None, candidates, space=recipe.space, strategy="fixed", search_seconds=0.0)


def check_out(out: Path, resume: bool) -> None:
    """Refuse a run folder that is a file, of another kind, or (for a new run) one that already holds files.

    Why: a stray arch.json or model.safetensors in a new run's folder would be taken as a finished phase.
    """
    if out.exists() and not out.is_dir():
        raise ClearerError(f"--out {out} is a file, not a folder; give a new folder for the run.")
    check_kind(out, "run")
    if resume:
        if not (out / artifacts.RECIPE).is_file():
            raise ClearerError(
                f"{out} is not a run folder (it has no {artifacts.RECIPE}); give the folder a run wrote."
            )
        return
    if (out / artifacts.RECIPE).exists():
        raise ClearerError(f"{out} already holds a run. Use --resume {out} to continue it, or choose another --out.")


def resume_recipe(out: Path, overrides: dict[str, Any]) -> Recipe:
    """The recipe a resumed run continues with: the one saved in its folder, with the --set keys that
    change only evaluation applied (any key while no phase has produced results yet).

    Why: a finished run can be re-measured on other sets or tiles, but weights must never continue
    under settings other than those they were trained with.
    """
    check_out(out, resume=True)
    path = out / artifacts.RECIPE
    try:
        saved = Recipe.from_dict(artifacts.read_json(path))
    except ClearerError as err:
        raise ClearerError(f"run folder recipe {path}: {err}") from None
    started = [
        name
        for name in (artifacts.ARCH, artifacts.WEIGHTS, artifacts.SEARCH_STATE, artifacts.RETRAIN_STATE)
        if (out / name).exists()
    ]
    evaluation = {k: v for k, v in overrides.items() if k == "evaluate" or k.startswith("evaluate.")}
    changes = evaluation if started else dict(overrides)
    frozen = [
        k
        for k in overrides
        if k not in changes and Recipe.from_dict(apply_overrides(saved.to_dict(), {k: overrides[k]})) != saved
    ]
    if frozen:
        raise ClearerError(
            f"{out} already has results ({', '.join(started)}), so --resume can change only evaluate.* keys; "
            f"--set {', '.join(frozen)} would change how it was trained. Start a new run with --out for that."
        )
    if not changes:
        return saved
    try:
        return Recipe.from_dict(apply_overrides(saved.to_dict(), changes))
    except ClearerError as err:
        raise ClearerError(f"--set on --resume {out}: {err}") from None


def run(
    recipe: Recipe, out: Path, overrides: dict[str, Any] | None = None, verbose: bool = True, resume: bool = False
) -> RunResult:
    """Run every phase not yet finished in `out` (a fresh folder, or one being resumed), holding the folder
    (locked against other processes) throughout."""
    out = Path(out)
    check_out(out, resume)
    check_recipe(recipe, run=True)  # every part built once: a bad value fails before anything is written
    device = resolve_device(recipe.device)
    distributed.barrier()  # every rank has checked `out` before rank 0 writes into it
    with folder(out, "run") if distributed.is_main() else nullcontext():
        if distributed.is_main():
            check_out(out, resume)  # again under the lock: another process may have written there meanwhile
        return _run(recipe, out, device, overrides, verbose, resume)


def _run(
    recipe: Recipe, out: Path, device: Any, overrides: dict[str, Any] | None, verbose: bool, resume: bool
) -> RunResult:
    if distributed.is_main():
        if not resume or artifacts.read_json(out / artifacts.RECIPE) != recipe.to_dict():  # e.g. evaluate.* changed
            artifacts.write_json(out / artifacts.RECIPE, recipe.to_dict())
        record_sources(recipe, out)  # which user files registered its parts, for clearer.load
        if not resume:
            artifacts.write_json(out / artifacts.OVERRIDES, overrides or {})
    log = RunLog(out / artifacts.LOG if distributed.is_main() else None, verbose and distributed.is_main())
    log(f"run {recipe.name} ({recipe.hash()}) on {device} -> {out}")
    times: dict[str, float] = {}

    if (out / artifacts.ARCH).exists():
        arch = ArchRecord.read(out / artifacts.ARCH)
        log(f"search: already done ({arch.hash})")
    else:
        arch = fixed_architecture(recipe)
        if arch is not None:
            arch.write(out / artifacts.ARCH)
            log(f"search: skipped, fixed architecture {arch.hash}")
        else:
            arch = search(recipe, out, device, log).record
    times["search_s"] = arch.search_seconds

    if (out / artifacts.WEIGHTS).exists():
        model = build_space(recipe, arch.architecture).to(device)
        meta = load_weights(out / artifacts.WEIGHTS, model)
        times["retrain_s"] = meta.get("retrain_seconds", 0.0)
        log("retrain: already done")
    else:
        outcome = retrain(recipe, arch, out, device, log)
        model, times["retrain_s"] = outcome.model, outcome.seconds

    t0 = time.time()
    per_image: dict[str, list[dict[str, Any]]] = {}
    sets = evaluate(recipe, model, out, device, log, per_image)
    times["evaluate_s"] = round(time.time() - t0, 1)
    metrics = artifacts.metrics_record(
        recipe.hash(),
        arch.architecture,
        sets,
        per_image,
        recipe=recipe.name,
        seed=recipe.seed,
        architecture=arch.architecture,
        params=sum(p.numel() for p in model.parameters()),
        flops_per_pixel=round(flops_per_pixel(model, recipe.data.channels)),
        match_cost=None if (match := cost_match(recipe, arch.architecture)) is None else match.to_dict(),
        times=times,
        search=arch.search,
    )
    if distributed.is_main():
        artifacts.write_json(out / artifacts.METRICS, metrics)
    return RunResult(out, metrics)
