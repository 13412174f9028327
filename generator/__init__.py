"""slsgen: scaffold production-grade AWS Lambda projects in Python from blueprints, offline.

The public API is small and importable without side effects; heavy modules load on first use, which keeps
`slsgen --help` fast:

    >>> import generator
    >>> generator.new_project("hello-world", "my-api", options={"memory": 256})  # doctest: +SKIP
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing`'s: importing typing is a third of what `slsgen invoke` imports before its exec

__version__ = "0.1.0"

__all__ = [
    "Addition",
    "Blueprint",
    "Generation",
    "SlsgenError",
    "__version__",
    "add_function",
    "generate_project",
    "list_blueprints",
    "load_blueprint",
    "new_project",
    "resolve_answers",
]

if TYPE_CHECKING:
    from typing import Any

    from .addition import Addition, add_function
    from .blueprints import Blueprint, list_blueprints, load_blueprint
    from .errors import SlsgenError
    from .project import Generation, generate_project, new_project, resolve_answers

_LAZY = {
    "Addition": "addition",
    "add_function": "addition",
    "Blueprint": "blueprints",
    "list_blueprints": "blueprints",
    "load_blueprint": "blueprints",
    "SlsgenError": "errors",
    "new_project": "project",
    "generate_project": "project",
    "Generation": "project",
    "resolve_answers": "project",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
