"""The environment variables a function sees, built the way Lambda builds them.

Lambda sets a fixed list of reserved variables (function name, memory, region, handler, log group and stream...),
then the function's own `Environment.Variables`. Locally the developer may override those from a SAM-shaped
`env.json` (`{"FunctionLogicalId": {...}, "Parameters": {...}}`) and from a `.env` file. Every execution mode
(in-process, isolated, emulated) builds its environment here so that they cannot drift apart.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path

from ..account import region
from ..errors import RunnerError, json_error
from .template import FunctionConfig

# The runner's package directory stands in for Lambda's /var/runtime.
RUNTIME_DIR = str(Path(__file__).resolve().parents[1])
CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def log_stream_name() -> str:
    """A fresh log stream name, `YYYY/MM/DD/[$LATEST]<32 hex>`: Lambda opens one per execution environment."""
    return time.strftime("%Y/%m/%d", time.gmtime()) + "/[$LATEST]" + os.urandom(16).hex()


def reserved_variables(function: FunctionConfig) -> dict[str, str]:
    """The variables the Lambda service itself sets for `function` (besides credentials and the trace id)."""
    variables = {
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": region(),
        "AWS_DEFAULT_REGION": region(),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "_HANDLER": function.handler,
        "LAMBDA_TASK_ROOT": str(function.code_dir),
        "LAMBDA_RUNTIME_DIR": RUNTIME_DIR,
        "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name(),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_FORMAT": function.log_format,
        "TZ": "UTC",
        # Powertools' Tracer switches itself off under SAM local; without this it looks for an X-Ray segment.
        "AWS_SAM_LOCAL": "true",
    }
    if function.log_format.upper() == "JSON":
        # Lambda filters application logs only in JSON format, and then defaults to INFO.
        variables["AWS_LAMBDA_LOG_LEVEL"] = (function.application_log_level or "INFO").upper()
    return variables


def lambda_environment(
    function: FunctionConfig, overrides: Mapping[str, str] | None = None, *, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The complete environment of the function's process.

    Layers, later ones winning: the caller's environment (`base`, default `os.environ`, so PATH, virtualenv and
    proxy settings keep working), Lambda's reserved variables, dummy credentials when the caller has none (so
    SDK clients can be created offline instead of failing at import), the template's `Environment.Variables`,
    then `overrides` (env.json, .env, local AWS endpoints).
    """
    environment = dict(os.environ if base is None else base)
    environment.update(reserved_variables(function))
    if not any(name in environment for name in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE")):
        environment.update(dict.fromkeys(CREDENTIAL_VARIABLES, "local-dummy-credentials"))
    environment.update(function.environment)
    environment.update(overrides or {})
    return environment


def _as_env_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def read_env_vars_file(path: Path, function: FunctionConfig) -> dict[str, str]:
    """The overrides a SAM-shaped `env.json` holds for `function`.

    Like `sam local invoke --env-vars`: the `Parameters` section applies to every function, and the section
    named after the function (its logical id, or its physical name) applies to it alone and wins.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunnerError(f"--env-vars file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise json_error(path, exc) from None
    if not isinstance(data, dict) or not all(isinstance(section, dict) for section in data.values()):
        raise RunnerError(f'{path}: expected {{"FunctionLogicalId": {{"NAME": "value"}}, "Parameters": {{...}}}}')
    values: dict[str, str] = {}
    for section in ("Parameters", function.name, function.logical_id):
        values.update({key: _as_env_value(value) for key, value in data.get(section, {}).items()})
    return values


_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def _dotenv_value(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        inner = raw[1:-1]
        if raw[0] == '"':
            inner = inner.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        return inner
    return re.split(r"\s+#", raw, maxsplit=1)[0]


def read_dotenv(path: Path) -> dict[str, str]:
    """`KEY=value` lines of a `.env` file (comments, `export`, and quoted values as python-dotenv reads them)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise RunnerError(f"--dotenv file {path} does not exist") from None
    values: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _DOTENV_LINE.match(line)
        if match is None:
            raise RunnerError(f"{path} line {number}: expected KEY=value, got {line.strip()!r}")
        values[match.group(1)] = _dotenv_value(match.group(2))
    return values
