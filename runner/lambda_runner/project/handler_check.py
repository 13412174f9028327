"""Does the template's Handler name a function of the code that Lambda can call as `handler(event, context)`?

Read with `ast`, never imported: importing would run the module's top-level code (AWS clients, environment
lookups) and would need the function's dependencies built for this machine; the source alone says whether the
name exists and what it takes, offline and without side effects. A handler made by an expression
(`lambda_handler = sb.lambda_handler()`, an import) is accepted as it is: only running it would tell its signature.
"""

from __future__ import annotations

import ast
from pathlib import Path

from ..bindings import last_binding


def module_file(code_dir: Path, module: str) -> Path | None:
    """The file Lambda's runtime imports for `module` (dots or slashes): `a/b.py`, else `a/b/__init__.py`."""
    relative = Path(*module.replace("/", ".").split("."))
    for candidate in (code_dir / relative.with_suffix(".py"), code_dir / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def signature_problem(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """Why `function(event, context)` would fail, or None when the call fits."""
    name = function.name
    if isinstance(function, ast.AsyncFunctionDef):
        return f"{name} is `async def`: Lambda's Python runtime calls it without awaiting; make it a plain def"
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    required = len(positional) - len(arguments.defaults)
    required_keywords = [
        arg.arg for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True) if default is None
    ]
    shown = ", ".join(arg.arg for arg in positional)
    if required > 2:
        return f"{name}({shown}) needs {required} arguments: Lambda passes two, (event, context)"
    if len(positional) < 2 and arguments.vararg is None:
        return f"{name}({shown}) cannot take (event, context): Lambda passes both"
    if required_keywords:
        return f"{name} needs keyword-only {', '.join(required_keywords)}: Lambda passes only (event, context)"
    return None


def check_handler(handler: str, code_dir: Path) -> tuple[Path | None, int | None, str] | None:
    """None when the handler resolves; else (file, line, problem) — the file is None for the template's fault."""
    module, dot, name = handler.rpartition(".")
    if not dot or not module or not name:
        return None, None, f"Handler {handler!r} is not module.function (e.g. lambda_function.lambda_handler)"
    path = module_file(code_dir, module)
    if path is None:
        return None, None, f"Handler {handler!r}: no module {module} in {code_dir.name}/ (the CodeUri folder)"
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as exc:
        return path, exc.lineno, f"SyntaxError: {exc.msg}"
    found = last_binding(tree, name)  # the last one wins, as when the module runs
    if found is None or (isinstance(found, ast.Name) and isinstance(found.ctx, ast.Del)):
        return path, None, f"no function {name} at the top level of {module} (Handler {handler!r})"
    if isinstance(found, ast.FunctionDef | ast.AsyncFunctionDef):
        problem = signature_problem(found)
        if problem:
            return path, found.lineno, problem
    return None
