"""The `clearer` command line: --version, list, show, and user errors as one paragraph (exit code 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import clearer
from clearer.cli import main
from clearer.errors import ClearerError
from clearer.registry import REGISTRIES

from conftest import BSD, ROOT, cli

KINDS = ["candidates", "ops", "spaces", "losses", "strategies", "datasets", "degradations"]
CLEARER = Path(sys.executable).with_name("clearer")  # the installed console script


pytestmark = pytest.mark.usefixtures("restore_registries")


def flat(text: str) -> str:
    """Whitespace-normalised text (rich may wrap lines)."""
    return " ".join(text.split())


def failure(*args: str) -> str:
    """The one-paragraph error of a command that must fail (exit code 2, no traceback)."""
    result = cli(*args)
    assert result.code == 2 and "Traceback" not in result.err, result.err
    return result.err


def shown(*args: str) -> dict:
    result = cli("show", *args)
    assert result.code == 0, result.err
    return json.loads(result.out)


def run_script(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "100"}
    return subprocess.run([str(CLEARER), *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)


# ------------------------------------------------------------------------------------------ in-process


def test_version() -> None:
    result = cli("--version")
    assert result.code == 0 and result.out.strip() == f"clearer {clearer.__version__}"


def test_list_shows_every_kind_with_descriptions() -> None:
    result = cli("list")
    assert result.code == 0
    for kind in KINDS:
        assert kind in result.out, kind
        for name in REGISTRIES[kind].names():
            assert name in result.out, (kind, name)
    assert "Multi-scale supernet" in flat(result.out)  # first docstring line of the clearer space


def test_list_one_kind() -> None:
    result = cli("list", "losses")
    assert result.code == 0
    for name in ("mse", "l1", "binary_entropy", "expected_cost"):
        assert name in result.out
    for other in ("bsds500", "gaussian", "bilevel", "psnr", "degradations"):
        assert other not in result.out


def test_list_unknown_kind_suggests_and_lists_kinds() -> None:
    msg = failure("list", "nosuchkind")
    assert "unknown kind 'nosuchkind'" in msg and "Kinds: " + ", ".join(KINDS) + "." in msg
    assert "Did you mean 'losses'?" in failure("list", "loss")


def test_list_with_recipe_includes_its_own_parts(tmp_path: Path) -> None:
    recipe = tmp_path / "own.py"
    recipe.write_text(
        textwrap.dedent("""\
        from clearer import LOSSES

        @LOSSES.register("test_cli_huber")
        def huber(delta: float = 1.0):
            \"\"\"Huber loss for tests.\"\"\"

        RECIPE = dict(search=dict(loss="test_cli_huber"))
        """)
    )
    result = cli("list", "losses", "--recipe", str(recipe))
    assert result.code == 0 and "test_cli_huber" in result.out and "Huber loss for tests." in result.out


def test_show_prints_resolved_json_with_set() -> None:
    data = shown(BSD, "--set", "search.epochs=3")
    assert data["search"]["epochs"] == 3
    data = shown(BSD, "--profile", "smoke", "--set", "search.epochs=4", "--set", "data.degradation.sigma=25")
    assert data["search"]["epochs"] == 4 and data["data"]["degradation"]["sigma"] == 25.0
    assert data["space"]["width"] == 8  # from the smoke profile


def test_show_profiles() -> None:
    assert shown(BSD, "--profile", "smoke")["space"]["width"] == 8
    assert shown(BSD, "--profile", "quick")["evaluate"]["protocol"] == "standard"
    base = cli("show", BSD, "--profile", "none")
    assert base.code == 0 and json.loads(base.out)["search"]["epochs"] == 200
    assert "chosen automatically" not in base.err


def test_show_picks_a_profile_for_the_machine() -> None:
    result = cli("show", BSD)
    assert result.code == 0
    pick = "paper" if torch.cuda.is_available() else "quick"
    assert f"profile {pick!r} chosen automatically" in flat(result.err)
    assert json.loads(result.out)["search"]["epochs"] == (200 if pick == "paper" else 8)


def test_show_errors_name_the_problem() -> None:
    msg = failure("show", BSD, "--profile", "smoke", "--set", "search.epoch=3")
    assert "unknown key search.epoch." in msg and "Did you mean search.epochs" in msg
    msg = failure("show", BSD, "--profile", "smok")
    assert (
        "no profile 'smok'" in msg
        and "Did you mean 'smoke'?" in msg
        and "Profiles: paper, paper-released, quick, compare, compare-iso, smoke." in msg
    )
    msg = failure("show", BSD, "--profile", "smoke", "--set", "search.epochs=3.5")
    assert "search.epochs expects int, got 3.5 (float)" in msg
    assert "--set expects key=value" in failure("show", BSD, "--set", "search.epochs")


# ------------------------------------------------------------------------------------------ main()


def test_main_turns_user_errors_into_one_paragraph(tmp_path: Path, monkeypatch, capsys) -> None:
    recipe = tmp_path / "boom.py"
    recipe.write_text("RECIPE = dict(\n    seed=1 // 0,\n)\n")
    monkeypatch.setattr(sys, "argv", ["clearer", "show", str(recipe)])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and "Traceback" not in captured.err
    assert f"recipe {recipe}:2 raised ZeroDivisionError" in flat(captured.err) and "--debug" in captured.err


def test_main_with_debug_raises(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sys, "argv", ["clearer", "--debug", "show", str(tmp_path / "missing.py")])
    with pytest.raises(ClearerError, match="not found"):
        main()


# ------------------------------------------------------------------------------------------ real process


@pytest.mark.slow
def test_console_script_show_and_error() -> None:
    ok = run_script("show", "recipes/bsd.py", "--profile", "smoke", "--set", "search.epochs=3")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["search"]["epochs"] == 3
    bad = run_script("show", "recipes/bsd.py", "--profile", "smoke", "--set", "search.epoch=3")
    assert bad.returncode == 2 and bad.stdout == ""
    assert "Traceback" not in bad.stderr and bad.stderr.startswith("error:")
    assert "unknown key search.epoch." in flat(bad.stderr) and "search.epochs" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1  # one paragraph, not wrapped into pieces


@pytest.mark.slow
def test_console_script_debug_shows_traceback(tmp_path: Path) -> None:
    recipe = tmp_path / "syntax.py"
    recipe.write_text("RECIPE = dict(\n    name='x',,\n)\n")
    plain = run_script("show", str(recipe), "--profile", "none")
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert f"syntax error in recipe {recipe}:2" in flat(plain.stderr)
    debug = run_script("--debug", "show", str(recipe), "--profile", "none")
    assert debug.returncode != 0 and "Traceback (most recent call last)" in debug.stderr
    assert "SyntaxError" in debug.stderr and "ClearerError: syntax error in recipe" in debug.stderr


def test_run_captured_reports_an_escaping_exception_as_a_traceback_and_reraises_only_the_named_ones(monkeypatch):
    import clearer.cli as cli_module

    class Hang(Exception):
        pass

    def broken(*args, **kwargs):
        raise Hang("stuck")

    assert cli_module.run_captured(["--help"])[0] == 0
    monkeypatch.setattr(cli_module, "app", broken)
    code, out, err = cli_module.run_captured(["list"])
    assert code == -1 and out == "" and "Traceback" in err and "Hang: stuck" in err
    with pytest.raises(Hang):
        cli_module.run_captured(["list"], reraise=(Hang,))
