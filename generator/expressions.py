"""Manifest expressions: `when:`, `require:` and constraint messages, in sandboxed Jinja (blueprints may be a team's).

One sandboxed environment serves the loader (which compiles every expression, so that a typo fails when the
blueprint loads rather than half-way through a render) and the renderer (which evaluates them with the answers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from .errors import RenderError

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment


@cache
def sandbox() -> SandboxedEnvironment:
    """One sandboxed Jinja environment for manifest expressions and event fields; immutable, so that an expression
    cannot change the answers the next one sees."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(keep_trailing_newline=False)


@cache
def _expression(expression: str) -> Callable[..., Any]:
    return sandbox().compile_expression(expression)


def check_syntax(expression: str, *, template: bool = False) -> None:
    """Raise ValueError naming the problem when `expression` (or a `template`, for messages) does not compile."""
    from jinja2 import TemplateSyntaxError

    try:
        if template:
            sandbox().from_string(expression)
        else:
            _expression(expression)
    except TemplateSyntaxError as exc:
        kind = "template" if template else "expression"
        raise ValueError(f"{expression!r} is not a valid Jinja {kind}: {exc}") from None


def evaluate(expression: str, answers: Mapping[str, Any]) -> bool:
    """Evaluate a manifest expression against the answers."""
    try:
        return bool(_expression(expression)(**answers))
    except Exception as exc:  # a malformed expression is a blueprint bug, reported as such
        raise RenderError(f"blueprint expression {expression!r} failed: {exc}") from None


def render_text(template: str, answers: Mapping[str, Any]) -> str:
    """Render a manifest message template (sandboxed) with the answers as variables."""
    try:
        return sandbox().from_string(template).render(**answers)
    except Exception as exc:
        raise RenderError(f"blueprint message {template!r} failed: {exc}") from None
