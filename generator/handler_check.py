"""Whether a handler name works in the project a blueprint renders: checked on the rendered files, generically.

`options.check_handler` refuses what can be known from the name alone (syntax, dots, the standard library,
builtins). What depends on the blueprint is checked here, on the rendered project in its temporary folder, so
that no blueprint needs a list of its own names: the handler's module must not take the name of another module
the project has or imports (`conftest`, the runner, PyYAML's `yaml`, Pillow's `PIL`), and the handler's function
must be the only thing its module binds to that name (`app.json`, `app.logger` or `app.greet` would replace the
module's own import, variable or helper).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from . import settings
from .errors import InvalidOption, RenderError

SEARCH_DIRS = ("src", ".", "tests")  # the generated pytest's pythonpath, and the tests' own folder


def project_modules(project: Path, own: Path) -> dict[str, Path]:
    """Top-level module names importable in the project (modules and regular packages), except the file `own`."""
    names: dict[str, Path] = {}
    for folder in SEARCH_DIRS:
        directory = project / folder
        if not directory.is_dir():
            continue
        for child in sorted(directory.iterdir()):
            if child.suffix == ".py" and child != own:
                names.setdefault(child.stem, child)
            elif child.is_dir() and (child / "__init__.py").is_file():
                names.setdefault(child.name, child)
    return names


def imported_modules(files: Iterable[Path]) -> dict[str, Path]:
    """The top-level names of the absolute imports in `files` (anywhere in them: the runner imports lazily)."""
    found: dict[str, Path] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.setdefault(alias.name.split(".")[0], path)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.setdefault(node.module.split(".")[0], path)
    return found


class _Bindings(ast.NodeVisitor):
    """The names a module binds at its top level, with the node binding each (nested scopes are not visited)."""

    def __init__(self) -> None:
        self.found: list[tuple[str, ast.AST]] = []

    def _scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.found.append((node.name, node))

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scope

    def _skip(self, node: ast.AST) -> None:
        """Lambdas and comprehensions have scopes of their own."""

    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _skip

    def _imports(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self.found.append((alias.asname or alias.name.split(".")[0], node))

    visit_Import = visit_ImportFrom = _imports

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.found.append((node.id, node))

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.found.append((node.name, node))
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self.found.append((node.name, node))
        self.generic_visit(node)


def module_bindings(tree: ast.Module) -> list[tuple[str, ast.AST]]:
    visitor = _Bindings()
    for statement in tree.body:
        visitor.visit(statement)
    return visitor.found


def check_rendered_handler(project: Path, module: str, function: str, handler: str) -> None:
    """Refuse a handler whose module or function collides with a name of the rendered project."""
    source = project / "src" / f"{module}.py"
    others = project_modules(project, source)
    if module in others:
        where = others[module].relative_to(project).as_posix()
        raise InvalidOption(
            f"handler module {module!r} would collide with {where} in the project; choose another module name, "
            f"e.g. app.{function}"
        )
    importers = [
        *sorted((project / settings.RUNNER_PACKAGE).rglob("*.py")),
        *sorted((project / "tests").glob("conftest.py")),
        *([source] if source.is_file() else []),
    ]
    imported = imported_modules(importers)
    if module in imported:
        where = imported[module].relative_to(project).as_posix()
        raise InvalidOption(
            f"handler module {module!r} would hide the module {module!r} that {where} imports; choose another "
            f"module name, e.g. app.{function}"
        )
    if not source.is_file():
        return  # the blueprint writes its handler elsewhere: nothing more to check here
    tree = ast.parse(source.read_text(encoding="utf-8"), str(source))
    bindings = [node for name, node in module_bindings(tree) if name == function]
    defines = [node for node in bindings if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not defines:
        raise RenderError(f"the blueprint's src/{module}.py defines no {function}(): Lambda could not call {handler}")
    clashes = [node for node in bindings if node is not defines[-1]]
    if clashes:
        line = getattr(clashes[0], "lineno", 0)
        raise InvalidOption(
            f"handler function {function!r} would collide with a name the blueprint's code already uses "
            f"(src/{module}.py line {line}); choose another function name, e.g. {module}.handler"
        )
