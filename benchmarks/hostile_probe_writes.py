"""A hostile user's probe of what clearer writes and what code it runs (issue 22, writing and trust).

Tries cases that tests/test_writing.py and tests/test_bad_inputs.py do not list, across `clearer run`,
`evaluate`, `export`, `restore`, `compare`, `show-arch`, `show`/`list` and the Python API, each on a fresh
copy of one finished smoke run, and sorts every outcome into one class:

  clear error     exit 2 (ClearerError in the API), one paragraph, nothing changed
  correct         exit 0, the output is where it should be and right, nothing else changed
  data lost       a file that existed (the run's, the user's, an input) changed or vanished unasked
  code executed   code named by data (a run folder, a non-.py file) ran
  traceback       an exception other than ClearerError escaped
  hang            no answer within the time limit
  silently wrong  exit 0, but the output is missing, elsewhere, or something was written outside --out

Prints one line per case and the counts per class and entry point.

    CLEARER_DATA=/path/to/data OMP_NUM_THREADS=1 python benchmarks/hostile_probe_writes.py [PART_OF_A_NAME]
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from probe_cli import snapshot

import clearer
from clearer.cli import run_captured
from clearer.errors import ClearerError

ROOT = Path(__file__).resolve().parents[1]
BSD = str(ROOT / "recipes" / "bsd.py")
SMOKE = ["--profile", "smoke"]
FAST = ["--set", "search.epochs=1", "--set", "retrain.epochs=1", "--set", "evaluate.sets=[dict(name='set12', limit=1)]"]
LIMIT_S = 300
CLASSES = ("clear error", "correct", "data lost", "code executed", "traceback", "hang", "silently wrong")


class Hang(Exception):
    pass


@dataclass
class Ctx:
    """One case's world: a copy of the run, the user's files, a folder nothing may be written to, an image."""

    base: Path
    run: Path = field(init=False)
    user: Path = field(init=False)
    outside: Path = field(init=False)
    image: Path = field(init=False)
    mark: Path = field(init=False)

    def __post_init__(self) -> None:
        self.run, self.user, self.outside = self.base / "run", self.base / "user", self.base / "outside"
        self.user.mkdir(parents=True)
        self.outside.mkdir()
        self.image = self.user / "photo.png"
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (24, 20), dtype=np.uint8)).save(self.image)
        (self.user / "notes.txt").write_text("the user's notes\n")
        self.mark = self.base / "EXECUTED"

    def evil(self, where: Path, name: str = "evil.py") -> Path:
        """A file of Python that leaves a mark when it runs."""
        path = where / name
        path.write_text(f"open({str(self.mark)!r}, 'w').write('ran')\nRECIPE = dict(name='evil')\n")
        return path


@dataclass
class Case:
    entry: str
    name: str
    act: Callable[[Ctx], Any]  # sets the case up; returns CLI args (a list) or a function calling the API
    check: Callable[[Ctx], str | None] | None = None  # after success: None when right, else what is wrong
    replaces: Callable[[Ctx], list[Path]] = lambda ctx: []  # files the case asks to replace (--overwrite)


def cli(args: list[Any]) -> tuple[int, str, str]:
    code, out, err = run_captured(args, reraise=(Hang,))
    return code, out, " ".join(err.split())


def classify(case: Case, ctx: Ctx) -> tuple[str, str]:
    watched = (ctx.run, ctx.user)
    action = case.act(ctx)  # the setup happens here; what the command does is measured from now on
    before = snapshot(*watched)
    signal.alarm(LIMIT_S)
    try:
        if isinstance(action, list):
            code, out, err = cli(action)
        else:
            action()
            code, out, err = 0, "", ""
    except Hang:
        return "hang", f"no answer in {LIMIT_S}s"
    except ClearerError as error:
        code, out, err = 2, "", f"error: {error}"
    except Exception:  # noqa: BLE001
        code, out, err = -1, "", traceback.format_exc()
    finally:
        signal.alarm(0)
    if ctx.mark.exists():
        return "code executed", err[-200:]
    if code == -1 or "Traceback" in err:
        return "traceback", err.strip().splitlines()[-1][-200:] if err.strip() else "?"
    after = snapshot(*watched)
    allowed = {str(p) for p in case.replaces(ctx)}
    lost = [k for k, v in before.items() if after.get(k) != v and k not in allowed]
    if lost:
        return "data lost", ", ".join(Path(k).name for k in lost[:3])
    if any(ctx.outside.iterdir()):
        return "silently wrong", f"wrote outside: {[p.name for p in ctx.outside.iterdir()]}"
    if code == 2 and "error:" in err:
        return "clear error", err.replace("error: ", "")[:150]
    if code != 0:
        return "silently wrong", f"exit {code}: {err[-150:]}"
    wrong = case.check(ctx) if case.check else None
    return (
        ("silently wrong", wrong) if wrong else ("correct", out.strip().splitlines()[-1][:150] if out.strip() else "")
    )


# ------------------------------------------------------------------------------------------ the cases


def exists(path_of: Callable[[Ctx], Path]) -> Callable[[Ctx], str | None]:
    return lambda ctx: None if path_of(ctx).is_file() else f"{path_of(ctx)} missing"


def export(ctx: Ctx, out: Any, *more: Any) -> list[Any]:
    return ["export", ctx.run, "--format", "pt2", "--out", out, "--image", ctx.image, *more]


def restore(ctx: Ctx, out: Any, *more: Any, images: tuple[Any, ...] = ()) -> list[Any]:
    return ["restore", *(images or (ctx.image,)), "--run", ctx.run, "--out", out, *more]


def link(path: Path, to: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(to)
    return path


def hard(path: Path, to: Path) -> Path:
    os.link(to, path)
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def comparison(ctx: Ctx, name: str = "cmp.py", base: str = BSD) -> Path:
    return write(ctx.user / name, f"BASE = {base!r}\nVARIANTS = {{'a': {{}}}}\n")


def finished_comparison(ctx: Ctx) -> Path:
    """A comparison whose one job is the copied run (its recipe made the job's)."""
    from clearer.compare import load_comparison

    file = comparison(ctx)
    (job,) = load_comparison(file, "smoke", {}, None, ctx.base / "cmp").jobs
    shutil.copytree(ctx.run, job.out, ignore=shutil.ignore_patterns(".clearer*"))
    (job.out / "recipe.json").write_text(json.dumps(job.recipe.to_dict()))
    return file


def plant_sources(ctx: Ctx, registers: dict[str, list[str]], where: Path | None = None) -> None:
    evil = ctx.evil(where or ctx.run)
    entry = {"path": str(evil), "sha256": hashlib.sha256(evil.read_bytes()).hexdigest(), "registers": registers}
    (ctx.run / "sources.json").write_text(json.dumps([entry]))


def cases() -> list[Case]:
    c: list[Case] = []

    def add(entry: str, name: str, act: Callable[[Ctx], Any], check: Any = None, replaces: Any = None) -> None:
        c.append(Case(entry, name, act, check, replaces or (lambda ctx: [])))

    # --------------------------------------------------------------------------------------- export
    E = "cli export"
    for name in ("arch.json", "metrics.csv", "sources.json", "overrides.json", "state/search.safetensors", "alpha.csv"):
        add(E, f"--out RUN/{name}", lambda ctx, n=name: export(ctx, ctx.run / n))
    add(E, "--out a user file, no --overwrite", lambda ctx: export(ctx, ctx.user / "notes.txt"))
    add(
        E,
        "--out a user file with --overwrite",
        lambda ctx: export(ctx, ctx.user / "notes.txt", "--overwrite"),
        lambda ctx: None if (ctx.user / "notes.txt").stat().st_size > 1000 else "not replaced",
        lambda ctx: [ctx.user / "notes.txt"],
    )
    add(
        E,
        "--out a file with a second hard link, --overwrite",
        lambda ctx: export(ctx, hard(ctx.user / "n2.txt", ctx.user / "notes.txt"), "--overwrite"),
    )
    add(
        E,
        "--out a link into another folder, --overwrite",
        lambda ctx: export(ctx, link(ctx.user / "l.pt2", ctx.outside / "x.pt2"), "--overwrite"),
    )
    add(E, "--out under a file", lambda ctx: export(ctx, ctx.user / "notes.txt" / "m.pt2"))
    add(
        E,
        "--out the image through a symlinked folder",
        lambda ctx: export(ctx, link(ctx.base / "via", ctx.user) / "photo.png", "--overwrite"),
    )
    add(
        E,
        "--out in a symlinked folder (the user's choice)",
        lambda ctx: export(ctx, link(ctx.base / "via2", ctx.user) / "m.pt2"),
        exists(lambda ctx: ctx.user / "m.pt2"),
    )
    add(
        E,
        "default --out twice",
        lambda ctx: (
            cli(["export", ctx.run, "--format", "pt2", "--image", ctx.image]),
            ["export", ctx.run, "--format", "pt2", "--image", ctx.image],
        )[1],
    )
    add(
        E,
        "sources.json naming a built-in part and a .py",
        lambda ctx: (plant_sources(ctx, {"candidates": ["parallel"]}), export(ctx, ctx.user / "m.pt2"))[1],
    )
    add(
        E,
        "sources.json not a list",
        lambda ctx: (write(ctx.run / "sources.json", '{"path": "x.py"}'), export(ctx, ctx.user / "m.pt2"))[1],
    )
    add(
        E,
        "sources.json with an unknown kind",
        lambda ctx: (plant_sources(ctx, {"gadgets": ["g"]}), export(ctx, ctx.user / "m.pt2"))[1],
    )
    add(
        E,
        "--recipe a .pyc-named file",
        lambda ctx: export(ctx, ctx.user / "m.pt2", "--recipe", ctx.evil(ctx.user, "r.pyc")),
    )

    # -------------------------------------------------------------------------------------- restore
    R = "cli restore"
    add(
        R,
        "--out a symlinked folder (the user's choice)",
        lambda ctx: ((ctx.user / "res").mkdir(), restore(ctx, link(ctx.base / "via", ctx.user / "res")))[1],
        exists(lambda ctx: ctx.user / "res" / "photo.png"),
    )
    add(
        R,
        "existing output is a link out, --overwrite",
        lambda ctx: (
            link(ctx.user / "res" / "photo.png", ctx.outside / "p.png"),
            restore(ctx, ctx.user / "res", "--overwrite"),
        )[1],
    )
    add(
        R,
        "existing output is a hard link to a user file, --overwrite",
        lambda ctx: (
            (ctx.user / "res").mkdir(),
            hard(ctx.user / "res" / "photo.png", ctx.user / "notes.txt"),
            restore(ctx, ctx.user / "res", "--overwrite"),
        )[2],
    )
    add(
        R,
        "existing output is a folder, --overwrite",
        lambda ctx: (
            (ctx.user / "res" / "photo.png").mkdir(parents=True),
            restore(ctx, ctx.user / "res", "--overwrite"),
        )[1],
    )
    add(
        R,
        "two inputs with one stem",
        lambda ctx: restore(
            ctx,
            ctx.user / "res",
            images=(ctx.image, shutil.copy(ctx.image, write(ctx.user / "b" / "x", "").parent / "photo.png")),
        ),
        exists(lambda ctx: ctx.user / "res" / "photo-2.png"),
    )
    add(
        R,
        "the same input twice",
        lambda ctx: restore(ctx, ctx.user / "res", images=(ctx.image, ctx.image)),
        exists(lambda ctx: ctx.user / "res" / "photo-2.png"),
    )
    add(R, "--out the run folder", lambda ctx: restore(ctx, ctx.run), exists(lambda ctx: ctx.run / "photo.png"))
    add(R, "--out under a file", lambda ctx: restore(ctx, ctx.user / "notes.txt" / "x"))
    add(
        R,
        "input is a symlink in --out",
        lambda ctx: restore(ctx, ctx.user / "res", images=(link(ctx.user / "res" / "photo.png", ctx.image),)),
        exists(lambda ctx: ctx.user / "res" / "photo-2.png"),
    )
    add(
        R,
        "--out nested, new",
        lambda ctx: restore(ctx, ctx.user / "a" / "b" / "c"),
        exists(lambda ctx: ctx.user / "a" / "b" / "c" / "photo.png"),
    )
    add(R, "--recipe a .txt file", lambda ctx: restore(ctx, ctx.user / "res", "--recipe", ctx.evil(ctx.user, "r.txt")))
    add(
        R,
        "--recipe a .JSON file of Python",
        lambda ctx: restore(ctx, ctx.user / "res", "--recipe", ctx.evil(ctx.user, "r.JSON")),
    )
    add(
        R,
        "sources.json naming a .py in the user's folder",
        lambda ctx: (plant_sources(ctx, {"candidates": ["shared"]}, ctx.user), restore(ctx, ctx.user / "res"))[1],
    )
    add(
        R,
        "output name is an existing user file, no --overwrite",
        lambda ctx: (write(ctx.user / "res" / "photo.png", "mine"), restore(ctx, ctx.user / "res"))[1],
    )

    # ------------------------------------------------------------------------------------- evaluate
    V = "cli evaluate"
    ev = ["--quiet"]
    add(
        V,
        "--out RUN/evaluations (the parent of evaluations)",
        lambda ctx: (cli(["evaluate", ctx.run, *ev]), ["evaluate", ctx.run, "--out", ctx.run / "evaluations", *ev])[1],
    )
    add(V, "--out RUN/samples", lambda ctx: ["evaluate", ctx.run, "--out", ctx.run / "samples", *ev])
    add(V, "--out RUN/state", lambda ctx: ["evaluate", ctx.run, "--out", ctx.run / "state", *ev])
    add(V, "--out a user folder with files", lambda ctx: ["evaluate", ctx.run, "--out", ctx.user, *ev])
    add(
        V,
        "--out another settings' evaluation",
        lambda ctx: (
            cli(["evaluate", ctx.run, "--out", ctx.user / "e", *ev]),
            ["evaluate", ctx.run, "--out", ctx.user / "e", "--set", "data.degradation.sigma=10", *ev],
        )[1],
    )
    add(
        V,
        "the same evaluation twice",
        lambda ctx: (
            cli(["evaluate", ctx.run, "--out", ctx.user / "e", *ev]),
            ["evaluate", ctx.run, "--out", ctx.user / "e", *ev],
        )[1],
        exists(lambda ctx: ctx.user / "e" / "metrics.json"),
        lambda ctx: (
            [ctx.user / "e" / n for n in ("metrics.json", "per_image.csv", "recipe.json", "overrides.json")]
            + list((ctx.user / "e").rglob("*.png"))
        ),
    )
    add(V, "--out a symlink to the run", lambda ctx: ["evaluate", ctx.run, "--out", link(ctx.user / "l", ctx.run), *ev])
    add(
        V,
        "--out a dangling symlink",
        lambda ctx: ["evaluate", ctx.run, "--out", link(ctx.user / "l", ctx.outside / "e"), *ev],
    )
    add(
        "cli run",
        "--resume: RUN/samples is a link to another folder",
        lambda ctx: (
            shutil.rmtree(ctx.run / "samples"),
            link(ctx.run / "samples", ctx.outside),
            ["run", BSD, *SMOKE, "--resume", ctx.run, "--quiet"],
        )[2],
    )
    add(
        V,
        "evaluation's log.txt a link to a user file",
        lambda ctx: (
            cli(["evaluate", ctx.run, "--out", ctx.user / "e", *ev]),
            (ctx.user / "e" / "log.txt").unlink(),
            link(ctx.user / "e" / "log.txt", ctx.user / "notes.txt"),
            ["evaluate", ctx.run, "--out", ctx.user / "e", *ev],
        )[3],
    )

    # ------------------------------------------------------------------------------------------ run
    U = "cli run"
    add(
        U,
        "new run into an evaluation folder",
        lambda ctx: (
            cli(["evaluate", ctx.run, "--out", ctx.user / "e", *ev]),
            ["run", BSD, *SMOKE, *FAST, "--out", ctx.user / "e", "--quiet"],
        )[1],
    )
    add(
        U,
        "new run into a comparison folder",
        lambda ctx: (finished_comparison(ctx), ["run", BSD, *SMOKE, *FAST, "--out", ctx.base / "cmp", "--quiet"])[1],
    )
    add(
        U,
        "--resume a comparison folder",
        lambda ctx: (finished_comparison(ctx), ["run", BSD, *SMOKE, "--resume", ctx.base / "cmp", "--quiet"])[1],
    )
    add(
        U,
        "--resume a run whose .clearer says evaluation",
        lambda ctx: (write(ctx.run / ".clearer", "evaluation\n"), ["run", BSD, *SMOKE, "--resume", ctx.run, "--quiet"])[
            1
        ],
    )
    add(
        U,
        "--resume a run whose .clearer is garbage",
        lambda ctx: (write(ctx.run / ".clearer", "\x00zz"), ["run", BSD, *SMOKE, "--resume", ctx.run, "--quiet"])[1],
    )
    add(
        U,
        "--resume: .clearer-lock is a link to a user file",
        lambda ctx: (
            (ctx.run / ".clearer-lock").unlink(missing_ok=True),
            link(ctx.run / ".clearer-lock", ctx.user / "notes.txt"),
            ["run", BSD, *SMOKE, "--resume", ctx.run, "--quiet"],
        )[2],
    )
    add(
        U,
        "--resume: log.txt is a link to a user file",
        lambda ctx: (
            (ctx.run / "log.txt").unlink(),
            link(ctx.run / "log.txt", ctx.user / "notes.txt"),
            ["run", BSD, *SMOKE, "--resume", ctx.run, "--quiet"],
        )[2],
    )
    add(
        U,
        "--resume: metrics.json hard-linked to a user file",
        lambda ctx: (
            (ctx.run / "metrics.json").unlink(),
            hard(ctx.run / "metrics.json", ctx.user / "notes.txt"),
            ["run", BSD, *SMOKE, "--resume", ctx.run, "--quiet"],
        )[2],
    )
    add(
        U,
        "--resume: .clearer a dangling link",
        lambda ctx: (
            (ctx.run / ".clearer").unlink(missing_ok=True),
            link(ctx.run / ".clearer", ctx.outside / "k"),
            ["run", BSD, *SMOKE, "--resume", ctx.run, "--quiet"],
        )[2],
    )
    for value in ("..", "a/b", "''", "'.'", "'x\\\\y'"):
        add(U, f"--set name={value}", lambda ctx, v=value: ["run", BSD, *SMOKE, *FAST, "--set", f"name={v}", "--quiet"])
    add(
        U,
        "--out a dangling symlink",
        lambda ctx: ["run", BSD, *SMOKE, *FAST, "--out", link(ctx.user / "l", ctx.outside / "r"), "--quiet"],
    )
    add(
        U,
        "--resume with --out the same folder",
        lambda ctx: ["run", BSD, *SMOKE, "--resume", ctx.run, "--out", ctx.run, "--quiet"],
    )

    # -------------------------------------------------------------------------------------- compare
    C = "cli compare"
    add(
        C, "--report --out a run folder", lambda ctx: ["compare", comparison(ctx), *SMOKE, "--report", "--out", ctx.run]
    )
    add(
        C,
        "--report: comparison.csv a link to a user file",
        lambda ctx: (
            f := finished_comparison(ctx),
            link(ctx.base / "cmp" / "comparison.csv", ctx.user / "notes.txt"),
            ["compare", f, *SMOKE, "--report", "--out", ctx.base / "cmp"],
        )[2],
    )
    add(
        C,
        "--report: comparison.md hard-linked to a user file",
        lambda ctx: (
            f := finished_comparison(ctx),
            hard(ctx.base / "cmp" / "comparison.md", ctx.user / "notes.txt"),
            ["compare", f, *SMOKE, "--report", "--out", ctx.base / "cmp"],
        )[2],
    )
    add(
        C,
        "--report --out a file",
        lambda ctx: ["compare", comparison(ctx), *SMOKE, "--report", "--out", ctx.user / "notes.txt"],
    )
    add(
        C,
        "--report twice",
        lambda ctx: (
            f := finished_comparison(ctx),
            cli(["compare", f, *SMOKE, "--report", "--out", ctx.base / "cmp"]),
            ["compare", f, *SMOKE, "--report", "--out", ctx.base / "cmp"],
        )[2],
        exists(lambda ctx: ctx.base / "cmp" / "comparison.md"),
    )
    add(
        C,
        "--status with a ledger naming a pickle",
        lambda ctx: (
            f := finished_comparison(ctx),
            pickle_ledger(ctx),
            ["compare", f, *SMOKE, "--status", "--out", ctx.base / "cmp"],
        )[2],
        lambda ctx: None,
    )
    add(C, "comparison file named .txt", lambda ctx: ["compare", ctx.evil(ctx.user, "cmp.txt"), *SMOKE, "--report"])
    add(
        C,
        "BASE naming a .txt recipe",
        lambda ctx: [
            "compare",
            comparison(ctx, base=str(ctx.evil(ctx.user, "base.txt"))),
            *SMOKE,
            "--report",
            "--out",
            ctx.base / "c2",
        ],
    )

    # ------------------------------------------------------------------------------------ show-arch
    S = "cli show-arch"
    add(S, "--out .jpg", lambda ctx: ["show-arch", ctx.run, "--out", ctx.user / "a.jpg"])
    add(S, "--out without a suffix", lambda ctx: ["show-arch", ctx.run, "--out", ctx.user / "arch"])
    add(S, "--out RUN/arch.json", lambda ctx: ["show-arch", ctx.run, "--out", ctx.run / "arch.json"])
    add(
        S,
        "--out .pdf",
        lambda ctx: ["show-arch", ctx.run, "--out", ctx.user / "a.pdf"],
        lambda ctx: None if (ctx.user / "a.pdf").read_bytes()[:4] == b"%PDF" else "not a PDF",
    )
    add(S, "--out a user file, no --overwrite", lambda ctx: ["show-arch", ctx.run, "--out", ctx.image])
    add(
        S,
        "--out a symlink",
        lambda ctx: ["show-arch", ctx.run, "--out", link(ctx.user / "a.png", ctx.outside / "a.png")],
    )
    add(S, "default twice", lambda ctx: (cli(["show-arch", ctx.run]), ["show-arch", ctx.run])[1])

    # ---------------------------------------------------------------------------------- show / list
    L = "cli show/list"
    add(L, "show a .pyc", lambda ctx: ["show", ctx.evil(ctx.user, "r.pyc")])
    add(L, "show a .yaml", lambda ctx: ["show", ctx.evil(ctx.user, "r.yaml")])
    add(L, "list --recipe a .json of Python", lambda ctx: ["list", "--recipe", ctx.evil(ctx.user, "r.json")])

    # ---------------------------------------------------------------------------------- Python API
    P = "python api"
    add(
        P,
        "export(model, out=RUN/model.safetensors)",
        lambda ctx: lambda: clearer.export(clearer.load(ctx.run), "pt2", ctx.run / "model.safetensors", ctx.image),
    )
    add(
        P,
        "export(run, out=existing, overwrite=True)",
        lambda ctx: lambda: clearer.export(ctx.run, "pt2", ctx.user / "notes.txt", ctx.image, overwrite=True),
        exists(lambda ctx: ctx.user / "notes.txt"),
        lambda ctx: [ctx.user / "notes.txt"],
    )
    add(P, "export(run, out=a folder)", lambda ctx: lambda: clearer.export(ctx.run, "onnx", ctx.user, ctx.image))
    add(P, "evaluate(run, out=a file)", lambda ctx: lambda: clearer.evaluate(ctx.run, out=ctx.image, verbose=False))
    add(P, "evaluate(run, out=the run)", lambda ctx: lambda: clearer.evaluate(ctx.run, out=ctx.run, verbose=False))
    add(
        P,
        "evaluate(run, out=a dangling link)",
        lambda ctx: (
            d := link(ctx.user / "d", ctx.outside / "e"),
            lambda: clearer.evaluate(ctx.run, out=d, verbose=False),
        )[1],
    )
    add(
        P,
        "load(run) with planted sources.json",
        lambda ctx: (plant_sources(ctx, {"candidates": ["p2"]}), lambda: clearer.load(ctx.run))[1],
    )
    add(
        P,
        "load(run, recipe=a .txt)",
        lambda ctx: (r := ctx.evil(ctx.user, "r.txt"), lambda: clearer.load(ctx.run, recipe=r))[1],
    )
    add(
        P,
        "load(run, recipe=a .JSON)",
        lambda ctx: (r := ctx.evil(ctx.user, "r.JSON"), lambda: clearer.load(ctx.run, recipe=r))[1],
    )
    add(
        P,
        "export(run, out=the image)",
        lambda ctx: lambda: clearer.export(ctx.run, "pt2", ctx.image, ctx.image, overwrite=True),
    )
    return c


def pickle_ledger(ctx: Ctx) -> None:
    """A launcher ledger whose job names a pickle that would run code when unpickled."""
    import pickle

    class Boom:
        def __reduce__(self) -> tuple[Any, ...]:
            return (exec, (f"open({str(ctx.mark)!r}, 'w').write('ran')",))

    (ctx.base / "cmp" / "a" / "seed0" / "metrics.json").unlink()  # not finished: --status asks the ledger
    (ctx.base / "cmp" / "launcher").mkdir(parents=True, exist_ok=True)
    (ctx.base / "cmp" / "launcher" / "r.pkl").write_bytes(pickle.dumps(Boom()))
    entry = {"launcher": "local", "job_id": "1", "host": "nowhere", "stdout": "x", "stderr": "y"}
    entry["result"] = str(ctx.base / "cmp" / "launcher" / "r.pkl")
    (ctx.base / "cmp" / "launcher" / "ledger.json").write_text(json.dumps({"jobs": {"a seed 0": entry}}))


def main_() -> None:
    if not os.environ.get("CLEARER_DATA"):
        raise SystemExit("set CLEARER_DATA to the benchmark data folder")
    torch.set_num_threads(1)

    def alarm(*_: Any) -> None:
        raise Hang()

    signal.signal(signal.SIGALRM, alarm)
    work = Path(tempfile.mkdtemp(prefix="clearer-probe-"))
    shared = work / "shared"
    code, _, err = cli(["run", BSD, *SMOKE, *FAST, "--out", shared, "--quiet"])
    assert code == 0, err
    counts: Counter[tuple[str, str]] = Counter()
    here = os.getcwd()
    only = sys.argv[1] if len(sys.argv) > 1 else ""  # a part of the entry point or case name, to retry a few
    for n, case in enumerate(c for c in cases() if only in f"{c.entry} {c.name}"):
        ctx = Ctx(work / f"case{n}")
        shutil.copytree(shared, ctx.run, ignore=shutil.ignore_patterns(".clearer-lock"))
        os.chdir(ctx.base)  # a default runs/ lands in the case's folder
        try:
            kind, detail = classify(case, ctx)
        finally:
            os.chdir(here)
        counts[(case.entry, kind)] += 1
        print(f"{kind:14s} | {case.entry:13s} | {case.name} | {detail}", flush=True)
    entries = sorted({e for e, _ in counts})
    print(f"\n{sum(counts.values())} cases")
    print(f"{'entry point':14s} " + " ".join(f"{k:>14s}" for k in CLASSES))
    for e in entries:
        print(f"{e:14s} " + " ".join(f"{counts[(e, k)]:>14d}" for k in CLASSES))
    print(f"{'all':14s} " + " ".join(f"{sum(v for (_, k2), v in counts.items() if k2 == k):>14d}" for k in CLASSES))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main_()
