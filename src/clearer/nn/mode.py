"""Training or evaluation mode (BatchNorm statistics) for the length of a block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def train_mode(module: nn.Module, train: bool) -> Iterator[nn.Module]:
    """`module` in training (`train=True`) or evaluation mode inside the block, its previous mode after.

    Why: an α step may run BatchNorm in eval mode, and validation and measurements always do, in the
    middle of training; a mode left switched would silently change every later training step.
    """
    was_training = module.training
    module.train(train)
    try:
        yield module
    finally:
        module.train(was_training)
