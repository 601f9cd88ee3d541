"""Run a restoration network on whole images of any size: padding, tiling, self-ensemble.

Tiling (`tile="auto"`, the default of `model.restore` and `clearer restore`): an image runs whole when
the network's activations for it fit `memory_budget()` bytes (2 GiB unless CLEARER_INFERENCE_MEMORY says
otherwise), else in the fewest overlapping tiles whose activations fit. The activation bytes per pixel are
measured once per network (and input dtype/device) by running it on a small probe image and following
every tensor it allocates and frees; they do not depend on the machine, so the choice, and with it the
result, is the same everywhere. An explicit tile size tiles as before; `tile=None` runs whole images.
"""

from __future__ import annotations

import math
import os
import re
import weakref
from collections.abc import Callable
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch.utils import _pytree as pytree
from torch.utils._python_dispatch import TorchDispatchMode

from ..errors import ClearerError
from .allocator import keep_freed_memory

TILE_OVERLAP = 64  # pixels two neighbouring tiles share; each keeps only the middle of the overlap
MEMORY_ENV = "CLEARER_INFERENCE_MEMORY"
MEMORY_BUDGET = 2 * 2**30  # default bytes of activations one network call may hold (a whole image or a tile)

Net = Callable[[torch.Tensor], torch.Tensor]
Tile = int | Literal["auto"] | None


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad [B,C,H,W] at the bottom/right (reflect; replicate when the image is too small to reflect)
    so H and W are multiples of `multiple`; returns the padded batch and the original (H, W)."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if ph == 0 and pw == 0:
        return x, (h, w)
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


def output_scale(out: torch.Tensor, inp: torch.Tensor) -> int:
    """How many times larger the network made its input (1 for restoration, 2-4 for super-resolution);
    any other change of size is an error."""
    (h, w), (oh, ow) = inp.shape[-2:], out.shape[-2:]
    scale = oh // h if h else 0
    if scale < 1 or (oh, ow) != (h * scale, w * scale):
        raise ClearerError(
            f"the network changed the image size from {(h, w)} to {(oh, ow)}; restore_image needs a network "
            "whose output has the input's height and width, or both times the same integer (super-resolution)."
        )
    return scale


def _run_padded(fn: Net, x: torch.Tensor, multiple: int) -> torch.Tensor:
    """fn on a batch padded to the multiple, cropped back to the input size (times the network's scale)."""
    padded, (h, w) = pad_to_multiple(x, multiple)
    out = fn(padded)
    scale = output_scale(out, padded)
    return out[..., : h * scale, : w * scale]


def tile_starts(length: int, tile: int, overlap: int, align: int = 1) -> list[int]:
    """Start offsets of tiles of size `tile` covering [0, length) with at least `overlap` overlap;
    with length and tile multiples of `align`, every start is too (so down-sampling grids line up)."""
    if tile >= length:
        return [0]
    stride = max((tile - overlap) // align * align, align)
    starts = list(range(0, length - tile, stride))
    return starts + [length - tile]


def owned_ranges(starts: list[int], tile: int, length: int) -> list[tuple[int, int]]:
    """For each tile, the [begin, end) it writes: overlaps are split at their midpoint, so every
    pixel comes from the tile where it lies farthest from a tile border."""
    cuts = [0] + [(s + prev + tile) // 2 for prev, s in zip(starts, starts[1:])] + [length]
    return list(zip(cuts[:-1], cuts[1:]))


def _run_tiled(fn: Net, x: torch.Tensor, multiple: int, tile: tuple[int, int], overlap: int) -> torch.Tensor:
    """fn on overlapping tiles (height, width) of a padded batch, stitched from the tiles' central parts.

    Tiles, overlaps and owned ranges are in input pixels; a super-resolution network's tile output is
    placed `scale` times further (its owned range scaled by the same factor)."""
    padded, (h, w) = pad_to_multiple(x, multiple)
    height, width = padded.shape[-2:]
    th, tw = min(tile[0], height), min(tile[1], width)
    rows, cols = tile_starts(height, th, overlap, multiple), tile_starts(width, tw, overlap, multiple)
    out: torch.Tensor | None = None
    s = 1
    for top, (r0, r1) in zip(rows, owned_ranges(rows, th, height)):
        for left, (c0, c1) in zip(cols, owned_ranges(cols, tw, width)):
            tile_in = padded[..., top : top + th, left : left + tw]
            piece = fn(tile_in)
            if out is None:
                s = output_scale(piece, tile_in)
                out = piece.new_zeros((*piece.shape[:-2], height * s, width * s))
            elif output_scale(piece, tile_in) != s:
                raise ClearerError(f"the network scaled one tile by {s} and another by {output_scale(piece, tile_in)}.")
            out[..., r0 * s : r1 * s, c0 * s : c1 * s] = piece[
                ..., (r0 - top) * s : (r1 - top) * s, (c0 - left) * s : (c1 - left) * s
            ]
    assert out is not None
    return out[..., : h * s, : w * s]


# ------------------------------------------------------------------------------------- tiles only when needed


def memory_budget() -> int:
    """Bytes of activations one network call may hold: CLEARER_INFERENCE_MEMORY ('3GiB', '512MiB', '1.5GB',
    plain bytes) or MEMORY_BUDGET (2 GiB)."""
    text = os.environ.get(MEMORY_ENV, "").strip()
    if not text:
        return MEMORY_BUDGET
    units = {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 2**10, "mib": 2**20, "gib": 2**30}
    match = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*([a-z]*)", text.lower())
    if not match or match.group(2) not in units or float(match.group(1)) <= 0:
        raise ClearerError(f"{MEMORY_ENV}={text!r} is not a memory size; give e.g. 4GiB, 512MiB or a number of bytes.")
    return int(float(match.group(1)) * units[match.group(2)])


class _PeakBytes(TorchDispatchMode):
    """Follows every tensor storage the ops under it create until it is freed; `peak` is the most bytes
    alive at once (views and in-place results share their storage and count once)."""

    def __init__(self) -> None:
        super().__init__()
        self.live = self.peak = 0
        self.sizes: dict[int, int] = {}  # data pointer -> bytes of the storages still alive

    def _freed(self, ptr: int) -> None:
        self.live -= self.sizes.pop(ptr, 0)

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in pytree.tree_leaves(out):
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                ptr = storage.data_ptr()
                if ptr and ptr not in self.sizes:
                    self.sizes[ptr] = storage.nbytes()
                    self.live += self.sizes[ptr]
                    self.peak = max(self.peak, self.live)
                    weakref.finalize(storage, self._freed, ptr).atexit = False
        return out


# per network: (channels, dtype, device) -> (constant bytes, bytes per pixel) of one call
_FOOTPRINTS: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], tuple[float, float]]] = weakref.WeakKeyDictionary()


def activation_footprint(fn: Net, like: torch.Tensor, multiple: int) -> tuple[float, float]:
    """(constant bytes, bytes per pixel) that one call of `fn` on a [1,C,H,W] image like `like` holds at
    its peak, measured once per network, input channels, dtype and device on two small probe images.

    Why two probes: what does not grow with the image (weights cast for autocast) is the intercept, the
    activations the slope, so a 12-Mpx estimate is not inflated by a constant spread over a tiny probe."""
    key = (like.shape[-3], like.dtype, like.device)
    try:
        cache = _FOOTPRINTS.setdefault(fn, {})
    except TypeError:  # not weak-referenceable: measure every time
        cache = {}
    if key not in cache:
        sides = (max(32, 4 * multiple), max(64, 8 * multiple))
        peaks = []
        for side in sides:
            with torch.inference_mode(), _PeakBytes() as meter:
                fn(like.new_zeros((1, like.shape[-3], side, side)))
            peaks.append(meter.peak)
        slope = max((peaks[1] - peaks[0]) / (sides[1] ** 2 - sides[0] ** 2), 0.0)
        cache[key] = (max(peaks[1] - slope * sides[1] ** 2, 0.0), slope)
    return cache[key]


def balanced_tile(length: int, largest: int, overlap: int, align: int) -> int:
    """The smallest tile (a multiple of `align`, at most `largest`) that covers `length` with as few
    tiles as `largest` would: 1700 px in tiles of at most 1576 become two tiles of 888, not of 1576."""
    if largest >= length:
        return length
    count = len(tile_starts(length, largest, overlap, align))
    tile = max(-(-(length + (count - 1) * overlap) // count), overlap + align)
    tile = -(-tile // align) * align
    while tile < largest and len(tile_starts(length, tile, overlap, align)) > count:
        tile += align
    return min(tile, largest)


def auto_tile(
    fn: Net, batch: torch.Tensor, multiple: int, overlap: int, budget: int | None = None
) -> tuple[int, int] | None:
    """None when `fn`'s activations on the whole (padded) batch fit `budget` bytes (default
    memory_budget()), else the (height, width) of the fewest, smallest tiles whose activations fit."""
    budget = memory_budget() if budget is None else budget
    constant, per_pixel = activation_footprint(fn, batch, multiple)
    per_pixel *= batch.shape[0]
    height, width = (-(-n // multiple) * multiple for n in batch.shape[-2:])
    room = max(budget - constant, 0.0)
    if per_pixel * height * width <= room:
        return None
    area = max(room / max(per_pixel, 1e-9), 1.0)
    floor = overlap + multiple
    side = max(int(math.sqrt(area)) // multiple * multiple, floor)
    th = tw = side
    if height <= side:  # one row of tiles: they may be as wide as the budget allows
        th, tw = height, max(int(area / height) // multiple * multiple, floor)
    elif width <= side:
        th, tw = max(int(area / width) // multiple * multiple, floor), width
    return balanced_tile(height, th, overlap, multiple), balanced_tile(width, tw, overlap, multiple)


# self-ensemble views, (quarter turns, mirrored): all 8, or the 4 that keep vertical lines vertical
EVERY_VIEW = tuple((k, flip) for k in range(4) for flip in (False, True))
UPRIGHT_VIEWS = tuple((k, flip) for k in (0, 2) for flip in (False, True))


def _forward(x: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
    x = torch.rot90(x, k, (-2, -1))
    return x.flip(-1) if flip else x


def _inverse(x: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
    x = x.flip(-1) if flip else x
    return torch.rot90(x, -k, (-2, -1))


def restore_image(
    fn: Net,
    image: torch.Tensor,
    multiple: int,
    tile: Tile = None,
    overlap: int = 32,
    self_ensemble: bool = False,
    budget: int | None = None,
    upright: bool = False,
) -> torch.Tensor:
    """Apply a restoration network to a [C,H,W] or [B,C,H,W] image of any size; same shape out (a
    super-resolution network's output: height and width times its scale).

    Why: networks with down-sampling need sizes divisible by `multiple` (reflect-padded, cropped
    back); tiles bound memory on large images by running overlapping tiles (tile rounded down to
    the multiple, tile offsets on the multiple's grid, overlap at least `overlap`; all in input pixels,
    the low-resolution ones for super-resolution) and keeping each
    tile's centre, which matches the untiled result when the receptive field radius is below
    overlap/2; `self_ensemble` averages the 8 flips/rotations
    (each transformed back) for the usual small test-time gain, or with `upright` (a network that never
    saw sideways inputs: engine.build.upright) the 4 without a quarter turn.

    `tile`: None runs whole images; an int tiles every image larger than it in square tiles of that
    size; "auto" runs whole images when `fn`'s activations fit `budget` bytes (default memory_budget())
    and tiles sized to the budget otherwise (module docstring).
    """
    if multiple < 1:
        raise ClearerError(f"multiple must be a positive integer, got {multiple}")
    if image.dim() not in (3, 4):
        raise ClearerError(f"restore_image expects [C,H,W] or [B,C,H,W], got shape {tuple(image.shape)}")
    if isinstance(tile, str) and tile != "auto":
        raise ClearerError(f"tile must be a number of pixels, 'auto' or None (whole images); got {tile!r}.")
    if isinstance(tile, int):
        tile = tile - tile % multiple
        if overlap < 0 or tile < overlap + multiple:
            raise ClearerError(
                f"tile must be at least overlap + multiple = {overlap} + {multiple}; got tile={tile} after "
                f"rounding down to a multiple of {multiple}. Use a larger tile or a smaller overlap."
            )
    keep_freed_memory()
    single = image.dim() == 3
    x = image.unsqueeze(0) if single else image

    def run(batch: torch.Tensor) -> torch.Tensor:
        if tile == "auto":
            tiles = auto_tile(fn, batch, multiple, overlap, budget)
            return (
                _run_padded(fn, batch, multiple) if tiles is None else _run_tiled(fn, batch, multiple, tiles, overlap)
            )
        if tile is not None and max(batch.shape[-2:]) > tile:
            return _run_tiled(fn, batch, multiple, (tile, tile), overlap)
        return _run_padded(fn, batch, multiple)

    with torch.inference_mode():
        if self_ensemble:
            views = UPRIGHT_VIEWS if upright else EVERY_VIEW
            out = sum(_inverse(run(_forward(x, k, f)), k, f) for k, f in views) / len(views)
        else:
            out = run(x)
    return out.squeeze(0) if single else out
