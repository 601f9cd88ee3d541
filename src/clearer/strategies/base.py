"""What every search strategy shares: α logits per choice point, probabilities, state, derivation.

Also the pieces several strategies reuse, kept here so they are written once: `WeightSharing` (the
supernet's shared weights, stepped by the engine's one `Trainer`) and `Alternating` (adds the α
optimiser, warm-up and BatchNorm mode of an architecture step on the other split).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor, nn

from ..contracts import SearchContext
from ..errors import ClearerError, check_min
from ..nn.mode import train_mode
from ..spaces.choice import Supernet
from ..train.trainer import Batch, OptimConfig, Trainer, restore_forward


class StrategyBase:
    """What most strategies share (one fits `contracts.Strategy` without it): α logits per choice point,
    their probabilities, state and the derived architecture."""

    searches: bool = True  # False: nothing to learn, the engine skips the search loop

    def prepare(self, space: Supernet, network: nn.Module, ctx: SearchContext) -> None:
        """`space` is the supernet; `network` is what to call (the space itself, or its DDP wrapper)."""
        self.space, self.network, self.ctx = space, network, ctx
        device = next(space.parameters()).device
        self.alpha = nn.ParameterDict(
            {label_key(c.label): nn.Parameter(torch.zeros(len(c.candidates), device=device)) for c in space.choices()}
        )

    def step(self, train_batch: Batch, alpha_batch: Batch, epoch: int) -> dict[str, float | Tensor]:
        """One search step on a batch of the weights' split and one of the α split; returns its losses as
        floats or 0-d tensors (tensors spare a GPU a host sync)."""
        raise NotImplementedError

    def probabilities(self) -> dict[str, Tensor]:
        return {c.label: torch.softmax(self.alpha[label_key(c.label)], 0) for c in self.space.choices()}

    def derive(self) -> dict[str, str]:
        return self.space.derive(self.probability_lists())

    def probability_lists(self) -> dict[str, list[float]]:
        return {k: [round(float(p), 6) for p in v.detach().cpu()] for k, v in self.probabilities().items()}

    def describe(self) -> str:
        """A line for the run log on how this strategy learns α ('' when there is nothing to say)."""
        return ""

    def alpha_signal(self) -> dict[str, dict[str, float]]:
        """Per choice point, the α-gradient statistics since the last call ({} when α has no gradient)."""
        return {}

    def learning_rates(self) -> dict[str, float]:
        """The current learning rates, by the column names of metrics.csv ({} when nothing is trained)."""
        return {}

    def arch_penalty(self, probs: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """Σ λ·regulariser(α): the architecture terms of the loss, with each term for logging."""
        total = torch.zeros((), device=next(iter(probs.values())).device)
        parts: dict[str, Tensor] = {}
        for name, (weight, fn) in self.ctx.arch_losses.items():
            value = fn(probs, self.ctx.costs)
            parts[name] = value.detach()  # a tensor: no host sync per step (the loop reads it per epoch)
            total = total + weight * value
        return total, parts

    def state_dict(self) -> dict[str, Any]:
        return {"alpha": {k: v.detach().clone() for k, v in self.alpha.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            for k, v in state["alpha"].items():
                self.alpha[k].copy_(v)


def label_key(label: str) -> str:
    """ParameterDict keys cannot hold '/' or '.'."""
    return label.replace("/", "__").replace(".", "_")


def grads_of(loss: Tensor, wrt: list[Tensor], retain_graph: bool = False) -> list[Tensor]:
    """d loss / d wrt, zeros where `loss` does not depend on a tensor."""
    out = torch.autograd.grad(loss, wrt, allow_unused=True, retain_graph=retain_graph)
    return [torch.zeros_like(w) if g is None else g for w, g in zip(wrt, out)]


def architecture_weights(
    space: Supernet, architecture: dict[str, str], device: torch.device | str
) -> tuple[dict[str, Tensor], dict[str, list[int]]]:
    """One-hot weights and `active` indices that make a supernet compute only `architecture`."""
    weights, active = {}, {}
    for c in space.choices():
        i = c.candidates.index(architecture[c.label])
        weights[c.label] = torch.nn.functional.one_hot(torch.tensor(i), len(c.candidates)).float().to(device)
        active[c.label] = [i]
    return weights, active


class WeightSharing(StrategyBase):
    """Base of strategies that train the supernet's shared weights (through the engine's `Trainer`:
    SGD/Adam, cosine learning rate over the whole search, clipping)."""

    def __init__(self, weights: OptimConfig) -> None:
        self.weight_config = weights

    def prepare(self, space: Supernet, network: nn.Module, ctx: SearchContext) -> None:
        super().prepare(space, network, ctx)
        self.trainer = Trainer(
            network, space.parameters(), self.weight_config, ctx.total_steps, ctx.restore_loss, ctx.autocast
        )

    def weight_step(
        self, train_batch: Batch, mixing: dict[str, Tensor], active: dict[str, list[int]] | None = None
    ) -> Tensor:
        """One trainer step of the shared weights on L_restore with fixed mixing weights."""
        self.space.set_weights(mixing, active)
        return self.trainer.step(train_batch)

    def learning_rates(self) -> dict[str, float]:
        return {"lr": self.trainer.last_lr()}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "trainer": self.trainer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.trainer.load_state_dict(state["trainer"])


@dataclass(frozen=True)
class AlphaConfig:
    """The α optimiser (Adam); a recipe writes it as a dict, e.g. `alpha=dict(movement=8.0)`.

    Its learning rate is `lr` when given, else `movement / α steps`: Adam moves a logit by about its
    learning rate per step when the gradient keeps its sign, so `movement` is the total logit movement
    the search can make, the same at any budget (a gap of ln 9 = 2.2 between two logits is p = 0.9).
    Weight decay on α is decoupled (AdamW) by default and 0; `decay="coupled"` adds it to the gradient
    as the released CLEARER code does (Adam, 1e-3), which pins α near uniform because α gradients of an
    MSE loss are 1e-5..1e-4 (docs/search.md).
    """

    lr: float | None = field(default=None, metadata={"above": 0})
    movement: float = 8.0
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    weight_decay: float = field(default=0.0, metadata={"low": 0})
    decay: Literal["decoupled", "coupled"] = "decoupled"


class Alternating(WeightSharing):
    """Base of strategies alternating an α step (on the α split, `AlphaConfig`) with a weight step."""

    def __init__(
        self, warmup_epochs: int, bn_mode: Literal["train", "eval"], weights: OptimConfig, alpha: AlphaConfig
    ) -> None:
        super().__init__(weights)
        owner = type(self).__name__
        check_min(owner, 0, warmup_epochs=warmup_epochs)
        if len(alpha.betas) != 2 or not all(0 <= b < 1 for b in alpha.betas):
            raise ClearerError(f"{owner}: alpha.betas must be two numbers in [0, 1), got {list(alpha.betas)!r}.")
        if alpha.decay not in ("decoupled", "coupled"):
            raise ClearerError(
                f"alpha.decay must be 'decoupled' (AdamW) or 'coupled' (Adam, as the released "
                f"CLEARER code), got {alpha.decay!r}."
            )
        if alpha.lr is None and not alpha.movement > 0:
            raise ClearerError(
                f"alpha.movement must be > 0 (total logit movement of the search), got "
                f"{alpha.movement!r}; or give an explicit alpha.lr."
            )
        self.warmup_epochs, self.bn_mode, self.alpha_config = warmup_epochs, bn_mode, alpha
        self.grad_trace: dict[str, list[Tensor]] = {}

    def alpha_steps(self) -> int:
        """How many α steps the search takes: one per step after the warm-up epochs."""
        epochs = self.ctx.total_steps // max(self.ctx.steps_per_epoch, 1)
        return max(epochs - self.warmup_epochs, 0) * self.ctx.steps_per_epoch

    def alpha_lr(self) -> float:
        """`alpha.lr` if given, else `alpha.movement` spread over the search's α steps."""
        cfg = self.alpha_config
        return cfg.lr if cfg.lr is not None else cfg.movement / max(self.alpha_steps(), 1)

    def describe(self) -> str:
        cfg = self.alpha_config
        how = "" if cfg.lr is not None else f" (movement {cfg.movement:g} over {self.alpha_steps()} α steps)"
        decay = f", {cfg.decay} weight decay {cfg.weight_decay:g}" if cfg.weight_decay else ", no weight decay"
        return f"α: Adam lr {self.alpha_lr():.3g}{how}{decay}, betas {list(cfg.betas)}, BatchNorm {self.bn_mode}"

    def prepare(self, space: Supernet, network: nn.Module, ctx: SearchContext) -> None:
        super().prepare(space, network, ctx)
        cfg, params, lr = self.alpha_config, self.alpha.parameters(), self.alpha_lr()
        adam = torch.optim.Adam if cfg.decay == "coupled" else torch.optim.AdamW
        self.alpha_optimizer: torch.optim.Optimizer = adam(
            params, lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay
        )

    def learning_rates(self) -> dict[str, float]:
        return {**super().learning_rates(), "arch_lr": self.alpha_optimizer.param_groups[0]["lr"]}

    def arch_update(
        self,
        alpha_batch: Batch,
        mixing: dict[str, Tensor],
        active: dict[str, list[int]] | None,
        probs: dict[str, Tensor],
    ) -> dict[str, Tensor]:
        """One first-order α step: L_restore(mixing) + Σ λ·L_arch(probs) on the α split's batch;
        `mixing` must depend on α (softmax, or a straight-through sample)."""
        with train_mode(self.space, self.bn_mode == "train"):
            self.space.set_weights(mixing, active)
            # the bare space, not a DDP wrapper: only α gradients are wanted, averaged by grad_sync
            restore = restore_forward(self.space, alpha_batch, self.ctx.restore_loss, self.ctx.autocast)
            penalty, parts = self.arch_penalty(probs)
            alphas = list(self.alpha.parameters())
            # α gradients only: skips the weight gradients a first-order architecture step never uses;
            # the restoration part apart, for the signal-to-noise trace. The penalty's (α-only) graph is
            # differentiated first and kept: the network's backward runs last and once, without
            # retain_graph, which a compiled network's backward (donated buffers) refuses.
            if penalty.requires_grad:
                extra = grads_of(penalty, alphas, retain_graph=True)
            else:
                extra = [torch.zeros_like(a) for a in alphas]
            signal = grads_of(restore, alphas)
            self.ctx.grad_sync(signal)
            self.apply_alpha_grads([g + e for g, e in zip(signal, extra)], signal)
        return {"arch_loss": restore.detach(), **parts}

    def apply_alpha_grads(self, grads: list[Tensor], signal: list[Tensor]) -> None:
        """One optimiser step on α with `grads`; `signal` (the restoration part) joins the epoch's trace."""
        for alpha, grad in zip(self.alpha.parameters(), grads):
            alpha.grad = grad
        self.alpha_optimizer.step()
        for key, g in zip(self.alpha.keys(), signal):
            self.grad_trace.setdefault(key, []).append(g.detach().float())  # stays on the device: read per epoch

    def alpha_signal(self) -> dict[str, dict[str, float]]:
        """Per choice point, over the α steps since the last call: ‖mean g‖, the spread of g around it
        (root mean squared distance) and their ratio, the signal-to-noise of one α step's gradient."""
        out = {}
        for c in self.space.choices():
            trace = self.grad_trace.get(label_key(c.label))
            if not trace:
                continue
            g = torch.stack(trace).double()
            mean = g.mean(0)
            spread = float((g - mean).pow(2).sum(1).mean().sqrt()) if len(trace) > 1 else float("nan")
            norm = float(mean.norm())
            out[c.label] = {"grad_mean": norm, "grad_std": spread, "snr": norm / spread if spread > 0 else float("nan")}
        self.grad_trace = {}
        return out

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "alpha_optimizer": self.alpha_optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.alpha_optimizer.load_state_dict(state["alpha_optimizer"])
