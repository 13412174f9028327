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
from ..runtime.result import Invocation
from .pricing import cost_line, invocation_cost
from .reports import PlatformLog, billed_ms, exit_message, timeout_message
from .sandbox import EXITED, MEMORY, TIMEOUT, Sandbox

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
    result: Invocation,
    init_ms: float | None,
    limit_s: float,
    *,
    warm: bool,
) -> tuple[Invocation, list[str]]:
    """The sandbox's `result` completed as Lambda reports it (status, billing, its error for a timeout or a
    crash), and the platform lines that end the invocation (END, REPORT...).

    `warm` says the environment was initialized (an invocation that times out is then billed for the whole
    timeout).
    """
    response, error, status = result.payload, result.error, "success"
    duration, memory = result.duration_ms, result.max_memory_mb
    step_duration = result.duration_ms
    after: list[str] = []
    if result.ended == TIMEOUT:
        status, message = "timeout", timeout_message(request_id, limit_s)
        error = {"errorMessage": message, "errorType": "Sandbox.Timedout"}
        if warm:  # an invocation that times out is billed for the full timeout
            duration = limit_s * 1000.0
        after = [message]
    elif result.ended in (MEMORY, EXITED):
        reason = "signal: killed" if result.ended == MEMORY else result.exit_reason
        status = "oom" if result.ended == MEMORY else "error"
        error = {"errorMessage": exit_message(request_id, reason), "errorType": "Runtime.ExitError"}
        memory = function.memory_size if result.ended == MEMORY else memory
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
    result.request_id = request_id
    result.payload = response if status == "success" else None
    result.error = error
    result.status = status
    result.duration_ms = duration
    result.billed_ms = billed
    result.init_ms = init_ms
    result.max_memory_mb = memory
    result.cost_usd = invocation_cost(function.memory_size, billed, function.architecture, function.ephemeral_storage)
    platform_status = "error" if status == "oom" else status  # the Telemetry API's statuses
    error_type = "Runtime.OutOfMemory" if status == "oom" else None if error is None else error.get("errorType")
    lines = [
        *after,  # Lambda writes the timeout or exit error before END
        platform.end(
            request_id,
            platform_status,
            duration_ms=step_duration,
            produced_bytes=len(result.payload or b""),
            error_type=error_type,
        ),
        platform.report(
            request_id,
            duration_ms=duration,
            billed=billed,
            memory_size=function.memory_size,
            max_memory_mb=memory,
            init_ms=init_ms,
            status=platform_status,
            error_type=error_type,
            ended=result.ended is not None,
        ),
    ]
    if function.tracing and trace_id:
        lines.append(platform.xray(trace_id))
    return result, lines


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

    def _finish(
        self, request_id: str, trace_id: str, step: Invocation, init_ms: float | None, limit_s: float
    ) -> Invocation:
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
