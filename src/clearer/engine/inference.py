"""Run a restoration network on whole images of any size: padding, tiling, self-ensemble."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..errors import ClearerError

TILE_OVERLAP = 64  # pixels two neighbouring tiles share; each keeps only the middle of the overlap

Net = Callable[[torch.Tensor], torch.Tensor]


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad [B,C,H,W] at the bottom/right (reflect; replicate when the image is too small to reflect)
    so H and W are multiples of `multiple`; returns the padded batch and the original (H, W)."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if ph == 0 and pw == 0:
        return x, (h, w)
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


def _run_padded(fn: Net, x: torch.Tensor, multiple: int) -> torch.Tensor:
    """fn on a batch padded to the multiple, cropped back to the input size."""
    padded, (h, w) = pad_to_multiple(x, multiple)
    out = fn(padded)
    if out.shape[-2:] != padded.shape[-2:]:
        raise ClearerError(
            f"the network changed the image size from {tuple(padded.shape[-2:])} to {tuple(out.shape[-2:])}; "
            "restore_image needs a network whose output has the input's height and width."
        )
    return out[..., :h, :w]


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


def _run_tiled(fn: Net, x: torch.Tensor, multiple: int, tile: int, overlap: int) -> torch.Tensor:
    """fn on overlapping tiles of a padded batch, stitched from the tiles' central parts."""
    padded, (h, w) = pad_to_multiple(x, multiple)
    height, width = padded.shape[-2:]
    th, tw = min(tile, height), min(tile, width)
    rows, cols = tile_starts(height, th, overlap, multiple), tile_starts(width, tw, overlap, multiple)
    out: torch.Tensor | None = None
    for top, (r0, r1) in zip(rows, owned_ranges(rows, th, height)):
        for left, (c0, c1) in zip(cols, owned_ranges(cols, tw, width)):
            piece = fn(padded[..., top : top + th, left : left + tw])
            if piece.shape[-2:] != (th, tw):
                raise ClearerError(
                    f"the network changed a {th}x{tw} tile to {tuple(piece.shape[-2:])}; restore_image "
                    "needs a network whose output has the input's height and width."
                )
            if out is None:
                out = piece.new_zeros((*piece.shape[:-2], height, width))
            out[..., r0:r1, c0:c1] = piece[..., r0 - top : r1 - top, c0 - left : c1 - left]
    assert out is not None
    return out[..., :h, :w]


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
    tile: int | None = None,
    overlap: int = 32,
    self_ensemble: bool = False,
) -> torch.Tensor:
    """Apply a restoration network to a [C,H,W] or [B,C,H,W] image of any size; same shape out.

    Why: networks with down-sampling need sizes divisible by `multiple` (reflect-padded, cropped
    back); `tile` bounds memory on large images by running overlapping tiles (tile rounded down to
    the multiple, tile offsets on the multiple's grid, overlap at least `overlap`) and keeping each
    tile's centre, which matches the untiled result when the receptive field radius is below
    overlap/2; `self_ensemble` averages the 8 flips/rotations
    (each transformed back) for the usual small test-time gain.
    """
    if multiple < 1:
        raise ClearerError(f"multiple must be a positive integer, got {multiple}")
    if image.dim() not in (3, 4):
        raise ClearerError(f"restore_image expects [C,H,W] or [B,C,H,W], got shape {tuple(image.shape)}")
    if tile is not None:
        tile = tile - tile % multiple
        if overlap < 0 or tile < overlap + multiple:
            raise ClearerError(
                f"tile must be at least overlap + multiple = {overlap} + {multiple}; got tile={tile} after "
                f"rounding down to a multiple of {multiple}. Use a larger tile or a smaller overlap."
            )
    single = image.dim() == 3
    x = image.unsqueeze(0) if single else image

    def run(batch: torch.Tensor) -> torch.Tensor:
        if tile is not None and max(batch.shape[-2:]) > tile:
            return _run_tiled(fn, batch, multiple, tile, overlap)
        return _run_padded(fn, batch, multiple)

    with torch.inference_mode():
        if self_ensemble:
            views = [(k, flip) for k in range(4) for flip in (False, True)]
            out = sum(_inverse(run(_forward(x, k, f)), k, f) for k, f in views) / len(views)
        else:
            out = run(x)
    return out.squeeze(0) if single else out
