"""Conditions: when a parameter of a space is active.

A parameter's ``when`` maps other parameters' names to forms, and the parameter is active
only when every entry holds. A form is a value (equal to it), a list (one of its items) or a
dict of operators that must all hold, such as ``{">=": 3}`` or ``{"not in": ["sgd"]}``. A
parameter whose condition names an inactive parameter is inactive; constants are always
active.

`normalise_when` checks a ``when`` on its own (its form, its operators, finite operands),
when a domain is built; `Conditions` checks the conditions of a whole space (unknown names,
cycles, conditions that can never hold, alone or together) and evaluates them, parents
before children. A list and a tuple of equal items count as equal in a condition: files
and the store keep only lists.
"""

from __future__ import annotations

import datetime
import itertools
import math
import numbers
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._domains import SHOWN, Choice, Domain, Int, same_value, shown
from ._reachable import unreachable
from .errors import SpaceError

OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")
"""The operators a condition may use."""

_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


@dataclass(frozen=True, slots=True)
class Clause:
    """One test of a parent's value: ``value <operator> operand``."""

    operator: str
    operand: Any
    # For "in" and "not in": the hashable operands as `_key`s, looked up at once, and the
    # others, compared one by one (a list of a million values costs one lookup, not a scan).
    _keys: frozenset[Hashable] = field(init=False, repr=False, compare=False)
    _rest: tuple[Any, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys: set[Hashable] = set()
        rest: list[Any] = []
        for option in self.operand if self.operator in ("in", "not in") else ():
            key = _key(option)
            if key is None:
                rest.append(option)
            else:
                keys.add(key)
        object.__setattr__(self, "_keys", frozenset(keys))
        object.__setattr__(self, "_rest", tuple(rest))

    def holds(self, value: Any) -> bool:
        """Whether ``value`` passes the test (a comparison that cannot be made fails)."""
        operator, operand = self.operator, self.operand
        if operator in ("==", "!="):
            return _equal(value, operand) == (operator == "==")
        if operator in ("in", "not in"):
            return self._contains(value) == (operator == "in")
        if isinstance(value, bool | np.bool_) != isinstance(operand, bool | np.bool_):
            return False  # True is not 1 (see `same_value`), nor above 0
        try:
            return _ORDERING[operator](value, operand)
        except (TypeError, ValueError):  # "adam" < 3, or an array: no order to test
            return False

    def describe(self, parent: str) -> str:
        """The test as text, such as ``layers >= 3`` (a long operand cut short)."""
        return f"{parent} {self.operator} {shown(self.operand)}"

    def _contains(self, value: Any) -> bool:
        key = _key(value)
        if key is not None and key in self._keys:
            return True
        rest = self.operand if key is None else self._rest  # unhashable: compare with all
        return any(_equal(value, option) for option in rest)


def _equal(a: Any, b: Any) -> bool:
    """`same_value`, except that a list and a tuple of equal items are equal: a file, and
    the store, keep only lists."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return same_value(a, b)


def _key(value: Any) -> Hashable | None:
    """A hashable key that two values share when `_equal` holds between them, or None for
    a value that has none (unhashable)."""
    if isinstance(value, list | tuple):
        keys = tuple(_key(item) for item in value)
        return None if None in keys else ("sequence", keys)
    try:
        hash(value)
    except TypeError:
        return None
    return (isinstance(value, bool | np.bool_), value)  # True and 1 differ, 1 and 1.0 not


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a condition: the tests that a parent's value must all pass."""

    parent: str
    clauses: tuple[Clause, ...]

    def holds(self, value: Any) -> bool:
        """Whether ``value``, the parent's, passes every test."""
        return all(clause.holds(value) for clause in self.clauses)

    def describe(self) -> str:
        """The entry as text, such as ``layers >= 2 and layers < 5``."""
        return " and ".join(clause.describe(self.parent) for clause in self.clauses)


def normalise_when(when: Any) -> dict[str, Any] | None:
    """Check the form of a ``when`` and return it as a plain dict (lists for tuples), or
    None when it is None or empty (always active).

    Raises:
        SpaceError: ``when`` is not a mapping of names to forms, or a form is bad (an
            unknown operator, an empty list, ``in`` without a list); the message names the
            parameter the entry is about.
    """
    if when is None:
        return None
    if not isinstance(when, Mapping):
        raise SpaceError(
            f"when must be a mapping of parameter name to condition, got {shown(when)}"
        )
    normal: dict[str, Any] = {}
    for parent, form in when.items():
        if not isinstance(parent, str) or not parent:
            raise SpaceError(
                f"when: parameter names must be non-empty strings, got {shown(parent)}"
            )
        normal[parent] = _normalise_form(parent, form)
    return normal or None


def _normalise_form(parent: str, form: Any) -> Any:
    where = f"the condition on {parent!r}"
    if isinstance(form, list | tuple):
        if not form:
            raise SpaceError(f"{where} is an empty list, which no value is one of")
        _check_finite(where, form)
        return list(form)
    if not isinstance(form, Mapping):
        _check_finite(where, [form])
        return form
    if not form:
        raise SpaceError(f"{where} is an empty dict; give operators such as {{'>=': 3}}")
    normal: dict[str, Any] = {}
    for operator, operand in form.items():
        if operator not in OPERATORS:
            known = ", ".join(repr(op) for op in OPERATORS)
            raise SpaceError(
                f"{where}: unknown operator {shown(operator)}; expected one of {known}"
            )
        if operator in ("in", "not in"):
            if isinstance(operand, str | bytes) or not isinstance(operand, list | tuple):
                raise SpaceError(f"{where}: {operator!r} needs a list, got {shown(operand)}")
            operand = list(operand)
        _check_finite(where, operand if operator in ("in", "not in") else [operand])
        normal[operator] = operand
    return normal


def _check_finite(where: str, operands: list[Any] | tuple[Any, ...]) -> None:
    """Refuse a NaN or infinite operand: NaN equals nothing and is never above or below
    anything, an infinite bound always or never holds, and a store (JSON) keeps neither."""
    for operand in operands:
        if isinstance(operand, numbers.Real) and not isinstance(operand, bool):
            try:
                finite = math.isfinite(operand)
            except OverflowError:  # an int beyond any float: finite
                finite = True
            if not finite:
                raise SpaceError(
                    f"{where}: {operand!r} is not a finite number; a condition compares "
                    "with finite numbers (NaN equals nothing)"
                )


def entries(when: Mapping[str, Any] | None) -> tuple[Entry, ...]:
    """The entries of a normalised ``when`` (see `normalise_when`)."""
    found: list[Entry] = []
    for parent, form in (when or {}).items():
        clauses: tuple[Clause, ...]
        if isinstance(form, list):
            clauses = (Clause("in", form),)
        elif isinstance(form, Mapping):
            clauses = tuple(Clause(op, operand) for op, operand in form.items())
        else:
            clauses = (Clause("==", form),)
        found.append(Entry(parent, clauses))
    return tuple(found)


def describe_when(when: Mapping[str, Any] | None) -> str:
    """A ``when`` as text, such as ``optimizer == 'sgd' and layers >= 2``."""
    return " and ".join(entry.describe() for entry in entries(when)) or "always"


class Conditions:
    """The conditions of a space's parameters, checked together and ready to evaluate.

    Args:
        names: every parameter name, in the space's order.
        domains: the tunable parameters' domains, each with its ``when``.
        constants: the constant parameters' values (always active).

    Raises:
        SpaceError: a condition names an unknown parameter or its own parameter, the
            conditions form a cycle, an entry can never hold for its parent's domain, or
            the entries of a condition can never hold together (`unreachable`); the
            message names the parameter and the condition.
    """

    def __init__(
        self, names: tuple[str, ...], domains: Mapping[str, Domain], constants: Mapping[str, Any]
    ) -> None:
        self.entries: dict[str, tuple[Entry, ...]] = {
            name: entries(domain.when) for name, domain in domains.items() if domain.when
        }
        """The entries of each conditional parameter, in space order."""
        self._constants = dict(constants)
        for name, found in self.entries.items():
            for entry in found:
                _check_entry(name, entry, domains, constants)
        self.order: tuple[str, ...] = _dependency_order(names, self.entries)
        """Every parameter name, each after the parameters its condition names."""
        never = unreachable(self.order, self.entries, domains, constants, _joint_witnesses)
        if never is not None:
            raise SpaceError(
                f"parameter {never!r} can never be active: its condition "
                f"{_cut(describe_when(domains[never].when))} never holds as a whole, since "
                "the conditions of the parameters it names rule out those values together"
            )

    @property
    def conditional(self) -> tuple[str, ...]:
        """The names of the parameters with a condition, in space order."""
        return tuple(self.entries)

    def active_names(self, values: Mapping[str, Any]) -> set[str]:
        """The names active under ``values``: every parameter whose condition holds, its
        parents active and given in ``values`` (constants count as given)."""
        active: set[str] = set()
        for name in self.order:
            if self.holds(name, values, active):
                active.add(name)
        return active

    def active_rows(self, columns: Mapping[str, list[Any]], n: int) -> dict[str, list[bool]]:
        """For each conditional parameter, whether it is active in each of ``n`` configs
        whose tunable values are ``columns`` (one list per parameter): `active_names` for
        a whole batch, each test run once per distinct value."""
        masks: dict[str, NDArray[np.bool_]] = {}
        for name in self.order:
            found = self.entries.get(name)
            if found is None:
                continue
            mask = np.ones(n, dtype=bool)
            for entry in found:
                if entry.parent in columns:  # an entry on a constant holds (checked)
                    mask &= _column_holds(entry, columns[entry.parent])
                    if entry.parent in masks:
                        mask &= masks[entry.parent]
            masks[name] = mask
        return {name: mask.tolist() for name, mask in masks.items()}

    def holds(self, name: str, values: Mapping[str, Any], active: set[str]) -> bool:
        """Whether the condition of ``name`` holds under ``values``, ``active`` holding
        the names found active so far (its parents at least)."""
        found = self.entries.get(name)
        return found is None or all(self._holds(entry, values, active) for entry in found)

    def why_inactive(self, name: str, values: Mapping[str, Any], active: set[str]) -> str:
        """Why ``name`` is inactive under ``values`` (``active``: the names active there),
        such as ``it needs optimizer == 'sgd', got 'adam'``."""
        for entry in self.entries.get(name, ()):
            if self._holds(entry, values, active):
                continue
            parent = entry.parent
            if parent not in active:
                return f"it needs {entry.describe()}, and {parent!r} is inactive"
            if parent not in values and parent not in self._constants:
                return f"it needs {entry.describe()}, and {parent!r} is not given"
            return f"it needs {entry.describe()}, got {shown(self._value(parent, values))}"
        return "its condition holds"  # not reached for an inactive parameter

    def _holds(self, entry: Entry, values: Mapping[str, Any], active: set[str]) -> bool:
        parent = entry.parent
        if parent not in active:
            return False
        if parent not in values and parent not in self._constants:
            return False
        return entry.holds(self._value(parent, values))

    def _value(self, parent: str, values: Mapping[str, Any]) -> Any:
        return values[parent] if parent in values else self._constants[parent]


def _column_holds(entry: Entry, values: list[Any]) -> NDArray[np.bool_]:
    """``entry.holds`` of each value, computed once per distinct value."""
    seen: dict[tuple[type, Any], bool] = {}
    result = np.empty(len(values), dtype=bool)
    for index, value in enumerate(values):
        try:
            key = (type(value), value)  # the type keeps True, 1 and 1.0 apart
            found = seen.get(key)
            if found is None:
                found = seen[key] = entry.holds(value)
        except TypeError:  # an unhashable value: no cache
            found = entry.holds(value)
        result[index] = found
    return result


def _check_entry(
    name: str, entry: Entry, domains: Mapping[str, Domain], constants: Mapping[str, Any]
) -> None:
    """Refuse an entry on an unknown parameter, on its own parameter, or that can never
    hold for its parent's domain."""
    parent = entry.parent
    problem = None
    if parent == name:
        problem = f"names {name!r} itself"
    elif parent in constants:
        if not entry.holds(constants[parent]):
            problem = f"can never hold: {parent!r} is the constant {shown(constants[parent])}"
    elif parent not in domains:
        known = _cut(", ".join(repr(other) for other in (*domains, *constants)))
        problem = f"names an unknown parameter {parent!r}; the space has {known}"
    elif not any(entry.holds(value) for value in _witnesses(domains[parent], entry)):
        domain = domains[parent]
        problem = f"can never hold: {parent!r} {_takes(domain)}{_file_hint(entry, domain)}"
    if problem is not None:  # described only now: an operand may hold a million values
        raise SpaceError(f"parameter {name!r}: the condition {entry.describe()} {problem}")


def _file_hint(entry: Entry, domain: Domain) -> str:
    """A hint for a YAML file whose unquoted ``yes`` or ``2020-01-01`` was read as a
    boolean or a date where the choice holds text."""
    operands = [o for clause in entry.clauses for o in _listed(clause.operand)]
    unquoted = any(isinstance(o, bool | datetime.date) for o in operands)
    if not unquoted or not isinstance(domain, Choice):
        return ""
    if not any(isinstance(value, str) for value in domain.values):
        return ""
    return (
        " (YAML reads yes, no, on, off, true and false as booleans, and 2020-01-01 as a "
        "date: quote such a value, as 'yes', to compare with text)"
    )


def _cut(text: str) -> str:
    """``text`` cut to `SHOWN` characters, for a message."""
    return text if len(text) <= SHOWN else f"{text[: SHOWN - 3]}..."


def _listed(operand: Any) -> list[Any]:
    return operand if isinstance(operand, list) else [operand]


def _witnesses(domain: Domain, entry: Entry) -> list[Any]:
    """Values of ``domain`` among which one passes ``entry`` if any value of it does.

    The tests change their outcome only at the numbers they name, so it is enough to try
    those numbers and one value between each two of them (and the ends of the range).
    """
    if isinstance(domain, Choice):
        return list(domain.values)
    named = named_numbers(entry)
    low, high = domain.low, domain.high
    if isinstance(domain, Int):
        points = {low, high, low + 1, *(math.floor(n) + 1 for n in named)}
        points |= {int(n) for n in named if n.is_integer()}
        return sorted(p for p in points if low <= p <= high)
    inside = sorted({low, high, *(n for n in named if low <= n <= high)})
    return inside + [(a + b) / 2 for a, b in itertools.pairwise(inside)]


def _joint_witnesses(domain: Domain, tests: list[Entry]) -> list[Any]:
    """`_witnesses` for several entries on one parameter at once: a value of each class of
    values that they all treat alike."""
    return _witnesses(domain, Entry("", tuple(c for entry in tests for c in entry.clauses)))


def named_numbers(entry: Entry) -> list[float]:
    """The finite numbers ``entry``'s tests name."""
    operands = [operand for clause in entry.clauses for operand in _listed(clause.operand)]
    found = []
    for operand in operands:
        if isinstance(operand, numbers.Real) and not isinstance(operand, bool):
            try:
                number = float(operand)
            except OverflowError:  # an int beyond any float: outside every range
                continue
            if math.isfinite(number):
                found.append(number)
    return found


def _takes(domain: Domain) -> str:
    if isinstance(domain, Choice):
        return f"takes one of {shown(list(domain.values))}"
    kind = "an integer" if isinstance(domain, Int) else "a number"
    return f"is {kind} in [{domain.low!r}, {domain.high!r}]"


def _dependency_order(
    names: tuple[str, ...], found: Mapping[str, tuple[Entry, ...]]
) -> tuple[str, ...]:
    """``names`` with each parameter after the ones its condition names, otherwise in the
    given order.

    Raises:
        SpaceError: the conditions form a cycle; the message shows it.
    """
    order: list[str] = []
    done: set[str] = set()
    for root in names:  # a depth-first walk with a stack: a chain may be thousands long
        if root in done:
            continue
        path, on_path = [root], {root}
        parents = [iter([entry.parent for entry in found.get(root, ())])]
        while path:
            parent = next(parents[-1], None)
            if parent is None:  # every parent placed: place this one
                done.add(path[-1])
                on_path.discard(path[-1])
                order.append(path.pop())
                parents.pop()
            elif parent in on_path:
                cycle = [*path[path.index(parent) :], parent]
                steps = " -> ".join(repr(step) for step in cycle)
                raise SpaceError(
                    f"the conditions form a cycle: {_cut(steps)} "
                    "(each is active depending on the next)"
                )
            elif parent not in done:
                path.append(parent)
                on_path.add(parent)
                parents.append(iter([entry.parent for entry in found.get(parent, ())]))
    return tuple(order)
