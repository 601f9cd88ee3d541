"""Keep freed activation memory in the process instead of handing it back to the OS after every convolution.

Why: glibc serves each block above its mmap threshold (128 KiB at start, at most 32 MiB as it adapts)
with a fresh mmap and unmaps it on free, and trims the heap top above 128 KiB. A restoration network
allocates and frees activation buffers of tens to hundreds of MiB per convolution, so without this the
kernel maps, zero-fills and unmaps every one of them: on a 2-core AMD EPYC, a whole 644x1024 image with
the quick profile's network spent 4.9 s of system time beside 8.2 s of user time; with the two
thresholds raised, under 0.7 s (docs/speed.md). The values computed are the same (only where the bytes
live changes); the cost is that the process keeps its peak heap until it exits.

Applied once per process the first time clearer runs inference; only on Linux with glibc, a no-op
elsewhere. `CLEARER_KEEP_MEMORY=0` in the environment turns it off.
"""

from __future__ import annotations

import ctypes
import os
import platform

ENV = "CLEARER_KEEP_MEMORY"
M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
THRESHOLD = 2**31 - 1  # mallopt takes an int: 2 GiB is the largest value it accepts

_applied: bool | None = None  # None: not tried yet; then whether the thresholds were set


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; True when they are set (now or before)."""
    global _applied
    if _applied is None:
        _applied = _apply()
    return _applied


def _apply() -> bool:
    if os.environ.get(ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, THRESHOLD))
