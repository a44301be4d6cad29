"""`tune`'s options, written once.

`TuneOptions` holds every option of `tune` and checks itself. Each field's rule says which
types a run spec accepts for it, whether it is kept with the experiment (and given back when
the experiment is resumed), and what makes a value bad. The spec's keys (`spec_types`), the
settings stored with an experiment (`TuneOptions.stored`) and resume's arguments
(`resumed_options`) are all read from these fields, so a new option is one new field.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from ._checks import is_whole
from ._folders import check_name
from .callbacks import METHODS, Callback
from .errors import SpecError
from .executors import Executor, Setup
from .executors._setup import qualified_name
from .objectives import Objectives
from .schedulers import Scheduler
from .searchers import Searcher
from .store import Store

if TYPE_CHECKING:
    from .tuner import ProgressCallback  # the tuner reads these options

DEFAULT_STORE = "paratune.db"
"""The store `tune` writes to when it is given none: a file in the working folder."""

Check = Callable[[Any], str | None]  # a problem with a value, or None when it is good


@dataclass(frozen=True, slots=True)
class Rule:
    """What one option accepts, and where it goes.

    Attributes:
        spec: the types a run spec accepts for it; None when it is no spec key.
        stored: whether it is kept with the experiment and given back on resume.
        check: what is wrong with a value, or None when it is good (types beyond the
            spec's are the parts' own constructors' to check).
        keep: how a stored value is written (JSON-able); the value itself by default.
    """

    spec: tuple[type, ...] | None = None
    stored: bool = False
    check: Check | None = None
    keep: Callable[[Any], Any] | None = None


def _given(**rule: Any) -> dict[str, Rule]:
    """A field's metadata: its rule."""
    return {"rule": Rule(**rule)}


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _whole_at_least(low: int) -> Check:
    def check(value: Any) -> str | None:
        return None if is_whole(value, low) else f"must be an integer >= {low}, got {value!r}"

    return check


def _metric(value: Any) -> str | None:
    ok = isinstance(value, str) and bool(value)
    if isinstance(value, list | tuple) and value:
        ok = all(isinstance(name, str) and name for name in value)
    return None if ok else f"must be a non-empty string or a list of them, got {value!r}"


def _mode(value: Any) -> str | None:
    if isinstance(value, list | tuple | Mapping):
        each = value.values() if isinstance(value, Mapping) else value
        ok = bool(value) and all(mode in ("min", "max") for mode in each)
        return None if ok else f"must hold only 'min' and 'max', got {value!r}"
    return None if value in ("min", "max") else f"must be 'min' or 'max', got {value!r}"


def _constraints(value: Any) -> str | None:
    try:
        Objectives.of("value", "min", value)
    except SpecError as error:
        return f"are invalid: {error}"
    return None


def _seed(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63
    return None if ok else f"must be an integer in [0, 2**63), got {value!r}"


def _seconds(value: Any) -> str | None:
    ok = _real(value) and 0 < value < math.inf
    return None if ok else f"must be a finite number of seconds > 0, got {value!r}"


def _finite(value: Any) -> str | None:
    return (
        None
        if _real(value) and math.isfinite(value)
        else f"must be a finite number, got {value!r}"
    )


def _folder(value: Any) -> str | None:
    return None if str(value).strip() else f"must name a folder, got {value!r}"


def _name(value: Any) -> str | None:
    check_name(value)  # raises, naming what is wrong
    return None


def _function(value: Any) -> str | None:
    ok = callable(value)
    return None if ok else f"must be a function taking no arguments, got {value!r}"


def _callbacks(value: Any) -> str | None:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        return f"must be a list of paratune.callbacks.Callback objects, got {value!r}"
    for index, item in enumerate(value):
        if isinstance(item, Callback):
            continue
        missing = [name for name in METHODS if not callable(getattr(item, name, None))]
        if missing:
            return (
                f"must hold paratune.callbacks.Callback objects (or objects with its methods): "
                f"item {index}, {item!r}, has no {', '.join(missing)}"
            )
    return None


def _described(part: Any) -> Any:
    """A part as JSON keeps it: names and dicts as they are, objects by their repr."""
    return part if isinstance(part, str | dict) else repr(part)


def _points(points: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [dict(point) for point in points]


@dataclass(frozen=True, slots=True, kw_only=True)
class TuneOptions:
    """Every option of `tune` but the objective and the space, checked when made.

    The fields, their defaults and their meaning are `tune`'s keyword arguments (see its
    docstring); a test holds `tune`'s signature to these fields.

    Raises:
        SpecError: an option is invalid; the message names it.
    """

    metric: str | Sequence[str] = field(
        default="value", metadata=_given(spec=(str, list), check=_metric)
    )
    mode: str | Sequence[str] | Mapping[str, str] = field(
        default="min", metadata=_given(spec=(str, list, dict), check=_mode)
    )
    constraints: Mapping[str, Any] | None = field(
        default=None, metadata=_given(spec=(dict,), check=_constraints)
    )
    searcher: str | Searcher = field(
        default="random", metadata=_given(spec=(str,), stored=True, keep=_described)
    )
    scheduler: str | Mapping[str, Any] | Scheduler = field(
        default="fifo", metadata=_given(spec=(str, dict), stored=True, keep=_described)
    )
    # None: chosen from workers and address (`paratune.executors.chosen_executor`); the
    # executor chosen is the one stored, so a resumed run uses it again.
    executor: str | Executor | None = field(
        default=None, metadata=_given(spec=(str,), stored=True, keep=_described)
    )
    workers: int | None = field(default=None, metadata=_given(spec=(int,), stored=True))
    address: str | None = field(default=None, metadata=_given(spec=(str,), stored=True))
    resources: Mapping[str, float] | None = field(
        default=None, metadata=_given(spec=(dict,), stored=True)
    )
    # A spec names it as "module:function"; stored by that name, imported again on resume.
    setup: Setup | None = field(
        default=None,
        metadata=_given(spec=(str,), stored=True, check=_function, keep=qualified_name),
    )
    max_trials: int | None = field(
        default=None, metadata=_given(spec=(int,), stored=True, check=_whole_at_least(1))
    )
    max_time: float | None = field(
        default=None, metadata=_given(spec=(int, float), stored=True, check=_seconds)
    )
    target: float | None = field(
        default=None, metadata=_given(spec=(int, float), stored=True, check=_finite)
    )
    seed: int = field(default=0, metadata=_given(spec=(int,), check=_seed))
    retries: int = field(
        default=0, metadata=_given(spec=(int,), stored=True, check=_whole_at_least(0))
    )
    trial_timeout: float | None = field(
        default=None, metadata=_given(spec=(int, float), stored=True)
    )
    synchronous: bool = field(default=False, metadata=_given(spec=(bool,), stored=True))
    points_to_evaluate: Sequence[Mapping[str, Any]] | None = field(
        default=None, metadata=_given(spec=(list,), stored=True, keep=_points)
    )
    store: str | os.PathLike[str] | Store | None = field(
        default=DEFAULT_STORE, metadata=_given(spec=(str,))
    )
    name: str | None = field(default=None, metadata=_given(spec=(str,), check=_name))
    resume: bool = field(default=False, metadata=_given())
    overwrite: bool = field(default=False, metadata=_given())
    progress: bool | ProgressCallback = field(default=False, metadata=_given())
    # Objects of the caller's: neither a spec key nor kept with the experiment.
    callbacks: Sequence[Callback] = field(default=(), metadata=_given(check=_callbacks))
    checkpoint_dir: str | os.PathLike[str] | None = field(
        default=None, metadata=_given(spec=(str,), stored=True, check=_folder, keep=str)
    )

    def __post_init__(self) -> None:
        for option in fields(self):
            value, rule = getattr(self, option.name), _rule(option)
            if value is not None and rule.check is not None:
                if problem := rule.check(value):
                    raise SpecError(f"{option.name} {problem}")
        goals = self.objectives  # the metrics, modes and constraints checked together
        if goals.several and self.target is not None:
            raise SpecError(
                "target needs a single metric: with several, no one value says when to stop"
            )
        if self.resume and self.overwrite:
            raise SpecError("resume and overwrite exclude each other: continue, or start over")
        if self.resume and self.name is None:
            raise SpecError("resume=True needs the name of the experiment to continue")

    @property
    def objectives(self) -> Objectives:
        """What the run tunes: `metric`, `mode` and `constraints` together."""
        return Objectives.of(self.metric, self.mode, self.constraints)

    def stored(self, **built: Any) -> dict[str, Any]:
        """The settings kept with the experiment: each stored option as JSON keeps it, where
        ``built`` gives what the run made of some of them (the executor chosen, its actual
        number of workers, the checked resources) and anything else to keep."""
        settings: dict[str, Any] = {}
        for option in fields(self):
            rule = _rule(option)
            if rule.stored:
                value = getattr(self, option.name)
                keep = rule.keep if value is not None and rule.keep is not None else _same
                settings[option.name] = keep(value)
        goals = self.objectives
        if not goals.plain:  # the primary metric is the experiment's; all of them here
            settings["objectives"] = goals.to_dict()
        return settings | built


def _same(value: Any) -> Any:
    return value


def _rule(option: Any) -> Rule:
    rule: Rule = option.metadata["rule"]
    return rule


def spec_types() -> dict[str, tuple[type, ...]]:
    """The options a run spec may set, with the types it accepts for each."""
    return {
        option.name: rule.spec
        for option in fields(TuneOptions)
        if (rule := _rule(option)).spec is not None
    }


def option_names() -> list[str]:
    """Every option's name, in `tune`'s order."""
    return [option.name for option in fields(TuneOptions)]


# Stored as a name (a string that is an identifier, or a scheduler's dict) when a run can
# build the part again; as an object's repr otherwise.
_PARTS = ("searcher", "scheduler", "executor")


def resumed_options(
    settings: Mapping[str, Any], *, refuse: Callable[[str], None]
) -> dict[str, Any]:
    """`tune`'s options to continue an experiment stored with ``settings``: every stored
    option that has a value. A part stored as an object's repr cannot be built again:
    ``refuse`` is called with what to say (and must raise)."""
    given: dict[str, Any] = {}
    for option in fields(TuneOptions):
        value = settings.get(option.name)
        if not _rule(option).stored or value is None:
            continue
        if option.name in _PARTS and isinstance(value, str) and not value.isidentifier():
            kind = "a name or a dict" if option.name == "scheduler" else "a name"
            refuse(f"ran {option.name} {value}, an object, not {kind}")
        given[option.name] = value
    return given
