"""Fault injection on the smoke profile: SIGKILL in each phase and during a checkpoint write, a full disk
(file-size limit), and a stopped DDP rank. Prints one line per fault: what happened and whether the
resumed run matches an unbroken one.

    CLEARER_DATA=/path/to/data python benchmarks/fault_injection.py OUT_DIR

Takes a few minutes on 2 CPU cores (every case is a real `clearer run` process).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BSD = str(ROOT / "recipes" / "bsd.py")
SETS = [
    "--profile",
    "smoke",
    "--quiet",
    "--set",
    "search.epochs=4",
    "--set",
    "retrain.epochs=4",
    "--set",
    "evaluate.sets=[dict(name='set12', limit=1)]",
]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def clearer(*args: str, limit_bytes: int | None = None, **kw) -> subprocess.Popen:
    pre = None
    if limit_bytes is not None:
        import resource

        def pre():
            return resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.Popen(
        [sys.executable, "-m", "clearer", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        preexec_fn=pre,
        **kw,
    )


def finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, " ".join(err.split())


def scores(run: Path) -> dict:
    metrics = json.loads((run / "metrics.json").read_text())
    return {name: {k: v for k, v in m.items() if k != "seconds"} for name, m in metrics["sets"].items()}


def kill_when(run: Path, ready, what: str, reference: dict) -> str:
    proc = clearer("run", BSD, *SETS, "--out", str(run))
    t0 = time.time()
    while proc.poll() is None and not ready(run):
        time.sleep(0.02)
    if proc.poll() is not None:
        return f"{what}: the run ended before the fault could be injected (rc {proc.returncode})"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_after = time.time() - t0
    orphans = [p.name for p in run.rglob("*") if p.name.startswith(".clearer-tmp-")]
    rc, err = finish(clearer("run", BSD, *SETS, "--resume", str(run)))
    same = rc == 0 and scores(run) == reference
    left = [p.name for p in run.rglob("*") if p.name.startswith(".clearer-tmp-")]
    return (
        f"{what}: SIGKILL after {killed_after:.1f}s, orphan temp files {orphans or 'none'}; resume rc {rc}, "
        f"metrics identical to the unbroken run: {same}; temp files after resume: {left or 'none'}"
        + ("" if rc == 0 else f"; stderr: {err[-300:]}")
    )


def full_disk(run: Path, reference: dict) -> str:
    rc, err = finish(clearer("run", BSD, *SETS, "--out", str(run), limit_bytes=40_000))
    traceback = "Traceback" in err
    message = err[err.find("error:") :][:220] if "error:" in err else err[-220:]
    rc2, _ = finish(clearer("run", BSD, *SETS, "--resume", str(run)))
    same = rc2 == 0 and scores(run) == reference
    return (
        f"full disk (ulimit -f 40 kB): rc {rc}, traceback {traceback}, message: {message!r}; "
        f"resume without the limit rc {rc2}, metrics identical: {same}"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_pids(parent: int) -> dict[int, int]:
    """rank -> pid of the worker processes torchrun started."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().split()
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat[3]) == parent:
            for item in env:
                if item.startswith(b"RANK="):
                    found[int(item[5:])] = int(entry.name)
    return found


def stopped_rank(run: Path, timeout_s: int = 20) -> str:
    env = {**ENV, "CLEARER_DDP_TIMEOUT": str(timeout_s)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--master_addr=127.0.0.1",
            f"--master_port={free_port()}",
            "-m",
            "clearer",
            "run",
            BSD,
            *SETS,
            "--out",
            str(run),
            "--set",
            "channels_last=False",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    while proc.poll() is None and not (run / "state" / "search.safetensors").exists():
        time.sleep(0.05)
    pids = rank_pids(proc.pid)
    if 1 not in pids:
        proc.kill()
        return f"stopped DDP rank: could not find rank 1 (found {pids})"
    os.kill(pids[1], signal.SIGSTOP)
    t0 = time.time()
    try:
        _, err = proc.communicate(timeout=timeout_s + 240)
    except subprocess.TimeoutExpired:
        os.kill(pids[1], signal.SIGKILL)
        proc.kill()
        return f"stopped DDP rank: still hanging after {timeout_s + 240}s"
    waited = time.time() - t0
    try:
        os.kill(pids[1], signal.SIGKILL)
    except ProcessLookupError:
        pass
    err = " ".join(err.split())
    line = err[err.find("error: rank") :][:260] if "error: rank" in err else err[-400:]
    return (
        f"stopped DDP rank (SIGSTOP rank 1, CLEARER_DDP_TIMEOUT={timeout_s}): torchrun ended after "
        f"{waited:.0f}s with rc {proc.returncode}; rank 0 said: {line!r}"
    )


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    rc, err = finish(clearer("run", BSD, *SETS, "--out", str(out / "unbroken")))
    assert rc == 0, err[-2000:]
    reference = scores(out / "unbroken")
    print(f"unbroken run: {time.time() - t0:.0f}s, {reference}", flush=True)

    def state(name):
        return lambda run: (run / "state" / name).exists()

    def writing(run):
        return any((run / "state").glob(".clearer-tmp-*"))

    cases = [
        ("SIGKILL in search", state("search.safetensors")),
        ("SIGKILL in retrain", state("retrain.safetensors")),
        ("SIGKILL in evaluation", lambda run: (run / "model.safetensors").exists()),
        ("SIGKILL during a checkpoint write", lambda run: (run / "state").is_dir() and writing(run)),
    ]
    for i, (what, ready) in enumerate(cases):
        print(kill_when(out / f"kill{i}", ready, what, reference), flush=True)
    print(full_disk(out / "full", reference), flush=True)
    print(stopped_rank(out / "ddp"), flush=True)
    print(f"total {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
