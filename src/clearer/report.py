"""Comparison reports: a table per test set (mean ± std over seeds) as rich, CSV, JSON, Markdown, PNGs."""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from .engine import artifacts as A

COLUMNS = ["variant", "architecture", "seeds", "params", "flops_per_pixel", "search_s", "retrain_s",
           "psnr", "psnr_std", "ssim", "ssim_std"]
# optional per-set figures, averaged over seeds when the runs recorded them
Y_AND_INPUT = ("psnr_y", "ssim_y", "input_psnr", "input_ssim", "input_psnr_y", "input_ssim_y")


def mean_std(values: list[float]) -> tuple[float, float]:
    m = sum(values) / len(values)
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0


def arch_summary(architecture: dict[str, str]) -> str:
    """'3 fusion / 3 parallel': how many choice points took each candidate."""
    counts: dict[str, int] = {}
    for name in architecture.values():
        counts[name] = counts.get(name, 0) + 1
    return " / ".join(f"{n} {name}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def collect(runs: dict[str, list[Path]]) -> dict[str, list[dict[str, Any]]]:
    """Rows per test set from finished runs: variant -> its seeds' run directories."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for variant, dirs in runs.items():
        metrics = [A.read_json(d / A.METRICS) for d in dirs if (d / A.METRICS).is_file()]
        if not metrics:
            continue
        for test_set in metrics[0]["sets"]:
            psnr = mean_std([m["sets"][test_set]["psnr"] for m in metrics])
            ssim = mean_std([m["sets"][test_set]["ssim"] for m in metrics])
            first = metrics[0]["sets"][test_set]
            extra = {key: round(mean_std([m["sets"][test_set][key] for m in metrics])[0], 4)
                     for key in Y_AND_INPUT if key in first}
            tables.setdefault(test_set, []).append({
                "variant": variant, "architecture": arch_summary(metrics[0]["architecture"]),
                "seeds": len(metrics), "params": metrics[0]["params"],
                "flops_per_pixel": metrics[0]["flops_per_pixel"],
                "search_s": round(mean_std([m["times"]["search_s"] for m in metrics])[0], 1),
                "retrain_s": round(mean_std([m["times"]["retrain_s"] for m in metrics])[0], 1),
                "psnr": round(psnr[0], 3), "psnr_std": round(psnr[1], 3),
                "ssim": round(ssim[0], 4), "ssim_std": round(ssim[1], 4),
                "protocol": first["protocol"], "color": first.get("color", "gray"), **extra})
    return tables


def title(test_set: str, rows: list[dict[str, Any]]) -> str:
    """'bsd68 (standard protocol, gray; input 20.17 dB / 0.3800)': what every number below was measured on."""
    r = rows[0]
    inputs = f"; input {r['input_psnr']:.2f} dB / {r['input_ssim']:.4f}" if "input_psnr" in r else ""
    inputs += f", Y {r['input_psnr_y']:.2f} dB / {r['input_ssim_y']:.4f}" if "input_psnr_y" in r else ""
    return f"{test_set} ({r['protocol']} protocol, {r['color']}{inputs})"


def cells(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Column headers and formatted cells of one test set's table (shared by the terminal and Markdown);
    Y-channel columns appear when the set was measured in colour."""
    with_y = all("psnr_y" in r for r in rows)
    headers = ["variant", "architecture", "params", "FLOPs/px", "search s", "retrain s", "PSNR", "SSIM"]
    headers += ["PSNR-Y", "SSIM-Y"] if with_y else []
    body = []
    for r in rows:
        row = [r["variant"], r["architecture"], f"{r['params']:,}", f"{r['flops_per_pixel']:,}",
               f"{r['search_s']:.0f}", f"{r['retrain_s']:.0f}", f"{r['psnr']:.2f} ± {r['psnr_std']:.2f}",
               f"{r['ssim']:.4f} ± {r['ssim_std']:.4f}"]
        body.append(row + ([f"{r['psnr_y']:.2f}", f"{r['ssim_y']:.4f}"] if with_y else []))
    return headers, body


def markdown(tables: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for test_set, rows in tables.items():
        headers, body = cells(rows)
        lines += [f"### {title(test_set, rows)}", "", "| " + " | ".join(headers) + " |",
                  "|---|---|" + "---:|" * (len(headers) - 2)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        lines.append("")
    return "\n".join(lines)


def write_tables(tables: dict[str, list[dict[str, Any]]], out: Path) -> list[Path]:
    """comparison.csv / .json / .md in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["test_set", "protocol", "color", *COLUMNS, *Y_AND_INPUT], restval="")
    writer.writeheader()
    for test_set, rows in tables.items():
        for r in rows:
            writer.writerow({"test_set": test_set, **r})
    paths = [out / "comparison.csv", out / "comparison.json", out / "comparison.md"]
    paths[0].write_text(buf.getvalue())
    paths[1].write_text(json.dumps(tables, indent=2) + "\n")
    paths[2].write_text(markdown(tables))
    return paths


def pareto(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points no other point beats (fewer or equal params and higher or equal PSNR)."""
    return [i for i, (p, q) in enumerate(points)
            if not any((p2 <= p and q2 >= q) and (p2, q2) != (p, q) for p2, q2 in points)]


def figures(tables: dict[str, list[dict[str, Any]]], runs: dict[str, list[Path]], out: Path) -> list[Path]:
    """PSNR vs parameters (Pareto front marked) per test set where the variants differ in size, and α
    over search epochs per variant.

    Needs matplotlib (the `plot` extra); returns [] without it.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    for test_set, rows in tables.items():
        if len({r["params"] for r in rows}) < 2:
            continue  # one network size (e.g. variants of the data only): no trade-off to draw
        fig, ax = plt.subplots(figsize=(6, 4.5))
        points = [(r["params"], r["psnr"]) for r in rows]
        front = sorted(pareto(points), key=lambda i: points[i][0])
        for r in rows:
            ax.errorbar(r["params"], r["psnr"], yerr=r["psnr_std"], fmt="o")
            ax.annotate(r["variant"], (r["params"], r["psnr"]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
        ax.plot([points[i][0] for i in front], [points[i][1] for i in front], "k--", lw=1, label="Pareto front")
        ax.set_xscale("log")
        ax.set(xlabel="parameters", ylabel="PSNR (dB)", title=f"{test_set}: PSNR vs parameters")
        ax.legend(fontsize=8)
        fig.tight_layout()
        written.append(out / f"psnr_vs_params-{test_set}.png")
        fig.savefig(written[-1], dpi=120)
        plt.close(fig)
    curves = {v: dirs[0] / A.ALPHA for v, dirs in runs.items() if dirs and (dirs[0] / A.ALPHA).is_file()}
    if curves:
        fig, axes = plt.subplots(len(curves), 1, figsize=(7, 2.2 * len(curves)), squeeze=False)
        for ax, (variant, path) in zip(axes[:, 0], curves.items()):
            with path.open() as f:
                rows = list(csv.DictReader(f))
            if not rows:
                continue
            epochs = [int(r["epoch"]) for r in rows]
            # one line per choice point: the probability of its first candidate
            firsts = {}
            for key in rows[0]:
                label = key.split(":")[0]
                if key != "epoch" and label not in firsts:
                    firsts[label] = key
            for label, key in firsts.items():
                ax.plot(epochs, [float(r[key]) for r in rows], lw=1)
            ax.set(ylim=(0, 1), ylabel=f"P({key.split(':')[1]})", title=variant)
            ax.title.set_fontsize(9)
        axes[-1, 0].set_xlabel("search epoch")
        fig.tight_layout()
        written.append(out / "alpha_over_epochs.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    return written
