"""recipes/ablations.py's variants on super-resolution: the base recipe switched to sr.py (×2).

    clearer compare recipes/sr_ablations.py --profile compare   # 35 runs; split with --shard I/N
    clearer compare recipes/sr_ground_truth.py --profile compare

With recipes/sr_ground_truth.py run at the same profile (its table lands in a cousin folder), the table
shows where each search's derived architecture ranks among all 16 of the SR compare space, so "does the
search choose differently for SR than for denoising?" is this comparison beside recipes/ablations.py's.
"""

from ablations import SEEDS, SWEEP, VARIANT_SEEDS, variants  # noqa: F401  (SEEDS, SWEEP: read by clearer compare)

BASE = "sr.py"


def VARIANTS(profile):
    return variants(BASE, profile)
