"""What the hostile-input probes (benchmarks/hostile_probe_*.py) share: `clearer ARGS` run in this
process, and a snapshot of the files a command must not touch."""

from __future__ import annotations

import hashlib
import io
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from clearer.cli import main

UNWATCHED = ("log.txt", ".clearer-lock")  # rewritten by every command that holds a run


def run_cli(args: list[object], reraise: tuple[type[BaseException], ...] = ()) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `clearer ARGS`; an exception escaping main() is the traceback a
    user would see (code -1), except the `reraise` ones (a probe's own timeout)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except reraise:
            raise
        except BaseException:  # noqa: BLE001 - reported as a traceback, the bad outcome it is
            err.write(traceback.format_exc())
            code = -1
    return code, out.getvalue(), err.getvalue()


def snapshot(*roots: Path) -> dict[str, str]:
    """path -> sha256 of every regular file under (or at) each root, links and UNWATCHED names left out."""
    files = {}
    for root in roots:
        for p in [root, *root.rglob("*")] if root.is_dir() else [root]:
            if p.is_file() and not p.is_symlink() and p.name not in UNWATCHED:
                files[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return files
