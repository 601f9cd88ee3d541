"""Registries: explicit names, duplicate detection with both file:line places, helpful unknown-name errors."""

from __future__ import annotations

import inspect
import runpy
import textwrap
from pathlib import Path

import pytest
import torch

import clearer
from clearer.errors import ClearerError, did_you_mean
from clearer.registry import CANDIDATES, REGISTRIES, Registry, _where, summary

KINDS = ["candidates", "ops", "spaces", "losses", "strategies", "datasets", "degradations"]


@pytest.fixture
def widgets() -> Registry:
    """A private registry, so these tests never touch the global ones."""
    return Registry("widgets")


def _line(obj) -> int:
    return inspect.getsourcelines(obj)[1]


def test_register_with_explicit_name_returns_the_object(widgets: Registry) -> None:
    @widgets.register("knob")
    def knob(size: int = 1) -> int:
        """Turns things."""
        return size

    @widgets.register("dial")
    class Dial:
        """Shows things."""

    assert knob(size=3) == 3  # the decorator hands the function back unchanged
    assert widgets.get("knob") is knob and widgets.get("dial") is Dial
    assert "knob" in widgets and "lever" not in widgets
    assert widgets.names() == ["dial", "knob"]
    assert list(widgets) == [("dial", Dial), ("knob", knob)]
    assert widgets.name_of(Dial) == "dial" and widgets.name_of(object) is None
    assert repr(widgets) == "Registry('widgets', ['dial', 'knob'])"


@pytest.mark.parametrize("bad", [None, "", "pkg:thing"])
def test_register_needs_an_explicit_plain_name(widgets: Registry, bad) -> None:
    with pytest.raises(ClearerError) as info:
        widgets.register(bad)
    msg = str(info.value)
    assert "explicit name" in msg and "widgets" in msg and repr(bad) in msg
    assert widgets.names() == []


def test_register_used_without_a_name_is_caught(widgets: Registry) -> None:
    def part() -> None:
        pass

    with pytest.raises(ClearerError, match="explicit name"):
        widgets.register(part)  # forgot the parentheses: @widgets.register instead of @widgets.register("x")


def test_duplicate_name_names_both_places(widgets: Registry) -> None:
    @widgets.register("knob")
    def first() -> None:
        pass

    def second() -> None:
        pass

    with pytest.raises(ClearerError) as info:
        widgets.register("knob")(second)
    msg = str(info.value)
    here = inspect.getsourcefile(test_duplicate_name_names_both_places)
    assert f"{here}:{_line(first)}" in msg
    assert f"{here}:{_line(second)}" in msg
    assert "'knob'" in msg and "widgets" in msg and "override=True" in msg
    assert widgets.get("knob") is first  # the failed registration changed nothing


def test_duplicate_class_names_both_places(widgets: Registry) -> None:
    @widgets.register("dial")
    class A:
        def __init__(self) -> None:
            pass

    class B:
        pass

    with pytest.raises(ClearerError) as info:
        widgets.register("dial")(B)
    here = inspect.getsourcefile(test_duplicate_class_names_both_places)
    assert f"{here}:{_line(A)}" in str(info.value) and f"{here}:{_line(B)}" in str(info.value)


def test_override_replaces_on_purpose(widgets: Registry) -> None:
    @widgets.register("knob")
    def old() -> str:
        return "old"

    @widgets.register("knob", override=True)
    def new() -> str:
        return "new"

    assert widgets.get("knob")() == "new"


def test_registering_the_same_object_twice_is_harmless(widgets: Registry) -> None:
    def knob() -> None:
        pass

    widgets.register("knob")(knob)
    widgets.register("knob")(knob)
    assert widgets.names() == ["knob"]


def test_running_a_file_twice_is_not_a_clash_but_a_second_definition_is(tmp_path: Path, widgets: Registry) -> None:
    """A recipe file loaded twice re-registers its parts; that must not look like a name clash."""
    import builtins

    builtins._clearer_test_widgets = widgets  # the file reaches the private registry through builtins
    try:
        parts = tmp_path / "parts.py"
        parts.write_text(
            textwrap.dedent("""\
            reg = _clearer_test_widgets

            @reg.register("knob")
            class Knob:
                def __init__(self, size: int = 1) -> None:
                    self.size = size
            """)
        )
        first = runpy.run_path(str(parts))["Knob"]
        second = runpy.run_path(str(parts))["Knob"]
        assert first is not second and widgets.get("knob") is second  # the latest definition wins

        clash = tmp_path / "clash.py"
        clash.write_text(
            textwrap.dedent("""\
            reg = _clearer_test_widgets


            @reg.register("knob")
            class Knob:
                def __init__(self) -> None:
                    pass
            """)
        )
        with pytest.raises(ClearerError) as info:
            runpy.run_path(str(clash))
    finally:
        del builtins._clearer_test_widgets
    msg = str(info.value)
    # classes run by runpy have no importable module (and share the run name); each place is still its own
    assert f"{parts}:3" in msg and f"{clash}:4" in msg  # the register decorator's line, as inspect gives


def test_where_is_file_and_line() -> None:
    from clearer.spaces.clearer_space import ClearerSpace

    file, line = _where(ClearerSpace).rsplit(":", 1)
    assert file.endswith("clearer_space.py")
    source = Path(file).read_text().splitlines()
    assert source[int(line) - 1] == '@SPACES.register("clearer")' and source[int(line)].startswith("class ClearerSpace")


def test_unknown_name_lists_closest_names_and_kind(widgets: Registry) -> None:
    for name in ("gaussian", "gaussian_blur", "poisson"):
        widgets.register(name)(lambda: None)
    with pytest.raises(ClearerError) as info:
        widgets.get("gausian")
    msg = str(info.value)
    assert "unknown widgets 'gausian'" in msg
    assert "Did you mean 'gaussian', 'gaussian_blur'?" in msg
    assert "Registered widgets: gaussian, gaussian_blur, poisson." in msg


def test_unknown_name_without_close_match_still_lists_all(widgets: Registry) -> None:
    widgets.register("knob")(lambda: None)
    with pytest.raises(ClearerError) as info:
        widgets.get("zzzzzz")
    assert "Did you mean" not in str(info.value) and "Registered widgets: knob." in str(info.value)
    with pytest.raises(ClearerError, match=r"Registered widgets: \(none\)"):
        Registry("widgets").get("knob")


def test_get_accepts_the_class_itself_but_not_other_values(widgets: Registry) -> None:
    class Unregistered:
        pass

    assert widgets.get(Unregistered) is Unregistered
    with pytest.raises(ClearerError) as info:
        widgets.get(42)
    assert "expected a widgets name or a class/function, got 42" in str(info.value)


def test_global_registries_cover_every_kind_with_builtin_parts() -> None:
    assert list(REGISTRIES) == KINDS
    assert clearer.REGISTRIES is REGISTRIES
    for kind, name in [
        ("candidates", "fusion"),
        ("ops", "sep_conv_3x3"),
        ("spaces", "clearer"),
        ("losses", "mse"),
        ("strategies", "bilevel"),
        ("datasets", "bsd68"),
        ("degradations", "gaussian"),
    ]:
        assert name in REGISTRIES[kind], (kind, name)
        assert summary(REGISTRIES[kind].get(name)), f"{kind}/{name} needs a one-line docstring for `clearer list`"


def test_global_registration_with_cleanup(restore_registries) -> None:
    losses = REGISTRIES["losses"]

    @losses.register("test_registry_half_l1")
    def half_l1() -> None:
        """Half the L1 loss."""

    assert losses.get("test_registry_half_l1") is half_l1
    with pytest.raises(ClearerError, match="already registered"):
        losses.register("mse")(half_l1)


def test_summary_and_did_you_mean() -> None:
    def documented() -> None:
        """First line.

        More text.
        """

    def bare() -> None:
        pass

    assert summary(documented) == "First line."
    assert summary(bare) == ""
    assert did_you_mean("epoch", ["epochs", "steps_per_epoch", "seed"]).startswith(" Did you mean 'epochs'")
    assert did_you_mean("epoch", ["epochs"], show=lambda n: f"search.{n}") == " Did you mean search.epochs?"
    assert did_you_mean("zzz", ["epochs"]) == ""


def test_build_calls_the_named_part_with_its_arguments_and_the_callers(widgets: Registry) -> None:
    @widgets.register("knob")
    def knob(size: int, turns: int = 1) -> tuple[int, int]:
        return size, turns

    assert widgets.build("knob", size=2) == (2, 1)
    assert widgets.build({"name": "knob", "turns": 3}, size=2) == (2, 3)
    assert widgets.build({"name": knob, "turns": 3}, size=2) == (2, 3)  # the function itself


@pytest.mark.parametrize(
    "ref, extra, said",
    [
        ({"name": "knob", "colour": "red"}, {"size": 2}, "got an unexpected keyword argument 'colour'"),
        ("knob", {}, "missing a required argument: 'size'"),
    ],
)
def test_build_with_arguments_the_part_does_not_take_names_kind_name_and_parameters(
    widgets: Registry, ref, extra, said
) -> None:
    @widgets.register("knob")
    class Knob:
        def __init__(self, size: int, turns: int = 1) -> None:
            raise AssertionError("never constructed with wrong arguments")

    with pytest.raises(ClearerError) as info:
        widgets.build(ref, **extra)
    msg = str(info.value)
    assert "widgets 'knob' cannot be built" in msg and said in msg and "It takes size, turns." in msg


def test_build_refuses_a_recipe_argument_the_caller_sets(widgets: Registry) -> None:
    widgets.register("knob")(lambda size: size)
    with pytest.raises(ClearerError, match=r"widgets 'knob': size is set by clearer itself"):
        widgets.build({"name": "knob", "size": 3}, size=2)


def test_a_candidate_with_another_constructor_is_a_clearer_error(restore_registries) -> None:
    """A user module registered as a multi-scale candidate but built like a DARTS op (`width`)."""
    from clearer.spaces.clearer_space import ClearerSpace

    @CANDIDATES.register("test_registry_single_width")
    class SingleWidth(torch.nn.Module):
        def __init__(self, width: int) -> None:
            super().__init__()

    with pytest.raises(ClearerError) as info:
        ClearerSpace(width=4, cells=1, columns=1, stem_blocks=0, candidates=["parallel", "test_registry_single_width"])
    msg = str(info.value)
    assert "candidates 'test_registry_single_width' cannot be built" in msg and "It takes width." in msg
    with pytest.raises(ClearerError, match="unknown candidates 'sep_conv_3x3'"):  # a DARTS op is no candidate
        ClearerSpace(width=4, cells=1, columns=1, candidates=["parallel", "sep_conv_3x3"])


def test_list_descriptions_are_whole_sentences():
    def wrapped():
        """A description that wraps
        onto a second line.

        Details nobody lists."""

    assert summary(wrapped) == "A description that wraps onto a second line."
