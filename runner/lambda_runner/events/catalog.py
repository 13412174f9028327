"""Realistic sample events for every trigger a generated project uses, from one source.

Two callers share these shapes: `python -m lambda_runner event SOURCE KIND --field value` (a developer wants a
payload to invoke with) and slsgen's generator, which writes each new project's `events/*.json` by calling
`build_event` at generation time. The local HTTP server (`api.py`) reuses the HTTP builders below for every real
request, so a handler sees the same shape whether it is invoked from a file or through `start-api`.

Output is deterministic unless a field says otherwise: ids, timestamps and request ids are fixed (or derived
from the record's position), so generated projects and their tests are reproducible. The region is the one the
runner pretends to be in (`template.region()`), so ARNs agree with the names the local AWS mode creates.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..account import ACCOUNT_ID, region
from ..errors import RunnerError
from .http_events import (
    HttpRequest,
    function_url_event,
    http_api_event,
    is_text_content,
    match_route,
    rest_api_event,
    route_specificity,
)
from .record_events import (
    S3Object,
    dynamodb_event,
    eventbridge_event,
    kinesis_event,
    s3_event,
    s3_key_in_event,
    sns_event,
    sqs_event,
    to_dynamodb_json,
)
from .samples import API_ID, FIXED_TIME, SAMPLE_USER_AGENT, URL_ID, iso_seconds, stable_id

# ------------------------------------------------------------------------------------------------------- Alexa


def alexa_event(
    request_type: str,
    *,
    skill_id: str,
    locale: str = "en-US",
    intent: str | None = None,
    slots: Mapping[str, str] | None = None,
    reason: str = "USER_INITIATED",
    new_session: bool = True,
    time: datetime = FIXED_TIME,
) -> dict[str, Any]:
    """An Alexa Skills Kit request envelope (LaunchRequest, IntentRequest or SessionEndedRequest)."""
    user_id = "amzn1.ask.account.LOCALTESTUSER"
    application = {"applicationId": skill_id}
    request: dict[str, Any] = {
        "type": request_type,
        "requestId": f"amzn1.echo-api.request.{stable_id('alexa', request_type, intent)}",
        "timestamp": iso_seconds(time),
        "locale": locale,
    }
    if request_type == "IntentRequest":
        request["dialogState"] = "COMPLETED"
        request["intent"] = {"name": intent, "confirmationStatus": "NONE"}
        if slots:
            request["intent"]["slots"] = {
                name: {"name": name, "value": value, "confirmationStatus": "NONE"} for name, value in slots.items()
            }
    elif request_type == "SessionEndedRequest":
        request["reason"] = reason
        if reason == "ERROR":
            request["error"] = {"type": "INVALID_RESPONSE", "message": "The skill's response was not valid"}
    return {
        "version": "1.0",
        "session": {
            "new": new_session,
            "sessionId": f"amzn1.echo-api.session.{stable_id('alexa-session', skill_id)}",
            "application": application,
            "attributes": {},
            "user": {"userId": user_id},
        },
        "context": {
            "System": {
                "application": dict(application),
                "user": {"userId": user_id},
                "device": {"deviceId": "amzn1.ask.device.LOCALTESTDEVICE", "supportedInterfaces": {}},
                "apiEndpoint": "https://api.amazonalexa.com",
                "apiAccessToken": "local-test-access-token",
            }
        },
        "request": request,
    }


# ------------------------------------------------------------------------------------- the `event` command's table


@dataclass(frozen=True)
class _Field:
    default: str
    help: str
    repeatable: bool = False


_HTTP_FIELDS = {
    "method": _Field("GET", "HTTP method"),
    "path": _Field("/", "request path, percent-encoded as sent"),
    "query": _Field("", "query string, e.g. 'a=1&b=2' ('name=A d' is sent as name=A%20d, as a browser sends it)"),
    "body": _Field("", "request body; @FILE reads it from a file"),
    "header": _Field("", "'Name: value'; repeat the field, or put one header per line", repeatable=True),
    "cookie": _Field("", "cookies as in a Cookie header: 'a=1; b=2'"),
    "source-ip": _Field("127.0.0.1", "client address"),
}

_SPECS: dict[str, dict[str, _Field]] = {
    "apigw-http": {
        **_HTTP_FIELDS,
        "route": _Field("$default", "route key: $default, or 'GET /items/{id}' to fill pathParameters"),
        "stage": _Field("$default", "stage name"),
    },
    "apigw-rest": {
        **_HTTP_FIELDS,
        "resource": _Field("", "resource path, e.g. /items/{id} (default: the path)"),
        "stage": _Field("Prod", "stage name (SAM's implicit API uses Prod)"),
        "binary-types": _Field("", "the API's BinaryMediaTypes, comma-separated, e.g. image/png,*/*"),
    },
    "function-url": {
        **_HTTP_FIELDS,
        "auth-type": _Field("NONE", "the URL's AuthType: NONE or AWS_IAM (adds requestContext.authorizer.iam)"),
    },
    "s3": {
        "bucket": _Field("my-bucket", "bucket name"),
        "key": _Field(
            "uploads/photo.jpg",
            "object key, unencoded (the event carries it URL-encoded); repeat the field, or put one key per line, "
            "for one record per key",
            repeatable=True,
        ),
        "size": _Field("1024", "object size in bytes (put only)"),
        "etag": _Field("", "object ETag (put only; default: derived from the key)"),
    },
    "sqs": {
        "body": _Field(
            '{"message": "hello"}',
            "message body (always a string in the event); repeat the field for one record per body",
            repeatable=True,
        ),
        "queue": _Field("my-queue", "queue name; a name ending in .fifo adds FIFO attributes"),
        "count": _Field("1", "how many times the bodies repeat, each record with its own messageId"),
    },
    "kinesis": {
        "data": _Field(
            '{"message": "hello"}',
            "record payload (the event carries it base64-encoded); repeat the field for one record per payload",
            repeatable=True,
        ),
        "stream": _Field("my-stream", "stream name"),
        "partition-key": _Field("1", "partition key"),
        "count": _Field("1", "how many times the payloads repeat"),
    },
    "dynamodb": {
        "table": _Field("my-table", "table name"),
        "keys": _Field('{"id": "1"}', "primary key as plain JSON"),
        "new-image": _Field('{"message": "hello"}', "new item as plain JSON (insert, modify)"),
        "old-image": _Field('{"message": "hi"}', "old item as plain JSON (modify, remove)"),
        "view-type": _Field(
            "NEW_AND_OLD_IMAGES", "StreamViewType: KEYS_ONLY, NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES"
        ),
    },
    "schedule": {
        "rule": _Field("my-schedule", "EventBridge rule name"),
    },
    "eventbridge": {
        "source": _Field("com.example.app", "event source"),
        "detail-type": _Field("Example Event", "event detail-type"),
        "detail": _Field("{}", "event detail as JSON"),
    },
    "sns": {
        "message": _Field('{"message": "hello"}', "message text"),
        "subject": _Field("", "message subject (default: none)"),
        "topic": _Field("my-topic", "topic name"),
    },
    "alexa": {
        "intent": _Field("HelloWorldIntent", "intent name (intent only)"),
        "slots": _Field("", "slot values, comma-separated: name=Ada,city=Paris (intent only)"),
        "locale": _Field("en-US", "request locale"),
        "skill-id": _Field(
            "amzn1.ask.skill.00000000-0000-0000-0000-000000000000",
            "skill id (session.application and context.System.application)",
        ),
        "reason": _Field("USER_INITIATED", "why the session ended: USER_INITIATED, ERROR, EXCEEDED_MAX_REPROMPTS"),
        "new-session": _Field("true", "whether session.new is true"),
    },
}

FIELDS: dict[str, dict[str, str]] = {
    source: {
        name: spec.help + (f" (default: {spec.default!r})" if spec.default else "") for name, spec in specs.items()
    }
    for source, specs in _SPECS.items()
}
"""Per source: each `--field` the `event` command accepts, with what it means and its default."""


class _Fields:
    """The user's `--field value` pairs for one source, checked against its table, with defaults filled in."""

    def __init__(self, source: str, given: Mapping[str, str | Sequence[str]]) -> None:
        self.source = source
        self.specs = _SPECS[source]
        self.values: dict[str, list[str]] = {}
        for raw_name, value in given.items():
            name = raw_name.replace("_", "-").lstrip("-")
            if name not in self.specs:
                raise RunnerError(f"{source} events have no field {raw_name!r}; choose from: {', '.join(self.specs)}")
            values = [value] if isinstance(value, str) else list(value)
            if len(values) > 1 and not self.specs[name].repeatable:
                raise RunnerError(f"--{name} was given {len(values)} times; it takes one value")
            self.values[name] = values

    def text(self, name: str) -> str:
        return self.values.get(name, [self.specs[name].default])[-1]

    def every(self, name: str) -> list[str]:
        """Every value of a repeatable field, as given (each may span lines); its default when not given."""
        return self.values.get(name, [self.specs[name].default])

    def lines(self, name: str) -> list[str]:
        found = self.values.get(name, [self.specs[name].default])
        return [line for value in found for line in value.splitlines() if line.strip()]

    def integer(self, name: str, minimum: int = 0) -> int:
        text = self.text(name)
        if not text.strip().isdigit() or int(text) < minimum:
            raise RunnerError(f"--{name} must be a whole number of at least {minimum}, not {text!r}")
        return int(text)

    def flag(self, name: str) -> bool:
        text = self.text(name).strip().lower()
        if text not in ("true", "false", "yes", "no", "1", "0"):
            raise RunnerError(f"--{name} must be true or false, not {text!r}")
        return text in ("true", "yes", "1")

    def json(self, name: str) -> Any:
        text = self.text(name)
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise RunnerError(f"--{name} must be JSON ({exc.msg}): {text!r}") from None

    def json_object(self, name: str) -> dict[str, Any]:
        value = self.json(name)
        if not isinstance(value, dict):
            raise RunnerError(f"--{name} must be a JSON object like {self.specs[name].default}")
        return value


# What a client leaves as is in a query string: unreserved characters, sub-delimiters, ':@/?' and '%' (so that an
# already percent-encoded query stays unchanged). Anything else (spaces, non-ASCII text) is percent-encoded.
_QUERY_SAFE = "-._~!$&'()*+,;=:@/?%"


def _as_sent(query: str) -> str:
    """The query string as it reaches API Gateway: `name=A d` is sent as `name=A%20d` (rawQueryString)."""
    return quote(query, safe=_QUERY_SAFE)


def _sample_request(fields: _Fields, host: str) -> HttpRequest:
    """An HttpRequest from `--method/--path/...`, with the headers a curl call through the gateway would carry."""
    body_text = fields.text("body")
    if body_text.startswith("@"):
        try:
            body = Path(body_text[1:]).read_bytes()
        except OSError as exc:
            raise RunnerError(f"--body {body_text}: cannot read {exc.filename}: {exc.strerror}") from None
    else:
        body = body_text.encode("utf-8")
    path = fields.text("path")
    if not path.startswith("/"):
        raise RunnerError(f"--path must start with '/', not {path!r}")
    headers = [("Host", host), ("User-Agent", SAMPLE_USER_AGENT), ("Accept", "*/*")]
    own: list[tuple[str, str]] = []
    for line in fields.lines("header"):
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise RunnerError(f"--header must look like 'Name: value', not {line!r}")
        own.append((name.strip(), value.strip()))
    own_names = {name.lower() for name, _ in own}
    headers = [(name, value) for name, value in headers if name.lower() not in own_names] + own
    if fields.text("cookie"):
        headers.append(("Cookie", fields.text("cookie")))
    if body and "content-type" not in own_names:
        try:
            json.loads(body)
            headers.append(("Content-Type", "application/json"))
        except ValueError:
            headers.append(("Content-Type", "text/plain; charset=utf-8"))
    if body:
        headers.append(("Content-Length", str(len(body))))
    headers += [
        ("X-Amzn-Trace-Id", "Root=1-695661c0-0123456789abcdef01234567"),
        ("X-Forwarded-For", fields.text("source-ip")),
        ("X-Forwarded-Port", "443"),
        ("X-Forwarded-Proto", "https"),
    ]
    return HttpRequest(
        method=fields.text("method").upper(),
        path=path,
        query=_as_sent(fields.text("query").lstrip("?")),
        headers=headers,
        body=body,
        source_ip=fields.text("source-ip"),
    )


def _build_http_api(fields: _Fields, _kind: str) -> dict[str, Any]:
    route = fields.text("route")
    if route != "$default" and " " not in route:
        raise RunnerError(f"--route must be $default or 'METHOD /path', not {route!r}")
    request = _sample_request(fields, f"{API_ID}.execute-api.{region()}.amazonaws.com")
    return http_api_event(request, route_key=route, stage=fields.text("stage"))


def _build_http_api_v1(fields: _Fields, _kind: str) -> dict[str, Any]:
    route = fields.text("route")
    resource = route.split(" ", 1)[-1] if route != "$default" else None
    request = _sample_request(fields, f"{API_ID}.execute-api.{region()}.amazonaws.com")
    return rest_api_event(request, resource=resource, stage=fields.text("stage"), payload_version="1.0")


def _build_rest_api(fields: _Fields, _kind: str) -> dict[str, Any]:
    request = _sample_request(fields, f"{API_ID}.execute-api.{region()}.amazonaws.com")
    binary = [item.strip() for item in fields.text("binary-types").split(",") if item.strip()]
    resource = fields.text("resource") or None
    if resource and match_route(resource, request.decoded_path) is None:
        raise RunnerError(f"--path {request.path} does not match --resource {resource}")
    return rest_api_event(request, resource=resource, stage=fields.text("stage"), binary_media_types=binary)


def _build_function_url(fields: _Fields, _kind: str) -> dict[str, Any]:
    auth_type = fields.text("auth-type").upper()
    if auth_type not in ("NONE", "AWS_IAM"):
        raise RunnerError(f"--auth-type must be NONE or AWS_IAM, not {auth_type!r}")
    request = _sample_request(fields, f"{URL_ID}.lambda-url.{region()}.on.aws")
    return function_url_event(request, auth_type=auth_type)


def _build_s3(fields: _Fields, kind: str) -> dict[str, Any]:
    bucket, size, etag = fields.text("bucket"), fields.integer("size"), fields.text("etag")
    objects = [S3Object(bucket, key, size, etag) for key in fields.lines("key")]
    event_name = "ObjectCreated:Put" if kind == "put" else "ObjectRemoved:Delete"
    return s3_event(objects, event_name=event_name)


def _build_sqs(fields: _Fields, _kind: str) -> dict[str, Any]:
    return sqs_event(fields.text("queue"), fields.every("body") * fields.integer("count", minimum=1))


def _build_kinesis(fields: _Fields, _kind: str) -> dict[str, Any]:
    payloads = [data.encode("utf-8") for data in fields.every("data")] * fields.integer("count", minimum=1)
    return kinesis_event(fields.text("stream"), payloads, partition_key=fields.text("partition-key"))


def _build_dynamodb(fields: _Fields, kind: str) -> dict[str, Any]:
    view_type = fields.text("view-type").upper()
    if view_type not in ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        raise RunnerError(f"--view-type must be KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES, not {view_type}")
    new_image = fields.json_object("new-image") if kind in ("insert", "modify") else None
    old_image = fields.json_object("old-image") if kind in ("modify", "remove") else None
    return dynamodb_event(
        fields.text("table"), kind, fields.json_object("keys"), new_image, old_image, view_type=view_type
    )


def _build_schedule(fields: _Fields, _kind: str) -> dict[str, Any]:
    rule_arn = f"arn:aws:events:{region()}:{ACCOUNT_ID}:rule/{fields.text('rule')}"
    return eventbridge_event("aws.events", "Scheduled Event", {}, resources=[rule_arn])


def _build_eventbridge(fields: _Fields, _kind: str) -> dict[str, Any]:
    return eventbridge_event(fields.text("source"), fields.text("detail-type"), fields.json("detail"))


def _build_sns(fields: _Fields, _kind: str) -> dict[str, Any]:
    return sns_event(fields.text("topic"), fields.text("message"), fields.text("subject") or None)


_ALEXA_TYPES = {"launch": "LaunchRequest", "intent": "IntentRequest", "session-ended": "SessionEndedRequest"}


def _build_alexa(fields: _Fields, kind: str) -> dict[str, Any]:
    slots: dict[str, str] = {}
    for item in fields.text("slots").split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise RunnerError(f"--slots must look like name=Ada,city=Paris, not {item!r}")
        slots[name.strip()] = value.strip()
    reason = fields.text("reason").upper()
    if reason not in ("USER_INITIATED", "ERROR", "EXCEEDED_MAX_REPROMPTS"):
        raise RunnerError(f"--reason must be USER_INITIATED, ERROR or EXCEEDED_MAX_REPROMPTS, not {reason}")
    return alexa_event(
        _ALEXA_TYPES[kind],
        skill_id=fields.text("skill-id"),
        locale=fields.text("locale"),
        intent=fields.text("intent") if kind == "intent" else None,
        slots=slots if kind == "intent" else None,
        reason=reason,
        new_session=fields.flag("new-session"),
    )


_BUILDERS: dict[str, dict[str, tuple[str, Callable[[_Fields, str], dict[str, Any]]]]] = {
    "apigw-http": {
        "request": ("API Gateway HTTP API request, payload format 2.0", _build_http_api),
        "request-v1": ("API Gateway HTTP API request, payload format 1.0", _build_http_api_v1),
    },
    "apigw-rest": {"request": ("API Gateway REST API proxy request (payload 1.0)", _build_rest_api)},
    "function-url": {"request": ("Lambda function URL request (payload 2.0)", _build_function_url)},
    "s3": {
        "put": ("S3 ObjectCreated:Put notification", _build_s3),
        "delete": ("S3 ObjectRemoved:Delete notification", _build_s3),
    },
    "sqs": {"message": ("SQS batch of messages", _build_sqs)},
    "kinesis": {"record": ("Kinesis Data Streams batch of records", _build_kinesis)},
    "dynamodb": {
        "insert": ("DynamoDB Streams INSERT record", _build_dynamodb),
        "modify": ("DynamoDB Streams MODIFY record", _build_dynamodb),
        "remove": ("DynamoDB Streams REMOVE record", _build_dynamodb),
    },
    "schedule": {"event": ("EventBridge scheduled rule event (SAM Type: Schedule)", _build_schedule)},
    "eventbridge": {"event": ("EventBridge custom event delivered by a rule", _build_eventbridge)},
    "sns": {"notification": ("SNS notification", _build_sns)},
    "alexa": {
        "launch": ("Alexa LaunchRequest", _build_alexa),
        "intent": ("Alexa IntentRequest with slots", _build_alexa),
        "session-ended": ("Alexa SessionEndedRequest", _build_alexa),
    },
}

SOURCES: dict[str, dict[str, str]] = {
    source: {kind: description for kind, (description, _) in kinds.items()} for source, kinds in _BUILDERS.items()
}
"""Every event the `event` command builds: source -> kind -> one-line description."""


def build_event(source: str, kind: str, fields: Mapping[str, str | Sequence[str]] | None = None) -> dict[str, Any]:
    """A sample event for `source`/`kind`; `fields` override the defaults listed in `FIELDS[source]`.

    Field names may use dashes or underscores. A repeatable field (`header`) takes a list of values.
    """
    if source not in _BUILDERS:
        raise RunnerError(f"unknown event source {source!r}; choose from: {', '.join(_BUILDERS)}")
    kinds = _BUILDERS[source]
    if kind not in kinds:
        raise RunnerError(f"unknown {source} event kind {kind!r}; choose from: {', '.join(kinds)}")
    _, builder = kinds[kind]
    return builder(_Fields(source, fields or {}), kind)


__all__ = [
    "FIELDS",
    "SOURCES",
    "HttpRequest",
    "S3Object",
    "build_event",
    "dynamodb_event",
    "eventbridge_event",
    "function_url_event",
    "http_api_event",
    "is_text_content",
    "kinesis_event",
    "match_route",
    "rest_api_event",
    "route_specificity",
    "s3_event",
    "s3_key_in_event",
    "sns_event",
    "sqs_event",
    "to_dynamodb_json",
]
