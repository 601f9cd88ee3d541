"""Progress bars for people and a plain-text log file for machines; only the main process reports."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..writing import append_text


class RunLog:
    """Writes timestamped lines to `log.txt` and to the console (when `verbose`)."""

    def __init__(self, path: Path | None, verbose: bool = True, console: Console | None = None) -> None:
        self.path = path
        self.verbose = verbose
        self.console = console or Console(stderr=True)

    def __call__(self, message: str) -> None:
        if self.path is not None:
            append_text(self.path, f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")
        if self.verbose:
            self.console.print(message, highlight=False, markup=False, soft_wrap=True)

    @contextmanager
    def progress(self, description: str, total: int, completed: int = 0) -> Iterator[Bar]:
        """A rich bar with ETA and a status text (loss, architecture) when the console is a terminal."""
        live = self.verbose and self.console.is_terminal
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[status]}"),
        )
        with Progress(*columns, console=self.console, disable=not live, transient=False) as progress:
            task = progress.add_task(description, total=total, completed=completed, status="")
            yield Bar(progress, task, live)


class Bar:
    """Handle to advance one progress bar and update its status text."""

    def __init__(self, progress: Progress, task: int, live: bool = True) -> None:
        self.progress, self.task, self.live = progress, task, live  # live: drawn on a terminal

    def advance(self, status: str = "") -> None:
        self.progress.update(self.task, advance=1, status=status)
