"""The runner's public API for a project's own code and tests; `lambda_runner/__init__.py` re-exports it.

Everything here is a thin, stable front over the private layers below (see README.md): they may change in any
release, these names and signatures may not without a major version.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .config.template import FunctionConfig, read_functions, select_function
from .errors import RunnerError
from .events.catalog import build_event as _build_event
from .runtime.context import LambdaContext
from .runtime.result import Invocation

__all__ = ["FunctionConfig", "InvokeResult", "LambdaContext", "RunnerError", "build_event", "invoke", "read_function"]


# The result of `invoke()`: the runner's one record of an invocation (`runtime/result.py`), logs included.
InvokeResult = Invocation


def read_function(project: str | Path = ".", name: str | None = None) -> FunctionConfig:
    """The function `name` (a logical id) as `project`/template.yaml describes it; `name` may be left out when
    the template has one function. Raises `RunnerError` with the reason when there is no such function."""
    return select_function(read_functions(Path(project) / "template.yaml"), name)


def build_event(source: str, kind: str, **fields: object) -> dict[str, Any]:
    """A sample event of an AWS service, as `python -m lambda_runner event SOURCE KIND` prints it.

    `fields` override the defaults (`python -m lambda_runner event` lists them; underscores stand
    for dashes): `build_event("s3", "put", bucket="photos", key=["a.jpg", "b.jpg"], size=2048)`. A list gives a
    repeatable field several values. Raises `RunnerError` naming the valid choices for an unknown source, kind
    or field.
    """
    given: dict[str, str | list[str]] = {}
    for name, value in fields.items():
        if isinstance(value, (list, tuple)):
            given[name] = [_text(item) for item in value]
        else:
            given[name] = _text(value)
    return _build_event(source, kind, given)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Mapping, Sequence)) and not isinstance(value, str):
        return json.dumps(value)
    return str(value)


def invoke(
    event: Any = None,
    *,
    project: str | Path = ".",
    function: str | None = None,
    mode: str = "inprocess",
    env: Mapping[str, str] | None = None,
    client_context: dict[str, Any] | None = None,
) -> InvokeResult:
    """Invoke the project's function once, in a fresh execution environment (a cold start), as Lambda would.

    `event` is any JSON value (None: `{}`), or `bytes` holding the JSON payload as sent. `mode` is where the
    handler runs: "inprocess" (this process; a debugger can stop in it), "isolated" (a child process that is
    killed at Timeout or MemorySize) or "emulate" (AWS's runtime interface client, awslambdaric). `env`
    overrides environment variables, like `invoke --env-vars`. The function's failures are in the result, not
    raised; `RunnerError` is raised only when the project, function or payload cannot be invoked at all.
    """
    from .sandboxes.choose import open_invoker

    payload = event if isinstance(event, bytes) else json.dumps({} if event is None else event).encode()
    config = read_function(project, function)
    log = io.StringIO()
    invoker = open_invoker(config, mode=mode, env_overrides=dict(env or {}), log=log)
    try:
        invocation = invoker.invoke(payload, client_context=client_context)
    finally:
        invoker.close()
    invocation.logs = log.getvalue()
    return invocation
