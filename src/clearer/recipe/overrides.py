"""Dotted-key changes to a recipe dict: `--set key=value`, profiles and `derive` (recipe variants)."""

from __future__ import annotations

import ast
import copy
import dataclasses
import types
import typing
from typing import Any

from ..errors import ClearerError, did_you_mean
from .schema import Recipe


class _DictCalls(ast.NodeTransformer):
    """Rewrites `dict(k=v, ...)` into `{'k': v, ...}` so --set accepts the spelling recipes use."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if (
            isinstance(node.func, ast.Name)
            and node.func.id == "dict"
            and not node.args
            and all(k.arg is not None for k in node.keywords)
        ):
            return ast.Dict(keys=[ast.Constant(k.arg) for k in node.keywords], values=[k.value for k in node.keywords])
        return node


def parse_value(text: str) -> Any:
    """A --set value: a Python literal (where `dict(k=v)` counts as one) or else the plain string.

    A value that is a call other than `dict(k=v, ...)` is an error rather than a string, since a
    string that looks like code is never what the user meant.
    """
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return text
    except (RecursionError, MemoryError, ValueError):  # nested too deeply, or a NUL byte
        raise ClearerError(f"--set value {text[:80]!r} is nested too deeply or holds a NUL byte.") from None
    tree = _DictCalls().visit(tree)
    try:
        return ast.literal_eval(tree)
    except (TypeError, RecursionError) as err:  # a literal Python cannot build, e.g. {[1]: 2}
        raise ClearerError(
            f"--set value {text!r} is not a valid literal ({err}); recipe values are numbers, strings, "
            "booleans, None, lists and dicts with string keys."
        ) from None
    except ValueError:
        if any(isinstance(node, ast.Call) for node in ast.walk(tree)):
            raise ClearerError(
                f"--set value {text!r} calls a function; only literals and dict(key=value, ...) "
                "are allowed, e.g. \"data.degradation=dict(name='gaussian', sigma=25)\"."
            ) from None
        return text


def parse_set(item: str) -> tuple[str, Any]:
    """'search.epochs=3' -> ('search.epochs', 3)."""
    if "=" not in item:
        raise ClearerError(f"--set expects key=value (e.g. search.epochs=3), got {item!r}.")
    key, _, text = item.partition("=")
    return key.strip(), parse_value(text.strip())


def _known_keys(tree: dict[str, Any], cls: type | None, prefix: str) -> list[str]:
    keys = []
    fields_ = [f.name for f in dataclasses.fields(cls)] if cls else list(tree)
    for name in fields_:
        keys.append(prefix + name)
        sub = tree.get(name)
        sub_cls = typing.get_type_hints(cls).get(name) if cls else None
        if isinstance(sub, dict):
            keys += _known_keys(sub, sub_cls if dataclasses.is_dataclass(sub_cls) else None, prefix + name + ".")
    return keys


def _section_default(cls: type, name: str) -> Any:
    """What a missing key of a schema section starts as, so an override can reach into it."""
    default = getattr(cls(), name)
    if dataclasses.is_dataclass(default):
        return {}
    hint = typing.get_type_hints(cls)[name]
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    if default is None and any(o is dict or typing.get_origin(o) is dict for o in options):
        return {}
    return copy.deepcopy(default)


def apply_overrides(tree: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of a recipe dict with dotted-key overrides applied; unknown keys fail at once.

    Keys of the schema are checked here; keys inside a part ({"name": ..., **arguments}) or a plain dict
    are checked against the part's signature when the recipe is built. Sections the tree leaves out
    start from their defaults, so `derive({}, {"search.epochs": 3})` works.
    """
    out = copy.deepcopy(tree)
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        node: Any = out
        cls: Any = Recipe  # the schema section `node` is; None inside a part's arguments or a plain dict
        for i, part in enumerate(parts):
            if not isinstance(node, dict) or not part:
                raise _unknown(dotted, out)
            if cls is not None and part not in {f.name for f in dataclasses.fields(cls)}:
                raise _unknown(dotted, out)
            if i == len(parts) - 1:
                node[part] = copy.deepcopy(value)
                break
            child = node.get(part)
            if child is None:  # a schema section's default, or a part's argument not given yet
                child = _section_default(cls, part) if cls is not None else {}
            if isinstance(child, str) or (callable(child) and not isinstance(child, dict)):
                child = {"name": child}  # a bare part name gains arguments
            if not isinstance(child, dict):
                raise _unknown(dotted, out)
            node[part] = child
            sub = typing.get_type_hints(cls)[part] if cls is not None else None
            node, cls = child, sub if dataclasses.is_dataclass(sub) else None
    return out


def _unknown(dotted: str, tree: dict[str, Any]) -> ClearerError:
    return ClearerError(f"unknown key {dotted}.{did_you_mean(dotted, _known_keys(tree, Recipe, ''), show=str)}")


def derive(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A variant of a recipe dict: `derive(RECIPE, {"search.epochs": 3})` (dotted keys)."""
    return apply_overrides(base, overrides)
