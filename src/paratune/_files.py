"""Reading the JSON and YAML files that hold spaces and specs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import SpecError

_SUFFIXES = {".json": "JSON", ".yaml": "YAML", ".yml": "YAML"}

MAX_SPEC_BYTES = 10 * 2**20
"""The largest spec or space file read (10 MiB): a real spec is a few kilobytes, and a bigger file
would hold a space too large to search or to store."""

MAX_SPEC_VALUES = 1_000_000
"""The most values (numbers, strings, lists, mappings) a spec or space file may hold once
every YAML alias is written out: a small file of aliases of aliases (a "billion laughs")
would otherwise fill the memory when its space is stored."""


class _Loader(yaml.SafeLoader):
    """`yaml.SafeLoader` that also reads ``1e-3`` and ``1.0e5`` as floats.

    PyYAML follows YAML 1.1, where a float needs a dot and a signed exponent, so ``lr: 1e-3``
    would load as the string ``"1e-3"``: a trap in files full of learning rates. YAML 1.2 (and
    JSON) read these as numbers; so does this loader.
    """


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+.0123456789"),
)


def load_mapping(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a JSON (``.json``) or YAML (``.yaml``, ``.yml``) file whose top level is a mapping.

    Args:
        path: the file to read.

    Returns:
        The top-level mapping, with its keys in file order.

    Raises:
        SpecError: the file is missing or unreadable, its extension is not one of the above,
            its content does not parse (the message gives the line and column), or its top
            level is not a mapping with string keys. The message names the file.
    """
    file = Path(path)
    if not file.is_file():
        what = "is a directory, not a file" if file.is_dir() else "does not exist"
        raise SpecError(f"{file}: {what}")
    kind = _SUFFIXES.get(file.suffix.lower())
    if kind is None:
        raise SpecError(
            f"{file}: unknown file extension {file.suffix!r}; expected .json, .yaml or .yml"
        )
    size = file.stat().st_size
    if size > MAX_SPEC_BYTES:
        raise SpecError(
            f"{file}: the file is {size:,} bytes; a spec or space file may be at most "
            f"{MAX_SPEC_BYTES:,} (10 MiB)"
        )
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{file}: cannot read the file: {exc}") from exc

    data = _parse_json(file, text) if kind == "JSON" else _parse_yaml(file, text)
    if not isinstance(data, dict):
        got = "an empty document" if data is None else f"a {type(data).__name__}"
        raise SpecError(f"{file}: the top level must be a mapping of keys to values, got {got}")
    for key in data:
        if not isinstance(key, str):
            raise SpecError(f"{file}: top-level key {key!r} must be a string")
    _check_expansion(data, file)
    return data


def _parse_json(file: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"{file}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except (ValueError, RecursionError) as exc:  # an integer of 4,301 digits, deep nesting
        raise SpecError(f"{file}: cannot read the JSON: {type(exc).__name__}: {exc}") from exc


def _parse_yaml(file: Path, text: str) -> Any:
    try:
        # The only safe loader: a spec file must never be able to run code.
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        where = ""
        if exc.problem_mark is not None:
            # PyYAML counts lines and columns from 0; editors count from 1.
            where = f" at line {exc.problem_mark.line + 1}, column {exc.problem_mark.column + 1}"
        problem = exc.problem or exc.context or "cannot parse"
        raise SpecError(f"{file}: malformed YAML{where}: {problem}") from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"{file}: malformed YAML: {exc}") from exc
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        # PyYAML's constructors raise these for values such as 2024-02-30 or !!int abc.
        raise SpecError(f"{file}: cannot read a value in the YAML: {exc}") from exc


def _check_expansion(data: dict[str, Any], source: Path) -> None:
    """Refuse a file whose values, with every YAML alias written out, are too many or hold
    themselves (an alias inside its own anchor)."""
    sizes: dict[int, int] = {}  # id of a list or mapping -> its expanded size
    open_: set[int] = set()  # the lists and mappings being counted

    def size(value: Any) -> int:
        if not isinstance(value, list | dict):
            return 1
        key = id(value)
        if key in sizes:
            return sizes[key]
        if key in open_:
            raise SpecError(f"{source}: a YAML alias is used inside its own anchor")
        open_.add(key)
        children = value.values() if isinstance(value, dict) else value
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_SPEC_VALUES:
                raise SpecError(
                    f"{source}: the file holds more than {MAX_SPEC_VALUES:,} values once "
                    "its YAML aliases are written out (aliases of aliases?)"
                )
        open_.discard(key)
        sizes[key] = total
        return total

    try:
        size(data)
    except RecursionError as exc:
        raise SpecError(f"{source}: the values are nested too deeply") from exc
