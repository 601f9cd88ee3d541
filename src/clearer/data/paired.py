"""Pair sources: what training and evaluation read, (degraded input, clean target) pairs.

A source is either real pairs (`PairedSet`, for real degradations such as rain) or clean images with
the degradation that makes their inputs (`Degraded`); `as_pairs` turns any dataset into a source, so
nothing downstream asks which kind it has.

Three layouts of real pairs are registered as DATASETS:
- `paired_folder`: two subfolders (`input/`, `target/`) holding files with matching names (by stem);
- `rain_pairs`: `rain-N.png` / `norain-N.png` in one folder (Rain100L/H, RainTrainL), or in two;
- `side_by_side`: each file holds the clean image on one half and the rainy one on the other (Rain800);
and one benchmark: `rain100l`, the Rain100L pairs in CLEARER_DATA/Rain100L-val, whole or in two halves.
Every one takes `skip`/`limit`, which cut disjoint parts of one folder (weights vs α).

Partners are matched when the dataset is built (a missing partner is an error then); images are only
read, and their sizes checked, when `load` is called.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

from ..contracts import Degradation, DrawsTarget
from ..errors import ClearerError
from ..registry import DATASETS
from .datasets import ImageSet, check_limit
from .images import IMAGE_SUFFIXES, data_root, list_images, read_image

SIDES = ("left", "right")
_RAIN_NAME = re.compile(r"^(no)?rain-(\d+)$", re.IGNORECASE)


@runtime_checkable
class PairSource(Protocol):
    """What the training stream and evaluation read: (input, target) pairs, however the input is made.

    `images` are what patches are cut from and `split` turns a batch of them (or of crops of them) into
    (input, target); a degradation draws its randomness from `generator`.
    """

    name: str

    @property
    def inputs(self) -> list[Path]:
        """The file each input comes from, in order (names the pairs in logs and per-image results)."""
        ...

    def __len__(self) -> int: ...

    def describe(self) -> str:
        """What the inputs are, for logs and metric records."""
        ...

    def images(self, channels: int) -> list[Tensor]: ...

    def split(self, batch: Tensor, generator: torch.Generator | None) -> tuple[Tensor, Tensor]: ...


@dataclass
class PairedSet:
    """A named, ordered list of (degraded input, clean target) file pairs; read only by `load`.

    `clean_side` is set for the side-by-side layout: each pair is then (file, file) and `load`
    splits the file into halves, the clean one on `clean_side` ("left" or "right").
    """

    name: str
    pairs: list[tuple[Path, Path]] = field(default_factory=list)
    clean_side: str | None = None

    def __post_init__(self) -> None:
        if self.clean_side is not None and self.clean_side not in SIDES:
            raise ClearerError(f"clean_side must be 'left', 'right' or None, got {self.clean_side!r}")
        self.pairs = [(Path(a), Path(b)) for a, b in self.pairs]

    @property
    def inputs(self) -> list[Path]:
        """The degraded input files, in order."""
        return [a for a, _ in self.pairs]

    @property
    def targets(self) -> list[Path]:
        """The clean target files, in order."""
        return [b for _, b in self.pairs]

    @property
    def paths(self) -> list[Path]:
        """The clean target files, so `datasets.overlapping` / `image_identity` work on paired sets."""
        return self.targets

    def load_pair(self, index: int, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Read pair `index` as ([C,H,W] input, [C,H,W] target) in [0,1]; sizes must agree."""
        inp_path, tgt_path = self.pairs[index]
        if self.clean_side is not None:
            return _split_side_by_side(inp_path, channels, self.clean_side)
        inp, tgt = read_image(inp_path, channels), read_image(tgt_path, channels)
        if inp.shape[-2:] != tgt.shape[-2:]:
            raise ClearerError(
                f"paired images differ in size: input {inp_path} is {_size(inp)} but target {tgt_path} "
                f"is {_size(tgt)}. A degraded image and its clean version must have the same size; "
                "fix or remove this pair."
            )
        return inp, tgt

    def load(self, channels: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Read every pair as (input, target) [C,H,W] float tensors in [0,1] (C=1 gray, 3 RGB)."""
        return [self.load_pair(i, channels) for i in range(len(self.pairs))]

    def __len__(self) -> int:
        return len(self.pairs)

    def describe(self) -> str:
        return "real pairs"

    def images(self, channels: int) -> list[Tensor]:
        """Each pair as one [2C,H,W] image, input and target stacked along channels: one crop cuts both
        at the same place and one flip moves both."""
        return [torch.cat(pair, dim=0) for pair in self.load(channels)]

    def split(self, batch: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """A batch of stacked pairs -> (input, target); real pairs need no randomness."""
        inp, target = batch.chunk(2, dim=1)
        return inp, target


@dataclass(frozen=True)
class Degraded:
    """Clean images with the degradation that makes their inputs: pairs (degradation(clean), clean)."""

    clean: ImageSet
    degradation: Degradation

    @property
    def name(self) -> str:
        return self.clean.name

    @property
    def inputs(self) -> list[Path]:
        """The clean files the inputs are made from."""
        return self.clean.paths

    def __len__(self) -> int:
        return len(self.clean)

    def describe(self) -> str:
        return self.degradation.describe()

    def images(self, channels: int) -> list[Tensor]:
        return self.clean.load(channels)

    def split(self, batch: Tensor, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """A clean batch -> (degraded, clean), the noise drawn from `generator`; a degradation that draws
        into the target too (`DrawsTarget`) makes both."""
        if isinstance(self.degradation, DrawsTarget):
            return self.degradation.pair(batch, generator)
        return self.degradation(batch, generator), batch


def as_pairs(dataset: PairSource | ImageSet, degradation: Degradation) -> PairSource:
    """A dataset as (input, target) pairs: real pairs as they are (the degradation is not used), clean
    images wrapped with `degradation`."""
    return dataset if isinstance(dataset, PairSource) else Degraded(dataset, degradation)


def _size(image: torch.Tensor) -> str:
    """'W×H' of a [C,H,W] tensor (width first, as image viewers and PIL report it)."""
    return f"{image.shape[-1]}x{image.shape[-2]} (WxH)"


def _split_side_by_side(path: Path, channels: int, clean_side: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One side-by-side file -> (degraded half, clean half)."""
    image = read_image(path, channels)
    width = image.shape[-1]
    if width % 2:
        raise ClearerError(
            f"{path} is {_size(image)}: its width is odd, so it does not fit the side-by-side layout "
            "(clean and degraded halves of equal width, as in Rain800). Use another dataset layout "
            "for this folder or remove the file."
        )
    left, right = image[..., : width // 2].contiguous(), image[..., width // 2 :].contiguous()
    return (right, left) if clean_side == "left" else (left, right)


def natural_key(path: Path) -> list:
    """Sort key that orders numbers in file names by value: rain-2 before rain-10."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.stem)]


def _folder(path: str | Path) -> Path:
    """A folder given absolutely or relative to CLEARER_DATA."""
    folder = Path(path).expanduser()
    return folder if folder.is_absolute() else data_root() / folder


def _by_stem(folder: Path) -> dict[str, Path]:
    """stem -> image file in a folder; two files sharing a stem (a.png, a.jpg) are ambiguous."""
    out: dict[str, Path] = {}
    for p in list_images(folder):
        if p.stem in out:
            raise ClearerError(
                f"{out[p.stem]} and {p} share the name {p.stem!r}, so it is ambiguous which one is "
                "paired with the other folder's file; remove or rename one of them."
            )
        out[p.stem] = p
    return out


def _any_suffix(stem: str) -> str:
    return f"{stem}{{{','.join(IMAGE_SUFFIXES)}}}"


def _take(
    name: str, pairs: list[tuple[Path, Path]], limit: int | None, skip: int = 0, clean_side: str | None = None
) -> PairedSet:
    check_limit(limit)
    if not isinstance(skip, int) or isinstance(skip, bool) or not 0 <= skip < len(pairs):
        raise ClearerError(
            f"{name}: skip={skip!r} must be an integer in [0, {len(pairs)}) (it has {len(pairs)} pairs)."
        )
    if skip:
        pairs, name = pairs[skip:], f"{name}-from{skip}"
    return PairedSet(name, list(pairs if limit is None else pairs[:limit]), clean_side)


def check_partners(
    files: dict[Any, Path], partners: dict[Any, Path], kind: str, expected: Callable[[Any], str]
) -> None:
    """Every file must have a partner under the same key; the error names the lonely file and what was expected."""
    for key, path in files.items():
        if key not in partners:
            raise ClearerError(f"{kind} {path} has no partner: expected {expected(key)}.")


@DATASETS.register("paired_folder")
def paired_folder(
    path: str, input: str = "input", target: str = "target", limit: int | None = None, skip: int = 0
) -> PairedSet:
    """Pairs from two subfolders of `path` (default `input/` and `target/`) matched by file stem.

    Why: the most common layout for paired restoration data; file extensions may differ between the
    two folders (rainy .jpg, clean .png). Every file must have a partner.
    """
    root = _folder(path)
    inputs, targets = _by_stem(root / input), _by_stem(root / target)
    check_partners(inputs, targets, "input", lambda stem: f"a target named {_any_suffix(stem)} in {root / target}")
    check_partners(targets, inputs, "target", lambda stem: f"an input named {_any_suffix(stem)} in {root / input}")
    pairs = [(inputs[s], targets[s]) for s in sorted(inputs, key=lambda s: natural_key(Path(s)))]
    return _take(f"paired_folder:{root.name}", pairs, limit, skip)


def _numbered(folder: Path, want_clean: bool) -> dict[int, Path]:
    """N -> file for the `rain-N` (want_clean=False) or `norain-N` (True) images in a folder."""
    out: dict[int, Path] = {}
    for p in list_images(folder):
        match = _RAIN_NAME.match(p.stem)
        if not match or bool(match.group(1)) != want_clean:
            continue
        n = int(match.group(2))
        if n in out:
            raise ClearerError(f"{out[n]} and {p} both have number {n}; remove or rename one of them.")
        out[n] = p
    return out


@DATASETS.register("rain_pairs")
def rain_pairs(path: str, target_path: str | None = None, limit: int | None = None, skip: int = 0) -> PairedSet:
    """Rain100L/H-style pairs `rain-N.png` (input) / `norain-N.png` (target), sorted by N.

    Both kinds live in `path`, or the rainy ones in `path` and the clean ones in `target_path`.
    Other files (e.g. `rainstreak-N.png`) are ignored. Why: the layout of the Rain100L/H and
    RainTrainL/H distributions; N is compared as a number, so `rain-001` pairs with `norain-1`.
    """
    rain_dir = _folder(path)
    clean_dir = rain_dir if target_path is None else _folder(target_path)
    rainy, clean = _numbered(rain_dir, False), _numbered(clean_dir, True)
    if not rainy:
        raise ClearerError(
            f"{rain_dir} holds no rainy images named rain-N (e.g. rain-1.png); rain_pairs expects the "
            "Rain100L layout. Use paired_folder or side_by_side for other layouts."
        )
    check_partners(rainy, clean, "rainy image", lambda n: f"norain-{n}.png (or another image suffix) in {clean_dir}")
    check_partners(clean, rainy, "clean image", lambda n: f"rain-{n}.png (or another image suffix) in {rain_dir}")
    pairs = [(rainy[n], clean[n]) for n in sorted(rainy)]
    return _take(f"rain_pairs:{rain_dir.name}", pairs, limit, skip)


RAIN100L_FOLDER = "Rain100L-val"
# split -> first and last pair number; the rain model and the rain recipe were tuned on "tune" only
RAIN100L_SPLITS = {"val": (1, 20), "tune": (1, 10), "heldout": (11, 20)}


@DATASETS.register("rain100l")
def rain100l(split: str = "val", limit: int | None = None) -> PairedSet:
    """Rain100L test pairs 001–020 (CLEARER_DATA/Rain100L-val): split "val" all 20, "tune" 001–010,
    "heldout" 011–020.

    Why: the deraining benchmark most papers report (on the Y channel); the halves let a recipe tune
    its rain model and settings on one and report the other untouched.
    """
    if split not in RAIN100L_SPLITS:
        raise ClearerError(f"unknown Rain100L split {split!r}; valid splits: {', '.join(RAIN100L_SPLITS)}.")
    first, last = RAIN100L_SPLITS[split]
    whole = rain_pairs(RAIN100L_FOLDER)
    pairs = [pair for pair in whole.pairs if first <= int(_RAIN_NAME.match(pair[0].stem).group(2)) <= last]
    if len(pairs) != last - first + 1:
        raise ClearerError(
            f"{data_root() / RAIN100L_FOLDER} holds {len(pairs)} of the pairs {first:03d}–{last:03d} of Rain100L "
            f"split {split!r}; restore the folder from the data distribution (rain-NNN.png / norain-NNN.png)."
        )
    return _take(f"rain100l-{split}", pairs, limit)


@DATASETS.register("side_by_side")
def side_by_side(path: str, clean: str = "left", limit: int | None = None, skip: int = 0) -> PairedSet:
    """Files that hold the clean image on one half (`clean`: "left" or "right") and the degraded one on
    the other, as Rain800 ships them; widths must be even (checked when loading).

    Why: Rain800 / ID-CGAN training data stores each pair in one image, clean on the left.
    """
    if clean not in SIDES:
        raise ClearerError(f"side_by_side clean={clean!r} is not valid; say which half is clean: 'left' or 'right'.")
    folder = _folder(path)
    files = sorted(list_images(folder), key=natural_key)
    return _take(f"side_by_side:{folder.name}", [(p, p) for p in files], limit, skip, clean_side=clean)
