"""Search spaces: the parameters to tune, their domains, and the map to and from the unit cube.

Every searcher works in the unit cube ``[0, 1]**dimension``: random sampling is decoding
uniform points, quasi-random sampling is decoding Sobol' or Latin hypercube points. Each
tunable parameter owns one coordinate; constants own none and appear in every config.

A parameter may be conditional: active only when a condition on other parameters holds
(``when=``, or a choice's ``branches=``). A config holds only its active parameters;
decoding draws every coordinate, then drops the parameters inactive under the result, so
the numbers drawn never depend on the conditions.

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

from ._conditions import Conditions, describe_when
from ._domains import MAX_CHOICES, Choice, Domain, Float, Int, same_value
from ._files import load_mapping
from ._space_forms import TOP, domain_to_dict, flatten, to_domain
from .errors import SpaceError
from .grid import ParameterGrid
from .trial import Config

__all__ = ["MAX_CHOICES", "Choice", "Domain", "Float", "Int", "Space"]


# ----------------------------------------------------------------------------- space


class Space:
    """An immutable search space: named parameters, each a domain to tune or a constant.

    Each value of ``params`` is one of:

    * a `Float`, `Int` or `Choice`;
    * a list or tuple: a `Choice` between its items;
    * a dict with a ``"type"`` key, the form used in files:
      ``{"type": "float" | "int", "low": ..., "high": ..., "log": true}`` (``log`` optional)
      or ``{"type": "choice", "values": [...]}``, each with an optional ``"when"`` and a
      choice with optional ``"branches"``;
    * anything else: a constant, passed unchanged to every config.

    Parameters keep the order given; configs list them in that order. A choice's branch
    parameters become parameters of their own, right after the choice, each with the
    branch's option added to its condition (names are global: no two may be the same).

    >>> space = Space({"lr": Float(1e-4, 1e-1, log=True), "depth": Int(1, 8), "opt": "adam"})
    >>> space.tunable, space.constants
    (('lr', 'depth'), {'opt': 'adam'})
    >>> optimizer = Choice(["sgd", "adam"], branches={"sgd": {"momentum": Float(0, 1)}})
    >>> space = Space({"opt": optimizer})
    >>> space.conditional, space.active({"opt": "adam", "momentum": 0.5})
    (('momentum',), {'opt': 'adam'})

    Raises:
        SpaceError: the space is empty, a name is not a non-empty string or is given twice
            (in branches), a value is not a valid domain, or a condition names an unknown
            parameter, forms a cycle or can never hold; the message names the parameter.
    """

    __slots__ = ("_conditions", "_constants", "_domains", "_names", "_params", "_tunable")

    _params: dict[str, Any]
    _domains: dict[str, Domain]
    _constants: dict[str, Any]
    _names: tuple[str, ...]
    _tunable: tuple[str, ...]
    _conditions: Conditions

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
                domain = to_domain(value)
                flat = [] if domain is None else list(flatten(name, domain))
            except (TypeError, ValueError) as exc:
                raise SpaceError(f"parameter {name!r}: {exc}") from exc
            except RecursionError as exc:  # branches in branches, thousands deep
                raise SpaceError(f"parameter {name!r}: its branches nest too deeply") from exc
            if domain is None:
                _check_new(name, TOP, values)
                values[name] = constants[name] = value
            for flat_name, flat_domain, where in flat:
                _check_new(flat_name, where, values)
                values[flat_name] = domains[flat_name] = flat_domain
        setattr_ = object.__setattr__
        setattr_(self, "_params", values)
        setattr_(self, "_domains", domains)
        setattr_(self, "_constants", constants)
        setattr_(self, "_names", tuple(values))
        setattr_(self, "_tunable", tuple(domains))
        setattr_(self, "_conditions", Conditions(self._names, domains, constants))

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

    @property
    def conditional(self) -> tuple[str, ...]:
        """The names of the parameters with a condition, in the order given."""
        return self._conditions.conditional

    # -- conditions

    def active(self, config: Mapping[str, Any]) -> Config:
        """``config`` without the parameters inactive under it, in the space's order.

        Conditions are evaluated parents first; a parameter whose condition names a
        parameter that is inactive, or absent from ``config``, is inactive. Values are not
        checked (`validate` does that); absent parameters stay absent.

        Raises:
            SpaceError: ``config`` is not a mapping, or names a parameter not in the space.
        """
        self._check_names(config)
        if not self._conditions.entries:
            return {name: config[name] for name in self._names if name in config}
        active = self._conditions.active_names(config)
        return {name: config[name] for name in self._names if name in config and name in active}

    def is_active(self, name: str, config: Mapping[str, Any]) -> bool:
        """Whether parameter ``name`` is active under ``config`` (its own value, given or
        not, does not matter; see `active`).

        Raises:
            SpaceError: ``name`` is not a parameter of the space, or ``config`` is not a
                mapping or names a parameter not in the space.
        """
        if name not in self._params:
            raise SpaceError(f"unknown parameter {name!r}; the space has {', '.join(self._names)}")
        self._check_names(config)
        return name not in self._conditions.entries or name in self._conditions.active_names(
            config
        )

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
        to exactly comes back as its nearest neighbour. ``config`` holds only its active
        parameters; the coordinate of each inactive one is NaN.

        Raises:
            SpaceError: ``config`` does not validate (see `validate`).
        """
        config = self.validate(config)
        return np.array(
            [
                domain._encode(config[name]) if name in config else np.nan
                for name, domain in self._domains.items()
            ],
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
        in every config. Every coordinate is decoded, then the parameters inactive under
        the result are dropped (see `active`).

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
        configs = [dict(zip(names, row, strict=True)) for row in zip(*ordered, strict=False)]
        for name, active in self._conditions.active_rows(decoded, n).items():
            for config, keep in zip(configs, active, strict=True):
                if not keep:
                    del config[name]
        return configs

    def grid(self) -> ParameterGrid:
        """Every combination of Choice values and Int integers, indexed lazily.

        On a conditional space, every distinct combination of the active parameters, once
        each: an inactive parameter adds no combinations.

        Raises:
            SpaceError: a parameter is a Float range, which has no finite set of points.
        """
        return ParameterGrid(self, self._conditions)

    # -- checking and serialising

    def validate(self, config: Mapping[str, Any]) -> Config:
        """Check ``config`` against the space and return it complete and in order.

        Constants may be left out (they are filled in). Numbers are returned as plain
        ``float`` and ``int``, choice values as the choice's own objects. On a conditional
        space, ``config`` holds exactly the parameters active under it.

        Raises:
            SpaceError: naming the parameter, when a tunable parameter is missing, a name is
                not in the space, a value is of the wrong type, outside its range or not
                among its choices, a constant is given a different value, or a parameter
                is given that is inactive under the config (naming its condition).
        """
        self._check_names(config)
        checked: Config = {}
        conditions = self._conditions
        active: set[str] = set()
        entries = conditions.entries
        for name in conditions.order:  # parents first: a condition reads checked values
            if name in entries and not conditions.holds(name, checked, active):
                if name in config:
                    why = conditions.why_inactive(name, checked, active)
                    raise SpaceError(f"parameter {name!r} is inactive here: {why}")
                continue
            active.add(name)
            checked[name] = self._checked_value(name, config)
        return {name: checked[name] for name in self._names if name in checked}

    def _checked_value(self, name: str, config: Mapping[str, Any]) -> Any:
        """The value of active parameter ``name`` in ``config``, checked."""
        domain = self._domains.get(name)
        if domain is None:
            constant = self._constants[name]
            if name in config and not same_value(config[name], constant):
                raise SpaceError(
                    f"parameter {name!r} is the constant {constant!r}, got {config[name]!r}"
                )
            return constant
        if name not in config:
            when = (
                ""
                if domain.when is None
                else f": it is active here ({describe_when(domain.when)})"
            )
            raise SpaceError(f"parameter {name!r} is missing{when}")
        try:
            return domain._validate(config[name])
        except SpaceError as exc:
            raise SpaceError(f"parameter {name!r}: {exc}") from exc

    def _check_names(self, config: Mapping[str, Any]) -> None:
        """Refuse a config that is not a mapping or names a parameter not in the space."""
        if not isinstance(config, Mapping):
            raise SpaceError(
                f"a config must be a mapping of parameter name to value, got {config!r}"
            )
        for name in config:
            if name not in self._params:
                raise SpaceError(
                    f"unknown parameter {name!r}; the space has {', '.join(self._names)}"
                )

    def to_dict(self) -> dict[str, Any]:
        """Return the space in the form files use; ``Space(space.to_dict()) == space``.

        Branch parameters appear as parameters of their own, each with its full ``when``.
        It is JSON-serialisable when the choice values, constants and conditions are.
        """
        return {
            name: domain_to_dict(value) if name in self._domains else value
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


def _check_new(name: str, where: str, values: Mapping[str, Any]) -> None:
    """Refuse a parameter name given before (at the top level or in a branch)."""
    if name in values:
        raise SpaceError(
            f"parameter {name!r} {where} is given twice: names are global, in branches too"
        )
