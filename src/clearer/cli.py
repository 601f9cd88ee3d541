"""The `clearer` command line: list parts, show and run recipes, restore images, fetch data."""

from __future__ import annotations

import io
import sys
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .errors import ClearerError, did_you_mean
from .version import __version__

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Neural architecture search for image restoration (CLEARER and friends).",
)
data_app = typer.Typer(no_args_is_help=True, help="Benchmark data: fetch public datasets.")
app.add_typer(data_app, name="data")
out = Console()
err = Console(stderr=True)

SET_HELP = "Override a recipe value, e.g. --set search.epochs=3 (repeatable; Python literals)."
PROFILE_HELP = "Named set of overrides from the recipe's PROFILES (default: paper on CUDA, quick on CPU)."


def _version(value: bool) -> None:
    if value:
        out.print(f"clearer {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors."),
) -> None:
    """clearer: search, retrain and evaluate restoration networks from recipe files."""


def choose_profile(profiles: dict[str, Any], asked: str | None) -> str | None:
    """The profile to use: the one asked for, else paper on CUDA / quick on CPU when the recipe has them."""
    if asked is not None:
        return None if asked == "none" else asked
    import torch

    cuda = torch.cuda.is_available()
    pick = "paper" if cuda else "quick"
    if pick in profiles:
        err.print(
            f"[dim]profile {pick!r} chosen automatically: "
            f"{'a CUDA device is available' if cuda else 'no CUDA device, running on the CPU'} "
            f"(pass --profile NAME to choose another)[/dim]"
        )
        return pick
    return None


def resolve(recipe: Path, profile: str | None, sets: list[str]) -> tuple[Any, dict[str, Any], str | None]:
    """Load, apply profile and --set, and build every part once (so bad values fail here, not mid-run)."""
    from .engine.build import check_recipe
    from .recipe import load_recipe, parse_set

    loaded = load_recipe(recipe)
    overrides = dict(parse_set(s) for s in sets)
    if loaded.resolved:
        if profile not in (None, "none"):
            err.print(
                f"[dim]{recipe} is a resolved recipe (its profile is already applied); "
                f"--profile {profile} is not applied again[/dim]"
            )
        chosen = None
    else:
        chosen = choose_profile(loaded.profiles, profile)
    resolved = loaded.resolve(chosen, overrides)
    check_recipe(resolved)
    return resolved, overrides, chosen


@app.command("list")
def list_parts(
    kind: str | None = typer.Argument(None, help="One kind (candidates, ops, losses, ...); all when omitted."),
    recipe: Path | None = typer.Option(None, help="Also load this recipe's own registrations."),
) -> None:
    """Table of registered parts per kind, with a one-line description."""
    from .recipe import exec_recipe
    from .registry import REGISTRIES, summary

    if recipe is not None:
        exec_recipe(recipe)
    if kind is not None and kind not in REGISTRIES:
        raise ClearerError(
            f"unknown kind {kind!r}.{did_you_mean(kind, REGISTRIES, n=1)} Kinds: {', '.join(REGISTRIES)}."
        )
    table = Table(title="registered parts")
    for col in ("kind", "name", "description"):
        table.add_column(col)
    for name, registry in REGISTRIES.items():
        if kind in (None, name):
            for entry, obj in registry:
                table.add_row(name, entry, escape(summary(obj)))
    out.print(table)


@app.command()
def show(
    recipe: Path = typer.Argument(..., help="Recipe file, e.g. recipes/bsd.py."),
    profile: str | None = typer.Option(None, help=PROFILE_HELP),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
) -> None:
    """Print the resolved recipe as JSON."""
    resolved, _, _ = resolve(recipe, profile, set_)
    out.print_json(resolved.to_json())


@app.command("run")
def run_cmd(
    recipe: Path = typer.Argument(..., help="Recipe file, e.g. recipes/bsd.py."),
    profile: str | None = typer.Option(None, help=PROFILE_HELP),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
    out_dir: Path | None = typer.Option(None, "--out", help="Run directory (default runs/<recipe>/<time>)."),
    resume: Path | None = typer.Option(None, help="Continue the run in this directory."),
    quiet: bool = typer.Option(False, "--quiet", help="Only the final summary."),
) -> None:
    """Search, derive, retrain and evaluate; prints where the results are."""
    from .engine.run import default_out, resume_recipe, run
    from .train import distributed

    if resume is not None and out_dir is not None:
        raise ClearerError(f"--resume {resume} continues that run in its own folder; leave out --out {out_dir}.")
    with distributed.process_group():
        resolved, overrides, _ = resolve(recipe, profile, set_)
        if resume is not None:
            saved = resume_recipe(resume, overrides)
            if saved.hash() != resolved.hash():
                err.print(
                    f"[yellow]resuming with the recipe saved in {resume} ({saved.hash()}); "
                    f"the recipe given now resolves differently ({resolved.hash()})[/yellow]"
                )
            resolved, target = saved, resume
        else:
            target = out_dir or default_out(resolved)
        result = run(resolved, target, overrides, verbose=not quiet, resume=resume is not None)
        if distributed.is_main():
            print_result(result)


def print_result(result: Any) -> None:
    print_sets(result.metrics)
    t = result.metrics["times"]
    out.print(f"times: search {t['search_s']:.0f}s, retrain {t['retrain_s']:.0f}s, evaluate {t['evaluate_s']:.0f}s")
    out.print(f"architecture: {result.arch}\nweights:      {result.weights}\nmetrics:      {result.metrics_file}")


def print_sets(metrics: dict[str, Any]) -> None:
    """Input and output PSNR/SSIM per test set (and on Y for colour sets; super-resolution: on Y, and the
    input scored as its bicubic upscaling)."""
    protocols = sorted({m["protocol"] for m in metrics["sets"].values()})
    table = Table(title=f"results ({metrics['arch_hash']}, {'/'.join(protocols)} protocol)")
    inputs = "bicubic" if "sr" in protocols else "input"
    for col in ("test set", "images", "on", f"{inputs} PSNR / SSIM", "output PSNR / SSIM"):
        table.add_column(col)
    for name, m in metrics["sets"].items():
        rows = [(m.get("color", "gray"), "")] + [
            (label, k) for label, k in (("Y", "_y"), ("RGB", "_rgb")) if f"psnr{k}" in m
        ]
        for channels, key in rows:
            table.add_row(
                name,
                str(m["images"]),
                channels,
                f"{m['input_psnr' + key]:.2f} / {m['input_ssim' + key]:.4f}",
                f"{m['psnr' + key]:.2f} / {m['ssim' + key]:.4f}",
            )
    out.print(table)


RECIPE_HELP = (
    "The recipe .py file that registered the run's own parts (needed when it has any: a run folder never "
    "chooses the code that runs; checked against the sha256 the run recorded)."
)


@app.command("evaluate")
def evaluate_cmd(
    run_dir: Path = typer.Argument(..., help="A finished run directory."),
    set_: list[str] = typer.Option(
        [], "--set", help="Change evaluate.* or data.degradation.* (repeatable), e.g. --set data.degradation.sigma=15."
    ),
    out_dir: Path | None = typer.Option(
        None, "--out", help="Folder for the results (default RUN_DIR/evaluations/<hash>/)."
    ),
    recipe: Path | None = typer.Option(None, help=RECIPE_HELP),
    quiet: bool = typer.Option(False, "--quiet", help="Only the final table."),
) -> None:
    """Measure a finished run again (other sets, noise, protocol, self-ensemble) without retraining."""
    from .api import evaluate
    from .recipe import parse_set
    from .rundir import artifacts

    result = evaluate(run_dir, dict(parse_set(s) for s in set_), out_dir, recipe, verbose=not quiet)
    print_sets(result.metrics)
    out.print(f"metrics:   {result.out / artifacts.METRICS}\nper image: {result.out / artifacts.PER_IMAGE}")


@app.command("export")
def export_cmd(
    run_dir: Path = typer.Argument(..., help="A finished run directory."),
    format_: str = typer.Option(
        "onnx", "--format", help="onnx (torch's dynamo exporter) or pt2 (a torch.export archive)."
    ),
    out_file: Path | None = typer.Option(
        None, "--out", help="File to write (default RUN_DIR/model.onnx or model.pt2)."
    ),
    image: Path | None = typer.Option(
        None, help="Image to check the export on (default: the first image of the run's first test set)."
    ),
    recipe: Path | None = typer.Option(None, help=RECIPE_HELP),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file (never the run's own)."),
) -> None:
    """Export the trained network with free height/width (multiples of its input multiple), checked
    against the eager model on a real image."""
    from .api import export

    result = export(run_dir, format_, out_file or run_dir / f"model.{format_}", image, recipe, overwrite)  # type: ignore[arg-type]
    out.print(
        f"wrote {result.path}\nchecked on {result.checked_on}, input {tuple(result.shape)}: "
        f"max |export - eager| = {result.max_abs_diff:.3g}"
    )


LAUNCHER_HELP = (
    "Run the unfinished jobs through submitit: 'local' (processes on this machine, --jobs at once) or 'slurm' "
    "(one Slurm job array; pip install -e '.[slurm]'). Default: one after another in this process."
)
SLURM_HELP = (
    "Slurm resources for --launcher slurm, key=value[,key=value...] (repeatable; over the comparison file's SLURM "
    "dict): partition, account, qos, constraint, exclude, timeout_min, gpus_per_node, cpus_per_task, mem_gb, "
    "array_parallelism, signal_delay_s, setup (shell lines separated by ';'), job_name."
)


@app.command()
def compare(
    recipe: Path = typer.Argument(..., help="Comparison file, e.g. recipes/ablations.py."),
    profile: str | None = typer.Option(None, help=PROFILE_HELP),
    set_: list[str] = typer.Option([], "--set", help="Override for every variant (repeatable)."),
    seeds: int | None = typer.Option(None, help="Seeds per variant (default: the file's SEEDS or 1)."),
    out_dir: Path | None = typer.Option(None, "--out", help="Folder of the comparison."),
    shard_: str | None = typer.Option(None, "--shard", help="Run only slice I/N of the variant x seed grid."),
    report: bool = typer.Option(False, "--report", help="Only collect finished runs and report."),
    status: bool = typer.Option(
        False, "--status", help="Show every job as pending, running, done or failed (with a failed job's log tail)."
    ),
    launcher: str | None = typer.Option(None, "--launcher", help=LAUNCHER_HELP),
    jobs: int | None = typer.Option(None, "--jobs", help="Jobs at once with --launcher local (default 1)."),
    slurm: list[str] = typer.Option([], "--slurm", help=SLURM_HELP),
    quiet: bool = typer.Option(True, "--quiet/--verbose", help="Per-run logs on the console."),
    variants: str | None = typer.Option(
        None, "--variants", help="Run and report only these variants (comma-separated names)."
    ),
) -> None:
    """Run variants of a recipe on the same data, budget and seeds; table, CSV/JSON/Markdown and PNGs."""
    from .compare import load_comparison, run_jobs, select_variants, shard
    from .engine.build import check_recipe
    from .recipe import parse_set

    check_launcher_options(launcher, jobs, slurm, report, status)
    namespace_profiles = load_recipe_profiles(recipe)
    chosen = choose_profile(namespace_profiles, profile)
    comparison = load_comparison(recipe, chosen, dict(parse_set(s) for s in set_), seeds, out_dir)
    if variants is not None:
        comparison.jobs = select_variants(comparison.jobs, variants)
    again = " ".join(
        [f"clearer compare {recipe}"]
        + ([f"--profile {chosen}"] if chosen else [])
        + [f"--set {s}" for s in set_]
        + ([f"--seeds {seeds}"] if seeds is not None else [])
        + ([f"--out {out_dir}"] if out_dir else [])
        + ([f"--variants {variants}"] if variants is not None else [])
    )
    if status:
        print_status(comparison, shard(comparison.jobs, shard_))
        return
    checked: set[str] = set()
    for job in comparison.jobs:  # each variant's parts built once, before any job runs
        if job.variant not in checked:
            checked.add(job.variant)
            try:
                check_recipe(job.recipe)
            except ClearerError as error:
                raise ClearerError(f"variant {job.variant!r} of {recipe.name}: {error}") from None
    if not report:
        from .writing import claim

        claim(comparison.out, "comparison")  # checked and marked before any job writes there
        selected = shard(comparison.jobs, shard_)
        if launcher == "slurm":
            submit_to_slurm(comparison, selected, slurm, again + (f" --shard {shard_}" if shard_ else ""))
            return
        if launcher == "local":
            run_locally(comparison, selected, jobs or 1, again + (f" --shard {shard_}" if shard_ else ""))
        else:
            run_jobs(selected, verbose=not quiet)
        if shard_ is not None:
            out.print(f"shard {shard_} done; merge with: {again} --report")
            return
    report_comparison(comparison)


def check_launcher_options(
    launcher: str | None, jobs: int | None, slurm: list[str], report: bool, status: bool
) -> None:
    """Options that only one launcher takes, and --report/--status (which launch nothing)."""
    from .compare.launch import LAUNCHERS

    if launcher is not None and launcher not in LAUNCHERS:
        raise ClearerError(
            f"unknown --launcher {launcher!r}.{did_you_mean(launcher, LAUNCHERS, n=1)} "
            f"Choose slurm or local (or leave it out to run the jobs in this process)."
        )
    if jobs is not None and launcher != "local":
        raise ClearerError("--jobs says how many local jobs run at once; it needs --launcher local.")
    if slurm and launcher != "slurm":
        raise ClearerError("--slurm gives the resources of a Slurm submission; it needs --launcher slurm.")
    if report and status:
        raise ClearerError("--report and --status are two views; ask for one at a time.")
    if launcher is not None and (report or status):
        raise ClearerError(f"--{'report' if report else 'status'} launches nothing; leave out --launcher.")


def unfinished(comparison: Any, jobs: list[Any]) -> list[Any]:
    """The jobs to (re)submit, with a line for those skipped: finished, still running or queued, or
    submitted earlier from a place whose state cannot be read here."""
    from .compare.grid import refuse_foreign
    from .compare.launch import job_states, to_submit

    refuse_foreign(jobs)  # as the in-process path: nothing goes out while a folder holds another recipe's run
    states = job_states(comparison, jobs)
    todo, unknown = to_submit(states)
    counts = {s: sum(1 for x in states if x.state == s) for s in ("done", "running", "pending")}
    busy = counts["running"] + sum(1 for x in states if x.state == "pending" and x.submitted and not x.unknown)
    skipped = [f"{counts['done']} finished"] if counts["done"] else []
    skipped += [f"{busy} still running or queued"] if busy else []
    skipped += [f"{len(unknown)} submitted earlier, state unknown here ({unknown[0].detail})"] if unknown else []
    if skipped:
        out.print(f"skipping {', '.join(skipped)}")
    return todo


def submit_to_slurm(comparison: Any, jobs: list[Any], slurm: list[str], again: str) -> None:
    from .compare.launch import parse_slurm, submit_slurm

    resources = parse_slurm(slurm, comparison.slurm)  # unknown keys fail before anything is looked at
    todo = unfinished(comparison, jobs)
    if not todo:
        out.print(f"nothing to submit; see {again} --status, or merge with {again} --report")
        return
    submitted = submit_slurm(comparison, todo, resources)
    array = submitted[0].job_id.split("_")[0]
    at_once = min(len(todo), resources.get("array_parallelism", len(todo)))
    out.print(
        f"submitted {len(todo)} job{'s' if len(todo) > 1 else ''} of {comparison.name} as Slurm job "
        f"{'array ' if len(todo) > 1 else ''}{array} ({at_once} at once); logs in {submitted[0].paths.folder}\n"
        f"watch:   squeue -j {array}    or    {again} --status\n"
        f"cancel:  scancel {array}\n"
        f"retry:   {again} --launcher slurm   (resubmits only failed or pre-empted jobs, which resume)\n"
        f"merge:   {again} --report",
        soft_wrap=True,
    )


def run_locally(comparison: Any, jobs: list[Any], parallel: int, again: str) -> None:
    from .compare.launch import run_local

    todo = unfinished(comparison, jobs)
    outcomes = run_local(comparison, todo, parallel, say=lambda line: out.print(line, soft_wrap=True))
    failed = [name for name, outcome in outcomes.items() if outcome != "done"]
    if failed:
        raise ClearerError(
            f"{len(failed)} of {len(todo)} jobs failed: {', '.join(failed)}. `{again} --status` shows their log "
            f"tails; the same command again reruns only the unfinished jobs (resumed from their checkpoints)."
        )


def print_status(comparison: Any, jobs: list[Any]) -> None:
    """Per job: pending, running, done or failed (and foreign), a count, and each failed job's log tail."""
    from .compare.launch import job_states, log_tail

    states = job_states(comparison, jobs)
    console = out if out.is_terminal else Console(width=400)
    table = Table(title=f"{comparison.name}: {len(states)} jobs in {comparison.out}")
    for col in ("job", "state", "detail"):
        table.add_column(col)
    colours = {"done": "green", "running": "cyan", "pending": "white", "failed": "red", "foreign": "yellow"}
    for s in states:
        table.add_row(s.job.name, f"[{colours[s.state]}]{s.state}[/]", escape(s.detail))
    console.print(table)
    counts = {name: sum(1 for s in states if s.state == name) for name in colours}
    console.print(", ".join(f"{n} {name}" for name, n in counts.items() if n))
    for s in states:
        if s.state == "failed":
            console.print(f"\n[red]failed: {s.job.name}[/red] ({escape(s.detail)})")
            console.print(escape(log_tail(s.logs)), highlight=False, soft_wrap=True)


def report_comparison(comparison: Any) -> None:
    """Print the tables of the finished runs (ranked against a ground truth when one matches) and write
    the files and figures; nothing finished is an error and writes nothing."""
    from .compare import gather, write_report
    from .compare.report import cells, legend, title

    found = gather(comparison)
    console = out if out.is_terminal else Console(width=400)  # piped: whole rows, not cut at 80 columns
    if found.foreign:
        err.print(f"[yellow]not reported, made with a different recipe: {', '.join(found.foreign)}[/yellow]")
    if found.missing:
        err.print(
            f"[yellow]{len(found.missing)} of {len(comparison.jobs)} jobs not finished yet, so not in the tables: "
            f"{', '.join(found.missing)}[/yellow]",
            soft_wrap=True,
        )
    if found.truth_file is not None:
        console.print(f"ranked against the ground truth in {found.truth_file}")
    for test_set, rows in found.tables.items():
        table = Table(title=f"{comparison.name}: {title(test_set, rows)}", caption=legend(rows))
        headers, body = cells(rows)
        for col in headers:
            table.add_column(col)
        for row in body:
            table.add_row(*row)
        console.print(table)
    for line in found.notes:
        console.print(line)
    for path in write_report(comparison, found):
        console.print(f"wrote {path}")


def load_recipe_profiles(path: Path) -> dict[str, Any]:
    """Profiles of the base recipe a comparison file names (for the automatic profile choice)."""
    from .compare.grid import base_file
    from .recipe import exec_recipe, load_recipe

    namespace = exec_recipe(path)  # the comparison file
    if "BASE" not in namespace:
        return {}
    return load_recipe(base_file(namespace, path)).profiles


@app.command("show-arch")
def show_arch(
    run_dir: Path = typer.Argument(..., help="A run directory with arch.json."),
    out_file: Path | None = typer.Option(None, "--out", help="PNG path (default RUN_DIR/arch.png)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing PNG (never the run's own files)."),
) -> None:
    """Draw the searched network: cells, columns, branches, the winning candidates and their probability."""
    from .archplot import draw_architecture

    out.print(str(draw_architecture(run_dir, out_file, overwrite)))


@app.command()
def restore(
    images: list[Path] = typer.Argument(..., help="Image files to restore."),
    run_dir: Path = typer.Option(..., "--run", help="A finished run directory."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for the restored images."),
    tile: str = typer.Option(
        "auto",
        help="'auto': whole images when they fit the inference memory budget (CLEARER_INFERENCE_MEMORY, "
        "default 2GiB), else tiles sized to it; a number: tiles of that size; 'none': always whole.",
    ),
    self_ensemble: bool = typer.Option(
        False, "--self-ensemble", help="Average 8 flips/rotations (4 flips for a derainer: rain falls down)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs (inputs are never replaced)."),
    recipe: Path | None = typer.Option(None, help=RECIPE_HELP),
) -> None:
    """Apply a trained model to your own images (any size; gray or RGB as the model expects)."""
    from .restore_files import restore_files

    for path in restore_files(run_dir, images, out_dir, parse_tile(tile), self_ensemble, overwrite, recipe):
        out.print(str(path))


def parse_tile(text: str) -> int | str | None:
    """--tile: 'auto', 'none' (whole images) or a tile size in pixels."""
    value = text.strip().lower()
    if value in ("auto", "none"):
        return None if value == "none" else "auto"
    try:
        return int(value)
    except ValueError:
        raise ClearerError(f"--tile takes 'auto', 'none' or a number of pixels; got {text!r}.") from None


@data_app.command("fetch")
def fetch_cmd(
    name: str = typer.Argument(..., help="Dataset name (bsds500, train400, bsd68, set12)."),
    root: Path | None = typer.Option(None, help="Target folder (default $CLEARER_DATA)."),
    url: str | None = typer.Option(None, help="Download from this URL instead."),
    sha256: str | None = typer.Option(None, help="Expected checksum of the download."),
    force: bool = typer.Option(False, "--force", help="Download again and replace the folder."),
) -> None:
    """Download a public dataset, verify its checksum and unpack it under the data folder."""
    import os

    from .data.fetch import fetch

    if root is None:
        if "CLEARER_DATA" not in os.environ:
            raise ClearerError("set CLEARER_DATA or pass --root to say where data should go.")
        root = Path(os.environ["CLEARER_DATA"])
    out.print(str(fetch(name, root, url=url, sha256=sha256, force=force)))


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one paragraph (tracebacks only with --debug, accepted anywhere)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        app(args=[a for a in args if a != "--debug"], prog_name="clearer")
    except ClearerError as error:
        if debug:
            raise
        err.print(f"[bold red]error:[/bold red] {escape(str(error))}", highlight=False, soft_wrap=True)
        sys.exit(2)


def run_captured(args: list[object], reraise: tuple[type[BaseException], ...] = ()) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `clearer ARGS` run in this process, as a shell would see them: an
    exception escaping `main` is its traceback on stderr with code -1, except the `reraise` ones.

    Why: tests and the hostile-input probes run thousands of commands; a process each would cost seconds."""
    out_text, err_text = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out_text), redirect_stderr(err_text):
        try:
            main([str(a) for a in args])
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except reraise:
            raise
        except BaseException:  # noqa: BLE001 - reported as the traceback a user would see, the bad outcome it is
            err_text.write(traceback.format_exc())
            code = -1
    return code, out_text.getvalue(), err_text.getvalue()
