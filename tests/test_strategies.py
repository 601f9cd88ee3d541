"""Every strategy on both spaces, GDAS sampling cost, random search's choice, resume round trip."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from clearer.contracts import SearchContext
from clearer.errors import ClearerError
from clearer.registry import LOSSES, SPACES, STRATEGIES
from clearer.spaces.choice import Choice, Supernet
from clearer.spaces.cost import candidate_costs
from clearer.strategies.base import AlphaConfig, architecture_weights, label_key
from clearer.train.checkpoint import load_state, save_state
from clearer.train.trainer import OptimConfig, restore_forward

SPACE_ARGS = {
    "clearer": dict(channels=1, width=4, cells=2, columns=1, stem_blocks=1, residual=True),
    "darts_cells": dict(channels=1, width=4, cells=2, nodes=2, residual=True),
}
ADAM = OptimConfig(optimizer="adam", lr=1e-3)
FAST = dict(warmup_epochs=1, weights=ADAM, alpha=AlphaConfig(lr=3e-2))
STRATEGY_ARGS = {
    "bilevel": lambda space: dict(FAST),
    "gumbel": lambda space: dict(FAST, tau_max=5.0, tau_min=0.5),
    "random": lambda space: dict(samples=3, train_fraction=0.5, seed=1, weights=ADAM),
    "fixed": lambda space: dict(candidate="fusion" if space == "clearer" else "sep_conv_3x3"),
}


pytestmark = pytest.mark.usefixtures("one_thread")


def make_space(name: str, architecture: dict[str, str] | None = None) -> torch.nn.Module:
    return SPACES.get(name)(**SPACE_ARGS[name], architecture=architecture)


def make_ctx(space: torch.nn.Module, epochs: int = 2, steps_per_epoch: int = 2) -> SearchContext:
    return SearchContext(
        restore_loss=F.mse_loss,
        arch_losses={
            "binary_entropy": (0.01, LOSSES.get("binary_entropy")),
            "expected_cost": (0.01, LOSSES.get("expected_cost")),
        },
        costs=candidate_costs(space, "params", 1),
        total_steps=epochs * steps_per_epoch,
        steps_per_epoch=steps_per_epoch,
    )


def batch(seed: int, size: int = 16, n: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth random 'images' and a noisy copy (σ = 25/255)."""
    gen = torch.Generator().manual_seed(seed)
    clean = F.interpolate(
        torch.rand(n, 1, size // 4, size // 4, generator=gen), size=size, mode="bilinear", align_corners=False
    )
    return clean + 25 / 255 * torch.randn(clean.shape, generator=gen), clean


def setup(space_name: str, strategy_name: str, epochs: int = 2, steps: int = 2):
    torch.manual_seed(0)
    space = make_space(space_name)
    space.train()
    strategy = STRATEGIES.get(strategy_name)(**STRATEGY_ARGS[strategy_name](space_name))
    strategy.prepare(space, space, make_ctx(space, epochs, steps))
    return space, strategy


def run_steps(strategy, epochs: int = 2, steps: int = 2, start: int = 0) -> list[dict[str, float]]:
    logs = []
    for epoch in range(epochs):
        for i in range(steps):
            k = start + epoch * steps + i
            logs.append({n: float(v) for n, v in strategy.step(batch(2 * k), batch(2 * k + 1), epoch).items()})
    return logs


@pytest.mark.parametrize("space_name", list(SPACE_ARGS))
@pytest.mark.parametrize("strategy_name", ["bilevel", "gumbel", "random", "fixed"])
def test_every_strategy_searches_every_space(space_name, strategy_name):
    space, strategy = setup(space_name, strategy_name)
    for logs in run_steps(strategy):
        assert all(math.isfinite(v) for v in logs.values()) and "loss" in logs
    probs = strategy.probability_lists()
    arch = strategy.derive()
    candidates = {c.label: c.candidates for c in space.choices()}
    assert set(probs) == set(arch) == set(candidates)
    assert all(abs(sum(p) - 1) < 1e-4 for p in probs.values())
    assert all(arch[label] in options for label, options in candidates.items())
    fixed = make_space(space_name, arch)
    assert sum(p.numel() for p in fixed.parameters()) < sum(p.numel() for p in space.parameters())
    x = batch(99)[0]
    assert fixed(x).shape == x.shape


def test_bilevel_and_gumbel_learn_alpha_after_warmup():
    for name in ("bilevel", "gumbel"):
        space, strategy = setup("clearer", name)
        start = {k: v.detach().clone() for k, v in strategy.alpha.items()}
        run_steps(strategy, epochs=1)  # warm-up epoch: α untouched
        assert all(torch.equal(start[k], v) for k, v in strategy.alpha.items())
        logs = strategy.step(batch(0), batch(1), epoch=1)
        assert "arch_loss" in logs
        assert any(not torch.equal(start[k], v) for k, v in strategy.alpha.items())


def test_gumbel_computes_one_candidate_per_choice_point():
    space, strategy = setup("darts_cells", "gumbel")
    calls: dict[str, int] = {}
    for choice in space.choices():
        for op in choice.ops.values():
            op.register_forward_hook(  # per choice module: DARTS normal cells share labels (and α)
                lambda m, i, o, key=id(choice): calls.__setitem__(key, calls.get(key, 0) + 1)
            )
    strategy.step(batch(0), batch(1), epoch=0)  # warm-up: weight step only, one forward
    assert calls and set(calls.values()) == {1} and len(calls) == len(space.choices())
    calls.clear()
    strategy.step(batch(2), batch(3), epoch=1)  # architecture step + weight step: two forwards
    assert set(calls.values()) == {2} and len(calls) == len(space.choices())


def test_gumbel_temperature_anneals():
    _, strategy = setup("clearer", "gumbel")
    first = strategy.step(batch(0), batch(1), 0)["tau"]
    strategy.trainer.steps_done = strategy.ctx.total_steps
    assert first == pytest.approx(5.0) and strategy.tau() == pytest.approx(0.5)


def test_random_derives_the_lowest_loss_sample():
    torch.manual_seed(0)
    space = make_space("darts_cells")
    strategy = STRATEGIES.get("random")(samples=4, train_fraction=0.0, seed=3)
    strategy.prepare(space, space, make_ctx(space, 1, 1))
    assert len({tuple(sorted(s.items())) for s in strategy.samples}) == 4
    assert strategy.derive() == strategy.samples[0]  # nothing scored yet
    assert all(len(set(p)) == 1 for p in strategy.probability_lists().values())  # uniform
    arch = batch(5)
    with torch.no_grad():
        expected = []
        for sample in strategy.samples:
            space.set_weights(*architecture_weights(space, sample, "cpu"))
            expected.append(restore_forward(space, arch, F.mse_loss, False).item())
    logs = strategy.step(batch(4), arch, 0)
    best = min(range(4), key=expected.__getitem__)
    assert logs["loss"] == pytest.approx(sum(expected) / 4, rel=1e-5)
    assert strategy.derive() == strategy.samples[best]
    assert strategy.probability_lists() == {
        k: [1.0 if c == v else 0.0 for c in next(ch.candidates for ch in space.choices() if ch.label == k)]
        for k, v in strategy.samples[best].items()
    }


def test_random_samples_are_valid_architectures_of_the_space():
    space, strategy = setup("darts_cells", "random")
    for sample in strategy.samples:  # one cell shared by every cell of the space
        for node in range(2):
            kept = [j for j in range(2 + node) if sample[f"node{node}/edge{j}"] != "none"]
            assert len(kept) == 2


@pytest.mark.parametrize("strategy_name", ["bilevel", "gumbel", "random"])
def test_state_dict_round_trip_resumes_identically(strategy_name, tmp_path):
    space_a, a = setup("darts_cells", strategy_name)
    run_steps(a, epochs=1)
    path = tmp_path / "state.safetensors"
    save_state(path, {"space": space_a.state_dict(), "strategy": a.state_dict()})
    torch.manual_seed(7)
    after_a = run_steps(a, epochs=1, start=2)

    space_b, b = setup("darts_cells", strategy_name)
    state = load_state(path)
    space_b.load_state_dict(state["space"])
    b.load_state_dict(state["strategy"])
    torch.manual_seed(7)
    after_b = run_steps(b, epochs=1, start=2)
    for la, lb in zip(after_a, after_b):
        assert la == pytest.approx(lb, rel=1e-5)
    assert b.derive() == a.derive()
    for k, v in a.alpha.items():
        assert torch.allclose(v, b.alpha[k])


def test_fixed_strategy_settings():
    space = make_space("clearer")
    s = STRATEGIES.get("fixed")(candidate="fusion")
    assert s.searches is False
    s.prepare(space, space, make_ctx(space))
    assert set(s.derive().values()) == {"fusion"}
    given = {c.label: "parallel" for c in space.choices()}
    s = STRATEGIES.get("fixed")(architecture=given)
    s.prepare(space, space, make_ctx(space))
    assert s.derive() == given
    with pytest.raises(ClearerError):
        STRATEGIES.get("fixed")()
    with pytest.raises(ClearerError, match="not a candidate"):
        STRATEGIES.get("fixed")(candidate="skip").prepare(space, space, make_ctx(space))
    with pytest.raises(ClearerError, match="missing"):
        STRATEGIES.get("fixed")(architecture={"cell1/col0": "fusion"}).prepare(space, space, make_ctx(space))


def test_second_order_hypergradient_matches_finite_differences():
    """bilevel order=2 approximates d/dα L_val(w − ξ∇_w L_train(w, α), α); check it numerically."""
    from torch.func import functional_call

    torch.manual_seed(0)
    space = make_space("clearer").double().train()
    # undo the identity start (zero-initialised branches and output), so that one weight step
    # moves the validation loss and the second-order term is visible
    for module in space.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            torch.nn.init.constant_(module.weight, 0.2)
    torch.nn.init.normal_(space.out.weight, std=0.1, generator=torch.Generator().manual_seed(2))
    strategy = STRATEGIES.get("bilevel")(order=2, weights=OptimConfig(lr=0.5, min_lr=0.5), bn_mode="train")
    ctx = make_ctx(space)
    ctx.costs = {k: v.double() for k, v in ctx.costs.items()}
    strategy.prepare(space, space, ctx)
    strategy.fd_radius = 1e-5  # float64: a tight Hessian-vector difference (DARTS' 0.01 is for float32)
    gen = torch.Generator().manual_seed(1)
    for p in strategy.alpha.values():
        p.data = torch.randn(p.shape, generator=gen, dtype=torch.float64)
    train = tuple(t.double() for t in batch(0))
    arch = tuple(t.double() for t in batch(1))
    before = [p.detach().clone() for p in space.parameters()]

    hyper, _ = strategy.hypergradient(train, arch)
    assert all(torch.equal(a, p) for a, p in zip(before, space.parameters()))  # weights restored

    def unrolled() -> float:
        probs = strategy.probabilities()
        space.set_weights(probs)
        params = dict(space.named_parameters())
        loss = F.mse_loss(functional_call(space, params, (train[0],)), train[1])
        g = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
        moved = {n: p if gi is None else p - 0.5 * gi for (n, p), gi in zip(params.items(), g)}
        val = F.mse_loss(functional_call(space, moved, (arch[0],)), arch[1])
        return (val + strategy.arch_penalty(probs)[0]).item()

    h = 1e-4
    numeric = []
    for p in strategy.alpha.values():
        column = torch.zeros_like(p)
        for i in range(p.numel()):
            with torch.no_grad():
                p[i] += h
            up = unrolled()
            with torch.no_grad():
                p[i] -= 2 * h
            down = unrolled()
            with torch.no_grad():
                p[i] += h
            column[i] = (up - down) / (2 * h)
        numeric.append(column)
    got, want = torch.cat(hyper), torch.cat(numeric)
    assert torch.allclose(got, want, rtol=2e-2, atol=1e-5 * want.abs().max()), (got, want)
    strategy.order = 1
    probs = strategy.probabilities()
    space.set_weights(probs)
    first = torch.autograd.grad(
        restore_forward(space, arch, F.mse_loss, False) + strategy.arch_penalty(probs)[0], list(strategy.alpha.values())
    )
    assert not torch.allclose(torch.cat(first), want, rtol=2e-2)  # the second-order term matters here


def test_second_order_bilevel_runs_a_step():
    space, strategy = setup("darts_cells", "bilevel")
    strategy.order = 2
    logs = strategy.step(batch(0), batch(1), epoch=1)
    assert "arch_loss" in logs and math.isfinite(logs["loss"])
    assert all(p.grad is not None for p in strategy.alpha.parameters())


@pytest.mark.parametrize("strategy_name", ["bilevel", "bilevel-order2", "gumbel", "random", "fixed"])
def test_search_steps_leave_their_losses_on_the_device(strategy_name, host_reads):
    """No search step reads a tensor on the host (the loop reads each epoch's losses at once), except
    gumbel's sample (computing only the sampled candidate needs its index on the host) and random
    search's pick of the sample to train (drawn from a CPU generator: a host tensor on a GPU too).

    Regression: every α step copied its gradient to the host for the signal trace, and the second-order
    and random-search steps read their losses with .item()."""
    space, strategy = setup("clearer", strategy_name.split("-")[0], epochs=2, steps=2)
    strategy.order = 2 if strategy_name.endswith("order2") else 1
    host_reads.clear()  # building and preparing may read; only the steps are under test
    logs = [strategy.step(batch(2 * k), batch(2 * k + 1), epoch=k // 2) for k in range(4)]
    allowed = {"gumbel": "__int__ in sample (gumbel.py)", "random": "__int__ in step (random_search.py)"}
    assert [r for r in host_reads if r != allowed.get(strategy_name)] == []
    assert all(math.isfinite(float(v)) for step in logs for v in step.values())  # ...but they are there
    assert strategy_name not in allowed or host_reads  # the spy does see reads


class _Mean(torch.nn.Module):
    """A denoiser that is right on flat images: the image's mean everywhere."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((-2, -1), keepdim=True).expand_as(x)


class _OneChoice(Supernet):
    """One choice point: `mean` (clearly better on flat noisy images) or `identity` (keeps the noise)."""

    def __init__(self) -> None:
        super().__init__()
        self.pick = Choice(
            "pick", ["identity", "mean"], lambda name: _Mean() if name == "mean" else torch.nn.Identity()
        )
        self.bias = torch.nn.Parameter(torch.zeros(()))  # a shared weight for the weight step to train

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pick(x) + self.bias


def flat_batch(seed: int, n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat grey images with weak noise (σ = 2.55/255): α gradients of 1e-5..1e-4, as in a real search."""
    gen = torch.Generator().manual_seed(seed)
    clean = torch.rand(n, 1, 1, 1, generator=gen).expand(n, 1, 16, 16)
    return clean + 0.01 * torch.randn(clean.shape, generator=gen), clean


def search_one_choice(**settings) -> float:
    """p(mean) after a 4-epoch search (1 warm-up) with the given α settings and the old λ1 = 1e-3."""
    torch.manual_seed(0)
    space = _OneChoice()
    strategy = STRATEGIES.get("bilevel")(warmup_epochs=1, weights=ADAM, alpha=AlphaConfig(**settings))
    ctx = SearchContext(
        restore_loss=F.mse_loss,
        arch_losses={"binary_entropy": (1e-3, LOSSES.get("binary_entropy"))},
        costs={},
        total_steps=4 * 25,
        steps_per_epoch=25,
    )
    strategy.prepare(space, space, ctx)
    for k in range(ctx.total_steps):
        strategy.step(flat_batch(2 * k), flat_batch(2 * k + 1), k // 25)
    return strategy.probability_lists()["pick"][1]


def test_alpha_decides_under_the_default_optimiser_and_not_under_coupled_decay():
    """Regression (issue 10): Adam's coupled weight decay on α (the released code's 1e-3) outweighs α
    gradients of 1e-5..1e-4 and pins α near 0.5; the default (no decay, lr from alpha.movement) decides."""
    assert search_one_choice() > 0.9
    released = search_one_choice(lr=3e-4, weight_decay=1e-3, decay="coupled")
    old_quick = search_one_choice(lr=1e-2, weight_decay=1e-3, decay="coupled")
    assert abs(released - 0.5) < 0.1 and abs(old_quick - 0.5) < 0.1


def test_alpha_lr_follows_the_movement_over_the_alpha_steps():
    space = make_space("clearer")
    strategy = STRATEGIES.get("bilevel")(warmup_epochs=1, alpha=AlphaConfig(movement=6.0))
    strategy.prepare(space, space, make_ctx(space, epochs=4, steps_per_epoch=5))
    assert strategy.alpha_steps() == 15 and strategy.alpha_lr() == pytest.approx(6.0 / 15)
    assert isinstance(strategy.alpha_optimizer, torch.optim.AdamW)
    assert strategy.alpha_optimizer.param_groups[0]["lr"] == pytest.approx(0.4)
    fixed = STRATEGIES.get("bilevel")(warmup_epochs=1, alpha=AlphaConfig(lr=3e-4, weight_decay=1e-3, decay="coupled"))
    fixed.prepare(space, space, make_ctx(space, epochs=4, steps_per_epoch=5))
    assert fixed.alpha_lr() == 3e-4 and type(fixed.alpha_optimizer) is torch.optim.Adam
    assert fixed.alpha_optimizer.param_groups[0]["weight_decay"] == 1e-3
    with pytest.raises(ClearerError, match="alpha.decay"):
        STRATEGIES.get("bilevel")(alpha=AlphaConfig(decay="l2"))


def test_alpha_signal_is_the_restoration_gradient_over_the_epoch():
    space, strategy = setup("clearer", "bilevel")
    run_steps(strategy, epochs=1)  # warm-up: no α step, nothing traced
    assert strategy.alpha_signal() == {}
    seen = []
    for k in range(3):
        strategy.step(batch(10 + 2 * k), batch(11 + 2 * k), epoch=1)
        seen.append({key: v[-1].clone() for key, v in strategy.grad_trace.items()})
    signal = strategy.alpha_signal()
    assert set(signal) == {c.label for c in space.choices()} and strategy.grad_trace == {}
    for c in space.choices():
        g = torch.stack([s[label_key(c.label)] for s in seen]).double()
        mean = g.mean(0)
        assert signal[c.label]["grad_mean"] == pytest.approx(float(mean.norm()))
        assert signal[c.label]["snr"] == pytest.approx(float(mean.norm() / (g - mean).pow(2).sum(1).mean().sqrt()))


def test_official_space_is_the_released_network():
    """official=True at the paper's size: the released code's supernet, 12.56 M parameters."""
    from clearer.nn.multiscale import Upsample

    torch.manual_seed(0)
    space = SPACES.get("clearer")(channels=1, width=32, cells=3, columns=4, official=True)
    assert sum(p.numel() for p in space.parameters()) == 12_558_144
    assert {m.mode for m in space.modules() if isinstance(m, Upsample)} == {"nearest"}
    assert space.out.kernel_size == (1, 1) and space.out.bias is None
    assert space.stem[0].skip[0].out_channels == 128
    conv = space.cells[0].columns[0].ops["parallel"].blocks[0].body[1][0]
    assert abs(float(conv.weight.detach().std()) - 1e-3) < 1e-4
    x = torch.rand(1, 1, 16, 16)
    space.set_weights({c.label: torch.tensor([0.5, 0.5]) for c in space.choices()})
    assert space(x).shape == x.shape


def test_search_init_starts_candidates_off_the_identity_in_search_mode_only():
    args = dict(channels=1, width=4, cells=2, columns=1, stem_blocks=1, residual=True)
    searching = SPACES.get("clearer")(**args, search_init=0.1)
    last = searching.cells[0].columns[0].ops["parallel"].blocks[0].body[1][1]
    assert torch.all(last.weight == 0.1)
    assert torch.all(searching.stem[2].body[1][1].weight == 0)  # the stem is no candidate
    fixed = SPACES.get("clearer")(
        **args, search_init=0.1, architecture={"cell1/col0": "parallel", "cell2/col0": "fusion"}
    )
    assert torch.all(fixed.cells[0].columns[0].ops["parallel"].blocks[0].body[1][1].weight == 0)


def test_search_summary_warns_naming_the_undecided_choice_points():
    from clearer.engine.search import search_summary

    lines: list[str] = []
    summary = search_summary({"cell1/col0": [0.55, 0.45], "cell1/col1": [0.02, 0.98]}, lines.append)
    assert summary["decided"] is False and summary["min_max_prob"] == pytest.approx(0.55)
    assert len(lines) == 1 and "the search did not decide: cell1/col0" in lines[0] and "col1" not in lines[0]
    assert summary["final_entropy"] == pytest.approx(
        (-(0.55 * math.log(0.55) + 0.45 * math.log(0.45)) - (0.02 * math.log(0.02) + 0.98 * math.log(0.98))) / 2,
        rel=1e-4,
    )
    lines.clear()
    assert search_summary({"a": [0.9, 0.1]}, lines.append)["decided"] is True and not lines
