"""Launch a comparison's unfinished jobs through submitit: one Slurm job array (``--launcher slurm``) or
processes on this machine (``--launcher local``, ``--jobs N`` at once), and say how every job stands.

Every job is the same picklable callable, :class:`RunJob`: in its own process it registers the
comparison's parts, then runs or resumes its run folder exactly as the in-process ``clearer compare``
does (finished runs skipped, partial ones resumed from their checkpoints, folders of other recipes
refused). Pre-emption and time limits follow submitit's checkpointing protocol: on Slurm's warning
signal the callable hands back a resubmission of itself, the job is requeued, and the requeued job
resumes from the run's own checkpoints instead of starting over.

The bookkeeping lives in ``<comparison>/launcher/``: ``jobs.json`` (which job went out as which submitit
job, with its log files), ``logs/`` (submitit's pickles and every job's stdout/stderr) and ``state/``
(what each job last said of itself: running on which host and process, done, or failed with an error).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ClearerError, did_you_mean
from ..recipe import Recipe
from ..rundir import artifacts
from ..writing import folder
from .grid import Comparison, Job, refuse_foreign, register_parts, run_job

try:  # the `slurm` extra; without it the callable still works, only nothing can submit it
    from submitit.helpers import Checkpointable, DelayedSubmission
except ImportError:  # pragma: no cover - exercised only without the extra
    Checkpointable, DelayedSubmission = object, None  # type: ignore[assignment,misc]

LAUNCHER = "launcher"
LEDGER = "jobs.json"
LAUNCHERS = ("slurm", "local")
LOCAL_TIMEOUT_MIN = 7 * 24 * 60  # submitit's local default is 2 minutes; a local job runs until it ends

# --slurm key -> (submitit AutoExecutor parameter, type, meaning); AutoExecutor translates the generic ones
SLURM_KEYS: dict[str, tuple[str, type, str]] = {
    "partition": ("slurm_partition", str, "Slurm partition"),
    "account": ("slurm_account", str, "account to charge"),
    "qos": ("slurm_qos", str, "quality of service"),
    "constraint": ("slurm_constraint", str, "node features, e.g. a100"),
    "exclude": ("slurm_exclude", str, "nodes to avoid"),
    "timeout_min": ("timeout_min", int, "time limit of each job in minutes"),
    "gpus_per_node": ("gpus_per_node", int, "GPUs per job"),
    "cpus_per_task": ("cpus_per_task", int, "CPU cores per job"),
    "mem_gb": ("mem_gb", float, "memory per job in GB"),
    "array_parallelism": ("slurm_array_parallelism", int, "jobs of the array running at once"),
    "signal_delay_s": ("slurm_signal_delay_s", int, "seconds of warning before a time limit, to checkpoint"),
    "setup": ("slurm_setup", list, "shell lines before the job, separated by ';' (module load ...)"),
    "job_name": ("name", str, "job name in squeue"),
}
SLURM_DEFAULTS: dict[str, Any] = {"timeout_min": 240, "cpus_per_task": 4, "mem_gb": 16.0, "signal_delay_s": 120}


# ------------------------------------------------------------------------------------ resources


def _typed(key: str, value: Any, kind: type) -> Any:
    if kind is list:
        lines = value if isinstance(value, list) else str(value).split(";")
        return [str(line).strip() for line in lines if str(line).strip()]
    try:
        converted = kind(value)
    except (TypeError, ValueError):
        raise ClearerError(f"--slurm {key}={value!r}: expected {kind.__name__}.") from None
    if kind in (int, float) and converted <= 0:
        raise ClearerError(f"--slurm {key}={value!r}: must be positive.")
    return converted


def parse_slurm(specs: Iterable[str], defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Resources of a Slurm submission: SLURM_DEFAULTS, then the comparison file's SLURM dict, then each
    `--slurm key=value,key=value` (a piece without '=' continues the previous value, so a value may hold
    commas). Unknown keys are an error that lists the known ones."""
    given: list[tuple[str, Any]] = list((defaults or {}).items())
    for spec in specs:
        pairs: list[list[str]] = []
        for piece in spec.split(","):
            if "=" in piece:
                pairs.append([part.strip() for part in piece.split("=", 1)])
            elif pairs:
                pairs[-1][1] += "," + piece
            elif piece.strip():
                raise ClearerError(f"--slurm expects key=value[,key=value...], got {spec!r}.")
        given += [(key, value) for key, value in pairs]
    resources = dict(SLURM_DEFAULTS)
    for key, value in given:
        if key not in SLURM_KEYS:
            known = ", ".join(f"{k} ({meaning})" for k, (_, _, meaning) in SLURM_KEYS.items())
            raise ClearerError(f"unknown Slurm resource {key!r}.{did_you_mean(key, SLURM_KEYS, n=1)} Known: {known}.")
        resources[key] = _typed(key, value, SLURM_KEYS[key][1])
    return resources


def executor_parameters(resources: dict[str, Any], count: int, name: str) -> dict[str, Any]:
    """submitit AutoExecutor parameters for `count` jobs of one comparison (one task each)."""
    params: dict[str, Any] = {"name": f"clearer-{name}", "nodes": 1, "tasks_per_node": 1}
    for key, value in resources.items():
        params[SLURM_KEYS[key][0]] = value
    params["slurm_array_parallelism"] = min(count, resources.get("array_parallelism", count))
    return params


# ------------------------------------------------------------------------------------ the job


def _state_file(root: Path, job: Job) -> Path:
    return root / LAUNCHER / "state" / f"{job.variant}__seed{job.seed}.json"


def _here() -> str:
    return socket.gethostname()


class RunJob(Checkpointable):
    """One comparison job as a submitit callable: register the comparison file's parts, then run or
    resume the job's folder (as `clearer compare` does in process), recording in a state file that it is
    running, done or failed. Pre-empted or out of time, submitit calls `checkpoint`, which resubmits this
    same call: the requeued job finds its folder partial and resumes from the run's own checkpoints."""

    def __call__(self, file: str, recipe: dict[str, Any], out: str, variant: str, seed: int, state: str) -> str:
        register_parts(Path(file))
        job = Job(variant, seed, Recipe.from_dict(recipe), Path(out))
        path = Path(state)
        starts = artifacts.read_json(path).get("starts", 0) + 1 if path.is_file() else 1
        said = {"host": _here(), "pid": os.getpid(), "started": time.time(), "job_id": _submitit_id(), "starts": starts}
        artifacts.write_json(path, {**said, "state": "running", "resumed": job.status == "partial"})
        try:
            run_job(job, verbose=True)
        except Exception as error:
            artifacts.write_json(path, {**said, "state": "failed", "error": f"{type(error).__name__}: {error}"})
            raise
        artifacts.write_json(path, {**said, "state": "done", "ended": time.time()})
        return str(job.out)

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        """Requeue the same call; the run's checkpoints (not this object) hold the progress."""
        return DelayedSubmission(self, *args, **kwargs)


def _submitit_id() -> str | None:
    try:
        import submitit

        return str(submitit.JobEnvironment().job_id)
    except Exception:  # not inside a submitit job (a direct call)
        return None


def job_arguments(comparison: Comparison, job: Job) -> tuple[Any, ...]:
    """The arguments of `RunJob()` for one job: plain data (the pickle holds no live objects), absolute
    paths (a Slurm job may start in another folder)."""
    return (
        str(comparison.file),
        job.recipe.to_dict(),
        str(job.out.absolute()),
        job.variant,
        job.seed,
        str(_state_file(comparison.out, job).absolute()),
    )


# ------------------------------------------------------------------------------------ bookkeeping


def ledger_path(comparison: Comparison) -> Path:
    return comparison.out / LAUNCHER / LEDGER


def read_ledger(comparison: Comparison) -> dict[str, dict[str, Any]]:
    path = ledger_path(comparison)
    return artifacts.read_json(path).get("jobs", {}) if path.is_file() else {}


def _record(comparison: Comparison, entries: dict[str, dict[str, Any]]) -> None:
    with folder(comparison.out, "comparison", wait=True):  # read, change, write: one launcher at a time
        ledger = read_ledger(comparison)
        for name, entry in entries.items():
            entry["attempt"] = ledger.get(name, {}).get("attempt", 0) + 1
            ledger[name] = entry
        artifacts.write_json(ledger_path(comparison), {"jobs": ledger})


def _entry(kind: str, sub: Any) -> dict[str, Any]:
    return {
        "launcher": kind,
        "job_id": str(sub.job_id),
        "host": _here(),
        "submitted": time.time(),
        "stdout": str(sub.paths.stdout),
        "stderr": str(sub.paths.stderr),
    }


def _submitit() -> Any:
    try:
        import submitit
    except ImportError:
        raise ClearerError(
            "--launcher needs submitit, the optional `slurm` extra: pip install -e '.[slurm]' (or pip install submitit)."
        ) from None
    return submitit


def _check_names(comparison: Comparison) -> None:
    if any(job.variant == LAUNCHER for job in comparison.jobs):
        raise ClearerError(f"a variant named {LAUNCHER!r} would share its folder with the launcher's logs; rename it.")


# ------------------------------------------------------------------------------------ submission


def submit_slurm(comparison: Comparison, jobs: list[Job], resources: dict[str, Any]) -> list[Any]:
    """Submit `jobs` as one Slurm job array (one task per job); returns submitit's jobs."""
    submitit = _submitit()
    _check_names(comparison)
    refuse_foreign(jobs)
    folder = comparison.out / LAUNCHER / "logs"
    try:
        executor = submitit.AutoExecutor(folder=folder, cluster="slurm")
    except RuntimeError as error:  # submitit: no srun on this machine
        raise ClearerError(
            f"cannot submit to Slurm from here ({error}). Run this on the cluster's login node, or use --launcher local."
        ) from None
    try:
        executor.update_parameters(**executor_parameters(resources, len(jobs), comparison.name))
    except (ValueError, AssertionError) as error:
        raise ClearerError(f"submitit refused the Slurm resources {resources}: {error}") from None
    arguments = list(zip(*(job_arguments(comparison, job) for job in jobs)))
    submitted = executor.map_array(RunJob(), *arguments)
    _record(comparison, {job.name: _entry("slurm", sub) for job, sub in zip(jobs, submitted)})
    return submitted


def _gpus() -> int:
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:  # pragma: no cover
        return 0


def run_local(
    comparison: Comparison, jobs: list[Job], parallel: int, poll_s: float = 0.5, say: Callable[[str], None] = print
) -> dict[str, str]:
    """Run `jobs` as submitit local jobs, `parallel` at once (one GPU each, round robin, when there are
    GPUs), until every one has ended; returns job name -> 'done' or 'failed'."""
    submitit = _submitit()
    _check_names(comparison)
    refuse_foreign(jobs)
    if parallel < 1:
        raise ClearerError(f"--jobs must be at least 1, got {parallel}.")
    executor = submitit.LocalExecutor(folder=comparison.out / LAUNCHER / "logs")
    gpus = _gpus()
    queue, running, outcomes = list(jobs), {}, {}
    try:
        while queue or running:
            while queue and len(running) < parallel:
                job = queue.pop(0)
                held = [gpu for _, _, gpu in running.values()]
                gpu = min(range(gpus), key=held.count) if gpus else None
                executor.update_parameters(
                    timeout_min=LOCAL_TIMEOUT_MIN,
                    gpus_per_node=0 if gpu is None else 1,
                    visible_gpus=() if gpu is None else (gpu,),
                )
                sub = executor.submit(RunJob(), *job_arguments(comparison, job))
                _record(comparison, {job.name: _entry("local", sub)})
                say(f"started {job.name} as local job {sub.job_id}" + ("" if gpu is None else f" on GPU {gpu}"))
                running[job.name] = (job, sub, gpu)
            time.sleep(poll_s)
            for name, (job, sub, _) in list(running.items()):
                if sub.done():
                    del running[name]
                    outcomes[name] = "done" if job.done else "failed"
                    say(f"{outcomes[name]}: {name}" + ("" if job.done else f" (log: {sub.paths.stderr})"))
    except KeyboardInterrupt:
        for _, sub, _ in running.values():
            sub.cancel()
        raise ClearerError(
            "interrupted: the running jobs were stopped; run the same command again to resume them."
        ) from None
    return outcomes


# ------------------------------------------------------------------------------------ status


@dataclass
class JobState:
    """How one job of a comparison stands: 'pending', 'running', 'done', 'failed' or 'foreign' (its folder
    holds a run of another recipe), with a detail and, for a failed job, its log files."""

    job: Job
    state: str
    detail: str
    logs: list[Path]
    submitted: bool = False
    unknown: bool = False  # submitted, but whether it still runs cannot be told here (no squeue, another host)


def _alive(pid: int) -> bool:
    """Whether a process of this machine is alive (a zombie, ended but not yet reaped, is not)."""
    try:
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def squeue_states(job_ids: Iterable[str], run: Callable[..., Any] = subprocess.run) -> dict[str, str] | None:
    """Slurm state of every listed job still in the queue ('4242_3' -> 'RUNNING'), one line per array
    task; jobs that left the queue are absent. None when squeue is missing or failed."""
    ids = sorted({job_id.split("_")[0] for job_id in job_ids})
    if not ids or shutil.which("squeue") is None:
        return None
    try:
        proc = run(
            ["squeue", "--noheader", "--array", f"--jobs={','.join(ids)}", "--format=%i %T"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        # every id has left the queue: squeue calls them invalid
        return {} if "invalid job id" in (proc.stderr or "").lower() else None
    return dict(line.split()[:2] for line in proc.stdout.splitlines() if len(line.split()) >= 2)


RUNNING_IN_SLURM = {"RUNNING", "COMPLETING", "CONFIGURING", "STAGE_OUT", "SIGNALING", "RESIZING"}


def job_states(comparison: Comparison, jobs: list[Job] | None = None) -> list[JobState]:
    """How each job stands, from its run folder, the launcher's ledger and state files,
    and the scheduler (the local process, or squeue)."""
    jobs = comparison.jobs if jobs is None else jobs
    ledger = read_ledger(comparison)
    slurm_ids = [e["job_id"] for e in ledger.values() if e["launcher"] == "slurm"]
    queue = squeue_states(slurm_ids) if slurm_ids else None
    states = []
    for job in jobs:
        status, entry = job.status, ledger.get(job.name)
        if status in ("done", "foreign"):
            detail = str(job.out) if status == "done" else f"{job.out} holds a run of another recipe"
            states.append(JobState(job, status, detail, [], entry is not None))
            continue
        partial = " (resumes from its checkpoints)" if status == "partial" else ""
        if entry is None:
            states.append(JobState(job, "pending", "not submitted" + partial, []))
            continue
        states.append(_submitted_state(comparison, job, entry, queue, partial))
    return states


def _submitted_state(
    comparison: Comparison, job: Job, entry: dict[str, Any], queue: dict[str, str] | None, partial: str
) -> JobState:
    logs = [Path(entry["stderr"]), Path(entry["stdout"])]
    where = f"{entry['launcher']} job {entry['job_id']}"
    path = _state_file(comparison.out, job)
    said = artifacts.read_json(path) if path.is_file() else {}
    # the job's own JSON state file, never submitit's result pickle: unpickling a file from a (possibly
    # shared) comparison folder would run code from data
    ours = said.get("job_id") in (None, entry["job_id"])
    if said.get("state") == "failed" and ours:
        return JobState(job, "failed", f"{where}: {said.get('error', 'error')}", logs, True)
    if said.get("state") == "done" and ours:  # ended with success, yet the folder has no metrics
        return JobState(job, "failed", f"{where} ended but {job.out} has no metrics.json", logs, True)
    ended = f"{where} ended without a result (killed, out of memory, past its time limit or a node failure?)"
    if entry["launcher"] == "local":
        if entry.get("host") != _here():
            return JobState(job, "pending", f"submitted as {where} on {entry.get('host')}", logs, True, True)
        if _alive(int(entry["job_id"])):
            return JobState(job, "running", f"{where}{_since(said)}{partial}", logs, True)
        return JobState(job, "failed", ended, logs, True)
    if queue is None:  # no squeue here: the job's own word, when it has started
        if said.get("state") == "running":
            return JobState(job, "running", f"{where} (its state file; squeue unavailable){_since(said)}", logs, True)
        return JobState(job, "pending", f"submitted as {where}; squeue unavailable here", logs, True, True)
    slurm_state = queue.get(entry["job_id"])
    if slurm_state is None:
        return JobState(job, "failed", ended, logs, True)
    if slurm_state in RUNNING_IN_SLURM:
        return JobState(job, "running", f"{where}{_since(said)}{partial}", logs, True)
    return JobState(job, "pending", f"{where}: {slurm_state.lower()} in Slurm's queue{partial}", logs, True)


def _since(said: dict[str, Any]) -> str:
    if said.get("state") != "running":
        return ""
    started = time.strftime("%H:%M:%S", time.localtime(said["started"]))
    again = f", start {said['starts']}" if said.get("starts", 1) > 1 else ""
    return f" on {said['host']} (pid {said['pid']}) since {started}{again}"


def log_tail(paths: Iterable[Path], lines: int = 15) -> str:
    """The last `lines` lines of each non-empty log file, each under its path."""
    parts = []
    for path in paths:
        try:
            text = Path(path).read_text(errors="replace").rstrip().splitlines()
        except OSError:
            continue
        if text:
            parts.append(f"--- {path} (last {min(lines, len(text))} lines)\n" + "\n".join(text[-lines:]))
    return "\n".join(parts) if parts else "(no log written)"


def to_submit(states: list[JobState]) -> tuple[list[Job], list[JobState]]:
    """Jobs to (re)submit: never submitted, or failed; and the submitted ones whose state cannot be told
    here (left alone, so a queued job is never submitted twice)."""
    jobs = [s.job for s in states if s.state == "failed" or (s.state == "pending" and not s.submitted)]
    return jobs, [s for s in states if s.unknown]
