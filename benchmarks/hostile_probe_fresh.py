"""A third hostile probe, written after the two halves of issue 22 had landed and by someone who had not
written their fixes: new cases at every entry point, each judged by what a user would expect. Prints
each case's outcome and the counts per class and entry point.

    CLEARER_DATA=/path/to/data OMP_NUM_THREADS=1 python benchmarks/hostile_probe_fresh.py [WORK_DIR]

Classes: clear error (exit 2 or a ClearerError, one paragraph, no traceback), correct (the expected
result, checked), silently wrong, traceback, data lost (a file that existed before changed, or a file
written outside the command's output), code executed (a marker file a case plants appears).
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from probe_cli import snapshot

import clearer
from clearer.cli import run_captured
from clearer.errors import ClearerError

BSD = str(Path(__file__).resolve().parents[1] / "recipes" / "bsd.py")
SMOKE = ["--profile", "smoke", "--set", "search.epochs=1", "--set", "retrain.epochs=1", "--quiet"]
SMOKE += ["--set", "evaluate.sets=[dict(name='set12', limit=1)]"]


def cli(*args: object) -> tuple[int, str, str]:
    return run_captured(list(args))


class Probe:
    def __init__(self, work: Path, run: Path) -> None:
        self.work, self.run, self.rows = work, run, []

    def case(self, entry: str, name: str, action: Callable[[], object], expect: str, check=None) -> None:
        """`expect` is "error" (a clear error is right) or "correct" (`check(result)` must hold)."""
        before = snapshot(self.work)
        marker = self.work / "PWNED"
        try:
            result = action()
            outcome = ("cli", *result) if isinstance(result, tuple) and len(result) == 3 else ("api", 0, result, "")
        except ClearerError as err:
            outcome = ("api", 2, None, str(err))
        except Exception:  # noqa: BLE001
            outcome = ("api", -1, None, traceback.format_exc())
        _, code, value, err = outcome
        after = snapshot(self.work)
        changed = [p for p, h in before.items() if after.get(p, h) != h or p not in after]
        changed = [p for p in changed if not p.startswith(str(self.work / "out"))]
        if marker.exists():
            verdict = "code executed"
        elif changed:
            verdict = f"data lost ({changed[0]})"
        elif code == -1 or "Traceback" in err:
            verdict = "traceback"
        elif code != 0:
            verdict = "clear error" if err.strip() else "silently wrong (no message)"
        elif expect == "error":
            verdict = "silently wrong (accepted)"
        else:
            try:
                ok = check is None or check(value)
            except Exception:  # noqa: BLE001
                ok = False
            verdict = "correct" if ok else "silently wrong"
        self.rows.append((entry, name, verdict.split(" (")[0], verdict, " ".join(err.split())[:150]))


def main_probe(work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    run = work / "run"
    if not run.exists():
        code, _, err = cli("run", BSD, *SMOKE, "--out", run)
        assert code == 0, err
    model = clearer.load(run)
    p = Probe(work, run)
    out = work / "out"
    out.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)

    def png(name: str, array: np.ndarray, mode: str | None = None, **save) -> Path:
        path = work / "in" / name
        path.parent.mkdir(exist_ok=True)
        (Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)).save(path, **save)
        return path

    grey = (rng.random((37, 53)) * 255).astype(np.uint8)
    odd = png("odd size.png", grey)
    upper = png("UPPER.PNG", grey)
    tiny = png("tiny.png", grey[:1, :1])
    pal = png("palette.png", np.stack([grey] * 3, -1), "P")
    cmyk = png("cmyk.jpg", np.stack([grey] * 3, -1), "CMYK")
    uni = png("ünï cødé.png", grey)

    def restored_like(src: Path, folder: Path) -> Callable[[object], bool]:
        def check(_: object) -> bool:
            outs = list(folder.glob(f"{src.stem}*.png"))
            return len(outs) == 1 and Image.open(outs[0]).size == Image.open(src).size

        return check

    # CLI restore
    for src in (odd, upper, tiny, pal, cmyk, uni):
        folder = out / f"r-{src.stem}"
        p.case(
            "CLI restore",
            src.name,
            lambda s=src, f=folder: cli("restore", "--run", run, "--out", f, s),
            "correct",
            restored_like(src, folder),
        )
    p.case(
        "CLI restore",
        "--tile 0",
        lambda: cli("restore", "--run", run, "--out", out / "t0", odd, "--tile", "0"),
        "error",
    )
    p.case(
        "CLI restore",
        "--tile -8",
        lambda: cli("restore", "--run", run, "--out", out / "t1", odd, "--tile", "-8"),
        "error",
    )
    p.case(
        "CLI restore",
        "--tile 3 (below the multiple)",
        lambda: cli("restore", "--run", run, "--out", out / "t2", odd, "--tile", "3"),
        "error",
    )
    p.case("CLI restore", "--out is a file", lambda: cli("restore", "--run", run, "--out", odd, upper), "error")
    p.case(
        "CLI restore",
        "the same input twice",
        lambda: cli("restore", "--run", run, "--out", out / "twice", odd, odd),
        "correct",
        lambda _: len(list((out / "twice").glob("*.png"))) >= 1,
    )
    p.case("CLI restore", "no inputs", lambda: cli("restore", "--run", run, "--out", out / "none"), "error")
    p.case(
        "CLI restore",
        "an input folder",
        lambda: cli("restore", "--run", run, "--out", out / "dir", work / "in"),
        "error",
    )
    p.case("CLI restore", "--run is an image", lambda: cli("restore", "--run", odd, "--out", out / "x", upper), "error")
    # CLI run / show
    for setting in (
        "name=''",
        "name='..'",
        "name='a/../b'",
        "seed=-1",
        "space.width=0",
        "space.width=-2.5",
        "data.batch=0",
        "evaluate.tile=1",
        "retrain.match_cost=dict(flops=-5)",
        "retrain.match_cost=dict(furlongs=3)",
    ):
        p.case("CLI show", setting, lambda s=setting: cli("show", BSD, "--profile", "smoke", "--set", s), "error")
    p.case("CLI run", "--resume a folder that is not a run", lambda: cli("run", BSD, "--resume", work / "in"), "error")
    p.case("CLI run", "--profile ''", lambda: cli("run", BSD, "--profile", "", "--out", out / "np"), "error")
    # CLI evaluate / export
    p.case(
        "CLI evaluate",
        "sets=[]",
        lambda: cli("evaluate", run, "--set", "evaluate.sets=[]", "--out", out / "e0"),
        "error",
    )
    p.case(
        "CLI evaluate",
        "sigma=0 (clean input)",
        lambda: cli(
            "evaluate",
            run,
            "--set",
            "data.degradation.sigma=0",
            "--set",
            "evaluate.sets=[dict(name='set12', limit=1)]",
            "--out",
            out / "e1",
        ),
        "correct",
        lambda _: (
            (out / "e1" / "metrics.json").is_file() and "nan" not in (out / "e1" / "metrics.json").read_text().lower()
        ),
    )
    p.case(
        "CLI evaluate",
        "--set on a search key",
        lambda: cli("evaluate", run, "--set", "search.epochs=3", "--out", out / "e2"),
        "error",
    )
    p.case(
        "CLI export",
        "--out in a missing folder",
        lambda: cli("export", run, "--format", "onnx", "--out", out / "deep" / "er" / "m.onnx"),
        "correct",
        lambda _: (out / "deep" / "er" / "m.onnx").is_file(),
    )
    p.case("CLI export", "--format ''", lambda: cli("export", run, "--format", "", "--out", out / "m2.onnx"), "error")
    # CLI compare / data
    p.case(
        "CLI compare",
        "--seeds 0",
        lambda: cli(
            "compare",
            Path(BSD).with_name("ablations.py"),
            "--profile",
            "smoke",
            "--seeds",
            "0",
            "--status",
            "--out",
            out / "c0",
        ),
        "error",
    )
    p.case(
        "CLI compare",
        "--shard 3/2",
        lambda: cli(
            "compare", Path(BSD).with_name("ablations.py"), "--profile", "smoke", "--shard", "3/2", "--out", out / "c1"
        ),
        "error",
    )
    p.case(
        "CLI compare",
        "--shard 0/0",
        lambda: cli(
            "compare", Path(BSD).with_name("ablations.py"), "--profile", "smoke", "--shard", "0/0", "--out", out / "c2"
        ),
        "error",
    )
    p.case(
        "CLI compare",
        "--variants nope",
        lambda: cli(
            "compare",
            Path(BSD).with_name("ablations.py"),
            "--profile",
            "smoke",
            "--variants",
            "nope",
            "--status",
            "--out",
            out / "c3",
        ),
        "error",
    )
    p.case("CLI data", "fetch an unknown set", lambda: cli("data", "fetch", "nonesuch"), "error")
    # API
    p.case(
        "API restore",
        "[H,W,1] uint8",
        lambda: model.restore(grey[..., None]),
        "correct",
        lambda r: r.shape == (37, 53, 1) and r.dtype == np.uint8,
    )
    p.case(
        "API restore",
        "[1,1,H,W] float tensor",
        lambda: model.restore(torch.rand(1, 1, 37, 53)),
        "correct",
        lambda r: tuple(r.shape) == (1, 1, 37, 53) and float(r.min()) >= 0 and float(r.max()) <= 1,
    )
    p.case("API restore", "a list of rows", lambda: model.restore(grey.tolist()), "error")
    p.case("API restore", "an RGB array for a grey model", lambda: model.restore(np.stack([grey] * 3, -1)), "error")
    p.case("API restore", "a Path to a missing file", lambda: model.restore(work / "missing.png"), "error")
    p.case("API restore", "tile='whole'", lambda: model.restore(grey, tile="whole"), "error")
    p.case(
        "API restore", "a 2-pixel image", lambda: model.restore(grey[:2, :2]), "correct", lambda r: r.shape == (2, 2)
    )
    p.case(
        "API restore",
        "float64 in [0, 1]",
        lambda: model.restore(grey / 255.0),
        "correct",
        lambda r: r.dtype == np.float64 and r.shape == grey.shape,
    )
    p.case(
        "API load",
        "device='cuda' without CUDA",
        lambda: (
            clearer.load(run, device="cuda")
            if not torch.cuda.is_available()
            else (_ for _ in ()).throw(ClearerError("cuda present"))
        ),
        "error",
    )
    p.case(
        "API load",
        "best=True with no best weights",
        lambda: clearer.load(run, best=True),
        "error" if not (run / "model_best.safetensors").exists() else "correct",
        lambda m: m is not None,
    )
    p.case(
        "API evaluate", "overrides with a non-str key", lambda: clearer.evaluate(run, {1: 2}, out=out / "ae"), "error"
    )
    p.case("API evaluate", "out is an existing image", lambda: clearer.evaluate(run, {}, out=odd), "error")
    p.case("API export", "format=None", lambda: clearer.export(run, format=None, out=out / "n.onnx"), "error")
    p.case("API export", "out=the run folder", lambda: clearer.export(run, format="onnx", out=run), "error")

    width = max(len(r[1]) for r in p.rows)
    for entry, name, _, verdict, err in p.rows:
        print(f"{verdict:<28} {entry:<13} {name:<{width}}  {err}")
    classes = ["clear error", "correct", "silently wrong", "traceback", "data lost", "code executed"]
    counts = Counter((r[0], r[2]) for r in p.rows)
    entries = list(dict.fromkeys(r[0] for r in p.rows))
    print(f"\n{'entry point':<14}" + "".join(f"{c:>16}" for c in classes) + f"{'total':>8}")
    for e in [*entries, "all"]:
        row = [sum(v for (en, c), v in counts.items() if c == cls and (e == "all" or en == e)) for cls in classes]
        print(f"{e:<14}" + "".join(f"{v:>16}" for v in row) + f"{sum(row):>8}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main_probe(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="probe-")))
    os._exit(0)
