"""Speed work that must not change results: cached input scores, compiled steps, honest benchmarks."""

from __future__ import annotations

import pytest
import torch

from clearer.engine import evaluate as E
from clearer.engine.build import build_space
from clearer.recipe import load_recipe
from clearer.rundir.progress import RunLog

from conftest import RECIPES, noise_pngs


def test_input_scores_are_measured_once_per_set_and_reused(synthetic_data, tmp_path, one_thread):
    recipe = load_recipe(RECIPES / "bsd.py").resolve("smoke", {"evaluate.sets": [{"name": "bsd68", "limit": 2}]})
    torch.manual_seed(0)
    model = build_space(recipe, {"cell1/col0": "parallel", "cell2/col0": "fusion"})
    log = RunLog(None, verbose=False)
    E._INPUT_SCORES.clear()
    first = E.evaluate(recipe, model, tmp_path, torch.device("cpu"), log)["bsd68"]
    assert len(E._INPUT_SCORES) == 1
    cached = dict(next(iter(E._INPUT_SCORES.values())))
    second = E.evaluate(recipe, model, tmp_path, torch.device("cpu"), log)["bsd68"]
    assert {k: v for k, v in first.items() if k != "seconds"} == {k: v for k, v in second.items() if k != "seconds"}
    assert len(cached) == 2  # per-image input scores, so rows and sample strips keep them
    mean = sum(row["input_psnr"] for row in cached.values()) / len(cached)
    assert second["input_psnr"] == round(mean, 5)
    # a lower noise level degrades the inputs less: measured anew, not taken from the cache
    milder = load_recipe(RECIPES / "bsd.py").resolve(
        "smoke", {"evaluate.sets": [{"name": "bsd68", "limit": 2}], "data.degradation.sigma": 15.0}
    )
    third = E.evaluate(milder, model, tmp_path, torch.device("cpu"), log)["bsd68"]
    assert len(E._INPUT_SCORES) == 2 and third["input_psnr"] > first["input_psnr"] + 8


def _search_losses(compile_it: bool, steps: int = 3) -> list[float]:
    """Loss and α-step loss of a few bilevel search steps of a tiny supernet from a fixed start."""
    from clearer.contracts import SearchContext
    from clearer.losses import binary_entropy
    from clearer.spaces.clearer_space import ClearerSpace
    from clearer.spaces.cost import candidate_costs
    from clearer.strategies.base import AlphaConfig
    from clearer.strategies.bilevel import Bilevel
    from clearer.train.device import compiled
    from clearer.train.trainer import OptimConfig

    torch.manual_seed(0)
    space = ClearerSpace(channels=1, width=4, cells=1, columns=1, stem_blocks=1, residual=True)
    ctx = SearchContext(
        torch.nn.functional.mse_loss,
        {"binary_entropy": (0.01, binary_entropy)},
        candidate_costs(space, "params", 1),
        total_steps=10,
        steps_per_epoch=10,
    )
    strategy = Bilevel(warmup_epochs=0, weights=OptimConfig(optimizer="adam", lr=1e-2), alpha=AlphaConfig(lr=1e-1))
    strategy.prepare(space, space, ctx)
    g = torch.Generator().manual_seed(1)
    batches = [tuple(torch.rand(4, 1, 16, 16, generator=g) for _ in range(2)) for _ in range(2 * steps)]
    out = []
    with compiled(space, torch.device("cpu"), compile_it):
        assert (space._compiled_call_impl is not None) == compile_it
        for i in range(steps):
            logs = strategy.step(batches[2 * i], batches[2 * i + 1], epoch=0)
            out += [float(logs["loss"]), float(logs["arch_loss"])]
    assert space._compiled_call_impl is None  # eager again after the block (evaluation sees any size)
    return out + [float(p) for v in strategy.probabilities().values() for p in v]


@pytest.mark.slow  # compiling takes about 20 s on 2 CPU cores
def test_compiled_search_steps_match_eager_on_cpu(one_thread):
    """torch.compile (what compile="on" runs, "auto" on CUDA) gives the eager losses and α, float32, to 1e-4.

    Regression: the α step's backward through the network used retain_graph=True, which a compiled
    backward with donated buffers refuses (RuntimeError), so every compiled search crashed."""
    eager, fast = _search_losses(False), _search_losses(True)
    assert eager[0] != eager[2]  # the weights do change between steps
    assert fast == pytest.approx(eager, rel=1e-4, abs=1e-6)


def _benchmark():
    import importlib.util

    spec = importlib.util.spec_from_file_location("search_step", RECIPES.parent / "benchmarks" / "search_step.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("phase", ["search", "retrain"])
def test_benchmark_counts_the_flops_it_runs_and_stays_below_the_matching_peak(phase, one_thread):
    from torch.utils.flop_counter import FlopCounterMode

    bench = _benchmark()
    for mode in ("ref", "bf16"):
        row = bench.measure("tiny", mode, steps=1, phase=phase, peak_seconds=0.05, peak_n=256)
        step, _, _ = bench.build_step("tiny", phase, torch.device("cpu"), mode != "ref", mode == "bf16", True)
        with FlopCounterMode(display=False) as counter:
            step()
        assert row["gflop_per_step"] == pytest.approx(counter.get_total_flops() / 1e9, rel=0.01)
        assert row["precision"] == ("float32" if mode == "ref" else "bf16")
        assert 0 < row["pct_peak"] <= 100
    if phase == "search":  # the α step computes no weight gradients: under the 2 x 3 forwards once assumed
        step, network, batches = bench.build_step("tiny", phase, torch.device("cpu"), False, False, True)
        step()  # sets the mixing weights
        with FlopCounterMode(display=False) as forward, torch.no_grad():
            network(batches[0][0])
        assert 3 * forward.get_total_flops() < row["gflop_per_step"] * 1e9 < 5 * forward.get_total_flops()


def test_losses_read_once_per_epoch_still_stop_at_the_first_bad_step(tmp_path):
    """Steps return device tensors (no host sync per step); a NaN stops the run before that epoch's
    checkpoint and the message names the first bad step."""
    from clearer.engine.loop import NonFiniteLoss, PhaseState, run_epochs

    ends: list[tuple[int, dict[str, float]]] = []
    calls = [0]

    def step(epoch: int) -> dict[str, torch.Tensor | float]:
        calls[0] += 1
        loss = torch.tensor(float("nan") if calls[0] in (7, 8) else 0.5 * calls[0])
        return {"loss": loss, "arch_loss": 1.0} if epoch else {"loss": loss}

    state = PhaseState("search", tmp_path / "state.safetensors", {"net": torch.nn.Linear(2, 2)})
    with pytest.raises(NonFiniteLoss, match=r"loss became nan at epoch 2, step 3.*state.safetensors\) is kept"):
        for epoch, means in run_epochs(state, log=RunLog(None, verbose=False), epochs=4, steps_per_epoch=4, step=step):
            ends.append((epoch, means))
    assert ends == [(0, {"loss": 0.5 * (1 + 2 + 3 + 4) / 4})]
    assert state.epoch == 1  # saved after epoch 1, not after the bad epoch 2


def test_retrain_steps_leave_their_losses_on_the_device(tmp_path, host_reads, one_thread):
    """A retrain step (a batch from the training stream, a clipped Adam step under autocast) reads no
    tensor on the host: on a GPU the host queues steps ahead instead of waiting for each one."""
    from clearer.data.datasets import ImageSet
    from clearer.data.degradations import gaussian
    from clearer.data.stream import make_stream
    from clearer.spaces.clearer_space import ClearerSpace
    from clearer.train.trainer import OptimConfig, Trainer

    paths = noise_pngs(tmp_path, 3, size=(40, 48))
    stream = make_stream(ImageSet("tiny", paths), gaussian([10, 50]), 1, 16, 4, 0, torch.device("cpu"), True)
    derived = {"cell1/col0": "parallel"}
    model = ClearerSpace(
        channels=1, width=4, cells=1, columns=1, stem_blocks=1, residual=True, architecture=derived
    ).to(memory_format=torch.channels_last)
    config = OptimConfig(optimizer="adam", lr=1e-3, grad_clip=1.0)
    trainer = Trainer(model, model.parameters(), config, 4, torch.nn.functional.mse_loss, autocast=True)
    host_reads.clear()
    losses = [trainer.step(next(stream)) for _ in range(3)]
    assert host_reads == []
    assert all(torch.isfinite(loss) for loss in losses)
