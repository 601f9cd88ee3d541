"""Checking a recipe dict against the schema: types, ranges and refs to registered parts.

Every error is a ClearerError that names the key (`search.epochs`, `data.degradation.sigma`) and how to
fix it, raised when the recipe is resolved rather than somewhere in a run.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Literal

from ..errors import ClearerError, did_you_mean
from ..registry import LOSSES, REGISTRIES, Registry, parameters
from .refs import REF_REGISTRY, LossName


def type_name(t: Any) -> str:
    """'int | None', 'list[DatasetRef]': readable annotations for error messages."""
    origin, args = typing.get_origin(t), typing.get_args(t)
    if t is type(None):
        return "None"
    if origin in (typing.Union, types.UnionType):
        return " | ".join(map(type_name, args))
    if origin is Literal:
        return " | ".join(map(repr, args))
    if args:
        return f"{type_name(origin)}[{', '.join('...' if a is Ellipsis else type_name(a) for a in args)}]"
    return getattr(t, "__name__", None) or str(t).replace("typing.", "")


def _bad(key: str, expected: Any, value: Any) -> ClearerError:
    settable = key.split("[")[0]  # --set reaches lists as a whole
    return ClearerError(
        f"{key} expects {type_name(expected)}, got {value!r} ({type(value).__name__}). "
        f"Fix it in the recipe or with --set {settable}=<value>."
    )


def resolve_callable(value: Any, registry: Registry[Any] | None = None) -> Any:
    """A class/function given in a recipe file becomes plain data: the name it is registered under.

    Why no 'module:qualname' fallback: a resolved recipe (recipe.json, --set, a run folder) is data,
    and data must never choose code to import and call. Only a recipe .py file, which the user chose
    to run, can add parts, by registering them.
    """
    if isinstance(value, str) or not callable(value):
        return value
    for candidate in [registry] + list(REF_REGISTRY.values()) + list(REGISTRIES.values()):
        name = candidate.name_of(value) if candidate is not None else None
        if name:
            return name
    kind = registry.kind if registry is not None else "part"
    raise ClearerError(
        f"{getattr(value, '__qualname__', value)!r} is not registered, so the resolved recipe (plain data) "
        f'could not name it. Register it in the recipe file with @{kind.upper()}.register("my_name") '
        f"and use that name."
    )


def _check_ref(value: Any, registry: Registry[Any], key: str) -> dict[str, Any]:
    if isinstance(value, str) or (callable(value) and not isinstance(value, dict)):
        value = {"name": value}
    if not isinstance(value, dict) or "name" not in value:
        raise ClearerError(f"{key} expects a {registry.kind} name or a dict with a 'name' key, got {value!r}.")
    given = value["name"]
    if not isinstance(given, str) and not callable(given):
        raise ClearerError(f"{key}.name expects a {registry.kind} name or a class/function, got {given!r}.")
    try:
        name = resolve_callable(given, registry)
        factory = registry.get(name)
    except ClearerError as err:
        raise ClearerError(f"{key}: {err}") from None
    params = parameters(factory)
    hints = _hints(factory)
    out: dict[str, Any] = {"name": name}
    for arg, val in value.items():
        if arg == "name":
            continue
        if params is not None and arg not in params:
            hint = did_you_mean(arg, params, show=lambda n: f"{key}.{n}")
            raise ClearerError(
                f"unknown key {key}.{arg}: {registry.kind} {name!r} takes {', '.join(params) or 'no arguments'}.{hint}"
            )
        out[arg] = check(val, hints.get(arg, Any), f"{key}.{arg}")
    return out


def _hints(obj: Any) -> dict[str, Any]:
    try:
        target = obj.__init__ if isinstance(obj, type) else obj
        return typing.get_type_hints(target)
    except Exception:  # unresolvable annotations: skip type checks, keep key checks
        return {}


def _plain(value: Any, key: str) -> Any:
    """An unannotated value must be JSON data (tuples become lists), so the recipe round-trips."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise ClearerError(f"{key} has a key {k!r} ({type(k).__name__}); recipe dict keys must be strings.")
        return {k: _plain(v, f"{key}.{k}") for k, v in value.items()}
    raise ClearerError(
        f"{key} is {value!r} ({type(value).__name__}), which is not plain data. Recipe values are numbers, "
        f"strings, booleans, None, lists and dicts; refer to parts by registered name."
    )


def check(value: Any, expected: Any, key: str) -> Any:
    """Validate (and normalise) one value against a type annotation."""
    if expected is Any:
        return _plain(value, key)
    if expected in REF_REGISTRY:
        return _check_ref(value, REF_REGISTRY[expected], key)
    if expected is LossName:
        try:
            name = resolve_callable(value, LOSSES)
            if not isinstance(name, str):
                raise _bad(key, expected, value)
            LOSSES.get(name)
        except ClearerError as err:
            raise ClearerError(f"{key}: {err}") from None
        return name
    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return check(value, option, key)
            except ClearerError as err:
                errors.append(err)
        raise _bad(key, expected, value)
    if origin is Literal:
        if value not in args:
            raise ClearerError(f"{key} must be one of {', '.join(map(repr, args))}, got {value!r}.")
        return value
    if origin in (list, tuple) or expected in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _bad(key, expected, value)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise _bad(key, expected, value)
            return [check(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args))]
        return [check(v, args[0] if args else Any, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict or expected is dict:
        if not isinstance(value, dict):
            raise _bad(key, expected, value)
        key_type, value_type = args if args else (str, Any)
        for k in value:
            if not isinstance(k, str):
                raise ClearerError(f"{key} has a key {k!r} ({type(k).__name__}); recipe dict keys must be strings.")
        return {check(k, key_type, f"{key}.{k}"): check(v, value_type, f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(expected):
        if not isinstance(value, dict):
            raise _bad(key, expected, value)
        return check_section(expected, value, key + ".")
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _bad(key, expected, value)
        if not math.isfinite(value):
            raise ClearerError(
                f"{key} must be a finite number, got {value!r}. Fix it in the recipe or with "
                f"--set {key.split('[')[0]}=<value>."
            )
        return float(value)
    if expected is int or expected is str or expected is bool:
        if type(value) is not expected:
            raise _bad(key, expected, value)
        return value
    return _plain(value, key)


def check_section(cls: type, data: Any, prefix: str) -> Any:
    """A schema section (dataclass `cls`) built from a dict: unknown keys, types and ranges checked;
    `prefix` ('data.') names the section in errors."""
    if dataclasses.is_dataclass(data):
        data = dataclasses.asdict(data)
    if not isinstance(data, dict):
        if not prefix:
            raise ClearerError(f"a recipe is a dict of keys and sections, got {data!r} ({type(data).__name__}).")
        raise _bad(prefix.rstrip("."), cls, data)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            hint = did_you_mean(key, names, show=lambda n: prefix + n) if isinstance(key, str) else ""
            raise ClearerError(
                f"unknown key {prefix}{key}.{hint} Valid keys here: {', '.join(prefix + n for n in names)}."
            )
    defaults = cls()
    kwargs = {}
    for name in names:
        value = data[name] if name in data else getattr(defaults, name)
        if dataclasses.is_dataclass(value):
            value = dataclasses.asdict(value)
        kwargs[name] = check(value, hints[name], prefix + name)
    for f in dataclasses.fields(cls):
        if f.metadata:
            _check_range(kwargs[f.name], f.metadata, prefix + f.name)
    return cls(**kwargs)


def _check_range(value: Any, limits: Any, key: str) -> None:
    """A number (or each value of a dict of numbers) within the limits its schema field declares."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_range(v, limits, f"{key}.{k}")
        return
    low, high, above, one_of = (limits.get(k) for k in ("low", "high", "above", "one_of"))
    if value is None or (isinstance(value, str) and one_of is None):  # a word a union allows ('auto')
        return
    wrong = (
        (one_of is not None and value not in one_of)
        or (low is not None and value < low)
        or (high is not None and value > high)
        or (above is not None and value <= above)
    )
    if wrong:
        want = (
            f"one of {', '.join(map(str, one_of))}"
            if one_of is not None
            else " and ".join(
                w
                for w in (
                    f"at least {low}" if low is not None else "",
                    f"above {above}" if above is not None else "",
                    f"at most {high}" if high is not None else "",
                )
                if w
            )
        )
        raise ClearerError(f"{key} must be {want}, got {value!r}. Fix it in the recipe or with --set {key}=<value>.")
