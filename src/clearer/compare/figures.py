"""Comparison figures: PSNR vs parameters, PSNR vs FLOPs over the ground truth, α over search epochs.

Needs matplotlib (the `plot` extra). Variants are told apart by colour and marker, named in a legend
beside the axes, so no two labels can overlap however close the points are.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from ..rundir import artifacts
from ..writing import write_file
from .report import pareto


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


MARKERS = "osD^v<>pPXh*"


def _style(k: int, plt: Any) -> dict[str, Any]:
    """Colour and marker of the k-th variant: 10 colours x 11 markers, so neighbours never look alike."""
    return {"color": plt.get_cmap("tab10")(k % 10), "marker": MARKERS[k % len(MARKERS)]}


def psnr_vs_params(plt: Any, test_set: str, rows: list[dict[str, Any]], out: Path) -> Path:
    """Each variant a colour and marker named in a legend beside the axes (labels next to the points
    overlap as soon as variants share a size, and several always do)."""
    fig, ax = plt.subplots(figsize=(8.5, 5))
    points = [(r["params"], r["psnr"]) for r in rows]
    front = sorted(pareto(points), key=lambda i: points[i][0])
    ax.plot([points[i][0] for i in front], [points[i][1] for i in front], "k--", lw=1, label="Pareto front")
    for k, r in enumerate(rows):
        style = _style(k, plt)
        ax.errorbar(
            r["params"],
            r["psnr"],
            yerr=r["psnr_std"],
            fmt=style["marker"],
            color=style["color"],
            ms=6,
            capsize=2,
            label=r["variant"],
            alpha=0.85,
        )
    sizes = [r["params"] for r in rows]
    if max(sizes) > 10 * min(sizes):  # log only where sizes span decades (its minor labels collide otherwise)
        ax.set_xscale("log")
    ax.set(xlabel="parameters", ylabel="PSNR (dB)", title=f"{test_set}: PSNR vs parameters (mean ± std over seeds)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, ncol=2 if len(rows) > 16 else 1)
    fig.tight_layout()
    path = out / f"psnr_vs_params-{test_set}.png"
    write_file(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)
    return path


def front(
    plt: Any, test_set: str, rows: list[dict[str, Any]], truth: list[dict[str, Any]], sweep: list[str], out: Path
) -> Path:
    """PSNR vs FLOPs/px: the ground truth's architectures (grey, front dashed) behind each variant's
    per-seed derived architectures (small) and mean (large, when its seeds agree on one architecture);
    the sweep's means joined in its order."""
    fig, ax = plt.subplots(figsize=(9, 5))
    gx, gy = [e["flops_per_pixel"] for e in truth], [e["psnr"] for e in truth]
    ax.errorbar(
        gx,
        gy,
        yerr=[e["psnr_std"] for e in truth],
        fmt="o",
        color="0.7",
        ms=5,
        capsize=2,
        label="ground truth (every architecture)",
        zorder=1,
    )
    idx = sorted(pareto(list(zip(gx, gy))), key=lambda i: gx[i])
    ax.plot([gx[i] for i in idx], [gy[i] for i in idx], "--", color="0.4", lw=1, label="ground-truth front", zorder=1)
    shown = [r for r in rows if r.get("rank") is not None and "tie_low" not in r]
    for k, r in enumerate(shown):
        style = _style(k, plt)
        one = len(set(r["arch_hashes"])) == 1  # a mean over different architectures is no point of the plane
        ax.scatter(
            r["seed_flops"],
            r["seed_psnr"],
            s=14 if one else 40,
            color=style["color"],
            marker=style["marker"],
            alpha=0.5 if one else 0.9,
            zorder=2,
            label=None if one else f"{r['variant']} (each seed)",
        )
        if one:
            ax.errorbar(
                r["flops_per_pixel"],
                r["psnr"],
                yerr=r["psnr_std"],
                fmt=style["marker"],
                ms=8,
                color=style["color"],
                capsize=2,
                label=r["variant"],
                zorder=3,
            )
    line = [r for v in sweep for r in shown if r["variant"] == v]
    if len(line) > 1:
        ax.plot(
            [r["flops_per_pixel"] for r in line],
            [r["psnr"] for r in line],
            "-",
            color="k",
            lw=1.2,
            zorder=2,
            label="sweep, in order",
        )
    ax.set(
        xlabel="FLOPs per pixel", ylabel="PSNR (dB)", title=f"{test_set}: searched architectures over the ground truth"
    )
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    path = out / f"front-{test_set}.png"
    write_file(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)
    return path


def alpha_over_epochs(plt: Any, curves: dict[str, Path], out: Path, per_row: int = 7) -> Path | None:
    """One panel per choice point of each searched variant (first seed), every candidate's probability
    over search epochs, one colour per candidate name (legend per variant), so a collapse of many
    choice points to one candidate (DARTS' `skip`) shows."""
    tables, candidates = {}, {}
    for variant, path in curves.items():
        with path.open() as f:
            rows = list(csv.DictReader(f))
        arch = path.parent / artifacts.ARCH
        if rows and arch.is_file():
            tables[variant], candidates[variant] = rows, artifacts.read_json(arch)["candidates"]
    if not tables:
        return None
    layout = []  # (variant, [labels], first row of the variant) per figure row
    for variant, labels in candidates.items():
        labels = list(labels)
        for start in range(0, len(labels), per_row):
            layout.append((variant, labels[start : start + per_row], start == 0))
    ncols = min(per_row, max(len(labels) for _, labels, _ in layout))
    fig, axes = plt.subplots(
        len(layout), ncols, figsize=(2.1 * ncols + 1.6, 1.7 * len(layout)), squeeze=False, sharey=True
    )
    names = list(dict.fromkeys(n for labels in candidates.values() for ns in labels.values() for n in ns))
    cmap = plt.get_cmap("tab10")
    colors = {n: cmap(i % 10) for i, n in enumerate(names)}
    for row_axes, (variant, labels, first) in zip(axes, layout):
        rows = tables[variant]
        epochs = [int(r["epoch"]) for r in rows]
        for ax in row_axes[len(labels) :]:
            ax.axis("off")
        for ax, label in zip(row_axes, labels):
            ax.set_title(label, fontsize=7)
            for name in candidates[variant][label]:
                ax.plot(epochs, [float(r[f"{label}:{name}"]) for r in rows], lw=1.2, color=colors[name], label=name)
            ax.set_ylim(0, 1)
            ax.tick_params(labelsize=6)
        row_axes[0].set_ylabel(f"{variant}\nP(candidate)" if first else "P(candidate)", fontsize=7)
        if first:
            handles, texts = row_axes[0].get_legend_handles_labels()
            row_axes[len(labels) - 1].legend(
                handles, texts, fontsize=6, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False
            )
    for ax in axes[-1]:
        ax.set_xlabel("search epoch", fontsize=7)
    fig.tight_layout()
    path = out / "alpha_over_epochs.png"
    write_file(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    return path


def figures(
    tables: dict[str, list[dict[str, Any]]],
    runs: dict[str, list[Path]],
    out: Path,
    truth: dict[str, Any] | None = None,
    sweep: list[str] = (),
) -> list[Path]:
    """PSNR vs parameters per test set where the variants differ in size, PSNR vs FLOPs over the
    ground truth when there is one, and α over search epochs per searched variant. [] without matplotlib."""
    plt = _pyplot()
    if plt is None:
        return []
    written = []
    for test_set, rows in tables.items():
        if len({r["params"] for r in rows}) >= 2:  # one network size (variants of the data only): nothing to trade
            written.append(psnr_vs_params(plt, test_set, rows, out))
        if truth and truth["sets"].get(test_set):
            written.append(front(plt, test_set, rows, truth["sets"][test_set], list(sweep), out))
    curves = {
        v: dirs[0] / artifacts.ALPHA for v, dirs in runs.items() if dirs and (dirs[0] / artifacts.ALPHA).is_file()
    }
    alpha = alpha_over_epochs(plt, curves, out) if curves else None
    return written + ([alpha] if alpha else [])
