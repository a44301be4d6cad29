"""The domains of tunable parameters: `Float`, `Int` and `Choice`.

Each domain maps a column of unit-cube coordinates to values (``_decode``), a value back to
a coordinate (``_encode``) and checks a value (``_validate``); `paratune.space.Space` puts
one domain on each coordinate. Each may carry a condition (``when``, see
`paratune._conditions`): the parameter is then active only when it holds.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

from .errors import SpaceError

_MAX_INT = 2**40
"""Largest Int bound in size (about 1.1e12). Decoding works in float64; up to here every
integer owns a cell of the unit interval wide enough for rounding to never skip it, in log
scale too."""


WHEN = (
    "a condition maps parameter names to forms, all of which must hold: a value (equal to "
    "it), a list (one of its items) or a dict of operators, such as {'>=': 3} or "
    "{'not in': ['sgd']}, with '==', '!=', '<', '<=', '>', '>=', 'in', 'not in'"
)
"""What a ``when`` may hold, for docstrings and messages."""


@dataclass(frozen=True, slots=True, repr=False)
class Float:
    """A real parameter in the closed range ``[low, high]``.

    Attributes:
        low: the smallest value.
        high: the largest value; above ``low``.
        log: spread values evenly in log space (learning rates, regularisation strengths);
            needs ``low > 0``.
        when: the condition under which the parameter is active (`WHEN`); None: always.

    Raises:
        SpaceError: a bound is not a finite number, ``low >= high``, ``log`` with
            ``low <= 0``, or ``when`` is badly formed.
    """

    low: float
    high: float
    log: bool = False
    when: Mapping[str, Any] | None = field(default=None, kw_only=True, hash=False)

    def __post_init__(self) -> None:
        low = _real(self.low, "low")
        high = _real(self.high, "high")
        log = _flag(self.log)
        _check_range(low, high, log, "")
        if not math.isfinite(high - low):
            raise SpaceError(f"the range [{low!r}, {high!r}] is too wide for a float64")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "log", log)
        object.__setattr__(self, "when", _when(self.when))

    def __repr__(self) -> str:
        return f"Float(low={self.low!r}, high={self.high!r}, log={self.log!r}{_shown(self)})"

    def _values(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.log:
            low, high = math.log(self.low), math.log(self.high)
            x = np.exp(low + u * (high - low))
        else:
            x = self.low + u * (self.high - self.low)
        # Rounding (in exp especially) may step just outside the range, or fall short of an
        # end: keep inside (validate must pass) and make both ends reachable exactly.
        x = np.clip(x, self.low, self.high)
        x[u <= 0.0] = self.low
        x[u >= 1.0] = self.high
        return x

    def _decode(self, u: NDArray[np.float64]) -> list[Any]:
        return self._values(u).tolist()  # type: ignore[no-any-return]

    def _encode(self, value: Any) -> float:
        if self.log:
            low, high = math.log(self.low), math.log(self.high)
            u = (math.log(value) - low) / (high - low)
        else:
            u = (value - self.low) / (self.high - self.low)
        return _preimage(self._values, value, u)

    def _validate(self, value: Any) -> float:
        number = math.nan
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:  # an int beyond any float is outside the range anyway
                pass
        if not self.low <= number <= self.high:  # False for nan
            raise SpaceError(f"expected a number in {_interval(self)}, got {value!r}")
        return number


@dataclass(frozen=True, slots=True, repr=False)
class Int:
    """An integer parameter in the closed range ``[low, high]``, both ends included.

    Attributes:
        low: the smallest value.
        high: the largest value; above ``low`` (a single value is a constant, not an Int).
        log: spread values evenly in log space (layer widths, batch sizes); needs ``low > 0``.
        when: the condition under which the parameter is active (`WHEN`); None: always.

    Raises:
        SpaceError: a bound is not an integer (integral floats such as ``2.0`` are accepted)
            or is outside [-2**40, 2**40], ``low >= high``, ``log`` with ``low <= 0``, or
            ``when`` is badly formed.
    """

    low: int
    high: int
    log: bool = False
    when: Mapping[str, Any] | None = field(default=None, kw_only=True, hash=False)

    def __post_init__(self) -> None:
        low = _integer(self.low, "low")
        high = _integer(self.high, "high")
        log = _flag(self.log)
        _check_range(low, high, log, " (a single value is a constant, not an Int)")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "log", log)
        object.__setattr__(self, "when", _when(self.when))

    def __repr__(self) -> str:
        return f"Int(low={self.low!r}, high={self.high!r}, log={self.log!r}{_shown(self)})"

    def _values(self, u: NDArray[np.float64]) -> NDArray[np.int64]:
        # Each integer owns an equal cell of [0, 1] (of log space with log=True): the cell of
        # v is [v, v + 1) mapped back, so the top value is as likely as the others.
        if self.log:
            low, top = math.log(self.low), math.log(self.high + 1)
            x = np.floor(np.exp(low + u * (top - low)))
        else:
            x = np.floor(self.low + u * (self.high - self.low + 1))
        return np.clip(x, self.low, self.high).astype(np.int64)

    def _decode(self, u: NDArray[np.float64]) -> list[Any]:
        return self._values(u).tolist()  # type: ignore[no-any-return]

    def _encode(self, value: Any) -> float:
        # The centre of the value's cell: the point farthest from its neighbours.
        if self.log:
            low, top = math.log(self.low), math.log(self.high + 1)
            centre = (math.log(value) + math.log(value + 1)) / 2
            u = (centre - low) / (top - low)
        else:
            u = (value - self.low + 0.5) / (self.high - self.low + 1)
        return _preimage(self._values, value, u)

    def _validate(self, value: Any) -> int:
        integer = _as_int(value)
        if integer is None or not self.low <= integer <= self.high:
            raise SpaceError(f"expected an integer in {_interval(self)}, got {value!r}")
        return integer


MAX_CHOICES = 100_000
"""The most values a `Choice` may hold: each config is checked against its values, and a
choice of millions is a range (`Int`) in disguise that no searcher could cover."""


@dataclass(frozen=True, slots=True, init=False, repr=False)
class Choice:
    """A parameter that takes one of a fixed set of values.

    The values may be any objects (strings, numbers, None, tuples, ...); configs hold the
    objects themselves. ``True`` and ``1`` count as different values, ``1`` and ``1.0`` as
    the same one.

    Attributes:
        values: the options, in the order given.
        when: the condition under which the parameter is active (`WHEN`); None: always.
        branches: parameters that exist only under some options, as
            ``{option: {name: domain, ...}}``; a `paratune.space.Space` makes each a
            parameter of its own, active when this choice is that option (and its own
            ``when`` holds). None: no branches.

    Raises:
        SpaceError: ``values`` is not a list or tuple (a string is refused), is empty,
            holds the same value twice, or holds more than `MAX_CHOICES` values; ``when``
            is badly formed; ``branches`` is not a mapping of options to mappings, or
            names an option that is not among ``values``.
    """

    values: tuple[Any, ...]
    when: Mapping[str, Any] | None = field(default=None, hash=False)
    branches: Mapping[Any, Mapping[str, Any]] | None = field(default=None, hash=False)

    def __init__(
        self,
        values: Sequence[Any],
        *,
        when: Mapping[str, Any] | None = None,
        branches: Mapping[Any, Mapping[str, Any]] | None = None,
    ) -> None:
        """Build a choice between ``values``.

        Args:
            values: the options, as a list, tuple or other sequence.
            when: the condition under which the parameter is active.
            branches: the parameters of each option that has some.
        """
        if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
            raise SpaceError(f"choice values must be a list or tuple, got {values!r}")
        if len(values) > MAX_CHOICES:
            raise SpaceError(
                f"a choice may hold at most {MAX_CHOICES:,} values, got {len(values):,}: "
                "for a range of numbers use Int or Float"
            )
        options = tuple(values)
        if not options:
            raise SpaceError("choice values must not be empty")
        _check_distinct(options)
        object.__setattr__(self, "values", options)
        object.__setattr__(self, "when", _when(when))
        object.__setattr__(self, "branches", self._check_branches(branches))

    def option(self, key: Any) -> Any:
        """The value a branch key stands for: the equal value, or else the one value whose
        text is ``key`` (the keys of a JSON object are always strings).

        Raises:
            SpaceError: no value fits.
        """
        for value in self.values:
            if same_value(value, key):
                return value
        texts = [value for value in self.values if isinstance(key, str) and str(value) == key]
        if len(texts) == 1:
            return texts[0]
        raise SpaceError(f"branch {key!r} is not one of the values {list(self.values)!r}")

    def _check_branches(
        self, branches: Mapping[Any, Mapping[str, Any]] | None
    ) -> dict[Any, dict[str, Any]] | None:
        if branches is None:
            return None
        if not isinstance(branches, Mapping):
            raise SpaceError(f"branches must map options to parameters, got {branches!r}")
        checked: dict[Any, dict[str, Any]] = {}
        for key, params in branches.items():
            self.option(key)
            if not isinstance(params, Mapping):
                raise SpaceError(
                    f"branch {key!r} must map parameter names to domains, got {params!r}"
                )
            checked[key] = dict(params)
        return checked or None

    def __repr__(self) -> str:
        branches = "" if self.branches is None else f", branches={self.branches!r}"
        return f"Choice(values={self.values!r}{_shown(self)}{branches})"

    def _decode(self, u: NDArray[np.float64]) -> list[Any]:
        k = len(self.values)
        # u is in [0, 1], so truncation is floor; u == 1 would index one past the end.
        index = np.minimum((u * k).astype(np.intp), k - 1)
        values = self.values
        return [values[i] for i in index.tolist()]

    def _encode(self, value: Any) -> float:
        return (self._index(value) + 0.5) / len(self.values)

    def _validate(self, value: Any) -> Any:
        return self.values[self._index(value)]

    def _index(self, value: Any) -> int:
        for i, option in enumerate(self.values):
            if same_value(option, value):
                return i
        raise SpaceError(f"expected one of {list(self.values)!r}, got {value!r}")


Domain: TypeAlias = Float | Int | Choice
"""The domain of a tunable parameter."""


def _when(when: Mapping[str, Any] | None) -> dict[str, Any] | None:
    # Here, not at the top: the conditions module reads this one's domains.
    from ._conditions import normalise_when

    return normalise_when(when)


def _shown(domain: Float | Int | Choice) -> str:
    """The ``when`` part of a repr: nothing for an unconditional domain."""
    return "" if domain.when is None else f", when={domain.when!r}"


def _real(value: Any, what: str) -> float:
    # bool is an int subclass, but True as a bound is always a mistake.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpaceError(f"{what} must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise SpaceError(f"{what} must be finite, got {value!r}")
    return number


def _integer(value: Any, what: str) -> int:
    _real(value, what)
    integer = _as_int(value)
    if integer is None:
        raise SpaceError(f"{what} must be an integer, got {value!r}")
    if abs(integer) > _MAX_INT:
        raise SpaceError(f"{what} must be within -2**40 and 2**40, got {value!r}")
    return integer


def _as_int(value: Any) -> int | None:
    """``value`` as an int when it is an integer or an integral float, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        if number.is_integer():
            return int(number)
    return None


def _flag(value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise SpaceError(f"log must be true or false, got {value!r}")
    return bool(value)


def _check_range(low: float, high: float, log: bool, hint: str) -> None:
    if low >= high:
        raise SpaceError(f"low must be below high, got low={low!r} and high={high!r}{hint}")
    if log and low <= 0:
        raise SpaceError(f"a log range needs low > 0, got low={low!r}")


def _interval(domain: Float | Int) -> str:
    scale = ", log scale" if domain.log else ""
    return f"[{domain.low!r}, {domain.high!r}]{scale}"


SHOWN = 200
"""The most characters of a value that a message shows."""


def shown(value: Any) -> str:
    """``repr(value)`` for a message, cut to `SHOWN` characters: a condition may name a
    list of a million values, or an int too long to print at all."""
    try:
        text = repr(value)
    except Exception:  # an int of more than 4,300 digits, or a repr that raises
        return f"<{type(value).__name__} that cannot be shown>"
    return text if len(text) <= SHOWN else f"{text[: SHOWN - 3]}..."


def same_value(a: Any, b: Any) -> bool:
    """Whether two parameter values are the same: equal, and not a bool against a number."""
    if a is b:
        return True
    if isinstance(a, bool | np.bool_) != isinstance(b, bool | np.bool_):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. comparing numpy arrays
        return False


def _check_distinct(values: tuple[Any, ...]) -> None:
    try:
        # Fast path; the flag keeps True and 1 apart, as _same_value does.
        keys = [(isinstance(v, bool | np.bool_), v) for v in values]
        if len(set(keys)) == len(keys):
            return
    except TypeError:  # unhashable values: compare pairwise
        pass
    for j, value in enumerate(values):
        for earlier in values[:j]:
            if same_value(earlier, value):
                raise SpaceError(f"choice values must be distinct, got {value!r} twice")


def _preimage(
    values: Callable[[NDArray[np.float64]], NDArray[Any]], value: Any, guess: float
) -> float:
    """A point of [0, 1] near ``guess`` that ``values`` maps exactly to ``value``.

    ``guess`` comes from the inverse formula and is nearly always right; when rounding makes
    it miss, bisect (the map is non-decreasing). If no point maps exactly to ``value``
    (a float between two reachable ones), return the point that lands closest.
    """
    guess = min(max(guess, 0.0), 1.0)
    if values(np.array([guess]))[0] == value:
        return guess
    low, high = 0.0, 1.0
    for _ in range(80):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        found = values(np.array([middle]))[0]
        if found == value:
            return middle
        if found < value:
            low = middle
        else:
            high = middle
    candidates = np.array([guess, low, high])
    misses = np.abs(values(candidates).astype(np.float64) - float(value))
    return float(candidates[np.argmin(misses)])
