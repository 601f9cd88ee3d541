"""How the search step's time and memory grow with batch size, patch size and width, on this machine.

Each point is one search step (weight + α step) as the engine runs it by default here, timed in its
own process (`search_step.measure`, so its peak memory is its own), varying one factor of a base
configuration at a time. Prints a table and writes a PNG.

    python benchmarks/scaling.py [--device cpu|cuda] [--base quick|paper] [--out scaling.png] [--steps 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_step import CONFIGS, measure  # noqa: E402

GRID = {
    "cpu": {"batch": [8, 16, 32, 64], "patch": [24, 40, 64, 96], "width": [16, 32, 48, 64]},
    "cuda": {"batch": [16, 32, 64, 128, 256], "patch": [32, 64, 96, 128], "width": [16, 32, 48, 64]},
}


def point(config: dict[str, Any], args: argparse.Namespace) -> dict[str, Any] | None:
    """One measured point in a fresh process; None when it failed (e.g. out of memory)."""
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--point",
            json.dumps(config),
            "--steps",
            str(args.steps),
            "--device",
            args.device,
            "--mode",
            args.mode,
        ],
        capture_output=True,
        text=True,
    )
    lines = proc.stdout.strip().splitlines()
    return json.loads(lines[-1]) if proc.returncode == 0 and lines else None


def plot(rows: dict[str, list[tuple[int, dict[str, Any]]]], base: dict[str, Any], where: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(rows), figsize=(4.2 * len(rows), 3.6))
    for ax, (factor, points) in zip(axes, rows.items()):
        xs = [x for x, _ in points]
        ax.plot(xs, [r["s_per_step"] for _, r in points], "o-", color="tab:blue")
        ax.set_xlabel(factor)
        ax.set_ylabel("s / search step", color="tab:blue")
        ax.axvline(base[factor], color="grey", lw=0.6, ls=":")
        mem = ax.twinx()
        mem.plot(xs, [r["mem_gib"] for _, r in points], "s--", color="tab:red")
        mem.set_ylabel("peak memory GiB", color="tab:red")
        ax.set_ylim(bottom=0)
        mem.set_ylim(bottom=0)
    fig.suptitle(f"search step vs batch, patch, width ({where}); others as base {base}", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--base", default=None, help="quick (default on CPU) or paper (default on CUDA)")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--mode", default="now", help="a search_step.py mode (default: the engine's defaults)")
    parser.add_argument("--out", type=Path, default=Path("scaling.png"))
    parser.add_argument("--point", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.point:
        print(json.dumps(measure(json.loads(args.point), args.mode, args.steps, args.device, "search")))
        return
    import torch

    base = dict(CONFIGS[args.base or ("paper" if args.device == "cuda" else "quick")])
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"{torch.get_num_threads()} CPU threads"
    print(f"machine: {where}, torch {torch.__version__}, mode {args.mode}, base {base}")
    print(f"{'factor':6} {'value':>5} {'s/step':>8} {'samples/s':>9} {'GFLOP':>7} {'%peak':>5} {'mem GiB':>7}")
    rows: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for factor, values in GRID["cuda" if args.device == "cuda" else "cpu"].items():
        rows[factor] = []
        for value in values:
            r = point({**base, factor: value}, args)
            if r is None:
                print(f"{factor:6} {value:5} failed (out of memory?)", flush=True)
                continue
            rows[factor].append((value, r))
            print(
                f"{factor:6} {value:5} {r['s_per_step']:8.3f} {r['samples_per_s']:9.1f} {r['gflop_per_step']:7.1f} "
                f"{r['pct_peak']:5.1f} {r['mem_gib']:7.2f}",
                flush=True,
            )
    plot({k: v for k, v in rows.items() if v}, base, where, args.out)
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()
