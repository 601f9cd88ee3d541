"""Shared helpers and fixtures: the `clearer` command, the real benchmark data folder (skips cleanly when
CLEARER_DATA is unset) and a small synthetic one laid out the same way (for end-to-end runs without it)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from clearer.cli import run_captured
from clearer.registry import REGISTRIES

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"

# A relative CLEARER_DATA (as the README's test command sets it) means "from where pytest started"; tests
# that change folder (run folders, restore) must still find the data, so pin it once here.
if os.environ.get("CLEARER_DATA"):
    os.environ["CLEARER_DATA"] = str(Path(os.environ["CLEARER_DATA"]).resolve())


def clearer(*args: object, timeout: float = 900, **kw) -> subprocess.CompletedProcess:
    """`clearer ARGS` in a new process, as a user runs it; stdout and stderr captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "clearer", *map(str, args)], capture_output=True, text=True, timeout=timeout, **kw
    )


def smoke_run(recipe: Path, out: Path, *overrides: str) -> list[str]:
    """Arguments of `clearer run RECIPE --profile smoke --out OUT --quiet --set OVERRIDE ...`."""
    sets = [arg for override in overrides for arg in ("--set", override)]
    return ["run", str(recipe), "--profile", "smoke", "--out", str(out), "--quiet", *sets]


def comparison_table(folder: Path) -> dict:
    """A comparison's comparison.json without its wall-clock columns (they differ from run to run)."""

    data = json.loads((folder / "comparison.json").read_text())
    for rows in data.values():
        for r in rows:
            r.pop("search_s"), r.pop("retrain_s")
    return data


def noise_pngs(folder: Path, count: int, seed: int = 0, size: tuple[int, int] = (40, 56)) -> list[Path]:
    """`count` grey PNGs of seeded uniform noise, named 0.png, 1.png, ... in `folder`."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{n}.png" for n in range(count)]
    for path in paths:
        Image.fromarray(rng.integers(0, 256, size, dtype=np.uint8)).save(path)
    return paths


@pytest.fixture
def data_dir() -> Path:
    value = os.environ.get("CLEARER_DATA")
    if not value or not Path(value).is_dir():
        pytest.skip("CLEARER_DATA is not set to the benchmark data folder (CI sets it)")
    return Path(value).resolve()  # a relative CLEARER_DATA (as in the README) is relative to here


def _picture(rng: np.random.Generator, height: int, width: int, channels: int) -> np.ndarray:
    """A smooth random picture with some texture, uint8 [H,W] or [H,W,3]."""
    coarse = torch.from_numpy(rng.random((1, channels, 4, 5), dtype=np.float32))
    smooth = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=False)[0]
    texture = torch.from_numpy(rng.normal(0, 0.05, (channels, height, width)).astype(np.float32))
    pixels = (smooth + texture).clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return pixels[:, :, 0] if channels == 1 else pixels


# BSDS500 split -> pictures; BSD68 is the gray version of the first val pictures, as in the real data
SYNTHETIC_SPLITS = {"train": 8, "val": 7, "test": 4}
SYNTHETIC_BSD68 = 3


def make_synthetic_data(root: Path) -> Path:
    """A folder laid out like CLEARER_DATA with small seeded pictures (64x80, some portrait): BSDS500
    train/val/test (jpg, RGB), BSD68 (gray copies of val pictures, with the map file), Set12, Train400."""
    rng = np.random.default_rng(0)
    lines = []
    for split, count in SYNTHETIC_SPLITS.items():
        (root / "BSDS500" / split).mkdir(parents=True)
        for n in range(count):
            size = (80, 64) if n % 3 == 2 else (64, 80)
            picture = Image.fromarray(_picture(rng, *size, 3))
            picture.save(root / "BSDS500" / split / f"{split}{n:03d}.jpg", quality=95)
            if split == "val" and n < SYNTHETIC_BSD68:
                (root / "BSD68").mkdir(exist_ok=True)
                picture.convert("L").save(root / "BSD68" / f"test{n + 1:03d}.png")
                lines.append(f"test{n + 1:03d}.png val/{split}{n:03d}.jpg")
    (root / "bsd68_in_bsds500_val.txt").write_text("\n".join(lines) + "\n")
    for folder, count, size in (("Set12", 2, (64, 64)), ("Train400", 6, (48, 48))):
        (root / folder).mkdir()
        for n in range(count):
            Image.fromarray(_picture(rng, *size, 1)).save(root / folder / f"{n + 1:02d}.png")
    return root


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    return make_synthetic_data(tmp_path_factory.mktemp("synthetic-data"))


@pytest.fixture
def synthetic_data(synthetic_root: Path, monkeypatch) -> Path:
    """CLEARER_DATA pointed at the synthetic folder for this test (and the processes it starts)."""
    monkeypatch.setenv("CLEARER_DATA", str(synthetic_root))
    return synthetic_root


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


HOST_READS = ("item", "tolist", "cpu", "numpy", "__float__", "__int__", "__index__", "__bool__")


@pytest.fixture
def host_reads(monkeypatch) -> list[str]:
    """Every read of a tensor's value on the host made by the library's own code (on a GPU each one
    makes the host wait for the device), as 'method in function (file)'."""
    package = str(Path(sys.modules["clearer"].__file__).parent)
    reads: list[str] = []
    for name in HOST_READS:

        def spy(self, *args, _original=getattr(torch.Tensor, name), _name=name, **kwargs):
            caller = sys._getframe(1).f_code
            if caller.co_filename.startswith(package):
                reads.append(f"{_name} in {caller.co_name} ({Path(caller.co_filename).name})")
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, spy)
    return reads


# ------------------------------------------------------------------ the CLI in-process, and hostile input
# (imports for this part are at the top of the file)

BSD = str(RECIPES / "bsd.py")
SMOKE = ["--profile", "smoke"]
# the shared run: smoke profile, one epoch per phase, two small test images
FAST = [
    "--set",
    "search.epochs=1",
    "--set",
    "retrain.epochs=1",
    "--set",
    "evaluate.sets=[dict(name='set12', limit=1)]",
    "--quiet",
]


@dataclass
class Outcome:
    code: int
    out: str
    err: str  # whitespace-normalised (rich may wrap)


def cli(*args: object) -> Outcome:
    """`clearer ARGS` in this process; an exception escaping main() shows up as a traceback in err."""
    code, out, err = run_captured(list(args))
    return Outcome(code, out, " ".join(err.split()))


def _files(*roots: Path) -> list[Path]:
    files = []
    for root in map(Path, roots):
        files += [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return files


def digest(*roots: Path) -> dict[str, str]:
    """sha256 of every file under the given files/folders (a run's log.txt is append-only: see logs)."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in _files(*roots) if p.name != "log.txt"}


def logs(*roots: Path) -> dict[str, str]:
    return {str(p): p.read_text() for p in _files(*roots) if p.name == "log.txt"}


def bad(*args: object, says: tuple[str, ...] | str, watch: tuple[Path, ...] = ()) -> Outcome:
    """Run a command that must fail cleanly: exit 2, message naming the value, watched files unchanged."""
    before, logged = digest(*watch), logs(*watch)
    result = cli(*args)
    assert "Traceback" not in result.err, result.err[-3000:]
    assert result.code == 2, (result.code, result.err[-2000:])
    assert "error: " in result.err, result.err  # (a resume may print its recipe warning first)
    for needle in (says,) if isinstance(says, str) else says:
        assert needle in result.err, (needle, result.err)
    after, logged_after = digest(*watch), logs(*watch)
    assert {k: after.get(k) for k in before} == before, "an input or earlier output changed"
    assert all(logged_after.get(k, "").startswith(v) for k, v in logged.items()), "a log lost lines"
    return result


def png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def truncate(path: Path, size: int | None = None) -> None:
    """Cut a file short (half of it, or `size` bytes), as a crash or a full disk would."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 if size is None else size])


def has_data() -> bool:
    value = os.environ.get("CLEARER_DATA")
    return bool(value) and Path(value).is_dir()


needs_data = pytest.mark.skipif(not has_data(), reason="CLEARER_DATA is not set to the benchmark data folder")


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory) -> Path:
    """One finished smoke run shared by every run-folder case (they work on copies)."""
    if not has_data():
        pytest.skip("CLEARER_DATA is not set to the benchmark data folder")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("shared") / "run"
    result = cli("run", BSD, *SMOKE, "--out", out, *FAST)
    torch.set_num_threads(before)
    assert result.code == 0, result.err[-3000:]
    return out


@pytest.fixture
def run_copy(finished_run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy, ignore=shutil.ignore_patterns(".clearer-lock"))  # the lock is per folder
    return copy
