"""Errors the local runner reports to its user.

`RunnerError` is a problem with the user's input (a missing template, an event file that is not JSON, an
unknown function): the command line prints its message on one line and exits with code 2. Failures of the
function itself are not exceptions of the runner: they are results, reported the way Lambda reports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import json


class RunnerError(Exception):
    """A one-line, user-facing problem with the runner's input; the message names the problem and the fix."""


def json_error(name: object, exc: json.JSONDecodeError, line: int | None = None) -> RunnerError:
    """`NAME: not valid JSON at line L column C: reason`; `line` overrides the line of a JSON Lines file."""
    return RunnerError(
        f"{name}: not valid JSON at line {exc.lineno if line is None else line} column {exc.colno}: {exc.msg}"
    )
