"""The contract between the platform (`invoke.py`) and a sandbox, where the function's code runs.

It sits below both: the platform drives any `Sandbox` through it, and each sandbox (in `sandboxes/`) reports
its INIT phase and every invocation as the result record (`runtime.result.Invocation`: what the function
produced, how the environment fared) without knowing which invoker drives it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..runtime.function import Request
    from ..runtime.result import Invocation

# How an environment ended, as a sandbox reports it in `Invocation.ended`.
TIMEOUT = "timeout"
MEMORY = "memory"
EXITED = "exited"


class Sandbox(Protocol):
    """Where the function's code runs. After a result with `ended` set, or a failed init, it is reset."""

    def init(self, limit_s: float) -> Invocation: ...

    def run(self, event: bytes, request: Request, timeout_s: float) -> Invocation: ...

    def reset(self) -> None: ...
