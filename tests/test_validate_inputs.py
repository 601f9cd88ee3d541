"""Recipes, --set values and comparison files are checked before anything is built: generated --set
values for every known key give a clear error or a valid recipe (never a traceback), an oversized space
is refused from its plan (no memory spent), and a comparison file's top-level names are type-checked."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearer.recipe import load_recipe
from clearer.recipe.overrides import _known_keys

from conftest import RECIPES, SMOKE, bad, cli, has_data, write

pytestmark = pytest.mark.usefixtures("restore_registries", "one_thread")
BSD = RECIPES / "bsd.py"
KEYS = _known_keys(load_recipe(BSD).resolve("smoke").to_dict(), None, "")

literals = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**30), 10**30),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=8),
        st.sampled_from(["auto", "bsd68", "gaussian", "parallel", "sgd", "/abs/path", "../up", "os:system"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(max_size=5), st.sampled_from(["name", "sigma", "limit"])), inner, max_size=3),
    ),
    max_leaves=6,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(KEYS), value=literals, spelled=st.sampled_from([repr, json.dumps, str]))
def test_any_set_value_is_a_clear_error_or_a_valid_recipe(key, value, spelled):
    try:
        text = spelled(value)
    except ValueError:  # json.dumps of a value JSON cannot hold
        text = repr(value)
    result = cli("show", BSD, *SMOKE, "--set", f"{key}={text}")
    assert "Traceback" not in result.err, result.err[-3000:]
    if result.code == 0:
        json.loads(result.out)  # the resolved recipe, printed as JSON
    else:
        assert result.code == 2 and "error: " in result.err, (result.code, result.err[-2000:])


@pytest.mark.parametrize(
    "setting, says",
    [
        ("evaluate.sets={[1]: 2}", "is not a valid literal"),
        ("search.epochs=" + "[" * 300 + "]" * 300, "search.epochs"),
        ("space.cells=50", "parameters, which need more than this machine's"),
        ("space.columns=1000000", "parameter tensors"),
        ("space.cells=8", "data.patch=32 must be a multiple of 256"),
        ("space.candidates=[]", "needs one or more distinct candidates"),
        ("space.candidates=['fusion', 'parallel', 'fusion']", "got ['fusion', 'parallel', 'fusion']"),
    ],
)
def test_bad_sizes_and_literals_fail_before_building(setting, says):
    bad("show", BSD, *SMOKE, "--set", setting, says=says)


def test_an_oversized_space_is_refused_without_spending_memory():
    """In a fresh process: cells=8 (a 1 GB supernet) reports its patch size and cells=50 its size, in
    well under the memory the network would take."""
    for cells in (8, 50):
        code = (
            "import re, sys\nfrom clearer.cli import main\n"
            f"try:\n    main(['show', {str(BSD)!r}, '--profile', 'smoke', '--set', 'space.cells={cells}'])\n"
            "except SystemExit as e:\n    code = e.code\n"
            # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent (pytest) across exec
            "print(code, re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1])"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        status, peak_kb = proc.stdout.split()
        assert status == "2" and int(peak_kb) < 700_000, (proc.stdout, proc.stderr[-2000:])


def test_a_recipe_calling_exit_is_an_error(tmp_path):
    recipe = write(tmp_path / "quits.py", "import sys\nsys.exit(0)\nRECIPE = {}\n")
    bad("show", recipe, says=("called exit(0)", "quits.py:2"))
    bad("run", recipe, "--out", tmp_path / "run", says="called exit(0)")
    assert not (tmp_path / "run").exists()


COMPARISONS = {
    "seeds a word": ("SEEDS = 'two'", "SEEDS in"),
    "seeds zero": ("SEEDS = 0", "at least 1; got 0"),
    "seeds a float": ("SEEDS = 1.5", "got 1.5"),
    "seeds function raises": ("def SEEDS(profile):\n    return 1 / 0", "SEEDS('smoke')"),
    "seeds function gives a list": ("SEEDS = lambda profile: [0, 1]", "got [0, 1]"),
    "integer variant names": ("VARIANTS = {1: {}, 2: {}}", "variant names (strings)"),
    "unknown variant seeds": ("VARIANT_SEEDS = {'wider': 3}", "names 'wider', which is not a variant"),
    "variant seeds a word": ("VARIANT_SEEDS = {'wide': 'many'}", "VARIANT_SEEDS['wide']"),
    "sweep unknown": ("SWEEP = ['wide', 'huge']", "SWEEP in"),
    "sweep a string": ("SWEEP = 'wide'", "must list variant names"),
    "base a number": ("BASE = 3", "BASE in"),
    "a billion seeds": ("SEEDS = 10**9", "asks for 2,000,000,000 runs"),
}


@pytest.mark.parametrize("case", list(COMPARISONS))
def test_comparison_top_level_names_are_checked(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line, says = COMPARISONS[case]
    shutil.copy(BSD, tmp_path / "bsd.py")
    text = "BASE = 'bsd.py'\nVARIANTS = {'wide': {'space.width': 16}, 'narrow': {}}\n" + line + "\n"
    bad("compare", write(tmp_path / "cmp.py", text), "--profile", "smoke", "--status", says=says)


FLAGS = ["--profile", "smoke", "--set", "search.epochs=1", "--set", "retrain.epochs=1"]
FLAGS += ["--set", "evaluate.sets=[dict(name='set12', limit=1)]"]


@pytest.fixture(scope="module")
def finished_comparison(tmp_path_factory) -> Path:
    """A one-job comparison of the smoke profile, run once (cases work on copies)."""
    if not has_data():
        pytest.skip("CLEARER_DATA is not set to the benchmark data folder")
    folder = tmp_path_factory.mktemp("comparison")
    shutil.copy(BSD, folder / "bsd.py")
    write(folder / "cmp.py", "BASE = 'bsd.py'\nVARIANTS = {'a': {}}\n")
    result = cli("compare", folder / "cmp.py", *FLAGS, "--out", folder / "out")
    assert result.code == 0, result.err[-3000:]
    return folder


@pytest.mark.parametrize("garbage", ["[]", '{"sets": 3}', '{"architecture": {}, "arch_hash": "x", "sets": {"a": 1}}'])
def test_report_over_a_damaged_metrics_json_names_it(garbage, finished_comparison, tmp_path):
    folder = tmp_path / "c"
    shutil.copytree(finished_comparison, folder)
    metrics = folder / "out" / "a" / "seed0" / "metrics.json"
    metrics.write_text(garbage)
    bad(
        "compare",
        folder / "cmp.py",
        *FLAGS,
        "--out",
        folder / "out",
        "--report",
        says=("cannot report variant 'a'", str(metrics)),
    )


@pytest.mark.parametrize("candidates", [[], ["skip", "skip"]])
def test_a_choice_needs_distinct_candidates(candidates):
    from clearer.errors import ClearerError
    from clearer.spaces.choice import Choice

    with pytest.raises(ClearerError, match="one or more distinct candidates"):
        Choice("edge", candidates, lambda name: torch.nn.Identity())
