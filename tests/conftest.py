"""Shared fixtures: the real benchmark data folder (skips cleanly when CLEARER_DATA is unset)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"


@pytest.fixture
def data_dir() -> Path:
    value = os.environ.get("CLEARER_DATA")
    if not value or not Path(value).is_dir():
        pytest.skip("CLEARER_DATA is not set to the benchmark data folder (CI sets it to ../shared/data)")
    return Path(value)
