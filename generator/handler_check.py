"""Whether a handler name works in the project a blueprint renders: checked on the rendered files, generically.

`options.check_handler` refuses what can be known from the name alone (syntax, dots, the standard library,
builtins). What depends on the blueprint is checked here, on the rendered project in its temporary folder, so
that no blueprint needs a list of its own names: the handler's module must not take the name of another module
the project has or that its code imports (`conftest`, the runner, PyYAML's `yaml`, moto), and the handler's function
must be the only thing its module binds to that name (`app.json`, `app.logger` or `app.greet` would replace the
module's own import, variable or helper).
"""

from __future__ import annotations

import ast
from pathlib import Path

from lambda_runner.bindings import module_bindings

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


def foreign_import(path: Path, module: str, bound: set[str] | None) -> int | None:
    """The line where `path` imports a module named `module` expecting another module than the handler's, if any.

    An import of the handler's module is its own when every name it takes (`from m import a`) or reads (`m.a`)
    is one the handler module binds: the tests' `from app import respond`. Anything else, or any import of the
    module from the module itself (`bound` None), expects another module of that name (`import yaml`, then
    `yaml.safe_load`).
    """
    text = path.read_text(encoding="utf-8")
    if module not in text:
        return None  # most files: no need to parse them
    tree = ast.parse(text, str(path))
    plain_imports: list[int] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            top, _, rest = node.module.partition(".")
            names = {alias.name for alias in node.names}
            if top == module and (bound is None or rest or not names <= bound):
                return node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top, _, rest = alias.name.partition(".")
                if top == module:
                    if bound is None or rest:
                        return node.lineno
                    if alias.asname is None:
                        plain_imports.append(node.lineno)
    if plain_imports and bound is not None:
        read = {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == module
        }
        if not read <= bound:
            return plain_imports[0]
    return None


def runner_files() -> list[tuple[Path, str]]:
    """The local runner's modules, shown as `lambda_runner/...`: not in the project, but in every environment its
    handler runs in (a handler module named like one of their imports would hide it from them too)."""
    import lambda_runner

    package = Path(lambda_runner.__file__).parent
    return [(path, f"lambda_runner/{path.relative_to(package).as_posix()}") for path in sorted(package.rglob("*.py"))]


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
    tree = ast.parse(source.read_text(encoding="utf-8"), str(source)) if source.is_file() else None
    bound = {name for name, _ in module_bindings(tree)} if tree is not None else set()
    for path, where in [
        *((path, path.relative_to(project).as_posix()) for path in sorted(project.rglob("*.py"))),
        *runner_files(),
    ]:
        line = foreign_import(path, module, None if path == source else bound)
        if line is not None:
            raise InvalidOption(
                f"handler module {module!r} would hide the module {module!r} that {where} imports (line {line}); "
                f"choose another module name, e.g. app.{function}"
            )
    if tree is None:
        return  # the blueprint writes its handler elsewhere: nothing more to check here
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
