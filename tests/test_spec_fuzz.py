"""Property-based tests of everything that reads untrusted input: spec files, spaces, the
command line. Whatever the input, the answer is a result or one of paratune's own errors,
never a stray exception.

Inputs that once escaped as stray exceptions are pinned by the explicit, deterministic tests
at the end.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import paratune as pt
from paratune._folders import check_name, folder_name
from paratune.cli import cli
from paratune.executors import MAX_SIMULATED_WORKERS, make_executor
from paratune.schedulers import make_scheduler
from paratune.schedulers._ladder import MAX_RUNGS
from paratune.spec import load_run_spec, spec_keys

MODULE = "paratune_fuzz_objectives"
OBJECTIVES = """
import math

NOT_CALLABLE = 3


def objective(config):
    return float(len(repr(sorted(config))) % 7)


def takes_context(config, ctx):
    ctx.elapse(0.0)
    return {"value": 1.0, "loss": 2.0}


def fails(config):
    raise RuntimeError("fails on purpose")


def returns_nan(config):
    return math.nan


def prepare():
    return {"ready": True}
"""

# No example database (nothing written to disk); no health checks that a loaded machine or
# the deliberately wild JSON generator could trip.
_RELAXED = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=_RELAXED)


@pytest.fixture(scope="module")
def objective_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder with an importable objective module, shared by every example of every test
    here (`load_run_spec` puts it on sys.path, which is put back afterwards)."""
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / f"{MODULE}.py").write_text(OBJECTIVES)
    path = list(sys.path)
    try:
        yield folder
    finally:
        sys.path[:] = path
        sys.modules.pop(MODULE, None)


# ----------------------------------------------------------------------------- strategies

_TEXT = st.text(max_size=8)
_EDGE_NUMBERS = st.sampled_from(
    [
        *(0, 1, -1, 2, 0.0, -0.0, 0.5, 1e-4, 0.1, 2.0, 1.5, 2**40, 2**40 + 1, -(2**40), 2**63),
        *(1e308, -1e308, 1.7976931348623157e308, 5e-324, -5e-324, math.inf, -math.inf, math.nan),
    ]
)
_NUMBERS = st.one_of(
    st.integers(-(2**12), 2**12),
    st.integers(),
    st.floats(),
    _EDGE_NUMBERS,
)
_SCALARS = st.one_of(st.none(), st.booleans(), _NUMBERS, _TEXT)
_DOMAIN_KEYS = ("type", "low", "high", "log", "values")
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(_TEXT, st.sampled_from(_DOMAIN_KEYS)), inner, max_size=4),
    ),
    max_leaves=10,
)
"""Any JSON value, NaN and infinities included."""


@st.composite
def _ranges(draw: st.DrawFn, valid: bool = False) -> dict[str, Any]:
    """``{"type": "float" | "int", "low": ..., "high": ...}``: valid as far as can be told
    without trying when ``valid``, else half the time, and then mangled now and then."""
    kind = draw(st.sampled_from(["float", "int"]))
    log = draw(st.booleans())
    if valid or draw(st.booleans()):
        if kind == "int":
            low = draw(st.integers(1 if log else -(2**40), 2**40 - 1))
            high = draw(st.integers(low + 1, 2**40))
            bounds: list[Any] = [low, high]
            if draw(st.booleans()):
                bounds = [float(low), float(high)]  # integral floats are accepted
        else:
            positive = st.floats(min_value=0.0, exclude_min=True, allow_infinity=False)
            finite = positive if log else st.floats(allow_nan=False, allow_infinity=False)
            a, b = sorted((draw(finite), draw(finite)))
            bounds = [a, b if b > a else math.nextafter(a, math.inf)]
    else:
        bounds = [draw(st.one_of(_NUMBERS, _JSON)), draw(st.one_of(_NUMBERS, _JSON))]
    entry: dict[str, Any] = {"type": kind, "low": bounds[0], "high": bounds[1]}
    if valid:
        if log or draw(st.booleans()):
            entry["log"] = log
        return entry
    if draw(st.booleans()):
        entry["log"] = log if draw(st.booleans()) else draw(_SCALARS)
    mangle = draw(st.integers(0, 7))
    if mangle == 0:
        del entry[draw(st.sampled_from(["low", "high"]))]
    elif mangle == 1:
        entry[draw(st.one_of(_TEXT, st.sampled_from(_DOMAIN_KEYS)))] = draw(_JSON)
    elif mangle == 2:
        entry["type"] = draw(st.one_of(st.sampled_from(["choice", "Float", "INT"]), _SCALARS))
    return entry


_CHOICE_VALUES = st.one_of(
    st.lists(st.one_of(_TEXT, st.integers(), st.floats()), min_size=1, max_size=5, unique=True),
    st.lists(st.one_of(_SCALARS, _JSON), max_size=5),  # may be empty, or hold duplicates
)
_CHOICES = st.one_of(
    _CHOICE_VALUES,
    st.builds(lambda values: {"type": "choice", "values": values}, _CHOICE_VALUES),
    st.fixed_dictionaries({"type": st.just("choice")}, optional={"values": _JSON, "low": _JSON}),
)
_ENTRIES = st.one_of(_ranges(), _CHOICES, _SCALARS, _JSON)
"""A space entry: a range, a choice, a constant, or any JSON value at all."""

_PARAM_NAMES = st.one_of(st.sampled_from(["x", "lr", "depth", "act", ""]), _TEXT)
_SPACES = st.dictionaries(_PARAM_NAMES, _ENTRIES, max_size=4)
"""A space as a spec file holds it (JSON-like)."""


@dataclass(frozen=True)
class Make:
    """A `pt.Float`, `pt.Int` or `pt.Choice` to build inside the test (building it may raise
    `SpaceError` too, which is part of what is tested)."""

    kind: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Any:
        cls: Any = {"Float": pt.Float, "Int": pt.Int, "Choice": pt.Choice}[self.kind]
        return cls(*self.args, **self.kwargs)


_NUMPY_SCALARS = st.one_of(
    st.integers(-(2**40), 2**40).map(np.int64),
    st.floats(width=32).map(np.float32),
    st.floats().map(np.float64),
    st.booleans().map(np.bool_),
)
_BOUNDS = st.one_of(_NUMBERS, _NUMPY_SCALARS, _SCALARS)
_MAKES = st.one_of(
    st.builds(
        Make,
        st.sampled_from(["Float", "Int"]),
        st.tuples(_BOUNDS, _BOUNDS),
        st.fixed_dictionaries({}, optional={"log": st.one_of(st.booleans(), _SCALARS)}),
    ),
    st.builds(
        Make,
        st.just("Choice"),
        st.tuples(
            st.one_of(
                _CHOICE_VALUES,
                _CHOICE_VALUES.map(tuple),
                st.integers(1, 5).map(np.arange),
                _SCALARS,
                st.dictionaries(_TEXT, _SCALARS, max_size=2),
            )
        ),
    ),
)
_PY_ENTRIES = st.one_of(
    _ENTRIES,
    _MAKES,
    _CHOICE_VALUES.map(tuple),
    _NUMPY_SCALARS,
    st.integers(1, 4).map(np.arange),  # a numpy array is a constant
)
_PY_PARAMS = st.one_of(
    st.dictionaries(_PARAM_NAMES, _PY_ENTRIES, max_size=5),
    st.dictionaries(st.one_of(_PARAM_NAMES, st.integers(), st.none()), _PY_ENTRIES, max_size=3),
    _JSON,  # not even a mapping, mostly
)
"""What a Python caller may hand `pt.Space`."""


_GOOD_OBJECTIVES = st.sampled_from([f"{MODULE}:objective", f"{MODULE}:takes_context"])
_ODD_OBJECTIVES = st.one_of(
    st.sampled_from(
        [
            f"{MODULE}:NOT_CALLABLE",
            f"{MODULE}:missing",
            f"{MODULE}:objective:extra",
            f"{MODULE}.sub:objective",
            f"{MODULE}:",
            f"{MODULE}",
            ":objective",
            ":",
            "",
            ".relative:objective",
            "a..b:objective",
            "nul\x00:objective",
            "no_such_module_for_paratune:objective",
        ]
    ),
    _TEXT.map(lambda name: f"{MODULE}:{name}"),
    # Never a random module name alone: it could import a real module with side effects.
    _TEXT.map(lambda name: f"no_such_module_for_paratune_{name}:f"),
)
_VALID_SPACES = st.dictionaries(
    st.text(min_size=1, max_size=6),
    st.one_of(
        _ranges(valid=True),
        st.lists(st.one_of(_TEXT, st.integers()), min_size=1, max_size=4, unique=True),
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _TEXT),
    ),
    min_size=1,
    max_size=4,
)

# Per key: values a spec may well hold (right type, mostly right value). A spec takes most
# of its values from here, then has a few replaced by anything at all (`_JSON`).
_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "objective": st.integers(0, 3).flatmap(
        lambda n: _ODD_OBJECTIVES if n == 0 else _GOOD_OBJECTIVES
    ),
    "space": st.one_of(_VALID_SPACES, _SPACES),
    "metric": st.sampled_from(["value", "loss", "", ["value", "loss"], ["value", "value"]]),
    "mode": st.sampled_from(["min", "max", "MAX", "best", ["min", "max"], {"value": "max"}]),
    "constraints": st.sampled_from(
        [{"loss": ["<=", 1]}, {"loss": ["<", 1]}, {"loss": "<= 1"}, ["loss"], {}]
    ),
    "searcher": st.sampled_from(["random", "grid", "sobol", "lhs", "bayes"]),
    "scheduler": st.one_of(
        st.sampled_from(["fifo", "asha", "hyperband", "fifo2"]),
        st.fixed_dictionaries(
            {"type": st.sampled_from(["asha", "successive_halving", "hyperband", "x"])},
            optional={"max_budget": st.integers(-1, 8), "eta": st.integers(0, 3)},
        ),
    ),
    "executor": st.sampled_from(["serial", "threads", "processes", "simulated"]),
    "workers": st.integers(),
    # An address means Dask: with another executor named it is an error that names it;
    # with none, a connection to nothing there is refused at once.
    "address": st.one_of(_TEXT, st.just("tcp://127.0.0.1:8786")),
    "resources": st.dictionaries(st.sampled_from(["cpus", "gpus", "ram"]), _NUMBERS, max_size=2),
    "max_trials": st.integers(),
    "max_time": _NUMBERS,
    "target": _NUMBERS,
    "seed": st.integers(),
    "retries": st.integers(),
    "trial_timeout": _NUMBERS,
    "store": st.sampled_from([":memory:", "runs.db", ""]),
    "synchronous": st.booleans(),
    "points_to_evaluate": st.lists(
        st.dictionaries(_PARAM_NAMES, _SCALARS, max_size=3), max_size=3
    ),
    "name": _TEXT,
    "checkpoint_dir": st.sampled_from(["checkpoints", ""]),
    "setup": st.integers(0, 3).flatmap(
        lambda n: _ODD_OBJECTIVES if n == 0 else st.just(f"{MODULE}:prepare")
    ),
}


def test_the_fuzzer_knows_every_spec_key() -> None:
    assert sorted(_VALUES) == sorted(spec_keys())


@st.composite
def run_specs(
    draw: st.DrawFn,
    values: dict[str, st.SearchStrategy[Any]],
    corruptible: tuple[str, ...] = tuple(_VALUES),
    noisy: bool = True,
) -> dict[Any, Any]:
    """A spec: the required keys (nearly always) and some optional ones, with values from
    ``values``; then, when ``noisy``, a few of the ``corruptible`` keys given any JSON
    value, and now and then a key that is not a spec key at all."""
    optional = [key for key in values if key not in ("objective", "space")]
    chosen = draw(st.lists(st.sampled_from(optional), unique=True, max_size=6))
    spec: dict[Any, Any] = {key: draw(values[key]) for key in ("objective", "space", *chosen)}
    if not noisy:
        return spec
    # A third of the specs get one or two values replaced by anything at all; one in ten
    # misses a required key; one in ten has a key that is no spec key.
    corrupt = {0: 1, 1: 2}.get(draw(st.integers(0, 5)), 0)
    for key in draw(
        st.lists(st.sampled_from(corruptible), unique=True, min_size=corrupt, max_size=corrupt)
    ):
        spec[key] = draw(_JSON)
    if draw(st.integers(0, 9)) == 0:
        del spec[draw(st.sampled_from(["objective", "space"]))]
    if draw(st.integers(0, 9)) == 0:
        near_misses = st.sampled_from(["max_trial", "Seed", "worker", "timeout", "space "])
        keys = st.one_of(near_misses, _TEXT, st.integers(), st.booleans(), st.none())
        spec.update(draw(st.dictionaries(keys, _JSON, min_size=1, max_size=2)))
    return spec


def _dump(spec: dict[Any, Any], suffix: str) -> str:
    if suffix == ".json":
        return json.dumps(spec)
    return yaml.safe_dump(spec, sort_keys=False)


# ----------------------------------------------------------------------------- load_run_spec


_SPECS = st.one_of(run_specs(_VALUES, noisy=False), run_specs(_VALUES))


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
@FUZZ
@given(spec=_SPECS)
@example(spec={"objective": f"{MODULE}:objective", "space": {"x": [1, 2]}})  # accepted
def test_a_spec_file_loads_or_is_refused_with_a_spec_error(
    spec: dict[Any, Any], suffix: str, objective_folder: Path
) -> None:
    path = objective_folder / f"spec{suffix}"
    path.write_text(_dump(spec, suffix), encoding="utf-8")
    try:
        kwargs = load_run_spec(path)
    except (pt.SpecError, pt.SpaceError) as exc:
        event(type(exc).__name__)
        assert str(path) in str(exc)  # every message names the file
        return
    event("loaded")
    assert isinstance(kwargs, dict)
    assert set(kwargs) <= set(spec_keys())
    assert callable(kwargs["objective"])
    assert isinstance(kwargs["space"], pt.Space)
    assert None not in kwargs.values()


def test_the_spec_fuzzer_reaches_accepted_specs(objective_folder: Path) -> None:
    """The generator is not all noise: a fair share of its specs load (hypothesis' own
    statistics say how many; this checks that there are some, deterministically)."""
    accepted = 0

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(spec=_SPECS)
    def count(spec: dict[Any, Any]) -> None:
        nonlocal accepted
        path = objective_folder / "count.json"
        path.write_text(_dump(spec, ".json"), encoding="utf-8")
        try:
            load_run_spec(path)
        except pt.SpecError:
            return
        accepted += 1

    count()
    # 6 of the first 100 and 74 of 300 with hypothesis 6.170.27 (which examples come first
    # varies with hypothesis' version and environment: 27 of 100 elsewhere), so a share
    # of a larger sample, not a count of a small one.
    assert accepted >= 10


# ----------------------------------------------------------------------------- Space


def _build(params: Any) -> Any:
    if not isinstance(params, dict):
        return params
    return {
        name: value.build() if isinstance(value, Make) else value for name, value in params.items()
    }


_UNIT_POINTS = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=5, max_size=5)
"""A point of the unit cube of any space drawn here (at most 5 parameters), cut to size."""


@FUZZ
@given(params=_PY_PARAMS, u=_UNIT_POINTS)
@example(
    params={"lr": Make("Float", (1e-4, 0.1), {"log": True}), "k": [1, 2], "c": 3}, u=[1.0] * 5
)
@example(params={"n": Make("Int", (1, 2**40), {"log": True})}, u=[1.0] * 5)
@example(params={"x": Make("Float", (-8e307, 8e307))}, u=[0.5] * 5)
@example(params={"x": Make("Float", (5e-324, 1e-323), {"log": True})}, u=[0.7] * 5)
@example(params={"x": Make("Choice", ([math.nan, math.nan],))}, u=[0.9] * 5)
def test_a_space_is_built_or_refused_with_a_space_error(params: Any, u: list[float]) -> None:
    try:
        space = pt.Space(_build(params))
    except pt.SpaceError:
        return
    assert space.names == tuple(params)
    if space.dimension == 0:
        return
    d = space.dimension
    for point in (u[:d], [0.0] * d, [1.0] * d):
        config = space.decode(point)
        checked = space.validate(config)
        assert tuple(checked) == space.names
        assert tuple(space.validate(checked)) == space.names  # validating twice is fine too


@FUZZ
@given(params=st.one_of(_VALID_SPACES, _SPACES), u=_UNIT_POINTS)
def test_a_space_in_file_form_decodes_to_valid_configs(
    params: dict[str, Any], u: list[float]
) -> None:
    try:
        space = pt.Space(params)
    except pt.SpaceError:
        return
    if space.dimension:
        space.validate(space.decode(u[: space.dimension]))
    assert pt.Space(space.to_dict()) == space  # and the file form round-trips


# ----------------------------------------------------------------------------- the CLI

# Specs the command line can run quickly and safely: a few workers at most, no processes
# (tested elsewhere), no unbounded retries, and no max_time or trial_timeout so long that a
# run would not end (long waits are tested in test_failure_isolation.py).
_CLI_VALUES: dict[str, st.SearchStrategy[Any]] = {
    **_VALUES,
    "objective": st.sampled_from(
        [f"{MODULE}:{name}" for name in ("objective", "takes_context", "fails", "returns_nan")]
        + [f"{MODULE}:NOT_CALLABLE", f"{MODULE}:missing", "no_such_module_for_paratune:f"]
    ),
    "executor": st.sampled_from(["serial", "threads", "simulated", "gpu", 3]),
    "address": st.just("not an address"),  # never a cluster to wait for
    "workers": st.sampled_from([1, 2, 0, -1, 2.5, "2", True]),
    "retries": st.sampled_from([0, 1, 2, -1, 1.5, "1"]),
    "max_time": st.sampled_from([5.0, 60, 1e-9, 0, -1.0, math.nan, "10"]),
    "trial_timeout": st.sampled_from([0.5, 60, 0, -1.0, math.nan, "1", True]),
    "target": st.one_of(st.floats(), st.sampled_from(["0", None])),
    "seed": st.one_of(st.integers(-3, 2**64), st.sampled_from(["1", 1.0])),
}
# Not executor, workers, retries, max_time, trial_timeout: any JSON value there could ask
# for 10**18 threads or endless retries.
_CLI_CORRUPTIBLE = (
    "objective",
    "space",
    "metric",
    "mode",
    "constraints",
    "searcher",
    "scheduler",
    "target",
    "seed",
    "store",
    "synchronous",
    "points_to_evaluate",
    "name",
)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=_RELAXED)
@given(
    spec=st.one_of(
        run_specs(_CLI_VALUES, noisy=False),
        run_specs(_CLI_VALUES, corruptible=_CLI_CORRUPTIBLE),
    ),
    suffix=st.sampled_from([".json", ".yaml"]),
)
@example(spec={"objective": f"{MODULE}:objective", "space": {"x": [1, 2]}}, suffix=".yaml")
@example(spec={"objective": f"{MODULE}:fails", "space": {"x": [1, 2]}}, suffix=".json")
def test_the_cli_exits_with_a_message_never_a_traceback(
    spec: dict[Any, Any], suffix: str, objective_folder: Path
) -> None:
    path = objective_folder / f"cli-spec{suffix}"
    path.write_text(_dump(spec, suffix), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["run", str(path), "--store", ":memory:", "-q", "--max-trials", "2"]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in (0, 1), result.output
    event(f"exit code {result.exit_code}")
    if result.exit_code == 0:
        assert "trials in" in result.output
    else:
        assert result.output.strip()  # one message says why


# ------------------------------------------------------- inputs that once escaped as errors


_SPEC_HEAD = f"objective: {MODULE}:objective\nspace: {{x: [1, 2]}}\n"


@pytest.mark.parametrize(
    "line",
    [
        "name: 2024-02-30",  # a date-like name that is no date
        "seed: !!int abc",
        "max_time: !!float abc",
        "name: !!timestamp abc",
        "seed: " + "1" * 5000,
    ],
    ids=["impossible-date", "int-tag", "float-tag", "timestamp-tag", "huge-integer"],
)
def test_a_yaml_value_that_cannot_be_constructed_is_a_spec_error(
    line: str, objective_folder: Path
) -> None:
    path = objective_folder / "constructed.yaml"
    path.write_text(_SPEC_HEAD + line + "\n", encoding="utf-8")
    with pytest.raises(pt.SpecError, match=r"constructed\.yaml"):
        load_run_spec(path)


@pytest.mark.parametrize(
    "text",
    [
        '{"objective": "m:f", "space": {"x": [1, 2]}, "seed": ' + "1" * 5000 + "}",
        '{"objective": "m:f", "space": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}",
    ],
    ids=["huge-integer", "deep-nesting"],
)
def test_a_json_file_that_cannot_be_decoded_is_a_spec_error(text: str, tmp_path: Path) -> None:
    path = tmp_path / "decoded.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(pt.SpecError, match=r"decoded\.json"):
        load_run_spec(path)


def test_a_seed_too_large_for_the_store_exits_with_a_message(objective_folder: Path) -> None:
    path = objective_folder / "big-seed.yaml"
    path.write_text(_SPEC_HEAD + f"seed: {2**63}\nmax_trials: 2\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", str(path), "--store", "runs.db", "-q"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 1 and "seed" in result.output


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("blank.yaml", "objective:\nspace: {x: [1, 2]}\n"),
        ("null.json", '{"objective": null, "space": {"x": [1, 2]}}'),
    ],
)
def test_a_null_objective_is_a_spec_error(name: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(pt.SpecError, match="objective"):
        load_run_spec(path)


# ------------------------------------------------------- names, budgets and workers, bounded


@FUZZ
@given(name=st.text(), other=st.text())
@example(name="..", other="_.")
@example(name="a/b", other="a_b")
@example(name="", other=".")
def test_every_name_is_a_plain_folder_name_of_its_own(name: str, other: str) -> None:
    folder = folder_name(name)
    assert set(folder) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
    assert folder not in ("", ".", "..") and not folder.startswith(".")
    assert len(folder) <= 64 + 9
    if name != other:
        assert folder_name(other) != folder
    try:
        assert check_name(name) == name
    except pt.SpecError as exc:
        assert str(exc).startswith("name must")


@FUZZ
@given(
    kind=st.sampled_from(["asha", "hyperband", "successive_halving"]),
    options=st.fixed_dictionaries(
        {},
        optional={
            "min_budget": st.one_of(_NUMBERS, st.integers(-10, 10**400)),
            "max_budget": st.one_of(_NUMBERS, st.integers(-10, 10**400)),
            "eta": st.one_of(_NUMBERS, st.floats(1.0, 1.001)),
        },
    ),
)
def test_budgets_build_a_scheduler_or_a_message_fast(kind: str, options: dict[str, Any]) -> None:
    started = time.monotonic()
    try:
        scheduler: Any = make_scheduler({"type": kind, **options})
    except ValueError as exc:
        assert any(key in str(exc) for key in ("min_budget", "max_budget", "eta", "brackets"))
    else:
        assert len(scheduler.budgets) <= MAX_RUNGS
    assert time.monotonic() - started < 2.0


@FUZZ
@given(
    kind=st.sampled_from(["serial", "threads", "processes", "simulated"]),
    workers=st.one_of(st.integers(), st.integers(1, 2**20)),
)
def test_workers_make_an_executor_or_a_message(kind: str, workers: int) -> None:
    try:
        executor = make_executor(kind, workers)
    except ValueError as exc:
        assert "workers" in str(exc)
    else:
        assert executor.workers == workers <= MAX_SIMULATED_WORKERS
