"""Comparison reports: a table per test set (mean ± std over seeds) as rich, CSV, JSON, Markdown, PNGs.

Ties: two rows differ only when their mean PSNRs are at least 2 pooled seed standard deviations apart,
pooled = sqrt((std_a² + std_b²) / 2) (the std over seeds each row shows). A row with one seed has no
std, so nothing can be said about its ties.

Ground truth: a comparison that retrains every architecture of a space (recipes/ground_truth.py)
writes ground_truth.json; other comparisons with the same `compare.ground_truth_key` show where each
seed's derived architecture ranks in it (1 = best mean PSNR), its percentile (100 = best, 0 = worst)
and how far it lies below the ground truth's PSNR-vs-FLOPs Pareto front.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from ..errors import ClearerError
from ..rundir import artifacts
from ..rundir.artifacts import arch_hash, arch_summary
from ..writing import write_text
from .ranking import bootstrap_interval, kendall_tau, spearman_rho, top_k_hit

COLUMNS = [
    "variant",
    "architecture",
    "seeds",
    "params",
    "flops_per_pixel",
    "search_s",
    "retrain_s",
    "psnr",
    "psnr_std",
    "ssim",
    "ssim_std",
    "vs_best",
    "tie",
    "rank",
    "rank_of",
    "percentile",
    "below_front_db",
    "gap_db",
    "gap_db_std",
    "entropy",
]
# optional per-set figures, averaged over seeds when the runs recorded them
Y_AND_INPUT = ("psnr_y", "ssim_y", "input_psnr", "input_ssim", "input_psnr_y", "input_ssim_y")
TIE_STDS = 2.0


def mean_std(values: list[float]) -> tuple[float, float]:
    m = sum(values) / len(values)
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0


def _mean(values: list[float | None], digits: int) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), digits) if known else None


def _search_stats(metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean discretisation gap and final α entropy over seeds, from each run's metrics["search"]."""
    found = [m.get("search") or {} for m in metrics]
    gaps = [s["discretisation_gap_db"] for s in found if s.get("discretisation_gap_db") is not None]
    entropy = _mean([s.get("final_entropy") for s in found], 4)
    gap = mean_std(gaps) if gaps else (None, None)
    return {
        "gap_db": None if gap[0] is None else round(gap[0], 3),
        "gap_db_std": None if gap[1] is None or len(gaps) < 2 else round(gap[1], 3),
        "entropy": entropy,
    }


def collect(runs: dict[str, list[Path]]) -> dict[str, list[dict[str, Any]]]:
    """Rows per test set from finished runs: variant -> its seeds' run directories.

    Seeds of one variant may derive different architectures (a search that does not agree with
    itself, or a random architecture per seed): each seed's architecture, hash and PSNR are kept."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for variant, dirs in runs.items():
        files = [d / artifacts.METRICS for d in dirs if (d / artifacts.METRICS).is_file()]
        try:
            _variant_rows(tables, variant, [artifacts.read_json(f) for f in files])
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
            raise ClearerError(
                f"cannot report variant {variant!r}: {', '.join(map(str, files))} is not a finished run's "
                f"metrics.json ({type(err).__name__}: {err}). Restore it from a copy, or delete it and "
                "run the job again (the same compare command, without --report)."
            ) from None
    for rows in tables.values():
        mark_ties(rows)
    return tables


def _variant_rows(tables: dict[str, list[dict[str, Any]]], variant: str, metrics: list[dict[str, Any]]) -> None:
    """Add one variant's rows (one per test set) from its seeds' metrics."""
    if not metrics:
        return
    archs = [m["architecture"] for m in metrics]
    distinct = {m["arch_hash"] for m in metrics}
    summary = arch_summary(archs[0]) if len(distinct) == 1 else f"{len(distinct)} different"
    for test_set in metrics[0]["sets"]:
        seed_psnr = [m["sets"][test_set]["psnr"] for m in metrics]
        psnr = mean_std(seed_psnr)
        ssim = mean_std([m["sets"][test_set]["ssim"] for m in metrics])
        first = metrics[0]["sets"][test_set]
        extra = {
            key: round(mean_std([m["sets"][test_set][key] for m in metrics])[0], 4)
            for key in Y_AND_INPUT
            if key in first
        }
        tables.setdefault(test_set, []).append(
            {
                "variant": variant,
                "architecture": summary,
                "seeds": len(metrics),
                "params": round(mean_std([m["params"] for m in metrics])[0]),
                "flops_per_pixel": round(mean_std([m["flops_per_pixel"] for m in metrics])[0]),
                "search_s": round(mean_std([m["times"]["search_s"] for m in metrics])[0], 1),
                "retrain_s": round(mean_std([m["times"]["retrain_s"] for m in metrics])[0], 1),
                "psnr": round(psnr[0], 3),
                "psnr_std": round(psnr[1], 3),
                "ssim": round(ssim[0], 4),
                "ssim_std": round(ssim[1], 4),
                **_search_stats(metrics),
                "arch_hashes": [m["arch_hash"] for m in metrics],
                "architectures": archs,
                "seed_psnr": seed_psnr,
                "seed_flops": [m["flops_per_pixel"] for m in metrics],
                "protocol": first["protocol"],
                "color": first.get("color", "gray"),
                "images": first.get("images"),
                "one_shot_runs": [(m.get("search") or {}).get("one_shot") for m in metrics],
                **extra,
            }
        )


def pooled_std(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    """Pooled seed std of two rows (None when either has a single seed: no spread to compare with)."""
    if a["seeds"] < 2 or b["seeds"] < 2:
        return None
    return math.sqrt((a["psnr_std"] ** 2 + b["psnr_std"] ** 2) / 2)


def tied(a: dict[str, Any], b: dict[str, Any]) -> bool | None:
    """Whether two rows' PSNRs are within 2 pooled std (None: cannot tell with one seed)."""
    std = pooled_std(a, b)
    return None if std is None else abs(a["psnr"] - b["psnr"]) < TIE_STDS * std


def mark_ties(rows: list[dict[str, Any]]) -> None:
    """Each row's PSNR difference to the best row and whether that difference is a tie."""
    best = max(rows, key=lambda r: r["psnr"])
    for r in rows:
        r["vs_best"] = round(r["psnr"] - best["psnr"], 3)
        r["tie"] = None if r is best else tied(r, best)
        r["best"] = r is best


# ------------------------------------------------------------------------------ ground truth


def ground_truth_table(
    tables: dict[str, list[dict[str, Any]]], key: str, space: dict[str, Any] | None = None
) -> dict[str, Any]:
    """ground_truth.json: per test set, every architecture ranked by mean PSNR (1 = best), with the
    range of ranks it is tied with (differences under 2 pooled std) and its percentile."""
    sets = {}
    for test_set, rows in tables.items():
        ranked = sorted(rows, key=lambda r: -r["psnr"])
        n = len(ranked)
        entries = []
        for i, r in enumerate(ranked):
            better = sum(1 for o in ranked if o is not r and o["psnr"] > r["psnr"] and tied(o, r) is False)
            worse = sum(1 for o in ranked if o is not r and o["psnr"] < r["psnr"] and tied(o, r) is False)
            entries.append(
                {
                    "name": r["variant"],
                    "arch_hash": r["arch_hashes"][0],
                    "architecture": r["architectures"][0],
                    "params": r["params"],
                    "flops_per_pixel": r["flops_per_pixel"],
                    "seeds": r["seeds"],
                    "psnr": r["psnr"],
                    "psnr_std": r["psnr_std"],
                    "rank": i + 1,
                    "tie_low": better + 1,
                    "tie_high": n - worse,
                    "percentile": _percentile(i + 1, n),
                }
            )
        sets[test_set] = entries
    return {"key": key, "space": space, "sets": sets}


def rank_ground_truth(tables: dict[str, list[dict[str, Any]]], truth: dict[str, Any]) -> None:
    """The ground truth's own rows, sorted best first, with their rank, tie range and distance below
    the front (0: on it)."""
    for test_set, rows in tables.items():
        entries = {e["name"]: e for e in truth["sets"][test_set]}
        for r in rows:
            e = entries[r["variant"]]
            r.update(
                rank=e["rank"],
                rank_of=len(entries),
                tie_low=e["tie_low"],
                tie_high=e["tie_high"],
                percentile=e["percentile"],
                below_front_db=round(front_psnr(list(entries.values()), e["flops_per_pixel"]) - e["psnr"], 3),
            )
        rows.sort(key=lambda r: r["rank"])


def _span(entry: dict[str, Any]) -> str:
    """'3', or '2–6' when the architecture is tied with ranks 2 to 6 (its own rank is one of them)."""
    low, high = entry["tie_low"], entry["tie_high"]
    return str(entry["rank"]) if low == high else f"{low}–{high}"


def _percentile(rank: int, n: int) -> float:
    return round(100.0 * (n - rank) / (n - 1), 1) if n > 1 else 100.0


def front_psnr(entries: list[dict[str, Any]], flops: float) -> float | None:
    """Best ground-truth PSNR at no more than `flops` FLOPs/px (the Pareto front's height there)."""
    below = [e["psnr"] for e in entries if e["flops_per_pixel"] <= flops]
    return max(below) if below else None


def add_ranks(tables: dict[str, list[dict[str, Any]]], truth: dict[str, Any], variants: set[str]) -> None:
    """Rank, percentile and distance below the front of every seed's derived architecture, for the
    given variants (those with the ground truth's key) whose architectures the ground truth holds."""
    for test_set, rows in tables.items():
        entries = truth["sets"].get(test_set)
        if not entries:
            continue
        by_hash = {e["arch_hash"]: e for e in entries}
        for r in (r for r in rows if r["variant"] in variants):
            found = [by_hash.get(h) for h in r["arch_hashes"]]
            if any(e is None for e in found):
                continue
            r["rank"] = [e["rank"] for e in found]
            r["rank_tied"] = [_span(e) for e in found]
            r["rank_of"] = len(entries)
            r["percentile"] = round(sum(e["percentile"] for e in found) / len(found), 1)
            r["below_front_db"] = round(
                sum(front_psnr(entries, e["flops_per_pixel"]) - e["psnr"] for e in found) / len(found), 3
            )


# ------------------------------------------------------------------------------ one-shot estimates


def _finite(value: float, digits: int = 3) -> float | None:
    """Rounded, or None where a statistic is undefined (nan: a constant ranking), which JSON cannot hold."""
    return None if math.isnan(value) else round(value, digits)


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.2f}"


def one_shot_agreement(
    estimates: list[dict[str, Any]], entries: list[dict[str, Any]], resamples: int = 1000
) -> dict[str, Any] | None:
    """How well the supernet's one-shot estimates (one dict per seed, as search.one_shot records them)
    rank a ground truth's architectures: Kendall τ and Spearman ρ (mean over seeds, bootstrap 95 %
    interval over architectures), top-1/top-3 hit rates, for recalibrated and inherited BatchNorm;
    beside them the same τ for the capacity priors (native FLOPs/px, parameters) and where the
    architecture each prior picks ranks. None when fewer than 3 architectures are in both."""
    by_hash = {e["arch_hash"]: e for e in entries}
    codes = [
        code
        for code, est in estimates[0]["architectures"].items()
        if arch_hash(est["architecture"]) in by_hash and all(code in s["architectures"] for s in estimates)
    ]
    if len(codes) < 3:
        return None
    truth = [by_hash[arch_hash(estimates[0]["architectures"][c]["architecture"])]["psnr"] for c in codes]

    def agreement(key: str) -> dict[str, Any]:
        seeds = [[s["architectures"][c][key] for c in codes] for s in estimates]

        def mean(stat: Any, idx: list[int]) -> float:
            return sum(stat([e[i] for i in idx], [truth[i] for i in idx]) for e in seeds) / len(seeds)

        every = list(range(len(codes)))
        tau, rho = mean(kendall_tau, every), mean(spearman_rho, every)
        tau_ci = bootstrap_interval(lambda idx: mean(kendall_tau, idx), len(codes), resamples)
        rho_ci = bootstrap_interval(lambda idx: mean(spearman_rho, idx), len(codes), resamples, seed=1)
        return {
            "kendall_tau": _finite(tau),
            "kendall_tau_ci": [_finite(v) for v in tau_ci],
            "spearman_rho": _finite(rho),
            "spearman_rho_ci": [_finite(v) for v in rho_ci],
            "top1": round(sum(top_k_hit(e, truth, 1) for e in seeds) / len(seeds), 3),
            "top3": round(sum(top_k_hit(e, truth, 3) for e in seeds) / len(seeds), 3),
            "seeds": len(seeds),
        }

    def prior(key: str) -> dict[str, Any]:
        cost = [estimates[0]["architectures"][c][key] for c in codes]
        pick = max(range(len(codes)), key=lambda i: (cost[i], -i))
        entry = by_hash[arch_hash(estimates[0]["architectures"][codes[pick]]["architecture"])]
        return {"kendall_tau": _finite(kendall_tau(cost, truth)), "picks": codes[pick], "rank": _span(entry)}

    flops_prior = prior("flops_per_pixel")
    return {
        "architectures": len(codes),
        **agreement("recalibrated_psnr"),
        "inherited": agreement("inherited_psnr"),
        "flops_kendall_tau": flops_prior["kendall_tau"],
        "flops_prior": flops_prior,
        "params_prior": prior("params"),
    }


def estimates_agreement(estimates: list[dict[str, Any]]) -> float | None:
    """Mean Kendall τ between the recalibrated one-shot estimates of every pair of seeds, over the
    architectures all of them estimated (None with one seed): the check left for spaces too large to
    ground-truth."""
    codes = [c for c in estimates[0]["architectures"] if all(c in e["architectures"] for e in estimates)]
    pairs = [(a, b) for i, a in enumerate(estimates) for b in estimates[i + 1 :]]
    if not pairs or len(codes) < 3:
        return None
    values = [
        kendall_tau(
            [a["architectures"][c]["recalibrated_psnr"] for c in codes],
            [b["architectures"][c]["recalibrated_psnr"] for c in codes],
        )
        for a, b in pairs
    ]
    return _finite(sum(values) / len(values))


def add_one_shot(
    tables: dict[str, list[dict[str, Any]]], truths: dict[str, dict[str, Any]], primary: str | None
) -> None:
    """Each searched row's one-shot agreement with every ground truth of its space (label -> table);
    the headline entry is the `primary` ground truth's (the one the comparison ranks against)."""
    for test_set, rows in tables.items():
        for r in rows:
            estimates = [e for e in r.pop("one_shot_runs", []) if e]
            if not estimates or len(estimates) != r["seeds"]:
                continue
            r["one_shot"] = {"seed_agreement_tau": estimates_agreement(estimates)}
            found = {
                label: result
                for label, truth in truths.items()
                if truth.get("space") in (None, estimates[0].get("space"))
                for result in [one_shot_agreement(estimates, truth["sets"].get(test_set, []))]
                if result is not None
            }
            if found:
                head = found.get(primary) or next(iter(found.values()))
                r["one_shot"].update(ground_truth=primary if primary in found else next(iter(found)), **head)
                r["one_shot"]["by_ground_truth"] = found


def one_shot_lines(tables: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Report lines: per searched variant and ground truth, τ (interval) recalibrated and inherited,
    top-1/top-3, and the FLOPs prior's τ beside them."""
    lines = []
    for test_set, rows in tables.items():
        for r in rows:
            agree = (r.get("one_shot") or {}).get("seed_agreement_tau")
            if agree is not None:
                lines.append(f"{test_set}: one-shot {r['variant']}: the seeds' estimates agree with τ {_fmt(agree)}")
            for label, a in (r.get("one_shot") or {}).get("by_ground_truth", {}).items():
                b = a["inherited"]
                lines.append(
                    f"{test_set}: one-shot {r['variant']} vs {label} ({a['architectures']} architectures, "
                    f"{a['seeds']} seeds): Kendall τ {_fmt(a['kendall_tau'])} [{_fmt(a['kendall_tau_ci'][0])}, "
                    f"{_fmt(a['kendall_tau_ci'][1])}] with BatchNorm recalibrated, {_fmt(b['kendall_tau'])} "
                    f"[{_fmt(b['kendall_tau_ci'][0])}, {_fmt(b['kendall_tau_ci'][1])}] inherited; Spearman ρ "
                    f"{_fmt(a['spearman_rho'])}; top-1 {a['top1']:.0%}, top-3 {a['top3']:.0%}; FLOPs-only τ "
                    f"{_fmt(a['flops_kendall_tau'])} (picks {a['flops_prior']['picks']}, rank "
                    f"{a['flops_prior']['rank']}), params-only τ {_fmt(a['params_prior']['kendall_tau'])}"
                )
    return lines


def seed_agreement(rows: list[dict[str, Any]]) -> str | None:
    """How stable a ranking is across seeds: Kendall's τ between the orders seed 0 and seed 1 give the
    rows (1: the same order; 0: unrelated), or None with fewer than 3 rows of 2+ seeds."""
    pairs = [r["seed_psnr"][:2] for r in rows if len(r.get("seed_psnr", [])) >= 2]
    if len(pairs) < 3:
        return None
    tau = kendall_tau([a for a, _ in pairs], [b for _, b in pairs])
    return f"seed agreement: Kendall τ = {tau:.2f} between the rankings seed 0 and seed 1 give {len(pairs)} rows"


def sweep_monotone(rows: list[dict[str, Any]], sweep: list[str]) -> str | None:
    """One line on whether the sweep's derived architectures move monotonically in FLOPs (mean over
    seeds, in the sweep's order), or None when fewer than two of its variants finished."""
    by = {r["variant"]: r for r in rows}
    steps = [by[v] for v in sweep if v in by]
    if len(steps) < 2:
        return None
    flops = [r["flops_per_pixel"] for r in steps]
    down = all(b <= a for a, b in zip(flops, flops[1:]))
    up = all(b >= a for a, b in zip(flops, flops[1:]))
    verdict = "monotone (non-increasing)" if down else "monotone (non-decreasing)" if up else "NOT monotone"
    return (
        f"sweep {' → '.join(r['variant'] for r in steps)}: mean FLOPs/px "
        f"{' → '.join(f'{f:,}' for f in flops)}: {verdict}"
    )


# ------------------------------------------------------------------------------------ tables


def title(test_set: str, rows: list[dict[str, Any]]) -> str:
    """'bsd68 (24 images, standard protocol, gray; input 20.17 dB / 0.3800)': what every number below was
    measured on."""
    r = rows[0]
    label = "bicubic" if r["protocol"] == "sr" else "input"  # super-resolution: the input's bicubic upscaling
    inputs = f"; {label} {r['input_psnr']:.2f} dB / {r['input_ssim']:.4f}" if "input_psnr" in r else ""
    inputs += f", Y {r['input_psnr_y']:.2f} dB / {r['input_ssim_y']:.4f}" if "input_psnr_y" in r else ""
    images = f"{r['images']} images, " if r.get("images") else ""
    return f"{test_set} ({images}{r['protocol']} protocol, {r['color']}{inputs})"


def _pm(mean: float, std: float | None, seeds: int, digits: int) -> str:
    """'28.10 ± 0.03', or '28.10' for one seed (a std of one value is not 0, it is unknown)."""
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if seeds > 1 and std is not None else "")


def _vs_best(r: dict[str, Any]) -> str:
    """'best', '-0.08 tie' (under 2 pooled std), '-0.31', or just the difference when a row has one seed."""
    if r.get("best"):
        return "best"
    return f"{r['vs_best']:+.2f}" + (" tie" if r["tie"] else "")


def _rank(r: dict[str, Any]) -> str:
    if "tie_low" in r:  # a ground-truth row: its rank and the ranks it is tied with
        span = f" ({r['tie_low']}–{r['tie_high']})" if (r["tie_low"], r["tie_high"]) != (r["rank"], r["rank"]) else ""
        return f"{r['rank']}{span}"
    if "rank" not in r or r["rank"] is None:
        return ""
    return f"{', '.join(r.get('rank_tied') or map(str, r['rank']))} of {r['rank_of']} ({r['percentile']:.0f}%)"


def cells(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Column headers and formatted cells of one test set's table (shared by the terminal and Markdown).

    Rank, discretisation gap and α entropy columns appear when some row has them; Y-channel columns
    come last, when the set was measured in colour."""
    with_y = all("psnr_y" in r for r in rows)
    with_rank = any(r.get("rank") is not None for r in rows)
    with_gap = any(r.get("gap_db") is not None for r in rows)
    with_entropy = any(r.get("entropy") is not None for r in rows)
    headers = [
        "variant",
        "architecture",
        "seeds",
        "params",
        "FLOPs/px",
        "search s",
        "retrain s",
        "PSNR",
        "SSIM",
        "vs best",
    ]
    headers += (
        ["rank (tied)" if any("tie_low" in r for r in rows) else "rank in ground truth", "below front"]
        if with_rank
        else []
    )
    headers += (["gap dB"] if with_gap else []) + (["α entropy"] if with_entropy else [])
    headers += ["PSNR-Y", "SSIM-Y"] if with_y else []
    body = []
    for r in rows:
        row = [
            r["variant"],
            r["architecture"],
            str(r["seeds"]),
            f"{r['params']:,}",
            f"{r['flops_per_pixel']:,}",
            f"{r['search_s']:.0f}",
            f"{r['retrain_s']:.0f}",
            _pm(r["psnr"], r["psnr_std"], r["seeds"], 2),
            _pm(r["ssim"], r["ssim_std"], r["seeds"], 4),
            _vs_best(r),
        ]
        if with_rank:
            below = r.get("below_front_db")
            row += [_rank(r), "" if below is None else f"{below:.2f}"]
        if with_gap:
            row.append("" if r.get("gap_db") is None else _pm(r["gap_db"], r.get("gap_db_std"), r["seeds"], 2))
        if with_entropy:
            row.append("" if r.get("entropy") is None else f"{r['entropy']:.3f}")
        body.append(row + ([f"{r['psnr_y']:.2f}", f"{r['ssim_y']:.4f}"] if with_y else []))
    return headers, body


def legend(rows: list[dict[str, Any]]) -> str:
    """What the columns mean, under each table."""
    seeds = sorted({r["seeds"] for r in rows})
    text = (
        f"mean ± std over {'/'.join(map(str, seeds))} seeds; 'vs best': PSNR difference to the best row, "
        f"'tie' when under {TIE_STDS:g} pooled seed std"
    )
    if any("tie_low" in r for r in rows):
        text += "; rank 1 = best mean PSNR, (a–b): the ranks it is tied with"
    elif any(r.get("rank") is not None for r in rows):
        text += (
            "; rank: each seed's derived architecture in the ground-truth table, a–b where it is tied with "
            "ranks a to b (percentile of its mean-PSNR rank: 100 = best), "
            "'below front': dB under the ground truth's PSNR-vs-FLOPs front at its FLOPs"
        )
    if any(r.get("gap_db") is not None for r in rows):
        text += "; gap: supernet PSNR minus the derived network's with inherited weights (before retraining)"
    return text + "."


def markdown(tables: dict[str, list[dict[str, Any]]], notes: list[str] = ()) -> str:
    lines = []
    for test_set, rows in tables.items():
        headers, body = cells(rows)
        lines += [
            f"### {title(test_set, rows)}",
            "",
            "| " + " | ".join(headers) + " |",
            "|---|---|" + "---:|" * (len(headers) - 2),
        ]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        lines += ["", legend(rows), ""]
    lines += [*notes, ""] if notes else []
    return "\n".join(lines)


def write_tables(tables: dict[str, list[dict[str, Any]]], out: Path, notes: list[str] = ()) -> list[Path]:
    """comparison.csv / .json / .md in `out`."""
    buf = io.StringIO()
    writer = csv.DictWriter(
        buf, fieldnames=["test_set", "protocol", "color", *COLUMNS, *Y_AND_INPUT], restval="", extrasaction="ignore"
    )
    writer.writeheader()
    for test_set, rows in tables.items():
        for r in rows:
            rank = r.get("rank")
            writer.writerow(
                {"test_set": test_set, **r, "rank": " ".join(map(str, rank)) if isinstance(rank, list) else rank}
            )
    paths = [out / "comparison.csv", out / "comparison.json", out / "comparison.md"]
    for path, text in zip(paths, (buf.getvalue(), json.dumps(tables, indent=2) + "\n", markdown(tables, notes))):
        write_text(path, text)
    return paths


def pareto(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points no other point beats (fewer or equal params and higher or equal PSNR)."""
    return [
        i
        for i, (p, q) in enumerate(points)
        if not any((p2 <= p and q2 >= q) and (p2, q2) != (p, q) for p2, q2 in points)
    ]
