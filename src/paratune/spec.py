"""Run specs: a JSON or YAML file whose keys are `tune`'s keyword arguments."""

from __future__ import annotations

import difflib
import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._files import MAX_SPEC_BYTES as MAX_SPEC_BYTES  # the bounds, for users of this module
from ._files import MAX_SPEC_VALUES as MAX_SPEC_VALUES
from ._files import load_mapping
from ._folders import check_name
from ._options import resumed_options, spec_types
from ._spec_imports import prefer_folder
from .errors import SpaceError, SpecError
from .executors import parse_resources
from .space import Space
from .store import Experiment

# Every key a spec may have, with the types it accepts (checked before anything runs): the
# objective (a name to import), the space, and the options `TuneOptions` gives a spec key.
_KEYS: dict[str, tuple[type, ...]] = {"objective": (str,), "space": (dict,), **spec_types()}
_REQUIRED = ("objective", "space")


def spec_keys() -> list[str]:
    """The keys a run spec accepts."""
    return list(_KEYS)


def load_run_spec(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a run spec and return `tune`'s keyword arguments, with ``objective`` imported and
    ``space`` built.

    ``objective`` is ``"module:function"``, imported with the spec's folder first on the
    module search path, so a spec and its objective module can sit side by side; so is
    ``setup``, when given.

    Raises:
        SpecError: naming the file and the key, for a missing, unknown or mistyped key, an
            objective that cannot be imported, or an invalid space; or naming the file, for
            one larger than `MAX_SPEC_BYTES` or holding more than `MAX_SPEC_VALUES` values
            (see `load_mapping`).
    """
    data = load_mapping(path)
    return resolve_run_spec(data, source=Path(path))


def resolve_run_spec(
    data: dict[str, Any], *, source: Path, objective: bool = True
) -> dict[str, Any]:
    """Check a spec already read from ``source`` and resolve it into `tune` arguments
    (``objective`` False: the spec of an ask-and-tell experiment, which has none to import
    and must not name one)."""
    for key, value in data.items():
        if key not in _KEYS:
            close = difflib.get_close_matches(str(key), _KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SpecError(f"{source}: unknown key {key!r}{hint}; valid keys: {', '.join(_KEYS)}")
        if value is None:
            continue
        expected = _KEYS[key]
        if not isinstance(value, expected) or (bool not in expected and isinstance(value, bool)):
            names = " or ".join(t.__name__ for t in expected)
            raise SpecError(
                f"{source}: key {key!r} must be {names}, got {type(value).__name__} {value!r}"
            )
    for key in _REQUIRED if objective else ("space",):
        if data.get(key) is None:
            raise SpecError(f"{source}: missing key {key!r}")
    if not objective and "objective" in data:
        raise SpecError(
            f"{source}: key 'objective' does not apply to ask and tell: you evaluate the "
            "trials yourself"
        )
    if data.get("name") is not None:
        try:
            check_name(data["name"], key="key 'name'")
        except SpecError as exc:
            raise SpecError(f"{source}: {exc}") from exc
    if data.get("checkpoint_dir") is not None and not data["checkpoint_dir"].strip():
        raise SpecError(f"{source}: key 'checkpoint_dir' must name a folder, got ''")
    kwargs = {key: value for key, value in data.items() if value is not None}
    if data.get("resources") is not None:
        try:
            parse_resources(data["resources"])
        except ValueError as exc:
            raise SpecError(f"{source}: key 'resources': {exc}") from exc
    if objective:
        kwargs["objective"] = import_objective(
            data["objective"], folder=source.parent, source=source
        )
    if data.get("setup") is not None:
        kwargs["setup"] = import_objective(
            data["setup"], folder=source.parent, source=source, key="setup"
        )
    try:
        kwargs["space"] = Space(data["space"])
    except SpaceError as exc:
        raise SpecError(f"{source}: key 'space': {exc}") from exc
    return kwargs


def import_objective(
    reference: str, *, folder: Path, source: Path, key: str = "objective"
) -> Callable[..., Any]:
    """Import ``"module:function"``, looking in ``folder`` first; an error names the spec's
    ``key`` that gave it."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise SpecError(f"{source}: key {key!r} must be 'module:function', got {reference!r}")
    prefer_folder(folder, module_name.partition(".")[0])
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise SpecError(
            f"{source}: key {key!r}: cannot import module {module_name!r} "
            f"(looked in {folder} and the Python path): {type(exc).__name__}: {exc}"
        ) from exc
    function = getattr(module, attribute, None)
    if function is None:
        raise SpecError(f"{source}: key {key!r}: module {module_name!r} has no {attribute!r}")
    if not callable(function):
        raise SpecError(f"{source}: key {key!r}: {reference!r} is not callable")
    return function  # type: ignore[no-any-return]


def resume_arguments(experiment: Experiment, *, source: str) -> dict[str, Any]:
    """`tune`'s arguments to continue a stored experiment: its objective (and setup, if it
    had one) imported again by name (from the folder of the module that defined it), its
    space and its settings.

    Raises:
        SpecError: the objective or the setup cannot be imported (defined in a script's
            ``__main__`` or a notebook, say), or a part was an object rather than a name,
            or the experiment is an ask-and-tell one (it has no objective).
    """
    details = experiment.settings
    if details.get("ask_and_tell"):
        raise SpecError(
            f"{source}: experiment {experiment.name!r} is an ask-and-tell experiment, with "
            "no objective to run: continue it with paratune ask / paratune tell, or "
            "pt.AskTell(..., name=..., resume=True)"
        )
    goals = details.get("objectives")  # where there are several metrics or constraints
    kwargs: dict[str, Any] = {
        "objective": _import_again(experiment, "objective", experiment.objective, source),
        "space": Space(experiment.space),
        "metric": goals["metrics"] if goals else experiment.metric,
        "mode": goals["modes"] if goals else experiment.mode,
        "constraints": goals.get("constraints") or None if goals else None,
        "seed": experiment.seed,
    }

    def refuse(what: str) -> None:
        raise SpecError(
            f"{source}: experiment {experiment.name!r} {what}; resume it from Python with "
            "pt.tune(..., name=..., resume=True)"
        )

    given = resumed_options(details, refuse=refuse)
    if given.get("setup") is not None:
        given["setup"] = _import_again(experiment, "setup", given["setup"], source)
    return kwargs | given


def _import_again(experiment: Experiment, key: str, name: str, source: str) -> Any:
    """Import the experiment's objective or setup again by the ``name`` it was stored
    under, from the folder of the module that defined it."""
    module, _, attribute = name.partition(":")
    if module in ("__main__", "__mp_main__", "?") or "<" in attribute or "." in attribute:
        raise SpecError(
            f"{source}: experiment {experiment.name!r} ran {key} {name!r}, "
            "which cannot be imported again; resume it from Python with "
            "pt.tune(..., name=..., resume=True)"
        )
    folder = Path(experiment.settings.get(f"{key}_folder") or ".")
    return import_objective(name, folder=folder, source=Path(source), key=key)
