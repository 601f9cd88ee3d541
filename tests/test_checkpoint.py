"""Checkpoints: nested state (tensors, numbers, strings, lists, tuples, non-string keys) comes back exactly."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from clearer.train.checkpoint import load_state, save_state


def test_nested_state_round_trips_exactly(tmp_path):
    gen = torch.Generator().manual_seed(3)
    state = {
        "model": {"conv.weight": torch.randn(2, 3, generator=gen), "bn.num_batches_tracked": torch.tensor(7)},
        "optimizer": {
            "state": {0: {"step": torch.tensor(4.0), "exp_avg": torch.randn(2, 3)[:, 1]}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0], "fused": None}],
        },
        "generator": gen.get_state(),
        "half": torch.ones(2, dtype=torch.bfloat16),
        "epoch": 2,
        "done": False,
        "name": "bsd",
        "empty": [],
        "nested": [[1, (2, "x")], {}],
    }
    path = tmp_path / "state.safetensors"
    save_state(path, state, metadata={"phase": "search"})
    loaded = load_state(path)
    assert set(loaded) == set(state)
    assert torch.equal(loaded["model"]["conv.weight"], state["model"]["conv.weight"])
    assert loaded["model"]["bn.num_batches_tracked"].dtype == torch.int64
    assert list(loaded["optimizer"]["state"]) == [0]  # an int key stays an int
    assert torch.equal(loaded["optimizer"]["state"][0]["exp_avg"], state["optimizer"]["state"][0]["exp_avg"])
    assert loaded["optimizer"]["param_groups"] == state["optimizer"]["param_groups"]  # the tuple stays a tuple
    assert isinstance(loaded["optimizer"]["param_groups"][0]["betas"], tuple)
    assert torch.equal(loaded["generator"], state["generator"]) and loaded["half"].dtype == torch.bfloat16
    assert {k: loaded[k] for k in ("epoch", "done", "name", "empty", "nested")} == {
        "epoch": 2,
        "done": False,
        "name": "bsd",
        "empty": [],
        "nested": [[1, (2, "x")], {}],
    }
    restored = torch.Generator()
    restored.set_state(loaded["generator"])
    assert torch.equal(torch.rand(3, generator=restored), torch.rand(3, generator=gen))
    with safe_open(str(path), "pt") as f:
        assert json.loads(f.metadata()["metadata"]) == {"phase": "search"}


def test_what_a_checkpoint_cannot_hold_is_refused_by_name(tmp_path):
    with pytest.raises(TypeError, match="cannot store set at .* in a checkpoint"):
        save_state(tmp_path / "s.safetensors", {"a": 1, 3: {"tags": {"x"}}})
    assert not (tmp_path / "s.safetensors").exists()


def test_a_phase_resumes_its_parts_epoch_clock_and_extras(tmp_path):
    """The outline search and retraining share: what `PhaseState.save` wrote, `resume` puts back into
    fresh parts, and a module of another shape is refused naming the file."""
    from clearer.engine.loop import PhaseState
    from clearer.errors import ClearerError
    from clearer.rundir.progress import RunLog

    log = RunLog(None, verbose=False)
    torch.manual_seed(0)
    net, optim_net = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    optim = torch.optim.Adam(optim_net.parameters())
    optim_net(torch.ones(1, 3)).sum().backward()
    optim.step()
    best = {"psnr": 31.5}
    first = PhaseState("retrain", tmp_path / "state.safetensors", {"model": net, "optim": optim}, lambda: dict(best))
    assert first.resume(log) == {} and first.epoch == 0
    first.started -= 40.0  # 40 s spent before the crash
    first.save(3)

    fresh_net = torch.nn.Linear(3, 2)
    fresh_optim = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    again = PhaseState("retrain", tmp_path / "state.safetensors", {"model": fresh_net, "optim": fresh_optim})
    assert again.resume(log) == {"psnr": 31.5}
    assert again.epoch == 3 and again.seconds() >= 40.0
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), fresh_net.state_dict().values()))
    assert fresh_optim.state_dict()["state"][0]["step"] == 1

    wrong = PhaseState(
        "retrain", tmp_path / "state.safetensors", {"model": torch.nn.Linear(4, 2), "optim": fresh_optim}
    )
    with pytest.raises(ClearerError, match="state.safetensors"):
        wrong.resume(log)
