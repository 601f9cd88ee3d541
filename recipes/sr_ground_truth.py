"""recipes/ground_truth.py on super-resolution: every architecture of sr.py's space retrained and ranked.

clearer compare recipes/sr_ground_truth.py --profile compare   # 16 architectures x 2 seeds
"""

from ground_truth import GROUND_TRUTH, LIMIT, SEEDS, variants  # noqa: F401  (read by clearer compare)

BASE = "sr.py"


def VARIANTS(profile):
    return variants(BASE, profile)
