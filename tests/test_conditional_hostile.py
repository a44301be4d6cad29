"""Conditional spaces under hostile use: garbage conditions from Python and from spec files
run through the command line, chains thousands deep, huge lists, changed conditions on
resume, bad initial points, and searchers on spaces whose branches fail or are empty."""

from __future__ import annotations

import datetime
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import paratune as pt
from paratune._conditions import _joint_witnesses
from paratune._conditions import entries as entries_of
from paratune._domains import SHOWN, shown
from paratune._reachable import unreachable
from paratune.cli import cli
from paratune.errors import SpaceError
from paratune.searchers import make_searcher
from paratune.space import Choice, Domain, Float, Int, Space
from paratune.trial import Status, Trial

OBJECTIVE = """
def objective(config):
    return float(sum(v for v in config.values() if type(v) in (int, float)))
"""


def spec_run(folder: Path, space: str, *flags: str) -> Any:
    """Run ``paratune run`` in this process on a spec whose space is the YAML ``space``."""
    (folder / "hostile_objective.py").write_text(OBJECTIVE)
    (folder / "spec.yaml").write_text(
        f"objective: hostile_objective:objective\nmax_trials: 4\nspace:\n  {space}\n"
    )
    store = folder / "s.db"
    args = ["run", str(folder / "spec.yaml"), "-q", "--store", str(store), *flags]
    return CliRunner().invoke(cli, args)


# A YAML space, and what the one-line message must say (the parameter and the condition).
BAD_SPECS = {
    "nan": ("x: {type: float, low: 0, high: 1}\n  y: {type: float, low: 0, high: 1, "
            "when: {x: {'>': .nan}}}", r"parameter 'y': the condition on 'x': nan is not a fin"),
    "inf": ("x: {type: float, low: 0, high: 1}\n  y: {type: float, low: 0, high: 1, "
            "when: {x: {'<': .inf}}}", r"parameter 'y': the condition on 'x': inf is not a fin"),
    "itself": ("x: {type: float, low: 0, high: 1, when: {x: 1}}",
               r"parameter 'x': the condition x == 1 names 'x' itself"),
    "cycle": ("a: {type: choice, values: [1, 2], when: {b: 1}}\n  "
              "b: {type: choice, values: [1, 2], when: {a: 1}}", r"cycle: 'a' -> 'b' -> 'a'"),
    "constant": ("k: 3\n  y: {type: float, low: 0, high: 1, when: {k: 4}}",
                 r"parameter 'y': the condition k == 4 can never hold: 'k' is the constant 3"),
    "branch option": ("o: {type: choice, values: [a, b], branches: {c: {m: [1, 2]}}}",
                      r"parameter 'o': branch 'c' is not one of the values \['a', 'b'\]"),
    "operator": ("x: [1, 2]\n  y: {type: float, low: 0, high: 1, when: {x: {'=>': 2}}}",
                 r"parameter 'y': the condition on 'x': unknown operator '=>'"),
    "in text": ("x: [a, b]\n  y: {type: float, low: 0, high: 1, when: {x: {in: ab}}}",
                r"parameter 'y': the condition on 'x': 'in' needs a list, got 'ab'"),
    "when list": ("x: [a, b]\n  y: {type: float, low: 0, high: 1, when: [x]}",
                  r"parameter 'y': when must be a mapping"),
    "when key": ("x: [a, b]\n  y: {type: float, low: 0, high: 1, when: {null: a}}",
                 r"parameter 'y': when: parameter names must be non-empty strings, got None"),
    "yes": ("x: ['yes', 'no']\n  y: {type: float, low: 0, high: 1, when: {x: yes}}",
            r"parameter 'y': the condition x == True can never hold: .* quote such a value"),
    "date": ("x: ['2020-01-01', b]\n  y: {type: float, low: 0, high: 1, when: {x: 2020-01-01}}",
             r"the condition x == datetime.date\(2020, 1, 1\) can never hold: .*as a date"),
    "never together": ("a: [1, 2]\n  b: {type: choice, values: [1, 2], when: {a: 1}}\n  "
                       "c: {type: float, low: 0, high: 1, when: {a: 2, b: 1}}",
                       r"parameter 'c' can never be active: its condition a == 2 and b == 1"),
    "nested branch": ("o: {type: choice, values: [a, b], branches: {a: {p: {type: choice, "
                      "values: [1, 2], branches: {1: {q: {type: float, low: 0, high: 1, "
                      "when: {o: b}}}}}}}}", r"parameter 'q' can never be active"),
}  # fmt: skip


@pytest.mark.parametrize("space, message", BAD_SPECS.values(), ids=list(BAD_SPECS))
def test_a_bad_condition_in_a_spec_is_one_message_and_stores_nothing(
    tmp_path: Path, space: str, message: str
) -> None:
    result = spec_run(tmp_path, space)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a ClickException, not a crash
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"Error: {tmp_path / 'spec.yaml'}: key 'space': ")
    assert re.search(message, line), line
    assert not (tmp_path / "s.db").exists()


def test_odd_but_valid_yaml_conditions_run(tmp_path: Path) -> None:
    """An empty or null ``when`` is no condition; unquoted yes on a boolean choice, a
    parameter named like an operator and unicode names are fine."""
    space = (
        "'>=': [1, 2]\n  'ñ 🤖': [yes, no]\n"
        "  a: {type: float, low: 0, high: 1, when: {}}\n"
        "  b: {type: float, low: 0, high: 1, when: null}\n"
        "  c: {type: int, low: 0, high: 3, when: {'>=': {'>=': 2}, 'ñ 🤖': yes}}"
    )
    result = spec_run(tmp_path, space, "--json")
    assert result.exit_code == 0, result.output
    loaded = pt.load(tmp_path / "s.db", "spec")
    for trial in loaded.trial_list:
        has_c = trial.config[">="] >= 2 and trial.config["ñ 🤖"] is True
        assert ("c" in trial.config) == has_c
        assert {"a", "b"} <= set(trial.config)


def test_a_chain_thousands_deep_is_ordered_and_gridded_without_recursion() -> None:
    count = 3000
    chain = {f"p{i}": Choice([0, 1], when={f"p{i + 1}": 1}) for i in range(count - 1)}
    space = Space({**chain, f"p{count - 1}": Choice([0, 1])})
    grid = space.grid()
    assert grid.size == count + 1
    assert grid[count] == {f"p{i}": 1 for i in range(count)}
    assert grid[0] == {f"p{count - 1}": 0}
    cycle = {f"p{i}": Choice([0, 1], when={f"p{(i + 1) % count}": 1}) for i in range(count)}
    with pytest.raises(
        SpaceError, match=r"^the conditions form a cycle: 'p0' -> 'p1' -> .*\.\.\."
    ):
        Space(cycle)
    nested: dict[str, Any] = {"leaf": Float(0, 1)}
    for level in range(2000):
        nested = {f"c{level}": Choice(["a", "b"], branches={"b": nested})}
    with pytest.raises(SpaceError, match=r"^parameter 'c1999': its branches nest too deeply$"):
        Space(nested)


def test_a_deep_chain_in_a_spec_file_runs_and_its_cycle_is_one_message(tmp_path: Path) -> None:
    lines = [f"p{i}: {{type: choice, values: [0, 1], when: {{p{i + 1}: 1}}}}" for i in range(1199)]
    chain = "\n  ".join([*lines, "p1199: [0, 1]"])
    done = spec_run(tmp_path, chain, "--executor", "serial")
    assert done.exit_code == 0, done.output
    configs = [trial.config for trial in pt.load(tmp_path / "s.db", "spec").trial_list]
    assert len(configs) == 4
    for config in configs:  # p1199, then each parameter while the one after it is 1
        assert sorted(config, key=lambda name: -int(name[1:])) == [
            f"p{i}" for i in range(1199, 1199 - len(config), -1)
        ]
        assert all(
            value == 1 for name, value in config.items() if f"p{int(name[1:]) - 1}" in config
        )
    cycle = chain.replace("p1199: [0, 1]", "p1199: {type: choice, values: [0, 1], when: {p0: 1}}")
    (tmp_path / "s.db").unlink()
    refused = spec_run(tmp_path, cycle)
    assert refused.exit_code == 1 and isinstance(refused.exception, SystemExit)
    assert "the conditions form a cycle: 'p0' -> 'p1' -> 'p2' ->" in refused.output
    assert not (tmp_path / "s.db").exists()


def test_huge_numbers_and_lists_make_short_messages_and_quick_checks() -> None:
    huge = 10**5000  # more digits than Python prints
    with pytest.raises(SpaceError, match=r"x >= <int that cannot be shown> can never hold"):
        Space({"x": Int(0, 10), "y": Float(0, 1, when={"x": {">=": huge}})})
    with pytest.raises(SpaceError, match=r"'k' is the constant <int that cannot be shown>$"):
        Space({"k": huge, "y": Float(0, 1, when={"k": 3})})
    assert Space({"x": Int(0, 10), "y": Float(0, 1, when={"x": {"<": huge}})}).conditional
    # A hundred thousand values: each test is a hash lookup, not a scan of the list (a
    # scan would take hours to check the space, let alone to count its grid).
    banned = list(range(100_000))
    space = Space({"x": Int(0, 200_000), "y": Choice([1, 2], when={"x": {"not in": banned}})})
    assert space.grid().size == 100_000 + 100_001 * 2
    assert space.active({"x": 99_999, "y": 1}) == {"x": 99_999}
    assert space.active({"x": 100_000, "y": 1}) == {"x": 100_000, "y": 1}
    with pytest.raises(SpaceError) as caught:
        Space({"x": Int(0, 10), "y": Float(0, 1, when={"x": {"in": banned[20:]}})})
    assert len(str(caught.value)) < 400  # the list cut short


@pytest.mark.parametrize(
    "when, match",
    [
        ({"x": math.nan}, r"the condition on 'x': nan is not a finite number"),
        ({"x": [0.5, math.inf]}, r"the condition on 'x': inf is not a finite number"),
        ({"x": {"not in": [-math.inf]}}, r"the condition on 'x': -inf is not a finite number"),
        ({"x": {">=": np.float64("nan")}}, r"the condition on 'x': np.float64\(nan\) is not"),
    ],
)
def test_nan_and_infinite_operands_are_refused(when: Any, match: str) -> None:
    with pytest.raises(SpaceError, match=match):
        Float(0, 1, when=when)


def test_a_list_operand_matches_a_tuple_value_and_back() -> None:
    tuples = Space(
        {"l": Choice([(64, 64), (32,)]), "y": Float(0, 1, when={"l": {"==": [64, 64]}})}
    )
    assert tuples.active({"l": (64, 64), "y": 0.5}) == {"l": (64, 64), "y": 0.5}
    assert tuples.active({"l": (32,), "y": 0.5}) == {"l": (32,)}
    lists = Space({"l": Choice([[64, 64], [32]]), "y": Float(0, 1, when={"l": {"in": [(32,)]}})})
    assert lists.is_active("y", {"l": [32]}) and not lists.is_active("y", {"l": [64, 64]})
    stored = Space(json.loads(json.dumps(tuples.to_dict())))  # as the store keeps it
    assert stored.active({"l": [64, 64], "y": 0.5}) == {"l": [64, 64], "y": 0.5}


def test_conditions_that_never_hold_together_are_refused_and_others_kept() -> None:
    gap = {"x": Float(0, 1), "a": Choice([1, 2], when={"x": {">": 0.5}})}
    with pytest.raises(SpaceError, match=r"^parameter 'c' can never be active: its condition "):
        Space({**gap, "c": Float(0, 1, when={"x": {"<": 0.5}, "a": 1})})
    narrow = Space({**gap, "c": Float(0, 1, when={"x": {"<": 0.6}, "a": 1})})
    assert narrow.is_active("c", {"x": 0.55, "a": 1})
    steps = {"n": Int(0, 10), "a": Choice([1, 2], when={"n": {">=": 5}})}
    assert Space({**steps, "c": Float(0, 1, when={"n": 5, "a": 1})}).conditional
    with pytest.raises(SpaceError, match=r"parameter 'c' can never be active"):
        Space({**steps, "c": Float(0, 1, when={"n": {"<": 5}, "a": 1})})


def test_resuming_with_a_changed_condition_is_refused_and_keeps_the_trials(tmp_path: Path) -> None:
    space = "o: {type: choice, values: [a, b]}\n  n: {type: int, low: 0, high: 9, when: {o: b}}"
    assert spec_run(tmp_path, space).exit_code == 0
    for changed in ("{o: a}", "{o: [a, b]}", "{o: {in: [b]}}"):
        result = spec_run(tmp_path, space.replace("{o: b}", changed), "--max-trials", "8")
        assert result.exit_code == 1
        assert "was run with another setup" in result.output
        assert "'when': {'o': 'b'}" in result.output  # the stored condition is shown
    assert len(pt.load(tmp_path / "s.db", "spec").trial_list) == 4
    assert spec_run(tmp_path, space, "--max-trials", "6").exit_code == 0
    assert len(pt.load(tmp_path / "s.db", "spec").trial_list) == 6


OPTIMIZERS = Space(
    {
        "opt": Choice(["sgd", "adam"], branches={"sgd": {"m": Float(0, 1)}, "adam": {}}),
        "lr": Float(0, 1),
        "n": Int(0, 5, when={"lr": {">": 0.5}}),
    }
)


@pytest.mark.parametrize(
    "point, match",
    [
        ({"opt": "adam", "lr": 0.1, "m": 0.5}, r"'m' is inactive here: it needs opt == 'sgd'"),
        ({"opt": "adam", "lr": 0.1, "m": None}, r"'m' is inactive here: it needs opt == 'sgd'"),
        ({"opt": "sgd", "lr": 0.1}, r"'m' is missing: it is active here \(opt == 'sgd'\)$"),
        ({"opt": "adam", "lr": 0.9}, r"'n' is missing: it is active here \(lr > 0.5\)$"),
        ({"opt": "adam", "lr": 0.1, "n": 2}, r"'n' is inactive here: it needs lr > 0.5, got 0.1"),
        ({"opt": "adam", "lr": 0.9, "n": True}, r"'n': expected an integer in \[0, 5\], got True"),
        ({"opt": "sgd", "lr": "0.1", "m": 0.5}, r"'lr': expected a number in \[0.0, 1.0\]"),
        ({"opt": "adamw", "lr": 0.1}, r"'opt': expected one of \['sgd', 'adam'\]"),
    ],
)
def test_bad_initial_points_are_refused_before_any_trial(point: Any, match: str) -> None:
    ran: list[Any] = []
    with pytest.raises(SpaceError, match=rf"^initial point 1: parameter {match}"):
        pt.tune(
            ran.append,
            OPTIMIZERS,
            points_to_evaluate=[{"opt": "adam", "lr": 0.2}, point],
            max_trials=3,
            store=None,
            executor="serial",
        )
    assert ran == []


def drive(space: Space, name: str, trials: int, fails: Any, workers: int = 4) -> list[Any]:
    """Suggest and observe like the tuner: ``workers`` pending at once, the oldest ended
    first; a config for which ``fails`` is true fails. Every config must validate."""
    searcher = make_searcher(name)
    searcher.setup(space, seed=5, workers=workers, max_trials=trials)
    pending: list[tuple[int, Any]] = []
    seen: list[Any] = []
    while len(seen) < trials:
        while len(pending) < workers and (config := searcher.suggest()) is not None:
            assert space.validate(config) == config
            pending.append((len(seen) + len(pending), config))
        if not pending:
            break
        trial_id, config = pending.pop(0)
        seen.append(config)
        failed = fails(config)
        value = None if failed else float(sum(v for v in config.values() if type(v) is float))
        status = Status.FAILED if failed else Status.DONE
        searcher.observe(
            Trial(trial_id=trial_id, config=config, seed=0, status=status, value=value)
        )
    return seen


EVERY_OPTION_BRANCHES = Space(
    {
        "opt": Choice(
            ["a", "b", "c"],
            branches={
                "a": {"x": Float(0, 1)},
                "b": {"y": Int(0, 9), "z": Choice([1, 2], branches={2: {"w": Float(0, 1)}})},
                "c": {"v": Float(1e-3, 1, log=True)},
            },
        ),
        "lr": Float(0, 1),
    }
)


def test_tpe_learns_to_avoid_a_branch_whose_every_config_fails() -> None:
    seen = drive(EVERY_OPTION_BRANCHES, "tpe", 120, lambda c: c["opt"] == "b")
    assert len(seen) == 120
    late = [config["opt"] for config in seen[40:]]
    assert late.count("b") < len(late) / 5  # a third under random search


def test_tpe_exhausts_a_discrete_space_with_an_empty_branch_and_never_repeats() -> None:
    space = Space({"opt": Choice(["a", "b"], branches={"a": {}, "b": {"n": Int(0, 3)}}), "k": 1})
    seen = drive(space, "tpe", 50, lambda c: c.get("n") == 2)
    assert sorted(json.dumps(c, sort_keys=True) for c in seen) == sorted(
        json.dumps(c, sort_keys=True) for c in space.grid()
    )


@pytest.mark.timeout(120)
def test_the_gp_suggests_valid_configs_on_branches_that_fail() -> None:
    seen = drive(EVERY_OPTION_BRANCHES, "gp", 10, lambda c: c["opt"] == "c", workers=3)
    assert len(seen) == 10
    assert {config["opt"] for config in seen} == {"a", "b", "c"}


@pytest.mark.parametrize("searcher", ["random", "sobol", "lhs", "grid", "tpe"])
def test_the_same_seed_gives_the_same_configs_on_a_conditional_space(searcher: str) -> None:
    space = EVERY_OPTION_BRANCHES
    if searcher == "grid":
        space = Space({"opt": Choice(["a", "b"], branches={"b": {"y": Int(0, 2**40)}})})

    def configs() -> list[Any]:
        result = pt.tune(
            lambda c: 0.0,
            space,
            searcher=searcher,
            max_trials=25,
            seed=11,
            store=None,
            executor="serial",
        )
        return [t.config for t in sorted(result.trial_list, key=lambda t: t.trial_id)]

    first = configs()
    assert first == configs()
    assert all(space.validate(config) == config for config in first)


def test_a_grid_over_huge_ranges_with_conditions_is_indexed_exactly() -> None:
    top = 2**40
    space = Space(
        {
            "n": Int(-top, top),
            "m": Int(0, top, when={"n": {">": 0, "<=": 10}}),
            "k": Choice(["p", "q"], when={"m": {"in": [0, top]}}),
        }
    )
    grid = space.grid()
    assert grid.size == (2 * top + 1 - 10) + 10 * (top - 1 + 2 * 2)
    assert grid[-1] == {"n": top}
    assert grid[top] == {"n": 0}
    assert grid[top + 1] == {"n": 1, "m": 0, "k": "p"}
    assert grid[top + 3] == {"n": 1, "m": 1}
    assert [grid[i] for i in range(3)] == [{"n": -top}, {"n": -top + 1}, {"n": -top + 2}]


def test_dates_and_yaml_booleans_from_python_get_the_same_hint() -> None:
    with pytest.raises(SpaceError, match=r"as a date: quote such a value"):
        Space({"d": ["2021-05-01"], "y": Float(0, 1, when={"d": datetime.date(2021, 5, 1)})})
    with pytest.raises(SpaceError, match=r"can never hold: 'd' is an integer in \[0, 1\]$"):
        Space({"d": Int(0, 1), "y": Float(0, 1, when={"d": True})})  # no text: no hint


def test_a_parent_value_with_no_order_leaves_its_children_inactive() -> None:
    space = Space({"layers": Int(1, 5), "units": Int(1, 3, when={"layers": {">=": 2}})})
    for odd in (np.array([1, 2]), "abc", [3], None, {"a": 1}):
        assert space.active({"layers": odd, "units": 1}) == {"layers": odd}


def test_an_infinite_branch_option_is_refused_naming_the_branch() -> None:
    with pytest.raises(
        SpaceError,
        match=r"^parameter 'x': in the branch inf of 'x': parameter 'm': the condition on 'x': "
        r"inf is not a finite number",
    ):
        Space({"x": Choice([math.inf, 1.0], branches={math.inf: {"m": Float(0, 1)}})})


def test_shown_cuts_long_values_and_survives_unprintable_ones() -> None:
    assert shown("sgd") == "'sgd'"
    assert shown(list(range(10**5))).endswith("...") and len(shown(list(range(10**5)))) == SHOWN
    assert shown(10**5000) == "<int that cannot be shown>"


def test_unreachable_names_the_first_parameter_no_values_make_active() -> None:
    def first(params: dict[str, Any]) -> str | None:
        space = Space(params)
        conditions = space._conditions
        return unreachable(
            conditions.order, conditions.entries, space.domains, {}, _joint_witnesses
        )

    assert first({"a": Choice([1, 2]), "b": Choice([1, 2], when={"a": 1})}) is None
    nested = {"a": Choice([1, 2], branches={1: {"b": Choice([3, 4], branches={3: {}})}})}
    assert first(nested) is None
    # Built without the space's own check, to see what the search says.
    domains: dict[str, Domain] = {"a": Choice([1, 2]), "b": Int(0, 9), "c": Float(0, 1)}
    entries = {"b": entries_of({"a": 1}), "c": entries_of({"a": 2, "b": {">": 4}})}
    assert unreachable(("a", "b", "c"), entries, domains, {}, _joint_witnesses) == "c"
    entries["c"] = entries_of({"a": 1, "b": {">": 4}})
    assert unreachable(("a", "b", "c"), entries, domains, {}, _joint_witnesses) is None


def test_booleans_and_numbers_have_no_order_between_them() -> None:
    """As ``True == 1`` never holds in a condition, neither does ``True > 0``."""
    with pytest.raises(SpaceError, match=r"the condition x > 0 can never hold: 'x' takes one of"):
        Space({"x": Choice([True, False]), "y": Float(0, 1, when={"x": {">": 0}})})
    with pytest.raises(SpaceError, match=r"the condition x >= True can never hold: 'x' is an int"):
        Space({"x": Int(0, 3), "y": Float(0, 1, when={"x": {">=": True}})})
    flags = Space({"x": Choice([True, False]), "y": Float(0, 1, when={"x": {">": False}})})
    assert flags.is_active("y", {"x": True}) and not flags.is_active("y", {"x": False})
    mixed = Space({"x": Choice([True, 2]), "y": Float(0, 1, when={"x": {">=": 1}})})
    assert mixed.is_active("y", {"x": 2}) and not mixed.is_active("y", {"x": True})
