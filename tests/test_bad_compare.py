"""Hostile and careless comparison files and `clearer compare` options."""

from __future__ import annotations

import shutil

import pytest

from conftest import RECIPES, SMOKE, bad, write

pytestmark = pytest.mark.usefixtures("restore_registries", "one_thread")


COMPARISONS = {
    "variants list": ("BASE = 'bsd.py'\nVARIANTS = ['a', 'b']\n", "VARIANTS in"),
    "variants raise": ("BASE = 'bsd.py'\ndef VARIANTS(profile):\n    raise KeyError(profile)\n", "raised KeyError"),
    "no base": ("VARIANTS = {}\n", "defines no BASE"),
    "missing base": ("BASE = 'nothere.py'\nVARIANTS = {}\n", "not found"),
    "negative epochs": (
        "BASE = 'bsd.py'\nVARIANTS = {'x': {'search.epochs': -1}}\n",
        "search.epochs must be at least 1",
    ),
    "os:system": (
        "BASE = 'bsd.py'\nVARIANTS = {'x': {'data.train': {'name': 'os:system', 'command': 'touch pwned'}}}\n",
        "unknown datasets 'os:system'",
    ),
    "bad candidate": ("BASE = 'bsd.py'\nVARIANTS = {'x': {'space.candidates': ['parallel', 'nope']}}\n", "variant 'x'"),
    "bad tile": ("BASE = 'bsd.py'\nVARIANTS = {'x': {'evaluate.tile': 16}}\n", "evaluate.tile=16 is too small"),
}


@pytest.mark.parametrize("case", list(COMPARISONS))
def test_bad_comparison(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(RECIPES / "bsd.py", tmp_path / "bsd.py")
    text, says = COMPARISONS[case]
    path = write(tmp_path / "cmp.py", text)
    bad("compare", path, *SMOKE, "--out", tmp_path / "cmp", says=says, watch=(path, tmp_path / "bsd.py"))
    assert not (tmp_path / "cmp").exists() and not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    "args,says",
    [
        (["--shard", "3/2"], "--shard expects I/N"),
        (["--shard", "x"], "--shard expects I/N"),
        (["--seeds", "0"], "--seeds must be at least 1"),
    ],
)
def test_bad_comparison_options(args, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(RECIPES / "bsd.py", tmp_path / "bsd.py")
    path = write(tmp_path / "cmp.py", "BASE = 'bsd.py'\nVARIANTS = {'a': {}}\n")
    bad("compare", path, *SMOKE, "--out", tmp_path / "cmp", *args, says=says)
