"""Turn resolved recipe refs ({"name": ..., **kwargs}) into objects."""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch

from ..contracts import Degradation
from ..errors import ClearerError
from ..recipe import Recipe
from ..registry import DATASETS, DEGRADATIONS, LOSSES, SPACES, STRATEGIES


def build_space(recipe: Recipe, architecture: dict[str, str] | None = None) -> torch.nn.Module:
    """The recipe's network: the supernet, or only `architecture`'s choices when one is given."""
    return SPACES.build(recipe.space, channels=recipe.data.channels, architecture=architecture)


def build_degradation(recipe: Recipe, **extra: Any) -> Degradation:
    """The recipe's degradation; `extra` replaces its arguments (an evaluation protocol's clip/quantize)."""
    return DEGRADATIONS.build({**recipe.data.degradation, **extra})


def parse_device(name: str) -> torch.device | None:
    """The torch device a recipe names (None for 'auto'); an unknown name is a ClearerError."""
    if name == "auto":
        return None
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        device = None
    if device is not None and device.type in ("cpu", "cuda", "mps"):
        return device
    raise ClearerError(f"device={name!r} is not a device clearer can use; use 'auto' (CUDA when "
                       "available, else the CPU), 'cpu', 'cuda' or 'cuda:N' (--set device=cpu).")


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA when available, else the CPU; a device this machine lacks is a ClearerError."""
    device = parse_device(name)
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (device.index or 0) >= count:
            raise ClearerError(
                f"device={name!r} but this machine has {count} CUDA device(s)"
                f"{'' if torch.version.cuda else ' (this torch build has no CUDA)'}; use device='auto' "
                "or 'cpu' (--set device=cpu).")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ClearerError(f"device={name!r} is not available here; use device='auto' or 'cpu'.")
    return device


def check_recipe(recipe: Recipe, run: bool = False) -> None:
    """Build every part a run needs once, so a bad value fails at resolve time, before a run folder is
    written: the network (unknown candidate, architecture), the degradation (σ), the losses, the strategy,
    the device name and the tile size; with `run`, also the device and the datasets on this machine.
    """
    from ..metrics import get_protocol
    from .evaluate import OVERLAP
    space = _part("space", lambda: build_space(recipe, recipe.retrain.architecture))
    multiple = int(getattr(space, "multiple", 1))
    data, cfg = recipe.data, recipe.evaluate
    for key, patch in (("data.patch", data.patch), ("retrain.patch", recipe.retrain.patch)):
        if patch is not None and patch % multiple:
            raise ClearerError(f"{key}={patch} must be a multiple of {multiple} (the network halves the "
                               f"image {multiple.bit_length() - 1} times); e.g. --set {key}="
                               f"{max(multiple, patch // multiple * multiple)}.")
    if cfg.tile is not None and cfg.tile - cfg.tile % multiple < OVERLAP + multiple:
        raise ClearerError(f"evaluate.tile={cfg.tile} is too small: tiles overlap by {OVERLAP} pixels, "
                           f"so a tile needs at least {OVERLAP + multiple} (a multiple of {multiple}); "
                           "use e.g. --set evaluate.tile=512, or evaluate.tile=None for whole images.")
    _part("data.degradation", lambda: build_degradation(recipe))
    _part("search.loss", lambda: LOSSES.build(recipe.search.loss))
    _part("retrain.loss", lambda: LOSSES.build(recipe.retrain.loss))
    if recipe.retrain.architecture is None:
        _part("search.strategy", lambda: STRATEGIES.build(recipe.search.strategy))
    parse_device(recipe.device)
    get_protocol(cfg.protocol)
    if run:
        resolve_device(recipe.device)
        for key, ref in [("data.train", data.train), ("data.alpha", data.alpha)] + [
                (f"evaluate.sets[{i}]", ref) for i, ref in enumerate(cfg.sets)]:
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


def bf16_is_fast(device: torch.device) -> bool:
    """True where bf16 autocast is the faster choice, as measured by benchmarks/search_step.py.

    On a Xeon with AMX it makes a paper-size search step 2.4x faster than float32 channels_last. On
    CPUs without AMX/AVX512-BF16 bf16 is emulated and slower. On an H200 the paper-size steps are
    launch-bound and bf16 was slower than float32 channels_last (0.135 vs 0.102 s), so CUDA keeps float32.
    """
    if device.type != "cpu":
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


def use_autocast(recipe: Recipe, device: torch.device) -> bool:
    """Resolve the recipe's autocast setting ('auto' -> bf16 where it is fast) for training steps."""
    if recipe.autocast == "auto":
        return bf16_is_fast(device)
    return recipe.autocast == "bf16"
