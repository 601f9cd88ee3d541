"""Recipes: small Python files that declare one experiment, resolved into validated plain data.

A recipe file defines ``RECIPE`` (a nested dict of plain values and registered names) and optionally
``PROFILES`` (name -> dotted overrides). Loading applies a profile, then ``--set`` overrides, checks every
key and type against the schema below, and returns a :class:`Recipe` that round-trips through JSON.
"""
from __future__ import annotations

import ast
import copy
import dataclasses
import hashlib
import json
import math
import runpy
import sys
import traceback
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, NewType

from .errors import ClearerError
from .registry import DATASETS, DEGRADATIONS, LOSSES, SPACES, STRATEGIES, Registry, close_matches

# A "ref" is a registered part with its arguments: {"name": <registered name or class>, **kwargs}.
# A bare name is shorthand for {"name": name}.
DatasetRef = NewType("DatasetRef", dict)
DegradationRef = NewType("DegradationRef", dict)
SpaceRef = NewType("SpaceRef", dict)
StrategyRef = NewType("StrategyRef", dict)
LossRef = NewType("LossRef", dict)
LossName = NewType("LossName", str)  # a registered loss named without arguments (arch_losses keys)
REF_REGISTRY: dict[Any, Registry] = {
    DatasetRef: DATASETS, DegradationRef: DEGRADATIONS, SpaceRef: SPACES,
    StrategyRef: STRATEGIES, LossRef: LOSSES,
}


def _d(**kw: Any) -> Any:
    return field(default_factory=lambda: copy.deepcopy(kw))


def _num(default: Any, low: float | None = None, high: float | None = None, above: float | None = None,
         one_of: tuple[Any, ...] | None = None) -> Any:
    """A schema number with its valid range, checked at resolve time.

    Why: `search.epochs=-1` or `data.batch=0` must fail when the recipe is resolved (`clearer show`
    already), not skip a phase silently or crash an hour into a run.
    """
    return field(default=default, metadata={"low": low, "high": high, "above": above, "one_of": one_of})


@dataclass
class DataConfig:
    """Where images come from and how they are degraded into training pairs."""
    train: DatasetRef = _d(name="bsds500", split="train")
    arch: DatasetRef = _d(name="bsds500", split="val", exclude="bsd68")
    degradation: DegradationRef = _d(name="gaussian", sigma=50.0)
    channels: int = _num(1, one_of=(1, 3))
    patch: int = _num(64, low=1)
    batch: int = _num(32, low=1)


@dataclass
class SearchConfig:
    """Architecture search: strategy, budget and the loss terms of L = L_restore + Σ λ·L_arch."""
    strategy: StrategyRef = _d(name="bilevel")
    epochs: int = _num(200, low=1)
    steps_per_epoch: int = _num(50, low=1)
    loss: LossRef = _d(name="mse")
    arch_losses: dict[LossName, float] = field(
        default_factory=lambda: {"binary_entropy": 0.01, "expected_cost": 0.01}, metadata={"low": 0})
    cost: Literal["params", "flops"] = "params"


@dataclass
class RetrainConfig:
    """Training the derived architecture from scratch."""
    epochs: int = _num(1000, low=1)
    steps_per_epoch: int = _num(100, low=1)
    lr: float = _num(1e-2, above=0)
    min_lr: float = _num(1e-5, low=0)
    weight_decay: float = _num(0.0, low=0)
    grad_clip: float = _num(5.0, above=0)
    loss: LossRef = _d(name="mse")
    patch: int | None = _num(None, low=1)
    batch: int | None = _num(None, low=1)
    architecture: dict[str, str] | None = None
    # PSNR after every epoch on this many α-split images (data.arch, never a test set); the best epoch's
    # weights are kept as model_best.safetensors beside the last. 0: no validation.
    val_images: int = 4


@dataclass
class EvalConfig:
    """Test sets, metric protocol and inference settings."""
    sets: list[DatasetRef] = field(default_factory=lambda: [{"name": "bsds500", "split": "test"}])
    protocol: Literal["clearer", "standard"] = "clearer"
    self_ensemble: bool = False
    tile: int | None = _num(512, low=1)
    samples: int = _num(3, low=0)


@dataclass
class Recipe:
    """One experiment, fully resolved: every value plain data, every part a registered name."""
    name: str = "experiment"
    seed: int = _num(0, low=0, high=2**32 - 1)
    device: str = "auto"
    channels_last: bool = True
    autocast: Literal["auto", "none", "bf16"] = "auto"
    tracking: Literal["csv", "tensorboard"] = "csv"  # metrics.csv always; TensorBoard scalars/images too
    compile: Literal["auto", "off", "on"] = "auto"  # torch.compile the training network (auto: on CUDA)
    space: SpaceRef = _d(name="clearer")
    data: DataConfig = field(default_factory=DataConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    retrain: RetrainConfig = field(default_factory=RetrainConfig)
    evaluate: EvalConfig = field(default_factory=EvalConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Recipe":
        return _build_section(cls, data, "")

    def hash(self) -> str:
        """Short content hash of the resolved recipe (names runs and weight headers)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:10]


# ----------------------------------------------------------------------------------------- checks

def _type_name(t: Any) -> str:
    """'int | None', 'list[DatasetRef]': readable annotations for error messages."""
    origin, args = typing.get_origin(t), typing.get_args(t)
    if t is type(None):
        return "None"
    if origin in (typing.Union, types.UnionType):
        return " | ".join(map(_type_name, args))
    if origin is Literal:
        return " | ".join(map(repr, args))
    if args:
        return f"{_type_name(origin)}[{', '.join('...' if a is Ellipsis else _type_name(a) for a in args)}]"
    return getattr(t, "__name__", None) or str(t).replace("typing.", "")


def _bad(key: str, expected: Any, value: Any) -> ClearerError:
    settable = key.split("[")[0]  # --set reaches lists as a whole
    return ClearerError(
        f"{key} expects {_type_name(expected)}, got {value!r} ({type(value).__name__}). "
        f"Fix it in the recipe or with --set {settable}=<value>.")


def resolve_callable(value: Any, registry: Registry | None = None) -> Any:
    """A class/function given in a recipe file becomes plain data: the name it is registered under.

    Why no 'module:qualname' fallback: a resolved recipe (recipe.json, --set, a run folder) is data,
    and data must never choose code to import and call. Only a recipe .py file, which the user chose
    to run, can add parts, by registering them.
    """
    if isinstance(value, str) or not callable(value):
        return value
    from .registry import REGISTRIES
    for candidate in [registry] + list(REF_REGISTRY.values()) + list(REGISTRIES.values()):
        name = candidate.name_of(value) if candidate is not None else None
        if name:
            return name
    kind = registry.kind if registry is not None else "part"
    raise ClearerError(
        f"{getattr(value, '__qualname__', value)!r} is not registered, so the resolved recipe (plain data) "
        f"could not name it. Register it in the recipe file with @{kind.upper()}.register(\"my_name\") "
        f"and use that name.")


def _lookup(registry: Registry, name: str) -> Any:
    """The registered part called `name` (never an import: names in data select registered code only)."""
    return registry.get(name)


def _check_ref(value: Any, registry: Registry, key: str) -> dict[str, Any]:
    if isinstance(value, str) or (callable(value) and not isinstance(value, dict)):
        value = {"name": value}
    if not isinstance(value, dict) or "name" not in value:
        raise ClearerError(
            f"{key} expects a {registry.kind} name or a dict with a 'name' key, got {value!r}.")
    given = value["name"]
    if not isinstance(given, str) and not callable(given):
        raise ClearerError(f"{key}.name expects a {registry.kind} name or a class/function, got {given!r}.")
    try:
        name = resolve_callable(given, registry)
        factory = _lookup(registry, name)
    except ClearerError as err:
        raise ClearerError(f"{key}: {err}") from None
    params = inspect_params(factory)
    hints = _hints(factory)
    out: dict[str, Any] = {"name": name}
    for arg, val in value.items():
        if arg == "name":
            continue
        if params is not None and arg not in params:
            near = close_matches(arg, list(params))
            hint = f" Did you mean {', '.join(f'{key}.{n}' for n in near)}?" if near else ""
            raise ClearerError(
                f"unknown key {key}.{arg}: {registry.kind} {name!r} takes "
                f"{', '.join(params) or 'no arguments'}.{hint}")
        out[arg] = _check(val, hints.get(arg, Any), f"{key}.{arg}")
    return out


def inspect_params(factory: Any) -> list[str] | None:
    """Arguments a recipe may set on a part, required ones included (None when it accepts **kwargs)."""
    import inspect
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
        f"strings, booleans, None, lists and dicts; refer to parts by registered name.")


def _check(value: Any, expected: Any, key: str) -> Any:
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
                return _check(value, option, key)
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
            return [_check(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args))]
        return [_check(v, args[0] if args else Any, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict or expected is dict:
        if not isinstance(value, dict):
            raise _bad(key, expected, value)
        key_type, value_type = args if args else (str, Any)
        for k in value:
            if not isinstance(k, str):
                raise ClearerError(f"{key} has a key {k!r} ({type(k).__name__}); recipe dict keys must be strings.")
        return {_check(k, key_type, f"{key}.{k}"): _check(v, value_type, f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(expected):
        if not isinstance(value, dict):
            raise _bad(key, expected, value)
        return _build_section(expected, value, key + ".")
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _bad(key, expected, value)
        if not math.isfinite(value):
            raise ClearerError(f"{key} must be a finite number, got {value!r}. Fix it in the recipe or with "
                               f"--set {key.split('[')[0]}=<value>.")
        return float(value)
    if expected is int or expected is str or expected is bool:
        if type(value) is not expected:
            raise _bad(key, expected, value)
        return value
    return _plain(value, key)


def _build_section(cls: type, data: Any, prefix: str) -> Any:
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
            near = close_matches(key, names) if isinstance(key, str) else []
            hint = f" Did you mean {', '.join(prefix + n for n in near)}?" if near else ""
            raise ClearerError(
                f"unknown key {prefix}{key}.{hint} Valid keys here: {', '.join(prefix + n for n in names)}.")
    defaults = cls()
    kwargs = {}
    for name in names:
        value = data[name] if name in data else getattr(defaults, name)
        if dataclasses.is_dataclass(value):
            value = dataclasses.asdict(value)
        kwargs[name] = _check(value, hints[name], prefix + name)
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
    if value is None:
        return
    low, high, above, one_of = (limits.get(k) for k in ("low", "high", "above", "one_of"))
    wrong = ((one_of is not None and value not in one_of) or (low is not None and value < low)
             or (high is not None and value > high) or (above is not None and value <= above))
    if wrong:
        want = (f"one of {', '.join(map(str, one_of))}" if one_of is not None else
                " and ".join(w for w in (f"at least {low}" if low is not None else "",
                                         f"above {above}" if above is not None else "",
                                         f"at most {high}" if high is not None else "") if w))
        raise ClearerError(f"{key} must be {want}, got {value!r}. Fix it in the recipe or with "
                           f"--set {key}=<value>.")


# -------------------------------------------------------------------------------------- overrides

class _DictCalls(ast.NodeTransformer):
    """Rewrites `dict(k=v, ...)` into `{'k': v, ...}` so --set accepts the spelling recipes use."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args \
                and all(k.arg is not None for k in node.keywords):
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
    tree = _DictCalls().visit(tree)
    try:
        return ast.literal_eval(tree)
    except ValueError:
        if any(isinstance(node, ast.Call) for node in ast.walk(tree)):
            raise ClearerError(f"--set value {text!r} calls a function; only literals and dict(key=value, ...) "
                               "are allowed, e.g. \"data.degradation=dict(name='gaussian', sigma=25)\".") from None
        return text


def parse_set(item: str) -> tuple[str, Any]:
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
            keys += _known_keys(sub, sub_cls if dataclasses.is_dataclass(sub_cls) else None,
                                prefix + name + ".")
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
    keys = _known_keys(tree, Recipe, "")
    near = close_matches(dotted, keys)
    hint = f" Did you mean {', '.join(near)}?" if near else ""
    return ClearerError(f"unknown key {dotted}.{hint}")


# ------------------------------------------------------------------------------------------ loading

@dataclass
class LoadedRecipe:
    """A recipe file after execution: its base dict, profiles and the module namespace.

    `resolved` marks a recipe.json written by a run: its profile is already applied, so a profile
    asked for again is ignored (the run is reproduced exactly as recorded).
    """
    path: Path
    base: dict[str, Any]
    profiles: dict[str, dict[str, Any]]
    namespace: dict[str, Any]
    resolved: bool = False

    def resolve(self, profile: str | None = None, overrides: dict[str, Any] | None = None) -> Recipe:
        """Base, then the profile, then --set overrides; an error says which of the three it is in."""
        if self.resolved:
            profile = None
        if profile is not None and profile not in self.profiles:
            near = close_matches(profile, list(self.profiles))
            hint = f" Did you mean {', '.join(map(repr, near))}?" if near else ""
            raise ClearerError(
                f"recipe {self.path.name} has no profile {profile!r}.{hint} "
                f"Profiles: {', '.join(self.profiles) or '(none)'}.")
        recipe = _within(f"recipe {self.path}", lambda: Recipe.from_dict(self.base))
        if profile is not None:
            recipe = _within(f"profile {profile!r} of {self.path.name}", lambda: Recipe.from_dict(
                apply_overrides(recipe.to_dict(), self.profiles[profile])))
        if overrides:
            recipe = _within("--set", lambda: Recipe.from_dict(apply_overrides(recipe.to_dict(), overrides)))
        return recipe


def _within(where: str, step: Callable[[], Recipe]) -> Recipe:
    try:
        return step()
    except ClearerError as err:
        raise ClearerError(f"{where}: {err}") from err


def _recipe_line(tb: Any, path: Path) -> int | None:
    line = None
    for frame in traceback.extract_tb(tb):
        if Path(frame.filename).resolve() == path:
            line = frame.lineno
    return line


_RECIPE_MODULES: set[str] = set()  # modules imported from a recipe folder, e.g. by `from bsd import RECIPE`
# The recipes shipped inside the package (a link to the repository's recipes/ folder): searched after a
# recipe's own folder, so a recipe copied anywhere still finds `from bsd import RECIPE`.
BUNDLED = Path(__file__).resolve().parent / "recipes"


def _from_folder(name: str, folder: Path) -> bool:
    """A module is a recipe-folder sibling: folder/top.py or the package folder/top/."""
    file = getattr(sys.modules.get(name), "__file__", None)
    top = folder / name.split(".")[0]
    return file is not None and (Path(file).resolve() == top.with_suffix(".py") or top in Path(file).resolve().parents)


def exec_recipe(path: str | Path) -> dict[str, Any]:
    """Run a recipe file (its folder importable, so recipes can import each other).

    Why the module bookkeeping: `from base import RECIPE` must read base.py from this recipe's folder as
    it is now, not a module cached by an earlier load (an edited file, or another folder's base.py).
    """
    path = Path(path)
    if not path.is_file():
        raise ClearerError(
            f"recipe file {str(path)!r} not found. Give the path to a .py recipe, e.g. recipes/bsd.py.")
    path = path.resolve()
    folder = str(path.parent)
    for name in _RECIPE_MODULES:
        sys.modules.pop(name, None)
    _RECIPE_MODULES.clear()
    before = set(sys.modules)
    folders = [folder] + ([str(BUNDLED)] if BUNDLED.is_dir() and BUNDLED != path.parent else [])
    sys.path[:0] = folders
    try:
        return runpy.run_path(str(path), run_name=f"clearer_recipe_{path.stem}")
    except SyntaxError as err:
        raise ClearerError(
            f"syntax error in recipe {err.filename}:{err.lineno}: {err.msg}. Fix the recipe file.") from err
    except ClearerError as err:
        line = _recipe_line(err.__traceback__, path)
        raise ClearerError(f"in recipe {path}{f':{line}' if line else ''}: {err}") from err
    except Exception as err:
        line = _recipe_line(err.__traceback__, path)
        raise ClearerError(
            f"recipe {path}{f':{line}' if line else ''} raised {type(err).__name__}: {err}. "
            f"Run with --debug to see the full traceback.") from err
    finally:
        for entry in folders:
            sys.path.remove(entry)
        _RECIPE_MODULES.update(n for n in set(sys.modules) - before
                               if _from_folder(n, path.parent) or _from_folder(n, BUNDLED))


def read_recipe_json(path: str | Path) -> dict[str, Any]:
    """A resolved recipe saved as JSON (a run folder's recipe.json): data only, nothing is executed."""
    path = Path(path)
    if not path.is_file():
        raise ClearerError(f"recipe file {str(path)!r} not found. Give the path to a .py recipe or a run "
                           "folder's recipe.json.")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ClearerError(f"cannot read recipe {path}: {err}. The file is not valid JSON (truncated or "
                           "edited by hand); restore it from the run's recipe .py file.") from None
    if not isinstance(data, dict):
        raise ClearerError(f"recipe {path} must hold a JSON object of recipe sections, got "
                           f"{type(data).__name__}.")
    return data


def load_recipe(path: str | Path) -> LoadedRecipe:
    """A recipe .py file (executed) or a resolved recipe.json (read as data, never executed)."""
    if Path(path).suffix == ".json":
        return LoadedRecipe(Path(path), read_recipe_json(path), {}, {}, resolved=True)
    namespace = exec_recipe(path)
    if "RECIPE" not in namespace:
        raise ClearerError(
            f"recipe {path} defines no RECIPE dict. A recipe file sets RECIPE = dict(...) "
            f"and optionally PROFILES = {{'smoke': {{...}}}}.")
    base = namespace["RECIPE"]
    if isinstance(base, Recipe):
        base = base.to_dict()
    if not isinstance(base, dict):
        raise ClearerError(f"RECIPE in {path} must be a dict, got {type(base).__name__}.")
    profiles = namespace.get("PROFILES", {})
    if not isinstance(profiles, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) for k, v in profiles.items()):
        raise ClearerError(
            f"PROFILES in {path} must map profile names to dicts of dotted overrides, "
            f"e.g. {{'smoke': {{'search.epochs': 2}}}}; got {profiles!r}.")
    return LoadedRecipe(Path(path), base, dict(profiles), namespace)


def derive(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A variant of a recipe dict: `derive(RECIPE, {"search.epochs": 3})` (dotted keys)."""
    return apply_overrides(base, overrides)
