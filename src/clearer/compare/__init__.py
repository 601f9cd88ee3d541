"""Comparisons of recipe variants over seeds: the grid of runs (`grid`), its tables (`report`) and
pictures (`figures`). Comparison files import what they need from here."""

from .grid import (
    PerSeed,
    every_architecture,
    fixed_variants,
    gather,
    job_identity,
    load_comparison,
    random_architectures,
    run_jobs,
    select_variants,
    shard,
    write_report,
)

__all__ = [
    "PerSeed",
    "every_architecture",
    "fixed_variants",
    "gather",
    "job_identity",
    "load_comparison",
    "random_architectures",
    "run_jobs",
    "select_variants",
    "shard",
    "write_report",
]
