"""Choosing where a function's code runs: the one place that knows every sandbox.

It sits above the sandboxes (`inprocess`, `isolated`, `emulate`) and the platform they plug into, so that the
platform (`service/invoke.py`) never imports a sandbox and no sandbox imports another.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from ..config.template import FunctionConfig
from ..errors import RunnerError
from ..service.invoke import MODES, Invoker, PlatformInvoker
from ..service.sandbox import Sandbox


def open_invoker(
    function: FunctionConfig,
    *,
    mode: str = "inprocess",
    env_overrides: dict[str, str] | None = None,
    log: TextIO | None = None,
) -> Invoker:
    """An invoker for `function` whose handler runs in this process, in a warm child process, or under emulation.

    `inprocess` is fastest and lets a debugger stop in the handler (it enforces Timeout, but not MemorySize; a
    function that will not stop at its timeout is left behind and later environments start as `isolated` ones);
    `isolated` enforces both by killing the child, as Lambda does; `emulate` runs the real runtime client
    (awslambdaric) against a local Runtime API. Platform lines and the function's output go to `log` (default:
    stderr).
    """
    log = sys.stderr if log is None else log
    if mode == "isolated" and os.name == "nt":
        raise RunnerError("--isolated needs Linux or macOS (WSL on Windows): it watches a child process over pipes")
    if not function.code_dir.is_dir():
        raise RunnerError(f"the CodeUri of {function.logical_id}, {function.code_dir}, is not a folder")
    if mode == "emulate":
        from .emulate import EmulatedInvoker

        return EmulatedInvoker(function, env_overrides=env_overrides, log=log)
    sandbox: Sandbox
    overrides = env_overrides or {}
    if mode == "isolated":
        from .isolated import IsolatedSandbox

        sandbox = IsolatedSandbox(function, overrides, log)
    elif mode == "inprocess":
        from .inprocess import InProcessSandbox

        def isolated() -> Sandbox:
            from .isolated import IsolatedSandbox

            return IsolatedSandbox(function, overrides, log)

        sandbox = InProcessSandbox(function, overrides, log, fallback=isolated)
    else:
        raise RunnerError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
    return PlatformInvoker(function, sandbox, log)
