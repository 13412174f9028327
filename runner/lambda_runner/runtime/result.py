"""The one record of an invocation's result, filled in by each layer it passes through.

The runtime sets what the function produced (`payload`, `error`, `duration_ms`); the sandbox, how its
environment fared (`ended`, `exit_reason`, `max_memory_mb`); the platform, what Lambda reports (`request_id`,
`status`, `billed_ms`, `init_ms`, `cost_usd`, and Lambda's error for a timeout or a crash); `invoke()`, the
invocation's log stream (`logs`). It is also the public result of `lambda_runner.invoke` (`InvokeResult`).

A plain class, not a dataclass: importing `dataclasses` is over a tenth of a cold `invoke` (bench/README.md,
"Plain classes on the invoke path").
"""

from __future__ import annotations

import json
from typing import Any


class Invocation:
    """One invocation's result; see the module docstring for who sets what."""

    __slots__ = (
        "billed_ms",
        "cost_usd",
        "duration_ms",
        "ended",
        "error",
        "exit_reason",
        "init_ms",
        "logs",
        "max_memory_mb",
        "payload",
        "request_id",
        "status",
    )

    def __init__(
        self,
        payload: bytes | None = None,  # the serialized response exactly as Lambda returns it (None when failed)
        error: dict[str, Any] | None = None,  # Lambda's error JSON (errorMessage, errorType, stackTrace...)
        duration_ms: float = 0.0,
        *,
        ended: str | None = None,  # the environment ended: the sandbox's TIMEOUT, MEMORY or EXITED
        exit_reason: str = "",  # for EXITED: "exit status 3", "signal: killed"
        max_memory_mb: int = 0,  # the environment's peak memory, measured for real (ru_maxrss / VmHWM)
        request_id: str = "",
        status: str = "success",  # "success" | "error" | "timeout" | "oom"
        billed_ms: int = 0,  # ceil(duration [+ init on a cold start]) at 1 ms granularity
        init_ms: float | None = None,  # only on a cold start
        cost_usd: float = 0.0,  # at Lambda's on-demand prices (service/pricing.py)
        logs: str = "",  # the invocation's log stream, when the caller asked for it (`invoke()`)
    ) -> None:
        self.payload = payload
        self.error = error
        self.duration_ms = duration_ms
        self.ended = ended
        self.exit_reason = exit_reason
        self.max_memory_mb = max_memory_mb
        self.request_id = request_id
        self.status = status
        self.billed_ms = billed_ms
        self.init_ms = init_ms
        self.cost_usd = cost_usd
        self.logs = logs

    @property
    def ok(self) -> bool:
        return self.status == "success" and self.error is None

    @property
    def response(self) -> Any:
        """The handler's return value after the JSON round trip Lambda makes; None when it failed."""
        return json.loads(self.payload) if self.ok and self.payload is not None else None

    def __repr__(self) -> str:
        return f"Invocation({self.request_id!r}, status={self.status!r}, duration_ms={self.duration_ms:.2f})"
