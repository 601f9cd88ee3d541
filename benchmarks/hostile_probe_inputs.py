"""A hostile probe of clearer's inputs (images, arrays, --set values, API arguments): tries cases that
the test suite does not list, classifies each outcome and prints the counts per class and entry point.

    CLEARER_DATA=/path/to/data python benchmarks/hostile_probe_inputs.py [WORK_DIR]

Classes: clear error (a ClearerError, or exit 2 with one `error:` paragraph), correct (the result checked
against what the input means), silently wrong (a result, but not the right one, or a result where only
an error is right), traceback (any other exception, or another exit code), hang (over 120 s), data lost
(a watched file changed) and code executed (a planted payload ran). Every case runs in this process on
one smoke run of recipes/bsd.py, made first.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, PngImagePlugin

import clearer
from clearer.cli import run_captured
from clearer.errors import ClearerError

ROOT = Path(__file__).resolve().parents[1]
BSD = str(ROOT / "recipes" / "bsd.py")
SMOKE = ["--profile", "smoke"]
HANG_S = 120


@dataclass
class Cli:
    code: int
    out: str
    err: str


class Hang(Exception):
    pass


def cli(*args: object) -> Cli:
    """`clearer ARGS` in this process; an exception escaping main() is a traceback (code -1)."""
    code, out, err = run_captured(list(args), reraise=(Hang,))
    return Cli(code, out, " ".join(err.split()))


@dataclass
class Case:
    entry: str  # e.g. "API restore", "CLI show"
    name: str
    run: Callable[[], Any]  # returns a result (or a Cli for command-line cases)
    check: Callable[[Any], bool] = lambda result: False  # True when a result is right (default: only an error is)
    watch: tuple[Path, ...] = ()


def digest(paths: tuple[Path, ...]) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


def classify(case: Case, canary: Path) -> tuple[str, str]:
    before = digest(case.watch)

    def alarm(*_: Any) -> None:
        raise Hang

    signal.signal(signal.SIGALRM, alarm)
    signal.alarm(HANG_S)
    try:
        result = case.run()
        detail = ""
        if isinstance(result, Cli):
            if result.code == 2 and "error:" in result.err and "Traceback" not in result.err:
                outcome, detail = "clear error", result.err[:160]
            elif result.code == 0:
                outcome = "correct" if case.check(result) else "silently wrong"
            else:
                outcome, detail = "traceback", result.err[-300:]
        else:
            outcome = "correct" if case.check(result) else "silently wrong"
    except Hang:
        outcome, detail = "hang", f"over {HANG_S} s"
    except ClearerError as error:
        outcome, detail = "clear error", str(error)[:160]
    except Exception as error:  # noqa: BLE001
        outcome, detail = "traceback", f"{type(error).__name__}: {error}"[:300]
    finally:
        signal.alarm(0)
    if canary.exists():
        canary.unlink()
        outcome = "code executed"
    if digest(case.watch) != before:
        outcome = "data lost"
    return outcome, detail


# ------------------------------------------------------------------------------------------- helpers


def png(path: Path, array: np.ndarray, **save: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **save)
    return path


def same(a: Any, b: Any) -> bool:
    if isinstance(a, Image.Image):
        return isinstance(b, Image.Image) and a.mode == b.mode and np.array_equal(np.asarray(a), np.asarray(b))
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


def cases(run: Path, work: Path, canary: Path) -> list[Case]:
    model = clearer.load(run)
    rng = np.random.default_rng(1)
    u8 = rng.integers(0, 256, (20, 24), dtype=np.uint8)
    u16 = rng.integers(0, 65536, (20, 24), dtype=np.uint16)
    f32 = (u8 / 255).astype(np.float32)

    def ref(array: np.ndarray) -> np.ndarray:
        """The restoration of a float32 [H,W] image in [0,1], clipped: what every kind must mean."""
        x = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))[None, None]
        from clearer.train.inference import TILE_OVERLAP, restore_image

        return restore_image(model, x, model.multiple, "auto", TILE_OVERLAP)[0, 0].clamp(0, 1).numpy()

    def as_int(y: np.ndarray, white: int, dtype: Any) -> np.ndarray:
        return np.round(y * white).astype(dtype)

    r = model.restore
    out: list[Case] = []
    add = out.append

    # ---- Python API: restore, over kinds, dtypes, layouts and odd values
    def api(name: str, fn: Callable[[], Any], check: Callable[[Any], bool] = lambda x: False) -> None:
        add(Case("API restore", name, fn, check))

    api(
        "uint16 HxWx1",
        lambda: r(u16[:, :, None]),
        lambda y: same(y, as_int(ref(u16 / 65535), 65535, np.uint16)[:, :, None]),
    )
    api(
        "big-endian uint16",
        lambda: r(u16.astype(">u2")),
        lambda y: y.dtype == np.dtype(">u2") and np.array_equal(y, as_int(ref(u16 / 65535), 65535, np.uint16)),
    )
    api("float32 with -0.0", lambda: r(np.where(f32 == 0, np.float32(-0.0), f32)), lambda y: same(y, ref(f32)))
    api(
        "float64 at 1+1e-12",
        lambda: r(np.full((8, 8), 1 + 1e-12)),
        lambda y: y.dtype == np.float64 and y.shape == (8, 8),
    )
    api("float16", lambda: r(f32.astype(np.float16)), lambda y: same(y, ref(f32.astype(np.float16)).astype(np.float16)))
    api("strided view", lambda: r(u8[::2, ::3]), lambda y: same(y, as_int(ref(u8[::2, ::3] / 255), 255, np.uint8)))
    api(
        "flipped (negative stride)",
        lambda: r(np.flipud(u8)),
        lambda y: same(y, as_int(ref(np.flipud(u8) / 255), 255, np.uint8)),
    )
    ro = u8.copy()
    ro.flags.writeable = False
    api("read-only array", lambda: r(ro), lambda y: same(y, as_int(ref(u8 / 255), 255, np.uint8)))
    alpha = np.dstack([u8, rng.integers(0, 256, u8.shape, dtype=np.uint8)])
    api(
        "gray + alpha array",
        lambda: r(alpha),
        lambda y: (
            y.shape == alpha.shape
            and np.array_equal(y[:, :, 1], alpha[:, :, 1])
            and np.array_equal(y[:, :, 0], as_int(ref(u8 / 255), 255, np.uint8))
        ),
    )
    api("uint32 array", lambda: r(u8.astype(np.uint32)))
    api("-inf pixel", lambda: r(np.where(np.arange(u8.size).reshape(u8.shape) == 7, -np.inf, f32)))
    api("1x1 array", lambda: r(np.full((1, 1), 0.5, np.float32)), lambda y: y.shape == (1, 1) and 0 <= y[0, 0] <= 1)
    api("1x50 strip", lambda: r(np.full((1, 50), 128, np.uint8)), lambda y: y.shape == (1, 50) and y.dtype == np.uint8)
    t = torch.from_numpy(f32)[None]
    api(
        "tensor requiring grad",
        lambda: r(t.clone().requires_grad_()),
        lambda y: not y.requires_grad and torch.equal(y, torch.from_numpy(ref(f32))[None]),
    )
    api(
        "float64 tensor",
        lambda: r(t.double()),
        lambda y: y.dtype == torch.float64 and torch.allclose(y, torch.from_numpy(ref(f32))[None].double()),
    )
    api(
        "uint8 batch tensor",
        lambda: r(torch.from_numpy(u8)[None, None].repeat(2, 1, 1, 1)),
        lambda y: (
            y.dtype == torch.uint8
            and y.shape == (2, 1, 20, 24)
            and torch.equal(y[1, 0], torch.from_numpy(as_int(ref(u8 / 255), 255, np.uint8)))
        ),
    )
    api(
        "channels_last tensor",
        lambda: r(t[None].contiguous(memory_format=torch.channels_last)),
        lambda y: torch.equal(y[0, 0], torch.from_numpy(ref(f32))),
    )
    api(
        "transposed tensor",
        lambda: r(t.transpose(1, 2)),
        lambda y: y.shape == (1, 24, 20) and torch.equal(y[0], torch.from_numpy(ref(f32.T.copy()))),
    )
    api("complex tensor", lambda: r(t.to(torch.complex64)))
    api("bool tensor", lambda: r(t > 0.5))
    api("RGB tensor for a gray model", lambda: r(t.repeat(3, 1, 1)))
    api(
        "PIL I;16B",
        lambda: r(Image.fromarray(u16.astype(">u2"))),
        lambda y: np.array_equal(np.asarray(y), as_int(ref(u16 / 65535), 255, np.uint8)),
    )
    pal = Image.fromarray(u8).convert("P")
    pal.info["transparency"] = int(np.asarray(pal)[0, 0])
    api("PIL P with a transparent index", lambda: r(pal), lambda y: y.mode == "LA" and np.asarray(y)[0, 0, 1] == 0)
    api(
        "PIL mode 1",
        lambda: r(Image.fromarray(u8 > 128)),
        lambda y: np.array_equal(np.asarray(y), as_int(ref((u8 > 128).astype(np.float32)), 255, np.uint8)),
    )
    api("PIL 0x0", lambda: r(Image.new("L", (0, 0))))
    api(
        "PIL RGBA opaque",
        lambda: r(Image.fromarray(np.dstack([u8] * 3 + [np.full_like(u8, 255)]))),
        lambda y: y.mode == "L" and np.array_equal(np.asarray(y), as_int(ref(u8 / 255), 255, np.uint8)),
    )
    api("missing path", lambda: r(str(work / "nope.png")))
    api("a folder as path", lambda: r(work))
    text = work / "notes.txt"
    text.write_text("hello")
    api("a text file", lambda: r(text))
    api("bytes path", lambda: r(b"x.png"))
    api("tile=0", lambda: r(u8, tile=0))
    api("tile=-5", lambda: r(u8, tile=-5))
    api("tile=10**9", lambda: r(u8, tile=10**9), lambda y: same(y, as_int(ref(u8 / 255), 255, np.uint8)))
    api("self_ensemble=1", lambda: r(u8, self_ensemble=1))
    api("a nested list", lambda: r([[0.1, 0.2]]))

    # second round (written after the first round's fixes)
    api("model=Identity", lambda: clearer.restore(torch.nn.Identity(), u8))
    api("np.matrix", lambda: r(np.asmatrix(f32)), lambda y: np.array_equal(np.asarray(y), ref(f32)))
    mm = np.lib.format.open_memmap(work / "mm.npy", mode="w+", dtype=np.uint8, shape=u8.shape)
    mm[:] = u8
    api("memmap", lambda: r(mm), lambda y: np.array_equal(np.asarray(y), as_int(ref(u8 / 255), 255, np.uint8)))
    api("0-d array", lambda: r(np.array(0.5)))
    api("5-d tensor", lambda: r(t[None, None]))
    api("meta tensor", lambda: r(torch.empty(1, 8, 8, device="meta")))
    api("sparse tensor", lambda: r(t.to_sparse()))
    api("subnormal float64", lambda: r(np.full((6, 6), 1e-320)), lambda y: y.dtype == np.float64 and y.shape == (6, 6))
    flipped = Image.fromarray(u8)
    exif5 = flipped.getexif()
    exif5[0x0112] = 5  # transpose
    flipped.info["exif"] = exif5.tobytes()
    api("in-memory EXIF transpose", lambda: r(flipped), lambda y: y.size == (20, 24))
    pgm = work / "in" / "deep.pgm"
    pgm.parent.mkdir(parents=True, exist_ok=True)
    pgm.write_bytes(b"P5\n24 20\n1000\n" + (u16 % 1001).astype(">u2").tobytes())

    def pgm_check(y: Image.Image) -> bool:
        decoded = np.asarray(Image.open(pgm)) / 65535  # PIL scales 0..maxval to 0..65535
        means = np.allclose(decoded, (u16 % 1001) / 1000, atol=1e-4)
        return means and np.array_equal(np.asarray(y), as_int(ref(decoded), 255, np.uint8))

    api("PGM with maxval 1000", lambda: r(pgm), pgm_check)
    ico = work / "in" / "icon.ico"
    Image.fromarray(np.dstack([u8] * 3)).resize((32, 32)).save(ico, sizes=[(16, 16), (32, 32)])
    api("ICO with two sizes", lambda: r(ico), lambda y: y.size == (32, 32))
    few = Image.fromarray(u8).quantize(16)
    api(
        "16-colour palette",
        lambda: r(few),
        lambda y: np.array_equal(np.asarray(y), as_int(ref(np.asarray(few.convert("L")) / 255), 255, np.uint8)),
    )
    call_now = [
        ("API load", "device='cuda' without CUDA", lambda: clearer.load(run, device="cuda")),
        ("API load", "the weights file as run", lambda: clearer.load(run / "model.safetensors")),
        (
            "API evaluate",
            "evaluate.tile=0",
            lambda: clearer.evaluate(run, {"evaluate.tile": 0}, work / "e6", verbose=False),
        ),
    ]
    for entry, name, fn in call_now:
        add(Case(entry, name, fn))
    npint = work / "npint.py"
    npint.write_text("import numpy as np\nfrom bsd import RECIPE, PROFILES\nRECIPE = dict(RECIPE, seed=np.int64(3))\n")
    add(Case("CLI show", "RECIPE with a numpy int", lambda: cli("show", npint, *SMOKE)))
    many = work / "many.py"
    many.write_text(f"BASE = {BSD!r}\nVARIANTS = {{'a': {{}}}}\nSEEDS = 10**9\n")
    add(Case("CLI compare", "SEEDS = 10**9", lambda: cli("compare", many, *SMOKE, "--status")))

    # ---- Python API: load / export / evaluate arguments
    def call(entry: str, name: str, fn: Callable[[], Any], check: Callable[[Any], bool] = lambda x: False) -> None:
        add(Case(entry, name, fn, check))

    call("API load", "empty path", lambda: clearer.load(""))
    call("API load", "a file as run", lambda: clearer.load(text))
    call("API load", "device='tpu'", lambda: clearer.load(run, device="tpu"))
    call("API load", "device=5", lambda: clearer.load(run, device=5))
    call("API load", "best='yes'", lambda: clearer.load(run, best="yes"))
    call("API load", "recipe=123", lambda: clearer.load(run, recipe=123))

    def poisoned(value: float, buffer: bool) -> Path:
        import shutil

        from safetensors.torch import load_file, save_file

        copy = work / f"poisoned-{value}-{buffer}"
        shutil.copytree(run, copy)
        tensors = load_file(copy / "model.safetensors")
        name = next(k for k in tensors if k.endswith("running_var" if buffer else "weight"))
        tensors[name].view(-1)[0] = value
        save_file(tensors, copy / "model.safetensors")
        return copy

    call("API load", "inf in a weight", lambda: clearer.load(poisoned(float("inf"), False)))
    call("API load", "NaN in a BatchNorm running_var", lambda: clearer.load(poisoned(float("nan"), True)))
    call("API export", "format 'PT2'", lambda: clearer.export(run, "PT2", work / "x.pt2"))
    call("API export", "out=None", lambda: clearer.export(run, "pt2", None))
    call("API export", "image as an array", lambda: clearer.export(run, "pt2", work / "y.pt2", image=u8))
    rgba = png(work / "glass.png", np.dstack([u8, u8, u8, rng.integers(0, 255, u8.shape, dtype=np.uint8)]))
    call("API export", "translucent check image", lambda: clearer.export(run, "pt2", work / "z.pt2", image=rgba))
    tiny = png(work / "tiny.png", np.full((1, 1), 77, np.uint8))
    call(
        "API export",
        "1x1 check image",
        lambda: clearer.export(run, "pt2", work / "tiny.pt2", image=tiny),
        lambda e: e.path.is_file() and e.max_abs_diff < 1e-4,
    )
    call(
        "API export",
        "a loaded model",
        lambda: clearer.export(model, "pt2", work / "model.pt2", image=tiny),
        lambda e: e.path.is_file() and e.max_abs_diff < 1e-4,
    )
    call(
        "API evaluate",
        "sigma=-5",
        lambda: clearer.evaluate(run, {"data.degradation.sigma": -5}, work / "e1", verbose=False),
    )
    call(
        "API evaluate",
        "protocol 'nope'",
        lambda: clearer.evaluate(run, {"evaluate.protocol": "nope"}, work / "e2", verbose=False),
    )
    call(
        "API evaluate", "search.epochs", lambda: clearer.evaluate(run, {"search.epochs": 1}, work / "e3", verbose=False)
    )
    call("API evaluate", "integer key", lambda: clearer.evaluate(run, {1: 2}, work / "e4", verbose=False))
    call("API evaluate", "out=123", lambda: clearer.evaluate(run, {}, 123, verbose=False))
    call("API evaluate", "overrides a string", lambda: clearer.evaluate(run, "sigma=15", work / "e5", verbose=False))

    # ---- CLI restore over odd files
    def restore_file(name: str, path: Path, check: Callable[[Cli], bool] | None = None, *extra: str) -> None:
        target = work / "restored" / name.replace(" ", "_")
        add(
            Case(
                "CLI restore",
                name,
                lambda: cli("restore", path, "--run", run, "--out", target, *extra),
                check or (lambda c: False),
                (path,),
            )
        )

    def written_as_api(path: Path, target_name: str) -> Callable[[Cli], bool]:
        def check(_: Cli) -> bool:
            folder = work / "restored" / target_name.replace(" ", "_")
            return same(model.restore(Image.open(path)), Image.open(folder / (path.stem + ".png")))

        return check

    def file_case(name: str, path: Path, expected: Callable[[Image.Image], bool] | None = None) -> None:
        if expected is None:
            restore_file(name, path)
            return
        folder = work / "restored" / name.replace(" ", "_")
        restore_file(name, path, lambda c: expected(Image.open(folder / (path.stem + ".png"))))

    p16 = png(work / "in" / "deep.png", u16)
    file_case("16-bit gray PNG", p16, lambda y: np.array_equal(np.asarray(y), as_int(ref(u16 / 65535), 255, np.uint8)))
    meta = PngImagePlugin.PngInfo()
    meta.add_text("Comment", f"__import__('os').system('touch {canary}')")
    pmeta = png(work / "in" / "chunky.png", u8, pnginfo=meta, gamma=0.4)  # noqa: S108
    file_case(
        "PNG with text and gamma chunks",
        pmeta,
        lambda y: np.array_equal(np.asarray(y), as_int(ref(u8 / 255), 255, np.uint8)),
    )
    bmp = work / "in" / "bits.bmp"
    Image.fromarray(u8 > 100).save(bmp)
    file_case(
        "1-bit BMP",
        bmp,
        lambda y: np.array_equal(np.asarray(y), as_int(ref((u8 > 100).astype(np.float32)), 255, np.uint8)),
    )
    cmyk = work / "in" / "print.jpg"
    Image.fromarray(np.dstack([u8] * 3)).convert("CMYK").save(cmyk, quality=95)
    file_case("CMYK JPEG", cmyk, lambda y: np.array_equal(np.asarray(y), np.asarray(model.restore(Image.open(cmyk)))))
    int_tiff = work / "in" / "counts.tif"
    Image.fromarray(u16.astype(np.int32)).save(int_tiff)
    file_case("32-bit integer TIFF", int_tiff)
    float_tiff = work / "in" / "floats.tif"
    Image.fromarray(f32).save(float_tiff)
    file_case(
        "float TIFF in [0, 1]", float_tiff, lambda y: np.array_equal(np.asarray(y), as_int(ref(f32), 255, np.uint8))
    )
    apng = work / "in" / "moving.png"
    Image.fromarray(u8).save(apng, save_all=True, append_images=[Image.fromarray(255 - u8)])
    file_case("animated PNG", apng)
    gif = work / "in" / "clear.gif"
    Image.fromarray(u8).convert("P").save(gif, transparency=0)
    file_case("GIF with a transparent index", gif, lambda y: y.mode in ("LA", "L") and y.size == (24, 20))
    upper = png(work / "in" / "SHOUT.PNG", u8)
    file_case("upper-case suffix", upper, lambda y: np.array_equal(np.asarray(y), as_int(ref(u8 / 255), 255, np.uint8)))
    bare = work / "in" / "nosuffix"
    Image.fromarray(u8).save(bare, format="PNG")
    file_case("no suffix", bare, lambda y: np.array_equal(np.asarray(y), as_int(ref(u8 / 255), 255, np.uint8)))
    one = png(work / "in" / "dot.png", np.full((1, 1), 200, np.uint8))
    file_case("1x1 PNG", one, lambda y: y.size == (1, 1))
    rot = work / "in" / "phone.jpg"
    stored = Image.fromarray(u8)
    exif = stored.getexif()
    exif[0x0112] = 3  # upside down
    stored.save(rot, exif=exif, quality=100)
    file_case(
        "EXIF rotate 180",
        rot,
        lambda y: np.array_equal(
            np.asarray(y), np.asarray(model.restore(np.ascontiguousarray(np.asarray(Image.open(rot))[::-1, ::-1])))
        ),
    )
    restore_file("--tile abc", p16, None, "--tile", "abc")
    restore_file("--tile 1e3", p16, None, "--tile", "1e3")
    add(
        Case(
            "CLI restore",
            "same file twice",
            lambda: cli("restore", upper, upper, "--run", run, "--out", work / "twice"),
            lambda c: (work / "twice" / "SHOUT.png").is_file() and (work / "twice" / "SHOUT-2.png").is_file(),
            (upper,),
        )
    )
    add(
        Case(
            "CLI restore",
            "translucent PNG keeps alpha",
            lambda: cli("restore", rgba, "--run", run, "--out", work / "glass"),
            lambda c: Image.open(work / "glass" / "glass.png").mode == "LA",
            (rgba,),
        )
    )

    # ---- CLI show / run with odd --set values
    def show(value: str, check: Callable[[Cli], bool] | None = None) -> None:
        add(Case("CLI show", value, lambda: cli("show", BSD, *SMOKE, "--set", value), check or (lambda c: False)))

    show("data.patch=1e2")
    show("evaluate.sets=[]", lambda c: '"sets": []' in c.out)
    show("space.width=0.5")
    show("space.width=1.4", lambda c: '"width": 1.4' in c.out)
    show("space.candidates=[]")
    show("space.candidates=['parallel', 'parallel']")
    show("data.channels=2")
    show("seed=-1")
    show("evaluate.tile=auto", lambda c: '"tile": "auto"' in c.out)
    show("space.name='os:system'")
    show(f'data.train.name=\'__import__("os").system("touch {canary}")\'')
    show("space.width=10**6")
    show("data.degradation=dict(name='gaussian', sigma=float('nan'))")
    show("space.cells=2.0")
    show("space.stem_blocks=-1")
    show("data.patch=" + "9" * 5000)

    def run_set(value: str) -> None:
        add(
            Case(
                "CLI run",
                value,
                lambda: cli("run", BSD, *SMOKE, "--quiet", "--out", work / "runs" / value[:20], "--set", value),
            )
        )

    run_set("data.batch=10**9")
    run_set("data.patch=100000")
    run_set("space.cells=6")

    # ---- CLI evaluate / export
    def command(entry: str, name: str, *args: object, check: Callable[[Cli], bool] | None = None) -> None:
        add(Case(entry, name, lambda: cli(*args), check or (lambda c: False)))

    command(
        "CLI evaluate",
        "sigma=1e6",
        "evaluate",
        run,
        "--set",
        "data.degradation.sigma=1e6",
        "--out",
        work / "ev1",
        "--quiet",
        check=lambda c: (work / "ev1" / "metrics.json").is_file(),
    )
    command("CLI evaluate", "unknown set", "evaluate", run, "--set", "evaluate.sets=['nope']", "--out", work / "ev2")
    command(
        "CLI evaluate", "self_ensemble=2", "evaluate", run, "--set", "evaluate.self_ensemble=2", "--out", work / "ev3"
    )
    command("CLI evaluate", "a --set without =", "evaluate", run, "--set", "sigma", "--out", work / "ev4")
    command("CLI export", "--format PT2", "export", run, "--format", "PT2", "--out", work / "e.pt2")
    command(
        "CLI export", "--image translucent", "export", run, "--format", "pt2", "--out", work / "t.pt2", "--image", rgba
    )
    command(
        "CLI export", "--image animated", "export", run, "--format", "pt2", "--out", work / "a.pt2", "--image", apng
    )
    return out


def main_probe(work: Path) -> int:
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    run = work / "run"
    if not (run / "model.safetensors").is_file():
        made = cli("run", BSD, *SMOKE, "--quiet", "--out", run, "--set", "search.epochs=1", "--set", "retrain.epochs=1")
        assert made.code == 0, made.err[-2000:]
    canary = work / "pwned"
    table: dict[str, Counter[str]] = defaultdict(Counter)
    bad: list[str] = []
    for case in cases(run, work, canary):
        outcome, detail = classify(case, canary)
        table[case.entry][outcome] += 1
        print(
            f"{outcome:15s} {case.entry:13s} {case.name}"
            + (f"  -- {detail}" if detail and outcome != "correct" else "")
        )
        if outcome not in ("clear error", "correct"):
            bad.append(f"{case.entry}: {case.name}: {outcome} {detail}")
    classes = ["clear error", "correct", "silently wrong", "traceback", "hang", "data lost", "code executed"]
    print(f"\n{'entry point':14s}" + "".join(f"{c:>16s}" for c in classes) + f"{'total':>8s}")
    for entry, counts in table.items():
        print(f"{entry:14s}" + "".join(f"{counts[c]:16d}" for c in classes) + f"{sum(counts.values()):8d}")
    total = sum(table.values(), Counter())
    print(f"{'all':14s}" + "".join(f"{total[c]:16d}" for c in classes) + f"{sum(total.values()):8d}")
    print("\nnot clear or correct:\n" + ("\n".join(bad) if bad else "(none)"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main_probe(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="probe-"))))
