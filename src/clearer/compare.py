"""Comparisons: run variants of one recipe over seeds on the same data and budget, then report.

A comparison file defines ``BASE`` (a recipe file, relative to the comparison file), ``VARIANTS``
(name -> dotted overrides, or a function ``VARIANTS(profile) -> dict`` when a change depends on the
profile) and optionally ``SEEDS``. Every variant gets the base recipe's profile, then its own changes,
then ``--set``. Finished runs are skipped, unfinished ones resumed, so a re-run continues.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine import artifacts as A
from .errors import ClearerError
from .recipe import Recipe, apply_overrides, exec_recipe, load_recipe


@dataclass
class Job:
    """One (variant, seed) cell of a comparison grid."""
    variant: str
    seed: int
    recipe: Recipe
    out: Path

    @property
    def done(self) -> bool:
        return (self.out / A.METRICS).is_file()


@dataclass
class Comparison:
    name: str
    jobs: list[Job]
    out: Path


def load_comparison(path: Path, profile: str | None, overrides: dict[str, Any], seeds: int | None,
                    out: Path | None) -> Comparison:
    """Resolve every variant x seed of a comparison file into a recipe and a run directory."""
    path = Path(path)
    namespace = exec_recipe(path)
    for key in ("BASE", "VARIANTS"):
        if key not in namespace:
            raise ClearerError(f"comparison {path} defines no {key}. A comparison file sets BASE = "
                               f"'recipe.py' and VARIANTS = {{'name': {{'dotted.key': value}}, ...}}.")
    base = load_recipe(path.resolve().parent / namespace["BASE"])
    variants = namespace["VARIANTS"]
    if callable(variants):
        try:
            variants = variants(profile)
        except ClearerError:
            raise
        except Exception as err:
            raise ClearerError(f"VARIANTS({profile!r}) in {path} raised {type(err).__name__}: {err}.") from None
    if not isinstance(variants, dict) or not all(isinstance(v, dict) for v in variants.values()):
        raise ClearerError(f"VARIANTS in {path} must map variant names to dicts of dotted overrides, e.g. "
                           f"{{'wide': {{'space.width': 64}}}}; got {type(variants).__name__} {str(variants)[:80]}.")
    n_seeds = seeds if seeds is not None else int(namespace.get("SEEDS", 1))
    if n_seeds < 1:
        raise ClearerError(f"--seeds must be at least 1, got {n_seeds}.")
    start = base.resolve(profile).to_dict()
    name = namespace.get("NAME", path.stem)
    root = out or Path("runs") / name / (profile or "base")
    jobs = []
    for variant, changes in variants.items():
        try:
            tree = Recipe.from_dict(apply_overrides(apply_overrides(start, changes), overrides)).to_dict()
            for seed in range(n_seeds):
                recipe = Recipe.from_dict({**tree, "seed": seed, "name": f"{name}-{variant}"})
                jobs.append(Job(variant, seed, recipe, root / variant / f"seed{seed}"))
        except ClearerError as err:
            raise ClearerError(f"variant {variant!r} of {path.name}: {err}") from None
    return Comparison(name, jobs, root)


def shard(jobs: list[Job], spec: str | None) -> list[Job]:
    """The jobs of shard 'I/N' (every N-th job starting at I); all jobs when no shard is given."""
    if spec is None:
        return jobs
    try:
        index, count = (int(x) for x in spec.split("/"))
        assert 0 <= index < count
    except (ValueError, AssertionError):
        raise ClearerError(f"--shard expects I/N with 0 <= I < N (e.g. 0/4), got {spec!r}.") from None
    return jobs[index::count]


def run_jobs(jobs: list[Job], verbose: bool = True) -> None:
    """Run or resume every unfinished job, one after another."""
    from .engine.run import run
    for job in jobs:
        if job.done:
            print(f"skip {job.variant} seed {job.seed}: finished in {job.out}")
            continue
        print(f"run {job.variant} seed {job.seed} -> {job.out}", flush=True)
        run(job.recipe, job.out, {"variant": job.variant, "seed": job.seed}, verbose=verbose,
            resume=(job.out / A.RECIPE).exists())
