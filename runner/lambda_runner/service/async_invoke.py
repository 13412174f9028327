"""Asynchronous (`Event`) invocation: accepted at once, retried on failure, then sent to a destination or dropped.

Lambda queues an Event invocation (the caller gets StatusCode 202 and no payload), runs it, and on a function
error (an exception, a timeout, a crash) runs it again, twice by default (`MaximumRetryAttempts`), waiting
about one then two minutes. When every attempt failed the invocation record goes to the `OnFailure`
destination of `EventInvokeConfig` and the event to the `DeadLetterQueue`, or the event is lost. Reproducing
this locally shows whether a handler is safe to retry, and where its failures would end up.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..config.template import FunctionConfig
from ..runtime.result import Invocation
from .invoke import ASYNC_PAYLOAD_LIMIT, Invoker, check_request_size
from .reports import iso_timestamp


@dataclass
class AsyncResult:
    """Every attempt of one Event invocation, and where its outcome was sent."""

    attempts: list[Invocation]
    record: dict[str, Any]
    destinations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.attempts[-1].ok


def _payload(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", errors="replace")


def invocation_record(function: FunctionConfig, event: bytes, last: Invocation, attempts: int) -> dict[str, Any]:
    """The record Lambda sends to an OnSuccess/OnFailure destination."""
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if not last.ok:
        response_context["functionError"] = "Unhandled"
    return {
        "version": "1.0",
        "timestamp": iso_timestamp(),
        "requestContext": {
            "requestId": last.request_id,
            "functionArn": f"{function.arn}:$LATEST",
            "condition": "Success" if last.ok else "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": _payload(event),
        "responseContext": response_context,
        "responsePayload": _payload(last.payload) if last.ok else last.error,
    }


def invoke_async(invoker: Invoker, event: bytes, *, log: TextIO) -> AsyncResult:
    """Run an Event invocation with Lambda's retries (without its waits) and report where the outcome goes."""
    check_request_size(event, ASYNC_PAYLOAD_LIMIT)
    function = invoker.function
    total = function.max_retry_attempts + 1
    attempts: list[Invocation] = []
    request_id = str(uuid.uuid4())  # Lambda retries an event under the request id of its first attempt
    for number in range(1, total + 1):
        attempts.append(invoker.invoke(event, request_id=request_id))
        if attempts[-1].ok:
            break
        if number < total:
            wait = "1 minute" if number == 1 else "2 minutes"
            log.write(f"ASYNC Attempt {number} of {total} failed; Lambda retries after about {wait}, here at once\n")
    last = attempts[-1]
    result = AsyncResult(attempts, invocation_record(function, event, last, len(attempts)))
    if last.ok:
        if function.on_success:
            result.destinations.append(function.on_success)
            log.write(
                f"ASYNC Succeeded; the invocation record goes to the OnSuccess destination {function.on_success}\n"
            )
    else:
        failed = f"ASYNC Failed after {len(attempts)} attempt{'s' if len(attempts) > 1 else ''}"
        if function.on_failure:
            result.destinations.append(function.on_failure)
            log.write(f"{failed}; the invocation record goes to the OnFailure destination {function.on_failure}\n")
        if function.dead_letter_queue:
            result.destinations.append(function.dead_letter_queue)
            error_message = (last.error or {}).get("errorMessage", "")
            log.write(
                f"{failed}; the event goes to the DeadLetterQueue {function.dead_letter_queue}"
                f" (attributes RequestID={last.request_id}, ErrorCode=200, ErrorMessage={error_message})\n"
            )
        if not result.destinations:
            log.write(f"{failed}; no OnFailure destination or DeadLetterQueue is configured: the event is dropped\n")
    if function.on_success if last.ok else function.on_failure:
        log.write("ASYNC Invocation record: " + json.dumps(result.record) + "\n")
    log.flush()
    return result
