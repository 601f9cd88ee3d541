"""How well one ranking predicts another: Kendall τ, Spearman ρ, top-k hits and bootstrap intervals.

Used to judge a supernet's one-shot estimates (and the FLOPs-only prior) against a ground truth.
Written out here (a few lines each) rather than taken from scipy, which clearer does not depend on.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's τ-b: concordant minus discordant pairs, normalised for ties in either list (1: the
    same order, -1: reversed, 0: unrelated; nan when a list is constant)."""
    n = len(x)
    concordant = discordant = ties_x = ties_y = 0
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif dx * dy > 0:
                concordant += 1
            else:
                discordant += 1
    denominator = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return (concordant - discordant) / denominator if denominator else math.nan


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ascending; tied values share the mean of their ranks."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman_rho(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's ρ: Pearson correlation of the ranks (nan when a list is constant)."""
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    var = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return cov / var if var else math.nan


def top_k_hit(estimate: Sequence[float], truth: Sequence[float], k: int) -> bool:
    """Whether the estimate's best item is among the truth's k best (higher is better in both)."""
    best = max(range(len(estimate)), key=lambda i: estimate[i])
    return sorted(truth, reverse=True).index(truth[best]) < k


def bootstrap_interval(
    statistic: Callable[[list[int]], float], n: int, resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of `statistic(indices)` over resamples of n items drawn with replacement
    (resamples where it is undefined, e.g. a constant list, are skipped)."""
    rng = random.Random(seed)
    values = sorted(
        v for v in (statistic([rng.randrange(n) for _ in range(n)]) for _ in range(resamples)) if not math.isnan(v)
    )
    if not values:
        return math.nan, math.nan
    tail = (1 - level) / 2
    return values[int(tail * (len(values) - 1))], values[int(round((1 - tail) * (len(values) - 1)))]
