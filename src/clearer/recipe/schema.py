"""What a recipe holds: every key, its type, default and valid range (the file a recipe's author reads).

A "ref" is a registered part with its arguments: {"name": <registered name or class>, **kwargs}; a bare
name is shorthand for {"name": name}. Numbers carry their valid range (`number(...)`), checked when the
recipe is resolved.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ClearerError
from .refs import DatasetRef, DegradationRef, LossName, LossRef, SpaceRef, StrategyRef
from .validation import check_section


def ref(**kw: Any) -> Any:
    """A ref's default (each recipe gets its own copy)."""
    return field(default_factory=lambda: copy.deepcopy(kw))


def number(
    default: Any,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
    one_of: tuple[Any, ...] | None = None,
) -> Any:
    """A schema number with its valid range, checked at resolve time.

    Why: `search.epochs=-1` or `data.batch=0` must fail when the recipe is resolved (`clearer show`
    already), not skip a phase silently or crash an hour into a run.
    """
    return field(default=default, metadata={"low": low, "high": high, "above": above, "one_of": one_of})


@dataclass
class DataConfig:
    """Where images come from and how they are degraded into training pairs."""

    train: DatasetRef = ref(name="bsds500", split="train")
    alpha: DatasetRef = ref(name="bsds500", split="val", exclude="bsd68")  # the α split: architecture steps
    degradation: DegradationRef = ref(name="gaussian", sigma=50.0)
    channels: int = number(1, one_of=(1, 3))
    patch: int = number(64, low=1)
    batch: int = number(32, low=1)


@dataclass
class SearchConfig:
    """Architecture search: strategy, budget and the loss terms of L = L_restore + Σ λ·L_arch."""

    strategy: StrategyRef = ref(name="bilevel")
    epochs: int = number(200, low=1)
    steps_per_epoch: int = number(50, low=1)
    loss: LossRef = ref(name="mse")
    arch_losses: dict[LossName, float] = field(
        default_factory=lambda: {"binary_entropy": 0.01, "expected_cost": 0.01}, metadata={"low": 0}
    )
    cost: Literal["params", "flops"] = "params"
    # after the search, the supernet estimates this many architectures of its space (all when it has
    # fewer; a seeded sample otherwise) for its ranking to be judged against a ground truth; 0: none
    one_shot: int = number(64, low=0)


@dataclass
class RetrainConfig:
    """Training the derived architecture from scratch."""

    epochs: int = number(1000, low=1)
    steps_per_epoch: int = number(100, low=1)
    lr: float = number(1e-2, above=0)
    min_lr: float = number(1e-5, low=0)
    weight_decay: float = number(0.0, low=0)
    grad_clip: float = number(5.0, above=0)
    loss: LossRef = ref(name="mse")
    patch: int | None = number(None, low=1)
    batch: int | None = number(None, low=1)
    architecture: dict[str, str] | None = None
    # retrain at one cost, whatever the architecture: the space's width is scaled until the network's
    # FLOPs per pixel or parameters are within ±5 % of the target, e.g. dict(flops=60000) (spaces/match.py)
    match_cost: dict[Literal["flops", "params"], float] | None = number(None, above=0)
    # PSNR after every epoch on this many α-split images (data.alpha, never a test set); the best epoch's
    # weights are kept as model_best.safetensors beside the last. 0: no validation.
    val_images: int = 4


@dataclass
class EvalConfig:
    """Test sets, metric protocol and inference settings."""

    sets: list[DatasetRef] = field(default_factory=lambda: [{"name": "bsds500", "split": "test"}])
    protocol: Literal["clearer", "standard", "sr"] = "clearer"
    self_ensemble: bool = False
    # tile size in pixels, None for whole images, or "auto": whole when the activations fit the inference
    # memory budget, else tiles sized to it (clearer.train.inference). 512 stays the default so recipe
    # hashes (and with them comparison folders and ground-truth tables) do not change; the shipped test
    # sets (at most 512 px a side) run whole with it.
    tile: int | Literal["auto"] | None = number(512, low=1)
    samples: int = number(3, low=0)


@dataclass
class Recipe:
    """One experiment, fully resolved: every value plain data, every part a registered name."""

    name: str = "experiment"
    seed: int = number(0, low=0, high=2**32 - 1)
    device: str = "auto"
    channels_last: bool = True
    autocast: Literal["auto", "none", "bf16"] = "auto"
    tracking: Literal["csv", "tensorboard"] = "csv"  # metrics.csv always; TensorBoard scalars/images too
    compile: Literal["auto", "off", "on"] = "auto"  # torch.compile the training network (auto: on CUDA)
    space: SpaceRef = ref(name="clearer")
    data: DataConfig = field(default_factory=DataConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    retrain: RetrainConfig = field(default_factory=RetrainConfig)
    evaluate: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self) -> None:
        # Why: the name becomes a folder under runs/ (runs/<name>/<time>), so a path would write elsewhere
        if not isinstance(self.name, str) or self.name in ("", ".", "..") or any(c in self.name for c in "/\\\0"):
            raise ClearerError(
                f"name is the run's folder name under runs/, not a path; got {self.name!r}. Use a plain name "
                "(letters, digits, '-', '_', '.'), and --out to put a run elsewhere."
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        """Check every key, type and range of a recipe dict (ClearerError naming the key) and build it."""
        return check_section(cls, data, "")

    def hash(self) -> str:
        """Short content hash of the resolved recipe (names runs and weight headers)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:10]
