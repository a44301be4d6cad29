"""Importing a spec's objective from the spec's folder, in a process that may have
imported modules of the same names from elsewhere before: two specs run from one notebook,
each folder with its own ``objective.py`` and ``helpers.py``. Python keeps one module per
name; without this the second spec would silently run the first one's code."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

_SPEC_FOLDERS: set[Path] = set()
"""The folders this process imported specs' modules from."""


def prefer_folder(folder: Path, top: str) -> None:
    """Make the modules in ``folder`` the ones its spec imports by name: put ``folder``
    first on ``sys.path``, and set aside (from ``sys.modules``, with its submodules) a
    module that ``folder`` has its own file of and that was loaded from elsewhere: module
    ``top`` (the spec's own) from anywhere, any other from another spec's folder (never a
    library's module that a file in ``folder`` merely shares a name with)."""
    folder = folder.resolve()
    others = _SPEC_FOLDERS - {folder}
    for name, own in _own_modules(folder).items():  # the folder's files, not all modules
        loaded = sys.modules.get(name)
        if loaded is None or _file(loaded) == own:
            continue
        if name == top or _top_folder(loaded) in others:
            for gone in [n for n in sys.modules if n == name or n.startswith(f"{name}.")]:
                del sys.modules[gone]
    _SPEC_FOLDERS.add(folder)
    if str(folder) in sys.path:
        sys.path.remove(str(folder))
    sys.path.insert(0, str(folder))


def _own_modules(folder: Path) -> dict[str, Path]:
    """The top-level modules ``folder`` has, by name: each ``name.py``, and each package's
    ``name/__init__.py`` (none when the folder cannot be read)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return {}
    found = {entry.stem: entry for entry in entries if entry.suffix == ".py" and entry.is_file()}
    for entry in entries:  # a package before a module of its name, as Python finds them
        if (entry / "__init__.py").is_file():
            found[entry.name] = entry / "__init__.py"
    return {name: file.resolve() for name, file in found.items()}


def _file(module: ModuleType) -> Path | None:
    where = getattr(module, "__file__", None)
    return Path(where).resolve() if isinstance(where, str) else None


def _top_folder(module: ModuleType) -> Path | None:
    """The folder a top-level module was found in (a package's parent folder)."""
    file = _file(module)
    if file is None:
        return None
    return file.parent.parent if file.name == "__init__.py" else file.parent
