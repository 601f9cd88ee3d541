"""Name -> object registries, one per kind of swappable part, so recipes can refer to parts by name."""

from __future__ import annotations

import inspect
import linecache
import types
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from .contracts import CandidateFactory, Degradation, ImageSource, OpFactory, Strategy
from .errors import ClearerError, did_you_mean

T = TypeVar("T")
F = TypeVar("F")  # what a registry holds: a factory of one constructor signature


def code_of(obj: Any) -> Any:
    """The code object that locates a definition: a function's own, or a class's first method's."""
    if isinstance(obj, type):
        codes = [
            getattr(inspect.unwrap(m), "__code__", None)
            for m in vars(obj).values()
            if isinstance(m, (types.FunctionType, staticmethod, classmethod))
        ]
        codes = [c for c in codes if c is not None]
        return min(codes, key=lambda c: c.co_firstlineno) if codes else None
    return getattr(inspect.unwrap(obj), "__code__", None) if callable(obj) else None


def _where(obj: Any) -> str:
    """file:line of a class or function, for duplicate-name errors.

    Why code objects first: `inspect` finds a class through its module, which for recipe files run by
    runpy is missing or (same run name) another file; a method's code always knows its own file.
    """
    code = code_of(obj)
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
    ca, cb = code_of(a), code_of(b)
    return (
        ca is not None
        and cb is not None
        and getattr(a, "__qualname__", None) == getattr(b, "__qualname__", 0)
        and (ca.co_filename, ca.co_firstlineno) == (cb.co_filename, cb.co_firstlineno)
    )


def summary(obj: Any) -> str:
    """First paragraph of an object's docstring on one line ('' when it has none).

    Why a paragraph: docstrings wrap their first sentence over several lines; the first line alone
    cut `clearer list` descriptions mid-sentence.
    """
    doc = (inspect.getdoc(obj) or "").strip()
    return " ".join(doc.split("\n\n")[0].split())


def parameters(factory: Any) -> list[str] | None:
    """The arguments a part can be called with by name, required ones included (None: it takes **kwargs)."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    names = []
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            return None
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            names.append(p.name)
    return names


class Registry(Generic[F]):
    """Holds the registered parts of one kind (candidates, losses, ...) under explicit names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Any] = {}

    def register(self, name: str, *, override: bool = False) -> Callable[[T], T]:
        """Decorator: register a class or function under `name`; a second use of a name is an error
        unless `override=True`."""
        if not isinstance(name, str) or not name or ":" in name:
            raise ClearerError(
                f"{self.kind}: register() needs an explicit name without ':' (kept for 'module:qualname'), "
                f'got {name!r}: write @{self.kind.upper()}.register("my_name") above the class or function.'
            )

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

    def get(self, name_or_obj: Any) -> F:
        """The registered object for a name; a class or function given directly is returned as is."""
        if not isinstance(name_or_obj, str):
            if callable(name_or_obj):
                return name_or_obj
            raise ClearerError(f"expected a {self.kind} name or a class/function, got {name_or_obj!r}")
        try:
            return self._entries[name_or_obj]
        except KeyError:
            raise ClearerError(
                f"unknown {self.kind} {name_or_obj!r}.{did_you_mean(name_or_obj, self._entries)} "
                f"Registered {self.kind}: {', '.join(sorted(self._entries)) or '(none)'}."
            ) from None

    def build(self, ref: str | dict[str, Any] | Callable[..., Any], **extra: Any) -> Any:
        """Call the part `ref` names with the ref's own arguments plus `extra` (what the calling code
        supplies, e.g. a candidate's widths). A ref is a name, a class/function, or {"name": ..., **kwargs}.

        Why the signature check here: arguments a factory does not take must fail as a ClearerError that
        names the part and what it accepts, not as a TypeError from deep inside its construction.
        """
        ref = ref if isinstance(ref, dict) else {"name": ref}
        factory = self.get(ref["name"])
        given = {k: v for k, v in ref.items() if k != "name"}
        label = ref["name"] if isinstance(ref["name"], str) else getattr(factory, "__qualname__", repr(factory))
        clash = sorted(set(given) & set(extra))
        if clash:
            raise ClearerError(
                f"{self.kind} {label!r}: {', '.join(clash)} {'is' if len(clash) == 1 else 'are'} "
                f"set by clearer itself when it builds the part; remove it from the recipe."
            )
        kwargs = {**given, **extra}
        try:
            inspect.signature(factory).bind(**kwargs)
        except ValueError:  # no signature to check (some builtins): let the call decide
            pass
        except TypeError as err:
            accepted = parameters(factory)
            takes = "any keyword arguments" if accepted is None else ", ".join(accepted) or "no arguments"
            raise ClearerError(
                f"{self.kind} {label!r} cannot be built with arguments "
                f"({', '.join(kwargs) or 'none'}): {err}. It takes {takes}."
            ) from None
        return factory(**kwargs)

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


CANDIDATES: Registry[CandidateFactory] = Registry("candidates")  # multi-scale modules of the clearer space
OPS: Registry[OpFactory] = Registry("ops")  # single-resolution ops of the DARTS cell space
SPACES: Registry[Callable[..., Any]] = Registry("spaces")
LOSSES: Registry[Callable[..., Any]] = Registry("losses")
STRATEGIES: Registry[Callable[..., Strategy]] = Registry("strategies")
DATASETS: Registry[Callable[..., ImageSource]] = Registry("datasets")
DEGRADATIONS: Registry[Callable[..., Degradation]] = Registry("degradations")

REGISTRIES: dict[str, Registry[Any]] = {
    r.kind: r for r in (CANDIDATES, OPS, SPACES, LOSSES, STRATEGIES, DATASETS, DEGRADATIONS)
}
