"""Recipes: loading, profiles, --set overrides, validation messages, derive, local parts, JSON round trip."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
import torch

from clearer.errors import ClearerError
from clearer.recipe import (
    LoadedRecipe,
    Recipe,
    apply_overrides,
    derive,
    exec_recipe,
    load_recipe,
    parse_set,
    parse_value,
)
from clearer.registry import CANDIDATES, LOSSES, SPACES

from conftest import RECIPES

ROOT = Path(__file__).resolve().parents[1]
BSD = ROOT / "recipes" / "bsd.py"


pytestmark = pytest.mark.usefixtures("restore_registries")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def resolve(path: Path, profile: str | None = None, *sets: str) -> Recipe:
    return load_recipe(path).resolve(profile, dict(parse_set(s) for s in sets))


def error(path: Path, profile: str | None = None, *sets: str) -> str:
    with pytest.raises(ClearerError) as info:
        resolve(path, profile, *sets)
    return str(info.value)


def one_paragraph(msg: str) -> None:
    assert "\n" not in msg and "Traceback" not in msg, msg


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        "small.py",
        """\
        RECIPE = dict(
            name="small",
            space=dict(name="clearer", width=16),
            search=dict(epochs=5, loss="l1"),
            evaluate=dict(sets=["bsd68", dict(name="set12", limit=2)]),
        )
        PROFILES = {"tiny": {"space.width": 8, "search.epochs": 1}, "tidy": {}}
        """,
    )


# ------------------------------------------------------------------------------------------ loading


def test_small_recipe_resolves_to_plain_validated_data(small: Path) -> None:
    r = resolve(small)
    assert r.name == "small" and r.search.epochs == 5
    assert r.space == {"name": "clearer", "width": 16}
    assert r.search.loss == {"name": "l1"}  # a bare name is shorthand for {"name": ...}
    assert r.evaluate.sets == [{"name": "bsd68"}, {"name": "set12", "limit": 2}]
    assert r.retrain.epochs == Recipe().retrain.epochs  # untouched sections keep their defaults
    assert r.data.degradation == {"name": "gaussian", "sigma": 50.0}


def test_loaded_recipe_keeps_base_profiles_and_namespace(small: Path) -> None:
    loaded = load_recipe(small)
    assert isinstance(loaded, LoadedRecipe)
    assert loaded.base["name"] == "small" and set(loaded.profiles) == {"tiny", "tidy"}
    assert loaded.namespace["RECIPE"] is loaded.base


def test_profile_applies_its_overrides(small: Path) -> None:
    r = resolve(small, "tiny")
    assert r.space == {"name": "clearer", "width": 8} and r.search.epochs == 1
    assert resolve(small, "tidy") == resolve(small)


def test_unknown_profile_lists_the_available_ones(small: Path) -> None:
    msg = error(small, "tyni")
    assert "has no profile 'tyni'" in msg and "Did you mean 'tiny'" in msg and "Profiles: tiny, tidy." in msg
    one_paragraph(msg)


def test_recipe_without_profiles_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, "plain.py", "RECIPE = dict(name='plain')\n")
    assert "Profiles: (none)." in error(path, "smoke")


# ------------------------------------------------------------------------------------------ --set


def test_set_overrides_after_the_profile(small: Path) -> None:
    r = resolve(small, "tiny", "search.epochs=3", "space.width=4", "name='other'", "device=cpu")
    assert r.search.epochs == 3 and r.space["width"] == 4 and r.name == "other" and r.device == "cpu"


def test_set_float_where_int_expected_names_key_type_and_value(small: Path) -> None:
    msg = error(small, None, "search.epochs=3.5")
    assert "search.epochs expects int, got 3.5 (float)" in msg and "--set search.epochs=<value>" in msg
    one_paragraph(msg)


def test_set_int_where_float_expected_is_widened(small: Path) -> None:
    r = resolve(small, None, "retrain.lr=1", "data.degradation.sigma=25")
    assert r.retrain.lr == 1.0 and isinstance(r.retrain.lr, float)
    assert r.data.degradation == {"name": "gaussian", "sigma": 25.0}
    assert resolve(small, None, "data.degradation.sigma=[15, 50]").data.degradation["sigma"] == [15.0, 50.0]


def test_set_part_argument_is_checked_against_its_signature(small: Path) -> None:
    assert resolve(small, None, "space.width=8").space == {"name": "clearer", "width": 8}
    msg = error(small, None, "space.width='8'")
    assert "space.width expects int | float, got '8' (str)" in msg
    msg = error(small, None, "space.widht=8")
    assert "unknown key space.widht" in msg and "Did you mean space.width?" in msg and "'clearer' takes" in msg


def test_set_misspelt_degradation_argument_suggests_the_right_one(small: Path) -> None:
    msg = error(small, None, "data.degradation.sigmaa=25")
    assert "unknown key data.degradation.sigmaa" in msg
    assert "degradations 'gaussian' takes sigma, clip, quantize" in msg
    assert "Did you mean data.degradation.sigma?" in msg
    one_paragraph(msg)


@pytest.mark.parametrize(
    "key, near",
    [
        ("search.epoch", "search.epochs"),
        ("serch.epochs", "search.epochs"),
        ("sed", "seed"),
        ("evaluate.protocl", "evaluate.protocol"),
    ],
)
def test_set_unknown_schema_key_names_it_and_close_matches(small: Path, key: str, near: str) -> None:
    msg = error(small, None, f"{key}=3")
    assert f"unknown key {key}." in msg and "Did you mean" in msg and near in msg
    assert msg.startswith("--set: ")


def test_set_literal_field_lists_choices(small: Path) -> None:
    msg = error(small, None, "evaluate.protocol=paper")
    assert "evaluate.protocol must be one of 'clearer', 'standard', 'sr', got 'paper'" in msg


def test_set_can_replace_a_part_by_name(small: Path) -> None:
    r = resolve(small, None, "search.loss=mse", "retrain.loss.name=l1")
    assert r.search.loss == {"name": "mse"} and r.retrain.loss == {"name": "l1"}
    msg = error(small, None, "search.loss=mes")
    assert "unknown losses 'mes'" in msg and "Did you mean 'mse'?" in msg and "search.loss" in msg


def test_parse_set_and_parse_value() -> None:
    assert parse_set("search.epochs=3") == ("search.epochs", 3)
    assert parse_set(" a.b = [1, 2] ") == ("a.b", [1, 2])
    assert parse_set("device=cuda:0") == ("device", "cuda:0")  # not a literal: kept as text
    assert parse_value("None") is None and parse_value("True") is True and parse_value("'3'") == "3"
    with pytest.raises(ClearerError) as info:
        parse_set("search.epochs")
    assert "--set expects key=value" in str(info.value) and "'search.epochs'" in str(info.value)


def test_set_accepts_dict_calls_as_recipes_write_them() -> None:
    """Regression: the rain recipe's docstring showed `--set "evaluate.sets=[dict(name=..., path=...)]"`,
    which used to reach the registry as the raw string and fail as an unknown name."""
    assert parse_value("[dict(name='rain_pairs', path='/my/rain')]") == [{"name": "rain_pairs", "path": "/my/rain"}]
    assert parse_value("dict(name='gaussian', sigma=dict(low=-1.5))") == {"name": "gaussian", "sigma": {"low": -1.5}}
    with pytest.raises(ClearerError) as info:
        parse_value("open('/etc/passwd')")
    assert "calls a function" in str(info.value) and "dict(key=value" in str(info.value)
    small = ROOT / "recipes" / "rain.py"
    r = resolve(small, "smoke", "data.degradation=dict(name='rain_streaks', density=0.01)")
    assert r.data.degradation == {"name": "rain_streaks", "density": 0.01}


# ------------------------------------------------------------------------------------------ file errors


def test_unknown_key_in_file_names_it_and_suggests(tmp_path: Path) -> None:
    path = write(tmp_path, "typo.py", "RECIPE = dict(search=dict(epoch=3))\n")
    msg = error(path)
    assert "unknown key search.epoch." in msg and "Did you mean search.epochs" in msg
    assert str(path) in msg and "Valid keys here: search.strategy, search.epochs" in msg
    one_paragraph(msg)
    path = write(tmp_path, "top.py", "RECIPE = dict(nmae='x')\n")
    assert "unknown key nmae. Did you mean name?" in error(path)


def test_wrong_type_in_file_names_key_expected_and_given(tmp_path: Path) -> None:
    path = write(tmp_path, "types.py", "RECIPE = dict(data=dict(patch='64'))\n")
    assert "data.patch expects int, got '64' (str)" in error(path)
    path = write(tmp_path, "opt.py", "RECIPE = dict(evaluate=dict(tile=1.5))\n")
    assert "evaluate.tile expects int | 'auto' | None, got 1.5 (float)" in error(path)
    path = write(tmp_path, "flag.py", "RECIPE = dict(evaluate=dict(self_ensemble=1))\n")
    assert "evaluate.self_ensemble expects bool, got 1 (int)" in error(path)
    path = write(tmp_path, "section.py", "RECIPE = dict(search=5)\n")
    assert "search expects SearchConfig, got 5 (int)" in error(path)
    path = write(tmp_path, "sets.py", "RECIPE = dict(evaluate=dict(sets='bsd68'))\n")
    assert "evaluate.sets expects list[DatasetRef], got 'bsd68' (str)" in error(path)
    path = write(tmp_path, "ref.py", "RECIPE = dict(space=dict(width=8))\n")
    assert "space expects a spaces name or a dict with a 'name' key, got {'width': 8}" in error(path)
    path = write(tmp_path, "refname.py", "RECIPE = dict(space=dict(name=5))\n")
    assert "space.name expects a spaces name or a class/function, got 5." in error(path)


def test_values_must_be_plain_data(tmp_path: Path) -> None:
    path = write(tmp_path, "sets.py", "RECIPE = dict(evaluate=dict(sets=[dict(name='bsd68', limit={1, 2})]))\n")
    msg = error(path)
    assert "evaluate.sets[0].limit expects int | None, got {1, 2} (set)" in msg
    path = write(tmp_path, "keys.py", "RECIPE = dict(search=dict(arch_losses={1: 0.5}))\n")
    assert "search.arch_losses has a key 1 (int); recipe dict keys must be strings" in error(path)


def test_arch_loss_names_are_registered_losses(tmp_path: Path) -> None:
    path = write(tmp_path, "arch.py", "RECIPE = dict(search=dict(arch_losses={'binary_entropyy': 0.1}))\n")
    msg = error(path)
    assert "search.arch_losses.binary_entropyy: unknown losses 'binary_entropyy'" in msg
    assert "Did you mean 'binary_entropy'?" in msg
    path = write(tmp_path, "arch2.py", "RECIPE = dict(search=dict(arch_losses={'expected_cost': 1}))\n")
    assert resolve(path).search.arch_losses == {"expected_cost": 1.0}


def test_missing_file_is_one_paragraph(tmp_path: Path) -> None:
    with pytest.raises(ClearerError) as info:
        load_recipe(tmp_path / "nope.py")
    msg = str(info.value)
    assert f"recipe file '{tmp_path / 'nope.py'}' not found" in msg and "recipes/bsd.py" in msg
    one_paragraph(msg)


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "broken.py",
        """\
        RECIPE = dict(
            name="broken",,
        )
        """,
    )
    with pytest.raises(ClearerError) as info:
        load_recipe(path)
    msg = str(info.value)
    assert f"syntax error in recipe {path}:2" in msg
    one_paragraph(msg)
    assert isinstance(info.value.__cause__, SyntaxError)  # kept for --debug


def test_exception_inside_recipe_names_file_line_and_type(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "boom.py",
        """\
        import math
        RECIPE = dict(
            seed=int(math.log(0)),
        )
        """,
    )
    with pytest.raises(ClearerError) as info:
        load_recipe(path)
    msg = str(info.value)
    assert f"recipe {path}:3 raised ValueError: math domain error" in msg and "--debug" in msg
    one_paragraph(msg)
    assert isinstance(info.value.__cause__, ValueError)


def test_recipe_without_recipe_dict(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.py", "X = 1\n")
    with pytest.raises(ClearerError, match="defines no RECIPE dict"):
        load_recipe(path)
    path = write(tmp_path, "listy.py", "RECIPE = [1]\n")
    with pytest.raises(ClearerError, match="RECIPE in .*listy.py must be a dict, got list"):
        load_recipe(path)
    path = write(tmp_path, "profiles.py", "RECIPE = {}\nPROFILES = {'smoke': ['search.epochs', 2]}\n")
    with pytest.raises(ClearerError, match="PROFILES in .*profiles.py must map profile names to dicts"):
        load_recipe(path)


def test_bad_key_in_profile_says_which_profile(tmp_path: Path) -> None:
    path = write(tmp_path, "prof.py", "RECIPE = {}\nPROFILES = {'smoke': {'search.epoch': 2}}\n")
    msg = error(path, "smoke")
    assert msg.startswith("profile 'smoke' of prof.py: unknown key search.epoch.") and "search.epochs" in msg


def test_from_dict_rejects_non_dict() -> None:
    with pytest.raises(ClearerError, match=r"a recipe is a dict of keys and sections, got 5 \(int\)"):
        Recipe.from_dict(5)


# ------------------------------------------------------------------------------------------ derive


def test_derived_recipe_imports_its_base_from_the_same_folder(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.py",
        """\
        RECIPE = dict(name="base", search=dict(epochs=200, loss="mse"), space=dict(name="clearer", width=32))
        PROFILES = {"smoke": {"search.epochs": 1}}
        """,
    )
    derived = write(
        tmp_path,
        "derived.py",
        """\
        from clearer.recipe import derive
        from base import RECIPE as BASE, PROFILES
        RECIPE = derive(BASE, {"search.epochs": 3, "name": "derived", "space.width": 8})
        assert BASE["search"]["epochs"] == 200, "derive must not change the base"
        """,
    )
    r = resolve(derived)
    assert (r.name, r.search.epochs, r.space["width"], r.search.loss) == ("derived", 3, 8, {"name": "mse"})
    assert resolve(derived, "smoke").search.epochs == 1
    assert resolve(tmp_path / "base.py").search.epochs == 200


def test_derive_sees_the_base_in_its_own_folder_as_it_is_now(tmp_path: Path) -> None:
    """Two folders with a base.py, and an edited base.py: each load imports the right file."""
    for tag, epochs in (("a", 11), ("b", 22)):
        folder = tmp_path / tag
        folder.mkdir()
        write(folder, "base.py", f"RECIPE = dict(search=dict(epochs={epochs}))\n")
        write(folder, "child.py", "from base import RECIPE\n")
    assert resolve(tmp_path / "a" / "child.py").search.epochs == 11
    assert resolve(tmp_path / "b" / "child.py").search.epochs == 22
    write(tmp_path / "a", "base.py", "RECIPE = dict(search=dict(epochs=33))\n")
    assert resolve(tmp_path / "a" / "child.py").search.epochs == 33


def test_derive_works_on_minimal_bases_and_bare_names() -> None:
    assert derive({}, {"search.epochs": 3}) == {"search": {"epochs": 3}}
    assert Recipe.from_dict(derive({}, {"space.width": 8})).space == {"name": "clearer", "width": 8}
    assert derive({"search": {"loss": "mse"}}, {"search.loss.name": "l1"}) == {"search": {"loss": {"name": "l1"}}}
    assert derive({"search": {"loss": "mse"}}, {"search.loss.k": 1}) == {"search": {"loss": {"name": "mse", "k": 1}}}
    arch = derive({}, {"retrain.architecture.cell1/col0": "fusion"})
    assert Recipe.from_dict(arch).retrain.architecture == {"cell1/col0": "fusion"}
    base = {"search": {"epochs": 1}}
    derive(base, {"search.epochs": 2})
    assert base == {"search": {"epochs": 1}}


def test_derive_unknown_key_fails_at_once_with_suggestion() -> None:
    with pytest.raises(ClearerError) as info:
        derive({"search": {"epochs": 1}}, {"search.epoch": 3})
    assert "unknown key search.epoch. Did you mean search.epochs" in str(info.value)
    with pytest.raises(ClearerError, match="unknown key seed.x"):
        apply_overrides({}, {"seed.x": 1})


def test_derive_error_in_a_recipe_points_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad_derive.py",
        """\
        from clearer.recipe import derive

        RECIPE = derive({}, {"search.epoch": 3})
        """,
    )
    with pytest.raises(ClearerError) as info:
        load_recipe(path)
    assert f"in recipe {path}:3: unknown key search.epoch." in str(info.value)


# ------------------------------------------------------------------------------------------ local parts

LOCAL_SPACE = """\
    from torch import nn
    from clearer import SPACES

    @SPACES.register("test_recipe_tiny")
    class Tiny(nn.Module):
        \"\"\"A one-convolution space for tests.\"\"\"

        def __init__(self, channels: int = 1, width: int = 4, depth: int = 1, architecture=None) -> None:
            super().__init__()
            self.conv = nn.Conv2d(channels, width, 3)

    RECIPE = dict(name="local", space=dict(name=Tiny, width=6))
    """


def test_recipe_registers_its_own_part_and_resolves_it_to_its_name(tmp_path: Path) -> None:
    path = write(tmp_path, "local.py", LOCAL_SPACE)
    r = resolve(path, None, "space.depth=2")
    assert r.space == {"name": "test_recipe_tiny", "width": 6, "depth": 2}
    assert json.loads(r.to_json())["space"] == {"name": "test_recipe_tiny", "width": 6, "depth": 2}
    assert "space.depth expects int, got 2.5 (float)" in error(path, None, "space.depth=2.5")
    assert "Did you mean space.depth?" in error(path, None, "space.dept=2")
    assert resolve(path) == resolve(path)  # loading the file again re-registers without a clash
    assert SPACES.get("test_recipe_tiny").__doc__.startswith("A one-convolution")


def test_a_derived_recipe_may_reuse_a_base_that_registers_parts(tmp_path: Path) -> None:
    write(tmp_path, "local.py", LOCAL_SPACE)
    child = write(
        tmp_path,
        "child.py",
        """\
        from clearer.recipe import derive
        from local import RECIPE as BASE
        RECIPE = derive(BASE, {"space.width": 12})
        """,
    )
    assert resolve(tmp_path / "local.py").space["width"] == 6  # runs local.py as a recipe first
    assert resolve(child).space == {"name": "test_recipe_tiny", "width": 12}  # then imports it
    assert resolve(child).space["width"] == 12


def test_class_given_directly_becomes_its_registered_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "direct.py",
        """\
        from clearer.spaces.clearer_space import ClearerSpace
        from clearer.data.degradations import gaussian
        RECIPE = dict(space=dict(name=ClearerSpace, width=8), data=dict(degradation=gaussian))
        """,
    )
    r = resolve(path)
    assert r.space == {"name": "clearer", "width": 8} and r.data.degradation == {"name": "gaussian"}
    assert Recipe.from_dict(json.loads(r.to_json())) == r


def test_data_names_registered_parts_only_never_imports(tmp_path: Path) -> None:
    """A resolved recipe is data: 'module:qualname' is an unknown name, not an import (issue 12)."""

    with pytest.raises(ClearerError, match="space: 'Identity' is not registered"):
        Recipe.from_dict({"space": torch.nn.Identity})
    flag = tmp_path / "ran"
    for name in ("torch.nn:Identity", "os:system", "builtins:exec"):
        with pytest.raises(ClearerError, match=f"unknown datasets '{name}'"):
            Recipe.from_dict({"data": {"train": {"name": name, "command": f"touch {flag}"}}})
    assert not flag.exists()


def test_unregistered_recipe_class_asks_to_be_registered(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "unreg.py",
        """\
        class Mine:
            def __init__(self, width: int = 4) -> None:
                pass
        RECIPE = dict(space=Mine)
        """,
    )
    msg = error(path)
    assert "space: 'Mine' is not registered" in msg and '@SPACES.register("my_name")' in msg


def test_required_part_arguments_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "folder.py", "RECIPE = dict(evaluate=dict(sets=[dict(name='image_folder', path='x')]))\n")
    assert resolve(path).evaluate.sets == [{"name": "image_folder", "path": "x"}]


def test_untyped_part_arguments_are_normalised_to_json(tmp_path: Path) -> None:
    @LOSSES.register("test_recipe_untyped")
    def untyped(pair=(1, 2), table=None):
        """A loss with unannotated arguments."""

    r = Recipe.from_dict({"search": {"loss": {"name": "test_recipe_untyped", "pair": (3, 4), "table": {"a": (1,)}}}})
    assert r.search.loss == {"name": "test_recipe_untyped", "pair": [3, 4], "table": {"a": [1]}}
    assert Recipe.from_dict(json.loads(r.to_json())) == r
    with pytest.raises(ClearerError) as info:
        Recipe.from_dict({"search": {"loss": {"name": "test_recipe_untyped", "table": {"a": object}}}})
    assert "search.loss.table.a is <class 'object'> (type), which is not plain data" in str(info.value)


def test_tuple_annotations_become_lists(tmp_path: Path) -> None:
    @LOSSES.register("test_recipe_tuple")
    def pairs(window: tuple[int, int] = (3, 3), scales: tuple[float, ...] = (1.0,)):
        """A loss with tuple arguments."""

    r = Recipe.from_dict({"search": {"loss": {"name": "test_recipe_tuple", "window": (5, 5), "scales": (1, 2)}}})
    assert r.search.loss == {"name": "test_recipe_tuple", "window": [5, 5], "scales": [1.0, 2.0]}
    assert Recipe.from_dict(json.loads(r.to_json())) == r
    with pytest.raises(ClearerError, match=r"search.loss.window expects tuple\[int, int\], got \(5,\)"):
        Recipe.from_dict({"search": {"loss": {"name": "test_recipe_tuple", "window": (5,)}}})


# ------------------------------------------------------------------------------------------ JSON and bsd.py


@pytest.mark.parametrize("profile", [None, "paper", "paper-released", "quick", "compare", "smoke"])
def test_bsd_round_trips_through_json(profile: str | None) -> None:
    r = resolve(BSD, profile)
    back = Recipe.from_dict(json.loads(r.to_json()))
    assert back == r and back.hash() == r.hash() and back.to_json() == r.to_json()
    assert len(r.hash()) == 10


def test_hash_follows_the_content() -> None:
    r = resolve(BSD, "smoke")
    assert resolve(BSD, "smoke", "search.epochs=3").hash() != r.hash()
    assert resolve(BSD, "smoke").hash() == r.hash()


def test_bsd_profiles_and_overrides() -> None:
    paper = resolve(BSD, "paper")
    assert paper.search == resolve(BSD).search and paper.search.epochs == 200 and paper.space["width"] == 32
    assert paper.evaluate.sets == [{"name": "bsds500", "split": "test"}, {"name": "bsd68"}, {"name": "set12"}]
    assert paper.data.alpha == {"name": "bsds500", "split": "val", "exclude": "bsd68"}
    smoke = resolve(BSD, "smoke")
    assert smoke.space["width"] == 8 and smoke.search.epochs == 2 and smoke.data.train["limit"] == 6
    assert smoke.search.strategy["weights"].optimizer == "adam" and smoke.evaluate.protocol == "standard"
    quick = resolve(BSD, "quick", "search.epochs=3")
    assert quick.search.epochs == 3 and quick.space["residual"] is True
    msg = error(BSD, "smoke", "search.epoch=3")
    assert "unknown key search.epoch." in msg and "search.epochs" in msg
    msg = error(BSD, "smoke", "search.strategy.weights.lr='fast'")
    assert "search.strategy.weights.lr expects float, got 'fast' (str)" in msg
    assert "bilevel" in error(BSD, "smoke", "search.strategy.w_lr=0.1")
    msg = error(BSD, "smoke", "search.strategy.weights.lrr=0.1")
    assert "unknown key search.strategy.weights.lrr. Did you mean search.strategy.weights.lr?" in msg
    assert resolve(BSD, "smoke", "search.strategy.weights.lr=0.5").search.strategy["weights"].lr == 0.5
    assert (
        resolve(BSD, "smoke", "search.strategy=dict(name='gumbel')", "search.strategy.alpha.movement=4.0")
        .search.strategy["alpha"]
        .movement
        == 4.0
    )  # a part's argument not given yet


def alpha_lr(recipe: Recipe) -> float:
    """The α learning rate a bilevel search of this recipe uses."""
    from clearer.contracts import SearchContext
    from clearer.registry import STRATEGIES

    space = SPACES.get("clearer")(**{k: v for k, v in recipe.space.items() if k != "name"})
    strategy = STRATEGIES.get("bilevel")(**{k: v for k, v in recipe.search.strategy.items() if k != "name"})
    steps = recipe.search.steps_per_epoch
    strategy.prepare(space, space, SearchContext(lambda a, b: a, {}, {}, recipe.search.epochs * steps, steps))
    return strategy.alpha_lr()


def test_every_bsd_profile_resolves_to_the_settings_of_issue_10() -> None:
    """The paper profile is the paper and its released code but for the α optimiser; every profile's α
    optimiser moves α (no coupled decay, lr = alpha.movement / α steps) except `paper-released`."""
    loaded = load_recipe(BSD)
    for name in loaded.profiles:
        r = loaded.resolve(name)
        strategy, alpha = r.search.strategy, r.search.strategy["alpha"]
        if name == "paper-released":
            assert alpha.lr == 3e-4 and alpha.weight_decay == 1e-3
            assert alpha.decay == "coupled" and alpha.betas == [0.5, 0.999]
            continue
        assert strategy["name"] == "bilevel" and alpha.lr is None and alpha.weight_decay == 0
        assert alpha.decay == "decoupled"
        alpha_steps = (r.search.epochs - strategy["warmup_epochs"]) * r.search.steps_per_epoch
        assert alpha_steps > 0 and alpha_lr(r) == pytest.approx(alpha.movement / alpha_steps)
    paper = loaded.resolve("paper")
    assert paper.search.arch_losses == {"binary_entropy": 4.34e-3}  # 0.01·log10 entropy in nats, no cost
    assert paper.search.strategy["bn_mode"] == "eval" and paper.space["official"] is True
    assert paper.data.degradation == {"name": "gaussian", "sigma": 50.0, "clip": True, "quantize": True}
    assert paper.evaluate.protocol == "clearer"
    quick = loaded.resolve("quick")
    assert quick.space["cells"] * quick.space["columns"] >= 6 and quick.space["official"] is False
    assert quick.evaluate.protocol == "standard"
    assert not quick.data.degradation.get("clip") and not quick.data.degradation.get("quantize")


def test_exec_recipe_leaves_sys_path_as_it_was(tmp_path: Path) -> None:
    import sys

    before = list(sys.path)
    path = write(tmp_path, "path.py", "import sys\nRECIPE = dict(name=sys.path[0])\n")
    assert exec_recipe(path)["RECIPE"]["name"] == str(tmp_path.resolve())
    assert sys.path == before
    boom = write(tmp_path, "boom.py", "raise RuntimeError('x')\n")
    with pytest.raises(ClearerError):
        exec_recipe(boom)
    assert sys.path == before


def test_a_recipe_copied_elsewhere_still_imports_bsd(tmp_path, restore_registries):
    copy = tmp_path / "elsewhere" / "custom_module.py"
    copy.parent.mkdir()
    shutil.copy(RECIPES / "custom_module.py", copy)
    CANDIDATES._entries.pop("dilated_parallel", None)  # another test may have loaded the original already
    resolved = load_recipe(copy).resolve("smoke")
    assert resolved.name == "custom_module" and "dilated_parallel" in resolved.space["candidates"]
