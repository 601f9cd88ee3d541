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
EXCLUDABLE = ("bsd68",)


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


def _check_limit(limit: int | None) -> None:
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ClearerError(f"limit must be a positive integer or None, got {limit!r}")


def _take(name: str, paths: list[Path], limit: int | None) -> ImageSet:
    _check_limit(limit)
    return ImageSet(name, list(paths if limit is None else paths[:limit]))


@lru_cache(maxsize=8)
def _read_bsd68_map(map_file: Path) -> dict[str, str]:
    """BSD68 file name -> BSDS500 relative path ('test001.png' -> 'val/101085.jpg')."""
    mapping: dict[str, str] = {}
    for number, line in enumerate(map_file.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ClearerError(
                f"{map_file}:{number}: expected 'BSD68_FILE SPLIT/BSDS500_FILE', got {line!r}"
            )
        mapping[parts[0]] = parts[1]
    return mapping


def bsd68_map(root: Path | None = None) -> dict[str, str]:
    """Which BSDS500 image each BSD68 file is (read from bsd68_in_bsds500_val.txt in the data root).

    Why: BSD68 is 68 of the 100 BSDS500 val images; searches on val must be able to leave them out.
    """
    root = data_root() if root is None else Path(root)
    map_file = root / BSD68_MAP_FILE
    if not map_file.is_file():
        raise ClearerError(
            f"{map_file} is missing; it lists which BSDS500 val image each BSD68 file is. "
            "Restore it from the data distribution (`clearer data fetch bsd68`)."
        )
    return _read_bsd68_map(map_file.resolve())


@DATASETS.register("bsds500")
def bsds500(split: str = "train", exclude: str | None = None, limit: int | None = None,
            skip: int = 0) -> ImageSet:
    """BSDS500 colour photos (train 200 / val 100 / test 200); exclude="bsd68" drops the BSD68 ones.

    Why: the paper trains weights on train, learns α on val and tests on test; when BSD68 is a test
    set, α must be learned on the 32 val images that are not in BSD68.
    """
    if split not in BSDS500_SPLITS:
        raise ClearerError(f"unknown BSDS500 split {split!r}; valid splits: {', '.join(BSDS500_SPLITS)}.")
    if exclude is not None and exclude not in EXCLUDABLE:
        raise ClearerError(f"bsds500 exclude={exclude!r} is not supported; valid: {', '.join(EXCLUDABLE)} or None.")
    root = data_root()
    paths = list_images(root / "BSDS500" / split)
    name = f"bsds500-{split}"
    if exclude == "bsd68":
        taken = {Path(v).as_posix() for v in bsd68_map(root).values()}
        paths = [p for p in paths if f"{split}/{p.name}" not in taken]
        name += "-minus-bsd68"
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
    """A key naming the picture a file shows: BSD68 files map to their BSDS500 val id, others use the stem.

    Why: the same photo appears as a gray BSD68 png and a colour BSDS500 jpg; comparing keys lets a
    test prove that no evaluation image reaches training or search. The mapping file is looked up
    beside the BSD68 folder, so CLEARER_DATA need not be set.
    """
    path = Path(path)
    if path.parent.name == "BSD68":
        map_file = path.parent.parent / BSD68_MAP_FILE
        if map_file.is_file():
            target = _read_bsd68_map(map_file.resolve()).get(path.name)
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
