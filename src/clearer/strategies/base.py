"""What every search strategy shares: α logits per choice point, probabilities, state, derivation.

Also the pieces several strategies reuse, kept here so they are written once: `WeightSharing` (the
optimiser, cosine schedule and clipped step for the supernet's shared weights) and `Alternating`
(adds the α optimiser, warm-up and BatchNorm mode of an architecture step on the other split).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Literal

import torch
from torch import Tensor, nn

from ..errors import ClearerError, check_min
from ..engine.device import adam, sgd
from ..spaces.choice import Supernet

Batch = tuple[Tensor, Tensor]  # (degraded input, clean target)


@dataclass
class SearchContext:
    """What a strategy needs from the engine: the losses, the step budget and a few switches."""
    restore_loss: Callable[[Tensor, Tensor], Tensor]
    arch_losses: dict[str, tuple[float, Callable[..., Tensor]]]  # name -> (λ, regulariser)
    costs: dict[str, Tensor]
    total_steps: int
    steps_per_epoch: int
    autocast: bool = False
    grad_sync: Callable[[list[Tensor]], None] = lambda grads: None  # averages α grads across ranks


class Strategy:
    """Learns or samples architecture parameters over a supernet's choice points."""

    searches: bool = True  # False: nothing to learn, the engine skips the search loop

    def prepare(self, space: Supernet, network: nn.Module, ctx: SearchContext) -> None:
        """`space` is the supernet; `network` is what to call (the space itself, or its DDP wrapper)."""
        self.space, self.network, self.ctx = space, network, ctx
        device = next(space.parameters()).device
        self.alpha = nn.ParameterDict({
            label_key(c.label): nn.Parameter(torch.zeros(len(c.candidates), device=device))
            for c in space.choices()})

    def step(self, train: Batch, arch: Batch, epoch: int) -> dict[str, float | Tensor]:
        """One search step; returns its losses as floats or 0-d tensors (tensors spare a GPU a host sync)."""
        raise NotImplementedError

    def probabilities(self) -> dict[str, Tensor]:
        return {c.label: torch.softmax(self.alpha[label_key(c.label)], 0) for c in self.space.choices()}

    def derive(self) -> dict[str, str]:
        return self.space.derive(self.probability_lists())

    def probability_lists(self) -> dict[str, list[float]]:
        return {k: [round(float(p), 6) for p in v.detach().cpu()] for k, v in self.probabilities().items()}

    def arch_penalty(self, probs: dict[str, Tensor]) -> tuple[Tensor, dict[str, float]]:
        """Σ λ·regulariser(α): the architecture terms of the loss, with each term for logging."""
        total, parts = torch.zeros((), device=next(iter(probs.values())).device), {}
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


def restore_forward(network: nn.Module, batch: Batch, loss: Callable[[Tensor, Tensor], Tensor],
                    autocast: bool) -> Tensor:
    """Loss of the network's output on a (degraded, clean) batch, optionally under bf16 autocast."""
    degraded, clean = batch
    device_type = degraded.device.type
    with torch.autocast(device_type, dtype=torch.bfloat16, enabled=autocast):
        out = network(degraded)
    return loss(out.float(), clean)


def _grads(loss: Tensor, wrt: list[Tensor], retain_graph: bool = False) -> list[Tensor]:
    """d loss / d wrt, zeros where `loss` does not depend on a tensor."""
    out = torch.autograd.grad(loss, wrt, allow_unused=True, retain_graph=retain_graph)
    return [torch.zeros_like(w) if g is None else g for w, g in zip(wrt, out)]


def architecture_weights(space: Supernet, architecture: dict[str, str], device: torch.device | str
                         ) -> tuple[dict[str, Tensor], dict[str, list[int]]]:
    """One-hot weights and `active` indices that make a supernet compute only `architecture`."""
    weights, active = {}, {}
    for c in space.choices():
        i = c.candidates.index(architecture[c.label])
        weights[c.label] = torch.nn.functional.one_hot(torch.tensor(i), len(c.candidates)).float().to(device)
        active[c.label] = [i]
    return weights, active


class WeightSharing(Strategy):
    """Base of strategies that train the supernet's shared weights (SGD/Adam, cosine LR, clipping)."""

    def __init__(self, w_lr: float, w_min_lr: float, w_momentum: float, w_weight_decay: float,
                 w_optimizer: Literal["sgd", "adam"], grad_clip: float) -> None:
        check_min(type(self).__name__, 0, strict=True, w_lr=w_lr, grad_clip=grad_clip)
        check_min(type(self).__name__, 0, w_min_lr=w_min_lr, w_momentum=w_momentum, w_weight_decay=w_weight_decay)
        self.w_lr, self.w_min_lr, self.w_momentum = w_lr, w_min_lr, w_momentum
        self.w_weight_decay, self.w_optimizer, self.grad_clip = w_weight_decay, w_optimizer, grad_clip
        self.steps_done = 0

    def prepare(self, space: Supernet, network: nn.Module, ctx: SearchContext) -> None:
        super().prepare(space, network, ctx)
        params = list(space.parameters())
        if self.w_optimizer == "sgd":
            self.w_opt: torch.optim.Optimizer = sgd(
                params, self.w_lr, momentum=self.w_momentum, weight_decay=self.w_weight_decay)
        else:
            self.w_opt = adam(params, self.w_lr, weight_decay=self.w_weight_decay)

    def _lr(self) -> float:
        """Cosine decay of the weight learning rate from w_lr to w_min_lr over the whole search."""
        t = min(self.steps_done / max(self.ctx.total_steps, 1), 1.0)
        return self.w_min_lr + (self.w_lr - self.w_min_lr) * 0.5 * (1 + math.cos(math.pi * t))

    def weight_step(self, train: Batch, weights: dict[str, Tensor],
                    active: dict[str, list[int]] | None = None) -> Tensor:
        """One clipped optimiser step of the shared weights on L_restore with fixed mixing weights."""
        self.space.set_weights(weights, active)
        for group in self.w_opt.param_groups:
            group["lr"] = self._lr()
        loss = restore_forward(self.network, train, self.ctx.restore_loss, self.ctx.autocast)
        self.w_opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.space.parameters(), self.grad_clip)
        self.w_opt.step()
        self.steps_done += 1
        return loss.detach()

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "w_opt": self.w_opt.state_dict(), "steps_done": self.steps_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.w_opt.load_state_dict(state["w_opt"])
        self.steps_done = state["steps_done"]


class Alternating(WeightSharing):
    """Base of strategies alternating an α step (architecture split, Adam) with a weight step.

    The α optimiser is Adam. Its learning rate is `a_lr` when given, else `a_movement / α steps`: Adam
    moves a logit by about its learning rate per step when the gradient keeps its sign, so `a_movement`
    is the total logit movement the search can make, the same at any budget (a gap of ln 9 = 2.2 between
    two logits is p = 0.9). Weight decay on α is decoupled (AdamW) by default and 0; `a_decay="coupled"`
    adds it to the gradient as the released CLEARER code does (Adam, 1e-3), which pins α near uniform
    because α gradients of an MSE loss are 1e-5..1e-4 (README, "Searches that decide").
    """

    def __init__(self, warmup_epochs: int, bn_mode: Literal["train", "eval"], w_lr: float,
                 w_min_lr: float, w_momentum: float, w_weight_decay: float,
                 w_optimizer: Literal["sgd", "adam"], grad_clip: float, a_lr: float | None,
                 a_betas: list[float], a_weight_decay: float, a_movement: float = 8.0,
                 a_decay: Literal["decoupled", "coupled"] = "decoupled") -> None:
        super().__init__(w_lr, w_min_lr, w_momentum, w_weight_decay, w_optimizer, grad_clip)
        check_min(type(self).__name__, 0, warmup_epochs=warmup_epochs, a_weight_decay=a_weight_decay)
        if a_lr is not None:
            check_min(type(self).__name__, 0, strict=True, a_lr=a_lr)
        if len(a_betas) != 2 or not all(0 <= b < 1 for b in a_betas):
            raise ClearerError(f"{type(self).__name__}: a_betas must be two numbers in [0, 1), got {list(a_betas)!r}.")
        if a_decay not in ("decoupled", "coupled"):
            raise ClearerError(f"a_decay must be 'decoupled' (AdamW) or 'coupled' (Adam, as the released "
                               f"CLEARER code), got {a_decay!r}.")
        if a_lr is None and not a_movement > 0:
            raise ClearerError(f"a_movement must be > 0 (total logit movement of the search), got "
                               f"{a_movement!r}; or give an explicit a_lr.")
        self.warmup_epochs, self.bn_mode = warmup_epochs, bn_mode
        self.a_lr, self.a_betas, self.a_weight_decay = a_lr, tuple(a_betas), a_weight_decay
        self.a_movement, self.a_decay = a_movement, a_decay
        self.grad_trace: dict[str, list[Tensor]] = {}

    def alpha_steps(self) -> int:
        """How many α steps the search takes: one per step after the warm-up epochs."""
        epochs = self.ctx.total_steps // max(self.ctx.steps_per_epoch, 1)
        return max(epochs - self.warmup_epochs, 0) * self.ctx.steps_per_epoch

    def alpha_lr(self) -> float:
        """`a_lr` if given, else `a_movement` spread over the search's α steps."""
        return self.a_lr if self.a_lr is not None else self.a_movement / max(self.alpha_steps(), 1)

    def describe(self) -> str:
        how = "" if self.a_lr is not None else f" (movement {self.a_movement:g} over {self.alpha_steps()} α steps)"
        decay = f", {self.a_decay} weight decay {self.a_weight_decay:g}" if self.a_weight_decay else ", no weight decay"
        return f"α: Adam lr {self.alpha_lr():.3g}{how}{decay}, betas {list(self.a_betas)}, BatchNorm {self.bn_mode}"

    def prepare(self, space: Supernet, network: nn.Module, ctx: SearchContext) -> None:
        super().prepare(space, network, ctx)
        params, lr = self.alpha.parameters(), self.alpha_lr()
        if self.a_decay == "coupled":
            self.a_opt: torch.optim.Optimizer = torch.optim.Adam(
                params, lr, betas=self.a_betas, weight_decay=self.a_weight_decay)
        else:
            self.a_opt = torch.optim.AdamW(params, lr, betas=self.a_betas, weight_decay=self.a_weight_decay)

    def arch_update(self, arch: Batch, weights: dict[str, Tensor], active: dict[str, list[int]] | None,
                    probs: dict[str, Tensor]) -> dict[str, float]:
        """One first-order α step: L_restore(weights) + Σ λ·L_arch(probs) on the architecture split;
        `weights` must depend on α (softmax, or a straight-through sample)."""
        was_training = self.space.training
        self.space.train(self.bn_mode == "train")
        try:
            self.space.set_weights(weights, active)
            # the bare space, not a DDP wrapper: only α gradients are wanted, averaged by grad_sync
            restore = restore_forward(self.space, arch, self.ctx.restore_loss, self.ctx.autocast)
            penalty, parts = self.arch_penalty(probs)
            alphas = list(self.alpha.parameters())
            # α gradients only: skips the weight gradients a first-order architecture step never uses;
            # the restoration part apart, for the signal-to-noise trace
            signal = _grads(restore, alphas, retain_graph=True)
            self.ctx.grad_sync(signal)
            extra = _grads(penalty, alphas) if penalty.requires_grad else [torch.zeros_like(a) for a in alphas]
            self.apply_alpha_grads([g + e for g, e in zip(signal, extra)], signal)
        finally:
            self.space.train(was_training)
        return {"arch_loss": restore.detach(), **parts}

    def apply_alpha_grads(self, grads: list[Tensor], signal: list[Tensor]) -> None:
        """One optimiser step on α with `grads`; `signal` (the restoration part) joins the epoch's trace."""
        for alpha, grad in zip(self.alpha.parameters(), grads):
            alpha.grad = grad
        self.a_opt.step()
        for key, g in zip(self.alpha.keys(), signal):
            self.grad_trace.setdefault(key, []).append(g.detach().float().cpu())

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
            out[c.label] = {"grad_mean": norm, "grad_std": spread,
                            "snr": norm / spread if spread > 0 else float("nan")}
        self.grad_trace = {}
        return out

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "a_opt": self.a_opt.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.a_opt.load_state_dict(state["a_opt"])
