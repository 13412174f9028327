"""Does a sample event look like what the function's trigger sends? The keys each service's event has.

Not a full schema: enough to catch an event written for another trigger, a hand edit that dropped a key, or a
file that is not an event at all. The trigger comes from the template (the SAM event type, or the function URL).
"""

from __future__ import annotations

from typing import Any

HTTP_V2 = ("version", "rawPath", "requestContext.http.method", "headers")
HTTP_V1 = ("httpMethod", "path", "requestContext", "headers")
EVENTBRIDGE = ("source", "detail-type", "detail")
# trigger -> (the list of records, when there is one; the keys each record or the event must have)
SHAPES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "S3": ("Records", ("eventSource", "eventName", "s3.bucket.name", "s3.object.key")),
    "SQS": ("Records", ("eventSource", "messageId", "body")),
    "SNS": ("Records", ("EventSource", "Sns.Message")),
    "Kinesis": ("Records", ("eventSource", "kinesis.data", "kinesis.partitionKey")),
    "DynamoDB": ("Records", ("eventSource", "eventName", "dynamodb")),
    "HttpApi": (None, HTTP_V2),
    "FunctionUrl": (None, HTTP_V2),
    "HttpApi1.0": (None, HTTP_V1),
    "Api": (None, HTTP_V1),
    "Schedule": (None, EVENTBRIDGE),
    "EventBridgeRule": (None, EVENTBRIDGE),
    "CloudWatchEvent": (None, EVENTBRIDGE),
    "AlexaSkill": (None, ("version", "request.type", "context.System")),
    "CloudWatchLogs": (None, ("awslogs.data",)),
}
NAMES = {"HttpApi1.0": "HttpApi (payload 1.0)", "FunctionUrl": "function URL"}


def triggers(properties: dict[str, Any]) -> list[str]:
    """The shapes a function's events may have: its SAM event types (those with a known shape) and its URL."""
    found = []
    for event in (properties.get("Events") or {}).values():
        if not isinstance(event, dict):
            continue
        kind = str(event.get("Type", ""))
        if kind == "HttpApi" and str((event.get("Properties") or {}).get("PayloadFormatVersion")) == "1.0":
            kind = "HttpApi1.0"
        if kind in SHAPES:
            found.append(kind)
    if properties.get("FunctionUrlConfig"):
        found.append("FunctionUrl")
    return found


def _missing(value: Any, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        node = value
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return key
            node = node[part]
    return None


def shape_problem(event: Any, trigger: str) -> str | None:
    """Why `event` is not an event of `trigger` (the first key it lacks), or None."""
    records_key, keys = SHAPES[trigger]
    if records_key is None:
        missing = _missing(event, keys)
        return None if missing is None else f"no {missing}"
    records = event.get(records_key) if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        return f"no {records_key} list of records"
    for index, record in enumerate(records):
        missing = _missing(record, keys)
        if missing is not None:
            return f"no {records_key}[{index}].{missing}"
    return None


def event_problem(event: Any, kinds: list[str]) -> str | None:
    """None when the event fits one of the triggers (or there is none); else why it fits none."""
    if not kinds:
        return None
    problems = []
    for kind in dict.fromkeys(kinds):
        problem = shape_problem(event, kind)
        if problem is None:
            return None
        problems.append(f"as {NAMES.get(kind, kind)}: {problem}")
    return f"not an event of the function's trigger ({'; '.join(problems)})"
