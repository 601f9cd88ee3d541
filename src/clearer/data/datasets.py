"""Named benchmark image sets (BSDS500, Train400, BSD68, Set12, any folder) and overlap checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import torch

from ..errors import ClearerError
from ..registry import DATASETS
from .images import data_root, list_images, read_image

BSDS500_SPLITS = ("train", "val", "test")
BSD68_MAP_FILE = "bsd68_in_bsds500_val.txt"
RAIN100L_MAP_FILE = "rain100l_in_bsds500.txt"
# benchmark sets whose pictures are BSDS500 images -> the file (in the data root) naming which ones
MAP_FILES = {"bsd68": BSD68_MAP_FILE, "rain100l": RAIN100L_MAP_FILE}
# folder of such a set -> its map file, so a test can tell a copy from the original picture
IDENTITY_MAPS = {"BSD68": BSD68_MAP_FILE, "Rain100L-val": RAIN100L_MAP_FILE}
EXCLUDABLE = tuple(MAP_FILES)


@dataclass
class ImageSet:
    """A named, ordered list of image files; images are read only when `load` is called."""

    name: str
    paths: list[Path] = field(default_factory=list)

    def load(self, channels: int) -> list[torch.Tensor]:
        """Read every image as a [C,H,W] float tensor in [0,1] (C=1 gray by ITU-R 601 luma, 3 RGB)."""
        return [read_image(p, channels) for p in self.paths]

    def __len__(self) -> int:
        return len(self.paths)


def check_limit(limit: int | None) -> None:
    """A dataset's `limit`: None (every image) or a positive integer."""
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ClearerError(f"limit must be a positive integer or None, got {limit!r}")


def _take(name: str, paths: list[Path], limit: int | None) -> ImageSet:
    check_limit(limit)
    return ImageSet(name, list(paths if limit is None else paths[:limit]))


@lru_cache(maxsize=8)
def _read_map(map_file: Path) -> dict[str, str]:
    """Benchmark file name -> BSDS500 relative path ('test001.png' -> 'val/101085.jpg'), for any map file."""
    mapping: dict[str, str] = {}
    for number, line in enumerate(map_file.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ClearerError(f"{map_file}:{number}: expected 'FILE SPLIT/BSDS500_FILE', got {line!r}")
        mapping[parts[0]] = parts[1]
    return mapping


def bsds500_map(benchmark: str, root: Path | None = None) -> dict[str, str]:
    """Which BSDS500 image each file of a benchmark ("bsd68", "rain100l") is, read from its map file
    in the data root (bsd68_in_bsds500_val.txt, rain100l_in_bsds500.txt).

    Why: BSD68 is 68 of the BSDS500 val images and every Rain100L background is a BSDS500 train/val
    image; training and search data must be able to leave them out.
    """
    root = data_root() if root is None else Path(root)
    map_file = root / MAP_FILES[benchmark]
    if not map_file.is_file():
        raise ClearerError(
            f"{map_file} is missing; it lists which BSDS500 image each {benchmark} file is. "
            f"Restore it from the data distribution (`clearer data fetch {benchmark}`)."
        )
    return _read_map(map_file.resolve())


def _exclusions(exclude: str | list[str] | None) -> list[str]:
    """exclude=None / "bsd68" / ["bsd68", "rain100l"] -> a checked list of benchmark names."""
    names = [] if exclude is None else [exclude] if isinstance(exclude, str) else list(exclude)
    for name in names:
        if name not in EXCLUDABLE:
            raise ClearerError(
                f"bsds500 exclude={exclude!r} is not supported; valid: {', '.join(EXCLUDABLE)}, a list of "
                "them, or None."
            )
    return names


@DATASETS.register("bsds500")
def bsds500(
    split: str = "train", exclude: str | list[str] | None = None, limit: int | None = None, skip: int = 0
) -> ImageSet:
    """BSDS500 colour photos (train 200 / val 100 / test 200; "train+test" joins splits); `exclude`
    drops the pictures of benchmarks made from them: "bsd68" (68 val images), "rain100l" (the
    backgrounds of all 100 Rain100L pairs: 67 train and 24 val images), or a list of both.

    Why: the paper trains weights on train, learns α on val and tests on test; when BSD68 is a test
    set, α must be learned on the 32 val images that are not in BSD68, and a derainer tested on
    Rain100L must never see its backgrounds.
    """
    splits = split.split("+") if isinstance(split, str) else [split]
    if not splits or any(s not in BSDS500_SPLITS for s in splits) or len(set(splits)) < len(splits):
        raise ClearerError(
            f"unknown BSDS500 split {split!r}; valid splits: {', '.join(BSDS500_SPLITS)}, "
            "or several joined by '+' (e.g. 'train+test')."
        )
    root = data_root()
    paths = [p for s in splits for p in list_images(root / "BSDS500" / s)]
    name = f"bsds500-{split}"
    for benchmark in _exclusions(exclude):
        taken = {Path(v).as_posix() for v in bsds500_map(benchmark, root).values()}
        paths = [p for p in paths if f"{p.parent.name}/{p.name}" not in taken]
        name += f"-minus-{benchmark}"
    if not isinstance(skip, int) or skip < 0 or skip >= len(paths):
        raise ClearerError(f"bsds500 skip={skip!r} must be an integer in [0, {len(paths)}) for split {split!r}.")
    if skip:  # skip/limit cut disjoint parts of one split, e.g. weights vs α for rain on test
        paths, name = paths[skip:], f"{name}-from{skip}"
    return _take(name, paths, limit)


@DATASETS.register("train400")
def train400(limit: int | None = None) -> ImageSet:
    """The 400 180×180 gray BSD crops used to train DnCNN (standard protocol training set).

    Why: the standard grayscale denoising comparison trains on these; they come from BSDS500
    train and test, so never test on BSDS500 test after training on them.
    """
    return _take("train400", list_images(data_root() / "Train400"), limit)


@DATASETS.register("bsd68")
def bsd68(limit: int | None = None) -> ImageSet:
    """BSD68: the 68 gray test images of the standard denoising protocol (subset of BSDS500 val)."""
    return _take("bsd68", list_images(data_root() / "BSD68"), limit)


@DATASETS.register("cbsd68")
def cbsd68(limit: int | None = None) -> ImageSet:
    """CBSD68: the colour originals of BSD68, i.e. its 68 BSDS500 val photos in BSD68's order
    (test001 ... test068), found through bsd68_in_bsds500_val.txt.

    Why: the standard colour denoising test set is these pictures; reading them from BSDS500 needs no
    second copy, and `bsds500(..., exclude="bsd68")` leaves exactly them out of training and α data.
    """
    root = data_root()
    mapping = bsds500_map("bsd68", root)
    paths = [root / "BSDS500" / mapping[name] for name in sorted(mapping)]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise ClearerError(
            f"cbsd68: {len(missing)} BSDS500 val image(s) named in {BSD68_MAP_FILE} are missing, e.g. {missing[0]}; "
            "restore BSDS500 (`clearer data fetch bsds500`)."
        )
    return _take("cbsd68", paths, limit)


@DATASETS.register("set12")
def set12(limit: int | None = None) -> ImageSet:
    """Set12: the 12 classic gray test images (256² / 512²) of the standard denoising protocol."""
    return _take("set12", list_images(data_root() / "Set12"), limit)


@DATASETS.register("image_folder")
def image_folder(path: str, limit: int | None = None) -> ImageSet:
    """All images in one folder, given absolutely or relative to CLEARER_DATA.

    Why: lets a recipe use the user's own pictures without registering a dataset.
    """
    folder = Path(path).expanduser()
    if not folder.is_absolute():
        folder = data_root() / folder
    return _take(f"folder:{folder.name}", list_images(folder), limit)


def image_identity(path: str | Path) -> str:
    """A key naming the picture a file shows: BSD68 and Rain100L files map to their BSDS500 id, others
    use the stem.

    Why: the same photo appears as a gray BSD68 png, a Rain100L background and a colour BSDS500 jpg;
    comparing keys lets a test prove that no evaluation image reaches training or search. The mapping
    file is looked up beside the benchmark's folder, so CLEARER_DATA need not be set.
    """
    path = Path(path)
    map_name = IDENTITY_MAPS.get(path.parent.name)
    if map_name is not None:
        map_file = path.parent.parent / map_name
        if map_file.is_file():
            mapping = _read_map(map_file.resolve())
            target = mapping.get(path.name) or mapping.get(f"no{path.name}")  # rain-N shows norain-N's picture
            if target is not None:
                return Path(target).stem
    return path.stem


def overlapping(a: ImageSet, b: ImageSet) -> list[tuple[Path, Path]]:
    """Pairs (path in a, path in b) that are the same picture (per `image_identity`).

    Why: evaluation images must never be used for training or architecture search.
    """
    by_key: dict[str, list[Path]] = {}
    for p in b.paths:
        by_key.setdefault(image_identity(p), []).append(p)
    return [(p, q) for p in a.paths for q in by_key.get(image_identity(p), [])]
