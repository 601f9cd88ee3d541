"""Inference speed on this machine: restoring one image with the quick and the paper-size network.

Prints one table: megapixels per second, the share of this run's own matmul peak (a large float32 and
bf16 matmul timed in the same process), wall and CPU seconds per image with the system share, and the
process's peak memory growth, for eager PyTorch (float32 and bf16 autocast), ONNX Runtime on the model
`clearer.export` writes, and optionally torch.compile; whole images and tiles of 512 (the old default).
The networks are built from recipes/bsd.py's `quick` and `paper` profiles with seeded random weights
and every choice point set to 'parallel' (timing does not depend on the weights' values).

    python benchmarks/inference.py                       # default table, about 5 minutes on 2 cores
    python benchmarks/inference.py --compile --all       # also torch.compile and every combination
    python benchmarks/inference.py --ab OLD/src          # model.restore: OLD tree vs this one, interleaved
    python benchmarks/inference.py --eval-ab OLD/src     # the quick profile's evaluation of BSD68, same

Wall-clock figures share the machine with whatever else runs; CPU times (user, system) much less so.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]


def network(profile: str) -> torch.nn.Module:
    """recipes/bsd.py's network for `profile`, every choice 'parallel', seeded weights, eval mode."""
    from clearer.engine.build import build_space
    from clearer.recipe import load_recipe

    recipe = load_recipe(ROOT / "recipes" / "bsd.py").resolve(profile)
    architecture = {choice.label: "parallel" for choice in build_space(recipe).choices()}
    torch.manual_seed(0)
    model = build_space(recipe, architecture).eval()
    with torch.no_grad():  # the output layer starts at zero (output = input): give it weights, so outputs differ
        for param in model.parameters():
            if param.dim() > 1 and not param.any():
                param.normal_(0, 0.01)
    model.multiple, model.channels, model.recipe = getattr(model, "multiple", 1), recipe.data.channels, recipe
    return model


def test_image(height: int, width: int) -> torch.Tensor:
    """A [1,H,W] grey image: a BSDS500 test picture resized (random noise without CLEARER_DATA), plus σ=25 noise."""
    from clearer.data.images import read_image

    path = Path(os.environ.get("CLEARER_DATA", "/nonexistent")) / "BSDS500" / "test" / "100007.jpg"
    g = torch.Generator().manual_seed(0)
    clean = read_image(path, 1)[None] if path.is_file() else torch.rand(1, 1, 321, 481, generator=g)
    clean = torch.nn.functional.interpolate(clean, size=(height, width), mode="bilinear", align_corners=False)[0]
    return clean + torch.randn(clean.shape, generator=g) * 25 / 255


def matmul_peak(dtype: torch.dtype, n: int = 2048, repeat: int = 5) -> float:
    """FLOP/s of the fastest of `repeat` n x n matmuls in `dtype` (the benchmark keeps the best of the run:
    on a loaded machine a single measurement can be far below the hardware's peak)."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def flops_per_pixel(model: torch.nn.Module) -> float:
    """FLOPs (2 per multiply-add, as torch's FlopCounterMode counts) per input pixel."""
    from torch.utils.flop_counter import FlopCounterMode

    side = max(64, 8 * model.multiple)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, model.channels, side, side))
    return counter.get_total_flops() / side**2


def _status(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak() -> int:
    """Hand freed heap memory back (glibc), restart the peak-RSS count (Linux) and return the current RSS
    (ru_maxrss elsewhere), so the next peak is that of what runs next, not of an earlier row's kept heap."""
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    now = _status("VmRSS")
    return now if now is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_rss() -> int:
    peak = _status("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def timed(run: Any, repeat: int) -> dict[str, Any]:
    """Median wall and mean user/system CPU seconds of `repeat` calls after a warm-up call (kernels chosen,
    sessions built, graphs compiled: its seconds are `first_s`), the peak memory growth over all of them
    and the last output."""
    base = reset_peak()
    t0 = time.perf_counter()
    out = run()
    first = time.perf_counter() - t0
    walls, users, systems = [], [], []
    for _ in range(repeat):
        r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        run()
        r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        walls.append(t1 - t0)
        users.append(r1.ru_utime - r0.ru_utime)
        systems.append(r1.ru_stime - r0.ru_stime)
    return {
        "wall": statistics.median(walls),
        "user": statistics.mean(users),
        "sys": statistics.mean(systems),
        "peak_gib": (peak_rss() - base) / 2**30,
        "first_s": first,
        "out": out,
    }


def bf16(model: torch.nn.Module) -> Any:
    def fn(x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return model(x).float()

    return fn


def onnx_runtime(model: torch.nn.Module, image: Path) -> Any:
    """An ONNX Runtime session on the file `clearer.export` writes (dynamic batch/height/width)."""
    import onnxruntime

    from clearer.api import export

    out = Path(tempfile.mkdtemp()) / "model.onnx"
    t0 = time.perf_counter()
    result = export(model, "onnx", out, image=image)
    print(f"  exported to ONNX in {time.perf_counter() - t0:.0f} s, max |diff| {result.max_abs_diff:.2e}", flush=True)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = onnxruntime.InferenceSession(str(out), options, providers=["CPUExecutionProvider"])

    def fn(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {"image": x.contiguous().numpy()})[0])

    return fn


def table(args: argparse.Namespace) -> None:
    from clearer.train.allocator import keep_freed_memory
    from clearer.train.inference import TILE_OVERLAP, restore_image

    keep_freed_memory()
    torch.set_num_threads(args.threads or torch.get_num_threads())
    x = test_image(args.height, args.width)
    mpx = args.height * args.width / 1e6
    peaks = {"float32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    print(
        f"{torch.__version__}, {torch.get_num_threads()} threads, image {args.width}x{args.height} ({mpx:.2f} Mpx); "
        f"matmul peak this run: float32 {peaks['float32'] / 1e9:.0f} GFLOP/s, bf16 {peaks['bf16'] / 1e9:.0f} GFLOP/s",
        flush=True,
    )
    png = Path(tempfile.mkdtemp()) / "check.png"
    from clearer.data.images import save_image

    save_image(png, x.clamp(0, 1))
    rows = []
    for profile in args.networks:
        model = network(profile)
        fpp = flops_per_pixel(model)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        print(f"{profile}: {params:.2f} M parameters, {fpp / 1e3:.0f} kFLOP/px", flush=True)
        engines = [("eager", "float32", model), ("eager", "bf16", bf16(model))]
        if args.onnx:
            engines.append(("onnxruntime", "float32", onnx_runtime(model, png)))
        if args.compile:
            engines.append(("compile", "float32", torch.compile(model, dynamic=False)))
            engines.append(("compile", "bf16", torch.compile(bf16(model), dynamic=False)))
        reference = None
        for engine, precision, fn in engines:
            tiles = [None, 512] if args.all or (profile == args.networks[0] and precision == "float32") else [None]
            for tile in tiles:

                def run(fn: Any = fn, tile: int | None = tile, multiple: int = model.multiple) -> torch.Tensor:
                    return restore_image(fn, x, multiple, tile, TILE_OVERLAP)

                for dtype, name in ((torch.float32, "float32"), (torch.bfloat16, "bf16")):  # the run's best
                    peaks[name] = max(peaks[name], matmul_peak(dtype, repeat=2))
                got = timed(run, args.repeat)
                out, first = got.pop("out"), got["first_s"]
                if reference is None:
                    reference = out
                cpu = got["user"] + got["sys"]
                row = {
                    "network": profile,
                    "engine": engine,
                    "precision": precision,
                    "tiles": "whole" if tile is None else str(tile),
                    "mpx_per_s": mpx / got["wall"],
                    "flop_per_s": fpp * mpx * 1e6 / got["wall"],
                    **got,
                    "sys_pct": 100 * got["sys"] / cpu if cpu else 0.0,
                    "max_diff": float((out - reference).abs().max()),
                }
                rows.append(row)
                print(
                    f"  {engine:11} {precision:7} {row['tiles']:5} {row['mpx_per_s']:.3f} Mpx/s "
                    f"({row['flop_per_s'] / 1e9:.0f} GFLOP/s) wall {got['wall']:.2f} s user {got['user']:.2f} "
                    f"sys {got['sys']:.2f} peak {got['peak_gib']:.2f} GiB; first call {first:.1f} s",
                    flush=True,
                )
    for row in rows:  # against the best matmul seen in the whole run (a loaded machine's peak varies)
        row["peak_pct"] = 100 * row["flop_per_s"] / peaks[row["precision"]]
    print(
        f"\nmatmul peak (best of the run): float32 {peaks['float32'] / 1e9:.0f} GFLOP/s, "
        f"bf16 {peaks['bf16'] / 1e9:.0f} GFLOP/s\n"
    )
    print(
        "| network | engine | precision | tiles | Mpx/s | % of matmul peak | wall s | user s | sys s | sys % "
        "| peak GiB | max abs diff vs eager fp32 whole |"
    )
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['network']} | {r['engine']} | {r['precision']} | {r['tiles']} | {r['mpx_per_s']:.3f} | "
            f"{r['peak_pct']:.0f} | {r['wall']:.2f} | {r['user']:.2f} | {r['sys']:.2f} | {r['sys_pct']:.0f} | "
            f"{r['peak_gib']:.2f} | {r['max_diff']:.1e} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"matmul_peak": peaks, "rows": rows}, indent=2))


# ------------------------------------------------------------------ before/after: one tree against another

RESTORE_ONE = """
import json, resource, sys, time, torch
sys.path.insert(0, {bench!r})
from inference import network, test_image
model = network("quick")
from clearer.api import restore
x = test_image({height}, {width})
r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
y = restore(model, x)  # the default settings of model.restore
r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
torch.save(y, {out!r})
print(json.dumps({{"wall": t1 - t0, "user": r1.ru_utime - r0.ru_utime, "sys": r1.ru_stime - r0.ru_stime}}))
"""

EVALUATE_ONE = """
import json, resource, sys, time, tempfile, torch
from pathlib import Path
sys.path.insert(0, {bench!r})
from inference import network
from clearer.engine.evaluate import evaluate
from clearer.rundir.progress import RunLog
from clearer.recipe import Recipe, apply_overrides
model = network("quick")
recipe = Recipe.from_dict(apply_overrides(model.recipe.to_dict(), {{"evaluate.sets": ["bsd68"], "evaluate.samples": 0}}))
r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
sets = evaluate(recipe, model, Path(tempfile.mkdtemp()), torch.device("cpu"), RunLog(None, verbose=False))
r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
print(json.dumps({{"wall": t1 - t0, "user": r1.ru_utime - r0.ru_utime, "sys": r1.ru_stime - r0.ru_stime,
                  "psnr": sets["bsd68"]["psnr"]}}))
"""


def ab(args: argparse.Namespace, old_src: str, script: str, what: str) -> None:
    """Run `script` under the old tree and this one in alternation, `repeat` times each."""
    new_src = str(ROOT / "src")
    folder = Path(tempfile.mkdtemp())
    results: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for i in range(args.repeat):
        for name, src in (("before", old_src), ("after", new_src)):
            out = folder / f"{name}.pt"
            code = script.format(bench=str(Path(__file__).parent), height=args.height, width=args.width, out=str(out))
            env = {**os.environ, "PYTHONPATH": src}
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                sys.exit(proc.stderr[-3000:])
            got = json.loads(proc.stdout.strip().splitlines()[-1])
            results[name].append(got)
            print(f"{what} {name} #{i + 1}: " + ", ".join(f"{k} {v:.3f}" for k, v in got.items()), flush=True)
    print(f"\n| {what} | wall s (median) | user s | sys s | sys % |\n|---|---:|---:|---:|---:|")
    for name, runs in results.items():
        wall = statistics.median(r["wall"] for r in runs)
        user, system = statistics.mean(r["user"] for r in runs), statistics.mean(r["sys"] for r in runs)
        print(f"| {name} | {wall:.2f} | {user:.2f} | {system:.2f} | {100 * system / (user + system):.0f} |")
    ratio = [b["wall"] / a["wall"] for b, a in zip(results["before"], results["after"])]
    print(f"before/after wall ratio per pair: {', '.join(f'{r:.2f}' for r in ratio)}")
    if (folder / "before.pt").exists():
        diff = (torch.load(folder / "before.pt") - torch.load(folder / "after.pt")).abs().max()
        print(f"max |after - before| of the restored image: {float(diff):.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", nargs="+", default=["quick", "paper"], help="recipes/bsd.py profiles")
    parser.add_argument("--height", type=int, default=644)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=2, help="timed calls per row (after one warm-up call)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    parser.add_argument("--no-onnx", dest="onnx", action="store_false", help="skip ONNX Runtime")
    parser.add_argument("--compile", action="store_true", help="also torch.compile (minutes to compile on a CPU)")
    parser.add_argument("--all", action="store_true", help="whole and tiled for every network and precision")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--ab", metavar="OLD_SRC", help="model.restore defaults: OLD_SRC's clearer vs this one")
    parser.add_argument("--eval-ab", metavar="OLD_SRC", help="quick-profile evaluation of BSD68: OLD_SRC vs this")
    args = parser.parse_args()
    if args.ab:
        ab(args, args.ab, RESTORE_ONE, "model.restore")
    elif args.eval_ab:
        ab(args, args.eval_ab, EVALUATE_ONE, "evaluate BSD68")
    else:
        table(args)


if __name__ == "__main__":
    main()
