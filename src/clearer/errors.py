"""One exception type for mistakes a user can fix; the CLI prints it as a paragraph, not a traceback."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable


class ClearerError(Exception):
    """A problem with the user's input (recipe, data, command line) whose message says how to fix it."""


def check_min(owner: str, low: float, strict: bool = False, **values: float) -> None:
    """A part's own range check: every named value at least `low` (above it with `strict`), else a
    ClearerError naming the argument, e.g. "clearer space: width must be at least 1, got 0"."""
    for name, value in values.items():
        if value < low or (strict and value == low):
            raise ClearerError(f"{owner}: {name} must be {'above' if strict else 'at least'} {low}, got {value!r}.")


def did_you_mean(word: str, options: Iterable[str], show: Callable[[str], str] = repr, n: int = 3) -> str:
    """ " Did you mean 'a', 'b'?" for the options spelled closest to an unknown `word`, else "".

    Why one helper: every unknown name or key (parts, recipe keys, profiles, protocols, kinds, fetchable
    data sets) is answered with the same phrase; `show` writes an option as that message needs it.
    """
    near = difflib.get_close_matches(word, list(options), n=n, cutoff=0.5)
    return f" Did you mean {', '.join(map(show, near))}?" if near else ""


class ClearerTypeError(ClearerError, TypeError):
    """An argument of the wrong kind (`clearer.load(None)`); still caught by `except TypeError`."""


class ClearerValueError(ClearerError, ValueError):
    """An argument of the right kind with a value clearer cannot use (a NaN pixel, a 0x0 image); still
    caught by `except ValueError`."""
