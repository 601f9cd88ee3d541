"""The guarantees of clearer/writing.py (docs/writing.md), tested by property rather than by list:

- every writer of the module over generated targets and contents, and every writing command over every
  kind of output path (new, existing, the input itself, a hard link to it, a symlink, a dangling symlink, a
  folder, the run's own files), asserting the invariants: atomic, never over an input, never through a
  link, never outside the folder, an existing file only with --overwrite, no temporary file left;
- two processes writing at once, for every writing command (real subprocesses);
- a full disk (ENOSPC at the write inside the writer module) for every writer;
- the trust model: a run folder never chooses code; recipe suffixes;
- the examples of issue 22 (writing half) as regression tests.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import clearer
from clearer import writing
from clearer.errors import ClearerError

from conftest import BSD, FAST, SMOKE, Outcome, cli, needs_data

TEMP = writing.TEMP_PREFIX

pytestmark = pytest.mark.usefixtures("restore_registries", "one_thread")


# ------------------------------------------------------------------------------------------ helpers


def snapshot(*roots: Path) -> dict[str, bytes]:
    """Every file's bytes under the given files/folders (links not followed; log.txt is append-only)."""
    files: dict[str, bytes] = {}
    for root in map(Path, roots):
        paths = [root] if not root.is_dir() else [p for p in root.rglob("*")]
        for p in paths:
            if p.is_file() and not p.is_symlink() and p.name not in ("log.txt", writing.LOCK):
                files[str(p)] = p.read_bytes()
    return files


def temps(*roots: Path) -> list[Path]:
    return [p for root in roots if Path(root).is_dir() for p in Path(root).rglob(f"{TEMP}*")]


# ----------------------------------------------------------------------- the module's writers, by property

KINDS = ("new", "existing", "input", "hardlink", "symlink", "dangling", "folder", "outside")


def make_target(kind: str, root: Path) -> tuple[Path, Path]:
    """A target path of the given kind inside root/out, and the command's input file (root/input.bin)."""
    out = root / "out"
    out.mkdir(parents=True, exist_ok=True)
    source = root / "input.bin"
    source.write_bytes(b"input")
    target = out / "target.bin"
    if kind == "existing":
        target.write_bytes(b"earlier")
    elif kind == "input":
        target = source
    elif kind == "hardlink":
        os.link(source, target)
    elif kind == "symlink":
        target.symlink_to(source)
    elif kind == "dangling":
        target.symlink_to(root / "elsewhere" / "x.bin")
    elif kind == "folder":
        target.mkdir()
        (target / "keep").write_bytes(b"keep")
    elif kind == "outside":
        target = out / ".." / "escaped.bin"
    return target, source


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(KINDS), replace=st.booleans(), data=st.binary(max_size=64))
def test_write_file_keeps_every_invariant(tmp_path_factory, kind, replace, data):
    root = tmp_path_factory.mktemp("w")
    target, source = make_target(kind, root)
    before = snapshot(root)
    try:
        writing.write_file(target, lambda tmp: tmp.write_bytes(data), replace, [source], inside=root / "out")
    except ClearerError:
        assert snapshot(root) == before  # refused: nothing changed
        assert not (root / "elsewhere").exists()
    else:
        assert kind == "new" or (kind == "existing" and replace), f"wrote over a {kind} target"
        assert target.read_bytes() == data and not target.is_symlink() and os.stat(target).st_nlink == 1
        assert source.read_bytes() == b"input"
    assert not temps(root)


def test_write_file_outside_a_held_folder_is_refused(tmp_path):
    with writing.folder(tmp_path / "run", "run"):
        writing.write_text(tmp_path / "run" / "ok.txt", "ok")
        with pytest.raises(ClearerError, match="outside"):
            writing.write_text(tmp_path / "elsewhere.txt", "no")
    assert not (tmp_path / "elsewhere.txt").exists()


def test_append_never_follows_a_link(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("mine\n")
    (tmp_path / "log.txt").symlink_to(victim)
    with pytest.raises(ClearerError, match="symbolic link"):
        writing.append_text(tmp_path / "log.txt", "line\n")
    assert victim.read_text() == "mine\n"


# writers: each writes one file into `folder` through the module (the full-disk test runs every one)
def _writers():
    from clearer.compare.figures import _pyplot
    from clearer.compare.report import write_tables
    from clearer.data.images import save_image
    from clearer.rundir import artifacts
    from clearer.rundir.strips import save_strip
    from clearer.rundir.tracking import Tracker
    from clearer.train.checkpoint import save_state, save_weights

    def figure(folder: Path) -> None:
        plt = _pyplot()
        fig = plt.figure()
        writing.write_file(folder / "fig.png", lambda tmp: fig.savefig(tmp, format="png"))
        plt.close(fig)

    image = torch.rand(1, 8, 8)
    return {
        "json": lambda f: artifacts.write_json(f / "x.json", {"a": time.time()}),
        "alpha_csv": lambda f: artifacts.write_alpha_csv(f / "alpha.csv", [], {}),
        "state": lambda f: save_state(f / "s.safetensors", {"w": torch.rand(3)}),
        "weights": lambda f: save_weights(f / "m.safetensors", torch.nn.Linear(2, 2), {}),
        "tracker": lambda f: Tracker(f).log("search", 1, {"loss": time.time()}),
        "strip": lambda f: save_strip(f / "strip.png", [image, torch.rand(1, 8, 8)], ["a", "b"]),
        "image": lambda f: save_image(f / "im.png", torch.rand(1, 8, 8)),
        "tables": lambda f: write_tables({}, f, [str(time.time())]),
        "figure": figure,
        "text": lambda f: writing.write_text(f / "t.txt", str(time.time())),
    }


@pytest.mark.parametrize("name", list(_writers()))
def test_a_full_disk_keeps_the_earlier_file_and_leaves_no_temp(name, tmp_path, monkeypatch):
    write = _writers()[name]
    write(tmp_path)
    before = snapshot(tmp_path)
    assert before

    def full(path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writing, "_fsync", full)
    with pytest.raises(ClearerError, match="No space left"):
        write(tmp_path)
    assert snapshot(tmp_path) == before
    assert not temps(tmp_path)


def test_a_full_disk_while_appending_to_a_log_keeps_its_lines(tmp_path, monkeypatch):
    log = tmp_path / "log.txt"
    writing.append_text(log, "first line\n")

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writing.os, "write", full)
    with pytest.raises(ClearerError, match="No space left"):
        writing.append_text(log, "second line\n")
    monkeypatch.undo()
    assert log.read_text() == "first line\n" and not temps(tmp_path)


def test_orphan_clean_up_removes_only_clearers_temps_and_only_under_the_lock(tmp_path):
    run = tmp_path / "run"
    with writing.folder(run, "run"):  # a run folder (marked), as a killed run leaves it
        pass
    mine = [run / ".notes.tmp", run / ".x.json.tmp123", run / "state.tmp"]
    for p in mine:
        p.write_text("user's")
    orphan = run / f"{TEMP}999-abcd-metrics.json"
    orphan.write_text("half")
    with pytest.raises(ClearerError, match="without holding"):
        writing.remove_orphans(run, "run")
    with writing.folder(run, "run"):
        pass
    assert not orphan.exists() and all(p.read_text() == "user's" for p in mine)


def test_a_second_holder_gets_in_use_by_pid(tmp_path):
    code = (
        "import sys, time; from clearer import writing\n"
        "with writing.folder(sys.argv[1], 'run'):\n    print('held', flush=True); time.sleep(30)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ClearerError, match=f"in use by PID {holder.pid}"):
            with writing.folder(tmp_path, "run"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with writing.folder(tmp_path, "run"):  # free again once the holder has gone
        pass


@pytest.mark.parametrize(("kind", "other"), [("run", "evaluation"), ("evaluation", "run"), ("comparison", "run")])
def test_a_folder_of_another_kind_is_refused(tmp_path, kind, other):
    with writing.folder(tmp_path, other):
        pass
    with pytest.raises(ClearerError, match=f"is an? {other} folder"):
        with writing.folder(tmp_path, kind):
            pass


# ------------------------------------------------------------------------------------ the trust model


def test_recipe_suffixes(tmp_path):
    ran = tmp_path / "ran"
    code = f"open({str(ran)!r}, 'w').write('yes')\nRECIPE = dict(name='x')\n"
    for name in ("r.JSON", "r.txt", "r", "r.py.bak", "r.Py"):
        path = tmp_path / name
        path.write_text(code)
        result = cli("show", path)
        assert result.code == 2 and "Traceback" not in result.err, result.err
        assert not ran.exists(), f"{name} was executed"
    (tmp_path / "r.JSON").write_text(json.dumps({"name": "from-json"}))
    shown = cli("show", tmp_path / "r.JSON")
    assert shown.code == 0 and '"from-json"' in shown.out


def plant_code(run: Path, tmp_path: Path) -> Path:
    """A sources.json naming a .py file (with its true sha256) that leaves a mark when it runs."""
    mark = tmp_path / "EXECUTED"
    evil = run / "parts.py"
    evil.write_text(f"open({str(mark)!r}, 'w').write('ran')\n")
    entry = {
        "path": str(evil),
        "sha256": hashlib.sha256(evil.read_bytes()).hexdigest(),
        "registers": {"candidates": ["shared_part"]},
    }
    (run / "sources.json").write_text(json.dumps([entry]))
    return mark


@needs_data
def test_a_run_folder_never_chooses_code(run_copy, tmp_path):
    mark = plant_code(run_copy, tmp_path)
    image = tmp_path / "in.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(image)
    for args in (
        ("restore", image, "--run", run_copy, "--out", tmp_path / "restored"),
        ("evaluate", run_copy, "--quiet"),
        ("export", run_copy, "--format", "pt2"),
    ):
        result = cli(*args)
        assert result.code == 2 and "never runs code a run folder names" in result.err, result.err
        assert "--recipe" in result.err and not mark.exists(), args
    with pytest.raises(ClearerError, match="recipe="):
        clearer.load(run_copy)
    assert not mark.exists()


@needs_data
def test_a_recipe_given_by_hand_is_checked_against_the_recorded_hash(run_copy, tmp_path):
    plant_code(run_copy, tmp_path)
    mine = tmp_path / "mine.py"
    mine.write_text(
        "from clearer.registry import CANDIDATES\n"
        "from clearer.nn.multiscale import Parallel\n"
        "CANDIDATES.register('shared_part')(type('SharedPart', (Parallel,), {}))\n"
    )
    with pytest.raises(ClearerError, match="differs from that file"):
        clearer.load(run_copy, recipe=mine)


# ------------------------------------------------------------------ every writing command x output path


def _paths(kind: str, run: Path, tmp: Path, suffix: str) -> Path:
    """An --out of the given kind for a command that writes one file with `suffix`."""
    image = tmp / "in.png"
    if kind == "new":
        return tmp / "fresh" / f"out{suffix}"
    if kind == "existing":
        (tmp / f"old{suffix}").write_bytes(b"earlier")
        return tmp / f"old{suffix}"
    if kind == "input":
        return image
    if kind == "hardlink":
        os.link(image, tmp / f"link{suffix}")
        return tmp / f"link{suffix}"
    if kind == "symlink":
        (tmp / f"sym{suffix}").symlink_to(image)
        return tmp / f"sym{suffix}"
    if kind == "dangling":
        (tmp / f"dangling{suffix}").symlink_to(tmp / "nowhere" / f"x{suffix}")
        return tmp / f"dangling{suffix}"
    if kind == "folder":
        (tmp / "afolder").mkdir()
        return tmp / "afolder"
    if kind == "weights":
        return run / "model.safetensors"
    if kind == "recipe":
        return run / "recipe.json"
    raise AssertionError(kind)


OUT_KINDS = ("new", "existing", "input", "hardlink", "symlink", "dangling", "folder", "weights", "recipe")


def check_invariants(result: Outcome, before: dict[str, bytes], roots: tuple[Path, ...], written: Path | None) -> None:
    assert "Traceback" not in result.err and result.code in (0, 2), result.err[-2000:]
    after = snapshot(*roots)
    changed = [k for k in before if after.get(k) != before[k]]
    if result.code == 2:
        assert "error:" in result.err and not changed, (changed, result.err)
    else:
        assert written is not None and written.is_file() and not written.is_symlink()
        assert os.stat(written).st_nlink == 1
        assert changed in ([], [str(written)]), changed  # nothing but its own output changed
    assert not temps(*roots)
    assert not (roots[-1] / "nowhere").exists()


@needs_data
@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("kind", OUT_KINDS)
@pytest.mark.parametrize("command", ["export", "restore", "show-arch"])
def test_single_file_commands_over_every_output_path(command, kind, overwrite, run_copy, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    image = work / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (16, 20), dtype=np.uint8)).save(image)
    suffix = {"export": ".pt2", "restore": ".png", "show-arch": ".png"}[command]
    target = _paths(kind, run_copy, work, suffix)
    flag = ["--overwrite"] if overwrite else []
    if command == "export":
        args, written = ("export", run_copy, "--format", "pt2", "--out", target, "--image", image, *flag), target
    elif command == "show-arch":
        args, written = ("show-arch", run_copy, "--out", target, *flag), target
    else:  # restore writes <stem>.png into --out: aim the stem at the target through an input of that name
        folder, stem = (target, "in") if kind == "folder" else (target.parent, target.stem)
        source = image if kind == "input" else work / "src" / f"{stem}.png"
        if source != image:
            source.parent.mkdir(exist_ok=True)
            shutil.copy(image, source)
        args, written = ("restore", source, "--run", run_copy, "--out", folder, *flag), folder / f"{stem}.png"
    before = snapshot(run_copy, work)
    result = cli(*args)
    check_invariants(result, before, (run_copy, work), written if result.code == 0 else None)
    replaced_by_choice = command == "show-arch" and kind == "input" and overwrite  # not show-arch's input
    if kind in ("input", "hardlink", "symlink", "dangling", "weights", "recipe") and not replaced_by_choice:
        assert result.code == 2 or command == "restore", result.err  # restore names its output anew
    if kind == "existing" and not overwrite:
        assert result.code == 2 or command == "restore"


@needs_data
@pytest.mark.parametrize("kind", ["new", "file", "symlink-to-run", "dangling", "run", "nonempty", "evaluation"])
@pytest.mark.parametrize("command", ["evaluate", "run", "compare"])
def test_folder_commands_over_every_output_path(command, kind, run_copy, finished_run, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    target = {
        "new": work / "new",
        "file": work / "file.txt",
        "symlink-to-run": work / "link",
        "dangling": work / "dangling",
        "run": run_copy,
        "nonempty": work / "mine",
        "evaluation": work / "evaluation",
    }[kind]
    if kind == "file":
        target.write_text("mine")
    elif kind == "symlink-to-run":
        target.symlink_to(run_copy)
    elif kind == "dangling":
        target.symlink_to(work / "nowhere")
    elif kind == "nonempty":
        target.mkdir()
        (target / "notes.txt").write_text("mine")
    elif kind == "evaluation":
        with writing.folder(target, "evaluation"):
            (target / "metrics.json").write_text("{}")
    if command == "evaluate":
        args = ("evaluate", run_copy, "--out", target, "--quiet")
    elif command == "run":
        args = ("run", BSD, *SMOKE, *FAST, "--out", target, "--quiet")
        if kind in ("new",):
            pytest.skip("a new run folder: covered by every smoke run")
    else:
        comparison = work / "cmp.py"
        comparison.write_text(f"BASE = {BSD!r}\nVARIANTS = {{'a': {{}}}}\n")
        if kind == "new":
            pytest.skip("a new comparison folder: covered by tests/test_compare.py")
        args = ("compare", comparison, *SMOKE, "--report", "--out", target)
    before = snapshot(run_copy, work)
    result = cli(*args)
    assert "Traceback" not in result.err and result.code in (0, 2), result.err[-2000:]
    after = snapshot(run_copy, work)
    if kind != "new":
        assert result.code == 2, (kind, result.err)
        assert all(after.get(k) == v for k, v in before.items()), "an existing file changed"
    assert not (work / "nowhere").exists() and not temps(run_copy, work)


# --------------------------------------------------------------------------- two writers at once


def finished_comparison(run: Path, tmp_path: Path) -> Path:
    """A one-variant comparison file whose only job is a copy of `run` (its recipe made the job's)."""
    from clearer.compare import load_comparison

    comparison = tmp_path / "cmp.py"
    comparison.write_text(f"BASE = {BSD!r}\nVARIANTS = {{'a': {{}}}}\n")
    (job,) = load_comparison(comparison, "smoke", {}, None, tmp_path / "cmp").jobs
    shutil.copytree(run, job.out, ignore=shutil.ignore_patterns(".clearer*"))
    (job.out / "recipe.json").write_text(json.dumps(job.recipe.to_dict()))
    return comparison


def start(*args: object) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "clearer", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def both(*commands: tuple[object, ...]) -> list[tuple[int, str]]:
    procs = [start(*c) for c in commands]
    return [(p.wait(timeout=600), " ".join(p.communicate()[1].split())) for p in procs]


@pytest.mark.slow
@needs_data
@pytest.mark.parametrize("command", ["run", "resume", "evaluate", "export", "restore", "show-arch", "compare"])
def test_two_writers_at_once(command, run_copy, tmp_path):
    image = tmp_path / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (16, 20), dtype=np.uint8)).save(image)
    cmd: tuple[object, ...]
    if command == "run":
        cmd = ("run", BSD, *SMOKE, *FAST, "--out", tmp_path / "new", "--quiet")
    elif command == "resume":
        (run_copy / "metrics.json").unlink()
        cmd = ("run", BSD, *SMOKE, "--resume", run_copy, "--quiet")
    elif command == "evaluate":
        cmd = ("evaluate", run_copy, "--out", tmp_path / "ev", "--quiet")
    elif command == "export":
        cmd = ("export", run_copy, "--format", "pt2", "--image", image)
    elif command == "restore":
        cmd = ("restore", image, "--run", run_copy, "--out", tmp_path / "restored", "--overwrite")
    elif command == "show-arch":
        cmd = ("show-arch", run_copy, "--out", tmp_path / "arch.png", "--overwrite")
    else:
        cmd = ("compare", finished_comparison(run_copy, tmp_path), *SMOKE, "--report", "--out", tmp_path / "cmp")
    outcomes = both(cmd, cmd)
    assert all("Traceback" not in err for _, err in outcomes), outcomes
    codes = sorted(code for code, _ in outcomes)
    assert codes[0] == 0 and codes[1] in (0, 2), outcomes  # one wins; the other waits its turn or is refused
    for code, err in outcomes:
        if code == 2:
            assert "in use by PID" in err or "already" in err, err
    assert not temps(tmp_path)


# ------------------------------------------------------------------ issue 22's examples, as regressions


def refused(*args: object, says: str, watch: tuple[Path, ...]) -> None:
    before = snapshot(*watch)
    result = cli(*args)
    assert result.code == 2 and "Traceback" not in result.err and says in result.err, result.err[-2000:]
    assert snapshot(*watch) == before


@needs_data
def test_export_never_replaces_the_weights_or_the_image(run_copy, tmp_path):
    image = tmp_path / "in.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(image)
    for out in (run_copy / "model.safetensors", image):
        refused(
            "export",
            run_copy,
            "--format",
            "pt2",
            "--out",
            out,
            "--image",
            image,
            "--overwrite",
            says="reads",
            watch=(run_copy, image),
        )


@needs_data
def test_a_full_disk_during_export_or_restore_keeps_the_earlier_file(run_copy, tmp_path, monkeypatch):
    image = tmp_path / "in.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(image)
    assert cli("export", run_copy, "--format", "pt2", "--out", tmp_path / "m.pt2", "--image", image).code == 0
    assert cli("restore", image, "--run", run_copy, "--out", tmp_path / "out").code == 0
    assert cli("show-arch", run_copy, "--out", tmp_path / "arch.png").code == 0
    before = snapshot(tmp_path)

    def full(path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writing, "_fsync", full)
    for args in (
        ("export", run_copy, "--format", "pt2", "--out", tmp_path / "m.pt2", "--image", image, "--overwrite"),
        ("restore", image, "--run", run_copy, "--out", tmp_path / "out", "--overwrite"),
        ("show-arch", run_copy, "--out", tmp_path / "arch.png", "--overwrite"),
    ):
        result = cli(*args)
        assert result.code == 2 and "No space left" in result.err, result.err[-2000:]
    assert snapshot(tmp_path) == before and not temps(tmp_path, run_copy)


@needs_data
def test_restore_overwrite_never_replaces_an_input_through_a_hard_link(run_copy, tmp_path):
    image = tmp_path / "in" / "photo.png"
    image.parent.mkdir()
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(image)
    (tmp_path / "out").mkdir()
    os.link(image, tmp_path / "out" / "photo.png")
    refused("restore", image, "--run", run_copy, "--out", tmp_path / "out", "--overwrite", says="reads", watch=(image,))


@needs_data
def test_evaluate_never_writes_into_a_run_folder_and_resume_never_into_an_evaluation(run_copy, tmp_path):
    unfinished = tmp_path / "unfinished"
    shutil.copytree(run_copy, unfinished)
    for name in ("model.safetensors", "model_best.safetensors", "metrics.json", "arch.json"):
        (unfinished / name).unlink()
    refused(
        "evaluate",
        run_copy,
        "--out",
        unfinished,
        "--set",
        "data.degradation.sigma=5",
        says="is a run folder",
        watch=(unfinished,),
    )
    assert cli("evaluate", run_copy, "--out", tmp_path / "ev", "--quiet").code == 0
    refused("run", BSD, *SMOKE, "--resume", tmp_path / "ev", says="is an evaluation folder", watch=(tmp_path / "ev",))


@needs_data
def test_name_is_not_a_path_and_resume_takes_no_out(run_copy, tmp_path):
    refused("run", BSD, *SMOKE, "--set", f"name='{tmp_path / 'abs'}'", says="not a path", watch=(tmp_path,))
    assert not (tmp_path / "abs").exists()
    refused(
        "run", BSD, *SMOKE, "--resume", run_copy, "--out", tmp_path / "other", says="leave out --out", watch=(run_copy,)
    )
    assert not (tmp_path / "other").exists()


@needs_data
def test_show_arch_prints_the_path_it_wrote(run_copy, tmp_path):
    refused("show-arch", run_copy, "--out", tmp_path / "arch", says=".png, .pdf or .svg", watch=(run_copy,))
    assert not list(tmp_path.glob("arch*"))
    result = cli("show-arch", run_copy, "--out", tmp_path / "arch.svg")
    assert result.code == 0 and result.out.strip() == str(tmp_path / "arch.svg")
    assert (tmp_path / "arch.svg").read_text().lstrip().startswith("<?xml")


@needs_data
def test_a_dangling_symlink_in_restores_out_is_not_followed(run_copy, tmp_path):
    image = tmp_path / "photo.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(image)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "photo.png").symlink_to(tmp_path / "elsewhere.png")
    refused(
        "restore",
        image,
        "--run",
        run_copy,
        "--out",
        tmp_path / "out",
        "--overwrite",
        says="symbolic link",
        watch=(image,),
    )
    assert not (tmp_path / "elsewhere.png").exists()


@needs_data
def test_export_into_a_folder_and_evaluate_into_a_file_are_clear_errors(run_copy, tmp_path):
    (tmp_path / "folder").mkdir()
    refused("export", run_copy, "--format", "pt2", "--out", tmp_path / "folder", says="is a folder", watch=(tmp_path,))
    (tmp_path / "file.txt").write_text("mine")
    refused("evaluate", run_copy, "--out", tmp_path / "file.txt", says="is a file", watch=(tmp_path,))
