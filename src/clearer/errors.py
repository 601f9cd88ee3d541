"""One exception type for mistakes a user can fix; the CLI prints it as a paragraph, not a traceback."""


class ClearerError(Exception):
    """A problem with the user's input (recipe, data, command line) whose message says how to fix it."""


def check_min(owner: str, low: float, strict: bool = False, **values: float) -> None:
    """A part's own range check: every named value at least `low` (above it with `strict`), else a
    ClearerError naming the argument, e.g. "clearer space: width must be at least 1, got 0"."""
    for name, value in values.items():
        if value < low or (strict and value == low):
            raise ClearerError(f"{owner}: {name} must be {'above' if strict else 'at least'} {low}, got {value!r}.")
