"""Ground truth of a search space: every architecture retrained at one budget and seed set, ranked.

    clearer compare recipes/ground_truth.py --profile compare   # 16 architectures x 2 seeds
    clearer compare recipes/ground_truth.py --profile smoke     # seconds, for tests

What NAS-Bench-201 gives image classification, for this restoration space: the table ranks every
architecture of the base recipe's space at the profile (all of them when there are at most LIMIT,
else a seeded sample of LIMIT), best mean PSNR first, with the ranks each is tied with (differences
under 2 pooled seed std). It writes ground_truth.json beside the table; a comparison run at the same
space, data, retrain budget and evaluation (e.g. recipes/ablations.py at the same profile, in a sibling
folder) then shows where each search's derived architecture ranks in it.

Variant names spell the architecture, one letter per choice point in order (cell1/col0, cell1/col1,
cell2/col0, ...): P = parallel, F = fusion.
"""

from pathlib import Path

from clearer.compare import every_architecture, fixed_variants

BASE = "bsd.py"
SEEDS = 2
LIMIT = 64
GROUND_TRUTH = True


def VARIANTS(profile):
    return variants(BASE, profile)


def variants(base_file, profile):
    """Every architecture (up to LIMIT) of any base recipe's space (bsd.py here, sr.py in sr_ground_truth.py)."""
    return fixed_variants(every_architecture(Path(__file__).with_name(base_file), profile, limit=LIMIT, seed=0))
