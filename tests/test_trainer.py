"""The one weight trainer (search and retrain) and the training-mode block."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from clearer.nn.mode import train_mode
from clearer.train.trainer import OptimConfig, Trainer, cosine


def make(config: OptimConfig, total: int = 4) -> tuple[torch.nn.Module, Trainer]:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.BatchNorm2d(2), torch.nn.Conv2d(2, 1, 1))
    return net, Trainer(net, net.parameters(), config, total, F.mse_loss)


def batch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(2, 1, 8, 8, generator=gen), torch.rand(2, 1, 8, 8, generator=gen)


def test_learning_rate_follows_the_cosine_from_lr_to_min_lr():
    _, trainer = make(OptimConfig(lr=0.1, min_lr=0.01), total=4)
    seen = []
    for k in range(6):
        trainer.step(batch(k))
        seen.append(trainer.last_lr())
    assert seen[0] == 0.1 and seen[2] == pytest.approx(0.055) and seen[4:] == [pytest.approx(0.01)] * 2
    assert seen == [pytest.approx(cosine(k, 4, 0.1, 0.01)) for k in range(6)]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_state_dict_resumes_identically(optimizer):
    config = OptimConfig(optimizer=optimizer, lr=0.05, grad_clip=0.5)
    net_a, a = make(config, total=6)
    for k in range(3):
        a.step(batch(k))
    state = copy.deepcopy({"net": net_a.state_dict(), "trainer": a.state_dict()})  # as saved to disk
    after_a = [float(a.step(batch(k))) for k in range(3, 6)]
    net_b, b = make(config, total=6)
    net_b.load_state_dict(state["net"])
    b.load_state_dict(state["trainer"])
    assert b.steps_done == 3 and [float(b.step(batch(k))) for k in range(3, 6)] == after_a


def test_train_mode_restores_the_previous_mode_even_after_an_error():
    net, _ = make(OptimConfig())
    net.train()
    with pytest.raises(RuntimeError), train_mode(net, False):
        assert not net[1].training
        raise RuntimeError
    assert net.training and net[1].training
