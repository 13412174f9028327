"""`--invocation-type DryRun`: would the handler resolve? Answered without running any of the function's code.

Lambda's DryRun only checks that the caller may invoke; locally the useful question is whether the handler
would load. Importing the module would run its init code (connections, downloads), so instead the module is
located with the import system's path finder, its source parsed, and the handler looked up among the names
its top-level code binds. The answer uses the same error types and messages as a real import (`handler.py`).
"""

from __future__ import annotations

import ast
import sys
from importlib.machinery import PathFinder
from pathlib import Path
from typing import Any

from ..bindings import module_bindings
from ..runtime.handler import HANDLER_NOT_FOUND, IMPORT_MODULE_ERROR, HandlerFault, split_handler, syntax_fault


def check_handler(handler: str, code_dir: Path) -> dict[str, Any] | None:
    """Would `handler` resolve? The error JSON if not, None if it would (see the module docstring).

    A module that defines names dynamically (star imports, `__getattr__`, `globals()`) gets the benefit of the
    doubt, and so does an extension module, which has no source to read.
    """
    try:
        module_name, function_name = split_handler(handler)
        parts = module_name.replace("/", ".").split(".")
        search: list[str] = [str(code_dir), *sys.path]
        spec = None
        for index in range(len(parts)):
            name = ".".join(parts[: index + 1])
            spec = PathFinder.find_spec(name, search)
            if spec is None:
                raise HandlerFault(
                    IMPORT_MODULE_ERROR, f"Unable to import module '{module_name}': No module named '{name}'"
                )
            search = list(spec.submodule_search_locations or [])
        origin = getattr(spec, "origin", None)
        if not origin or not origin.endswith(".py"):
            return None
        source = Path(origin).read_bytes()
        try:
            tree = ast.parse(source, filename=origin)
        except SyntaxError as exc:
            raise syntax_fault(module_name, exc) from None
        names = {name for name, _ in module_bindings(tree)}
        dynamic = "__getattr__" in names or "*" in names or b"globals()" in source
        if function_name not in names and not dynamic:
            raise HandlerFault(HANDLER_NOT_FOUND, f"Handler '{function_name}' missing on module '{module_name}'")
    except HandlerFault as fault:
        return fault.to_error()
    return None
