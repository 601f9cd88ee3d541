"""Turn resolved recipe refs ({"name": ..., **kwargs}) into objects."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from torch.nn.modules.module import register_module_parameter_registration_hook

from ..contracts import Degradation
from ..data.stream import PairStream, make_stream
from ..errors import ClearerError
from ..recipe import Recipe
from ..registry import DATASETS, DEGRADATIONS, LOSSES, SPACES, STRATEGIES
from ..spaces.match import CostMatch, match_cost, parse_target
from ..train.device import parse_device, resolve_device
from ..train.inference import TILE_OVERLAP


def build_space(recipe: Recipe, architecture: dict[str, str] | None = None) -> torch.nn.Module:
    """The recipe's network: the supernet, or only `architecture`'s choices when one is given (at the
    width `retrain.match_cost` asks for, when it asks for one)."""
    return SPACES.build(network_ref(recipe, architecture), channels=recipe.data.channels, architecture=architecture)


# weights, gradients and two optimiser moments, in float32: what training holds per parameter at least
BYTES_PER_PARAMETER = 16
# far above any network clearer trains (the paper's supernet has 559), low enough to stop within seconds
MAX_PARAMETER_TENSORS = 20_000


def memory_bytes() -> int:
    """This machine's physical memory (the budget a network's parameters are checked against)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def plan_space(recipe: Recipe, architecture: dict[str, str] | None = None) -> torch.nn.Module:
    """The recipe's network built on the meta device (shapes only, no memory), for its structure
    (`multiple`, choice points, parameter count); refused as soon as its parameters alone would need
    more than this machine's memory to train.

    Why: a space's size grows fast with its settings (each cell of the clearer space doubles the widest
    branch), so a mistyped `space.cells=50` must be answered before a single real module is made.
    """
    limit = memory_bytes() // BYTES_PER_PARAMETER
    counted, tensors = 0, 0

    def count(module: torch.nn.Module, name: str, param: Any) -> None:
        nonlocal counted, tensors
        counted, tensors = counted + (param.numel() if param is not None else 0), tensors + 1
        if counted > limit or tensors > MAX_PARAMETER_TENSORS:
            raise _TooLarge

    handle = register_module_parameter_registration_hook(count)
    try:
        with torch.device("meta"):
            return build_space(recipe, architecture)
    except _TooLarge:
        pass
    except RuntimeError as err:  # e.g. a tensor size that overflows: far beyond any budget
        if "overflow" not in str(err):
            raise
    finally:
        handle.remove()
    size = (
        f"more than {MAX_PARAMETER_TENSORS:,} parameter tensors (layers)"
        if tensors > MAX_PARAMETER_TENSORS
        else f"more than {limit:,} parameters, which need more than this machine's {memory_bytes() / 2**30:.0f} "
        f"GiB to train ({BYTES_PER_PARAMETER} bytes each for weights, gradients and optimiser state)"
    )
    raise ClearerError(
        f"the {recipe.space.get('name')!r} space with these settings has {size}; make it smaller "
        "(e.g. space.cells, space.columns, space.width, space.stem_blocks)."
    )


class _TooLarge(Exception):
    """Raised inside plan_space's counting hook to stop building a network that cannot fit."""


def network_ref(recipe: Recipe, architecture: dict[str, str] | None = None) -> dict[str, Any]:
    """The space ref a network is built from: the recipe's, with the matched width for a fixed
    architecture under `retrain.match_cost`, and the degradation's `scale` for super-resolution (the one
    place every builder of a network goes through, so training, loading, evaluating and exporting agree).

    Why the scale comes from the degradation: one value says how much smaller the inputs are, so
    `--set data.degradation.scale=3` or a variant that swaps the space (DARTS) cannot disagree with it."""
    ref = dict(recipe.space)
    scale = data_scale(recipe)
    if scale > 1:
        if ref.get("scale", scale) != scale:
            raise ClearerError(
                f"space.scale={ref['scale']!r} but the degradation makes inputs {scale} times smaller "
                f"(data.degradation.scale={scale}); leave space.scale out, it follows the degradation."
            )
        ref["scale"] = scale
    match = cost_match(recipe, architecture)
    return ref if match is None else {**ref, "width": match.width}


def data_scale(recipe: Recipe) -> int:
    """How many times smaller the degradation makes its inputs (1 for every same-size degradation)."""
    return int(getattr(build_degradation(recipe), "scale", 1))


def cost_match(recipe: Recipe, architecture: dict[str, str] | None) -> CostMatch | None:
    """The width and cost `retrain.match_cost` gives `architecture` (None without a target or for the supernet)."""
    if architecture is None or recipe.retrain.match_cost is None:
        return None
    return match_cost(recipe.space, recipe.data.channels, architecture, recipe.retrain.match_cost)


def build_degradation(recipe: Recipe, **extra: Any) -> Degradation:
    """The recipe's degradation; `extra` replaces its arguments (an evaluation protocol's clip/quantize)."""
    return DEGRADATIONS.build({**recipe.data.degradation, **extra})


def upright(recipe: Recipe) -> bool:
    """Whether the recipe's degradation has a direction that quarter turns break (rain falls down):
    clean crops are turned before it is applied, so the network never sees it sideways. (Real pairs
    are turned with their rain; for them the 4 upright views are merely fewer, never wrong, and
    deciding from the degradation alone needs no data folder, which a loaded model may not have.)"""
    return bool(getattr(build_degradation(recipe), "upright", False))


def build_stream(
    recipe: Recipe,
    split: dict[str, Any],
    seed: int,
    device: torch.device,
    patch: int | None = None,
    batch: int | None = None,
) -> PairStream:
    """This process's training stream of one data split of the recipe, degraded as the recipe says; the
    patch and batch default to the recipe's data section."""
    data = recipe.data
    return make_stream(
        DATASETS.build(split),
        build_degradation(recipe),
        data.channels,
        patch or data.patch,
        batch or data.batch,
        seed,
        device,
        recipe.channels_last,
    )


def check_recipe(recipe: Recipe, run: bool = False) -> None:
    """Build every part a run needs once, so a bad value fails at resolve time, before a run folder is
    written: the network on the meta device (unknown candidate, architecture, size, patch vs multiple), the degradation (σ), the losses, the strategy,
    the device name and the tile size; with `run`, also the device and the datasets on this machine.
    """
    from ..metrics import get_protocol

    if recipe.retrain.match_cost is not None:
        _part("retrain.match_cost", lambda: parse_target(recipe.retrain.match_cost))
    _part("data.degradation", lambda: build_degradation(recipe))
    space = _part("space", lambda: plan_space(recipe, recipe.retrain.architecture))
    multiple = int(getattr(space, "multiple", 1))
    scale = int(getattr(space, "scale", 1))
    data, cfg = recipe.data, recipe.evaluate
    for key, patch in (("data.patch", data.patch), ("retrain.patch", recipe.retrain.patch)):
        if patch is not None and patch % (multiple * scale):
            need = multiple * scale
            why = f"the network halves the image {multiple.bit_length() - 1} times"
            why += f" at 1/{scale} of the patch size" if scale > 1 else ""
            raise ClearerError(
                f"{key}={patch} must be a multiple of {need} ({why}); e.g. --set {key}={max(need, patch // need * need)}."
            )
    if isinstance(cfg.tile, int) and cfg.tile - cfg.tile % multiple < TILE_OVERLAP + multiple:
        raise ClearerError(
            f"evaluate.tile={cfg.tile} is too small: tiles overlap by {TILE_OVERLAP} pixels, "
            f"so a tile needs at least {TILE_OVERLAP + multiple} (a multiple of {multiple}); "
            "use e.g. --set evaluate.tile=512, evaluate.tile=auto, or evaluate.tile=None for whole images."
        )
    _part("search.loss", lambda: LOSSES.build(recipe.search.loss))
    _part("retrain.loss", lambda: LOSSES.build(recipe.retrain.loss))
    if recipe.retrain.architecture is None:
        _part("search.strategy", lambda: STRATEGIES.build(recipe.search.strategy))
    parse_device(recipe.device)
    get_protocol(cfg.protocol)
    if run:
        resolve_device(recipe.device)
        for key, ref in [("data.train", data.train), ("data.alpha", data.alpha)] + [
            (f"evaluate.sets[{i}]", ref) for i, ref in enumerate(cfg.sets)
        ]:
            _part(key, partial(DATASETS.build, ref))


def _part(key: str, make: Callable[[], Any]) -> Any:
    """Build one part; its error names the recipe key it came from."""
    try:
        return make()
    except ClearerError as err:
        raise ClearerError(f"{key}: {err}") from None
    except (TypeError, ValueError) as err:  # a part's own argument checks
        raise ClearerError(f"{key}: cannot build it with these arguments: {err}") from None


def set_name(ref: dict[str, Any]) -> str:
    """A short label for a dataset ref: 'bsds500-test', 'bsd68', 'image_folder-rain'."""
    extras = [str(v) for k, v in ref.items() if k in ("split", "path")]
    name = str(ref["name"]).rsplit(":", 1)[-1]
    return "-".join([name] + [e.rstrip("/").rsplit("/", 1)[-1] for e in extras])
