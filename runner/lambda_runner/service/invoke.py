"""Invoking a function as the Lambda platform does: limits, cold and warm starts, and the platform's reports.

An `Invoker` owns one execution environment of one function. The platform logic lives here once, for every
mode: request and response size limits, a new request id and trace id per call, the INIT phase on a cold start,
the START/END/REPORT lines, turning a timeout, an out-of-memory kill or an exiting runtime into Lambda's error,
and discarding the environment after those so that the next call is a cold start. Where the handler runs is a
`Sandbox`: in this process (`inprocess.py`), or in a warm child process that can be killed (`isolated.py`).
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any, Protocol, TextIO

from .. import facts
from ..config.template import FunctionConfig
from ..errors import RunnerError
from ..runtime.function import Request
from .pricing import cost_line, invocation_cost
from .reports import PlatformLog, billed_ms, exit_message, timeout_message
from .sandbox import EXITED, MEMORY, TIMEOUT, Sandbox, Step

SYNC_PAYLOAD_LIMIT = facts.SYNC_PAYLOAD_BYTES
RESPONSE_LIMIT = facts.RESPONSE_BYTES
ASYNC_PAYLOAD_LIMIT = facts.ASYNC_PAYLOAD_BYTES
INIT_TIMEOUT_S = facts.INIT_TIMEOUT_S
MODES = ("inprocess", "isolated", "emulate")


class PayloadTooLarge(RunnerError):
    """The Invoke API refuses the request before any function code runs."""


def check_request_size(event: bytes, limit: int) -> None:
    """Refuse a request payload over `limit` bytes with the Invoke API's error."""
    if len(event) > limit:
        raise PayloadTooLarge(
            f"RequestEntityTooLargeException: Request must be smaller than {limit} bytes for the InvokeFunction "
            f"operation (this event is {len(event)} bytes)"
        )


class Invocation:
    """The result of one invocation, as the caller and the REPORT line see it.

    The records on the path of a one-shot `invoke` (this one, `Step`, `Request`, `Outcome`, `FunctionConfig`)
    are plain classes, not dataclasses: importing `dataclasses` (which imports `inspect`) is over a tenth of a
    cold `invoke`. Measured 2026-11-30 in bench/bench_runner.py's project, minimum of 15 runs on a loaded
    machine: `python -c "import dataclasses"` 168 ms against `python -c pass` 71 ms, a cold `invoke` 635 ms,
    so 97 ms, 15 % of the command.
    """

    __slots__ = (
        "billed_ms",
        "cost_usd",
        "duration_ms",
        "error",
        "init_ms",
        "max_memory_mb",
        "request_id",
        "response",
        "status",
    )

    def __init__(
        self,
        request_id: str,
        response: bytes | None,  # the serialized response payload exactly as Lambda returns it (None when failed)
        error: dict[str, Any] | None,  # Lambda's error JSON when failed
        status: str,  # "success" | "error" | "timeout" | "oom"
        duration_ms: float,
        billed_ms: int,  # ceil(duration [+ init on a cold start]) at 1 ms granularity
        init_ms: float | None,  # only on a cold start
        max_memory_mb: int,  # measured for real (ru_maxrss / VmHWM)
        cost_usd: float = 0.0,  # at Lambda's on-demand prices (service/pricing.py)
    ) -> None:
        self.request_id = request_id
        self.response = response
        self.error = error
        self.status = status
        self.duration_ms = duration_ms
        self.billed_ms = billed_ms
        self.init_ms = init_ms
        self.max_memory_mb = max_memory_mb
        self.cost_usd = cost_usd

    def __repr__(self) -> str:
        return f"Invocation({self.request_id!r}, status={self.status!r}, duration_ms={self.duration_ms:.2f})"

    @property
    def ok(self) -> bool:
        return self.status == "success"


class Invoker(Protocol):
    """One warm-able execution environment of `function`."""

    function: FunctionConfig

    def invoke(
        self, event: bytes, *, client_context: dict[str, Any] | None = None, request_id: str | None = None
    ) -> Invocation: ...

    def close(self) -> None: ...


def new_trace_id(*, sampled: bool) -> str:
    """An X-Ray trace header for one invocation, as Lambda puts it in `_X_AMZN_TRACE_ID`."""
    random = os.urandom(20).hex()  # 96 bits for the root id, 64 for the parent segment id
    return f"Root=1-{int(time.time()):08x}-{random[:24]};Parent={random[24:]};Sampled={1 if sampled else 0}"


def conclude(
    function: FunctionConfig,
    platform: PlatformLog,
    request_id: str,
    trace_id: str | None,
    step: Step,
    init_ms: float | None,
    limit_s: float,
    *,
    warm: bool,
) -> tuple[Invocation, list[str]]:
    """The invocation a sandbox's `step` amounts to, and the platform lines that end it (END, REPORT...).

    `warm` says the environment was initialized (an invocation that times out is then billed for the whole
    timeout). Besides `PlatformInvoker`, start-api's supervisor uses it for an environment it had to kill.
    """
    response, error, status = step.response, step.error, "success"
    duration, memory = step.duration_ms, step.memory_mb
    after: list[str] = []
    if step.ended == TIMEOUT:
        status, message = "timeout", timeout_message(request_id, limit_s)
        error = {"errorMessage": message, "errorType": "Sandbox.Timedout"}
        if warm:  # an invocation that times out is billed for the full timeout
            duration = limit_s * 1000.0
        after = [message]
    elif step.ended in (MEMORY, EXITED):
        reason = "signal: killed" if step.ended == MEMORY else step.exit_reason
        status = "oom" if step.ended == MEMORY else "error"
        error = {"errorMessage": exit_message(request_id, reason), "errorType": "Runtime.ExitError"}
        memory = function.memory_size if step.ended == MEMORY else memory
        after = [error["errorMessage"], "Runtime.ExitError"]
    elif error is not None:
        status, error = "error", {**error, "requestId": request_id}
    elif response is not None and len(response) > RESPONSE_LIMIT:
        status, response = "error", None
        limit = f"({RESPONSE_LIMIT} bytes)"
        error = {
            "errorMessage": f"Response payload size exceeded maximum allowed payload size {limit}.",
            "errorType": "Function.ResponseSizeTooLarge",
        }
    billed = billed_ms(duration, init_ms)
    invocation = Invocation(
        request_id,
        response if status == "success" else None,
        error,
        status,
        duration,
        billed,
        init_ms,
        memory,
        invocation_cost(function.memory_size, billed, function.architecture, function.ephemeral_storage),
    )
    platform_status = "error" if status == "oom" else status  # the Telemetry API's statuses
    error_type = "Runtime.OutOfMemory" if status == "oom" else None if error is None else error.get("errorType")
    lines = [
        *after,  # Lambda writes the timeout or exit error before END
        platform.end(
            request_id,
            platform_status,
            duration_ms=step.duration_ms,
            produced_bytes=len(invocation.response or b""),
            error_type=error_type,
        ),
        platform.report(
            request_id,
            duration_ms=duration,
            billed=invocation.billed_ms,
            memory_size=function.memory_size,
            max_memory_mb=memory,
            init_ms=init_ms,
            status=platform_status,
            error_type=error_type,
            ended=step.ended is not None,
        ),
    ]
    if function.tracing and trace_id:
        lines.append(platform.xray(trace_id))
    return invocation, lines


class PlatformInvoker:
    """The Lambda platform around one sandbox: see the module docstring."""

    def __init__(self, function: FunctionConfig, sandbox: Sandbox, log: TextIO, *, cost: bool = True) -> None:
        self.function = function
        self.sandbox = sandbox
        self.log = log
        self.cost = cost  # a COST line after each REPORT: what the invocation costs at Lambda's prices
        self.platform = PlatformLog(json_format=function.platform_log_json, system_log_level=function.system_log_level)
        self.warm = False
        self._arn = function.arn
        # A line-buffered stream (stderr) has written a complete line by itself: no second flush per line.
        self._flush_lines = not getattr(log, "line_buffering", False)

    def _emit(self, *lines: str) -> None:
        if self.platform.enabled:
            self.log.write("\n".join(lines) + "\n")
            if self._flush_lines:
                self.log.flush()

    def invoke(
        self, event: bytes, *, client_context: dict[str, Any] | None = None, request_id: str | None = None
    ) -> Invocation:
        """One invocation; `request_id` is given for the retries of an asynchronous one, which keep their id."""
        check_request_size(event, SYNC_PAYLOAD_LIMIT)
        request_id = request_id or str(uuid.uuid4())
        trace_id = new_trace_id(sampled=self.function.tracing)
        init_ms = None
        step = None
        limit_s = INIT_TIMEOUT_S
        if not self.warm:
            step = self.sandbox.init(limit_s)
            init_ms = step.duration_ms
            self.warm = step.error is None and step.ended is None
            self._arn = self.function.arn  # as the environment sees it (its AWS_REGION), for its whole life
        self._emit(self.platform.start(request_id))
        if self.warm:
            limit_s = float(self.function.timeout)
            request = Request(
                request_id,
                int(time.time() * 1000 + self.function.timeout * 1000),
                self._arn,
                trace_id,
                client_context,
            )
            step = self.sandbox.run(event, request, limit_s)
        else:  # a failed init is the invocation's result; its time is already counted as init
            assert step is not None
            step.duration_ms = 0.0
        return self._finish(request_id, trace_id, step, init_ms, limit_s)

    def _finish(self, request_id: str, trace_id: str, step: Step, init_ms: float | None, limit_s: float) -> Invocation:
        invocation, lines = conclude(
            self.function, self.platform, request_id, trace_id, step, init_ms, limit_s, warm=self.warm
        )
        if step.ended is not None or not self.warm:
            self.sandbox.reset()
            self.warm = False
        self._emit(*lines)
        if self.cost:
            function = self.function
            self.log.write(
                cost_line(function.memory_size, invocation.billed_ms, function.architecture, function.ephemeral_storage)
                + "\n"
            )
            if self._flush_lines:
                self.log.flush()
        return invocation

    def close(self) -> None:
        self.sandbox.reset()
        self.warm = False
