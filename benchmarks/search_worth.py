"""Is the search worth running? The tables of docs/results.md, printed from finished comparisons.

    clearer compare recipes/ground_truth.py --profile compare          # native-size ground truth
    clearer compare recipes/ground_truth.py --profile compare-iso      # every network at 80 k FLOPs/px
    clearer compare recipes/ablations.py --profile compare-iso \\
        --variants bilevel,no-binary-entropy,gumbel,random-search,random-arch
    clearer compare recipes/baselines.py --profile compare
    clearer compare recipes/baselines.py --profile quick --set data.degradation.sigma=25
    clearer compare recipes/sr_ground_truth.py --profile compare        # super-resolution ×2
    clearer compare recipes/sr_ablations.py --profile compare
    python benchmarks/search_worth.py --root runs

Each table is read from the comparisons' comparison.json / ground_truth.json (nothing is computed
here that the comparisons did not measure, except the spread, the seed noise and the rank
correlations between tables). A comparison not yet run is skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from clearer.compare.ranking import kendall_tau


def read(path: Path) -> Any:
    return json.loads(path.read_text()) if path.is_file() else None


def table(tables: dict[str, list[dict[str, Any]]], test_set: str | None) -> list[dict[str, Any]]:
    """The rows of one test set of a comparison.json (its first set when None)."""
    return tables[test_set] if test_set else next(iter(tables.values()))


def ground_truth_summary(folder: Path, name: str, test_set: str | None = None) -> dict[str, Any] | None:
    rows = read(folder / "comparison.json")
    if rows is None:
        print(f"({name}: {folder} has no comparison.json yet)\n")
        return None
    rows = table(rows, test_set)
    means = {r["variant"]: r["psnr"] for r in rows}
    seeds = [r["seed_psnr"] for r in rows if len(r["seed_psnr"]) >= 2]
    noise = math.sqrt(sum(r["psnr_std"] ** 2 for r in rows) / len(rows))
    best = max(rows, key=lambda r: r["psnr"])
    tied = [r["variant"] for r in rows if r["tie_low"] == 1]
    flops = [r["flops_per_pixel"] for r in rows]
    print(f"### {name}: {len(rows)} architectures x {rows[0]['seeds']} seeds ({folder})\n")
    print(f"- spread (best - worst mean PSNR): {max(means.values()) - min(means.values()):.3f} dB")
    print(f"- seed noise (RMS of the per-architecture seed std): {noise:.3f} dB")
    print(f"- best: {best['variant']} {best['psnr']:.3f} dB; tied with rank 1: {', '.join(tied)} ({len(tied)})")
    print(f"- FLOPs/px of the retrained networks: {min(flops):,} to {max(flops):,}")
    print(
        f"- Kendall τ between FLOPs/px and mean PSNR (the capacity prior): {kendall_tau(flops, list(means.values())):.2f}"
    )
    if seeds:
        tau = kendall_tau([s[0] for s in seeds], [s[1] for s in seeds])
        print(f"- Kendall τ between the rankings of seed 0 and seed 1: {tau:.2f}")
    print()
    return {"means": means, "rows": {r["variant"]: r for r in rows}}


def strategies_table(
    folder: Path,
    truth: dict[str, Any] | None,
    native: dict[str, Any] | None,
    test_set: str | None = None,
    title: str = "Strategies retrained at equal cost",
    truth_name: str = "iso-cost ground truth",
) -> None:
    tables = read(folder / "comparison.json")
    if tables is None:
        print(f"(strategies: {folder} has no comparison.json yet)\n")
        return
    rows = table(tables, test_set)
    print(f"### {title} ({folder})\n")
    print(f"| strategy | derived (per seed) | FLOPs/px | PSNR dB | rank in {truth_name} | search + retrain s |")
    print("|---|---|---:|---:|---|---:|")
    for r in rows:
        codes = [code(a) for a in r["architectures"]]
        pm = f"{r['psnr']:.3f}" + (f" ± {r['psnr_std']:.3f}" if r["seeds"] > 1 else "")
        rank = ", ".join(r.get("rank_tied") or []) + (f" of {r['rank_of']}" if r.get("rank_of") else "")
        print(
            f"| {r['variant']} | {', '.join(codes)} | {r['flops_per_pixel']:,} | {pm} | {rank} | "
            f"{r['search_s'] + r['retrain_s']:.0f} |"
        )
    if truth is not None and native is not None:
        for label, key in (("rank by FLOPs", "flops_per_pixel"), ("rank by parameters", "params")):
            pick = max(native["rows"].values(), key=lambda r: r[key])["variant"]
            t = truth["rows"].get(pick)
            if t is not None:
                span = f"{t['tie_low']}–{t['tie_high']}" if t["tie_low"] != t["tie_high"] else str(t["rank"])
                print(
                    f"| {label} (prior, no search) | {pick} | {t['flops_per_pixel']:,} | "
                    f"{t['psnr']:.3f} ± {t['psnr_std']:.3f} | {t['rank']} ({span}) of {len(truth['rows'])} | 0 |"
                )
    print()
    print("### One-shot estimates against the ground truths (Kendall τ, bootstrap 95 % interval)\n")
    print(
        "| search | ground truth | τ recalibrated BN | τ inherited BN | ρ recalibrated | top-1 | top-3 "
        "| FLOPs-only τ | params-only τ | seeds agree τ |"
    )
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        shot = r.get("one_shot") or {}
        for label, a in shot.get("by_ground_truth", {}).items():
            b = a["inherited"]
            print(
                f"| {r['variant']} | {label} | {fmt(a['kendall_tau'])} [{fmt(a['kendall_tau_ci'][0])}, "
                f"{fmt(a['kendall_tau_ci'][1])}] | {fmt(b['kendall_tau'])} [{fmt(b['kendall_tau_ci'][0])}, "
                f"{fmt(b['kendall_tau_ci'][1])}] | {fmt(a['spearman_rho'])} | {a['top1']:.0%} | {a['top3']:.0%} | "
                f"{fmt(a['flops_kendall_tau'])} | {fmt(a['params_prior']['kendall_tau'])} | "
                f"{fmt(shot.get('seed_agreement_tau'))} |"
            )
    print()


def baselines_table(folder: Path, name: str) -> None:
    tables = read(folder / "comparison.json")
    if tables is None:
        print(f"({name}: {folder} has no comparison.json yet)\n")
        return
    print(f"### {name} ({folder})\n")
    sets = list(tables)
    print("| network | params | FLOPs/px | " + " | ".join(f"{s} PSNR dB" for s in sets) + " | retrain s |")
    print("|---|---:|---:|" + "---:|" * len(sets) + "---:|")
    by_set = {s: {r["variant"]: r for r in rows} for s, rows in tables.items()}
    for r in sorted(tables[sets[0]], key=lambda r: -r["psnr"]):
        cells = []
        for s in sets:
            x = by_set[s].get(r["variant"])
            cells.append(
                "" if x is None else f"{x['psnr']:.3f}" + (f" ± {x['psnr_std']:.3f}" if x["seeds"] > 1 else "")
            )
        print(
            f"| {r['variant']} | {r['params']:,} | {r['flops_per_pixel']:,} | "
            + " | ".join(cells)
            + f" | {r['retrain_s']:.0f} |"
        )
    print()


def rank(row: dict[str, Any]) -> str:
    """'3, 1–8': a ground-truth row's rank and the ranks it is tied with."""
    return (
        f"{row['rank']}, {row['tie_low']}–{row['tie_high']}" if row["tie_low"] != row["tie_high"] else str(row["rank"])
    )


def code(architecture: dict[str, str]) -> str:
    return "".join(v[0].upper() for v in architecture.values()) or "fixed"


def fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path("runs"), help="folder holding the comparisons")
    root = parser.parse_args().root
    native = ground_truth_summary(root / "ground_truth" / "compare", "Ground truth at native size")
    iso = ground_truth_summary(root / "ground_truth" / "compare-iso", "Ground truth at 80 k FLOPs/px")
    if native and iso:
        common = sorted(set(native["means"]) & set(iso["means"]))
        tau = kendall_tau([native["means"][c] for c in common], [iso["means"][c] for c in common])
        print(f"Kendall τ between the native-size and the equal-cost rankings: {tau:.2f}\n")
        print("| architecture | native FLOPs/px | native PSNR dB (rank, tied) | 80 k FLOPs/px PSNR dB (rank, tied) |")
        print("|---|---:|---:|---:|")
        for name in sorted(common, key=lambda c: -iso["means"][c]):
            a, b = native["rows"][name], iso["rows"][name]
            print(
                f"| {name} | {a['flops_per_pixel']:,} | {a['psnr']:.3f} ± {a['psnr_std']:.3f} ({rank(a)}) | "
                f"{b['psnr']:.3f} ± {b['psnr_std']:.3f} ({rank(b)}) |"
            )
        print()
    strategies_table(root / "ablations" / "compare-iso", iso, native)
    baselines_table(root / "baselines" / "compare", "Baselines at the compare budget")
    for folder in sorted((root / "baselines").glob("quick*")):
        baselines_table(folder, "Baselines at the quick budget")
    sr_tables(root)


def sr_tables(root: Path) -> None:
    """Super-resolution ×2 (recipes/sr_*.py, compare profile): the ground truth and every strategy, per test set."""
    truth_folder = root / "sr_ground_truth" / "compare"
    tables = read(truth_folder / "comparison.json")
    if tables is None:
        print(f"(super-resolution: {truth_folder} has no comparison.json yet)\n")
        return
    for test_set in tables:
        truth = ground_truth_summary(truth_folder, f"SR ×2 ground truth on {test_set}", test_set)
        strategies_table(
            root / "sr_ablations" / "compare",
            truth,
            truth,
            test_set,
            title=f"SR ×2 strategies on {test_set}, native size",
            truth_name="SR ground truth",
        )


if __name__ == "__main__":
    main()
