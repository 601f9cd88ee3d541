"""Shared fixtures: the real benchmark data folder (skips cleanly when CLEARER_DATA is unset)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from clearer.registry import REGISTRIES

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"

# A relative CLEARER_DATA (as the README's test command sets it) means "from where pytest started"; tests
# that change folder (run folders, restore) must still find the data, so pin it once here.
if os.environ.get("CLEARER_DATA"):
    os.environ["CLEARER_DATA"] = str(Path(os.environ["CLEARER_DATA"]).resolve())


@pytest.fixture
def data_dir() -> Path:
    value = os.environ.get("CLEARER_DATA")
    if not value or not Path(value).is_dir():
        pytest.skip("CLEARER_DATA is not set to the benchmark data folder (CI sets it)")
    return Path(value).resolve()  # a relative CLEARER_DATA (as in the README) is relative to here


@pytest.fixture
def restore_registries():
    """Recipes in tests register parts globally; take them out again afterwards."""
    saved = {kind: dict(r._entries) for kind, r in REGISTRIES.items()}
    yield
    for kind, registry in REGISTRIES.items():
        registry._entries.clear()
        registry._entries.update(saved[kind])


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one intra-op thread is faster, and far faster on a busy shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
