"""Search spaces: the parameters to tune, their domains, and the map to and from the unit cube.

Every searcher works in the unit cube ``[0, 1]**dimension``: random sampling is decoding
uniform points, quasi-random sampling is decoding Sobol' or Latin hypercube points. Each
tunable parameter owns one coordinate; constants own none and appear in every config.

The domains (`Float`, `Int`, `Choice`) are defined in `paratune._domains` and imported from
here.
"""

from __future__ import annotations

import itertools
import numbers
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._domains import MAX_CHOICES, Choice, Domain, Float, Int, same_value
from ._files import load_mapping
from .errors import SpaceError
from .grid import ParameterGrid
from .trial import Config

__all__ = ["MAX_CHOICES", "Choice", "Domain", "Float", "Int", "Space"]

_DICT_FORMS = (
    "a dict must describe a domain in one of three forms: "
    "{'type': 'float', 'low': ..., 'high': ..., 'log': false}, "
    "{'type': 'int', 'low': ..., 'high': ..., 'log': false} or "
    "{'type': 'choice', 'values': [...]}"
)


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
                if name in config and not same_value(config[name], constant):
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
