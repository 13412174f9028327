"""Which imported modules came from a folder: so that two functions' modules of the same name never meet.

A project's functions often share module names (each has its `lambda_function.py`). Lambda imports each in an
environment of its own; in one Python process (a pytest session, an in-process invocation) the second import of
`lambda_function` would return the first function's module from `sys.modules`. The pytest plugin and the
in-process sandbox therefore set aside the modules loaded from the other functions' folders while one function
runs, and put them back afterwards (`set_aside`, `restore`). Installed packages (the virtual environment may be
inside the project) are never set aside.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType


def _origin(module: ModuleType | None) -> str | None:
    """The file a module was loaded from, or its first folder for a namespace package; None for built-ins."""
    file = getattr(module, "__file__", None)
    if isinstance(file, str):
        return file
    path = getattr(module, "__path__", None)
    try:
        return next(iter(path)) if path is not None else None
    except (StopIteration, TypeError):
        return None


def _installed_prefixes() -> tuple[str, ...]:
    return tuple({os.path.join(os.path.realpath(prefix), "") for prefix in (sys.prefix, sys.base_prefix)})


def loaded_from(folder: Path, *, excluding: Iterable[Path] = ()) -> dict[str, ModuleType]:
    """The modules of `sys.modules` loaded from `folder` (not from one of `excluding` in it), installed ones aside.

    `folder` and `excluding` are resolved paths (as `FunctionConfig.code_dir` is).
    """
    inside = os.path.join(str(folder), "")
    outside = tuple(os.path.join(str(path), "") for path in excluding)
    installed = _installed_prefixes()
    found: dict[str, ModuleType] = {}
    for name, module in list(sys.modules.items()):
        origin = _origin(module)
        if origin is None or origin.startswith(installed) or f"{os.sep}site-packages{os.sep}" in origin:
            continue
        if not origin.startswith(inside):
            origin = os.path.realpath(origin)  # imported through a path that is not resolved (a symlink)
        if origin.startswith(inside) and not origin.startswith(outside):
            found[name] = module
    return found


def set_aside(folder: Path, *, excluding: Iterable[Path] = ()) -> dict[str, ModuleType]:
    """Take the modules loaded from `folder` out of `sys.modules`; returns them, for `restore`."""
    modules = loaded_from(folder, excluding=excluding)
    for name in modules:
        del sys.modules[name]
    return modules


def restore(modules: dict[str, ModuleType]) -> None:
    """Put back modules that `set_aside` took out, unless a module of the same name was imported since."""
    for name, module in modules.items():
        sys.modules.setdefault(name, module)
