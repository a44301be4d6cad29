"""Search spaces: the parameters to tune, their domains, and the map to and from the unit cube.

Every searcher works in the unit cube ``[0, 1]**dimension``: random sampling is decoding
uniform points, quasi-random sampling is decoding Sobol' or Latin hypercube points. Each
tunable parameter owns one coordinate; constants own none and appear in every config.
"""

from __future__ import annotations

import itertools
import math
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._files import load_mapping
from .errors import SpaceError
from .trial import Config

if TYPE_CHECKING:
    from .grid import ParameterGrid

_MAX_INT = 2**40
"""Largest Int bound in size (about 1.1e12). Decoding works in float64; up to here every
integer owns a cell of the unit interval wide enough for rounding to never skip it, in log
scale too."""

_DICT_FORMS = (
    "a dict must describe a domain in one of three forms: "
    "{'type': 'float', 'low': ..., 'high': ..., 'log': false}, "
    "{'type': 'int', 'low': ..., 'high': ..., 'log': false} or "
    "{'type': 'choice', 'values': [...]}"
)


# ----------------------------------------------------------------------------- domains


@dataclass(frozen=True, slots=True)
class Float:
    """A real parameter in the closed range ``[low, high]``.

    Attributes:
        low: the smallest value.
        high: the largest value; above ``low``.
        log: spread values evenly in log space (learning rates, regularisation strengths);
            needs ``low > 0``.

    Raises:
        SpaceError: a bound is not a finite number, ``low >= high``, or ``log`` with
            ``low <= 0``.
    """

    low: float
    high: float
    log: bool = False

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


@dataclass(frozen=True, slots=True)
class Int:
    """An integer parameter in the closed range ``[low, high]``, both ends included.

    Attributes:
        low: the smallest value.
        high: the largest value; above ``low`` (a single value is a constant, not an Int).
        log: spread values evenly in log space (layer widths, batch sizes); needs ``low > 0``.

    Raises:
        SpaceError: a bound is not an integer (integral floats such as ``2.0`` are accepted)
            or is outside [-2**40, 2**40], ``low >= high``, or ``log`` with ``low <= 0``.
    """

    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        low = _integer(self.low, "low")
        high = _integer(self.high, "high")
        log = _flag(self.log)
        _check_range(low, high, log, " (a single value is a constant, not an Int)")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "log", log)

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


@dataclass(frozen=True, slots=True, init=False)
class Choice:
    """A parameter that takes one of a fixed set of values.

    The values may be any objects (strings, numbers, None, tuples, ...); configs hold the
    objects themselves. ``True`` and ``1`` count as different values, ``1`` and ``1.0`` as
    the same one.

    Attributes:
        values: the options, in the order given.

    Raises:
        SpaceError: ``values`` is not a list or tuple (a string is refused), is empty,
            holds the same value twice, or holds more than `MAX_CHOICES` values.
    """

    values: tuple[Any, ...]

    def __init__(self, values: Sequence[Any]) -> None:
        """Build a choice between ``values``.

        Args:
            values: the options, as a list, tuple or other sequence.
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
            if _same_value(option, value):
                return i
        raise SpaceError(f"expected one of {list(self.values)!r}, got {value!r}")


Domain: TypeAlias = Float | Int | Choice
"""The domain of a tunable parameter."""


# ----------------------------------------------------------------------------- space


class Space:
    """An immutable search space: named parameters, each a domain to tune or a constant.

    Each value of ``params`` is one of:

    * a `Float`, `Int` or `Choice`;
    * a list or tuple: a `Choice` between its items;
    * a dict with a ``"type"`` key, the form used in files:
      ``{"type": "float" | "int", "low": ..., "high": ..., "log": true}`` (``log`` optional)
      or ``{"type": "choice", "values": [...]}``;
    * anything else: a constant, passed unchanged to every config.

    Parameters keep the order given; configs list them in that order.

    >>> space = Space({"lr": Float(1e-4, 1e-1, log=True), "depth": Int(1, 8), "opt": "adam"})
    >>> space.tunable, space.constants
    (('lr', 'depth'), {'opt': 'adam'})

    Raises:
        SpaceError: the space is empty, a name is not a non-empty string, or a value is not
            a valid domain; the message names the parameter.
    """

    __slots__ = ("_constants", "_domains", "_names", "_params", "_tunable")

    _params: dict[str, Any]
    _domains: dict[str, Domain]
    _constants: dict[str, Any]
    _names: tuple[str, ...]
    _tunable: tuple[str, ...]

    def __init__(self, params: Mapping[str, Any]) -> None:
        """Build a space from ``params``, a mapping of parameter name to domain or constant."""
        if not isinstance(params, Mapping):
            raise SpaceError(
                f"a space must be a mapping of parameter name to domain, got {params!r}"
            )
        if not params:
            raise SpaceError("a space needs at least one parameter, got an empty mapping")
        values: dict[str, Any] = {}
        domains: dict[str, Domain] = {}
        constants: dict[str, Any] = {}
        for name, value in params.items():
            if not isinstance(name, str) or not name:
                raise SpaceError(f"parameter names must be non-empty strings, got {name!r}")
            try:
                domain = _to_domain(value)
            except (TypeError, ValueError) as exc:
                raise SpaceError(f"parameter {name!r}: {exc}") from exc
            if domain is None:
                values[name] = constants[name] = value
            else:
                values[name] = domains[name] = domain
        setattr_ = object.__setattr__
        setattr_(self, "_params", values)
        setattr_(self, "_domains", domains)
        setattr_(self, "_constants", constants)
        setattr_(self, "_names", tuple(values))
        setattr_(self, "_tunable", tuple(domains))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Space:
        """Read a space from a JSON or YAML file whose top level maps names to domains.

        Args:
            path: a ``.json``, ``.yaml`` or ``.yml`` file, for example::

                lr: {type: float, low: 1e-4, high: 0.1, log: true}
                depth: {type: int, low: 2, high: 8}
                optimizer: [adam, sgd]
                epochs: 10

        Raises:
            SpecError: the file is missing or does not parse.
            SpaceError: the space is invalid; the message names the file and the parameter.
        """
        params = load_mapping(path)
        try:
            return cls(params)
        except SpaceError as exc:
            raise SpaceError(f"{os.fspath(path)}: {exc}") from exc

    # -- description

    @property
    def names(self) -> tuple[str, ...]:
        """Every parameter name, tunable or constant, in the order given."""
        return self._names

    @property
    def tunable(self) -> tuple[str, ...]:
        """The names of the parameters with a domain, in the order given."""
        return self._tunable

    @property
    def constants(self) -> dict[str, Any]:
        """The constant parameters and their values (a copy)."""
        return dict(self._constants)

    @property
    def domains(self) -> dict[str, Domain]:
        """The tunable parameters and their domains (a copy)."""
        return dict(self._domains)

    @property
    def dimension(self) -> int:
        """The number of tunable parameters: the dimension of the unit cube."""
        return len(self._tunable)

    # -- sampling and the unit cube

    def sample(self, rng: np.random.Generator) -> Config:
        """Draw one config uniformly at random (in log space for log domains).

        Draws the same numbers from ``rng`` as ``sample_many(rng, 1)``.
        """
        return self.decode_many(rng.random((1, self.dimension)))[0]

    def sample_many(self, rng: np.random.Generator, n: int) -> list[Config]:
        """Draw ``n`` configs uniformly at random: the decoding of ``n`` uniform points.

        ``sample_many(rng, n)`` gives the same configs as ``n`` calls of ``sample(rng)``.
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise SpaceError(f"sample_many: n must be a non-negative integer, got {n!r}")
        return self.decode_many(rng.random((int(n), self.dimension)))

    def encode(self, config: Mapping[str, Any]) -> NDArray[np.float64]:
        """Map a config to a point of the unit cube, of shape ``(dimension,)``.

        An Int or Choice value maps to the centre of its cell. ``decode(encode(config))``
        gives back ``config`` for every config that decoding can produce (every sampled or
        grid config, every Int and Choice value); a float that no point of the cube decodes
        to exactly comes back as its nearest neighbour.

        Raises:
            SpaceError: ``config`` does not validate (see `validate`).
        """
        config = self.validate(config)
        return np.array(
            [domain._encode(config[name]) for name, domain in self._domains.items()],
            dtype=np.float64,
        )

    def decode(self, x: ArrayLike) -> Config:
        """Map a point of the unit cube, of shape ``(dimension,)``, to a config.

        Raises:
            SpaceError: ``x`` has the wrong shape or a value that is not finite.
        """
        point = np.asarray(x, dtype=np.float64)
        if point.shape != (self.dimension,):
            raise SpaceError(
                f"decode: expected a point of shape ({self.dimension},), got shape {point.shape}"
            )
        return self.decode_many(point[np.newaxis, :])[0]

    def decode_many(self, X: ArrayLike) -> list[Config]:
        """Map the rows of ``X``, of shape ``(n, dimension)``, to ``n`` configs.

        Coordinates are clipped to ``[0, 1]``. Values are plain Python objects: ``float``
        for Float, ``int`` for Int, the choice's own objects for Choice; constants appear
        in every config.

        Raises:
            SpaceError: ``X`` has the wrong shape or a value that is not finite.
        """
        points = np.asarray(X, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != self.dimension:
            raise SpaceError(
                f"decode_many: expected an array of shape (n, {self.dimension}), "
                f"got shape {points.shape}"
            )
        if not np.isfinite(points).all():
            row, column = np.argwhere(~np.isfinite(points))[0].tolist()
            raise SpaceError(
                f"unit-cube coordinates must be finite, got {points[row, column]} "
                f"in row {row}, column {column}"
            )
        n = points.shape[0]
        # One numpy pass per column, then one zip per row: no per-value Python work.
        columns = np.clip(points, 0.0, 1.0).T
        decoded = {
            name: domain._decode(column)
            for (name, domain), column in zip(self._domains.items(), columns, strict=True)
        }
        ordered = [
            decoded[name] if name in decoded else itertools.repeat(self._constants[name], n)
            for name in self._names
        ]
        names = self._names
        return [dict(zip(names, row, strict=True)) for row in zip(*ordered, strict=False)]

    def grid(self) -> ParameterGrid:
        """Every combination of Choice values and Int integers, indexed lazily.

        Raises:
            SpaceError: a parameter is a Float range, which has no finite set of points.
        """
        from .grid import ParameterGrid  # a module of its own; it needs the domains here

        return ParameterGrid(self)

    # -- checking and serialising

    def validate(self, config: Mapping[str, Any]) -> Config:
        """Check ``config`` against the space and return it complete and in order.

        Constants may be left out (they are filled in). Numbers are returned as plain
        ``float`` and ``int``, choice values as the choice's own objects.

        Raises:
            SpaceError: naming the parameter, when a tunable parameter is missing, a name is
                not in the space, a value is of the wrong type, outside its range or not
                among its choices, or a constant is given a different value.
        """
        if not isinstance(config, Mapping):
            raise SpaceError(
                f"a config must be a mapping of parameter name to value, got {config!r}"
            )
        for name in config:
            if name not in self._params:
                raise SpaceError(
                    f"unknown parameter {name!r}; the space has {', '.join(self._names)}"
                )
        result: Config = {}
        for name in self._names:
            domain = self._domains.get(name)
            if domain is None:
                constant = self._constants[name]
                if name in config and not _same_value(config[name], constant):
                    raise SpaceError(
                        f"parameter {name!r} is the constant {constant!r}, got {config[name]!r}"
                    )
                result[name] = constant
            elif name not in config:
                raise SpaceError(f"parameter {name!r} is missing")
            else:
                try:
                    result[name] = domain._validate(config[name])
                except SpaceError as exc:
                    raise SpaceError(f"parameter {name!r}: {exc}") from exc
        return result

    def to_dict(self) -> dict[str, Any]:
        """Return the space in the form files use; ``Space(space.to_dict()) == space``.

        It is JSON-serialisable when the choice values and constants are.
        """
        return {
            name: _domain_to_dict(value) if name in self._domains else value
            for name, value in self._params.items()
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Space):
            return NotImplemented
        # Order matters: it fixes the coordinates of the unit cube.
        return list(self._params.items()) == list(other._params.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Space({self._params!r})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Space is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Space is immutable; cannot delete {name!r}")

    def __reduce__(self) -> tuple[type[Space], tuple[dict[str, Any]]]:
        # Pickle by rebuilding: the default protocol would go through __setattr__.
        return (Space, (self._params,))


# ----------------------------------------------------------------------------- helpers


def _to_domain(value: Any) -> Domain | None:
    """Return the domain ``value`` describes, or None for a constant."""
    if isinstance(value, Float | Int | Choice):
        return value
    if isinstance(value, list | tuple):
        try:
            return Choice(value)
        except SpaceError as exc:
            raise SpaceError(f"a list or tuple is a choice between its items: {exc}") from exc
    if isinstance(value, Mapping):
        if "type" not in value:
            raise SpaceError(f"{_DICT_FORMS}; got {dict(value)!r}")
        return _domain_from_dict(value)
    return None


_KEYS = {
    "float": ({"type", "low", "high", "log"}, ("low", "high")),
    "int": ({"type", "low", "high", "log"}, ("low", "high")),
    "choice": ({"type", "values"}, ("values",)),
}


def _domain_from_dict(spec: Mapping[str, Any]) -> Domain:
    kind = spec["type"]
    if not isinstance(kind, str) or kind not in _KEYS:
        raise SpaceError(f"unknown type {kind!r}; expected 'float', 'int' or 'choice'")
    allowed, required = _KEYS[kind]
    expected = ", ".join(repr(key) for key in sorted(allowed))
    for key in spec:
        if key not in allowed:
            raise SpaceError(f"unknown key {key!r} for type {kind!r}; expected {expected}")
    for key in required:
        if key not in spec:
            raise SpaceError(f"type {kind!r} needs the key {key!r}")
    if kind == "choice":
        return Choice(spec["values"])
    cls = Float if kind == "float" else Int
    return cls(spec["low"], spec["high"], log=spec.get("log", False))


def _domain_to_dict(domain: Domain) -> dict[str, Any]:
    if isinstance(domain, Choice):
        return {"type": "choice", "values": list(domain.values)}
    kind = "float" if isinstance(domain, Float) else "int"
    return {"type": kind, "low": domain.low, "high": domain.high, "log": domain.log}


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


def _same_value(a: Any, b: Any) -> bool:
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
            if _same_value(earlier, value):
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
