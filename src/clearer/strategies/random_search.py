"""Random search with weight sharing (Li & Talwalkar, UAI 2019): a strong baseline for any strategy.

K architectures are drawn once (seeded) through the space's own `derive`, so each is valid for the
space (e.g. two kept edges per DARTS node). The first `train_fraction` of the step budget trains the
shared weights on one of the K at a time; the rest scores every one of the K on the same
architecture-split batches (mean L_restore, no gradient). The best score wins.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor

from ..contracts import SearchContext
from ..nn.mode import train_mode
from ..registry import STRATEGIES
from ..spaces.choice import Supernet
from ..train.trainer import Batch, OptimConfig, restore_forward
from .base import WeightSharing, architecture_weights


@STRATEGIES.register("random")
class RandomSearch(WeightSharing):
    """K seeded random architectures share weights, trained in turn, then scored on the α split."""

    def __init__(
        self,
        *,
        samples: int = 10,
        train_fraction: float = 0.5,
        seed: int = 0,
        bn_mode: Literal["train", "eval"] = "train",
        weights: OptimConfig = OptimConfig(),
    ) -> None:
        super().__init__(weights)
        if samples < 1 or not 0.0 <= train_fraction <= 1.0:
            raise ValueError(
                f"random needs samples >= 1 and 0 <= train_fraction <= 1, got {samples} and {train_fraction}"
            )
        self.n_samples, self.train_fraction, self.seed, self.bn_mode = samples, train_fraction, seed, bn_mode

    def prepare(self, space: Supernet, network: torch.nn.Module, ctx: SearchContext) -> None:
        super().prepare(space, network, ctx)
        self.samples = draw_architectures(space, self.n_samples, self.seed)
        self.device = next(space.parameters()).device
        # summed on the device (float64, as Python floats were), read only when the best is asked for
        self.score_sum = torch.zeros(len(self.samples), dtype=torch.float64, device=self.device)
        self.score_count = [0] * len(self.samples)
        self.picker = torch.Generator().manual_seed(self.seed + 1)

    @property
    def train_steps(self) -> int:
        return round(self.train_fraction * self.ctx.total_steps)

    def step(self, train_batch: Batch, alpha_batch: Batch, epoch: int) -> dict[str, float | Tensor]:
        """A weight step on one of the samples while in the training part of the budget (the trainer's
        steps), afterwards a scoring step of every sample."""
        if self.trainer.steps_done < self.train_steps:
            i = int(torch.randint(len(self.samples), (1,), generator=self.picker))
            mixing, active = architecture_weights(self.space, self.samples[i], self.device)
            return {"loss": self.weight_step(train_batch, mixing, active)}
        return {"loss": self.score(alpha_batch).mean()}

    @torch.no_grad()
    def score(self, alpha_batch: Batch) -> Tensor:
        """L_restore of every sample on one α-split batch, added to its running score."""
        losses = []
        with train_mode(self.space, self.bn_mode == "train"):
            for k, architecture in enumerate(self.samples):
                self.space.set_weights(*architecture_weights(self.space, architecture, self.device))
                loss = restore_forward(self.network, alpha_batch, self.ctx.restore_loss, self.ctx.autocast)
                self.score_sum[k] += loss
                self.score_count[k] += 1
                losses.append(loss.double())
        return torch.stack(losses)

    def best(self) -> int | None:
        """Index of the lowest mean score among the samples (None before any scoring)."""
        sums = self.score_sum.tolist()
        scored = [k for k, n in enumerate(self.score_count) if n]
        return min(scored, key=lambda k: sums[k] / self.score_count[k]) if scored else None

    def probabilities(self) -> dict[str, Tensor]:
        """One-hot of the current best sample; uniform before any sample is scored."""
        best = self.best()
        out = {}
        for c in self.space.choices():
            n = len(c.candidates)
            if best is None:
                out[c.label] = torch.full((n,), 1.0 / n)
            else:
                out[c.label] = torch.nn.functional.one_hot(
                    torch.tensor(c.candidates.index(self.samples[best][c.label])), n
                ).float()
        return out

    def derive(self) -> dict[str, str]:
        """The best-scoring sample (the first sample if nothing was scored yet)."""
        best = self.best()
        return dict(self.samples[0 if best is None else best])

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "samples": [dict(s) for s in self.samples],
            "score_sum": self.score_sum.tolist(),
            "score_count": list(self.score_count),
            "picker": self.picker.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.samples = [dict(s) for s in state["samples"]]
        self.score_sum = torch.tensor(state["score_sum"], dtype=torch.float64, device=self.device)
        self.score_count = list(state["score_count"])
        self.picker.set_state(state["picker"])


def draw_architectures(space: Supernet, count: int, seed: int) -> list[dict[str, str]]:
    """Up to `count` distinct architectures from random probabilities passed through `space.derive`
    (fewer when the space holds fewer)."""
    gen = torch.Generator().manual_seed(seed)
    choices = space.choices()
    out: list[dict[str, str]] = []
    for _ in range(50 * count):
        probs = {c.label: torch.rand(len(c.candidates), generator=gen).tolist() for c in choices}
        architecture = space.derive(probs)
        if architecture not in out:
            out.append(architecture)
            if len(out) == count:
                break
    return out
