"""Name -> object registries, one per kind of swappable part, so recipes can refer to parts by name."""
from __future__ import annotations

import difflib
import inspect
import linecache
import types
from typing import Any, Callable, Iterator, TypeVar

from .errors import ClearerError

T = TypeVar("T")


def _code_of(obj: Any) -> Any:
    """The code object that locates a definition: a function's own, or a class's first method's."""
    if isinstance(obj, type):
        codes = [getattr(inspect.unwrap(m), "__code__", None) for m in vars(obj).values()
                 if isinstance(m, (types.FunctionType, staticmethod, classmethod))]
        codes = [c for c in codes if c is not None]
        return min(codes, key=lambda c: c.co_firstlineno) if codes else None
    return getattr(inspect.unwrap(obj), "__code__", None) if callable(obj) else None


def _where(obj: Any) -> str:
    """file:line of a class or function, for duplicate-name errors.

    Why code objects first: `inspect` finds a class through its module, which for recipe files run by
    runpy is missing or (same run name) another file; a method's code always knows its own file.
    """
    code = _code_of(obj)
    if code is not None:
        line = code.co_firstlineno
        if isinstance(obj, type):  # the `class` line above the first method (its decorator, as inspect)
            lines = linecache.getlines(code.co_filename)[:line]
            heads = [i for i, text in enumerate(lines, 1) if text.lstrip().startswith(f"class {obj.__name__}")]
            line = heads[-1] if heads else line
            while heads and line > 1 and lines[line - 2].lstrip().startswith("@"):
                line -= 1
        return f"{code.co_filename}:{line}"
    try:
        return f"{inspect.getsourcefile(obj)}:{inspect.getsourcelines(obj)[1]}"
    except (TypeError, OSError):
        return repr(obj)


def _same_definition(a: Any, b: Any) -> bool:
    """True when `b` is `a` defined again by the same source (a recipe loaded twice, or run and imported).

    Why: re-running a file that registers parts must not look like a name clash.
    """
    if a is b:
        return True
    ca, cb = _code_of(a), _code_of(b)
    return (ca is not None and cb is not None and getattr(a, "__qualname__", None) == getattr(b, "__qualname__", 0)
            and (ca.co_filename, ca.co_firstlineno) == (cb.co_filename, cb.co_firstlineno))


def summary(obj: Any) -> str:
    """First paragraph of an object's docstring on one line ('' when it has none).

    Why a paragraph: docstrings wrap their first sentence over several lines; the first line alone
    cut `clearer list` descriptions mid-sentence.
    """
    doc = (inspect.getdoc(obj) or "").strip()
    return " ".join(doc.split("\n\n")[0].split())


def close_matches(word: str, options: list[str], n: int = 3) -> list[str]:
    """Spelling suggestions for an unknown key or name."""
    return difflib.get_close_matches(word, options, n=n, cutoff=0.5)


class Registry:
    """Holds the registered parts of one kind (modules, losses, ...) under explicit names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Any] = {}

    def register(self, name: str, *, override: bool = False) -> Callable[[T], T]:
        """Decorator: register a class or function under `name`; a second use of a name is an error
        unless `override=True`."""
        if not isinstance(name, str) or not name or ":" in name:
            raise ClearerError(
                f"{self.kind}: register() needs an explicit name without ':' (kept for 'module:qualname'), "
                f"got {name!r}: write @{self.kind.upper()}.register(\"my_name\") above the class or function.")

        def add(obj: T) -> T:
            if name in self._entries and not override and not _same_definition(self._entries[name], obj):
                first = self._entries[name]
                raise ClearerError(
                    f"{self.kind} name {name!r} is already registered by {_where(first)}; "
                    f"{_where(obj)} tries to register it again. Pick another name, or pass "
                    f"override=True to replace it on purpose."
                )
            self._entries[name] = obj
            return obj

        return add

    def get(self, name_or_obj: Any) -> Any:
        """The registered object for a name; a class or function given directly is returned as is."""
        if not isinstance(name_or_obj, str):
            if callable(name_or_obj):
                return name_or_obj
            raise ClearerError(f"expected a {self.kind} name or a class/function, got {name_or_obj!r}")
        try:
            return self._entries[name_or_obj]
        except KeyError:
            near = close_matches(name_or_obj, list(self._entries))
            hint = f" Did you mean {', '.join(map(repr, near))}?" if near else ""
            raise ClearerError(
                f"unknown {self.kind} {name_or_obj!r}.{hint} Registered {self.kind}: "
                f"{', '.join(sorted(self._entries)) or '(none)'}."
            ) from None

    def name_of(self, obj: Any) -> str | None:
        """The name an object is registered under, if any."""
        return next((n for n, o in self._entries.items() if o is obj), None)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(sorted(self._entries.items()))

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


MODULES = Registry("modules")
CELLS = Registry("cells")
SPACES = Registry("spaces")
LOSSES = Registry("losses")
STRATEGIES = Registry("strategies")
DATASETS = Registry("datasets")
DEGRADATIONS = Registry("degradations")
METRICS = Registry("metrics")

REGISTRIES: dict[str, Registry] = {
    r.kind: r for r in (MODULES, CELLS, SPACES, LOSSES, STRATEGIES, DATASETS, DEGRADATIONS, METRICS)
}
