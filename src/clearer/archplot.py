"""Draw a searched architecture as a PNG: for CLEARER, cells x columns over resolution branches."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .errors import ClearerError
from .rundir import artifacts
from .writing import check_target, holding, write_file

COLORS = {"parallel": "#4c78a8", "fusion": "#f58518"}
OTHER = ["#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac"]
CLEARER_LABEL = re.compile(r"cell(\d+)/col(\d+)$")


def _color(name: str, palette: dict[str, str]) -> str:
    if name not in palette:
        palette[name] = COLORS.get(name) or OTHER[len([k for k in palette if k not in COLORS]) % len(OTHER)]
    return palette[name]


def _flow(ax: Any, x0: float, y0: float, x1: float, y1: float, color: str = "#555555", lw: float = 1.0) -> None:
    ax.annotate(
        "",
        (x1, y1),
        (x0, y0),
        arrowprops=dict(arrowstyle="-|>", color=color, lw=lw, shrinkA=0, shrinkB=0, mutation_scale=7),
    )


def _box(ax: Any, x: float, y: float, w: float, h: float, text: str, color: str, fontsize: float = 7) -> None:
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (x, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.06",
            facecolor=color,
            edgecolor="#333333",
            lw=0.6,
            zorder=3,
        )
    )
    ax.text(x + w / 2, y, text, ha="center", va="center", fontsize=fontsize, zorder=4)


def _column(ax: Any, x: float, branches: int, winner: str, p: float | None, color: str) -> None:
    """One column over its branches: parallel = a residual block per branch; fusion = every branch to
    every other (resized); any other candidate = its name on each branch."""
    from matplotlib.patches import Rectangle

    top, bottom = 0.35, -(branches - 1) - 0.35
    ax.add_patch(
        Rectangle((x, bottom), 0.9, top - bottom, facecolor=color, alpha=0.18, edgecolor=color, lw=1.2, zorder=1)
    )
    ax.text(
        x + 0.45,
        top + 0.08,
        winner + (f"\np={p:.2f}" if p is not None else ""),
        ha="center",
        va="bottom",
        fontsize=6.5,
        color=color,
        fontweight="bold",
    )
    if winner == "fusion":
        for i in range(branches):
            for j in range(branches):
                ax.plot([x + 0.12, x + 0.78], [-i, -j], color=color, lw=0.9 if i != j else 1.4, zorder=2)
        return
    for k in range(branches):
        _box(ax, x + 0.2, -k, 0.5, 0.32, "res" if winner == "parallel" else winner[:6], "white", 5.5)


def _draw_multiscale(
    ax: Any, record: dict[str, Any], labels: list[str], parsed: list[Any], palette: dict[str, str]
) -> None:
    """Stem, transitions (each adds a half-resolution branch by a stride-2 conv), the columns with their
    winning candidates, and the head that fuses every branch into full resolution."""
    arch, probs, candidates = record["architecture"], record.get("probabilities"), record["candidates"]
    space = record.get("space") or {}
    width, cells = int(space.get("width", 32)), max(int(m.group(1)) for m in parsed)
    residual = bool(space.get("residual", False))
    ends: dict[int, float] = {0: 0.0}  # branch -> x where its line starts
    _box(ax, -1.6, 0, 1.1, 0.5, "image", "#eeeeee")
    _flow(ax, -0.5, 0, -0.05, 0)
    _box(ax, 0.0, 0, 1.1, 0.5, f"stem\n{space.get('stem_blocks', 2)} res. blocks", "#dddddd", 6.5)
    x = 1.5
    for label, m in zip(labels, parsed):
        cell, col = int(m.group(1)), int(m.group(2))
        if col == 0:  # transition: a new branch from the lowest one
            _flow(ax, x - 0.1, -(cell - 1), x + 0.35, -cell, color="#333333")
            ax.text(x + 0.22, -(cell - 0.5), "stride-2\nconv", fontsize=5.5, color="#333333", va="center")
            ax.text(x + 0.5, 0.95, f"cell {cell}", ha="center", fontsize=7.5, color="gray")
            ax.axvline(x - 0.2, color="#bbbbbb", lw=0.6, ls=":", zorder=0)
            ends[cell] = x + 0.35
            x += 0.9
        winner = arch[label]
        p = probs[label][candidates[label].index(winner)] if probs else None
        _column(ax, x, cell + 1, winner, p, _color(winner, palette))
        x += 1.3
    for k, start in ends.items():  # branch lines, behind everything
        ax.plot([start, x], [-k, -k], color="#999999", lw=0.8, zorder=0)
    ax.axvline(x - 0.2, color="#bbbbbb", lw=0.6, ls=":", zorder=0)
    for k in range(cells + 1):  # head: every branch resized to full resolution and summed
        ax.plot([x, x + 0.8], [-k, 0], color="#333333", lw=1.0, zorder=2)
    ax.text(x + 0.4, 0.95, "head", ha="center", fontsize=7.5, color="gray")
    ax.text(x + 0.45, -cells - 0.45, "fusion to\nfull resolution", ha="center", fontsize=5.5, va="top")
    _box(ax, x + 0.9, 0, 0.9, 0.5, "3×3 conv", "#dddddd", 6.5)
    _flow(ax, x + 1.8, 0, x + 2.2, 0)
    _box(ax, x + 2.2, 0, 1.5, 0.5, "output\n(+ input: residual)" if residual else "output", "#eeeeee", 6.5)
    ax.set(
        xlim=(-1.8, x + 3.9),
        ylim=(-cells - 0.9, 1.3),
        xticks=[],
        yticks=[-k for k in range(cells + 1)],
        yticklabels=[f"1/{2**k} res., {width * 2**k} ch" for k in range(cells + 1)],
    )
    ax.tick_params(axis="y", length=0, labelsize=7)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)


FORMATS = ("png", "pdf", "svg")


def draw_architecture(run_dir: Path, out: Path | None = None, overwrite: bool = False) -> Path:
    """Render RUN_DIR/arch.json; multi-scale spaces as stem, cells of columns over their branches and
    the fusion head, other spaces as bars. The file suffix picks the format (.png, .pdf, .svg); the file
    is written atomically, never over the run's own files, over another file only with `overwrite`."""
    out = Path(out) if out else Path(run_dir) / "arch.png"
    kind = out.suffix.lower().lstrip(".")
    if kind not in FORMATS:
        raise ClearerError(f"--out {out}: the suffix picks the format; give a name ending in .png, .pdf or .svg.")
    inputs = [Path(run_dir) / name for name in artifacts.RUN_FILES]
    check_target(out, overwrite, inputs)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError:
        raise ClearerError("drawing needs matplotlib: pip install 'clearer[plot]'") from None
    record = artifacts.read_json(Path(run_dir) / artifacts.ARCH)
    arch, probs, candidates = record["architecture"], record.get("probabilities"), record["candidates"]
    palette: dict[str, str] = {}
    labels = list(arch)
    parsed = [CLEARER_LABEL.match(label) for label in labels]
    if labels and all(parsed):
        cells = max(int(m.group(1)) for m in parsed)
        span = 1.3 * len(labels) + 0.9 * cells + 7.2  # x extent drawn, in column units
        fig, ax = plt.subplots(figsize=(0.55 * span + 1.2, 0.75 * cells + 1.9))
        _draw_multiscale(ax, record, labels, parsed, palette)
    else:
        fig, ax = plt.subplots(figsize=(7, 0.28 * len(labels) + 1.8))
        for i, label in enumerate(labels):
            winner = arch[label]
            p = probs[label][candidates[label].index(winner)] if probs else 1.0
            ax.barh(i, p, color=_color(winner, palette))
            ax.text(0.01, i, f"{label}: {winner}", va="center", fontsize=7)
        ax.set(xlim=(0, 1), yticks=[], xlabel="probability of the chosen candidate")
        ax.invert_yaxis()
    if palette:  # above a multi-scale drawing (it leaves room there), below the bars
        handles = [Patch(color=c, label=n) for n, c in palette.items()]
        where = (
            dict(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(palette))
            if labels and all(parsed)
            else dict(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=min(len(palette), 4))
        )
        ax.legend(handles=handles, fontsize=7, frameon=False, **where)
    ax.set_title(f"architecture {record['hash']} ({record.get('strategy', '?')})", fontsize=9, loc="left")
    fig.tight_layout()
    try:
        with holding(run_dir, "run", out):
            return write_file(out, lambda tmp: fig.savefig(tmp, dpi=150, format=kind), overwrite, inputs)
    finally:
        plt.close(fig)
