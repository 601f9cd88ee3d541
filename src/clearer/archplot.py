"""Draw a searched architecture as a PNG: for CLEARER, cells x columns over resolution branches."""
from __future__ import annotations

import re
from pathlib import Path

from .engine import artifacts as A
from .errors import ClearerError

COLORS = {"parallel": "#4c78a8", "fusion": "#f58518"}
OTHER = ["#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac"]
CLEARER_LABEL = re.compile(r"cell(\d+)/col(\d+)$")


def _color(name: str, palette: dict[str, str]) -> str:
    if name not in palette:
        palette[name] = COLORS.get(name) or OTHER[len([k for k in palette if k not in COLORS]) % len(OTHER)]
    return palette[name]


def draw_architecture(run_dir: Path, out: Path | None = None) -> Path:
    """Render RUN_DIR/arch.json; multi-scale cells as boxes over their branches, other spaces as a grid."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch, Rectangle
    except ImportError:
        raise ClearerError("drawing needs matplotlib: pip install 'clearer[plot]'") from None
    record = A.read_json(Path(run_dir) / A.ARCH)
    arch, probs, candidates = record["architecture"], record.get("probabilities"), record["candidates"]
    out = Path(out) if out else Path(run_dir) / "arch.png"
    palette: dict[str, str] = {}
    labels = list(arch)
    parsed = [CLEARER_LABEL.match(label) for label in labels]
    fig_w = max(6.0, 0.9 * len(labels) + 2)
    if all(parsed):
        fig, ax = plt.subplots(figsize=(fig_w, 3.6))
        cells = max(int(m.group(1)) for m in parsed)
        x = 0
        for label, m in zip(labels, parsed):
            cell, col = int(m.group(1)), int(m.group(2))
            if col == 0:
                ax.axvline(x - 0.1, color="gray", lw=0.8, ls=":")
                ax.text(x - 0.05, cells + 1.05, f"transition → cell {cell}", fontsize=7, color="gray")
            winner = arch[label]
            p = probs[label][candidates[label].index(winner)] if probs else None
            ax.add_patch(Rectangle((x, 0), 0.8, cell + 1, color=_color(winner, palette), alpha=0.85))
            ax.text(x + 0.4, (cell + 1) / 2, f"{winner}" + (f"\np={p:.2f}" if p is not None else ""),
                    ha="center", va="center", fontsize=7, rotation=90, color="white")
            x += 1
        ax.set(xlim=(-0.5, x + 0.2), ylim=(0, cells + 1.4), xticks=[i + 0.4 for i in range(len(labels))],
               yticks=[i + 0.5 for i in range(cells + 1)],
               yticklabels=[f"branch {k} (1/{2 ** k})" for k in range(cells + 1)])
        ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=7)
    else:
        fig, ax = plt.subplots(figsize=(7, 0.28 * len(labels) + 1.2))
        for i, label in enumerate(labels):
            winner = arch[label]
            p = probs[label][candidates[label].index(winner)] if probs else 1.0
            ax.barh(i, p, color=_color(winner, palette))
            ax.text(0.01, i, f"{label}: {winner}", va="center", fontsize=7)
        ax.set(xlim=(0, 1), yticks=[], xlabel="probability of the chosen candidate")
        ax.invert_yaxis()
    ax.legend(handles=[Patch(color=c, label=n) for n, c in palette.items()], fontsize=7, loc="upper right",
              bbox_to_anchor=(1.0, 1.25), ncol=len(palette))
    ax.set_title(f"architecture {record['hash']} ({record.get('strategy', '?')})", fontsize=9, loc="left")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
