"""Conditional parameters: the forms of a condition, branches, nesting, every refusal, and
what a conditional space does with configs (active, is_active, validate, decode, sample,
encode, to_dict)."""

from __future__ import annotations

import json
import math
import pickle
from typing import Any

import numpy as np
import pytest

from paratune._conditions import OPERATORS, describe_when
from paratune.errors import SpaceError
from paratune.space import Choice, Float, Int, Space

AnyFloat: Any = Float
AnyChoice: Any = Choice


def optimizers() -> Space:
    """Optimizer-specific hyperparameters, with branches."""
    return Space(
        {
            "optimizer": Choice(
                ["sgd", "adam"],
                branches={
                    "sgd": {"momentum": Float(0.0, 0.99), "nesterov": [True, False]},
                    "adam": {"beta2": Float(0.9, 0.9999, log=True)},
                },
            ),
            "lr": Float(1e-4, 1e-1, log=True),
            "epochs": 5,
        }
    )


def layers(top: int = 5) -> Space:
    """Per-layer widths: units_k active when layers >= k."""
    return Space(
        {
            "layers": Int(1, top),
            **{f"units_{k}": Int(16, 256, when={"layers": {">=": k}}) for k in range(1, top + 1)},
        }
    )


# ----------------------------------------------------------------------------- forms


@pytest.mark.parametrize(
    ("form", "holds", "fails"),
    [
        ("b", ["b"], ["a", "c"]),
        (["a", "c"], ["a", "c"], ["b"]),
        ({"==": "b"}, ["b"], ["a"]),
        ({"!=": "b"}, ["a", "c"], ["b"]),
        ({"in": ["a", "b"]}, ["a", "b"], ["c"]),
        ({"not in": ["a", "b"]}, ["c"], ["a", "b"]),
        ({"<": "b"}, ["a"], ["b", "c"]),
        ({"<=": "b"}, ["a", "b"], ["c"]),
        ({">": "b"}, ["c"], ["a", "b"]),
        ({">=": "b"}, ["b", "c"], ["a"]),
        ({">": "a", "<": "c"}, ["b"], ["a", "c"]),
    ],
)
def test_every_form_of_a_condition(form: Any, holds: list[str], fails: list[str]) -> None:
    space = Space({"kind": ["a", "b", "c"], "x": Float(0, 1, when={"kind": form})})
    assert space.conditional == ("x",)
    for value in holds:
        assert space.is_active("x", {"kind": value})
        assert space.active({"kind": value, "x": 0.5}) == {"kind": value, "x": 0.5}
    for value in fails:
        assert not space.is_active("x", {"kind": value})
        assert space.active({"kind": value, "x": 0.5}) == {"kind": value}


def test_every_operator_has_a_form_test() -> None:
    assert set(OPERATORS) == {"==", "!=", "<", "<=", ">", ">=", "in", "not in"}


def test_numeric_conditions_on_ranges() -> None:
    space = Space(
        {
            "n": Int(1, 10),
            "r": Float(0.0, 1.0),
            "a": Int(0, 3, when={"n": {">": 2, "<=": 5}}),
            "b": Int(0, 3, when={"r": {">=": 0.5}, "n": [1, 2]}),  # every entry must hold
        }
    )
    assert [n for n in range(1, 11) if space.is_active("a", {"n": n, "r": 0})] == [3, 4, 5]
    assert space.is_active("b", {"n": 2, "r": 0.5})
    assert not space.is_active("b", {"n": 3, "r": 0.9})
    assert not space.is_active("b", {"n": 1, "r": 0.1})


def test_a_condition_may_compare_a_list_value_with_the_equality_operator() -> None:
    space = Space(
        {"shape": Choice([[64, 64], [128]]), "x": Float(0, 1, when={"shape": {"==": [128]}})}
    )
    assert space.is_active("x", {"shape": [128]})
    assert not space.is_active("x", {"shape": [64, 64]})


def test_a_condition_on_a_constant_that_holds_is_always_active() -> None:
    space = Space({"device": "gpu", "x": Float(0, 1, when={"device": "gpu"})})
    assert space.is_active("x", {})
    assert space.validate({"x": 0.5}) == {"device": "gpu", "x": 0.5}


def test_an_empty_when_is_no_condition() -> None:
    assert Float(0, 1, when={}) == Float(0, 1)
    assert Float(0, 1, when={}).when is None
    assert Space({"a": Int(1, 2), "x": Float(0, 1, when={})}).conditional == ()


def test_when_is_normalised_and_shown() -> None:
    domain = Int(1, 3, when={"kind": ("a", "b"), "n": {"in": (1, 2)}})
    assert domain.when == {"kind": ["a", "b"], "n": {"in": [1, 2]}}
    assert repr(Int(1, 3)) == "Int(low=1, high=3, log=False)"
    assert repr(domain) == (
        "Int(low=1, high=3, log=False, when={'kind': ['a', 'b'], 'n': {'in': [1, 2]}})"
    )
    assert repr(Choice(["a"], when={"k": 1})) == "Choice(values=('a',), when={'k': 1})"
    assert describe_when(domain.when) == "kind in ['a', 'b'] and n in [1, 2]"
    assert describe_when(None) == "always"
    assert hash(Float(0, 1, when={"k": 1})) == hash(Float(0, 1))  # dicts are not hashed


# ----------------------------------------------------------------------------- branches


def test_branches_become_parameters_after_their_choice() -> None:
    space = optimizers()
    assert space.names == ("optimizer", "momentum", "nesterov", "beta2", "lr", "epochs")
    assert space.conditional == ("momentum", "nesterov", "beta2")
    assert space.domains["momentum"] == Float(0.0, 0.99, when={"optimizer": "sgd"})
    assert space.domains["nesterov"] == Choice([True, False], when={"optimizer": "sgd"})
    assert space.domains["optimizer"] == Choice(["sgd", "adam"])  # branches moved out
    assert space == Space(
        {
            "optimizer": ["sgd", "adam"],
            "momentum": Float(0.0, 0.99, when={"optimizer": "sgd"}),
            "nesterov": Choice([True, False], when={"optimizer": "sgd"}),
            "beta2": Float(0.9, 0.9999, log=True, when={"optimizer": "adam"}),
            "lr": Float(1e-4, 1e-1, log=True),
            "epochs": 5,
        }
    )


def test_a_branch_parameter_keeps_its_own_condition_too() -> None:
    space = Space(
        {
            "layers": Int(1, 3),
            "optimizer": Choice(
                ["sgd", "adam"],
                branches={"sgd": {"momentum": Float(0, 1, when={"layers": {">=": 2}})}},
            ),
        }
    )
    assert space.domains["momentum"].when == {"optimizer": "sgd", "layers": {">=": 2}}
    assert space.is_active("momentum", {"layers": 2, "optimizer": "sgd"})
    assert not space.is_active("momentum", {"layers": 1, "optimizer": "sgd"})
    assert not space.is_active("momentum", {"layers": 3, "optimizer": "adam"})


def test_nested_branches_and_a_child_of_a_conditional_parent() -> None:
    space = Space(
        {
            "model": Choice(
                ["linear", "net"],
                branches={
                    "net": {
                        "optimizer": Choice(
                            ["sgd", "adam"], branches={"sgd": {"momentum": Float(0, 1)}}
                        )
                    }
                },
            ),
        }
    )
    assert space.names == ("model", "optimizer", "momentum")
    assert space.domains["momentum"].when == {"optimizer": "sgd"}
    net_sgd = {"model": "net", "optimizer": "sgd", "momentum": 0.5}
    assert space.validate(net_sgd) == net_sgd
    # The parent is inactive, so the child is too, whatever value it is handed.
    assert space.active({"model": "linear", "optimizer": "sgd", "momentum": 0.5}) == {
        "model": "linear"
    }
    assert not space.is_active("momentum", {"model": "linear", "optimizer": "sgd"})
    with pytest.raises(SpaceError, match=r"'optimizer' is inactive here: it needs model == 'net'"):
        space.validate({"model": "linear", "optimizer": "sgd"})


def test_a_child_named_before_its_parent_is_evaluated_after_it() -> None:
    space = Space({"x": Float(0, 1, when={"kind": "a"}), "kind": ["a", "b"]})
    assert space.names == ("x", "kind")
    assert space.validate({"kind": "a", "x": 0.5}) == {"x": 0.5, "kind": "a"}
    assert space.sample_many(np.random.default_rng(0), 20)


def test_branch_keys_may_be_the_text_of_a_value() -> None:
    """JSON object keys are always strings: "2" stands for the value 2."""
    space = Space({"k": Choice([1, 2], branches={"2": {"x": Float(0, 1)}})})
    assert space.domains["x"].when == {"k": 2}
    assert space.is_active("x", {"k": 2})


def test_a_branch_of_a_list_value_tests_equality() -> None:
    space = Space({"shape": Choice([(1, 2), (3,)], branches={(3,): {"x": Float(0, 1)}})})
    assert space.domains["x"].when == {"shape": {"==": (3,)}}
    assert space.is_active("x", {"shape": (3,)}) and not space.is_active("x", {"shape": (1, 2)})


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (
            {"x": Float(0, 1, when={"kind": "a"})},
            r"parameter 'x': the condition kind == 'a' names an unknown parameter 'kind'",
        ),
        ({"x": Float(0, 1, when={"x": {">": 0.5}})}, r"the condition x > 0\.5 names 'x' itself"),
        (
            {"a": Int(1, 3, when={"b": 1}), "b": Int(1, 3, when={"a": 1})},
            r"the conditions form a cycle: 'a' -> 'b' -> 'a'",
        ),
        (
            {
                "a": Int(1, 3, when={"c": 1}),
                "b": Int(1, 3, when={"a": 1}),
                "c": Int(1, 3, when={"b": 1}),
            },
            r"cycle: 'a' -> 'c' -> 'b' -> 'a'",
        ),
        (
            {"opt": ["sgd", "adam"], "m": Float(0, 1, when={"opt": "rmsprop"})},
            r"parameter 'm': the condition opt == 'rmsprop' can never hold: "
            r"'opt' takes one of \['sgd', 'adam'\]",
        ),
        (
            {"layers": Int(1, 5), "u": Int(1, 9, when={"layers": {">=": 10}})},
            r"the condition layers >= 10 can never hold: 'layers' is an integer in \[1, 5\]",
        ),
        (
            {"layers": Int(1, 5), "u": Int(1, 9, when={"layers": 2.5})},
            r"layers == 2\.5 can never hold",
        ),
        (
            {"layers": Int(1, 5), "u": Int(1, 9, when={"layers": {">": 2, "<": 3}})},
            r"layers > 2 and layers < 3 can never hold",
        ),
        (
            {"r": Float(0, 1), "u": Int(1, 9, when={"r": {">": 1}})},
            r"r > 1 can never hold: 'r' is a number in \[0\.0, 1\.0\]",
        ),
        (
            {"r": Float(0, 1), "u": Int(1, 9, when={"r": {">=": "a"}})},
            r"r >= 'a' can never hold",
        ),
        ({"k": 3, "u": Int(1, 9, when={"k": 4})}, r"k == 4 can never hold: 'k' is the constant 3"),
        (
            {"a": Int(1, 3), "u": {"type": "int", "low": 1, "high": 2, "when": {"a": {"gte": 2}}}},
            r"parameter 'u': the condition on 'a': unknown operator 'gte'; expected one of '=='",
        ),
        ({"a": Int(1, 3), "u": {"type": "int", "low": 1, "high": 2, "when": "a"}},
         r"parameter 'u': when must be a mapping of parameter name to condition, got 'a'"),
        ({"a": Int(1, 3), "u": {"type": "int", "low": 1, "high": 2, "when": {"a": []}}},
         r"parameter 'u': the condition on 'a' is an empty list"),
        ({"a": Int(1, 3), "u": {"type": "int", "low": 1, "high": 2, "when": {"a": {}}}},
         r"parameter 'u': the condition on 'a' is an empty dict"),
        ({"a": Int(1, 3), "u": {"type": "int", "low": 1, "high": 2, "when": {"a": {"in": 2}}}},
         r"parameter 'u': the condition on 'a': 'in' needs a list, got 2"),
        ({"a": Int(1, 3), "u": {"type": "int", "low": 1, "high": 2, "when": {"": 1}}},
         r"parameter 'u': when: parameter names must be non-empty strings"),
        (
            {
                "opt": Choice(
                    ["sgd", "adam"],
                    branches={"sgd": {"lr": Float(0, 1)}, "adam": {"lr": Float(0, 2)}},
                )
            },
            r"parameter 'lr' in the branch 'adam' of 'opt' is given twice: names are global",
        ),
        (
            {"lr": 0.1, "opt": Choice(["sgd"], branches={"sgd": {"lr": Float(0, 1)}})},
            r"parameter 'lr' in the branch 'sgd' of 'opt' is given twice",
        ),
        (
            {"opt": Choice(["sgd"], branches={"sgd": {"lr": Float(0, 1)}}), "lr": Float(0, 1)},
            r"parameter 'lr' at the top level is given twice",
        ),
        (
            {"opt": Choice(["sgd"], branches={"sgd": {"epochs": 3}})},
            r"parameter 'opt': in the branch 'sgd' of 'opt': parameter 'epochs' is the "
            r"constant 3; a constant is always active",
        ),
        (
            {"opt": Choice(["sgd"], branches={"sgd": {"m": Float(0, 1, when={"opt": 1})}})},
            r"the branch 'sgd' of 'opt': parameter 'm' has its own condition on 'opt'",
        ),
        (
            {"o": Choice(["sgd"], branches={"sgd": {"m": {"type": "int", "low": 1, "high": 0}}})},
            r"the branch 'sgd' of 'o': parameter 'm': low must be below high",
        ),
        (
            {"opt": {"type": "choice", "values": ["sgd"], "branches": {"adam": {}}}},
            r"parameter 'opt': branch 'adam' is not one of the values \['sgd'\]",
        ),
        (
            {"opt": {"type": "choice", "values": ["sgd"], "branches": ["sgd"]}},
            r"parameter 'opt': branches must map options to parameters",
        ),
        (
            {"opt": {"type": "choice", "values": ["sgd"], "branches": {"sgd": 3}}},
            r"parameter 'opt': branch 'sgd' must map parameter names to domains, got 3",
        ),
        (
            {"x": {"type": "float", "low": 0, "high": 1, "branches": {}}},
            r"parameter 'x': unknown key 'branches' for type 'float'",
        ),
    ],
)  # fmt: skip
def test_bad_conditions_are_refused_naming_the_parameter(params: Any, match: str) -> None:
    with pytest.raises(SpaceError, match=match):
        Space(params)


def test_a_bad_when_is_refused_by_the_domain_itself() -> None:
    with pytest.raises(SpaceError, match="unknown operator '=>'"):
        AnyFloat(0, 1, when={"a": {"=>": 1}})
    with pytest.raises(SpaceError, match="when must be a mapping"):
        AnyChoice(["a"], when=["b"])


# ----------------------------------------------------------------------------- configs


def test_active_drops_what_is_inactive_and_keeps_the_order() -> None:
    space = optimizers()
    config = {"lr": 0.01, "beta2": 0.99, "momentum": 0.5, "optimizer": "adam", "epochs": 5}
    assert space.active(config) == {"optimizer": "adam", "beta2": 0.99, "lr": 0.01, "epochs": 5}
    assert list(space.active(config)) == ["optimizer", "beta2", "lr", "epochs"]
    # Absent stays absent; a child of an absent parent is inactive.
    assert space.active({"momentum": 0.5}) == {}
    assert space.is_active("momentum", {"optimizer": "sgd"})  # its own value does not matter
    assert space.is_active("epochs", {}) and space.is_active("optimizer", {})
    with pytest.raises(SpaceError, match="unknown parameter 'nope'"):
        space.active({"nope": 1})
    with pytest.raises(SpaceError, match="unknown parameter 'nope'"):
        space.is_active("nope", {})
    with pytest.raises(SpaceError, match="a config must be a mapping"):
        space.active(["optimizer"])  # type: ignore[arg-type]


def test_validate_requires_exactly_the_active_parameters() -> None:
    space = optimizers()
    sgd = {"optimizer": "sgd", "momentum": 0.9, "nesterov": True, "lr": 0.01}
    assert space.validate(sgd) == {**sgd, "epochs": 5}
    adam = {"optimizer": "adam", "beta2": 0.99, "lr": 0.01, "epochs": 5}
    assert space.validate(adam) == adam
    with pytest.raises(
        SpaceError,
        match=r"^parameter 'momentum' is inactive here: it needs optimizer == 'sgd', got 'adam'$",
    ):
        space.validate({**adam, "momentum": 0.9})
    with pytest.raises(
        SpaceError,
        match=r"^parameter 'nesterov' is missing: it is active here \(optimizer == 'sgd'\)$",
    ):
        space.validate({"optimizer": "sgd", "momentum": 0.9, "lr": 0.01})
    with pytest.raises(SpaceError, match=r"parameter 'optimizer': expected one of"):
        space.validate({"optimizer": "rmsprop", "lr": 0.01})


def test_validate_reads_conditions_on_checked_values() -> None:
    space = layers(3)
    # 2.0 is the integer 2: units_2 is active, units_3 is not.
    assert space.validate({"layers": 2.0, "units_1": 16, "units_2": 32}) == {
        "layers": 2,
        "units_1": 16,
        "units_2": 32,
    }
    with pytest.raises(
        SpaceError, match=r"'units_3' is inactive here: it needs layers >= 3, got 2"
    ):
        space.validate({"layers": 2, "units_1": 16, "units_2": 32, "units_3": 64})


def test_decode_draws_every_coordinate_then_drops_the_inactive_ones() -> None:
    space = optimizers()
    plain = Space({name: _unconditional(value) for name, value in space.to_dict().items()})
    points = np.random.default_rng(3).random((200, space.dimension))
    configs = space.decode_many(points)
    assert configs == [space.active(config) for config in plain.decode_many(points)]
    assert {config["optimizer"] for config in configs} == {"sgd", "adam"}
    for config in configs:
        assert space.validate(config) == config
        assert ("momentum" in config) == ("nesterov" in config) == (config["optimizer"] == "sgd")
        assert ("beta2" in config) == (config["optimizer"] == "adam")
    assert space.decode(points[0]) == configs[0]


@pytest.mark.parametrize("make", [layers, lambda: _nested()], ids=["layers", "nested"])
def test_a_batch_drops_what_each_config_alone_would(make: Any) -> None:
    space = make()
    plain = Space({name: _unconditional(value) for name, value in space.to_dict().items()})
    points = np.random.default_rng(8).random((300, space.dimension))
    configs = space.decode_many(points)
    assert configs == [space.active(config) for config in plain.decode_many(points)]
    assert configs == [space.decode(point) for point in points]
    assert len({tuple(config) for config in configs}) > 2  # several sets of active names


def test_sampling_is_decoding_and_is_deterministic() -> None:
    space = layers()
    drawn = space.sample_many(np.random.default_rng(5), 50)
    assert drawn == space.sample_many(np.random.default_rng(5), 50)
    rng = np.random.default_rng(5)
    assert [space.sample(rng) for _ in range(50)] == drawn
    for config in drawn:
        assert list(config) == ["layers", *(f"units_{k}" for k in range(1, config["layers"] + 1))]


def test_encode_gives_nan_for_inactive_parameters() -> None:
    space = optimizers()
    config = space.decode([0.9, 0.5, 0.5, 0.3, 0.7])  # adam: what decoding gives back
    assert list(config) == ["optimizer", "beta2", "lr", "epochs"]
    point = space.encode(config)
    assert point.shape == (space.dimension,)
    assert [math.isnan(u) for u in point] == [False, True, True, False, False]
    active = ~np.isnan(point)
    assert space.decode(np.where(active, point, 0.0)) == config
    with pytest.raises(SpaceError, match="'momentum' is inactive here"):
        space.encode({**config, "momentum": 0.5})


def test_to_dict_round_trips_through_json_in_the_flat_form() -> None:
    for space in (optimizers(), layers(), _nested()):
        data = json.loads(json.dumps(space.to_dict()))
        assert Space(data) == space
        assert Space(space.to_dict()) == space
        assert pickle.loads(pickle.dumps(space)) == space
    data = optimizers().to_dict()
    assert data["optimizer"] == {"type": "choice", "values": ["sgd", "adam"]}
    assert data["momentum"]["when"] == {"optimizer": "sgd"}
    assert layers().to_dict()["units_3"]["when"] == {"layers": {">=": 3}}


def test_the_file_form_takes_when_and_branches() -> None:
    spec = {
        "optimizer": {
            "type": "choice",
            "values": ["sgd", "adam"],
            "branches": {"sgd": {"momentum": {"type": "float", "low": 0, "high": 0.99}}},
        },
        "units_2": {"type": "int", "low": 16, "high": 256, "when": {"layers": {">=": 2}}},
        "layers": {"type": "int", "low": 1, "high": 3},
    }
    space = Space(spec)
    assert space.names == ("optimizer", "momentum", "units_2", "layers")
    assert space.domains["momentum"] == Float(0, 0.99, when={"optimizer": "sgd"})
    assert space.domains["units_2"] == Int(16, 256, when={"layers": {">=": 2}})


def _nested() -> Space:
    return Space(
        {
            "a": Choice(
                ["x", "y"], branches={"x": {"b": Choice([1, 2], branches={2: {"c": Int(0, 4)}})}}
            ),
            "d": Float(0, 1, when={"c": {"not in": [0, 4]}}),
        }
    )


def _unconditional(value: Any) -> Any:
    """A file-form parameter without its condition."""
    return {k: v for k, v in value.items() if k != "when"} if isinstance(value, dict) else value
