"""Whether a conditional parameter can be active at all.

Each entry of a condition is checked on its own when a space is built; entries that may
each hold can still never hold together: ``c`` needs ``a == 2`` and ``b == 1`` while ``b``
is active only when ``a == 1``. `unreachable` finds such a parameter by searching the values
of the parameters its condition depends on, one representative per class of values that
every test involved treats alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._domains import Choice, Domain

if TYPE_CHECKING:
    from ._conditions import Entry

_BUDGET = 20_000
"""Values tried per parameter at most; past it, the parameter is taken to be reachable (a
check that could take minutes would cost more than the mistake it finds)."""

_INACTIVE = object()  # a parameter's "value" when its own condition fails
_Witnesses = Callable[[Domain, "list[Entry]"], list[Any]]


def unreachable(
    order: Sequence[str],
    entries: Mapping[str, tuple[Entry, ...]],
    domains: Mapping[str, Domain],
    constants: Mapping[str, Any],
    witnesses: _Witnesses,
) -> str | None:
    """The first parameter (in ``order``, parents first) that no values make active, or
    None. Every entry is assumed to hold for some value of its parent (checked before).

    ``witnesses(domain, tests)`` gives values of ``domain`` among which there is one of
    each class of values that ``tests`` (entries on it) treat alike.
    """
    position = {name: index for index, name in enumerate(order)}
    for name in order:
        found = entries.get(name, ())
        if len(found) < 2:
            continue  # one entry, on a parent that can be active with any value
        closures = [_ancestors(entry.parent, entries) for entry in found]
        if sum(map(len, closures)) == len(set().union(*closures)):
            continue  # parents that depend on nothing in common: each chosen freely
        variables = sorted(set().union(*closures), key=position.__getitem__)
        if not _can_be_active(name, variables, entries, domains, constants, witnesses):
            return name
    return None


def _ancestors(name: str, entries: Mapping[str, tuple[Entry, ...]]) -> set[str]:
    """``name`` and every parameter its condition depends on, however indirectly."""
    seen = {name}
    stack = [name]
    while stack:
        for entry in entries.get(stack.pop(), ()):
            if entry.parent not in seen:
                seen.add(entry.parent)
                stack.append(entry.parent)
    return seen


def _can_be_active(
    name: str,
    variables: list[str],
    entries: Mapping[str, tuple[Entry, ...]],
    domains: Mapping[str, Domain],
    constants: Mapping[str, Any],
    witnesses: _Witnesses,
) -> bool:
    """Whether some values of ``variables`` (parents first) make ``name`` active: a
    depth-first search with a stack, a parameter whose condition fails taking no value."""
    tests = [entry for other in (*variables, name) for entry in entries.get(other, ())]
    choices = {
        variable: _representatives(variable, tests, domains, constants, witnesses)
        for variable in variables
    }
    target = entries[name]
    assigned: dict[str, Any] = {}  # the active variables and their values

    def options(variable: str) -> Iterator[Any]:
        own = entries.get(variable, ())
        if all(e.parent in assigned and e.holds(assigned[e.parent]) for e in own):
            return iter(choices[variable])
        return iter([_INACTIVE])

    def still_possible(variable: str) -> bool:
        return all(
            entry.parent != variable or (variable in assigned and entry.holds(assigned[variable]))
            for entry in target
        )

    stack = [options(variables[0])]
    for _ in range(_BUDGET):
        if not stack:
            return False
        variable = variables[len(stack) - 1]
        assigned.pop(variable, None)
        value = next(stack[-1], None)
        if value is None:
            stack.pop()
            continue
        if value is not _INACTIVE:
            assigned[variable] = value[0]
        if not still_possible(variable):
            continue
        if len(stack) == len(variables):
            return True
        stack.append(options(variables[len(stack)]))
    return True


def _representatives(
    variable: str,
    tests: list[Entry],
    domains: Mapping[str, Domain],
    constants: Mapping[str, Any],
    witnesses: _Witnesses,
) -> list[tuple[Any]]:
    """One value (in a 1-tuple, so that None is a value) of each class of ``variable``'s
    values that ``tests`` treat alike; a constant's one value."""
    if variable in constants:
        return [(constants[variable],)]
    domain = domains[variable]
    on_it = [entry for entry in tests if entry.parent == variable]
    values = list(domain.values) if isinstance(domain, Choice) else witnesses(domain, on_it)
    kept: dict[tuple[bool, ...], tuple[Any]] = {}
    for value in values:
        kept.setdefault(tuple(entry.holds(value) for entry in on_it), (value,))
    return list(kept.values())
