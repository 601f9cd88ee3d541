"""Throughput and peak memory of one full search step (weight step + architecture step).

Measures, in one run and on this machine: the paper configuration (batch 32, 64x64 patches, widths
32/64/128/256, 3 cells x 4 columns) and the quick profile's, each as float32 contiguous, channels_last
and bfloat16 autocast; plus the achieved GFLOP/s against the machine's peak measured by a large matmul.
Each configuration runs in its own process so its peak RSS is its own.

    python benchmarks/search_step.py [--steps 3] [--configs paper,quick] [--device cuda] [--phases search,retrain]
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
    "quick": dict(width=32, cells=2, columns=2, stem_blocks=2, residual=True, batch=32, patch=40),
}
MODES = ("float32", "channels_last", "bf16_autocast")
PAPER_IMPL = {"seconds_per_step": 14.6, "samples_per_s": 2.19, "peak_gib": 4.7}


def matmul_peak(device: str = "cpu", n: int = 4096, repeats: int = 5) -> float:
    """GFLOP/s of a large float32 matmul: what the device can do at best (these threads on a CPU)."""
    import torch
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    repeats = repeats * 20 if device == "cuda" else repeats
    a @ b
    sync()
    t = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync()
    return 2 * n**3 * repeats / (time.perf_counter() - t) / 1e9


def measure(config: str, mode: str, steps: int, device: str = "cpu", phase: str = "search") -> dict:
    """One configuration in this process: seconds per step, samples/s, GFLOP/s, peak memory.

    phase "search" times a weight step + an architecture step of the supernet; "retrain" one step of
    a derived network (alternating parallel/fusion columns) with Adam, as in retraining.
    """
    import torch
    from clearer.cost import candidate_costs, module_flops
    from clearer.losses import binary_entropy, expected_cost
    from clearer.spaces.choice import uniform_weights
    from clearer.spaces.clearer_space import ClearerSpace
    from clearer.strategies.base import SearchContext, restore_forward
    from clearer.strategies.bilevel import Bilevel

    c = dict(CONFIGS[config])
    batch, patch = c.pop("batch"), c.pop("patch")
    torch.manual_seed(0)
    dev = torch.device(device)
    autocast = mode == "bf16_autocast"
    fmt = torch.channels_last if mode != "float32" else torch.contiguous_format
    make = lambda: torch.rand(batch, 1, patch, patch, device=dev).contiguous(memory_format=fmt)  # noqa: E731
    batches = [(make(), make()) for _ in range(2)]
    if phase == "search":
        space = ClearerSpace(channels=1, **c).to(dev, memory_format=fmt)
        ctx = SearchContext(torch.nn.functional.mse_loss,
                            {"binary_entropy": (0.01, binary_entropy), "expected_cost": (0.01, expected_cost)},
                            candidate_costs(space, "params", 1), total_steps=100, steps_per_epoch=10,
                            autocast=autocast)
        strategy = Bilevel(warmup_epochs=0)
        strategy.prepare(space, space, ctx)
        space.set_weights(uniform_weights(space))
        step = lambda: strategy.step(batches[0], batches[1], epoch=1)["loss"]  # noqa: E731
        passes = 2  # a weight step and an architecture step
    else:
        arch = {f"cell{i}/col{j}": ("parallel", "fusion")[j % 2] for i in range(1, c["cells"] + 1)
                for j in range(c["columns"])}
        space = ClearerSpace(channels=1, architecture=arch, **c).to(dev, memory_format=fmt)
        optimizer = torch.optim.Adam(space.parameters(), 1e-3)

        def step() -> float:
            loss = restore_forward(space, batches[0], torch.nn.functional.mse_loss, autocast)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            return loss.item()
        passes = 1
    flops = module_flops(space, torch.zeros(1, 1, patch, patch, device=dev))[space]
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    step()  # warm-up (allocator, oneDNN/cuDNN kernel choice)
    step()
    sync()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    for _ in range(steps):
        loss = step()
    sync()
    seconds = (time.perf_counter() - t) / steps
    # forward + backward ≈ 3x forward FLOPs, per pass
    step_flops = passes * 3 * flops * batch
    peak = (torch.cuda.max_memory_allocated() / 2**30 if dev.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
    return {"config": config, "mode": mode, "phase": phase, "s_per_step": seconds,
            "samples_per_s": batch / seconds, "gflops": step_flops / seconds / 1e9, "peak_gib": peak,
            "loss": loss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--configs", default="paper,quick")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--phases", default="search", help="search and/or retrain, comma-separated")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        config, mode, phase = args.one.split(":")
        print(json.dumps(measure(config, mode, args.steps, args.device, phase)))
        return
    import torch
    peak = matmul_peak(args.device)
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"{torch.get_num_threads()} CPU threads"
    print(f"machine: {where}, torch {torch.__version__}, float32 matmul peak {peak:.0f} GFLOP/s")
    print(f"{'config':7} {'phase':8} {'mode':14} {'s/step':>7} {'samples/s':>9} {'GFLOP/s':>8} {'% peak':>6} "
          f"{'peak GiB':>8} {'vs paper impl':>13}")
    results = []
    for config in args.configs.split(","):
        for phase in args.phases.split(","):
            for mode in MODES:
                proc = subprocess.run([sys.executable, __file__, "--one", f"{config}:{mode}:{phase}", "--steps",
                                       str(args.steps), "--device", args.device], capture_output=True, text=True)
                if proc.returncode != 0:
                    print(f"{config:7} {phase:8} {mode:14} failed: {proc.stderr.strip().splitlines()[-1]}")
                    continue
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                results.append(r)
                paper_cpu = config == "paper" and phase == "search" and args.device == "cpu"
                ratio = r["samples_per_s"] / PAPER_IMPL["samples_per_s"] if paper_cpu else float("nan")
                print(f"{config:7} {phase:8} {mode:14} {r['s_per_step']:7.3f} {r['samples_per_s']:9.2f} "
                      f"{r['gflops']:8.1f} {100 * r['gflops'] / peak:6.1f} {r['peak_gib']:8.2f} {ratio:12.2f}x",
                      flush=True)
    if args.device == "cpu":
        print(f"paper's implementation on this machine: {PAPER_IMPL['seconds_per_step']} s/step, "
              f"{PAPER_IMPL['samples_per_s']} samples/s, {PAPER_IMPL['peak_gib']} GiB peak")
    for r in results:
        if r["config"] == "paper":
            steps = 200 * 50 if r["phase"] == "search" else 1000 * 100
            print(f"projected full paper {r['phase']} ({steps} steps) with {r['mode']}: "
                  f"{steps * r['s_per_step'] / 3600:.2f} h" + (" (paper: 'two GPU hours' of search)"
                                                               if r["phase"] == "search" else ""))


if __name__ == "__main__":
    main()
