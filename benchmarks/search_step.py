"""Throughput of one search step (weight + α step) and one retrain step, every figure measured here.

Nothing in a row comes from another machine or another run:
- FLOPs: counted by torch.utils.flop_counter.FlopCounterMode on the step as it runs: convolutions
  and matmuls of the forward and of the backward that is actually computed (the α step asks for no
  weight gradients, so none are counted). Element-wise work (BatchNorm, ReLU, optimiser) is not
  counted. A compiled row does the same arithmetic; its FLOPs are counted on its first, eager step.
- peak: the best rate of a large matmul in the row's own precision (float32, TF32 or bf16), measured
  in the same process just before and just after the timed steps; "% peak" is against that peak.
- reference: the plain eager float32 step (contiguous memory, no TF32, no compile) of the same
  configuration, measured in the same run; "vs ref" is its time over the row's time.
- "before" is the engine's default until issue 15 (channels_last, bf16 autocast where fast, for-each
  optimisers, eager); "now" is its default today (fused optimisers, compiled on CUDA with CUDA graphs).
Each row runs in its own process, so its peak memory and its compile time are its own.

    python benchmarks/search_step.py [--steps 3] [--configs paper,quick] [--device cpu|cuda]
                                     [--phases search,retrain] [--modes ref,before,now,...]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

CONFIGS = {
    "paper": dict(width=32, cells=3, columns=4, stem_blocks=2, residual=False, batch=32, patch=64),
    "quick": dict(width=32, cells=3, columns=2, stem_blocks=2, residual=True, batch=32, patch=40),
    "tiny": dict(width=4, cells=1, columns=1, stem_blocks=1, residual=True, batch=4, patch=16),  # tests
}
# mode -> (channels_last, precision, compile, fused optimisers); precision "auto" is the engine's choice
MODES: dict[str, tuple[bool, str, bool | str, bool]] = {
    "ref": (False, "float32", False, False),
    "channels_last": (True, "float32", False, False),
    "tf32": (True, "tf32", False, False),
    "bf16": (True, "bf16", False, False),
    "before": (True, "auto", False, False),
    "now": (True, "auto", "auto", True),
    "compiled": (True, "auto", True, True),
}
PAPER_STEPS = {"search": 200 * 50, "retrain": 1000 * 100}
PAPER_TEST_IMAGES = 200  # BSDS500 test, 481x321


def resolve_precision(precision: str, device: Any) -> str:
    """'auto' -> what the engine uses: bf16 where it is fast (CPUs with AVX512-BF16/AMX), TF32 on CUDA."""
    from clearer.train.device import bf16_is_fast

    if precision != "auto":
        return precision
    return "bf16" if bf16_is_fast(device) else ("tf32" if device.type == "cuda" else "float32")


def set_tf32(on: bool) -> None:
    import torch

    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def matmul_peak(device: Any, precision: str, n: int | None = None, seconds: float = 0.5) -> float:
    """GFLOP/s of the best of three rounds of large square matmuls in `precision` on `device`."""
    import torch

    n = n or (8192 if device.type == "cuda" else 2048)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    a @ b
    sync()
    best = 0.0
    for _ in range(3):
        count, t = 0, time.perf_counter()
        while time.perf_counter() - t < seconds or count == 0:
            a @ b
            count += 1
            if device.type == "cuda" and count % 10:
                continue
            sync()
        best = max(best, 2 * n**3 * count / (time.perf_counter() - t) / 1e9)
    return best


def build_step(
    config: str | dict[str, Any], phase: str, device: Any, channels_last: bool, autocast: bool, fused: bool
) -> tuple[Callable[[], Any], Any, list]:
    """(step, network, batches) for one search step (weight + α) or one retrain step, as the engine runs it."""
    import torch

    from clearer.losses import binary_entropy, expected_cost
    from clearer.spaces.clearer_space import ClearerSpace
    from clearer.spaces.cost import candidate_costs
    from clearer.strategies.base import SearchContext
    from clearer.strategies.bilevel import Bilevel
    from clearer.train.trainer import OptimConfig, Trainer

    c = dict(CONFIGS[config] if isinstance(config, str) else config)
    batch, patch = c.pop("batch"), c.pop("patch")
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    make = lambda: torch.rand(batch, 1, patch, patch, device=device).contiguous(memory_format=fmt)  # noqa: E731
    batches = [(make(), make()) for _ in range(2)]
    torch.manual_seed(0)
    mse = torch.nn.functional.mse_loss
    if phase == "search":
        space = ClearerSpace(channels=1, **c).to(device, memory_format=fmt)
        ctx = SearchContext(
            mse,
            {"binary_entropy": (0.01, binary_entropy), "expected_cost": (0.01, expected_cost)},
            candidate_costs(space, "params", 1),
            total_steps=100,
            steps_per_epoch=10,
            autocast=autocast,
        )
        strategy = Bilevel(warmup_epochs=0)
        strategy.prepare(space, space, ctx)
        if not fused:  # the optimisers as they were built before fused ones
            w, a = strategy.weight_config, strategy.alpha_config
            strategy.trainer.optimizer = torch.optim.SGD(
                list(space.parameters()), w.lr, momentum=w.momentum, weight_decay=w.weight_decay
            )
            strategy.alpha_optimizer = torch.optim.Adam(
                strategy.alpha.parameters(), strategy.alpha_lr(), betas=tuple(a.betas), weight_decay=a.weight_decay
            )
        return lambda: strategy.step(batches[0], batches[1], epoch=1)["loss"], space, batches
    arch = {
        f"cell{i}/col{j}": ("parallel", "fusion")[j % 2] for i in range(1, c["cells"] + 1) for j in range(c["columns"])
    }
    model = ClearerSpace(channels=1, architecture=arch, **c).to(device, memory_format=fmt)
    trainer = Trainer(
        model,
        model.parameters(),
        OptimConfig(optimizer="adam", lr=1e-3, min_lr=1e-3, weight_decay=0.0),
        100,
        mse,
        autocast,
    )
    if not fused:
        trainer.optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    return lambda: trainer.step(batches[0]), model, batches


def eval_seconds(model: Any, device: Any, autocast: bool, channels_last: bool) -> float:
    """Seconds to restore one 481x321 test image with the trained network (eager, as evaluation runs)."""
    import torch

    from clearer.train.inference import restore_image

    fmt = torch.channels_last if channels_last else torch.contiguous_format
    image = torch.rand(1, 1, 321, 481, device=device)

    def net(x: Any) -> Any:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            return model(x.contiguous(memory_format=fmt)).float()

    model.eval()
    restore_image(net, image, model.multiple)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    t = time.perf_counter()
    restore_image(net, image, model.multiple)
    sync()
    return time.perf_counter() - t


def measure(
    config: str | dict[str, Any],
    mode: str,
    steps: int,
    device: str = "cpu",
    phase: str = "search",
    peak_seconds: float = 0.5,
    peak_n: int | None = None,
) -> dict[str, Any]:
    """One row in this process: s/step, counted GFLOP, achieved GFLOP/s, matching peak, memory.

    `config` names one of CONFIGS or gives its fields (width, cells, columns, stem_blocks, residual,
    batch, patch)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from clearer.train.device import compile_mode, compiled, use_compile

    dev = torch.device(device)
    channels_last, precision, compile_setting, fused = MODES[mode]
    precision = resolve_precision(precision, dev)
    if dev.type == "cuda":
        set_tf32(precision == "tf32")
        torch.backends.cudnn.benchmark = mode in ("now", "compiled")
    autocast = precision == "bf16"
    do_compile = use_compile({True: "on", False: "off"}.get(compile_setting, compile_setting), dev)
    step, network, _ = build_step(config, phase, dev, channels_last, autocast, fused)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    with FlopCounterMode(display=False) as counter:
        step()  # eager: what is counted is the arithmetic of the step as it runs
    flops = counter.get_total_flops()
    peak = matmul_peak(dev, precision, peak_n, peak_seconds)
    with compiled(network, dev, do_compile):
        t = time.perf_counter()
        for _ in range(3 if do_compile else 1):  # warm-up: allocator, kernel choice, compile, CUDA graphs
            step()
        sync()
        warmup = time.perf_counter() - t
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        t = time.perf_counter()
        for _ in range(steps):
            loss = step()
        sync()
        seconds = (time.perf_counter() - t) / steps
    peak = max(peak, matmul_peak(dev, precision, peak_n, peak_seconds))
    batch = (CONFIGS[config] if isinstance(config, str) else config)["batch"]
    mem = (
        torch.cuda.max_memory_allocated() / 2**30
        if dev.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    )
    row = {
        "config": config,
        "mode": mode,
        "phase": phase,
        "precision": precision,
        "compiled": (compile_mode(dev) or "default") if do_compile else "no",
        "fused": fused,
        "s_per_step": seconds,
        "samples_per_s": batch / seconds,
        "gflop_per_step": flops / 1e9,
        "gflops": flops / seconds / 1e9,
        "peak_gflops": peak,
        "pct_peak": 100 * flops / seconds / 1e9 / peak,
        "mem_gib": mem,
        "warmup_s": warmup,
        "loss": float(loss),
    }
    if phase == "retrain" and config in ("paper", "quick"):
        row["eval_s_per_image"] = eval_seconds(network, dev, autocast, channels_last)
    return row


def run_row(config: str, mode: str, phase: str, args: argparse.Namespace) -> dict[str, Any] | str:
    """measure() in a fresh process (its own memory peak and compile caches); an error line on failure."""
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--one",
            f"{config}:{mode}:{phase}",
            "--steps",
            str(args.steps),
            "--device",
            args.device,
        ],
        capture_output=True,
        text=True,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return "failed: " + (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
    return json.loads(lines[-1])


def project(rows: dict[str, dict[str, Any]]) -> str:
    """Hours of the full paper pipeline (200x50 search + 1000x100 retrain + BSDS500 test) from measured steps."""
    s, r = rows["search"], rows["retrain"]
    search = PAPER_STEPS["search"] * s["s_per_step"] + s["warmup_s"]
    retrain = PAPER_STEPS["retrain"] * r["s_per_step"] + r["warmup_s"]
    evaluate = PAPER_TEST_IMAGES * r.get("eval_s_per_image", 0.0)
    total = search + retrain + evaluate
    return (
        f"search {search / 60:.1f} min + retrain {retrain / 60:.1f} min + evaluation {evaluate / 60:.1f} min "
        f"(x8 self-ensemble: {8 * evaluate / 60:.1f}) = {total / 60:.1f} min"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--configs", default="paper,quick")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--phases", default="search", help="search and/or retrain, comma-separated")
    parser.add_argument("--modes", default=None, help=f"comma-separated, of {', '.join(MODES)}; 'ref' always runs")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        config, mode, phase = args.one.split(":")
        print(json.dumps(measure(config, mode, args.steps, args.device, phase)))
        return
    import torch

    cuda = args.device == "cuda"
    default = "ref,channels_last,tf32,bf16,before,now" if cuda else "ref,channels_last,bf16,before,now,compiled"
    modes = ["ref"] + [m for m in (args.modes or default).split(",") if m != "ref"]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown modes {unknown}; valid: {', '.join(MODES)}")
    where = torch.cuda.get_device_name() if cuda else f"{torch.get_num_threads()} CPU threads"
    print(f"machine: {where}, torch {torch.__version__}; every figure below measured in this run")
    print(
        f"{'config':6} {'phase':7} {'mode':13} {'prec':7} {'s/step':>8} {'samples/s':>9} {'GFLOP':>7} "
        f"{'GFLOP/s':>8} {'peak':>8} {'%peak':>5} {'mem GiB':>7} {'vs ref':>6} {'warm-up s':>9}"
    )
    results: dict[tuple[str, str, str], dict[str, Any]] = {}
    for config in args.configs.split(","):
        for phase in args.phases.split(","):
            for mode in modes:
                r = run_row(config, mode, phase, args)
                if isinstance(r, str):
                    print(f"{config:6} {phase:7} {mode:13} {r}", flush=True)
                    continue
                results[config, phase, mode] = r
                ref = results.get((config, phase, "ref"))
                speedup = ref["s_per_step"] / r["s_per_step"] if ref else float("nan")
                print(
                    f"{config:6} {phase:7} {mode:13} {r['precision']:7} {r['s_per_step']:8.4f} "
                    f"{r['samples_per_s']:9.1f} {r['gflop_per_step']:7.1f} {r['gflops']:8.1f} "
                    f"{r['peak_gflops']:8.0f} {r['pct_peak']:5.1f} {r['mem_gib']:7.2f} {speedup:5.2f}x "
                    f"{r['warmup_s']:9.1f}",
                    flush=True,
                )
    print(
        "GFLOP: per step, counted by FlopCounterMode; peak: GFLOP/s of a large matmul in the row's precision, "
        "same process; vs ref: time of the eager float32 step over the row's"
    )
    for config in args.configs.split(","):
        for before, after in (("before", "now"), ("ref", "now")):
            pairs = {ph: (results.get((config, ph, before)), results.get((config, ph, after))) for ph in PAPER_STEPS}
            if all(a and b for a, b in pairs.values()):
                print(
                    f"{config}: {after} vs {before}: "
                    + ", ".join(
                        f"{ph} step {b['s_per_step'] / a['s_per_step']:.2f}x faster" for ph, (b, a) in pairs.items()
                    )
                )
        if config == "paper":
            for mode in modes:
                rows = {ph: results.get((config, ph, mode)) for ph in PAPER_STEPS}
                if all(rows.values()):
                    print(f"projected full paper pipeline, {mode}: {project(rows)}")


if __name__ == "__main__":
    main()
