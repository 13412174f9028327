"""The contract between the platform (`invoke.py`) and a sandbox, where the function's code runs.

It sits below both: the platform drives any `Sandbox` through it, and each sandbox (in `sandboxes/`) reports a
`Step` for its INIT phase and for every invocation without knowing which invoker drives it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..runtime.function import Request

# How an environment ended, as a sandbox reports it in `Step.ended`.
TIMEOUT = "timeout"
MEMORY = "memory"
EXITED = "exited"


class Step:
    """What a sandbox reports for its INIT phase or for one invocation (a plain class: see `invoke.Invocation`)."""

    __slots__ = ("duration_ms", "ended", "error", "exit_reason", "memory_mb", "response")

    def __init__(
        self,
        error: dict[str, Any] | None,
        duration_ms: float,
        response: bytes | None = None,
        *,
        ended: str | None = None,  # the environment ended: TIMEOUT, MEMORY or EXITED
        exit_reason: str = "",  # for EXITED: "exit status 3", "signal: killed"
        memory_mb: int = 0,  # peak memory of the environment so far
    ) -> None:
        self.error = error
        self.duration_ms = duration_ms
        self.response = response
        self.ended = ended
        self.exit_reason = exit_reason
        self.memory_mb = memory_mb


class Sandbox(Protocol):
    """Where the function's code runs. After a Step with `ended` set, or a failed init, it is reset."""

    def init(self, limit_s: float) -> Step: ...

    def run(self, event: bytes, request: Request, timeout_s: float) -> Step: ...

    def reset(self) -> None: ...
