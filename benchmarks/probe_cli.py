"""What the hostile-input probes (benchmarks/hostile_probe_*.py) share besides running `clearer ARGS` in
this process (`clearer.cli.run_captured`): a snapshot of the files a command must not touch."""

from __future__ import annotations

import hashlib
from pathlib import Path

UNWATCHED = ("log.txt", ".clearer-lock")  # rewritten by every command that holds a run


def snapshot(*roots: Path) -> dict[str, str]:
    """path -> sha256 of every regular file under (or at) each root, links and UNWATCHED names left out."""
    files = {}
    for root in roots:
        for p in [root, *root.rglob("*")] if root.is_dir() else [root]:
            if p.is_file() and not p.is_symlink() and p.name not in UNWATCHED:
                files[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return files
