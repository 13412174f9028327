"""The names a Python module binds at its top level, read from its source without running it.

One walk for every check that must not import a handler's module (importing runs its init code): DryRun
(`service/dryrun.py`), `validate`'s handler check (`project/handler_check.py`) and slsgen's check that a
handler name fits the code it generates. Top-level code includes the blocks of `if`, `try`, `with`, `for`,
`while` and `match`; function and class bodies, lambdas and comprehensions have scopes of their own.
"""

from __future__ import annotations

import ast


class _Bindings(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: list[tuple[str, ast.AST]] = []

    def _scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.found.append((node.name, node))

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scope

    def _skip(self, node: ast.AST) -> None:
        """Lambdas and comprehensions bind in scopes of their own."""

    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _skip

    def _imports(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            self.found.append((alias.asname or alias.name.split(".")[0], node))  # `*` for a star import

    visit_Import = visit_ImportFrom = _imports

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:  # `name: int` alone binds nothing
            self.generic_visit(node)

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
    """Each top-level binding in source order: the name (`*` for a star import) and the node that binds it."""
    visitor = _Bindings()
    for statement in tree.body:
        visitor.visit(statement)
    return visitor.found


def last_binding(tree: ast.Module, name: str) -> ast.AST | None:
    """The node that binds `name` last at the top level (what the name holds once the module has run), if any."""
    nodes = [node for bound, node in module_bindings(tree) if bound == name]
    return nodes[-1] if nodes else None
