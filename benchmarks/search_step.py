"""Throughput and peak memory of one full search step (weight step + architecture step).

Measures, in one run and on this machine: the paper configuration (batch 32, 64x64 patches, widths
32/64/128/256, 3 cells x 4 columns) and the quick profile's, each as float32 contiguous, channels_last
and bfloat16 autocast; plus the achieved GFLOP/s against the machine's peak measured by a large matmul.
Each configuration runs in its own process so its peak RSS is its own.

    python benchmarks/search_step.py [--steps 3] [--configs paper,quick]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

CONFIGS = {
    "paper": dict(width=32, cells=3, columns=4, stem_blocks=2, residual=False, batch=32, patch=64),
    "quick": dict(width=16, cells=3, columns=2, stem_blocks=2, residual=True, batch=32, patch=48),
}
MODES = ("float32", "channels_last", "bf16_autocast")
PAPER_IMPL = {"seconds_per_step": 14.6, "samples_per_s": 2.19, "peak_gib": 4.7}


def matmul_peak(n: int = 4096, repeats: int = 5) -> float:
    """GFLOP/s of a large float32 matmul: what the CPU can do at best with these threads."""
    import torch
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - t) / 1e9


def measure(config: str, mode: str, steps: int) -> dict:
    """One configuration in this process: seconds per search step, samples/s, GFLOP/s, peak RSS."""
    import torch
    from clearer.cost import candidate_costs, module_flops
    from clearer.losses import binary_entropy, expected_cost
    from clearer.spaces.choice import uniform_weights
    from clearer.spaces.clearer_space import ClearerSpace
    from clearer.strategies.base import SearchContext
    from clearer.strategies.bilevel import Bilevel

    c = dict(CONFIGS[config])
    batch, patch = c.pop("batch"), c.pop("patch")
    torch.manual_seed(0)
    space = ClearerSpace(channels=1, **c)
    fmt = torch.channels_last if mode != "float32" else torch.contiguous_format
    space = space.to(memory_format=fmt)
    ctx = SearchContext(torch.nn.functional.mse_loss,
                        {"binary_entropy": (0.01, binary_entropy), "expected_cost": (0.01, expected_cost)},
                        candidate_costs(space, "params", 1), total_steps=100, steps_per_epoch=10,
                        autocast=mode == "bf16_autocast")
    strategy = Bilevel(warmup_epochs=0)
    strategy.prepare(space, space, ctx)
    space.set_weights(uniform_weights(space))
    flops = module_flops(space, torch.zeros(1, 1, patch, patch))[space]
    make = lambda: torch.rand(batch, 1, patch, patch).contiguous(memory_format=fmt)  # noqa: E731
    batches = [(make(), make()) for _ in range(2)]
    strategy.step(batches[0], batches[1], epoch=1)  # warm-up (allocator, oneDNN kernels)
    t = time.perf_counter()
    for _ in range(steps):
        logs = strategy.step(batches[0], batches[1], epoch=1)
    seconds = (time.perf_counter() - t) / steps
    # forward + backward ≈ 3x forward FLOPs, for the weight step and the architecture step
    step_flops = 2 * 3 * flops * batch
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return {"config": config, "mode": mode, "s_per_step": seconds, "samples_per_s": batch / seconds,
            "gflops": step_flops / seconds / 1e9, "peak_gib": peak, "loss": logs["loss"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--configs", default="paper,quick")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        config, mode = args.one.split(":")
        print(json.dumps(measure(config, mode, args.steps)))
        return
    import torch
    peak = matmul_peak()
    print(f"machine: {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"float32 matmul peak {peak:.0f} GFLOP/s")
    print(f"{'config':7} {'mode':14} {'s/step':>7} {'samples/s':>9} {'GFLOP/s':>8} {'% peak':>6} "
          f"{'peak GiB':>8} {'vs paper impl':>13}")
    for config in args.configs.split(","):
        for mode in MODES:
            proc = subprocess.run([sys.executable, __file__, "--one", f"{config}:{mode}", "--steps",
                                   str(args.steps)], capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{config:7} {mode:14} failed: {proc.stderr.strip().splitlines()[-1]}")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            ratio = r["samples_per_s"] / PAPER_IMPL["samples_per_s"] if config == "paper" else float("nan")
            print(f"{config:7} {mode:14} {r['s_per_step']:7.2f} {r['samples_per_s']:9.2f} {r['gflops']:8.1f} "
                  f"{100 * r['gflops'] / peak:6.1f} {r['peak_gib']:8.2f} {ratio:12.2f}x", flush=True)
    print(f"paper's implementation on this machine: {PAPER_IMPL['seconds_per_step']} s/step, "
          f"{PAPER_IMPL['samples_per_s']} samples/s, {PAPER_IMPL['peak_gib']} GiB peak")


if __name__ == "__main__":
    main()
