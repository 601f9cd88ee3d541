"""`clearer compare --launcher local|slurm`, `--status` and the Slurm rendezvous helper.

No Slurm cluster was available: the Slurm path runs against stand-ins for srun, sbatch and squeue put on
PATH (sbatch keeps the script it is given and answers a job id), and one submitted array task is run the
way Slurm's srun would start it (`python -m submitit.core._submit FOLDER` with Slurm's environment).
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clearer.compare import load_comparison
from clearer.compare.launch import (
    RunJob,
    executor_parameters,
    job_states,
    parse_slurm,
    squeue_states,
)
from clearer.errors import ClearerError
from clearer.slurm import expand_nodelist, torchrun_args, torchrun_rendezvous

from conftest import RECIPES, clearer, comparison_table

submitit = pytest.importorskip("submitit")

MINI = """
BASE = {base!r}
VARIANTS = {{"clearer": {{}}, "all-fusion": {{"search.strategy": {{"name": "fixed", "candidate": "fusion"}}}}}}
"""
# `victim` searches, then retrains long enough to be killed or pre-empted while it retrains
VICTIM = """
BASE = {base!r}
VARIANTS = {{
    "all-fusion": {{"search.strategy": {{"name": "fixed", "candidate": "fusion"}}}},
    "victim": {{"retrain.epochs": 12}},
}}
"""


def mini(tmp_path: Path, text: str = MINI) -> Path:
    path = tmp_path / "mini.py"
    path.write_text(text.format(base=str(RECIPES / "bsd.py")))
    return path


def run_sets(folder: Path) -> dict:
    """Per job folder: what does not depend on the clock (architecture, size, every score of every set)."""
    found = {}
    for path in sorted(folder.glob("*/seed*/metrics.json")):
        metrics = json.loads(path.read_text())
        sets = {name: {k: v for k, v in m.items() if k != "seconds"} for name, m in metrics["sets"].items()}
        found[str(path.parent.relative_to(folder))] = (metrics["arch_hash"], metrics["params"], sets)
    return found


# ------------------------------------------------------------------------------------ resources


def test_slurm_resources_defaults_file_and_command_line_with_clear_errors():
    resources = parse_slurm(["partition=gpu,gpus_per_node=2", "timeout_min=30,setup=module load cuda;echo a,b"])
    assert resources["partition"] == "gpu" and resources["gpus_per_node"] == 2 and resources["timeout_min"] == 30
    assert resources["setup"] == ["module load cuda", "echo a,b"]  # a piece without '=' continues the value
    assert resources["cpus_per_task"] == 4  # a default
    assert parse_slurm([], {"partition": "cpu", "mem_gb": 8})["mem_gb"] == 8.0
    assert parse_slurm(["partition=gpu"], {"partition": "cpu"})["partition"] == "gpu"  # command line wins
    with pytest.raises(ClearerError, match=r"unknown Slurm resource 'gpu_per_node'.*gpus_per_node.*Known: partition"):
        parse_slurm(["gpu_per_node=2"])
    with pytest.raises(ClearerError, match="timeout_min='soon': expected int"):
        parse_slurm(["timeout_min=soon"])
    with pytest.raises(ClearerError, match="key=value"):
        parse_slurm(["gpu"])
    params = executor_parameters(parse_slurm(["array_parallelism=8"]), 35, "ablations")
    assert params["slurm_array_parallelism"] == 8 and params["name"] == "clearer-ablations"
    assert executor_parameters(parse_slurm([]), 3, "x")["slurm_array_parallelism"] == 3


def test_launcher_options_are_checked_before_anything_runs(tmp_path):
    from clearer.cli import check_launcher_options

    for args, message in [
        (("slurn", None, [], False, False), "unknown --launcher 'slurn'"),
        ((None, 2, [], False, False), "needs --launcher local"),
        (("local", None, ["partition=gpu"], False, False), "needs --launcher slurm"),
        ((None, None, [], True, True), "one at a time"),
        (("local", None, [], False, True), "leave out --launcher"),
    ]:
        with pytest.raises(ClearerError, match=message):
            check_launcher_options(*args)
    proc = clearer("compare", mini(tmp_path), "--profile", "smoke", "--out", tmp_path / "cmp", "--jobs", "2")
    assert proc.returncode == 2 and "needs --launcher local" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "cmp").exists()


# ------------------------------------------------------------------------------------ rendezvous


def test_compressed_nodelists_expand_like_scontrol_show_hostnames():
    assert expand_nodelist("node[01-03,07]") == ["node01", "node02", "node03", "node07"]
    assert expand_nodelist("gpu[8-10],login2") == ["gpu8", "gpu9", "gpu10", "login2"]
    assert expand_nodelist("r[1-2]n[001-002]") == ["r1n001", "r1n002", "r2n001", "r2n002"]
    assert expand_nodelist("single") == ["single"]
    for bad in ("node[01-03", "node]1[", "node[03-01]", "node[a-b]", ""):
        with pytest.raises(ClearerError):
            expand_nodelist(bad)


def test_torchrun_rendezvous_from_a_slurm_environment():
    env = {"SLURM_JOB_NODELIST": "node[01-03,07]", "SLURM_NNODES": "4", "SLURM_NODEID": "2", "SLURM_GPUS_ON_NODE": "8"}
    assert torchrun_rendezvous(env) == {
        "nnodes": 4,
        "node_rank": 2,
        "nproc_per_node": 8,
        "master_addr": "node01",
        "master_port": 29500,
    }
    assert torchrun_args({**env, "MASTER_PORT": "29400"})[-1] == "--master_port=29400"
    one = torchrun_rendezvous({"SLURM_JOB_NODELIST": "cn5", "SLURM_GPUS_PER_NODE": "a100:4"})
    assert (one["nnodes"], one["node_rank"], one["nproc_per_node"], one["master_addr"]) == (1, 0, 4, "cn5")
    with pytest.raises(ClearerError, match="disagrees"):
        torchrun_rendezvous({**env, "SLURM_NNODES": "3"})
    with pytest.raises(ClearerError, match="inside a Slurm job"):
        torchrun_rendezvous({})


# ------------------------------------------------------------------------------------ slurm, without a cluster


def fake_slurm(tmp_path: Path, queue: str = "", queue_rc: int = 0, queue_err: str = "") -> dict[str, str]:
    """PATH with stand-ins: srun (present, so submitit sees a cluster), sbatch (keeps each script in
    tmp_path/sbatch/ and answers 'Submitted batch job 4242', then 4243, ...), squeue (prints `queue`)."""
    bin_dir, kept = tmp_path / "bin", tmp_path / "sbatch"
    bin_dir.mkdir(exist_ok=True)
    kept.mkdir(exist_ok=True)
    scripts = {
        "srun": "#!/bin/sh\nexit 0\n",
        "sbatch": (
            f'#!/bin/sh\nn=$(ls {kept} | wc -l)\ncp "$1" {kept}/$((4242 + n)).sh\n'
            'echo "Submitted batch job $((4242 + n))"\n'
        ),
        "squeue": f"#!/bin/sh\necho \"$@\" > {tmp_path}/squeue-args\nprintf '{queue}'\necho '{queue_err}' >&2\nexit {queue_rc}\n",
    }
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def submit_mini(tmp_path: Path) -> tuple[Path, Path, list, subprocess.CompletedProcess]:
    """`clearer compare mini.py --launcher slurm` against the stand-ins: (file, folder, arguments, result)."""
    path, out = mini(tmp_path), tmp_path / "cmp"
    args = ["compare", path, "--profile", "smoke", "--out", out]
    slurm = "partition=gpu,gpus_per_node=1,timeout_min=30,array_parallelism=1,mem_gb=8,setup=module load cuda"
    proc = clearer(*args, "--launcher", "slurm", "--slurm", slurm, env=fake_slurm(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return path, out, args, proc


def slurm_status(tmp_path: Path, args: list, **queue) -> str:
    proc = clearer(*args, "--status", env=fake_slurm(tmp_path, **queue))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_slurm_submission_is_one_array_with_the_resources_log_paths_and_job_function(data_dir, tmp_path):
    path, out, args, proc = submit_mini(tmp_path)
    assert "as Slurm job array 4242" in proc.stdout and "squeue -j 4242" in proc.stdout and "--status" in proc.stdout
    script = (tmp_path / "sbatch" / "4242.sh").read_text()
    logs = out.resolve() / "launcher" / "logs"
    for line in [
        "#SBATCH --array=0-1%1",  # two jobs, one at a time
        "#SBATCH --partition=gpu",
        "#SBATCH --gpus-per-node=1",
        "#SBATCH --time=30",
        "#SBATCH --mem=8GB",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --ntasks-per-node=1",
        "#SBATCH --job-name=clearer-mini",
        "#SBATCH --signal=USR2@120",  # the warning before the time limit, when the job checkpoints
        f"#SBATCH --output={logs}/%A_%a_0_log.out",
        f"#SBATCH --error={logs}/%A_%a_0_log.err",
        "module load cuda",
    ]:
        assert line in script.splitlines(), (line, script)
    assert f"-m submitit.core._submit {logs}" in script and sys.executable in script
    grid = {j.name: j for j in load_comparison(path, "smoke", {}, None, out).jobs}
    for task, name in enumerate(["clearer/seed0", "all-fusion/seed0"]):
        delayed = submitit.helpers.DelayedSubmission.load(logs / f"4242_{task}_submitted.pkl")
        assert isinstance(delayed.function, RunJob)
        file, recipe, job_out, variant, seed, _ = delayed.args
        assert (file, Path(job_out), f"{variant}/seed{seed}") == (str(path.resolve()), grid[name].out, name)
        assert recipe == grid[name].recipe.to_dict()
        again = delayed.function.checkpoint(*delayed.args)  # pre-empted: the same call, requeued
        assert again.function is delayed.function and again.args == delayed.args
    ledger = json.loads((out / "launcher" / "jobs.json").read_text())["jobs"]
    assert {e["job_id"] for e in ledger.values()} == {"4242_0", "4242_1"}

    shown = slurm_status(tmp_path, args, queue="4242_0 RUNNING\\n4242_1 PENDING\\n")
    assert (
        "--array" in (tmp_path / "squeue-args").read_text() and "--jobs=4242" in (tmp_path / "squeue-args").read_text()
    )
    assert "1 running, 1 pending" in shown and "pending in Slurm's queue" in shown
    # a second submission while both are queued or running submits nothing
    again = clearer(*args, "--launcher", "slurm", env=fake_slurm(tmp_path, queue="4242_0 RUNNING\\n4242_1 PENDING\\n"))
    assert "nothing to submit" in again.stdout and not (tmp_path / "sbatch" / "4243.sh").exists()


@pytest.mark.slow
def test_a_submitted_array_task_runs_as_srun_starts_it_and_a_lost_one_is_resubmitted(data_dir, tmp_path):
    path, out, args, _ = submit_mini(tmp_path)
    logs = out.resolve() / "launcher" / "logs"
    grid = {j.name: j for j in load_comparison(path, "smoke", {}, None, out).jobs}
    # run task 1 as srun would start it on a node: the job function from its pickle, Slurm's environment
    env = {
        **os.environ,
        "SUBMITIT_EXECUTOR": "slurm",
        "SLURM_JOB_ID": "4244",
        "SLURM_ARRAY_JOB_ID": "4242",
        "SLURM_ARRAY_TASK_ID": "1",
        "SLURM_PROCID": "0",
        "SLURM_LOCALID": "0",
        "SLURM_NODEID": "0",
        "SLURM_NTASKS": "1",
        "SLURM_JOB_NUM_NODES": "1",
        "SLURM_JOB_NODELIST": "node01",
    }
    task = subprocess.run(
        [sys.executable, "-u", "-m", "submitit.core._submit", str(logs)], env=env, capture_output=True, text=True
    )
    assert task.returncode == 0, task.stderr[-3000:]
    assert pickle.loads((logs / "4242_1_0_result.pkl").read_bytes())[0] == "success"
    assert (grid["all-fusion/seed0"].out / "metrics.json").is_file()

    # task 0 left the queue without a result (e.g. killed): failed; squeue says so by calling the id invalid
    shown = slurm_status(
        tmp_path, args, queue="", queue_rc=1, queue_err="slurm_load_jobs error: Invalid job id specified"
    )
    assert "1 done, 1 failed" in shown and "ended without a result" in shown
    retry = clearer(*args, "--launcher", "slurm", env=fake_slurm(tmp_path, queue_rc=1, queue_err="Invalid job id"))
    assert retry.returncode == 0, retry.stderr[-3000:]
    assert "skipping 1 finished" in retry.stdout and "Slurm job 4243" in retry.stdout  # one job: not an array
    assert "--array" not in (tmp_path / "sbatch" / "4243.sh").read_text()
    ledger = json.loads((out / "launcher" / "jobs.json").read_text())["jobs"]
    assert ledger["clearer/seed0"]["job_id"] == "4243" and ledger["clearer/seed0"]["attempt"] == 2


def test_squeue_states_reads_array_tasks_and_tells_an_empty_queue_from_a_broken_one(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/" + name)

    def answer(stdout="", returncode=0, stderr=""):
        return lambda *a, **k: subprocess.CompletedProcess(a, returncode, stdout, stderr)

    assert squeue_states(["7_0", "7_1"], run=answer("7_0 RUNNING\n7_1 PENDING\n")) == {
        "7_0": "RUNNING",
        "7_1": "PENDING",
    }
    assert squeue_states(["7_0"], run=answer(returncode=1, stderr="Invalid job id specified")) == {}
    assert squeue_states(["7_0"], run=answer(returncode=1, stderr="Unable to contact slurm controller")) is None


def test_slurm_needs_srun_and_unknown_resources_fail_first(data_dir, tmp_path):
    path = mini(tmp_path)
    args = ["compare", path, "--profile", "smoke", "--out", tmp_path / "cmp", "--launcher", "slurm"]
    proc = clearer(*args, "--slurm", "gpus=1", env=fake_slurm(tmp_path))
    assert proc.returncode == 2 and "unknown Slurm resource 'gpus'" in proc.stderr and "gpus_per_node" in proc.stderr
    no_srun = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + "/usr/bin:/bin"}
    if any((Path(p) / "srun").exists() for p in no_srun["PATH"].split(os.pathsep)):
        pytest.skip("this machine has srun")
    proc = clearer(*args, env=no_srun)
    assert (
        proc.returncode == 2 and "cannot submit to Slurm from here" in proc.stderr and "--launcher local" in proc.stderr
    )


# ------------------------------------------------------------------------------------ local launcher


def test_status_of_a_comparison_never_launched(tmp_path):
    comparison = load_comparison(mini(tmp_path), "smoke", {}, None, tmp_path / "cmp")
    states = job_states(comparison)
    assert [(s.job.name, s.state, s.detail) for s in states] == [
        ("clearer/seed0", "pending", "not submitted"),
        ("all-fusion/seed0", "pending", "not submitted"),
    ]


@pytest.mark.slow
def test_local_launcher_gives_the_table_of_the_in_process_run(data_dir, tmp_path):
    path = mini(tmp_path)
    inline, launched = tmp_path / "inline", tmp_path / "launched"
    assert clearer("compare", path, "--profile", "smoke", "--out", inline).returncode == 0
    proc = clearer("compare", path, "--profile", "smoke", "--out", launched, "--launcher", "local", "--jobs", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "started clearer/seed0 as local job" in proc.stdout and "done: all-fusion/seed0" in proc.stdout
    assert run_sets(launched) == run_sets(inline) and len(run_sets(inline)) == 2
    assert comparison_table(launched) == comparison_table(inline)
    shown = clearer("compare", path, "--profile", "smoke", "--out", launched, "--status")
    assert shown.returncode == 0 and "2 done" in shown.stdout


def start_local(path: Path, out: Path) -> subprocess.Popen:
    args = ["compare", str(path), "--profile", "smoke", "--out", str(out), "--launcher", "local", "--jobs", "2"]
    return subprocess.Popen(
        [sys.executable, "-m", "clearer", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_while_retraining(out: Path, name: str, timeout: float = 300) -> int:
    """The pid of job `name`'s process once its search has finished (arch.json) and it retrains."""
    variant, seed = name.split("/")
    state, run = out / "launcher" / "state" / f"{variant}__{seed}.json", out / variant / seed
    deadline = time.time() + timeout
    while time.time() < deadline:
        if state.is_file() and (run / "arch.json").is_file():
            assert not (run / "metrics.json").exists(), "the job finished before it could be stopped"
            return json.loads(state.read_text())["pid"]
        time.sleep(0.05)
    raise AssertionError(f"{name} never reached its retraining")


@pytest.mark.slow
def test_a_killed_local_job_shows_failed_with_its_log_and_a_rerun_finishes_only_it(data_dir, tmp_path):
    path, out = mini(tmp_path, VICTIM), tmp_path / "cmp"
    launcher = start_local(path, out)
    os.kill(wait_while_retraining(out, "victim/seed0"), signal.SIGKILL)
    stdout, stderr = launcher.communicate(timeout=600)
    assert launcher.returncode == 2, stderr[-3000:]
    assert "1 of 2 jobs failed: victim/seed0" in stderr and "--status" in stderr and "Traceback" not in stderr
    assert "done: all-fusion/seed0" in stdout

    status = clearer("compare", path, "--profile", "smoke", "--out", out, "--status")
    assert status.returncode == 0, status.stderr[-3000:]
    assert "1 done, 1 failed" in status.stdout and "failed: victim/seed0" in status.stdout
    assert "ended without a result" in status.stdout and "_log.out (last" in status.stdout
    assert "run mini-victim" in status.stdout.split("failed: victim/seed0")[1]  # the tail of the run's own log

    finished = out / "all-fusion" / "seed0" / "metrics.json"
    before = finished.stat().st_mtime_ns
    again = clearer("compare", path, "--profile", "smoke", "--out", out, "--launcher", "local", "--jobs", "2")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "skipping 1 finished" in again.stdout and "started victim/seed0" in again.stdout
    assert "started all-fusion" not in again.stdout and finished.stat().st_mtime_ns == before
    assert "search: already done" in (out / "victim" / "seed0" / "log.txt").read_text()  # resumed, not restarted
    assert "2 done" in clearer("compare", path, "--profile", "smoke", "--out", out, "--status").stdout


@pytest.mark.slow
def test_a_preempted_local_job_checkpoints_requeues_itself_and_resumes(data_dir, tmp_path):
    """submitit's checkpointing: the pre-emption signal (USR2, as Slurm sends it) makes the job hand back
    a resubmission of itself and exit for requeueing; the requeued job resumes from the run's checkpoints."""
    path, out = mini(tmp_path, VICTIM), tmp_path / "cmp"
    launcher = start_local(path, out)
    os.kill(wait_while_retraining(out, "victim/seed0"), signal.SIGUSR2)
    stdout, stderr = launcher.communicate(timeout=600)
    assert launcher.returncode == 0, stderr[-3000:]
    assert "done: victim/seed0" in stdout and "failed" not in stdout
    state = json.loads((out / "launcher" / "state" / "victim__seed0.json").read_text())
    assert state["state"] == "done" and state["starts"] == 2
    ledger = json.loads((out / "launcher" / "jobs.json").read_text())["jobs"]["victim/seed0"]
    log = Path(ledger["stdout"]).read_text() + Path(ledger["stderr"]).read_text()
    assert "this job is preempted" in log and "Calling checkpoint method" in log
    assert "search: already done" in (out / "victim" / "seed0" / "log.txt").read_text()


@pytest.mark.slow
def test_ablations_smoke_through_the_local_launcher_gives_the_in_process_table(data_dir, tmp_path):
    ablations = RECIPES / "ablations.py"
    inline, launched = tmp_path / "inline", tmp_path / "launched"
    args = ["compare", ablations, "--profile", "smoke", "--seeds", "1"]
    assert clearer(*args, "--out", inline, timeout=1800).returncode == 0
    proc = clearer(*args, "--out", launched, "--launcher", "local", "--jobs", "2", timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert run_sets(launched) == run_sets(inline) and len(run_sets(inline)) == 15  # 10 variants + 5 random-arch
    assert comparison_table(launched) == comparison_table(inline)


def test_launchers_refuse_a_folder_of_another_recipe_and_help_names_the_options(data_dir, tmp_path):
    path, out = mini(tmp_path), tmp_path / "cmp"
    job = load_comparison(path, "smoke", {}, None, out).jobs[0]
    job.out.mkdir(parents=True)
    (job.out / "recipe.json").write_text(json.dumps({**job.recipe.to_dict(), "seed": 7}))  # another recipe's run
    proc = clearer("compare", path, "--profile", "smoke", "--out", out, "--launcher", "local")
    assert proc.returncode == 2 and "different recipe" in proc.stderr and not (out / "launcher").exists()
    shown = clearer("compare", "--help", env={**os.environ, "COLUMNS": "200"}).stdout
    for option in ("--launcher", "--jobs", "--slurm", "--status", "partition", "timeout_min", "array_parallelism"):
        assert option in shown, option
