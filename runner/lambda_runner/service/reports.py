"""The platform's own log lines and billing arithmetic: START, END, REPORT, XRAY, timeouts and runtime exits.

These lines are what developers grep for in CloudWatch, so they are reproduced to the character: fields are
tab-separated, `Init Duration` appears only on a cold start, then `Status` (and `Error Type`) only when the
invocation timed out or the runtime crashed, durations have two decimals, and the
billed duration is rounded up to the next millisecond and, since 1 August 2025, includes the INIT phase of an
on-demand ZIP function. With `LogFormat: JSON` Lambda writes them as `platform.*` JSON records instead.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

_QUIET_SYSTEM_LEVELS = frozenset({"WARN", "ERROR", "FATAL"})
# The Telemetry API's statuses that carry an `errorType` (a timeout carries none).
_ERROR_STATUSES = frozenset({"error", "failure"})


def billed_ms(duration_ms: float, init_ms: float | None = None) -> int:
    """Billed duration: invoke time plus, on a cold start, init time, rounded up to 1 ms (at least 1 ms)."""
    total = duration_ms + (init_ms or 0.0)
    return max(1, math.ceil(round(total, 6)))


def iso_timestamp(epoch_s: float | None = None) -> str:
    """`2020-11-10T05:46:57.874Z`: the UTC timestamp Lambda puts on platform messages."""
    from datetime import datetime, timezone  # only here: the text START/END/REPORT lines need no dates

    moment = datetime.fromtimestamp(time.time() if epoch_s is None else epoch_s, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def timeout_message(request_id: str, timeout_s: float) -> str:
    """`<timestamp> <request id> Task timed out after 3.00 seconds`: both the log line and the errorMessage."""
    return f"{iso_timestamp()} {request_id} Task timed out after {timeout_s:.2f} seconds"


def exit_message(request_id: str, reason: str) -> str:
    """`RequestId: <id> Error: Runtime exited with error: exit status 1`, or without a reason for status 0."""
    if reason == "exit status 0":
        return f"RequestId: {request_id} Error: Runtime exited without providing a reason"
    return f"RequestId: {request_id} Error: Runtime exited with error: {reason}"


class PlatformLog:
    """Formats the platform lines of one function, in its LoggingConfig's format."""

    def __init__(self, *, json_format: bool, system_log_level: str | None = None) -> None:
        self.json_format = json_format
        # In JSON format, SystemLogLevel WARN or above hides the (INFO level) START/END/REPORT records.
        self.enabled = not (json_format and (system_log_level or "").upper() in _QUIET_SYSTEM_LEVELS)

    def _record(self, kind: str, record: dict[str, Any]) -> str:
        return json.dumps({"time": iso_timestamp(), "type": kind, "record": record})

    def start(self, request_id: str) -> str:
        if self.json_format:
            return self._record("platform.start", {"requestId": request_id, "version": "$LATEST"})
        return f"START RequestId: {request_id} Version: $LATEST"

    def end(
        self,
        request_id: str,
        status: str,
        *,
        duration_ms: float = 0.0,
        produced_bytes: int = 0,
        error_type: str | None = None,
    ) -> str:
        if self.json_format:
            record: dict[str, Any] = {"requestId": request_id, "status": status}
            if error_type and status in _ERROR_STATUSES:
                record["errorType"] = error_type
            record["metrics"] = {"durationMs": round(duration_ms, 3), "producedBytes": produced_bytes}
            return self._record("platform.runtimeDone", record)
        return f"END RequestId: {request_id}"

    def report(
        self,
        request_id: str,
        *,
        duration_ms: float,
        billed: int,
        memory_size: int,
        max_memory_mb: int,
        init_ms: float | None,
        status: str,
        error_type: str | None = None,
        ended: bool = False,
    ) -> str:
        """The REPORT line; `ended` says the invocation ended the environment (a timeout, a crash).

        Lambda's text REPORT then names the outcome last, `Status: timeout`, or `Status: error` and the
        `Error Type` (the lifecycle page of the Lambda developer guide, "Failures during the invoke phase").
        """
        if self.json_format:
            metrics: dict[str, Any] = {
                "durationMs": round(duration_ms, 2),
                "billedDurationMs": billed,
                "memorySizeMB": memory_size,
                "maxMemoryUsedMB": max_memory_mb,
            }
            if init_ms is not None:
                metrics["initDurationMs"] = round(init_ms, 2)
            record: dict[str, Any] = {"requestId": request_id, "metrics": metrics, "status": status}
            if error_type and status in _ERROR_STATUSES:
                record["errorType"] = error_type
            return self._record("platform.report", record)
        init = "" if init_ms is None else f"\tInit Duration: {init_ms:.2f} ms"
        outcome = ""
        if ended:
            outcome = f"\tStatus: {status}"
            if error_type and status in _ERROR_STATUSES:
                outcome += f"\tError Type: {error_type}"
        return (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {billed} ms\t"
            f"Memory Size: {memory_size} MB\tMax Memory Used: {max_memory_mb} MB{init}{outcome}"
        )

    @staticmethod
    def xray(trace_id: str) -> str:
        """The XRAY line printed after REPORT when the function has `Tracing: Active`."""
        parts = dict(part.split("=", 1) for part in trace_id.split(";") if "=" in part)
        return f"XRAY TraceId: {parts.get('Root', '')}\tSegmentId: {parts.get('Parent', '')}\tSampled: true"
