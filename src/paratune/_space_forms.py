"""The forms a space's parameters are written in: a domain, a list (a choice), a dict (the
file form) or a constant; and a choice's branches, made parameters of their own."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from ._domains import Choice, Domain, Float, Int
from .errors import SpaceError

DICT_FORMS = (
    "a dict must describe a domain in one of three forms: "
    "{'type': 'float', 'low': ..., 'high': ..., 'log': false}, "
    "{'type': 'int', 'low': ..., 'high': ..., 'log': false} or "
    "{'type': 'choice', 'values': [...]}, each with an optional 'when' (its condition), "
    "a choice with optional 'branches'"
)

_KEYS = {
    "float": ({"type", "low", "high", "log", "when"}, ("low", "high")),
    "int": ({"type", "low", "high", "log", "when"}, ("low", "high")),
    "choice": ({"type", "values", "when", "branches"}, ("values",)),
}


TOP = "at the top level"
"""Where a parameter not in a branch was written (see `flatten`)."""


def to_domain(value: Any) -> Domain | None:
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
            raise SpaceError(f"{DICT_FORMS}; got {dict(value)!r}")
        return _domain_from_dict(value)
    return None


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
    when = spec.get("when")
    if kind == "choice":
        return Choice(spec["values"], when=when, branches=spec.get("branches"))
    cls = Float if kind == "float" else Int
    return cls(spec["low"], spec["high"], log=spec.get("log", False), when=when)


def domain_to_dict(domain: Domain) -> dict[str, Any]:
    """The file form of ``domain`` (a choice's branches are left out: a space holds them
    as parameters of their own)."""
    found: dict[str, Any]
    if isinstance(domain, Choice):
        found = {"type": "choice", "values": list(domain.values)}
    else:
        kind = "float" if isinstance(domain, Float) else "int"
        found = {"type": kind, "low": domain.low, "high": domain.high, "log": domain.log}
    if domain.when is not None:
        found["when"] = domain.when
    return found


def flatten(name: str, domain: Domain) -> Iterator[tuple[str, Domain, str]]:
    """``domain`` without its branches, then each branch parameter (and theirs, in turn)
    with the branch's option added to its condition; each with where it was written.

    Raises:
        SpaceError: a branch parameter is a constant, is badly formed, or has a condition
            on the choice it is a branch of; the message names it and the branch.
    """
    if not isinstance(domain, Choice) or domain.branches is None:
        yield name, domain, TOP
        return
    yield name, dataclasses.replace(domain, branches=None), TOP
    for key, params in domain.branches.items():
        option = domain.option(key)
        where = f"in the branch {option!r} of {name!r}"
        for child, value in params.items():
            if not isinstance(child, str) or not child:
                raise SpaceError(f"{where}: parameter names must be non-empty strings, "
                                 f"got {child!r}")  # fmt: skip
            try:
                found = to_domain(value)
            except (TypeError, ValueError) as exc:
                raise SpaceError(f"{where}: parameter {child!r}: {exc}") from exc
            if found is None:
                raise SpaceError(
                    f"{where}: parameter {child!r} is the constant {value!r}; a constant is "
                    "always active: give it at the top level"
                )
            if found.when is not None and name in found.when:
                raise SpaceError(
                    f"{where}: parameter {child!r} has its own condition on {name!r}; "
                    "the branch already sets it"
                )
            # A list or dict would read as "one of" or as operators: test equality.
            form = {"==": option} if isinstance(option, list | tuple | Mapping) else option
            try:  # the option joins the condition: an infinite one is refused there
                branch = dataclasses.replace(found, when={name: form, **(found.when or {})})
            except SpaceError as exc:
                raise SpaceError(f"{where}: parameter {child!r}: {exc}") from exc
            for flat_name, flat, inner in flatten(child, branch):
                yield flat_name, flat, where if inner == TOP else inner
