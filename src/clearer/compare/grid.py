"""Comparisons: run variants of one recipe over seeds on the same data and budget, then report.

A comparison file defines ``BASE`` (a recipe file, relative to the comparison file), ``VARIANTS``
(name -> dotted overrides, or a function ``VARIANTS(profile) -> dict`` when a change depends on the
profile) and optionally ``SEEDS`` (seeds per variant, or ``SEEDS(profile)``), ``VARIANT_SEEDS`` (name -> more seeds for
some variants), ``SWEEP`` (variant names in the order of a swept setting, drawn as a line on the
front plot), ``GROUND_TRUTH = True`` (its table ranks a space's architectures; see
:func:`ground_truth_key`) and ``SLURM`` (default resources of ``--launcher slurm``, see
:mod:`clearer.compare.launch`). A change wrapped in :class:`PerSeed` is computed from each job's seed.
Every variant gets the base recipe's profile, then its own changes, then ``--set``. Finished runs are
skipped, unfinished ones resumed, so a re-run continues.

A job's folder belongs to the recipe that made it: a folder holding a run of another recipe (other
``--set`` values, an edited recipe file) is refused, never resumed, overwritten or reported.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from ..errors import ClearerError, did_you_mean
from ..recipe import Recipe, apply_overrides, exec_recipe, load_recipe
from ..rundir import artifacts


class PerSeed:
    """A variant change computed from the job's seed, e.g. a different random architecture per seed:
    ``{"search.strategy": PerSeed(lambda seed: {"name": "fixed", "architecture": ARCHS[seed]})}``."""

    def __init__(self, make: Callable[[int], Any]) -> None:
        self.make = make


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(_canonical(data), sort_keys=True).encode()).hexdigest()[:10]


def _canonical(data: Any) -> Any:
    """Whole floats as ints (16.0 -> 16), so a value spelled either way names the same run."""
    if isinstance(data, float) and data.is_integer():
        return int(data)
    if isinstance(data, dict):
        return {k: _canonical(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_canonical(v) for v in data]
    return data


def _searches(recipe: Recipe) -> bool:
    from ..registry import STRATEGIES

    name = recipe.search.strategy["name"]
    return name not in STRATEGIES or getattr(STRATEGIES.get(name), "searches", True)


def space_as_built(recipe: Recipe) -> dict[str, Any]:
    """The space ref with the space's own defaults filled in, so `official=False` given and left out
    (its default) name the same network."""
    import inspect

    from ..registry import SPACES

    ref = dict(recipe.space)
    if ref["name"] not in SPACES:
        return ref
    params = inspect.signature(SPACES.get(ref["name"])).parameters.items()
    defaults = {
        k: p.default
        for k, p in params
        if p.default is not inspect.Parameter.empty and k not in ("channels", "architecture")
    }
    return json.loads(json.dumps({**defaults, **ref}))  # tuples -> lists, as the recipe holds them


def _retrain_settings(retrain: dict[str, Any]) -> dict[str, Any]:
    """The retrain section without `match_cost` when it is unset, so runs made before that key existed
    keep their identity (and comparisons keep finding them)."""
    return {k: v for k, v in retrain.items() if not (k == "match_cost" and v is None)}


def job_identity(recipe: Recipe) -> str:
    """Hash of what decides a run's results: the whole recipe (its space with defaults filled in),
    except that a strategy that does not search (``fixed``) makes every search setting but the strategy
    itself irrelevant, so those are left out (a fixed-architecture run stays valid when a profile
    retunes the search)."""
    tree = {**recipe.to_dict(), "space": space_as_built(recipe)}
    tree["retrain"] = _retrain_settings(tree["retrain"])
    if not _searches(recipe):
        tree["search"] = {"strategy": tree["search"]["strategy"]}
    return _digest(tree)


def ground_truth_key(recipe: Recipe) -> str:
    """What makes a ground-truth table valid for another run: the same space, training data and
    degradation (patch, batch, channels), retrain budget and settings, evaluation and precision.

    The architecture, the search and the seed are left out: the ground truth retrains every
    architecture of the space with this key, so a searched architecture's rank is read off it.
    """
    data = {k: v for k, v in recipe.to_dict()["data"].items() if k != "alpha"}  # α split: search only
    retrain = {k: v for k, v in _retrain_settings(recipe.to_dict()["retrain"]).items() if k != "architecture"}
    return _digest(
        {
            "space": space_as_built(recipe),
            "data": data,
            "retrain": retrain,
            "evaluate": recipe.to_dict()["evaluate"],
            "autocast": recipe.autocast,
            "channels_last": recipe.channels_last,
        }
    )


@dataclass
class Job:
    """One (variant, seed) cell of a comparison grid."""

    variant: str
    seed: int
    recipe: Recipe
    out: Path

    def saved(self) -> Recipe | None:
        """The recipe of the run already in the folder (None when there is none or it cannot be read)."""
        if not (self.out / artifacts.RECIPE).is_file():
            return None
        try:
            return Recipe.from_dict(artifacts.read_json(self.out / artifacts.RECIPE))
        except (ClearerError, ValueError, TypeError):
            return None

    @property
    def status(self) -> str:
        """'empty', 'partial', 'done', or 'foreign' (the folder holds a run of another recipe)."""
        if not (self.out / artifacts.RECIPE).exists():
            return "empty"
        saved = self.saved()
        if saved is None or job_identity(saved) != job_identity(self.recipe):
            return "foreign"
        return "done" if (self.out / artifacts.METRICS).is_file() else "partial"

    @property
    def done(self) -> bool:
        return self.status == "done"

    @property
    def name(self) -> str:
        """'variant/seedN', as reports and launchers name the job."""
        return f"{self.variant}/seed{self.seed}"


@dataclass
class Comparison:
    name: str
    jobs: list[Job]
    out: Path
    ground_truth: bool = False
    sweep: list[str] = field(default_factory=list)
    file: Path | None = None  # the comparison file, which a launched job executes to register its parts
    slurm: dict[str, Any] = field(default_factory=dict)  # the file's SLURM resources (see compare.launch)


MAX_JOBS = 10_000  # far above any real comparison; a mistyped seed count must not resolve 10^9 recipes


def load_comparison(
    path: Path, profile: str | None, overrides: dict[str, Any], seeds: int | None, out: Path | None
) -> Comparison:
    """Resolve every variant x seed of a comparison file into a recipe and a run directory.

    Without --out the folder is runs/<name>/<profile>, plus a hash of the --set values when there are
    any, so a comparison with other overrides never lands in the folder of another.
    """
    path = Path(path)
    namespace = exec_recipe(path)
    for key in ("BASE", "VARIANTS"):
        if key not in namespace:
            raise ClearerError(
                f"comparison {path} defines no {key}. A comparison file sets BASE = "
                f"'recipe.py' and VARIANTS = {{'name': {{'dotted.key': value}}, ...}}."
            )
    base = load_recipe(base_file(namespace, path))
    variants = namespace["VARIANTS"]
    if callable(variants):
        try:
            variants = variants(profile)
        except ClearerError:
            raise
        except Exception as err:
            raise ClearerError(f"VARIANTS({profile!r}) in {path} raised {type(err).__name__}: {err}.") from None
    if not isinstance(variants, dict) or not all(
        isinstance(k, str) and k and isinstance(v, dict) for k, v in variants.items()
    ):
        raise ClearerError(
            f"VARIANTS in {path} must map variant names (strings) to dicts of dotted overrides, e.g. "
            f"{{'wide': {{'space.width': 64}}}}; got {type(variants).__name__} {str(variants)[:80]}."
        )
    default_seeds = namespace.get("SEEDS", 1)
    if callable(default_seeds):  # SEEDS(profile), e.g. 1 at a long profile and 3 at a short one
        try:
            default_seeds = default_seeds(profile)
        except Exception as err:
            raise ClearerError(f"SEEDS({profile!r}) in {path} raised {type(err).__name__}: {err}.") from None
    _count(default_seeds, f"SEEDS in {path} (seeds per variant, or a function of the profile giving it)")
    n_seeds = seeds if seeds is not None else default_seeds
    if n_seeds < 1:
        raise ClearerError(f"--seeds must be at least 1, got {n_seeds}.")
    more = namespace.get("VARIANT_SEEDS", {})
    if not isinstance(more, dict):
        raise ClearerError(f"VARIANT_SEEDS in {path} must map variant names to seed counts; got {more!r}.")
    for variant, count in more.items():
        _variant(variant, variants, f"VARIANT_SEEDS in {path}")
        _count(count, f"VARIANT_SEEDS[{variant!r}] in {path}")
    sweep = namespace.get("SWEEP", [])
    if not isinstance(sweep, (list, tuple)):
        raise ClearerError(f"SWEEP in {path} must list variant names in the order of the swept setting; got {sweep!r}.")
    for variant in sweep:
        _variant(variant, variants, f"SWEEP in {path}")
    start = base.resolve(profile).to_dict()
    name = namespace.get("NAME", path.stem)
    folder = (profile or "base") + (f"-set-{_digest(overrides)}" if overrides else "")
    root = Path(out) if out is not None else Path("runs") / name / folder
    counts = {variant: max(n_seeds, int(more.get(variant, 0))) for variant in variants}
    if sum(counts.values()) > MAX_JOBS:
        raise ClearerError(
            f"{path.name} asks for {sum(counts.values()):,} runs ({len(variants)} variants x their seeds), more than "
            f"{MAX_JOBS:,}; check SEEDS, VARIANT_SEEDS and --seeds (they count seeds per variant)."
        )
    jobs = []
    # seed-major: every variant's seed 0 first, so a grid cut short still compares like with like
    for seed in range(max(counts.values(), default=0)):
        for variant, changes in variants.items():
            if seed >= counts[variant]:
                continue
            try:
                concrete = {k: v.make(seed) if isinstance(v, PerSeed) else v for k, v in changes.items()}
                tree = apply_overrides(apply_overrides(start, concrete), overrides)
                recipe = Recipe.from_dict({**tree, "seed": seed, "name": f"{name}-{variant}"})
            except ClearerError as err:
                raise ClearerError(f"variant {variant!r} of {path.name}: {err}") from None
            jobs.append(Job(variant, seed, recipe, root / variant / f"seed{seed}"))
    return Comparison(
        name,
        jobs,
        root,
        bool(namespace.get("GROUND_TRUTH", False)),
        list(sweep),
        path.resolve(),
        dict(namespace.get("SLURM", {})),
    )


def base_file(namespace: dict[str, Any], path: Path) -> Path:
    """The recipe file a comparison file's BASE names, relative to the comparison file."""
    base = namespace["BASE"]
    if not isinstance(base, (str, PathLike)) or not str(base):
        raise ClearerError(f"BASE in {path} must be the recipe file's path, e.g. 'bsd.py'; got {base!r}.")
    return Path(path).resolve().parent / base


def _count(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ClearerError(f"{what} must be a whole number of at least 1; got {value!r}.")


def _variant(name: Any, variants: dict[str, Any], where: str) -> None:
    if name not in variants:
        hint = did_you_mean(name, variants) if isinstance(name, str) else ""
        raise ClearerError(f"{where} names {name!r}, which is not a variant.{hint} Variants: {', '.join(variants)}.")


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


def select_variants(jobs: list[Job], names: str) -> list[Job]:
    """The jobs of the comma-separated variant names (an error naming any unknown one)."""
    from ..errors import did_you_mean

    known = list(dict.fromkeys(j.variant for j in jobs))
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    for name in wanted:
        if name not in known:
            raise ClearerError(
                f"--variants: no variant {name!r}.{did_you_mean(name, known)} Variants: {', '.join(known)}."
            )
    if not wanted:
        raise ClearerError(f"--variants needs at least one name; variants: {', '.join(known)}.")
    return [j for j in jobs if j.variant in wanted]


def refuse_foreign(jobs: list[Job]) -> None:
    """Stop before anything runs when a job folder holds a run of another recipe."""
    foreign = [j for j in jobs if j.status == "foreign"]
    if foreign:
        shown = ", ".join(str(j.out) for j in foreign[:3])
        shown += f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise ClearerError(
            f"{shown} already hold{'s' if len(foreign) == 1 else ''} a run of a different recipe than this "
            f"comparison resolves to (other --set values, profile or an edited recipe file), so "
            f"{'it is' if len(foreign) == 1 else 'they are'} neither resumed nor reported. Give another --out "
            f"(without --out, other --set values get their own folder), or delete the folder to run it again."
        )


def run_job(job: Job, verbose: bool = True) -> None:
    """Run or resume one job in this process: skipped when finished, resumed from its checkpoints when
    partial (with its own saved recipe), refused when its folder holds a run of another recipe."""
    from ..engine.run import run

    status = job.status
    if status == "foreign":
        refuse_foreign([job])
    if status == "done":
        print(f"skip {job.variant} seed {job.seed}: finished in {job.out}")
        return
    print(f"run {job.variant} seed {job.seed} -> {job.out}", flush=True)
    # a partial run continues with its own saved recipe, so its recipe.json is never replaced
    recipe = job.saved() if status == "partial" else job.recipe
    run(recipe, job.out, {"variant": job.variant, "seed": job.seed}, verbose=verbose, resume=status == "partial")


def run_jobs(jobs: list[Job], verbose: bool = True) -> None:
    """Run or resume every unfinished job, one after another (refusing folders of other recipes)."""
    refuse_foreign(jobs)
    for job in jobs:
        run_job(job, verbose)


def register_parts(path: Path) -> dict[str, Any]:
    """Execute a comparison file and its base recipe, so a fresh process (a launched job) has the parts
    they register; returns the comparison file's namespace."""
    namespace = exec_recipe(path)
    if "BASE" in namespace:
        load_recipe(base_file(namespace, path))
    return namespace


# ------------------------------------------------------------------------------ ground truth


def space_choices(base: str | Path, profile: str | None) -> dict[str, list[str]]:
    """label -> candidates of the space a recipe file builds at a profile (in choice-point order)."""
    from ..engine.build import plan_space

    recipe = load_recipe(base).resolve(profile)
    labels: dict[str, list[str]] = {}
    for choice in plan_space(recipe).choices():
        labels.setdefault(choice.label, choice.candidates)
    return labels


def every_architecture(
    base: str | Path, profile: str | None, limit: int = 64, seed: int = 0
) -> dict[str, dict[str, str]]:
    """Every architecture of the space (name -> architecture) when there are at most `limit`, else a
    seeded sample of `limit` distinct ones. Names are codes, e.g. 'PFFP'."""
    from ..spaces.choice import enumerate_architectures

    return enumerate_architectures(space_choices(base, profile), limit, seed)


def random_architectures(base: str | Path, profile: str | None, count: int, seed: int) -> list[dict[str, str]]:
    """`count` distinct random architectures of the space (seeded), e.g. one per seed of a variant;
    fewer when the space holds fewer."""
    import random

    archs = list(every_architecture(base, profile, limit=max(count, 64), seed=seed).values())
    random.Random(seed).shuffle(archs)
    return archs[:count]


def fixed_variants(architectures: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Comparison variants that retrain each given architecture (no search)."""
    return {name: {"search.strategy": {"name": "fixed", "architecture": arch}} for name, arch in architectures.items()}


GROUND_TRUTH = "ground_truth.json"


def nearby_ground_truths(out: Path) -> dict[Path, dict[str, Any]]:
    """Every readable ground-truth table in the comparison folder, a sibling or a cousin folder:
    out/, out/../*/ and out/../../*/*/ (so runs/ablations/compare finds runs/ground_truth/compare)."""
    out = Path(out)
    candidates = [
        out / GROUND_TRUTH,
        *sorted(out.parent.glob(f"*/{GROUND_TRUTH}")),
        *sorted(out.parent.parent.glob(f"*/*/{GROUND_TRUTH}")),
    ]
    found, seen = {}, set()
    for path in candidates:
        if path.resolve() in seen:  # the same table through a symbolic link (e.g. pytest's `-current`)
            continue
        seen.add(path.resolve())
        try:
            table = json.loads(path.read_text()) if path.is_file() else None
        except (OSError, ValueError):
            continue
        if isinstance(table, dict) and isinstance(table.get("sets"), dict):
            found[path] = table
    return found


def find_ground_truth(out: Path, key: str) -> Path | None:
    """The nearby ground-truth table for `key` (see `nearby_ground_truths`), if any."""
    return next((path for path, table in nearby_ground_truths(out).items() if table.get("key") == key), None)


def truth_label(path: Path, out: Path) -> str:
    """'ground_truth/compare-iso': a ground truth's folder, as seen from a comparison's."""
    try:
        return str(path.parent.relative_to(Path(out).parent.parent))
    except ValueError:
        return str(path.parent)


# ------------------------------------------------------------------------------------ report


@dataclass
class Found:
    """What a comparison's folder holds now: tables of the finished runs, ranked where a ground truth
    matches, and which jobs are unfinished or made by another recipe."""

    tables: dict[str, list[dict[str, Any]]]
    runs: dict[str, list[Path]]
    truth: dict[str, Any] | None
    truth_file: Path | None
    notes: list[str]
    foreign: list[str]
    missing: list[str]


def gather(comparison: Comparison) -> Found:
    """Collect the finished runs of a comparison; an error when none has finished (nothing is written)."""
    from .report import (
        add_one_shot,
        add_ranks,
        collect,
        ground_truth_table,
        one_shot_lines,
        rank_ground_truth,
        seed_agreement,
        sweep_monotone,
    )

    runs: dict[str, list[Path]] = {}
    for job in comparison.jobs:
        if job.done:
            runs.setdefault(job.variant, []).append(job.out)
    statuses = [(j, j.status) for j in comparison.jobs]
    foreign = [str(j.out) for j, status in statuses if status == "foreign"]
    tables = collect(runs)
    if not tables:
        raise ClearerError(
            f"no run of {comparison.name} has finished in {comparison.out} for this recipe, profile and --set "
            f"values, so there is nothing to report"
            + (f" ({len(foreign)} folder(s) there hold runs of a different recipe)" if foreign else "")
            + ". Run it first (without --report), or give the --profile/--set/--out it was run with."
        )
    missing = [j.name for j, status in statuses if status in ("empty", "partial")]
    keys = {j.variant: ground_truth_key(j.recipe) for j in comparison.jobs}
    truth, truth_file = None, None
    if comparison.ground_truth:
        if len(set(keys.values())) != 1:
            raise ClearerError(
                f"{comparison.name} sets GROUND_TRUTH but its variants differ in more than the "
                f"architecture (space, data, retrain or evaluation), so they cannot rank one space."
            )
        truth = ground_truth_table(tables, next(iter(keys.values())), comparison.jobs[0].recipe.space)
        rank_ground_truth(tables, truth)
    else:
        for key in sorted(set(keys.values())):
            truth_file = find_ground_truth(comparison.out, key)
            if truth_file is not None:
                truth = artifacts.read_json(truth_file)
                add_ranks(tables, truth, {v for v, k in keys.items() if k == key})
                break
    nearby = {} if comparison.ground_truth else nearby_ground_truths(comparison.out)
    truths = {truth_label(path, comparison.out): table for path, table in nearby.items()}
    add_one_shot(tables, truths, None if truth_file is None else truth_label(truth_file, comparison.out))
    notes = list(
        dict.fromkeys(line for rows in tables.values() for line in [sweep_monotone(rows, comparison.sweep)] if line)
    )
    notes += one_shot_lines(tables)
    if comparison.ground_truth:
        notes += [f"{test_set}: {line}" for test_set, rows in tables.items() for line in [seed_agreement(rows)] if line]
    return Found(tables, runs, truth, truth_file, notes, foreign, missing)


def write_report(comparison: Comparison, found: Found) -> list[Path]:
    """comparison.{csv,json,md}, ground_truth.json for a ground-truth comparison, and the figures, written
    while holding the comparison folder."""
    from ..writing import folder
    from .figures import figures
    from .report import write_tables

    with folder(comparison.out, "comparison"):
        paths = write_tables(found.tables, comparison.out, found.notes)
        if comparison.ground_truth:
            artifacts.write_json(comparison.out / GROUND_TRUTH, found.truth)
            paths.append(comparison.out / GROUND_TRUTH)
        return paths + figures(found.tables, found.runs, comparison.out, found.truth, comparison.sweep)
